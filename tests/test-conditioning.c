/* Mask-conditioned models (dm.h, DmConditioning): the file metadata, the
 * network input the samplers build, classifier-free guidance, the dropout
 * mode, and a toy model that learns to continue a pattern into a hole
 * better than an unconditional one trained for as many steps.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>

#include "model/model.h"
#include "dm-test.h"
#include "dm-train.h"
#include "model/model-files.h"

enum { SIZE = 16, PIXELS = SIZE * SIZE, CHANNELS = 3 };

/* A 2-level, 32/64-channel network without attention, mask-conditioned
 * (7 input channels) or not. */
static DmModel *toy_model(bool conditioned, uint64_t seed) {
  DmUnetConfig config = {
      .sample_size = SIZE, .in_channels = conditioned ? 2 * CHANNELS + 1
                                                      : CHANNELS,
      .out_channels = CHANNELS, .flip_sin_to_cos = true, .n_levels = 2,
      .block_out_channels = {32, 64}, .layers_per_block = 1,
      .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 8, .norm_eps = 1e-5f, .has_mid_block = true};
  DmScheduleConfig schedule;
  dm_schedule_config_default(&schedule);
  schedule.prediction_type = DM_PREDICT_V;
  schedule.timestep_spacing = DM_SPACING_TRAILING;
  GError *error = NULL;
  DmModel *model = dm_model_new_random(&config, &schedule, seed, &error);
  DM_CHECK_OK(model != NULL, error);
  return model;
}

/* ---- files --------------------------------------------------------------- */

static void test_files(void) {
  DmModel *model = toy_model(true, 1), *plain = toy_model(false, 1);
  DM_CHECK(dm_model_conditioning(model) == DM_CONDITIONING_MASK &&
               dm_model_conditioning(plain) == DM_CONDITIONING_NONE,
           "conditioning from the channel counts");
  char *dir = g_dir_make_tmp("dm-conditioning-XXXXXX", NULL);
  char *file = g_build_filename(dir, "m.safetensors", NULL);
  char *folder = g_build_filename(dir, "m", NULL);
  GError *error = NULL;
  DM_CHECK_OK(dm_model_save(model, file, &error) &&
                  dm_model_save(model, folder, &error), error);
  for (int k = 0; k < 2; k++) {
    const char *path = k ? folder : file;
    DmModel *loaded = dm_model_load(path, &error);
    DM_CHECK_OK(loaded != NULL, error);
    DM_CHECK(dm_model_conditioning(loaded) == DM_CONDITIONING_MASK,
             "%s: loaded as conditioning %d", path,
             dm_model_conditioning(loaded));
    dm_model_free(loaded);
  }
  DmSafetensors *st = dm_safetensors_open(file, &error);
  DM_CHECK_OK(st != NULL, error);
  const char *stated = dm_safetensors_metadata(st, "dm.conditioning");
  const char *order = dm_safetensors_metadata(st, "dm.input_channels");
  printf("metadata: conditioning \"%s\", input channels \"%s\"\n", stated,
         order);
  DM_CHECK(g_strcmp0(stated, "mask") == 0 && order != NULL,
           "the file's metadata does not say it is mask-conditioned");
  dm_safetensors_free(st);

  /* metadata that contradicts the channels is refused, by name */
  char *config_text, *schedule_text;
  DM_CHECK_OK(dm_model_config_texts(plain, &config_text, &schedule_text,
                                    &error), error);
  const char *metadata[] = {"format", "pt", "dm.config", config_text,
                            "dm.scheduler_config", schedule_text,
                            "dm.conditioning", "mask", NULL};
  DM_CHECK_OK(dm_model_write_with_extras(plain, file, NULL, NULL, 0, metadata,
                                         &error), error);
  DmModel *wrong = dm_model_load(file, &error);
  printf("contradicting metadata: %s\n", error ? error->message : "loaded");
  DM_CHECK(wrong == NULL && error && strstr(error->message, "conditioning"),
           "a 3-channel model claiming mask conditioning was loaded");
  g_clear_error(&error);
  g_free(config_text);
  g_free(schedule_text);
  g_remove(file);
  dm_model_free(plain);
  dm_model_free(model);
  g_free(file);
  g_free(folder);
  g_free(dir);
}

/* ---- the network's input ------------------------------------------------- */

/* A denoiser built by hand from dm_model_forward: the input is x, then the
 * conditioning planes `condition` (C + 1, H, W) (mask, known * (1 - mask));
 * with `dropout` also (1, 0) and o = o_u + w (o_c - o_u). */
