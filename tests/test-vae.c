/* AutoencoderKL: config.json reading and refusals, loading a vae/ folder
 * (dtype kept; missing, extra and mis-shaped tensors named), the
 * posterior.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include <glib/gstdio.h>

#include "dm-test.h"
#include "model/vae-files.h"
#include "network/vae.h"

/* Two levels, mid attention: images twice the latent's size. Key and JSON
 * value of each field. */
static const char *const tiny_fields[][2] = {
    {"_class_name", "\"AutoencoderKL\""},
    {"block_out_channels", "[16, 32]"},
    {"down_block_types", "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]"},
    {"up_block_types", "[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]"},
    {"layers_per_block", "1"},
    {"norm_num_groups", "8"},
    {"latent_channels", "4"},
    {"sample_size", "[64, 64]"},
    {"force_upcast", "false"},
    {"shift_factor", "null"},
};

/* The tiny config.json with `key` set to `value` (added when it is not a
 * field above; key NULL: as it is). g_free() it. */
static char *tiny_config(const char *key, const char *value) {
  GString *text = g_string_new("{");
  bool replaced = false;
  for (size_t i = 0; i < G_N_ELEMENTS(tiny_fields); i++) {
    const bool match = key && strcmp(key, tiny_fields[i][0]) == 0;
    replaced |= match;
    g_string_append_printf(text, "%s\"%s\": %s", i ? ", " : "",
                           tiny_fields[i][0],
                           match ? value : tiny_fields[i][1]);
  }
  if (key && !replaced)
    g_string_append_printf(text, ", \"%s\": %s", key, value);
  g_string_append_c(text, '}');
  return g_string_free(text, FALSE);
}

static void make_tiny(DmVae *vae, DmDtype dtype) {
  DmVaeConfig config;
  GError *error = NULL;
  char *text = tiny_config(NULL, NULL);
  DM_CHECK_OK(dm_vae_config_from_json(&config, text, "tiny", &error), error);
  g_free(text);
  DM_CHECK_OK(dm_vae_init(vae, &config, dtype, &error), error);
  dm_weights_fill_random(&vae->weights, 3);
}

/* ---- config.json --------------------------------------------------------- */

/* tiny_config with `field` set to `value` must fail with `code` and a
 * message naming `named`. */
static void check_refused(const char *field, const char *value, int code,
                          const char *named) {
  char *text = tiny_config(field, value);
  DmVaeConfig config;
  GError *error = NULL;
  const bool ok = dm_vae_config_from_json(&config, text, "config", &error);
  const bool pass = !ok && error && error->code == code &&
                    strstr(error->message, named) != NULL;
  printf("%s %s = %s refused: %s\n", pass ? "ok  " : "FAIL", field, value,
         error ? error->message : "(accepted)");
  DM_CHECK(pass, "%s = %s", field, value);
  g_clear_error(&error);
  g_free(text);
}

static void test_config(void) {
  DmVaeConfig config, sd;
  GError *error = NULL;
  char *path = dm_test_data_path("sd/vae/sd/config.json");
  char *text = NULL;
  DM_CHECK_OK(g_file_get_contents(path, &text, NULL, &error), error);
  DM_CHECK_OK(dm_vae_config_from_json(&config, text, path, &error), error);
  dm_vae_config_sd(&sd);
  DM_CHECK(memcmp(&config, &sd, sizeof sd) == 0,
           "SD's vae/config.json is not dm_vae_config_sd()");
  g_free(text);
  g_free(path);
  check_refused("latents_mean", "[0.1, 0.2, 0.3, 0.4]", DM_ERROR_UNSUPPORTED,
                "latents_mean");
  check_refused("act_fn", "\"gelu\"", DM_ERROR_UNSUPPORTED, "act_fn");
  check_refused("down_block_types", "[\"DownBlock2D\", \"DownBlock2D\"]",
                DM_ERROR_UNSUPPORTED, "down_block_types[0]");
  check_refused("up_block_types", "[\"UpDecoderBlock2D\"]", DM_ERROR_FORMAT,
                "up_block_types");
  check_refused("_class_name", "\"VQModel\"", DM_ERROR_UNSUPPORTED,
                "_class_name");
  check_refused("norm_type", "\"spatial\"", DM_ERROR_UNSUPPORTED,
                "norm_type");
  check_refused("norm_num_groups", "6", DM_ERROR_FORMAT, "6 groups");
  check_refused("scaling_factor", "0", DM_ERROR_FORMAT, "scaling_factor");
  check_refused("use_quant_conv", "1", DM_ERROR_FORMAT, "use_quant_conv");
}

/* ---- loading a folder ---------------------------------------------------- */

/* Writes the tensors of `vae` as float16 into folder/diffusion_pytorch_
 * model.safetensors, but `skip` (NULL: none), with `extra` added (NULL:
 * none) and `reshape`'s first dimension doubled. */
static void write_weights(const DmVae *vae, const char *folder,
                          const char *skip, const char *extra,
                          const char *reshape) {
  const DmParams *table = &vae->weights.table;
  DmStTensor *tensors = g_new0(DmStTensor, table->count + 1);
  int64_t *shapes = g_new(int64_t, 4 * (table->count + 1));
  float *values = g_new(float, table->total);
  float *scratch = g_new(float, dm_weights_largest(&vae->weights));
  int32_t n = 0;
  for (int32_t i = 0; i < table->count; i++) {
    const DmParamInfo *info = &table->info[i];
    if (skip && strcmp(info->name, skip) == 0) continue;
    memcpy(values + info->offset,
           dm_weights_f32(&vae->weights, info, scratch),
           info->numel * sizeof(float));
    int64_t *shape = shapes + 4 * n;
    memcpy(shape, info->shape, sizeof info->shape);
    if (reshape && strcmp(info->name, reshape) == 0) shape[0] *= 2;
    tensors[n++] = (DmStTensor){info->name, info->rank, shape,
                                values + info->offset};
  }
  if (extra) {
    shapes[4 * n] = 1;
    tensors[n] = (DmStTensor){extra, 1, shapes + 4 * n, values};
    n++;
  }
  char *path = g_build_filename(folder, "diffusion_pytorch_model.safetensors",
                                NULL);
  GError *error = NULL;
  DM_CHECK_OK(dm_safetensors_write(path, tensors, n, NULL, DM_DTYPE_F16,
                                   &error), error);
  g_free(path);
  g_free(scratch);
  g_free(values);
  g_free(shapes);
  g_free(tensors);
}

