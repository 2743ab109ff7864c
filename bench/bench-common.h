/* What the benchmark programs share: the layouts, timing, peak memory.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_BENCH_COMMON_H
#define DM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
