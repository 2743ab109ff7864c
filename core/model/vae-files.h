/* gimp-diffusion core: loading an AutoencoderKL (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A diffusers vae/ folder holds config.json (AutoencoderKL's fields) and
 * diffusion_pytorch_model.safetensors (or its .fp16 variant) with the
 * state dict under diffusers' names (encoder.conv_in.weight,
 * encoder.down_blocks.0.resnets.0.norm1.weight, ...,
 * encoder.mid_block.attentions.0.to_q.weight, quant_conv.weight,
 * post_quant_conv.weight, decoder....). Every tensor the config implies
 * must be there with exactly its shape, and no other. The weights keep the
 * file's dtype (F32, F16 or BF16). */
#ifndef DM_MODEL_VAE_FILES_H
#define DM_MODEL_VAE_FILES_H

#include "model/safetensors.h"
#include "network/vae.h"

/* Fills *vae (cleared on failure) from a vae/ folder. */
bool dm_vae_load_folder(DmVae *vae, const char *folder, GError **error);

/* A VAE for `config` whose weights are the tensors of `st`, checked by
 * name and shape (`label` names `st` in messages). The entry point for
 * other layouts: a single-file checkpoint's loader maps its own names to
 * these first. */
bool dm_vae_from_safetensors(DmVae *vae, const DmVaeConfig *config,
                             const DmSafetensors *st, const char *label,
                             GError **error);

#endif /* DM_MODEL_VAE_FILES_H */
