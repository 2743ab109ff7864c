/* The trainer: the loss falls on a small problem for each objective (VP
 * epsilon, v, x0 with min-SNR weights, VE), a checkpoint resumes the run
 * exactly, a non-finite batch changes no weight, and bad options and files
 * are refused.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib.h>
#include <glib/gstdio.h>

#include "model/model.h"
#include "dm-test.h"
#include "dm-train.h"

enum { SIZE = 8, BATCH = 4 };

/* A 2-level, 16/32-channel network at 8 x 8. */
static DmModel *small_model(DmSde sde, DmPrediction prediction) {
  DmUnetConfig config = {
      .sample_size = SIZE, .in_channels = 3, .out_channels = 3,
      .flip_sin_to_cos = true, .n_levels = 2, .block_out_channels = {16, 32},
      .down_attention = {false, true}, .up_attention = {true, false},
      .layers_per_block = 1, .mid_block_scale_factor = 1,
      .downsample_padding = 1, .norm_num_groups = 4, .norm_eps = 1e-5f,
      .has_mid_block = true, .add_attention = true};
  DmScheduleConfig schedule;
  dm_schedule_config_default(&schedule);
  schedule.sde = sde;
  schedule.prediction_type = prediction;
  GError *error = NULL;
  DmModel *model = dm_model_new_random(&config, &schedule, 3, &error);
  DM_CHECK_OK(model != NULL, error);
  return model;
}

/* Batch k: images that are smooth colour ramps, a different phase each. */
static void make_batch(float *images, int k) {
  for (int i = 0; i < BATCH; i++)
    for (int c = 0; c < 3; c++)
      for (int p = 0; p < SIZE * SIZE; p++)
        images[((i * 3 + c) * SIZE * SIZE) + p] =
            0.8f * sinf(0.4f * (p % SIZE) + 0.3f * (p / SIZE) + c + k + i);
}

static DmTrainOptions test_options(void) {
  return dm_test_train_options(BATCH, 9, 2e-3f, 5, 1000);
}

/* Mean loss of steps [from, to) of `losses`. */
static double mean(const float *losses, int from, int to) {
  double sum = 0;
  for (int i = from; i < to; i++) sum += losses[i];
  return sum / (to - from);
}

/* 40 steps: the mean loss of the last 10 is below 0.8 times the first 10's
 * (a random network starts far from the target; noise levels are drawn at
 * random, hence windows). */
static void test_loss_falls(const char *label, DmSde sde, DmPrediction p,
                            float min_snr_gamma) {
  DmModel *model = small_model(sde, p);
  DmTrainOptions options = test_options();
  options.min_snr_gamma = min_snr_gamma;
  GError *error = NULL;
  DmTrainer *trainer = dm_trainer_new(model, &options, &error);
  DM_CHECK_OK(trainer != NULL, error);
  float images[BATCH * 3 * SIZE * SIZE], losses[40];
  for (int k = 0; k < 40; k++) {
    make_batch(images, k % 4);
    DM_CHECK_OK(dm_trainer_step(trainer, images, SIZE, &losses[k], &error),
                error);
  }
  const double first = mean(losses, 0, 10), last = mean(losses, 30, 40);
  const bool pass = last < 0.8 * first && dm_trainer_step_count(trainer) == 40;
  printf("%s %-28s loss %.4f (steps 0-9) -> %.4f (steps 30-39)\n",
         pass ? "ok  " : "FAIL", label, first, last);
  DM_CHECK(pass, "%s: loss did not fall", label);
  dm_trainer_free(trainer);
  dm_model_free(model);
}

/* 6 steps in one go vs 3 steps, checkpoint, load, 3 more: the same losses
 * bit for bit and the same EMA export. */
