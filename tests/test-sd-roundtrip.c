/* Stable Diffusion checkpoints, both layouts: the same full-size SD 1.5-
 * and SD 2-inpainting networks (text encoder and VAE, in F16 and BF16)
 * written as a diffusers pipeline folder and as a single file in the
 * original layout (the names of model/sd-keys.h, OpenCLIP's fused q, k, v
 * and the VAE's 1x1 convolutions included) load into identical weights, in
 * the file's dtype. CLIP's vocabulary comes from DM_TEST_SHARED
 * (../shared/clip-tokenizer); the test is skipped (77) without it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"
#include "sd-test.h"

#define SKIP 77

static char *temp_root;  /* removed at the end */
static char *vocabulary; /* CLIP's vocab.json and merges.txt */

/* Adds the tensors of `weights` to `specs`: under their own names, or
 * with `keys` under a single file's (q, k and v of a fused tensor as its
 * parts). */
static void add_weights(GPtrArray *specs, const DmWeights *weights,
                        const DmSdKey *keys) {
  const DmParams *table = &weights->table;
  for (int32_t i = 0; i < table->count; i++) {
    const DmParamInfo *info = &table->info[i];
    const char *name = keys ? keys[i].original : info->name;
    Spec *spec = spec_find(specs, name);
    if (!spec)
      spec = keys ? spec_add(specs, name, dtype_text(weights->dtype),
                             keys[i].rank, keys[i].shape)
                  : spec_add(specs, name, dtype_text(weights->dtype),
                             info->rank, info->shape);
    spec->parts[keys ? keys[i].part : 0] = dm_weights_data(weights, info);
    spec->part_bytes = info->numel * dm_dtype_size(weights->dtype);
  }
}

static void add_part(GPtrArray *specs, const DmWeights *weights,
                     DmSdPart part, const DmSdBlocks *blocks) {
  DmSdKey *keys = NULL;
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_keys_map(&keys, &weights->table, part, blocks, &error),
              error);
  add_weights(specs, weights, keys);
  dm_sd_keys_free(keys, weights->table.count);
}

static void write_component(const char *folder, const char *file,
                            const DmWeights *weights) {
  GPtrArray *specs = specs_new();
  add_weights(specs, weights, NULL);
  char *path = g_build_filename(folder, file, NULL);
  write_specs(path, specs);
  g_free(path);
  g_ptr_array_unref(specs);
}

/* The tokenizer/ folder of a pipeline of `version`: CLIP's vocabulary and
 * the version's configs (tests/data/sd/tokenizer). */
static void write_tokenizer(const char *folder, DmSdVersion version) {
  char *tokenizer = g_build_filename(folder, "tokenizer", NULL);
  link_vocabulary(tokenizer, vocabulary);
  const char *const files[] = {"tokenizer_config.json",
                               "special_tokens_map.json"};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    char *relative = g_strdup_printf("sd/tokenizer/sd%d/%s",
                                     version == DM_SD_1 ? 1 : 2, files[i]);
    char *target = dm_test_data_path(relative);
    char *link = g_build_filename(tokenizer, files[i], NULL);
    DM_CHECK(symlink(target, link) == 0, "cannot link %s", link);
    g_free(link);
    g_free(target);
    g_free(relative);
  }
  g_free(tokenizer);
}

/* A pipeline folder of `text` and `vae` (and a U-Net config). */
static void write_pipeline(const char *folder, DmSdVersion version,
                           const DmClipText *text, const DmVae *vae) {
  write_pipeline_configs(folder, version);
  write_component(folder, "text_encoder/model.safetensors", &text->weights);
  write_component(folder, "vae/diffusion_pytorch_model.safetensors",
                  &vae->weights);
  write_tokenizer(folder, version);
}

/* The same networks as one file in the original layout, with the
 * reference's U-Net tensors as zeros. */