/* Loading `folder` must fail naming `named`. */
static void check_load_refused(const char *folder, const char *what,
                               const char *named) {
  DmVae vae;
  GError *error = NULL;
  const bool ok = dm_vae_load_folder(&vae, folder, &error);
  const bool pass = !ok && error && strstr(error->message, named) != NULL;
  printf("%s %s refused: %s\n", pass ? "ok  " : "FAIL", what,
         error ? error->message : "(loaded)");
  DM_CHECK(pass, "%s", what);
  g_clear_error(&error);
  if (ok) dm_vae_clear(&vae);
}

static void test_load(void) {
  GError *error = NULL;
  char *folder = g_dir_make_tmp("test-vae-XXXXXX", &error);
  DM_CHECK_OK(folder != NULL, error);
  char *config_path = g_build_filename(folder, "config.json", NULL);
  char *text = tiny_config(NULL, NULL);
  DM_CHECK_OK(g_file_set_contents(config_path, text, -1, &error), error);
  g_free(text);
  DmVae written, loaded;
  make_tiny(&written, DM_DTYPE_F16);
  write_weights(&written, folder, NULL, NULL, NULL);
  DM_CHECK_OK(dm_vae_load_folder(&loaded, folder, &error), error);
  const bool same = loaded.weights.dtype == DM_DTYPE_F16 &&
                    loaded.weights.table.total == written.weights.table.total &&
                    memcmp(loaded.weights.data, written.weights.data,
                           written.weights.table.total * 2) == 0;
  printf("%s a float16 folder loads as float16, bit for bit (%zu weights)\n",
         same ? "ok  " : "FAIL", loaded.weights.table.total);
  DM_CHECK(same, "float16 weights changed in loading");
  dm_vae_clear(&loaded);

  write_weights(&written, folder, "decoder.mid_block.attentions.0.to_k.bias",
                NULL, NULL);
  check_load_refused(folder, "a missing tensor",
                     "'decoder.mid_block.attentions.0.to_k.bias' is missing");
  write_weights(&written, folder, NULL, "encoder.extra.weight", NULL);
  check_load_refused(folder, "an extra tensor", "'encoder.extra.weight'");
  write_weights(&written, folder, NULL, NULL, "quant_conv.weight");
  check_load_refused(folder, "a mis-shaped tensor",
                     "'quant_conv.weight' has shape [16, 8, 1, 1]");
  DM_CHECK_OK(g_file_set_contents(config_path, "{\"latents_std\": [1]}", -1,
                                  &error), error);
  check_load_refused(folder, "an unsupported config", "latents_std");
  dm_vae_clear(&written);

  char *weights_path = g_build_filename(folder,
                                        "diffusion_pytorch_model.safetensors",
                                        NULL);
  g_unlink(weights_path);
  g_unlink(config_path);
  g_rmdir(folder);
  g_free(weights_path);
  g_free(config_path);
  g_free(folder);
}

/* ---- the posterior ------------------------------------------------------- */

/* mean and logvar in the diffusion model's scale; a sample is mean + std
 * times the counter RNG's normal deviates. */
static void test_posterior(void) {
  DmVae vae;
  make_tiny(&vae, DM_DTYPE_F32);
  vae.config.scaling_factor = 0.5f, vae.config.shift_factor = 0.25f;
  GError *error = NULL;
  DmTensor *moments = dm_tensor_new(1, 8, 2, 3, &error);
  DmTensor *mean = dm_tensor_new(1, 4, 2, 3, &error);
  DmTensor *logvar = dm_tensor_new(1, 4, 2, 3, &error);
  DM_CHECK_OK(logvar != NULL, error);
  for (int i = 0; i < 48; i++) moments->data[i] = (float)(i - 24);
  dm_vae_posterior(&vae, mean, logvar, moments);
  float z[24], eps[24];
  dm_vae_sample(z, mean->data, logvar->data, 24, 99);
  dm_rng_normal_fill(eps, 24, 99, 0, 0);
  double worst = 0;
  for (int i = 0; i < 24; i++) {
    const double raw_logvar = CLAMP(moments->data[24 + i], -30.0, 20.0);
    const double want_mean = (moments->data[i] - 0.25) * 0.5;
    const double want_logvar = raw_logvar + 2 * log(0.5);
    const double want_z = want_mean + exp(0.5 * want_logvar) * eps[i];
    worst = MAX(worst, fabs(mean->data[i] - want_mean));
    worst = MAX(worst, fabs(logvar->data[i] - want_logvar) / 30);
    worst = MAX(worst, fabs(z[i] - want_z) / (1 + fabs(want_z)));
  }
  printf("%s posterior and sample, worst relative error %.2g\n",
         worst < 1e-6 ? "ok  " : "FAIL", worst);
  DM_CHECK(worst < 1e-6, "posterior");
  dm_tensor_free(logvar);
  dm_tensor_free(mean);
  dm_tensor_free(moments);
  dm_vae_clear(&vae);
}

int main(void) {
  test_config();
  test_load();
  test_posterior();
  return dm_test_finish();
}
