/* gimp-diffusion core: where each UNet2DModel layer keeps its parameters
 * (internal; built by unet.c, read by the forward and backward passes).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_NETWORK_UNET_LAYOUT_H
#define DM_NETWORK_UNET_LAYOUT_H

#include "network/unet.h"

#define DM_MAX_BLOCK_LAYERS (DM_MAX_LAYERS_PER_BLOCK + 1) /* up blocks */

typedef DmParamPair ParamPair; /* offsets into DmParams.data */

typedef struct {
  int32_t c_in, c_out, groups;
  float eps, output_scale;
  bool has_shortcut; /* 1x1 conv_shortcut when c_in != c_out */
  ParamPair norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut;
} ResnetLayout;

typedef struct {
  int32_t channels, heads, groups;
  float eps, rescale;
  ParamPair group_norm, to_q, to_k, to_v, to_out;
} AttentionLayout;

typedef struct {
  int32_t n_resnets;
  ResnetLayout resnets[DM_MAX_BLOCK_LAYERS];
  bool has_attention;
  AttentionLayout attentions[DM_MAX_BLOCK_LAYERS];
  bool has_resample; /* downsamplers.0.conv or upsamplers.0.conv */
  ParamPair resample;
  /* Up blocks: channels of the skip tensor that resnet j's input ends
   * with (its input is [hidden | skip]). */
  int32_t skip_channels[DM_MAX_BLOCK_LAYERS];
} BlockLayout;

struct DmUnetLayout {
  int32_t time_dim, temb_dim; /* sinusoid width C0, MLP width 4 * C0 */
  ParamPair conv_in, time_linear_1, time_linear_2, conv_norm_out, conv_out;
  BlockLayout down[DM_MAX_LEVELS], up[DM_MAX_LEVELS];
  ResnetLayout mid_resnets[2];
  bool mid_has_attention;
  AttentionLayout mid_attention;
};

#endif /* DM_NETWORK_UNET_LAYOUT_H */
