/* AutoencoderKL: config.json reading and refusals, loading a vae/ folder
 * (dtype kept; missing, extra and mis-shaped tensors named), the posterior,
 * and tiled passes (one tile is the untiled pass bit for bit; many tiles
 * stay close to it, without a seam).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include <glib/gstdio.h>

#include "dm-test.h"
#include "model/vae-files.h"
#include "network/vae.h"
#include "tensor/tiles.h"

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

/* ---- tiles --------------------------------------------------------------- */

/* The blend weights of a tiling of an axis sum to 1 at each pixel (when
 * neighbours alone overlap). */
static void test_blend_weights(void) {
  const int32_t cases[][3] = {/* length, size, overlap */
                              {100, 32, 8}, {50, 20, 10}, {768, 512, 128}};
  bool ok = true;
  for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
    DmTileAxis axis;
    dm_tile_axis_init(&axis, cases[k][0], cases[k][1], cases[k][2]);
    float *sums = g_new(float, cases[k][0]);
    dm_tile_axis_weight_sums(&axis, sums);
    for (int32_t u = 0; u < cases[k][0]; u++)
      ok &= fabsf(sums[u] - 1.0f) < 1e-6f;
    g_free(sums);
    dm_tile_axis_clear(&axis);
  }
  printf("%s tile blend weights sum to 1\n", ok ? "ok  " : "FAIL");
  DM_CHECK(ok, "blend weights");
}

static bool same_values(const DmTensor *a, const DmTensor *b) {
  return memcmp(a->data, b->data, dm_tensor_numel(a) * sizeof(float)) == 0;
}

/* A batch of two whose latent fits one tile: tiled passes are the untiled
 * ones, bit for bit; a bad tiling is refused. */
static void test_one_tile(const DmVae *vae) {
  GError *error = NULL;
  DmTensor *latent = dm_tensor_new(2, 4, 6, 10, &error);
  DmTensor *plain = dm_tensor_new(2, 3, 12, 20, &error);
  DmTensor *tiled = dm_tensor_new(2, 3, 12, 20, &error);
  DmTensor *moments = dm_tensor_new(2, 8, 6, 10, &error);
  DmTensor *tiled_moments = dm_tensor_new(2, 8, 6, 10, &error);
  DM_CHECK_OK(tiled_moments != NULL, error);
  dm_rng_normal_fill(latent->data, dm_tensor_numel(latent), 1, 2, 0);
  const DmVaeTiling one = {.tile_size = 10, .tile_overlap = 2};
  DM_CHECK_OK(dm_vae_decode(vae, plain, latent, &error), error);
  DM_CHECK_OK(dm_vae_decode_tiled(vae, tiled, latent, &one, &error), error);
  DM_CHECK_OK(dm_vae_encode_moments(vae, moments, plain, &error), error);
  DM_CHECK_OK(dm_vae_encode_tiled(vae, tiled_moments, plain, &one, &error),
              error);
  const bool same = same_values(plain, tiled) &&
                    same_values(moments, tiled_moments);
  printf("%s a latent that fits one tile encodes and decodes as untiled, "
         "bit for bit\n", same ? "ok  " : "FAIL");
  DM_CHECK(same, "one tile");
  const DmVaeTiling bad = {.tile_size = 8, .tile_overlap = 5};
  const bool refused = !dm_vae_decode_tiled(vae, tiled, latent, &bad, &error);
  printf("%s overlap above half a tile refused: %s\n",
         refused ? "ok  " : "FAIL", error ? error->message : "(accepted)");
  DM_CHECK(refused, "overlap 5 of 8");
  g_clear_error(&error);
  dm_tensor_free(tiled_moments);
  dm_tensor_free(moments);
  dm_tensor_free(tiled);
  dm_tensor_free(plain);
  dm_tensor_free(latent);
}

/* A smooth latent (4, size, size): low-frequency waves. */
static DmTensor *smooth_latent(int32_t size) {
  GError *error = NULL;
  DmTensor *latent = dm_tensor_new(1, 4, size, size, &error);
  DM_CHECK_OK(latent != NULL, error);
  for (int32_t c = 0; c < 4; c++)
    for (int32_t y = 0; y < size; y++)
      for (int32_t x = 0; x < size; x++)
        latent->data[((size_t)c * size + y) * size + x] =
            sinf(0.21f * x + 0.13f * y * (c + 1) + c) +
            0.5f * cosf(0.17f * y - 0.29f * x + 2 * c);
  return latent;
}

/* Mean |a - b|; the largest in *max. */
static double mean_difference(const DmTensor *a, const DmTensor *b,
                              double *max) {
  double sum = 0;
  *max = 0;
  for (size_t i = 0; i < dm_tensor_numel(a); i++) {
    const double d = fabs((double)a->data[i] - b->data[i]);
    sum += d;
    *max = MAX(*max, d);
  }
  return sum / (double)dm_tensor_numel(a);
}

