/* Memory and speed of a Stable Diffusion checkpoint as a heal uses it:
 * loaded from its file, a prompt and a negative prompt encoded, U-Net
 * evaluations with classifier-free guidance and a VAE decode.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-sd CHECKPOINT [--latent 64] [--batch 2] [--threads 2]
 *            [--repeat 3] [--tokenizer DIR]
 *
 * CHECKPOINT: a single file or a pipeline folder (random weights from
 * tests/make-sd-checkpoint serve: speed and memory do not depend on the
 * values). One U-Net evaluation at a --latent square latent (64: a 512 x
 * 512 image) on --batch images (2: the unconditional and the conditional
 * text states of one guided step), then a decode of one such latent by
 * the VAE (no tiling: 512 x 512 at 64), each timed --repeat times after
 * a warm-up. Prints each time with its CPU time, the medians, the U-Net's
 * GFLOP/s beside a cblas_sgemm 1024^3 measured in the same run, and the
 * peak resident memory after each phase (VmHWM: load, text, U-Net,
 * decode) — the last is the process's peak with all three networks
 * loaded. The last line, "result ...", is what bench/sd-peers reads. */
#include "bench-common.h"
#include "model/sd-model.h"
#include "tensor/rng.h"

typedef struct {
  const char *checkpoint, *tokenizer;
  int32_t latent, batch, threads, repeat;
} Options;

static void usage(void) {
  fprintf(stderr, "usage: bench-sd CHECKPOINT [--latent N] [--batch N] "
                  "[--threads N] [--repeat N] [--tokenizer DIR]\n");
  exit(2);
}

static Options parse_options(int argc, char **argv) {
  Options o = {NULL, NULL, 64, 2, 2, 3};
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') {
      if (o.checkpoint) usage();
      o.checkpoint = argv[i];
      continue;
    }
    if (i + 1 >= argc) usage();
    const char *key = argv[i], *value = argv[++i];
    int32_t *number = strcmp(key, "--latent") == 0    ? &o.latent
                      : strcmp(key, "--batch") == 0   ? &o.batch
                      : strcmp(key, "--threads") == 0 ? &o.threads
                      : strcmp(key, "--repeat") == 0  ? &o.repeat
                                                      : NULL;
    if (number) *number = atoi(value);
    else if (strcmp(key, "--tokenizer") == 0) o.tokenizer = value;
    else usage();
  }
  if (!o.checkpoint || o.repeat < 1 || o.repeat > 16 || o.batch < 1 ||
      o.latent < 8 || o.threads < 1)
    usage();
  return o;
}

static void check(bool ok, GError *error) {
  if (!ok) {
    fprintf(stderr, "bench-sd: %s\n", error->message);
    exit(1);
  }
}

/* Text states (batch, 77, width): the negative prompt's for the first
 * half of the batch, the prompt's for the rest. */
static float *encode_prompts(const DmSdModel *model, int32_t batch) {
  const DmClipText *encoder = &model->text_encoder;
  const size_t states = 77 * (size_t)encoder->config.hidden_size;
  float *text = g_new(float, (size_t)batch * states);
  const char *const prompts[2] = {"blurry, low quality",
                                  "a red brick wall in afternoon sun"};
  GError *error = NULL;
  for (int32_t i = 0; i < batch; i++) {
    int32_t ids[77];
    check(dm_clip_tokenizer_encode(model->tokenizer,
                                   prompts[i >= batch / 2], ids, NULL,
                                   &error) &&
              dm_clip_text_forward(encoder, text + i * states, ids, 1, 77, 0,
                                   &error),
          error);
  }
  return text;
}

/* Runs `step` repeat + 1 times; returns the median wall time of the
 * timed runs and sets *cpu to theirs in CPU time. */
typedef void (*StepFunc)(void *data);

static double time_runs(const char *label, int32_t repeat, StepFunc step,
                        void *data, double *cpu) {
  double times[16], cpu_times[16];
  for (int32_t r = -1; r < repeat; r++) {
    const double start = now_seconds(), cpu_start = cpu_seconds();
    step(data);
    const double seconds = now_seconds() - start;
    const double cpu_used = cpu_seconds() - cpu_start;
    printf("%-8s %s %.3f s (CPU %.3f s)\n", label,
           r < 0 ? "warm-up" : "timed  ", seconds, cpu_used);
    if (r >= 0) times[r] = seconds, cpu_times[r] = cpu_used;
  }
  *cpu = median(cpu_times, repeat);
  return median(times, repeat);
}

