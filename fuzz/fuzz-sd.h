/* The small networks fuzz-sd reads a file's tensors into under a single
 * file's names, and make-sd-seeds writes seeds of.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_FUZZ_SD_H
#define DM_FUZZ_SD_H

#include "fuzz-vae.h"
#include "network/clip-text.h"
#include "network/unet-cond.h"

/* A text encoder of 2 layers, 8 wide, 2 heads, 10 tokens and positions:
 * 44 tensors, 1048 values. */
static inline void fuzz_clip_config(DmClipTextConfig *config) {
  dm_clip_text_config_default(config);
  config->vocab_size = 10;
  config->max_position_embeddings = 10;
  config->hidden_size = 8;
  config->intermediate_size = 12;
  config->num_hidden_layers = 2;
  config->num_attention_heads = 2;
}

/* A U-Net of two levels of 8 channels (cross-attention at the first down
 * and the last up level), one resnet a level, 2 heads, 4-wide text. */
static inline void fuzz_unet_config(DmUnetCondConfig *config) {
  dm_unet_cond_config_default(config);
  config->n_levels = 2;
  config->layers_per_block = 1;
  config->norm_num_groups = 2;
  config->cross_attention_dim = 4;
  config->time_embedding_dim = 32;
  for (int32_t i = 0; i < 2; i++) {
    config->block_out_channels[i] = 8;
    config->down_cross_attention[i] = i == 0;
    config->up_cross_attention[i] = i == 1;
    config->heads[i] = 2;
  }
}

#endif /* DM_FUZZ_SD_H */
