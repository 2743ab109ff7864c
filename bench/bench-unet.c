/* Forward-pass speed and memory of the U-Net on random-weight models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-unet                 speed table: ms per forward, GFLOP, GFLOP/s and
 *                              the fraction of a 1024^3 cblas_sgemm measured in
 *                              the same run
 *   bench-unet --memory        peak RSS of tiny64 forwards at 256..1024 px
 *   bench-unet --peak LAYOUT SIZE   (internal) one forward, prints VmHWM
 *
 * Forward and sgemm figures are medians of --repeat runs (default 5) after
 * one warm-up. The machine is a shared VM whose speed drifts: compare only
 * figures from one run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cblas.h>

#include "bench-common.h"

static int repeat_count = 5;

/* GFLOP/s of a square sgemm of side n with OpenBLAS's own threads on all
 * our cores: the machine's attainable peak. */
static double sgemm_gflops(int n) {
  openblas_set_num_threads(dm_get_num_threads());
  float *a = calloc((size_t)n * n, sizeof(float)), *b = calloc((size_t)n * n, sizeof(float)),
        *c = calloc((size_t)n * n, sizeof(float));
  for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = 1e-3f * (float)(i % 97);
  double times[16];
  for (int r = -1; r < repeat_count; r++) {
    const double start = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n,
                b, n, 0.0f, c, n);
    if (r >= 0) times[r] = now_seconds() - start;
  }
  free(a);
  free(b);
  free(c);
  dm_set_num_threads(dm_get_num_threads()); /* back to our own threading */
  return 2.0 * n * n * (double)n / median(times, repeat_count) / 1e9;
}

/* Median seconds of one forward at batch n, size x size (after a warm-up
 * run when `warm_up`). */
static double time_forward(DmModel *model, int32_t n, int32_t size,
                           bool warm_up) {
  GError *error = NULL;
  DmTensor *x = dm_tensor_new(n, 3, size, size, &error);
  DmTensor *out = dm_tensor_new(n, 3, size, size, &error);
  float *t = calloc(n, sizeof(float));
  for (size_t i = 0; i < dm_tensor_numel(x); i++) x->data[i] = (float)(i % 13) / 13.0f - 0.5f;
  for (int32_t i = 0; i < n; i++) t[i] = 500.0f;
  double times[16];
  for (int r = warm_up ? -1 : 0; r < repeat_count; r++) {
    const double start = now_seconds();
    if (!dm_model_forward(model, out, x, t, &error)) {
      fprintf(stderr, "bench-unet: %s\n", error->message);
      exit(1);
    }
    if (r >= 0) times[r] = now_seconds() - start;
  }
  free(t);
  dm_tensor_free(x);
  dm_tensor_free(out);
  return median(times, repeat_count);
}

/* Each row is compared with an sgemm measured just before it: the shared
 * VM's speed drifts by tens of percent within a run. */
static void speed_table(void) {
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("threads %d, OPENBLAS_CORETYPE=%s, repeats %d (median)\n",
         dm_get_num_threads(), coretype ? coretype : "(auto)", repeat_count);
  printf("sgemm: median cblas_sgemm 1024^3 GFLOP/s (OpenBLAS threads) "
         "measured right before each row\n\n");
  printf("%-8s %5s %4s %10s %10s %9s %7s %8s\n", "layout", "size", "batch",
         "ms/forward", "GFLOP", "GFLOP/s", "sgemm", "/sgemm");
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++) {
    DmModel *model = bench_make_model(&layouts[i]);
    const int32_t native = layouts[i].native_size;
    const int32_t runs[3][2] = {{native, 1}, {native, 8}, {256, 1}};
    for (int r = 0; r < 3; r++) {
      const int32_t size = runs[r][0], batch = runs[r][1];
      const double peak = sgemm_gflops(1024);
      const double seconds = time_forward(model, batch, size, true);
      const double gflop = dm_model_flops(model, size, size) * batch / 1e9;
      printf("%-8s %5d %4d %10.1f %10.2f %9.1f %7.1f %8.2f\n",
             layouts[i].name, size, batch, seconds * 1e3, gflop,
             gflop / seconds, peak, gflop / seconds / peak);
      fflush(stdout);
    }
    dm_model_free(model);
  }
}

static int peak_mode(const char *layout_name, int32_t size) {
  for (size_t i = 0; i < G_N_ELEMENTS(layouts); i++) {
    if (strcmp(layouts[i].name, layout_name) != 0) continue;
    DmModel *model = bench_make_model(&layouts[i]);
    const double before = peak_rss_mib();
    repeat_count = 1;
    const double seconds = time_forward(model, 1, size, false);
    printf("%-8s %5d  peak RSS %8.1f MiB (%.1f before the forward)  %.1f s\n",
           layout_name, size, peak_rss_mib(), before, seconds);
    dm_model_free(model);
    return 0;
  }
  fprintf(stderr, "bench-unet: unknown layout %s\n", layout_name);
  return 2;
}

/* Each size in a fresh process, so that peaks do not mask each other. */
static void memory_table(const char *self) {
  const int32_t sizes[] = {256, 512, 1024};
  printf("tiny64 forward, batch 1, one run per process\n");
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      char size[16];
      snprintf(size, sizeof size, "%d", sizes[i]);
      execl(self, self, "--peak", "tiny64", size, (char *)NULL);
      _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
  }
}

int main(int argc, char **argv) {
  dm_set_num_threads(0);
  if (argc >= 4 && strcmp(argv[1], "--peak") == 0)
    return peak_mode(argv[2], atoi(argv[3]));
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat_count = atoi(argv[++i]);
      if (repeat_count < 1 || repeat_count > 16) repeat_count = 5;
    } else if (strcmp(argv[i], "--memory") == 0) {
      memory_table(argv[0]);
      return 0;
    } else {
      fprintf(stderr, "usage: bench-unet [--repeat N] [--memory]\n");
      return 2;
    }
  }
  speed_table();
  return 0;
}
