/* make-sd-checkpoint: a full-size Stable Diffusion inpainting checkpoint
 * with random weights, in both layouts people download, for benchmarks
 * and hand tests (no real weights are reachable here).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   make-sd-checkpoint FOLDER [--version 1|2] [--dtype f16|bf16|f32]
 *                      [--seed N]
 *
 * Writes FOLDER as a diffusers pipeline folder (model_index.json,
 * text_encoder/, tokenizer/, unet/, vae/, scheduler/) of SD 1.5
 * inpainting (--version 1, the default) or SD 2 inpainting, and the same
 * weights as the single file FOLDER/model.safetensors in the original
 * layout. The weights are dm_weights_fill_random()'s (seed, seed + 1,
 * seed + 2 for the text encoder, U-Net and VAE; tests/refgen/common.py
 * computes the same numbers); F16 by default, as the fp16 files ship.
 * The tokenizer links CLIP's vocabulary from DM_TEST_SHARED/clip-tokenizer
 * (default ../shared) and takes its configs from DM_TEST_DATA (default
 * tests/data), linked by absolute paths: run it from the repository
 * root. About 2.1 GB per layout
 * in F16. */
#include "sd-test.h"

typedef struct {
  const char *folder;
  DmSdVersion version;
  DmDtype dtype;
  uint64_t seed;
} Options;

static void usage(void) {
  fprintf(stderr, "usage: make-sd-checkpoint FOLDER [--version 1|2] "
                  "[--dtype f16|bf16|f32] [--seed N]\n");
  exit(2);
}

static Options parse_options(int argc, char **argv) {
  Options o = {NULL, DM_SD_1, DM_DTYPE_F16, 1};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg[0] != '-') {
      if (o.folder) usage();
      o.folder = arg;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char *value = argv[++i];
    if (strcmp(arg, "--version") == 0 && strcmp(value, "1") == 0)
      o.version = DM_SD_1;
    else if (strcmp(arg, "--version") == 0 && strcmp(value, "2") == 0)
      o.version = DM_SD_2;
    else if (strcmp(arg, "--dtype") == 0 && strcmp(value, "f16") == 0)
      o.dtype = DM_DTYPE_F16;
    else if (strcmp(arg, "--dtype") == 0 && strcmp(value, "bf16") == 0)
      o.dtype = DM_DTYPE_BF16;
    else if (strcmp(arg, "--dtype") == 0 && strcmp(value, "f32") == 0)
      o.dtype = DM_DTYPE_F32;
    else if (strcmp(arg, "--seed") == 0)
      o.seed = g_ascii_strtoull(value, NULL, 10);
    else
      usage();
  }
  if (!o.folder) usage();
  return o;
}

int main(int argc, char **argv) {
  const Options o = parse_options(argc, argv);
  /* The tokenizer's links must hold from the folder written. */
  char *data = dm_test_data_path("");
  char *absolute = g_canonicalize_filename(data, NULL);
  g_setenv("DM_TEST_DATA", absolute, TRUE);
  char *found = find_vocabulary();
  char *vocabulary = found ? g_canonicalize_filename(found, NULL) : NULL;
  g_free(found);
  g_free(absolute);
  g_free(data);
  if (!vocabulary) {
    fprintf(stderr, "make-sd-checkpoint: no CLIP vocabulary in "
                    "DM_TEST_SHARED/clip-tokenizer\n");
    return 1;
  }
  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, o.version);
  DmUnetCondConfig unet_config;
  dm_sd_unet_config(&unet_config, o.version, true);
  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmClipText text;
  DmUnetCond unet;
  DmVae vae;
  GError *error = NULL;
  DM_CHECK_OK(dm_clip_text_init_random(&text, &text_config, o.dtype, o.seed,
                                       &error) &&
                  dm_unet_cond_init_random(&unet, &unet_config, o.dtype,
                                           o.seed + 1, &error) &&
                  dm_vae_init(&vae, &vae_config, o.dtype, &error),
              error);
  dm_weights_fill_random(&vae.weights, o.seed + 2);
  g_mkdir_with_parents(o.folder, 0755);
  char *single = g_build_filename(o.folder, "model.safetensors", NULL);
  write_pipeline(o.folder, o.version, vocabulary, &text, &unet, &vae);
  write_single_file(single, o.version, &text, &unet, &vae);
  printf("wrote %s (pipeline folder) and %s\n", o.folder, single);
  dm_vae_clear(&vae);
  dm_unet_cond_clear(&unet);
  dm_clip_text_clear(&text);
  g_free(single);
  g_free(vocabulary);
  return dm_test_finish();
}
