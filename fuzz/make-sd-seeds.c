/* Writes a seed corpus for fuzz-sd into the folder argv[1]: small single
 * files in the original layout that fuzz-sd recognises (conv_in of 4 or 9
 * channels, the first cross-attention's key at SD 1.x's or 2.x's width,
 * fuzz-sd.h's text encoder under CLIP's, old CLIP's or OpenCLIP's names,
 * fuzz_vae_config's VAE under the first stage's), in F32, F16 and BF16,
 * fuzz_unet_config's U-Net under the single file's names, and a
 * model_index.json and a text encoder config.json.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>

#include "fuzz-sd.h"
#include "model/sd-checkpoint.h"

static const char *const model_index =
    "{\"_class_name\": \"StableDiffusionPipeline\", \"scheduler\": "
    "[\"diffusers\", \"PNDMScheduler\"], \"text_encoder\": [\"transformers\","
    " \"CLIPTextModel\"], \"tokenizer\": [\"transformers\", "
    "\"CLIPTokenizer\"], \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
    " \"vae\": [\"diffusers\", \"AutoencoderKL\"], \"safety_checker\": null}";

static const char *const text_config_json =
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": \"gelu\", "
    "\"hidden_size\": 8, \"intermediate_size\": 12, "
    "\"max_position_embeddings\": 10, \"model_type\": \"clip_text_model\", "
    "\"num_attention_heads\": 2, \"num_hidden_layers\": 2, "
    "\"vocab_size\": 10}";

static int write_text(const char *folder, const char *name, const char *text) {
  char *path = g_build_filename(folder, name, NULL);
  GError *error = NULL;
  int status = g_file_set_contents(path, text, -1, &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_free(path);
  return status;
}

/* Appends the tensors of `weights` (F32) under part `part`'s names (a
 * fused tensor once, its parts' rows in place); `owned` keeps what they
 * point to. */
static void add_part(GArray *tensors, GPtrArray *owned,
                     const DmWeights *weights, DmSdPart part,
                     const DmSdBlocks *blocks) {
  DmSdKey *keys = NULL;
  if (!dm_sd_keys_map(&keys, &weights->table, part, blocks, NULL)) return;
  GHashTable *buffers = g_hash_table_new(g_str_hash, g_str_equal);
  for (int32_t i = 0; i < weights->table.count; i++) {
    const DmParamInfo *info = &weights->table.info[i];
    const DmSdKey *key = &keys[i];
    float *data = g_hash_table_lookup(buffers, key->original);
    if (!data) {
      char *name = g_strdup(key->original);
      int64_t *shape = g_memdup2(key->shape, sizeof key->shape);
      data = g_new0(float, info->numel * key->parts);
      const DmStTensor tensor = {name, key->rank, shape, data};
      g_array_append_val(tensors, tensor);
      g_hash_table_insert(buffers, name, data);
      g_ptr_array_add(owned, name);
      g_ptr_array_add(owned, shape);
      g_ptr_array_add(owned, data);
    }
    memcpy(data + (size_t)key->part * info->numel,
           dm_weights_data(weights, info), info->numel * sizeof(float));
  }
  g_hash_table_destroy(buffers);
  dm_sd_keys_free(keys, weights->table.count);
}

/* The U-Net's two tensors recognition reads: conv_in (1, channels, 1, 1)
 * and the first cross-attention's key (1, width). */
static void add_unet_marks(GArray *tensors, int64_t channels, int64_t width) {
  static const float zeros[1024] = {0};
  static int64_t conv_in[4] = {1, 0, 1, 1}, to_k[2] = {1, 0};
  conv_in[1] = channels;
  to_k[1] = width;
  const DmStTensor marks[2] = {
      {"model.diffusion_model.input_blocks.0.0.weight", 4, conv_in, zeros},
      {"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2"
       ".to_k.weight", 2, to_k, zeros}};
  g_array_append_vals(tensors, marks, 2);
}