typedef struct {
  const DmSdModel *model;
  int32_t batch, latent;
  float *sample, *timesteps, *text, *out;
  DmTensor *latents, *image;
} Work;

static void unet_step(void *data) {
  Work *w = data;
  GError *error = NULL;
  check(dm_unet_cond_forward(&w->model->unet, w->out, w->sample, w->batch,
                             w->latent, w->latent, w->timesteps, w->text, 77,
                             &error),
        error);
}

static void decode_step(void *data) {
  Work *w = data;
  GError *error = NULL;
  check(dm_vae_decode(&w->model->vae, w->image, w->latents, &error), error);
}

static void print_memory(const char *phase) {
  printf("peak RSS after %-6s %.0f MiB\n", phase, peak_rss_mib());
}

int main(int argc, char **argv) {
  const Options o = parse_options(argc, argv);
  dm_set_num_threads(o.threads);
  DmSdLoadOptions load_options;
  dm_sd_load_options_default(&load_options);
  load_options.tokenizer = o.tokenizer;
  GError *error = NULL;
  double start = now_seconds();
  DmSdModel *model = dm_sd_model_load(o.checkpoint, &load_options, &error);
  check(model != NULL, error);
  char *family = dm_sd_family_describe(dm_sd_model_family(model));
  printf("%s: %s; %.2f GiB of weights; loaded in %.1f s; %d threads\n",
         o.checkpoint, family,
         (double)dm_sd_model_weight_bytes(model) / (1 << 30),
         now_seconds() - start, o.threads);
  print_memory("load");
  const DmUnetCondConfig *config = &model->unet.config;
  const size_t plane = (size_t)o.latent * o.latent;
  const int32_t scale = dm_vae_scale(&model->vae.config);
  Work w = {model, o.batch, o.latent, NULL, NULL, NULL, NULL, NULL, NULL};
  w.text = encode_prompts(model, o.batch);
  print_memory("text");
  w.sample = g_new(float, (size_t)o.batch * config->in_channels * plane);
  dm_rng_normal_fill(w.sample, (size_t)o.batch * config->in_channels * plane,
                     7, 0, 0);
  w.out = g_new(float, (size_t)o.batch * config->out_channels * plane);
  w.timesteps = g_new(float, o.batch);
  for (int32_t i = 0; i < o.batch; i++) w.timesteps[i] = 981.0f;
  double unet_cpu, decode_cpu;
  const double unet = time_runs("U-Net", o.repeat, unet_step, &w,
                                &unet_cpu);
  print_memory("U-Net");
  dm_free_floats_pool(); /* as a pipeline does once sampling is done */
  w.latents = dm_tensor_new(1, config->out_channels, o.latent, o.latent,
                            &error);
  w.image = dm_tensor_new(1, 3, o.latent * scale, o.latent * scale, &error);
  check(w.latents && w.image, error);
  memcpy(w.latents->data, w.out, dm_tensor_numel(w.latents) * sizeof(float));
  const double decode = time_runs("decode", o.repeat, decode_step, &w,
                                  &decode_cpu);
  print_memory("decode");
  const double gflop = dm_unet_cond_flops(&model->unet, o.latent, o.latent,
                                          77) * o.batch / 1e9;
  const double sgemm = sgemm_gflops(1024, 5);
  printf("U-Net: %.1f GFLOP in %.3f s = %.1f GFLOP/s; cblas_sgemm 1024^3 "
         "%.1f GFLOP/s (%.0f%%)\n", gflop, unet, gflop / unet, sgemm,
         100.0 * gflop / unet / sgemm);
  printf("result unet_s=%.3f unet_cpu_s=%.3f decode_s=%.3f "
         "decode_cpu_s=%.3f unet_gflop=%.1f sgemm_gflops=%.1f "
         "peak_rss_mib=%.0f\n", unet, unet_cpu, decode, decode_cpu, gflop,
         sgemm, peak_rss_mib());
  dm_tensor_free(w.image);
  dm_tensor_free(w.latents);
  g_free(w.sample);
  g_free(w.out);
  g_free(w.timesteps);
  g_free(w.text);
  g_free(family);
  dm_sd_model_free(model);
  return 0;
}
