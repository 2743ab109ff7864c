/* Stable Diffusion checkpoints, both layouts: small networks of every
 * part written under a single file's names (OpenCLIP's fused q, k, v, old
 * CLIP names, the VAE's 1x1 convolutions) read back into the same bytes;
 * and full-size SD 1.5-inpainting (text encoder, U-Net and VAE, random
 * F16 weights) written as a diffusers pipeline folder and as a single
 * file in the original layout load, each within 3 GiB, into the same
 * bytes in F16 and compute the same text states, U-Net output and decoded
 * image. CLIP's vocabulary comes from DM_TEST_SHARED
 * (../shared/clip-tokenizer); the test is skipped (77) without it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"
#include "sd-test.h"

#define SKIP 77

static char *temp_root;  /* removed at the end */
static char *vocabulary; /* CLIP's vocab.json and merges.txt */

static bool same_weights(const DmWeights *a, const DmWeights *b) {
  return a->dtype == b->dtype && a->table.total == b->table.total &&
         memcmp(a->data, b->data,
                a->table.total * dm_dtype_size(a->dtype)) == 0;
}

/* ---- small networks through the key mapping ------------------------------ */

/* splitmix64's next value (Steele et al. 2014). */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Fills the weights' bytes with splitmix64's stream from `seed`: a
 * different value in every element, so that any tensor read from another
 * place shows, at memory speed. With `finite` (F16 weights only) each
 * element keeps its random sign and mantissa with the exponent of 2^-7:
 * values of magnitude 0.008 to 0.016 that the networks can run on. */
static void fill_bytes(DmWeights *weights, uint64_t seed, bool finite) {
  const size_t bytes = weights->table.total * dm_dtype_size(weights->dtype);
  uint8_t *data = weights->data;
  const uint64_t keep = UINT64_C(0x83FF83FF83FF83FF);
  const uint64_t exponent = UINT64_C(0x2000200020002000);
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t z = splitmix64(&seed);
    if (finite) z = (z & keep) | exponent;
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
  fill_bytes(&source.weights, 21, false);
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
  fill_bytes(&vae.weights, 22, false);
  DmSdBlocks blocks;
  dm_sd_vae_blocks(&blocks, &vae_config);
  check_part("small VAE", &vae.weights, &loaded.weights, DM_SD_PART_VAE,
             &blocks);
  dm_vae_clear(&loaded);
  dm_vae_clear(&vae);
}

/* ---- full size: a single file and a pipeline folder ---------------------- */

/* A 64-bit FNV-1a hash of the weights' bytes, with their dtype and
 * count. */
static uint64_t weights_hash(const DmWeights *weights) {
  uint64_t hash = UINT64_C(0xCBF29CE484222325) ^ (uint64_t)weights->dtype;
  const size_t bytes = weights->table.total * dm_dtype_size(weights->dtype);
  const uint64_t *words = weights->data;
  for (size_t i = 0; i < bytes / 8; i++)
    hash = (hash ^ words[i]) * UINT64_C(0x100000001B3);
  return hash ^ bytes;
}

static void model_hashes(uint64_t hashes[3], const DmWeights *text,
                         const DmWeights *unet, const DmWeights *vae) {
  hashes[0] = weights_hash(text);
  hashes[1] = weights_hash(unet);
  hashes[2] = weights_hash(vae);
}

/* Peak memory from here on: Linux's VmHWM, reset by clear_refs 5. */
static bool reset_peak_memory(void) {
  FILE *file = fopen("/proc/self/clear_refs", "w");
  bool ok = file && fputs("5", file) >= 0;
  if (file) ok = fclose(file) == 0 && ok;
  return ok;
}

static double peak_memory_gib(void) {
  char *status = NULL;
  if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *line = strstr(status, "VmHWM:");
  const double kib = line ? g_ascii_strtod(line + 6, NULL) : -1;
  g_free(status);
  return kib / (1024.0 * 1024.0);
}

/* What the loaded networks make of one prompt and one 8x8 latent: text
 * states (77 x width), the U-Net's output (4 x 8 x 8) at t = 500, and the
 * VAE's decoding of that output (3 x 64 x 64), one after the other. */
static float *run_networks(const DmSdModel *model, size_t *count) {
  const int32_t width = model->text_encoder.config.hidden_size;
  const size_t text = 77 * (size_t)width, eps = 4 * 64, image = 3 * 4096;
  float *out = g_new(float, text + eps + image);
  float *sample = dm_test_random_floats(9 * 64, 1.0f, 31);
  const float timestep = 500.0f;
  int32_t ids[77];
  GError *error = NULL;
  DmTensor *latent = dm_tensor_new(1, 4, 8, 8, &error);
  DmTensor *decoded = dm_tensor_new(1, 3, 64, 64, &error);
  DM_CHECK_OK(latent && decoded &&
                  dm_clip_tokenizer_encode(model->tokenizer,
                                           "a photo of a cat", ids, NULL,
                                           &error) &&
                  dm_clip_text_forward(&model->text_encoder, out, ids, 1, 77,
                                       0, &error) &&
                  dm_unet_cond_forward(&model->unet, out + text, sample, 1,
                                       8, 8, &timestep, out, 77, &error),
              error);
  memcpy(latent->data, out + text, eps * sizeof(float));
  DM_CHECK_OK(dm_vae_decode(&model->vae, decoded, latent, &error), error);
  memcpy(out + text + eps, decoded->data, image * sizeof(float));
  dm_tensor_free(decoded);
  dm_tensor_free(latent);
  g_free(sample);
  *count = text + eps + image;
  return out;
}

