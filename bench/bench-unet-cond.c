/* Speed and memory of Stable Diffusion's UNet2DConditionModel (core's
 * network/unet-cond) with random weights: one evaluation as a sampler
 * step with classifier-free guidance makes it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-unet-cond [--net sd15-inpaint|sd2-inpaint|sd15] [--latent 64]
 *                   [--batch 2] [--text 77] [--dtype f16|bf16|f32]
 *                   [--threads 2] [--repeat 3]
 *
 * Defaults: SD 1.5 inpainting (9 input channels, 768-wide text), a 64x64
 * latent (a 512x512 image), batch 2 (unconditional and conditional text
 * states), 77 tokens, F16 weights (as the fp16 checkpoints ship), 2
 * threads, 3 timed evaluations after one warm-up. Prints the time of each
 * evaluation and the CPU time it took (on a machine shared with other
 * work, CPU time below threads x wall time shows the threads waited),
 * their medians, and the peak resident memory (VmHWM; or run under
 * /usr/bin/time -v). The weights are dm_weights_fill_random()'s, so the
 * numbers need no model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "model/sd-checkpoint.h"
#include "tensor/rng.h"

typedef struct {
  const char *net, *dtype;
  int32_t latent, batch, text, threads, repeat;
} Options;

/* The unet/config.json of the named pipeline's network. */
static bool net_config(const char *name, DmUnetCondConfig *config) {
  const bool sd2 = strcmp(name, "sd2-inpaint") == 0;
  if (!sd2 && strcmp(name, "sd15") != 0 && strcmp(name, "sd15-inpaint") != 0)
    return false;
  dm_sd_unet_config(config, sd2 ? DM_SD_2 : DM_SD_1,
                    g_str_has_suffix(name, "-inpaint"));
  return true;
}

static bool dtype_from_name(const char *name, DmDtype *dtype) {
  static const char *const names[DM_DTYPE_COUNT] = {"f32", "f16", "bf16"};
  for (int i = 0; i < DM_DTYPE_COUNT; i++)
    if (strcmp(name, names[i]) == 0) {
      *dtype = (DmDtype)i;
      return true;
    }
  return false;
}

static void usage(void) {
  fprintf(stderr, "usage: bench-unet-cond [--net sd15-inpaint|sd2-inpaint|"
                  "sd15] [--latent N] [--batch N] [--text N] "
                  "[--dtype f16|bf16|f32] [--threads N] [--repeat N]\n");
  exit(2);
}

static Options parse_options(int argc, char **argv) {
  Options o = {"sd15-inpaint", "f16", 64, 2, 77, 2, 3};
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    const char *value = argv[++i];
    const char *key = argv[i - 1];
    int32_t *number = strcmp(key, "--latent") == 0    ? &o.latent
                      : strcmp(key, "--batch") == 0   ? &o.batch
                      : strcmp(key, "--text") == 0    ? &o.text
                      : strcmp(key, "--threads") == 0 ? &o.threads
                      : strcmp(key, "--repeat") == 0  ? &o.repeat
                                                      : NULL;
    if (number) *number = atoi(value);
    else if (strcmp(key, "--net") == 0) o.net = value;
    else if (strcmp(key, "--dtype") == 0) o.dtype = value;
    else usage();
  }
  if (o.repeat < 1 || o.repeat > 64) usage();
  return o;
}

int main(int argc, char **argv) {
  const Options o = parse_options(argc, argv);
  DmUnetCondConfig config;
  DmDtype dtype;
  if (!net_config(o.net, &config) || !dtype_from_name(o.dtype, &dtype))
    usage();
  dm_set_num_threads(o.threads);
  GError *error = NULL;
  DmUnetCond model;
  double start = now_seconds();
  if (!dm_unet_cond_init_random(&model, &config, dtype, 1, &error)) {
    fprintf(stderr, "bench-unet-cond: %s\n", error->message);
    return 1;
  }
  printf("%s, %s weights: %zu parameters, filled in %.1f s; latent %dx%d, "
         "batch %d, %d text tokens, %d threads\n", o.net, o.dtype,
         model.weights.table.total, now_seconds() - start, o.latent,
         o.latent, o.batch, o.text, o.threads);
  const size_t plane = (size_t)o.latent * o.latent;
  float *sample = g_new(float, (size_t)o.batch * config.in_channels * plane);
  float *text = g_new(float, (size_t)o.batch * o.text *
                                 config.cross_attention_dim);
  float *out = g_new(float, (size_t)o.batch * config.out_channels * plane);
  float *timesteps = g_new(float, o.batch);
  dm_rng_normal_fill(sample, (size_t)o.batch * config.in_channels * plane, 7,
                     0, 0);
  dm_rng_normal_fill(text, (size_t)o.batch * o.text *
                               config.cross_attention_dim, 7, 1, 0);
  for (int32_t i = 0; i < o.batch; i++) timesteps[i] = 981.0f;
  double times[64], cpu_times[64];
  for (int32_t r = -1; r < o.repeat; r++) {
    start = now_seconds();
    const double cpu_start = cpu_seconds();
    if (!dm_unet_cond_forward(&model, out, sample, o.batch, o.latent,
                              o.latent, timesteps, text, o.text, &error)) {
      fprintf(stderr, "bench-unet-cond: %s\n", error->message);
      return 1;
    }
    const double seconds = now_seconds() - start;
    const double cpu = cpu_seconds() - cpu_start;
    printf("%s %.3f s (CPU %.3f s)\n", r < 0 ? "warm-up" : "evaluation",
           seconds, cpu);
    if (r >= 0) times[r] = seconds, cpu_times[r] = cpu;
  }
  printf("median %.3f s (CPU %.3f s) over %d evaluations; peak RSS %.0f "
         "MiB\n", median(times, o.repeat), median(cpu_times, o.repeat),
         o.repeat, peak_rss_mib());
  g_free(sample);
  g_free(text);
  g_free(out);
  g_free(timesteps);
  dm_unet_cond_clear(&model);
  return 0;
}