typedef struct {
  DmModel *model;
  const float *condition, *dropout;
  float guidance_scale;
} ByHand;

static void forward_by_hand(DmModel *model, float *out, const float *x,
                            const float *condition, float t) {
  GError *error = NULL;
  DmTensor *in = dm_tensor_new(1, 2 * CHANNELS + 1, SIZE, SIZE, &error);
  DmTensor *result = dm_tensor_new(1, CHANNELS, SIZE, SIZE, &error);
  DM_CHECK_OK(result != NULL, error);
  memcpy(in->data, x, CHANNELS * PIXELS * sizeof(float));
  memcpy(in->data + CHANNELS * PIXELS, condition,
         (CHANNELS + 1) * PIXELS * sizeof(float));
  DM_CHECK_OK(dm_model_forward(model, result, in, &t, &error), error);
  memcpy(out, result->data, CHANNELS * PIXELS * sizeof(float));
  dm_tensor_free(in);
  dm_tensor_free(result);
}

static bool denoise_by_hand(float *out, const float *x, float t,
                            void *user_data, GError **error) {
  (void)error;
  const ByHand *by_hand = user_data;
  forward_by_hand(by_hand->model, out, x, by_hand->condition, t);
  if (by_hand->dropout == NULL) return true;
  float unconditional[CHANNELS * PIXELS];
  forward_by_hand(by_hand->model, unconditional, x, by_hand->dropout, t);
  for (int i = 0; i < CHANNELS * PIXELS; i++)
    out[i] = unconditional[i] +
             by_hand->guidance_scale * (out[i] - unconditional[i]);
  return true;
}

/* A centred box hole of side 2 half - 1. */
static void box_hole(float *mask, int half) {
  for (int p = 0; p < PIXELS; p++)
    mask[p] = abs(p % SIZE - 8) < half && abs(p / SIZE - 8) < half ? 1.0f
                                                                   : 0.0f;
}

/* A picture and a centred box hole of side 5. */
static void picture_and_hole(float *image, float *mask) {
  for (int c = 0; c < CHANNELS; c++)
    for (int p = 0; p < PIXELS; p++)
      image[c * PIXELS + p] = 0.8f * sinf(0.7f * (p % SIZE) + c) *
                              cosf(0.3f * (p / SIZE));
  box_hole(mask, 3);
}

/* The sample dm_sample() makes with the hand-built denoiser, inpainting
 * (image, mask) or, with image NULL, generating. */
static void sample_by_hand(float *x, ByHand *by_hand, const float *image,
                           const float *mask, const DmSampleOptions *options) {
  float known_mask[CHANNELS * PIXELS];
  for (int i = 0; mask && i < CHANNELS * PIXELS; i++)
    known_mask[i] = mask[i % PIXELS];
  const DmInpaint inpaint = {image, known_mask};
  const DmSampleGrid grid = {CHANNELS, SIZE, SIZE, 0, 0};
  GError *error = NULL;
  DM_CHECK_OK(dm_sample(x, &grid, dm_model_schedule_config(by_hand->model),
                        options, denoise_by_hand, by_hand,
                        image ? &inpaint : NULL, NULL, NULL, &error),
              error);
}

