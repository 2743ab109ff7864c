/* What the tests of Stable Diffusion checkpoints share: safetensors files
 * written from lists of tensors (sparse files of zeros for full-size key
 * sets), the reference key tables as such lists, temporary folders.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_SD_TEST_H
#define DM_SD_TEST_H

#include <unistd.h>

#include <glib/gstdio.h>

#include "dm-test.h"
#include "model/sd-checkpoint.h"

/* One tensor of a file: its bytes are `parts` (part_bytes each, in order)
 * or, when parts[0] is NULL, zeros left as a hole in a sparse file. */
typedef struct {
  char *name;
  const char *dtype;
  int32_t rank;
  int64_t shape[DM_ST_MAX_RANK];
  const void *parts[3];
  size_t part_bytes;
} Spec;

static inline void spec_free(gpointer data) {
  Spec *spec = data;
  g_free(spec->name);
  g_free(spec);
}

static inline GPtrArray *specs_new(void) {
  return g_ptr_array_new_with_free_func(spec_free);
}

static inline Spec *spec_add(GPtrArray *specs, const char *name,
                             const char *dtype, int32_t rank,
                             const int64_t *shape) {
  Spec *spec = g_new0(Spec, 1);
  spec->name = g_strdup(name);
  spec->dtype = dtype;
  spec->rank = rank;
  for (int32_t d = 0; d < rank; d++) spec->shape[d] = shape[d];
  g_ptr_array_add(specs, spec);
  return spec;
}

static inline Spec *spec_find(GPtrArray *specs, const char *name) {
  for (guint i = 0; i < specs->len; i++)
    if (strcmp(((Spec *)specs->pdata[i])->name, name) == 0)
      return specs->pdata[i];
  return NULL;
}

static inline size_t dtype_bytes(const char *dtype) {
  static const struct {
    const char *name;
    size_t bytes;
  } sizes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2},
               {"I64", 8}, {"I32", 4}, {"BOOL", 1}};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    if (strcmp(dtype, sizes[i].name) == 0) return sizes[i].bytes;
  return 0;
}

static inline const char *dtype_text(DmDtype dtype) {
  static const char *const names[DM_DTYPE_COUNT] = {"F32", "F16", "BF16"};
  return names[dtype];
}

static inline size_t spec_bytes(const Spec *spec) {
  size_t bytes = dtype_bytes(spec->dtype);
  for (int32_t d = 0; d < spec->rank; d++) bytes *= (size_t)spec->shape[d];
  return bytes;
}

/* The JSON header of `specs`, padded to a multiple of 8 bytes. */
static inline GString *specs_header(GPtrArray *specs) {
  GString *header = g_string_new("{");
  size_t offset = 0;
  for (guint i = 0; i < specs->len; i++) {
    const Spec *spec = specs->pdata[i];
    g_string_append_printf(header, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                           i ? "," : "", spec->name, spec->dtype);
    for (int32_t d = 0; d < spec->rank; d++)
      g_string_append_printf(header, "%s%" G_GINT64_FORMAT, d ? "," : "",
                             spec->shape[d]);
    g_string_append_printf(header, "],\"data_offsets\":[%zu,%zu]}", offset,
                           offset + spec_bytes(spec));
    offset += spec_bytes(spec);
  }
  g_string_append_c(header, '}');
  while (header->len % 8) g_string_append_c(header, ' ');
  return header;
}

static inline void write_specs(const char *path, GPtrArray *specs) {
  GString *header = specs_header(specs);
  FILE *file = g_fopen(path, "wb");
  DM_CHECK(file != NULL, "cannot create %s", path);
  uint8_t length[8];
  for (int b = 0; b < 8; b++) length[b] = (uint8_t)(header->len >> (8 * b));
  fwrite(length, 1, 8, file);
  fwrite(header->str, 1, header->len, file);
  long end = (long)(8 + header->len);
  for (guint i = 0; i < specs->len; i++) {
    const Spec *spec = specs->pdata[i];
    const size_t bytes = spec_bytes(spec);
    for (size_t k = 0; spec->parts[0] && k * spec->part_bytes < bytes; k++)
      fwrite(spec->parts[k], 1, spec->part_bytes, file);
    end += (long)bytes;
    fseek(file, end, SEEK_SET);
  }
  DM_CHECK(ftruncate(fileno(file), end) == 0 && fclose(file) == 0,
           "cannot write %s", path);
  g_string_free(header, TRUE);
}

