/* gimp-diffusion core: UNet2DConditionModel configs and weights from files
 * (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A diffusers pipeline's unet/ folder holds config.json (written by
 * diffusers' UNet2DConditionModel) and diffusion_pytorch_model.safetensors
 * (or its .fp16. variant), its tensors named as in network/unet-cond.h. A
 * single-file checkpoint ("model.diffusion_model.input_blocks.1.1.proj_in
 * .weight", ...) builds the same table with dm_unet_cond_init() from the
 * config it implies, and fills it from its tensors under these names. */
#ifndef DM_MODEL_UNET_COND_FILES_H
#define DM_MODEL_UNET_COND_FILES_H

#include "network/unet-cond.h"

/* Fills `config` from a config.json text: diffusers' defaults for absent
 * fields; "_class_name", when present, "UNet2DConditionModel";
 * down_block_types of CrossAttnDownBlock2D and DownBlock2D, up_block_types
 * of CrossAttnUpBlock2D and UpBlock2D, one per block_out_channels entry;
 * mid_block_type UNetMidBlock2DCrossAttn; attention_head_dim one integer
 * or one per level (heads, see DmUnetCondConfig); layers_per_block,
 * transformer_layers_per_block and cross_attention_dim single integers.
 * Features not implemented (class and addition embeddings, encoder
 * projections, fourier or activated time embeddings, dual or
 * cross-only attention, gated attention, other kernels, block types or
 * activations, ...) and unknown fields are refused unless null:
 * DM_ERROR_UNSUPPORTED, or DM_ERROR_FORMAT for a wrong JSON type, naming
 * `label`, the field and the value. Fields that do not change these blocks'
 * output (dropout, sample_size, upcast_attention: arithmetic is float32
 * anyway, and the fields of other block types) are not read. */
bool dm_unet_cond_config_from_json(DmUnetCondConfig *config, const char *text,
                                   const char *label, GError **error);

/* The network of a unet/ folder: config.json, then
 * diffusion_pytorch_model.safetensors (else
 * diffusion_pytorch_model.fp16.safetensors) checked tensor by tensor
 * against the config's table (a missing, extra or mis-shaped tensor is an
 * error naming it) and kept in its dtype. Clear with dm_unet_cond_clear(). */
bool dm_unet_cond_load(DmUnetCond *model, const char *folder, GError **error);

#endif /* DM_MODEL_UNET_COND_FILES_H */
