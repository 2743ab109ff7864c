/* make-sd-checkpoint: a full-size Stable Diffusion inpainting checkpoint
 * with random weights, in both layouts people download, for benchmarks
 * and hand tests (no real weights are reachable here).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   make-sd-checkpoint FOLDER [--version 1|2] [--dtype f16|bf16|f32]
 *                      [--seed N] [--tiny inpaint|plain]
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
 * in F16.
 *
 * --tiny writes instead a pipeline folder of SD 1.x's layout small enough
 * for tests (no single file: a single file's shapes are SD's own): a text
 * encoder of one 768-wide layer (the width a U-Net of SD 1.x attends to),
 * a U-Net of two 8-channel levels reading 9 channels (inpaint) or 4
 * (plain) at 64 x 64 pixels, a VAE of four 4-channel levels; about 76 MB
 * in F16, nearly all the token embedding. */
#include "sd-test.h"
#include "model/clip-text-files.h"
#include "model/unet-cond-files.h"

typedef struct {
  const char *folder;
  DmSdVersion version;
  DmDtype dtype;
  uint64_t seed;
  int32_t tiny_channels; /* --tiny: the U-Net's input channels; 0: full */
} Options;

static void usage(void) {
  fprintf(stderr, "usage: make-sd-checkpoint FOLDER [--version 1|2] "
                  "[--dtype f16|bf16|f32] [--seed N] "
                  "[--tiny inpaint|plain]\n");
  exit(2);
}

static Options parse_options(int argc, char **argv) {
  Options o = {NULL, DM_SD_1, DM_DTYPE_F16, 1, 0};
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
    else if (strcmp(arg, "--tiny") == 0 && strcmp(value, "inpaint") == 0)
      o.tiny_channels = 9;
    else if (strcmp(arg, "--tiny") == 0 && strcmp(value, "plain") == 0)
      o.tiny_channels = 4;
    else if (strcmp(arg, "--seed") == 0)
      o.seed = g_ascii_strtoull(value, NULL, 10);
    else
      usage();
  }
  if (!o.folder) usage();
  return o;
}

/* ---- --tiny ------------------------------------------------------------ */

static const char *const TINY_TEXT_CONFIG =
    "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\": "
    "\"quick_gelu\", \"hidden_size\": 768, \"intermediate_size\": 32, "
    "\"max_position_embeddings\": 77, \"model_type\": \"clip_text_model\", "
    "\"num_attention_heads\": 12, \"num_hidden_layers\": 1, "
    "\"vocab_size\": 49408}";

/* printf format: the input channels. */
static const char *const TINY_UNET_CONFIG =
    "{\"_class_name\": \"UNet2DConditionModel\", \"act_fn\": \"silu\", "
    "\"attention_head_dim\": 2, \"block_out_channels\": [8, 8], "
    "\"center_input_sample\": false, \"cross_attention_dim\": 768, "
    "\"down_block_types\": [\"CrossAttnDownBlock2D\", \"DownBlock2D\"], "
    "\"downsample_padding\": 1, \"flip_sin_to_cos\": true, \"freq_shift\": "
    "0, \"in_channels\": %d, \"layers_per_block\": 1, "
    "\"mid_block_scale_factor\": 1, \"norm_eps\": 1e-05, "
    "\"norm_num_groups\": 2, \"out_channels\": 4, \"sample_size\": 8, "
    "\"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\"]}";

static const char *const TINY_VAE_CONFIG =
    "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\", "
    "\"block_out_channels\": [4, 4, 4, 4], \"down_block_types\": "
    "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\","
    " \"DownEncoderBlock2D\"], \"in_channels\": 3, \"latent_channels\": 4, "
    "\"layers_per_block\": 1, \"norm_num_groups\": 2, \"out_channels\": 3, "
    "\"sample_size\": 64, \"scaling_factor\": 0.18215, \"up_block_types\": "
    "[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", "
    "\"UpDecoderBlock2D\"]}";

/* The tiny pipeline folder (--tiny): its configs are written, then read
 * back by core's own parsers, so the networks are what loading expects. */
static void write_tiny(const Options *o, const char *vocabulary) {
  char *unet_json = g_strdup_printf(TINY_UNET_CONFIG, o->tiny_channels);
  write_pipeline_configs(o->folder, DM_SD_1);
  write_text(o->folder, "text_encoder/config.json", TINY_TEXT_CONFIG);
  write_text(o->folder, "unet/config.json", unet_json);
  write_text(o->folder, "vae/config.json", TINY_VAE_CONFIG);
  DmClipTextConfig text_config;
  DmUnetCondConfig unet_config;
  DmVaeConfig vae_config;
  DmClipText text;
  DmUnetCond unet;
  DmVae vae;
  GError *error = NULL;
  DM_CHECK_OK(
      dm_clip_text_config_from_json(&text_config, TINY_TEXT_CONFIG, "text",
                                    &error) &&
          dm_unet_cond_config_from_json(&unet_config, unet_json, "unet",
                                        &error) &&
          dm_vae_config_from_json(&vae_config, TINY_VAE_CONFIG, "vae",
                                  &error) &&
          dm_clip_text_init_random(&text, &text_config, o->dtype, o->seed,
                                   &error) &&
          dm_unet_cond_init_random(&unet, &unet_config, o->dtype,
                                   o->seed + 1, &error) &&
          dm_vae_init(&vae, &vae_config, o->dtype, &error),
      error);
  dm_weights_fill_random(&vae.weights, o->seed + 2);
  write_component(o->folder, "text_encoder/model.safetensors",
                  &text.weights);
  write_component(o->folder, "unet/diffusion_pytorch_model.safetensors",
                  &unet.weights);
  write_component(o->folder, "vae/diffusion_pytorch_model.safetensors",
                  &vae.weights);
  write_tokenizer(o->folder, DM_SD_1, vocabulary);
  printf("wrote %s (tiny pipeline folder)\n", o->folder);
  dm_vae_clear(&vae);
  dm_unet_cond_clear(&unet);
  dm_clip_text_clear(&text);
  g_free(unet_json);
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
  if (o.tiny_channels) {
    g_mkdir_with_parents(o.folder, 0755);
    write_tiny(&o, vocabulary);
    g_free(vocabulary);
    return dm_test_finish();
  }
  DmClipText text;
  DmUnetCond unet;
  DmVae vae;
  init_sd_networks(o.version, o.dtype, &text, &unet, &vae);
  dm_weights_fill_random(&text.weights, o.seed);
  dm_weights_fill_random(&unet.weights, o.seed + 1);
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
