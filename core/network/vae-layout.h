/* gimp-diffusion core: where each AutoencoderKL layer finds its tensors
 * (internal; built by vae.c, read by vae-forward.c).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_NETWORK_VAE_LAYOUT_H
#define DM_NETWORK_VAE_LAYOUT_H

#include "network/vae.h"

/* A module's first tensor in the weights' table: its weight, followed by
 * its bias (a conv, a linear map or a norm); -1 when the network has no
 * such module. */
typedef int32_t VaeModule;

/* diffusers ResnetBlock2D without a time embedding. */
typedef struct {
  int32_t c_in, c_out;
  VaeModule norm1, conv1, norm2, conv2;
  VaeModule conv_shortcut; /* 1x1, only when c_in != c_out */
} VaeResnet;

/* diffusers Attention on an image, one head: group_norm, to_q, to_k, to_v
 * and to_out.0, ten tensors from `first`. */
#define DM_VAE_ATTENTION_TENSORS 10

typedef struct {
  int32_t n_resnets;
  VaeResnet resnets[DM_VAE_MAX_LAYERS_PER_BLOCK + 1];
  VaeModule resample; /* downsamplers.0.conv or upsamplers.0.conv */
} VaeBlock;

/* The encoder or the decoder: the same stages in another order. */
typedef struct {
  bool is_decoder; /* mid block before the blocks, which upsample */
  int32_t c_in, c_out; /* conv_in's input, conv_out's output channels */
  int32_t c_first, c_last; /* conv_in's output, norm_out's channels */
  VaeModule conv_in;
  VaeBlock blocks[DM_MAX_LEVELS];
  int32_t mid_channels;
  VaeResnet mid[2];
  VaeModule mid_attention; /* DM_VAE_ATTENTION_TENSORS tensors, or -1 */
  VaeModule norm_out, conv_out;
} VaeCoder;

struct DmVaeLayout {
  VaeCoder encoder, decoder;
  VaeModule quant_conv, post_quant_conv; /* 1x1 convs, or -1 */
  /* Floats that hold the float32 copies of one module's tensors when the
   * weights are F16 or BF16 (the largest module). */
  size_t scratch;
};

#endif /* DM_NETWORK_VAE_LAYOUT_H */