static void test_input_and_guidance(void) {
  DmModel *model = toy_model(true, 2);
  float image[CHANNELS * PIXELS], mask[PIXELS];
  picture_and_hole(image, mask);
  float condition[(CHANNELS + 1) * PIXELS], dropout[(CHANNELS + 1) * PIXELS];
  memcpy(condition, mask, sizeof(mask));
  for (int i = 0; i < CHANNELS * PIXELS; i++)
    condition[PIXELS + i] = image[i] * (1.0f - mask[i % PIXELS]);
  for (int i = 0; i < (CHANNELS + 1) * PIXELS; i++)
    dropout[i] = i < PIXELS ? 1.0f : 0.0f;
  DmSampleOptions options;
  dm_sample_options_default(&options);
  options.steps = 10;
  options.seed = 4;
  DmAreaOptions area;
  dm_area_options_default(&area);
  GError *error = NULL;
  const float scales[] = {1.0f, 3.0f, 0.0f};
  for (int k = 0; k < 3; k++) {
    options.guidance_scale = scales[k];
    float got[CHANNELS * PIXELS], want[CHANNELS * PIXELS];
    memcpy(got, image, sizeof(got));
    DM_CHECK_OK(dm_model_inpaint(model, got, mask, SIZE, SIZE, &options,
                                 &area, NULL, NULL, &error), error);
    ByHand by_hand = {model, condition, scales[k] == 1.0f ? NULL : dropout,
                      scales[k]};
    sample_by_hand(want, &by_hand, image, mask, &options);
    for (int i = 0; i < CHANNELS * PIXELS; i++)
      if (mask[i % PIXELS] == 0.0f) want[i] = image[i];
    char label[64];
    g_snprintf(label, sizeof(label), "inpaint, guidance %g vs by hand",
               scales[k]);
    /* w = 1 runs the one conditional pass: bit for bit; otherwise a batch
     * of two against two single passes, equal within rounding */
    dm_test_compare(label, got, want, CHANNELS * PIXELS, 0.0,
                    scales[k] == 1.0f ? 0.0 : 1e-5);
  }
  /* generation runs the dropout mode, whatever the guidance */
  options.guidance_scale = 3.0f;
  float got[CHANNELS * PIXELS], want[CHANNELS * PIXELS];
  DM_CHECK_OK(dm_model_generate(model, got, SIZE, SIZE, &options, &area, NULL,
                                NULL, &error), error);
  ByHand by_hand = {model, dropout, NULL, 1.0f};
  sample_by_hand(want, &by_hand, NULL, NULL, &options);
  dm_test_compare("generate = dropout mode by hand", got, want,
                  CHANNELS * PIXELS, 0.0, 0.0);
  dm_model_free(model);
}

/* Guidance other than 1 doubles the batch of a mask-conditioned model
 * only: the factor behind the plug-in's time estimate. */
static void test_evaluation_batch(void) {
  DmModel *model = toy_model(true, 3), *plain = toy_model(false, 3);
  DmSampleOptions options;
  dm_sample_options_default(&options);
  const float scales[] = {1.0f, 3.0f, 0.0f};
  for (int k = 0; k < 3; k++) {
    options.guidance_scale = scales[k];
    const int32_t want = scales[k] == 1.0f ? 1 : 2;
    DM_CHECK(dm_model_evaluation_batch(model, &options) == want,
             "guidance %g: batch %d, want %d", scales[k],
             dm_model_evaluation_batch(model, &options), want);
    DM_CHECK(dm_model_evaluation_batch(plain, &options) == 1,
             "unconditional, guidance %g: batch %d, want 1", scales[k],
             dm_model_evaluation_batch(plain, &options));
  }
  dm_model_free(model);
  dm_model_free(plain);
}

/* A widened unconditional model computes what it did, whatever the
 * conditioning planes hold, and a conditional one is not widened again. */
static void test_widened(void) {
  DmModel *plain = toy_model(false, 4);
  GError *error = NULL;
  DmModel *widened = dm_model_new_mask_conditioned(plain, &error);
  DM_CHECK_OK(widened != NULL, error);
  DM_CHECK(dm_model_conditioning(widened) == DM_CONDITIONING_MASK,
           "the widened model is not mask-conditioned");
  float *input = dm_test_random_floats((2 * CHANNELS + 1) * PIXELS, 1.0f, 9);
  float want[CHANNELS * PIXELS], got[CHANNELS * PIXELS];
  DmTensor *x = dm_tensor_new(1, CHANNELS, SIZE, SIZE, &error);
  DmTensor *out = dm_tensor_new(1, CHANNELS, SIZE, SIZE, &error);
  DM_CHECK_OK(out != NULL, error);
  memcpy(x->data, input, sizeof(want));
  const float t = 500.0f;
  DM_CHECK_OK(dm_model_forward(plain, out, x, &t, &error), error);
  memcpy(want, out->data, sizeof(want));
  forward_by_hand(widened, got, input, input + CHANNELS * PIXELS, t);
  dm_test_compare("widened model = the unconditional one", got, want,
                  CHANNELS * PIXELS, 1e-6, 1e-5);
  DM_CHECK(dm_model_new_mask_conditioned(widened, &error) == NULL && error,
           "a conditional model was widened again");
  g_clear_error(&error);
  g_free(input);
  dm_tensor_free(x);
  dm_tensor_free(out);
  dm_model_free(widened);
  dm_model_free(plain);
}

/* ---- learning to continue a pattern --------------------------------------- */

enum { TRAIN_STEPS = 800, BATCH = 8, TEST_PICTURES = 24 };

/* Picture k of a family keyed by `seed`: a flat colour, a ramp between two
 * colours, or stripes of period 8 between them, vertical or horizontal,
 * each a third of the time; colours and stripe phase random. */
