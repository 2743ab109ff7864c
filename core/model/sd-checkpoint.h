/* gimp-diffusion core: what a Stable Diffusion single-file checkpoint is,
 * told by its tensors, and its networks read under diffusers' names
 * (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Recognition (dm.h, "Stable Diffusion checkpoints"): first every tensor
 * name is looked up in a table of other families' marks (SDXL's
 * conditioner.embedders and label_emb, SD3's joint_blocks, Flux's
 * double_blocks, LoRA and LyCORIS factors, textual inversions, ControlNet
 * parts, diffusers' own names, a VAE alone, ...), the first mark found
 * refusing the file with what it is; then the U-Net's conv_in
 * (model.diffusion_model.input_blocks.0.0.weight, its input channels: 4,
 * or 9 for inpainting), the text encoder's layout (cond_stage_model
 * .transformer. OpenAI CLIP: 1.x; cond_stage_model.model. OpenCLIP: 2.x)
 * and the width of the text states the U-Net attends to (its first attn2
 * .to_k, 768 or 1024), which must agree. The networks' configs are then
 * those of the version (a single file carries none), and every tensor is
 * checked against their tables by name and shape (sd-keys.h). */
#ifndef DM_MODEL_SD_CHECKPOINT_H
#define DM_MODEL_SD_CHECKPOINT_H

#include "model/sd-keys.h"
#include "network/clip-text.h"
#include "network/unet-cond.h"
#include "network/vae.h"

/* What a single file's tensors say. */
typedef struct {
  DmSdVersion version;
  bool inpainting;
  DmSdPart text_part; /* DM_SD_PART_CLIP, _CLIP_LEGACY or _OPEN_CLIP */
} DmSdCheckpoint;

/* Recognises `st` (`label` names it in messages). DM_ERROR_UNSUPPORTED
 * naming what the file is, and the tensor that tells, when it is not SD
 * 1.x/2.x; DM_ERROR_FORMAT when its parts disagree. */
bool dm_sd_checkpoint_recognise(DmSdCheckpoint *checkpoint,
                                const DmSafetensors *st, const char *label,
                                GError **error);

/* The text encoder of `version`: transformers' CLIPTextConfig of OpenAI
 * CLIP ViT-L/14's text side (1.x), of the 23 layers of OpenCLIP ViT-H/14
 * that SD 2.x uses (2.x). */
void dm_sd_text_config(DmClipTextConfig *config, DmSdVersion version);
/* The U-Net of `version`, with 9 input channels when `inpainting`:
 * diffusers' unet/config.json of SD 1.x (8 heads, 1x1-convolution
 * projections, 768-wide text) or of SD 2.x (heads of 64 channels: 5, 10,
 * 20, 20; linear projections; 1024-wide text). */
void dm_sd_unet_config(DmUnetCondConfig *config, DmSdVersion version,
                       bool inpainting);
/* The block numbering of a U-Net of `config` and of a VAE of `config`. */
void dm_sd_unet_blocks(DmSdBlocks *blocks, const DmUnetCondConfig *config);
void dm_sd_vae_blocks(DmSdBlocks *blocks, const DmVaeConfig *config);

/* Reads part `part` of `st` into `weights` (its table built, data NULL),
 * in the file's dtype, after checking every tensor by name and shape and
 * that the part holds nothing else (sd-keys.h); with `read` false only
 * checks. `label` names the file in messages. */
bool dm_sd_part_load(DmWeights *weights, const DmSafetensors *st,
                     DmSdPart part, const DmSdBlocks *blocks, bool read,
                     const char *label, GError **error);

#endif /* DM_MODEL_SD_CHECKPOINT_H */