static void test_resume(void) {
  char *dir = g_dir_make_tmp("dm-trainer-XXXXXX", NULL);
  char *path = g_build_filename(dir, "checkpoint.safetensors", NULL);
  DmTrainOptions options = test_options();
  float images[BATCH * 3 * SIZE * SIZE], straight[6], resumed[6];
  GError *error = NULL;
  DmModel *model = small_model(DM_SDE_VP, DM_PREDICT_EPSILON);
  DmTrainer *trainer = dm_trainer_new(model, &options, &error);
  DM_CHECK_OK(trainer != NULL, error);
  for (int k = 0; k < 6; k++) {
    make_batch(images, k);
    DM_CHECK_OK(dm_trainer_step(trainer, images, SIZE, &straight[k], &error),
                error);
  }
  DmModel *straight_ema = dm_trainer_export(trainer, true, &error);
  dm_trainer_free(trainer);
  dm_model_free(model);

  model = small_model(DM_SDE_VP, DM_PREDICT_EPSILON);
  trainer = dm_trainer_new(model, &options, &error);
  for (int k = 0; k < 3; k++) {
    make_batch(images, k);
    DM_CHECK_OK(dm_trainer_step(trainer, images, SIZE, &resumed[k], &error),
                error);
  }
  dm_trainer_set_notes(trainer, "{\"note\": 1}");
  DM_CHECK_OK(dm_trainer_save(trainer, path, &error), error);
  dm_trainer_free(trainer);
  dm_model_free(model);
  trainer = dm_trainer_load(path, &model, &error);
  DM_CHECK_OK(trainer != NULL, error);
  const bool notes_kept = strcmp(dm_trainer_notes(trainer), "{\"note\": 1}") == 0;
  for (int k = 3; k < 6; k++) {
    make_batch(images, k);
    DM_CHECK_OK(dm_trainer_step(trainer, images, SIZE, &resumed[k], &error),
                error);
  }
  DmModel *resumed_ema = dm_trainer_export(trainer, true, &error);
  const bool same_losses = memcmp(straight, resumed, sizeof straight) == 0;
  const bool same_ema =
      memcmp(straight_ema->unet.params.data, resumed_ema->unet.params.data,
             straight_ema->unet.params.total * sizeof(float)) == 0;
  printf("%s checkpoint after 3 of 6 steps: losses %s, EMA weights %s, notes "
         "%s\n", same_losses && same_ema && notes_kept ? "ok  " : "FAIL",
         same_losses ? "identical" : "differ", same_ema ? "identical" : "differ",
         notes_kept ? "kept" : "lost");
  DM_CHECK(same_losses && same_ema && notes_kept, "resume");
  /* a checkpoint loads as the model of its current weights */
  DmModel *as_model = dm_model_load(path, &error);
  DM_CHECK(as_model != NULL, "checkpoint does not load as a model: %s",
           error ? error->message : "");
  g_clear_error(&error);
  dm_model_free(as_model);
  dm_model_free(straight_ema);
  dm_model_free(resumed_ema);
  dm_trainer_free(trainer);
  dm_model_free(model);
  g_remove(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}

/* A batch with a NaN: the step is skipped and no weight changes. */
static void test_non_finite(void) {
  DmModel *model = small_model(DM_SDE_VP, DM_PREDICT_EPSILON);
  DmTrainOptions options = test_options();
  GError *error = NULL;
  DmTrainer *trainer = dm_trainer_new(model, &options, &error);
  float images[BATCH * 3 * SIZE * SIZE];
  make_batch(images, 0);
  images[17] = NAN;
  float *before = g_memdup2(model->unet.params.data,
                            model->unet.params.total * sizeof(float));
  float loss;
  DM_CHECK_OK(dm_trainer_step(trainer, images, SIZE, &loss, &error), error);
  const bool pass = dm_trainer_skipped_steps(trainer) == 1 &&
                    memcmp(before, model->unet.params.data,
                           model->unet.params.total * sizeof(float)) == 0;
  printf("%s a NaN in the batch skips the update (skipped %" G_GINT64_FORMAT
         ")\n", pass ? "ok  " : "FAIL", dm_trainer_skipped_steps(trainer));
  DM_CHECK(pass, "non-finite step");
  g_free(before);
  dm_trainer_free(trainer);
  dm_model_free(model);
}

static void test_refusals(void) {
  DmModel *model = small_model(DM_SDE_VP, DM_PREDICT_EPSILON);
  DmTrainOptions options = test_options();
  options.batch_size = 0;
  GError *error = NULL;
  bool pass = dm_trainer_new(model, &options, &error) == NULL &&
              g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT);
  printf("%s batch size 0 refused: %s\n", pass ? "ok  " : "FAIL",
         error ? error->message : "(no error)");
  DM_CHECK(pass, "batch 0 accepted");
  g_clear_error(&error);
  options = test_options();
  DmTrainer *trainer = dm_trainer_new(model, &options, &error);
  float images[BATCH * 3 * 7 * 7] = {0};
  pass = !dm_trainer_step(trainer, images, 7, NULL, &error) &&
         g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT);
  printf("%s a size that is not a multiple of the network's refused: %s\n",
         pass ? "ok  " : "FAIL", error ? error->message : "(no error)");
  DM_CHECK(pass, "size 7 accepted");
  g_clear_error(&error);
  DmModel *other = NULL;
  char *path = dm_test_data_path("tiny_attn/diffusion_pytorch_model.safetensors");
  pass = dm_trainer_load(path, &other, &error) == NULL && other == NULL &&
         g_error_matches(error, DM_ERROR, DM_ERROR_FORMAT);
  printf("%s a model file is not a checkpoint: %s\n", pass ? "ok  " : "FAIL",
         error ? error->message : "(no error)");
  DM_CHECK(pass, "model file loaded as a checkpoint");
  g_clear_error(&error);
  g_free(path);
  dm_trainer_free(trainer);
  dm_model_free(model);
}

int main(void) {
  test_loss_falls("VP epsilon", DM_SDE_VP, DM_PREDICT_EPSILON, 0.0f);
  test_loss_falls("VP v", DM_SDE_VP, DM_PREDICT_V, 0.0f);
  test_loss_falls("VP x0, min-SNR 5", DM_SDE_VP, DM_PREDICT_SAMPLE, 5.0f);
  test_loss_falls("VE epsilon", DM_SDE_VE, DM_PREDICT_EPSILON, 0.0f);
  test_resume();
  test_non_finite();
  test_refusals();
  printf("%s\n", dm_test_failures ? "FAILED" : "all passed");
  return dm_test_failures ? 1 : 0;
}