static void pattern(float *image, uint64_t seed, uint64_t k) {
  float u[8];
  dm_rng_uniform_fill(u, 8, 0.0f, 1.0f, seed, 77, 8 * k);
  const int kind = (int)(u[7] * 3);
  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++) {
      const float along = u[0] < 0.5f ? x : y;
      const float blend =
          kind == 0   ? 0.0f
          : kind == 1 ? along / (SIZE - 1)
                      : 0.5f + 0.5f * sinf(2.0f * (float)G_PI *
                                           (along / 8.0f + u[2]));
      for (int c = 0; c < CHANNELS; c++) {
        const float low = 2.0f * u[3 + c] - 1.0f;
        const float high = -low * (0.5f + 0.5f * u[6]);
        image[c * PIXELS + y * SIZE + x] = low + blend * (high - low);
      }
    }
}

static DmModel *train_on_patterns(bool conditioned) {
  DmModel *model = toy_model(conditioned, 6);
  DmTrainOptions options =
      dm_test_train_options(BATCH, 8, 5e-4f, 50, TRAIN_STEPS);
  options.ema_decay = 0.99f;
  GError *error = NULL;
  DmTrainer *trainer = dm_trainer_new(model, &options, &error);
  DM_CHECK_OK(trainer != NULL, error);
  float batch[BATCH * CHANNELS * PIXELS];
  for (int step = 0; step < TRAIN_STEPS; step++) {
    for (int i = 0; i < BATCH; i++)
      pattern(batch + i * CHANNELS * PIXELS, 1, (uint64_t)step * BATCH + i);
    DM_CHECK_OK(dm_trainer_step(trainer, batch, SIZE, NULL, &error), error);
  }
  DmModel *trained = dm_trainer_export(trainer, true, &error);
  DM_CHECK_OK(trained != NULL, error);
  dm_trainer_free(trainer);
  dm_model_free(model);
  return trained;
}

/* Mean squared error in a centred box hole (side 2 half - 1) over
 * TEST_PICTURES unseen pictures (another seed), DDIM 25 steps. */
static double hole_error(DmModel *model, int half) {
  float image[CHANNELS * PIXELS], truth[CHANNELS * PIXELS], mask[PIXELS];
  box_hole(mask, half);
  DmSampleOptions options;
  dm_sample_options_default(&options);
  options.steps = 25;
  DmAreaOptions area;
  dm_area_options_default(&area);
  double sum = 0;
  int count = 0;
  for (int k = 0; k < TEST_PICTURES; k++) {
    pattern(truth, 2, (uint64_t)k);
    memcpy(image, truth, sizeof(image));
    options.seed = (uint64_t)k;
    GError *error = NULL;
    DM_CHECK_OK(dm_model_inpaint(model, image, mask, SIZE, SIZE, &options,
                                 &area, NULL, NULL, &error), error);
    for (int i = 0; i < CHANNELS * PIXELS; i++)
      if (mask[i % PIXELS] > 0)
        sum += (image[i] - truth[i]) * (image[i] - truth[i]), count++;
  }
  return sum / count;
}

/* Replacement alone lets an unconditional model fill small holes about as
 * well at this length of training; the context it cannot see through the
 * noise tells on large ones, which the test asks to be filled better by a
 * margin (sum of the MSE over the 9x9 and 13x13 holes). */
static void test_learns_context(void) {
  DmModel *conditional = train_on_patterns(true);
  DmModel *unconditional = train_on_patterns(false);
  double large_with = 0, large_without = 0;
  for (int half = 3; half <= 7; half += 2) {
    const double with_mask = hole_error(conditional, half);
    const double without = hole_error(unconditional, half);
    printf("patterns, %d steps of %d, hole %dx%d: MSE conditional %.4f, "
           "unconditional %.4f (ratio %.2f)\n", TRAIN_STEPS, BATCH,
           2 * half - 1, 2 * half - 1, with_mask, without,
           with_mask / without);
    if (half >= 5) large_with += with_mask, large_without += without;
  }
  DM_CHECK(large_with < 0.95 * large_without,
           "the conditional model fills large holes no better (%.4f vs "
           "%.4f)", large_with, large_without);
  dm_model_free(conditional);
  dm_model_free(unconditional);
}

int main(void) {
  test_files();
  test_input_and_guidance();
  test_evaluation_batch();
  test_widened();
  test_learns_context();
  return dm_test_failures != 0;
}