static void write_single_file(const char *path, DmSdVersion version,
                              const DmClipText *text, const DmVae *vae) {
  GPtrArray *specs = specs_new();
  add_part(specs, &text->weights, version == DM_SD_2 ? DM_SD_PART_OPEN_CLIP
                                                     : DM_SD_PART_CLIP,
           NULL);
  DmSdBlocks blocks;
  dm_sd_vae_blocks(&blocks, &vae->config);
  add_part(specs, &vae->weights, DM_SD_PART_VAE, &blocks);
  GPtrArray *reference = reference_specs(
      version == DM_SD_2 ? "sd2_inpainting" : "sd15_inpainting",
      dtype_text(text->weights.dtype));
  for (guint i = 0; i < reference->len; i++) {
    const Spec *spec = reference->pdata[i];
    if (g_str_has_prefix(spec->name, "model.diffusion_model."))
      spec_add(specs, spec->name, spec->dtype, spec->rank, spec->shape);
  }
  write_specs(path, specs);
  g_ptr_array_unref(reference);
  g_ptr_array_unref(specs);
}

static bool same_weights(const DmWeights *a, const DmWeights *b) {
  return a->dtype == b->dtype && a->table.total == b->table.total &&
         memcmp(a->data, b->data,
                a->table.total * dm_dtype_size(a->dtype)) == 0;
}

/* ---- small networks through the key mapping ------------------------------ */

/* Fills the weights' bytes with splitmix64's stream from `seed` (Steele et
 * al. 2014): a different value in every element, so that any tensor read
 * from another place shows, at memory speed (these are only compared,
 * never computed with). */
static void fill_bytes(DmWeights *weights, uint64_t seed) {
  const size_t bytes = weights->table.total * dm_dtype_size(weights->dtype);
  uint8_t *data = weights->data;
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t z = (seed += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    memcpy(data + i, &z, MIN((size_t)8, bytes - i));
  }
}

/* `source` written under part `part`'s names (`blocks` for a VAE) and read
 * back with dm_sd_part_load into `target` (the same table, no data): the
 * same bytes, in the same dtype. */
static void check_part(const char *label, const DmWeights *source,
                       DmWeights *target, DmSdPart part,
                       const DmSdBlocks *blocks) {
  GPtrArray *specs = specs_new();
  add_part(specs, source, part, blocks);
  char *path = g_build_filename(temp_root, "part.safetensors", NULL);
  write_specs(path, specs);
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_open_any(path, &error);
  DM_CHECK_OK(st != NULL, error);
  DM_CHECK_OK(dm_sd_part_load(target, st, part, blocks, true, path, &error),
              error);
  const bool ok = same_weights(target, source);
  DM_CHECK(ok, "%s: other bytes after the round trip", label);
  printf("%s %-36s %zu values, %s\n", ok ? "ok  " : "FAIL", label,
         source->table.total, dtype_text(source->dtype));
  dm_safetensors_free(st);
  g_unlink(path);
  g_free(path);
  g_ptr_array_unref(specs);
}

/* A small OpenCLIP text encoder (fused q, k, v rows) and a small VAE (1x1
 * convolutions, levels numbered the other way round). */
static void test_small_parts(void) {
  DmClipTextConfig text_config;
  dm_clip_text_config_default(&text_config);
  text_config.hidden_size = 16;
  text_config.intermediate_size = 24;
  text_config.num_hidden_layers = 2;
  text_config.num_attention_heads = 2;
  text_config.vocab_size = 50;
  DmClipText source, target;
  GError *error = NULL;
  DM_CHECK_OK(dm_clip_text_init(&source, &text_config, &error) &&
                  dm_weights_alloc(&source.weights, DM_DTYPE_BF16, &error) &&
                  dm_clip_text_init(&target, &text_config, &error), error);
  fill_bytes(&source.weights, 21);
  check_part("small OpenCLIP text encoder", &source.weights, &target.weights,
             DM_SD_PART_OPEN_CLIP, NULL);
  dm_clip_text_clear(&target);
  DM_CHECK_OK(dm_clip_text_init(&target, &text_config, &error), error);
  check_part("small CLIP text encoder, old names", &source.weights,
             &target.weights, DM_SD_PART_CLIP_LEGACY, NULL);
  dm_clip_text_clear(&target);
  dm_clip_text_clear(&source);
  DmVaeConfig vae_config;
  dm_vae_config_default(&vae_config);
  vae_config.n_levels = 3;
  const int32_t channels[3] = {8, 16, 16};
  memcpy(vae_config.block_out_channels, channels, sizeof channels);
  vae_config.norm_num_groups = 4;
  vae_config.layers_per_block = 1;
  DmVae vae, loaded;
  DM_CHECK_OK(dm_vae_init(&vae, &vae_config, DM_DTYPE_F32, &error) &&
                  dm_vae_describe(&loaded, &vae_config, &error), error);
  fill_bytes(&vae.weights, 22);
  DmSdBlocks blocks;
  dm_sd_vae_blocks(&blocks, &vae_config);
  check_part("small VAE", &vae.weights, &loaded.weights, DM_SD_PART_VAE,
             &blocks);
  dm_vae_clear(&loaded);
  dm_vae_clear(&vae);
}

