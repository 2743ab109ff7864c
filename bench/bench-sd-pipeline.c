/* Time and memory of one Stable Diffusion inpainting run (core's
 * sampling/sd-pipeline) with full-size random weights, against the
 * estimate front ends get (dm_sd_measure_evaluation times
 * dm_sample_evaluations).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   bench-sd-pipeline [--net sd15|sd15-inpaint] [--steps 2]
 *                     [--guidance 7.5] [--size 512] [--threads 2]
 *                     [--tokenizer ../shared/clip-tokenizer]
 *
 * Defaults: SD 1.5 (4 input channels: replacement in latent space) in F16,
 * a 1024 x 768 picture with a 200 x 150 hole, worked at 512 x 512 pixels
 * (--size), 2 DDIM steps with guidance 7.5 (a batch of two). Prints the
 * measured evaluation, the run's wall time, its evaluations and the rest
 * (text encoder, VAE passes, resampling), and the peak resident memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-common.h"
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"

typedef struct {
  const char *net, *tokenizer;
  int32_t steps, size, threads;
  double guidance;
} Options;

/* A full-size SD 1.5 model with random F16 weights. */
static DmSdModel *make_model(const Options *o, GError **error) {
  const bool inpainting = strcmp(o->net, "sd15-inpaint") == 0;
  DmSdModel *model = g_new0(DmSdModel, 1);
  model->family = (DmSdFamily){DM_SD_1, inpainting, DM_PREDICT_EPSILON,
                               DM_SD_FROM_RULE, 512, DM_SD_SINGLE_FILE};
  dm_sd_schedule_config(&model->schedule, DM_PREDICT_EPSILON);
  DmClipTextConfig text;
  dm_sd_text_config(&text, DM_SD_1);
  DmUnetCondConfig unet;
  dm_sd_unet_config(&unet, DM_SD_1, inpainting);
  DmVaeConfig vae;
  dm_vae_config_sd(&vae);
  const DmClipTokenizerConfig tokens = dm_sd_tokenizer_config(DM_SD_1);
  const bool ok =
      dm_clip_text_init_random(&model->text_encoder, &text, DM_DTYPE_F16, 1,
                               error) &&
      dm_unet_cond_init_random(&model->unet, &unet, DM_DTYPE_F16, 2,
                               error) &&
      dm_vae_init(&model->vae, &vae, DM_DTYPE_F16, error) &&
      (model->tokenizer = dm_clip_tokenizer_load_vocabulary(
           o->tokenizer, &tokens, error)) != NULL;
  if (ok) dm_weights_fill_random(&model->vae.weights, 3);
  if (!ok) g_clear_pointer(&model, dm_sd_model_free);
  return model;
}

static bool parse(int argc, char **argv, Options *o) {
  *o = (Options){"sd15", "../shared/clip-tokenizer", 2, 512, 2, 7.5};
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *key = argv[i], *value = argv[i + 1];
    if (strcmp(key, "--net") == 0) o->net = value;
    else if (strcmp(key, "--tokenizer") == 0) o->tokenizer = value;
    else if (strcmp(key, "--steps") == 0) o->steps = atoi(value);
    else if (strcmp(key, "--size") == 0) o->size = atoi(value);
    else if (strcmp(key, "--threads") == 0) o->threads = atoi(value);
    else if (strcmp(key, "--guidance") == 0) o->guidance = atof(value);
    else return false;
  }
  return argc % 2 == 1 &&
         (strcmp(o->net, "sd15") == 0 || strcmp(o->net, "sd15-inpaint") == 0);
}

/* Prints each evaluation's time since the last. */
static bool report(int32_t done, int32_t total, void *data) {
  double *last = data;
  const double t = now_seconds();
  printf("  evaluation %d of %d: %.2f s\n", done, total, t - *last);
  *last = t;
  return true;
}

int main(int argc, char **argv) {
  Options o;
  if (!parse(argc, argv, &o)) {
    fprintf(stderr, "usage: bench-sd-pipeline [--net sd15|sd15-inpaint] "
            "[--steps N] [--guidance W] [--size PX] [--threads N] "
            "[--tokenizer DIR]\n");
    return 2;
  }
  dm_set_num_threads(o.threads);
  GError *error = NULL;
  DmSdModel *model = make_model(&o, &error);
  const int32_t width = 1024, height = 768;
  const size_t plane = (size_t)width * height;
  float *image = model ? g_new(float, 3 * plane) : NULL;
  float *mask = model ? g_new0(float, plane) : NULL;
  for (size_t p = 0; image && p < plane; p++)
    for (int32_t c = 0; c < 3; c++)
      image[c * plane + p] = 0.5f * sinf(0.01f * (p % width) + c) *
                             cosf(0.013f * (p / width));
  for (int32_t y = 300; mask && y < 450; y++)
    for (int32_t x = 400; x < 600; x++) mask[(size_t)y * width + x] = 1.0f;
  DmSdOptions sd;
  dm_sd_options_default(&sd);
  sd.prompt = "a photo of a cat on a sofa";
  sd.work_size = o.size;
  DmSampleOptions sample;
  DmAreaOptions area;
  dm_options_default(DM_TASK_INPAINT, &sample, &area);
  sample.steps = o.steps;
  sample.strength = 1.0f;
  sample.guidance_scale = (float)o.guidance;
  area.match_edges = false;
  DmRect hole = {400, 300, 200, 150};
  DmSdWork work;
  double evaluation = 0.0;
  bool ok = model &&
            dm_sd_work_area(model, &sd, &area, &hole, width, height, &work,
                            &error) &&
            dm_sd_measure_evaluation(model, &work, &sample, &evaluation,
                                     &error);
  if (ok)
    printf("%s, F16, %d threads: area %dx%d worked at %dx%d; one U-Net "
           "evaluation (batch %d) measured %.2f s, estimate %d x that = "
           "%.1f s\n", o.net, o.threads, work.area.width, work.area.height,
           work.width, work.height, dm_sd_evaluation_batch(&sample),
           evaluation, dm_sample_evaluations(&sample),
           dm_sample_evaluations(&sample) * evaluation);
  double last = now_seconds();
  const double start = last;
  ok = ok && dm_sd_inpaint(model, image, mask, width, height, &sd, &sample,
                           &area, report, &last, &error);
  const double total = now_seconds() - start;
  if (ok)
    printf("run: %.1f s; after the last evaluation (VAE decode, resize, "
           "blend): %.1f s; peak memory %.0f MiB\n", total,
           now_seconds() - last, peak_rss_mib());
  else
    fprintf(stderr, "bench-sd-pipeline: %s\n", error->message);
  g_clear_error(&error);
  g_free(mask);
  g_free(image);
  dm_sd_model_free(model);
  return ok ? 0 : 1;
}