/* A recognisable single file with `text`'s weights as `text_part`. */
static int write_single_file(const char *path, DmSdPart text_part,
                             const DmWeights *text, const DmVae *vae,
                             int64_t channels, DmDtype dtype) {
  GArray *tensors = g_array_new(FALSE, FALSE, sizeof(DmStTensor));
  GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
  add_part(tensors, owned, text, text_part, NULL);
  DmSdBlocks blocks;
  dm_sd_vae_blocks(&blocks, &vae->config);
  add_part(tensors, owned, &vae->weights, DM_SD_PART_VAE, &blocks);
  add_unet_marks(tensors, channels,
                 text_part == DM_SD_PART_OPEN_CLIP ? 1024 : 768);
  GError *error = NULL;
  int status = dm_safetensors_write(path, (const DmStTensor *)tensors->data,
                                    (int32_t)tensors->len, NULL, dtype,
                                    &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_ptr_array_unref(owned);
  g_array_free(tensors, TRUE);
  return status;
}

/* fuzz_unet_config's U-Net under the single file's names, F16. */
static int write_small_unet(const char *folder) {
  DmUnetCondConfig config;
  fuzz_unet_config(&config);
  DmUnetCond unet;
  GError *error = NULL;
  if (!dm_unet_cond_init_random(&unet, &config, DM_DTYPE_F32, 8, &error)) {
    fprintf(stderr, "seed U-Net: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  GArray *tensors = g_array_new(FALSE, FALSE, sizeof(DmStTensor));
  GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
  DmSdBlocks blocks;
  dm_sd_unet_blocks(&blocks, &config);
  add_part(tensors, owned, &unet.weights, DM_SD_PART_UNET, &blocks);
  char *path = g_build_filename(folder, "unet-f16.safetensors", NULL);
  int status = dm_safetensors_write(path, (const DmStTensor *)tensors->data,
                                    (int32_t)tensors->len, NULL,
                                    DM_DTYPE_F16, &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_free(path);
  g_ptr_array_unref(owned);
  g_array_free(tensors, TRUE);
  dm_unet_cond_clear(&unet);
  return status;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SEED-FOLDER\n", argv[0]);
    return 2;
  }
  const char *folder = argv[1];
  g_mkdir_with_parents(folder, 0755);
  DmClipTextConfig text_config;
  fuzz_clip_config(&text_config);
  DmVaeConfig vae_config;
  fuzz_vae_config(&vae_config);
  DmClipText text;
  DmVae vae;
  GError *error = NULL;
  if (!dm_clip_text_init_random(&text, &text_config, DM_DTYPE_F32, 5,
                                &error) ||
      !dm_vae_init(&vae, &vae_config, DM_DTYPE_F32, &error)) {
    fprintf(stderr, "seed networks: %s\n", error->message);
    return 1;
  }
  dm_weights_fill_random(&vae.weights, 6);
  static const struct {
    const char *name;
    DmSdPart part;
    int64_t channels;
    DmDtype dtype;
  } seeds[] = {
      {"sd1-inpainting-f16.safetensors", DM_SD_PART_CLIP, 9, DM_DTYPE_F16},
      {"sd1-legacy-f32.safetensors", DM_SD_PART_CLIP_LEGACY, 4,
       DM_DTYPE_F32},
      {"sd2-bf16.safetensors", DM_SD_PART_OPEN_CLIP, 4, DM_DTYPE_BF16},
  };
  int status = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
    char *path = g_build_filename(folder, seeds[i].name, NULL);
    status |= write_single_file(path, seeds[i].part, &text.weights, &vae,
                                seeds[i].channels, seeds[i].dtype);
    g_free(path);
  }
  status |= write_small_unet(folder);
  status |= write_text(folder, "model_index.json", model_index);
  status |= write_text(folder, "text_config.json", text_config_json);
  dm_vae_clear(&vae);
  dm_clip_text_clear(&text);
  return status;
}