/* ---- full size: a single file and a pipeline folder ---------------------- */

/* Loads `path` and checks its networks hold exactly `text` and `vae`. */
static void check_loaded(const char *label, const char *path,
                         const DmClipText *text, const DmVae *vae,
                         DmSdLayout layout) {
  GError *error = NULL;
  DmSdModel *model = dm_sd_model_load(path, NULL, &error);
  DM_CHECK_OK(model != NULL, error);
  const DmSdFamily *family = dm_sd_model_family(model);
  const bool ok = same_weights(&model->text_encoder.weights, &text->weights) &&
                  same_weights(&model->vae.weights, &vae->weights) &&
                  family->layout == layout && family->inpainting &&
                  family->prediction == DM_PREDICT_EPSILON &&
                  family->prediction_source == DM_SD_FROM_SCHEDULER &&
                  family->image_size == 512;
  DM_CHECK(ok, "%s: other weights or family", label);
  printf("%s %-28s %" G_GINT64_FORMAT " parameters, %.1f MiB\n",
         ok ? "ok  " : "FAIL", label, dm_sd_model_param_count(model),
         (double)dm_sd_model_weight_bytes(model) / (1 << 20));
  dm_sd_model_free(model);
}

/* The weights of `version` in `dtype` as a pipeline folder and as a single
 * file inside it (so that it finds its tokenizer and scheduler there) load
 * into the same networks. */
static void test_round_trip(const char *name, DmSdVersion version,
                            DmDtype dtype) {
  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, version);
  DmClipText text;
  GError *error = NULL;
  DM_CHECK_OK(dm_clip_text_init(&text, &text_config, &error) &&
                  dm_weights_alloc(&text.weights, dtype, &error), error);
  fill_bytes(&text.weights, 11);
  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmVae vae;
  DM_CHECK_OK(dm_vae_init(&vae, &vae_config, dtype, &error), error);
  fill_bytes(&vae.weights, 12);
  char *folder = temp_folder(temp_root, name);
  char *single = g_build_filename(folder, "model.safetensors", NULL);
  write_pipeline(folder, version, &text, &vae);
  write_single_file(single, version, &text, &vae);
  char *label = g_strdup_printf("%s pipeline folder", name);
  check_loaded(label, folder, &text, &vae, DM_SD_PIPELINE_FOLDER);
  g_free(label);
  label = g_strdup_printf("%s single file", name);
  check_loaded(label, single, &text, &vae, DM_SD_SINGLE_FILE);
  g_free(label);
  remove_tree(folder);
  g_free(single);
  g_free(folder);
  dm_vae_clear(&vae);
  dm_clip_text_clear(&text);
}

int main(void) {
  vocabulary = find_vocabulary();
  if (!vocabulary) {
    printf("SKIP: no CLIP vocabulary in DM_TEST_SHARED/clip-tokenizer\n");
    return SKIP;
  }
  GError *error = NULL;
  temp_root = g_dir_make_tmp("dm-test-sd-XXXXXX", &error);
  DM_CHECK_OK(temp_root != NULL, error);
  test_small_parts();
  test_round_trip("sd15_inpainting_f16", DM_SD_1, DM_DTYPE_F16);
  remove_tree(temp_root);
  g_free(temp_root);
  g_free(vocabulary);
  return dm_test_finish();
}