/* Loads `path`: its weights must hash as `hashes`, its family be the SD
 * 1.5-inpainting pipeline's, and loading take at most 3 GiB. Returns what
 * its networks compute (g_free it). */
static float *check_loaded(const char *label, const char *path,
                           const uint64_t hashes[3], DmSdLayout layout,
                           size_t *count) {
  const bool measured = reset_peak_memory();
  GError *error = NULL;
  DmSdModel *model = dm_sd_model_load(path, NULL, &error);
  DM_CHECK_OK(model != NULL, error);
  const double peak = peak_memory_gib();
  uint64_t loaded[3];
  model_hashes(loaded, &model->text_encoder.weights, &model->unet.weights,
               &model->vae.weights);
  const DmSdFamily *family = dm_sd_model_family(model);
  const bool ok = memcmp(loaded, hashes, sizeof loaded) == 0 &&
                  model->unet.weights.dtype == DM_DTYPE_F16 &&
                  family->layout == layout && family->inpainting &&
                  family->prediction == DM_PREDICT_EPSILON &&
                  family->prediction_source == DM_SD_FROM_SCHEDULER &&
                  family->image_size == 512;
  DM_CHECK(ok, "%s: other weights or family", label);
  DM_CHECK(!measured || peak <= 3.0, "%s: loading took %.2f GiB", label,
           peak);
  printf("%s %-28s %" G_GINT64_FORMAT " parameters, %.2f GiB of weights, "
         "peak memory %.2f GiB%s\n", ok ? "ok  " : "FAIL", label,
         dm_sd_model_param_count(model),
         (double)dm_sd_model_weight_bytes(model) / (1 << 30), peak,
         measured ? "" : " (not measured)");
  float *out = run_networks(model, count);
  dm_sd_model_free(model);
  return out;
}

/* F16 weights of SD 1.5-inpainting (fill_bytes) as a pipeline folder and
 * as a single file inside it (so that it finds its tokenizer and scheduler
 * there) load into the same bytes and compute the same text states,
 * U-Net output and decoded image, bit for bit. The source is freed first,
 * so that each load's peak memory is its own. */
static void test_round_trip(void) {
  const char *name = "sd15_inpainting_f16";
  const DmSdVersion version = DM_SD_1;
  const DmDtype dtype = DM_DTYPE_F16;
  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, version);
  DmUnetCondConfig unet_config;
  dm_sd_unet_config(&unet_config, version, true);
  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmClipText text;
  DmUnetCond unet;
  DmVae vae;
  GError *error = NULL;
  DM_CHECK_OK(dm_clip_text_init(&text, &text_config, &error) &&
                  dm_weights_alloc(&text.weights, dtype, &error) &&
                  dm_unet_cond_init(&unet, &unet_config, &error) &&
                  dm_weights_alloc(&unet.weights, dtype, &error) &&
                  dm_vae_init(&vae, &vae_config, dtype, &error), error);
  fill_bytes(&text.weights, 11, true);
  fill_bytes(&unet.weights, 12, true);
  fill_bytes(&vae.weights, 13, true);
  char *folder = temp_folder(temp_root, name);
  char *single = g_build_filename(folder, "model.safetensors", NULL);
  write_pipeline(folder, version, vocabulary, &text, &unet, &vae);
  write_single_file(single, version, &text, &unet, &vae);
  uint64_t hashes[3];
  model_hashes(hashes, &text.weights, &unet.weights, &vae.weights);
  dm_vae_clear(&vae);
  dm_unet_cond_clear(&unet);
  dm_clip_text_clear(&text);
  size_t count = 0;
  float *from_file = check_loaded("SD 1.5 inpainting single file", single,
                                  hashes, DM_SD_SINGLE_FILE, &count);
  float *from_folder = check_loaded("SD 1.5 inpainting pipeline", folder,
                                    hashes, DM_SD_PIPELINE_FOLDER, &count);
  const bool same = memcmp(from_file, from_folder,
                           count * sizeof(float)) == 0;
  DM_CHECK(same, "the two loads compute different outputs");
  printf("%s %-28s text states, U-Net output, decoded image: %s\n",
         same ? "ok  " : "FAIL", "the same outputs",
         same ? "bit for bit" : "differ");
  g_free(from_folder);
  g_free(from_file);
  remove_tree(folder);
  g_free(single);
  g_free(folder);
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
  test_round_trip();
  remove_tree(temp_root);
  g_free(temp_root);
  g_free(vocabulary);
  return dm_test_finish();
}