static inline void write_text(const char *folder, const char *name,
                              const char *text) {
  char *path = g_build_filename(folder, name, NULL);
  char *parent = g_path_get_dirname(path);
  g_mkdir_with_parents(parent, 0755);
  GError *error = NULL;
  DM_CHECK_OK(g_file_set_contents(path, text, -1, &error), error);
  g_free(parent);
  g_free(path);
}

static inline void remove_tree(const char *path) {
  GDir *dir = g_file_test(path, G_FILE_TEST_IS_SYMLINK)
                  ? NULL : g_dir_open(path, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name(dir));) {
    char *child = g_build_filename(path, name, NULL);
    remove_tree(child);
    g_free(child);
  }
  if (dir) {
    g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static inline char *temp_folder(const char *root, const char *name) {
  char *folder = g_build_filename(root, name, NULL);
  g_mkdir_with_parents(folder, 0755);
  return folder;
}

/* ---- full-size key sets from the reference tables ------------------------ */

/* Every tensor of tests/data/sd/keys/CASE.txt.gz under its original name
 * and shape, in `dtype`, data zeros. */
static inline GPtrArray *reference_specs(const char *name,
                                         const char *dtype) {
  char *relative = g_strdup_printf("sd/keys/%s.txt.gz", name);
  char *path = dm_test_data_path(relative);
  GPtrArray *lines = dm_test_read_gz_lines(path);
  GPtrArray *specs = specs_new();
  for (guint i = 0; i < lines->len; i++) {
    char **fields = g_strsplit(lines->pdata[i], " ", -1);
    char **dims = g_strsplit(fields[2], ",", -1);
    int64_t shape[DM_ST_MAX_RANK] = {0};
    int32_t rank = (int32_t)g_strv_length(dims);
    for (int32_t d = 0; d < rank; d++)
      shape[d] = g_ascii_strtoll(dims[d], NULL, 10);
    if (strcmp(fields[3], "conv1x1") == 0) {
      shape[rank++] = 1;
      shape[rank++] = 1;
    } else if (g_str_has_prefix(fields[3], "rows:")) {
      shape[0] *= 3;
    }
    if (!spec_find(specs, fields[0]))
      spec_add(specs, fields[0], dtype, rank, shape);
    g_strfreev(dims);
    g_strfreev(fields);
  }
  g_ptr_array_unref(lines);
  g_free(path);
  g_free(relative);
  return specs;
}

/* CLIP's vocabulary beside the source tree (DM_TEST_SHARED/clip-tokenizer),
 * or NULL (g_free it). */
static inline char *find_vocabulary(void) {
  const char *shared = g_getenv("DM_TEST_SHARED");
  char *folder = g_build_filename(shared ? shared : "../shared",
                                  "clip-tokenizer", NULL);
  char *vocab = g_build_filename(folder, "vocab.json", NULL);
  const bool found = g_file_test(vocab, G_FILE_TEST_IS_REGULAR);
  g_free(vocab);
  if (!found) g_clear_pointer(&folder, g_free);
  return folder;
}

/* Links vocab.json and merges.txt of the folder `vocabulary` into
 * `folder` (made if needed). */
static inline void link_vocabulary(const char *folder,
                                   const char *vocabulary) {
  g_mkdir_with_parents(folder, 0755);
  const char *const files[] = {"vocab.json", "merges.txt"};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    char *target = g_build_filename(vocabulary, files[i], NULL);
    char *link = g_build_filename(folder, files[i], NULL);
    DM_CHECK(symlink(target, link) == 0, "cannot link %s", link);
    g_free(link);
    g_free(target);
  }
}

/* ---- pipeline folders ---------------------------------------------------- */

