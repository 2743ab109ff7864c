/* Writes a seed corpus for fuzz-loader into the folder argv[1]: small
 * valid single-file models (F32, F16, BF16; with and without attention, mid
 * block, scheduler config and model card), config.json /
 * scheduler_config.json texts, and a small VAE's weights.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>
#include <string.h>

#include "fuzz-vae.h"
#include "model/model.h"
#include "model/safetensors.h"

static const char *const configs[] = {
    /* one level, no attention, no mid block: about 7k parameters */
    "{\"block_out_channels\": [8], \"down_block_types\": [\"DownBlock2D\"],"
    " \"up_block_types\": [\"UpBlock2D\"], \"mid_block_type\": null,"
    " \"layers_per_block\": 1, \"norm_num_groups\": 4, \"in_channels\": 1,"
    " \"out_channels\": 1}",
    /* two levels with attention everywhere */
    "{\"block_out_channels\": [4, 8], \"down_block_types\": [\"DownBlock2D\","
    " \"AttnDownBlock2D\"], \"up_block_types\": [\"AttnUpBlock2D\","
    " \"UpBlock2D\"], \"layers_per_block\": 1, \"norm_num_groups\": 2,"
    " \"attention_head_dim\": 2, \"in_channels\": 1, \"out_channels\": 2,"
    " \"freq_shift\": 1, \"flip_sin_to_cos\": false, \"downsample_padding\":"
    " 0, \"attn_norm_num_groups\": 1, \"sample_size\": 8}",
    /* two levels, no mid attention, null head dim */
    "{\"block_out_channels\": [4, 4], \"down_block_types\": [\"AttnDownBlock2D\","
    " \"DownBlock2D\"], \"up_block_types\": [\"UpBlock2D\","
    " \"AttnUpBlock2D\"], \"layers_per_block\": 1, \"norm_num_groups\": 2,"
    " \"attention_head_dim\": null, \"add_attention\": false,"
    " \"in_channels\": 1, \"out_channels\": 1}",
};

static const char *const scheduler =
    "{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": "
    "\"squaredcos_cap_v2\", \"num_train_timesteps\": 100, "
    "\"prediction_type\": \"v_prediction\", \"clip_sample\": false, "
    "\"timestep_spacing\": \"trailing\", \"steps_offset\": 1}";

static int write_text(const char *folder, const char *name, const char *text) {
  char *path = g_build_filename(folder, name, NULL);
  GError *error = NULL;
  int status = g_file_set_contents(path, text, -1, &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_free(path);
  return status;
}

/* The model's tensors in `dtype`, with config texts in the metadata. */
static int write_model(const DmModel *model, const char *path, DmDtype dtype,
                       bool with_extras) {
  const DmParams *params = &model->unet.params;
  DmStTensor *tensors = g_new0(DmStTensor, params->count);
  for (int32_t i = 0; i < params->count; i++)
    tensors[i] = (DmStTensor){params->info[i].name, params->info[i].rank,
                              params->info[i].shape,
                              params->data + params->info[i].offset};
  char *config = dm_unet_config_to_json(&model->unet.config);
  const char *metadata[] = {"format", "pt", "dm.config", config,
                            with_extras ? "dm.scheduler_config" : NULL,
                            scheduler, "dm.model_card", "# seed\ncard", NULL};
  GError *error = NULL;
  int status = dm_safetensors_write(path, tensors, params->count, metadata,
                                    dtype, &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_free(config);
  g_free(tensors);
  return status;
}

/* fuzz_vae_config()'s VAE with random weights, as F16. */
static int write_vae(const char *folder) {
  DmVaeConfig config;
  fuzz_vae_config(&config);
  DmVae vae;
  GError *error = NULL;
  if (!dm_vae_init(&vae, &config, DM_DTYPE_F32, &error)) {
    fprintf(stderr, "seed VAE: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  dm_weights_fill_random(&vae.weights, 7);
  const DmParams *table = &vae.weights.table;
  DmStTensor *tensors = g_new(DmStTensor, table->count);
  for (int32_t i = 0; i < table->count; i++)
    tensors[i] = (DmStTensor){table->info[i].name, table->info[i].rank,
                              table->info[i].shape,
                              (const float *)vae.weights.data +
                                  table->info[i].offset};
  char *path = g_build_filename(folder, "vae-f16.safetensors", NULL);
  int status = dm_safetensors_write(path, tensors, table->count, NULL,
                                    DM_DTYPE_F16, &error) ? 0 : 1;
  if (status) fprintf(stderr, "%s\n", error->message);
  g_clear_error(&error);
  g_free(path);
  g_free(tensors);
  dm_vae_clear(&vae);
  return status;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SEED-FOLDER\n", argv[0]);
    return 2;
  }
  const char *folder = argv[1];
  g_mkdir_with_parents(folder, 0755);
  static const char *const dtype_names[] = {"f32", "f16", "bf16"};
  int status = 0;
  for (size_t c = 0; c < G_N_ELEMENTS(configs); c++) {
    DmUnetConfig config;
    GError *error = NULL;
    DmModel *model = NULL;
    if (dm_unet_config_from_json(&config, configs[c], &error))
      model = dm_model_new_random(&config, NULL, 7 + c, &error);
    if (!model) {
      fprintf(stderr, "seed config %zu: %s\n", c, error->message);
      g_error_free(error);
      return 1;
    }
    for (int d = 0; d < DM_DTYPE_COUNT; d++) {
      char *name = g_strdup_printf("model%zu-%s.safetensors", c,
                                   dtype_names[d]);
      char *path = g_build_filename(folder, name, NULL);
      status |= write_model(model, path, (DmDtype)d, d == 0);
      g_free(path);
      g_free(name);
    }
    char *name = g_strdup_printf("config%zu.json", c);
    status |= write_text(folder, name, configs[c]);
    g_free(name);
    dm_model_free(model);
  }
  status |= write_text(folder, "scheduler_config.json", scheduler);
  status |= write_vae(folder);
  return status;
}
