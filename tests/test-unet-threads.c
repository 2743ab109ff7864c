/* Determinism: the same input, seed and thread count give bit-identical
 * output; different thread counts agree within 1e-4. Also checks the
 * any-size entry point and input validation.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "tensor/rng.h"

/* A small layout with every block kind: attention in the middle level and
 * the mid block, downsample_padding 0, a 1x1 shortcut. */
static DmUnetConfig small_config(void) {
  DmUnetConfig config = {
      .sample_size = 32, .in_channels = 3, .out_channels = 3,
      .freq_shift = 1, .flip_sin_to_cos = false, .n_levels = 3,
      .block_out_channels = {16, 32, 32},
      .down_attention = {false, true, false},
      .up_attention = {false, true, false},
      .layers_per_block = 1, .mid_block_scale_factor = 1.0f,
      .downsample_padding = 0, .attention_head_dim = 8, .norm_num_groups = 8,
      .norm_eps = 1e-6f, .has_mid_block = true, .add_attention = true};
  return config;
}

static DmTensor *forward(DmModel *model, const DmTensor *x, const float *t,
                         int32_t threads) {
  GError *error = NULL;
  dm_set_num_threads(threads);
  DmTensor *out = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  DM_CHECK_OK(out != NULL, error);
  bool ok = dm_model_forward_any_size(model, out, x, t, &error);
  DM_CHECK_OK(ok, error);
  return out;
}

static void test_threads(DmModel *model, int32_t h, int32_t w) {
  GError *error = NULL;
  DmTensor *x = dm_tensor_new(2, 3, h, w, &error);
  DM_CHECK_OK(x != NULL, error);
  dm_rng_normal_fill(x->data, dm_tensor_numel(x), 7, 0, 0);
  const float t[2] = {3.0f, 700.0f};
  DmTensor *a = forward(model, x, t, 2), *b = forward(model, x, t, 2);
  DmTensor *single = forward(model, x, t, 1);
  const size_t bytes = dm_tensor_numel(a) * sizeof(float);
  char *label = g_strdup_printf("%dx%d same threads bit-identical", w, h);
  DM_CHECK(memcmp(a->data, b->data, bytes) == 0, "%s", label);
  printf("%s %s\n", memcmp(a->data, b->data, bytes) == 0 ? "ok  " : "FAIL", label);
  g_free(label);
  label = g_strdup_printf("%dx%d 1 vs 2 threads", w, h);
  dm_test_compare(label, single->data, a->data, dm_tensor_numel(a), 1e-4, 0.0);
  g_free(label);
  dm_tensor_free(a);
  dm_tensor_free(b);
  dm_tensor_free(single);
  dm_tensor_free(x);
}

static void test_bad_input(DmModel *model) {
  GError *error = NULL;
  DmTensor *x = dm_tensor_new(1, 4, 8, 8, &error), *out = dm_tensor_new(1, 3, 8, 8, &error);
  const float t = 1.0f;
  DM_CHECK(!dm_model_forward(model, out, x, &t, &error) && error != NULL &&
               strstr(error->message, "channels") != NULL,
           "channel mismatch is an error naming channels");
  g_clear_error(&error);
  dm_tensor_free(x);
  x = dm_tensor_new(1, 3, 6, 8, &error);
  DM_CHECK(!dm_model_forward(model, out, x, &t, &error) && error != NULL,
           "a size that is not a multiple of 4 is refused by dm_model_forward");
  g_clear_error(&error);
  dm_tensor_free(x);
  dm_tensor_free(out);
}

int main(void) {
  GError *error = NULL;
  DmUnetConfig config = small_config();
  DmModel *model = dm_model_new_random(&config, NULL, 42, &error);
  DM_CHECK_OK(model != NULL, error);
  DM_CHECK(dm_model_size_multiple(model) == 4, "size multiple of 3 levels");
  test_threads(model, 32, 32);
  test_threads(model, 13, 22); /* padded by reflection, cropped back */
  test_bad_input(model);
  dm_model_free(model);
  return dm_test_finish();
}