/* transformers' config.json of each version's text encoder. */
static const char *const TEXT_CONFIGS[DM_SD_VERSION_COUNT] = {
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": "
    "\"quick_gelu\", \"hidden_size\": 768, \"intermediate_size\": 3072, "
    "\"max_position_embeddings\": 77, \"model_type\": \"clip_text_model\", "
    "\"num_attention_heads\": 12, \"num_hidden_layers\": 12, "
    "\"projection_dim\": 768, \"vocab_size\": 49408}",
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": \"gelu\", "
    "\"hidden_size\": 1024, \"intermediate_size\": 4096, "
    "\"max_position_embeddings\": 77, \"model_type\": \"clip_text_model\", "
    "\"num_attention_heads\": 16, \"num_hidden_layers\": 23, "
    "\"projection_dim\": 512, \"vocab_size\": 49408}"};

static const char *const VAE_CONFIG =
    "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\", "
    "\"block_out_channels\": [128, 256, 512, 512], \"down_block_types\": "
    "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\","
    " \"DownEncoderBlock2D\"], \"in_channels\": 3, \"latent_channels\": 4, "
    "\"layers_per_block\": 2, \"norm_num_groups\": 32, \"out_channels\": 3, "
    "\"sample_size\": 512, \"up_block_types\": [\"UpDecoderBlock2D\", "
    "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}";

/* unet/config.json of SD 1.5 and SD 2 inpainting. */
static const char *const UNET_CONFIGS[DM_SD_VERSION_COUNT] = {
    "{\"_class_name\": \"UNet2DConditionModel\", \"act_fn\": \"silu\", "
    "\"attention_head_dim\": 8, \"block_out_channels\": [320, 640, 1280, "
    "1280], \"center_input_sample\": false, \"cross_attention_dim\": 768, "
    "\"down_block_types\": [\"CrossAttnDownBlock2D\", "
    "\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"DownBlock2D\"], "
    "\"downsample_padding\": 1, \"flip_sin_to_cos\": true, \"freq_shift\": "
    "0, \"in_channels\": 9, \"layers_per_block\": 2, "
    "\"mid_block_scale_factor\": 1, \"norm_eps\": 1e-05, "
    "\"norm_num_groups\": 32, \"out_channels\": 4, \"sample_size\": 64, "
    "\"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", "
    "\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"]}",
    "{\"_class_name\": \"UNet2DConditionModel\", \"act_fn\": \"silu\", "
    "\"attention_head_dim\": [5, 10, 20, 20], \"block_out_channels\": [320, "
    "640, 1280, 1280], \"center_input_sample\": false, "
    "\"cross_attention_dim\": 1024, \"down_block_types\": "
    "[\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", "
    "\"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"downsample_padding\": 1, "
    "\"dual_cross_attention\": false, \"flip_sin_to_cos\": true, "
    "\"freq_shift\": 0, \"in_channels\": 9, \"layers_per_block\": 2, "
    "\"mid_block_scale_factor\": 1, \"norm_eps\": 1e-05, "
    "\"norm_num_groups\": 32, \"num_class_embeds\": null, "
    "\"only_cross_attention\": false, \"out_channels\": 4, "
    "\"sample_size\": 64, \"up_block_types\": [\"UpBlock2D\", "
    "\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", "
    "\"CrossAttnUpBlock2D\"], \"upcast_attention\": false, "
    "\"use_linear_projection\": true}"};

static const char *const SCHEDULER_CONFIG =
    "{\"_class_name\": \"DDIMScheduler\", \"beta_end\": 0.012, "
    "\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, "
    "\"clip_sample\": false, \"num_train_timesteps\": 1000, "
    "\"prediction_type\": \"epsilon\", \"set_alpha_to_one\": false, "
    "\"skip_prk_steps\": true, \"steps_offset\": 1, \"trained_betas\": null}";