/* The seam measure (bench-sampler --seam) of a decoded (1, 3, side, side)
 * image at the borders of `tiling`'s tiles over its latent. */
static double seam_ratio(const DmTensor *image, const DmVaeTiling *tiling,
                         int32_t factor) {
  const int32_t side = image->h;
  DmTileAxis latent_axis, axis;
  dm_tile_axis_init(&latent_axis, side / factor, tiling->tile_size,
                    tiling->tile_overlap);
  dm_tile_axis_scale(&axis, &latent_axis, factor);
  bool *border = g_new(bool, side);
  dm_tile_axis_borders(&axis, side, border);
  const DmRect all = {0, 0, side, side};
  double across, inside;
  dm_tile_seam_steps(image->data, image->c, side, side, &all, border, border,
                     &across, &inside);
  g_free(border);
  dm_tile_axis_clear(&axis);
  dm_tile_axis_clear(&latent_axis);
  return across / inside;
}

/* Tiles of 12 latent pixels sharing 4 over a 28 x 28 latent (3 x 3
 * tiles; the tiny network's receptive field is far wider than the
 * overlap): the mean step between neighbouring pixels across tile borders
 * is no larger than inside tiles (bench-sampler's seam measure), and the
 * tiled image stays near the untiled one (mean |difference| measured
 * 0.085, of values of magnitude ~1). */
static void test_many_tiles(const DmVae *vae) {
  enum { SIZE = 28, SIDE = 2 * SIZE };
  DmTensor *latent = smooth_latent(SIZE);
  GError *error = NULL;
  DmTensor *plain = dm_tensor_new(1, 3, SIDE, SIDE, &error);
  DmTensor *tiled = dm_tensor_new(1, 3, SIDE, SIDE, &error);
  DM_CHECK_OK(tiled != NULL, error);
  const DmVaeTiling tiling = {.tile_size = 12, .tile_overlap = 4};
  DM_CHECK_OK(dm_vae_decode(vae, plain, latent, &error), error);
  DM_CHECK_OK(dm_vae_decode_tiled(vae, tiled, latent, &tiling, &error),
              error);
  double max;
  const double mean = mean_difference(tiled, plain, &max);
  const double ratio = seam_ratio(tiled, &tiling, 2);
  const bool pass = ratio <= 1.15 && mean < 0.15;
  printf("%s 3 x 3 tiles: |tiled - untiled| mean %.4f, max %.3f; seam ratio "
         "%.3f (want <= 1.15)\n", pass ? "ok  " : "FAIL", mean, max, ratio);
  DM_CHECK(pass, "tiled decoding");
  dm_tensor_free(tiled);
  dm_tensor_free(plain);
  dm_tensor_free(latent);
}

/* Encoding on tiles: the moments of a 56 x 56 image on 3 x 3 tiles of 12
 * latent pixels stay near the untiled ones. */
static void test_encode_tiles(const DmVae *vae) {
  enum { SIZE = 28, SIDE = 2 * SIZE };
  GError *error = NULL;
  DmTensor *image = dm_tensor_new(1, 3, SIDE, SIDE, &error);
  DmTensor *plain = dm_tensor_new(1, 8, SIZE, SIZE, &error);
  DmTensor *tiled = dm_tensor_new(1, 8, SIZE, SIZE, &error);
  DM_CHECK_OK(tiled != NULL, error);
  for (int32_t c = 0; c < 3; c++)
    for (int32_t y = 0; y < SIDE; y++)
      for (int32_t x = 0; x < SIDE; x++)
        image->data[((size_t)c * SIDE + y) * SIDE + x] =
            0.8f * sinf(0.11f * x + 0.07f * y * (c + 1) + c);
  const DmVaeTiling tiling = {.tile_size = 12, .tile_overlap = 4};
  DM_CHECK_OK(dm_vae_encode_moments(vae, plain, image, &error), error);
  DM_CHECK_OK(dm_vae_encode_tiled(vae, tiled, image, &tiling, &error),
              error);
  double max;
  const double mean = mean_difference(tiled, plain, &max);
  const bool pass = mean < 0.15; /* measured 0.076 */
  printf("%s tiled encoding: |tiled - untiled| moments mean %.4f, max %.3f\n",
         pass ? "ok  " : "FAIL", mean, max);
  DM_CHECK(pass, "tiled encoding");
  dm_tensor_free(tiled);
  dm_tensor_free(plain);
  dm_tensor_free(image);
}

int main(void) {
  test_config();
  test_load();
  test_posterior();
  test_blend_weights();
  DmVae vae;
  make_tiny(&vae, DM_DTYPE_F32);
  test_one_tile(&vae);
  test_many_tiles(&vae);
  test_encode_tiles(&vae);
  dm_vae_clear(&vae);
  return dm_test_finish();
}
