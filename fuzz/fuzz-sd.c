/* libFuzzer target for Stable Diffusion checkpoints (core/model/sd-*):
 * a single file's header parsed with its buffers (I64, ...) listed, the
 * family recognised from its tensors, every tensor of SD's full-size
 * networks looked up under the single file's names and shapes (the key
 * mapping), the file's tensors read into small text encoders (CLIP, old
 * CLIP names, OpenCLIP with fused q, k, v), a small U-Net and a small VAE
 * (1x1 convolutions) through views; and the same input as a model_index.json
 * and a text encoder's config.json.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (see scripts/fuzz-loader).
 * Besides "no crash, no leak, no undefined behaviour, no GLib critical" it
 * aborts when a part reads into weights of a dtype other than the file's
 * F32, F16 or BF16. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-glib.h"
#include "fuzz-sd.h"
#include "model/clip-text-files.h"
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"

/* Reads part `part` of `st` into `weights` (table built). */
static void read_part(DmWeights *weights, const DmSafetensors *st,
                      DmSdPart part, const DmSdBlocks *blocks, bool read) {
  GError *error = NULL;
  if (dm_sd_part_load(weights, st, part, blocks, read, "fuzz", &error) &&
      read && (int)weights->dtype >= DM_DTYPE_COUNT)
    abort();
  g_clear_error(&error);
}

/* The tensors as small networks of every part. */
static void fuzz_small_parts(const DmSafetensors *st) {
  static const DmSdPart text_parts[] = {
      DM_SD_PART_CLIP, DM_SD_PART_CLIP_LEGACY, DM_SD_PART_OPEN_CLIP};
  DmClipTextConfig text_config;
  fuzz_clip_config(&text_config);
  for (size_t i = 0; i < G_N_ELEMENTS(text_parts); i++) {
    DmClipText text;
    if (!dm_clip_text_init(&text, &text_config, NULL)) abort();
    read_part(&text.weights, st, text_parts[i], NULL, true);
    dm_clip_text_clear(&text);
  }
  DmUnetCondConfig unet_config;
  fuzz_unet_config(&unet_config);
  DmUnetCond unet;
  if (!dm_unet_cond_init(&unet, &unet_config, NULL)) abort();
  DmSdBlocks blocks;
  dm_sd_unet_blocks(&blocks, &unet_config);
  read_part(&unet.weights, st, DM_SD_PART_UNET, &blocks, true);
  dm_unet_cond_clear(&unet);
  DmVaeConfig vae_config;
  fuzz_vae_config(&vae_config);
  DmVae vae;
  if (!dm_vae_describe(&vae, &vae_config, NULL)) abort();
  dm_sd_vae_blocks(&blocks, &vae_config);
  read_part(&vae.weights, st, DM_SD_PART_VAE, &blocks, true);
  dm_vae_clear(&vae);
}

/* Recognition, then SD's full-size tables against the file's names and
 * shapes (nothing read: a small input never holds their data). */
static void fuzz_checkpoint(const DmSafetensors *st) {
  DmSdCheckpoint checkpoint;
  GError *error = NULL;
  if (!dm_sd_checkpoint_recognise(&checkpoint, st, "fuzz", &error)) {
    g_clear_error(&error);
    return;
  }
  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, checkpoint.version);
  DmClipText text;
  if (!dm_clip_text_init(&text, &text_config, NULL)) abort();
  read_part(&text.weights, st, checkpoint.text_part, NULL, false);
  dm_clip_text_clear(&text);
  DmUnetCondConfig unet_config;
  dm_sd_unet_config(&unet_config, checkpoint.version, checkpoint.inpainting);
  DmUnetCond unet;
  if (!dm_unet_cond_init(&unet, &unet_config, NULL)) abort();
  DmSdBlocks blocks;
  dm_sd_unet_blocks(&blocks, &unet_config);
  read_part(&unet.weights, st, DM_SD_PART_UNET, &blocks, false);
  dm_unet_cond_clear(&unet);
  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmVae vae;
  if (!dm_vae_describe(&vae, &vae_config, NULL)) abort();
  dm_sd_vae_blocks(&blocks, &vae_config);
  read_part(&vae.weights, st, DM_SD_PART_VAE, &blocks, false);
  dm_vae_clear(&vae);
}

static void fuzz_single_file(const uint8_t *data, size_t size) {
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_parse_any(data, size, "fuzz", &error);
  if (!st) {
    g_clear_error(&error);
    return;
  }
  fuzz_small_parts(st);
  fuzz_checkpoint(st);
  dm_safetensors_free(st);
}

/* The input as a model_index.json and a text encoder's config.json. */
static void fuzz_json(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  GError *error = NULL;
  dm_sd_model_index_check(text, "fuzz", &error);
  g_clear_error(&error);
  DmClipTextConfig config;
  dm_clip_text_config_from_json(&config, text, "fuzz", &error);
  g_clear_error(&error);
  g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  dm_fuzz_abort_on_glib_warnings();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_single_file(data, size);
  fuzz_json(data, size);
  return 0;
}