static const char *const MODEL_INDEX =
    "{\"_class_name\": \"StableDiffusionInpaintPipeline\", "
    "\"feature_extractor\": [\"transformers\", \"CLIPImageProcessor\"], "
    "\"requires_safety_checker\": true, \"safety_checker\": "
    "[\"stable_diffusion\", \"StableDiffusionSafetyChecker\"], "
    "\"scheduler\": [\"diffusers\", \"DDIMScheduler\"], \"text_encoder\": "
    "[\"transformers\", \"CLIPTextModel\"], \"tokenizer\": "
    "[\"transformers\", \"CLIPTokenizer\"], \"unet\": [\"diffusers\", "
    "\"UNet2DConditionModel\"], \"vae\": [\"diffusers\", "
    "\"AutoencoderKL\"]}";

/* The configs of an SD 1.5 / SD 2 inpainting pipeline folder (no weights,
 * no tokenizer). */
static inline void write_pipeline_configs(const char *folder,
                                          DmSdVersion version) {
  write_text(folder, "model_index.json", MODEL_INDEX);
  write_text(folder, "text_encoder/config.json", TEXT_CONFIGS[version]);
  write_text(folder, "vae/config.json", VAE_CONFIG);
  write_text(folder, "unet/config.json", UNET_CONFIGS[version]);
  write_text(folder, "scheduler/scheduler_config.json", SCHEDULER_CONFIG);
}

/* ---- networks written in both layouts ----------------------------------- */

/* Adds the tensors of `weights` to `specs`: under their own names, or
 * with `keys` under a single file's (q, k and v of a fused tensor as its
 * parts). */
static inline void add_weights(GPtrArray *specs, const DmWeights *weights,
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

static inline void add_part(GPtrArray *specs, const DmWeights *weights,
                            DmSdPart part, const DmSdBlocks *blocks) {
  DmSdKey *keys = NULL;
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_keys_map(&keys, &weights->table, part, blocks, &error),
              error);
  add_weights(specs, weights, keys);
  dm_sd_keys_free(keys, weights->table.count);
}

static inline void write_component(const char *folder, const char *file,
                                   const DmWeights *weights) {
  GPtrArray *specs = specs_new();
  add_weights(specs, weights, NULL);
  char *path = g_build_filename(folder, file, NULL);
  write_specs(path, specs);
  g_free(path);
  g_ptr_array_unref(specs);
}

/* The tokenizer/ folder of a pipeline of `version`: links to CLIP's
 * vocabulary (the folder `vocabulary`) and the version's configs
 * (tests/data/sd/tokenizer). */
static inline void write_tokenizer(const char *folder, DmSdVersion version,
                                   const char *vocabulary) {
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

/* A pipeline folder of the three networks. */
static inline void write_pipeline(const char *folder,
                                  DmSdVersion version,
                                  const char *vocabulary,
                                  const DmClipText *text,
                                  const DmUnetCond *unet, const DmVae *vae) {
  write_pipeline_configs(folder, version);
  write_component(folder, "text_encoder/model.safetensors", &text->weights);
  write_component(folder, "unet/diffusion_pytorch_model.safetensors",
                  &unet->weights);
  write_component(folder, "vae/diffusion_pytorch_model.safetensors",
                  &vae->weights);
  write_tokenizer(folder, version, vocabulary);
}

/* The same networks as one file in the original layout. */
static inline void write_single_file(const char *path,
                                     DmSdVersion version,
                                     const DmClipText *text,
                                     const DmUnetCond *unet,
                                     const DmVae *vae) {
  GPtrArray *specs = specs_new();
  add_part(specs, &text->weights, version == DM_SD_2 ? DM_SD_PART_OPEN_CLIP
                                                     : DM_SD_PART_CLIP,
           NULL);
  DmSdBlocks blocks;
  dm_sd_unet_blocks(&blocks, &unet->config);
  add_part(specs, &unet->weights, DM_SD_PART_UNET, &blocks);
  dm_sd_vae_blocks(&blocks, &vae->config);
  add_part(specs, &vae->weights, DM_SD_PART_VAE, &blocks);
  write_specs(path, specs);
  g_ptr_array_unref(specs);
}

#endif /* DM_SD_TEST_H */
