/* What the benchmark programs share: the layouts, timing, peak memory.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_BENCH_COMMON_H
#define DM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"

typedef struct {
  const char *name;
  int32_t native_size;
  DmUnetConfig config;
} Layout;

/* tiny64: 32/64/128, one layer per block, attention (one head) at the
 * lowest level and in the mid block, 8 groups. small64: the same shape at
 * 64/128/256 with two layers per block and 32 groups. cifar10: the layout of
 * google/ddpm-cifar10-32. */
static const Layout layouts[] = {
    {"tiny64", 64,
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {32, 64, 128},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 1, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 8, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"small64", 64,
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {64, 128, 256},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 32, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"cifar10", 32,
     {.in_channels = 3, .out_channels = 3, .freq_shift = 1, .n_levels = 4,
      .block_out_channels = {128, 256, 256, 256},
      .down_attention = {false, true, false, false},
      .up_attention = {false, false, true, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 0,
      .norm_num_groups = 32, .norm_eps = 1e-6f, .has_mid_block = true,
      .add_attention = true}},
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
  DmModel *model = dm_model_new_random(&layout->config, NULL, 1, &error);
  if (model == NULL) {
    fprintf(stderr, "bench: %s: %s\n", layout->name, error->message);
    exit(1);
  }
  return model;
}

#endif /* DM_BENCH_COMMON_H */
