/* What the benchmark programs share: the layouts, timing, peak memory.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_BENCH_COMMON_H
#define DM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cblas.h>

#include "dm.h"

/* The benchmark layouts: core's presets at their native sizes (tiny64 and
 * small64 at 64 px; cifar10 is google/ddpm-cifar10-32's layout). */
typedef struct {
  const char *name;
  int32_t native_size;
  const char *preset; /* dm_unet_config_preset() name */
} Layout;

static const Layout layouts[] = {
    {"tiny64", 64, "tiny"},
    {"small64", 64, "small"},
    {"cifar10", 32, "base"},
};

static inline int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline double median(double *values, int count) {
  qsort(values, count, sizeof(double), compare_doubles);
  return values[count / 2];
}

static inline double now_seconds(void) { return g_get_monotonic_time() / 1e6; }

/* User and system CPU seconds of this process so far: on a machine shared
 * with other work, CPU time below threads x wall time shows the threads
 * waited. */
static inline double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

/* GFLOP/s of a square sgemm of side n with OpenBLAS's own threads on our
 * threads (dm_get_num_threads()), the median of `repeat` (at most 16)
 * after a warm-up: the machine's attainable peak, to set a network's
 * GFLOP/s against. */
static inline double sgemm_gflops(int n, int repeat) {
  openblas_set_num_threads(dm_get_num_threads());
  float *a = calloc((size_t)n * n, sizeof(float));
  float *b = calloc((size_t)n * n, sizeof(float));
  float *c = calloc((size_t)n * n, sizeof(float));
  for (size_t i = 0; i < (size_t)n * n; i++)
    a[i] = b[i] = 1e-3f * (float)(i % 97);
  double times[16];
  for (int r = -1; r < repeat; r++) {
    const double start = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a,
                n, b, n, 0.0f, c, n);
    if (r >= 0) times[r] = now_seconds() - start;
  }
  free(a);
  free(b);
  free(c);
  dm_set_num_threads(dm_get_num_threads()); /* back to our own threading */
  return 2.0 * n * n * (double)n / median(times, repeat) / 1e9;
}

/* Peak resident set (VmHWM) of this process, in MiB. */
static inline double peak_rss_mib(void) {
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  double kib = 0;
  while (status && fgets(line, sizeof line, status))
    if (strncmp(line, "VmHWM:", 6) == 0) kib = atof(line + 6);
  if (status) fclose(status);
  return kib / 1024.0;
}

static inline DmModel *bench_make_model(const Layout *layout) {
  GError *error = NULL;
  DmUnetConfig config;
  dm_unet_config_preset(layout->preset, layout->native_size, &config);
  DmModel *model = dm_model_new_random(&config, NULL, 1, &error);
  if (model == NULL) {
    fprintf(stderr, "bench: %s: %s\n", layout->name, error->message);
    exit(1);
  }
  return model;
}

#endif /* DM_BENCH_COMMON_H */
