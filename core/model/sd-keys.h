/* gimp-diffusion core: the tensor names of a Stable Diffusion single-file
 * checkpoint (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A single-file checkpoint (.safetensors) holds the state dict of the
 * original latent-diffusion code (CompVis/Stability's LatentDiffusion
 * class), not diffusers' names. Its three networks sit under three
 * prefixes:
 *
 *   model.diffusion_model.   the U-Net (openaimodel.py's UNetModel):
 *       time_embed.0/2                 time_embedding.linear_1/2
 *       input_blocks.0.0               conv_in
 *       input_blocks.(L+1)i+j+1.0      down_blocks.i.resnets.j
 *       input_blocks.(L+1)i+j+1.1      down_blocks.i.attentions.j
 *       input_blocks.(L+1)(i+1).0.op   down_blocks.i.downsamplers.0.conv
 *       middle_block.0 / .1 / .2       mid_block.resnets.0 / attentions.0
 *                                      / resnets.1
 *       output_blocks.(L+1)i+j.0       up_blocks.i.resnets.j
 *       output_blocks.(L+1)i+j.1       up_blocks.i.attentions.j
 *       output_blocks.(L+1)i+L.K.conv  up_blocks.i.upsamplers.0.conv, K = 2
 *                                      after a transformer, else 1
 *       out.0 / out.2                  conv_norm_out / conv_out
 *     (L = layers_per_block) and in a resnet in_layers.0 / in_layers.2 /
 *     emb_layers.1 / out_layers.0 / out_layers.3 / skip_connection for
 *     norm1 / conv1 / time_emb_proj / norm2 / conv2 / conv_shortcut; a
 *     transformer's names are diffusers' own.
 *   first_stage_model.       the VAE (ldm's AutoencoderKL), encoder. and
 *     decoder.: down.i.block.j / down.i.downsample for down_blocks.i
 *     .resnets.j / .downsamplers.0; up.(n-1-i).block.j / .upsample for
 *     up_blocks.i (numbered the other way round, n levels); mid.block_1,
 *     mid.attn_1, mid.block_2; norm_out for conv_norm_out; nin_shortcut
 *     for conv_shortcut; in the mid attention norm, q, k, v, proj_out for
 *     group_norm, to_q, to_k, to_v, to_out.0, the four weights stored as
 *     1x1 convolutions (C, C, 1, 1) of diffusers' linears (C, C).
 *   cond_stage_model.        the text encoder:
 *     SD 1.x  transformer.text_model. + transformers' CLIPTextModel names
 *             (files saved with older transformers leave out
 *             "text_model.": transformer.embeddings..., .encoder...);
 *     SD 2.x  model. + OpenCLIP's names: token_embedding.weight,
 *             positional_embedding, ln_final, transformer.resblocks.i.
 *             {ln_1, ln_2, attn.out_proj, mlp.c_fc, mlp.c_proj} for
 *             layers.i.{layer_norm1, layer_norm2, self_attn.out_proj,
 *             mlp.fc1, mlp.fc2}, and attn.in_proj_weight (3 C, C) /
 *             in_proj_bias (3 C): q_proj, k_proj and v_proj's rows one
 *             after the other.
 *
 * Tensors are F32, F16 or BF16; a checkpoint also carries buffers we do
 * not read (the noise schedule's tables, model_ema.*, position_ids, SD
 * 2.x's 24th text layer that its pipelines skip, text_projection,
 * logit_scale, an autoencoder's training loss; see
 * dm_sd_keys_check_unused). Of a file with both, the weights are
 * model.diffusion_model's, not model_ema's (as diffusers reads them).
 *
 * The rules are data: one table of prefix renames per part, each with the
 * function that numbers the original block, and tables of the renames
 * inside a block. tests/test-sd-keys.c checks them against the names
 * diffusers' own conversion scripts give (tests/refgen/
 * make_checkpoint_keys.py). */
#ifndef DM_MODEL_SD_KEYS_H
#define DM_MODEL_SD_KEYS_H

#include "model/safetensors.h"
#include "network/params.h"

/* The networks of a single file, each under its prefix. */
typedef enum {
  DM_SD_PART_UNET,        /* model.diffusion_model. */
  DM_SD_PART_VAE,         /* first_stage_model. */
  DM_SD_PART_CLIP,        /* cond_stage_model.transformer. (SD 1.x) */
  DM_SD_PART_CLIP_LEGACY, /* the same without "text_model." */
  DM_SD_PART_OPEN_CLIP,   /* cond_stage_model.model. (SD 2.x) */
  DM_SD_PART_COUNT
} DmSdPart;

/* The prefix of `part`'s names ("model.diffusion_model."). */
const char *dm_sd_part_prefix(DmSdPart part);

/* What numbers the blocks of the U-Net and the VAE. */
typedef struct {
  int32_t n_levels;
  int32_t layers_per_block;
  bool up_attention[DM_MAX_LEVELS]; /* U-Net: up block i has transformers */
} DmSdBlocks;

/* How the single file holds a diffusers tensor. */
typedef enum {
  DM_SD_RESHAPE_NONE,    /* as it is */
  DM_SD_RESHAPE_CONV1X1, /* a linear (O, I) as a 1x1 convolution
                          * (O, I, 1, 1) */
  DM_SD_RESHAPE_ROWS,    /* rows [part d0, (part + 1) d0) of a tensor of
                          * parts d0 rows */
  DM_SD_RESHAPE_COUNT
} DmSdReshape;

/* Where a single file holds one tensor of a network's table. */
typedef struct {
  char *original;      /* its name there, prefix included; owned */
  DmSdReshape reshape;
  int32_t part, parts; /* DM_SD_RESHAPE_ROWS: block `part` of `parts` */
  int32_t rank;        /* the original tensor's shape */
  int64_t shape[DM_ST_MAX_RANK];
} DmSdKey;

/* "-", "conv1x1", "rows" (the reference tables' words). */
const char *dm_sd_reshape_name(DmSdReshape reshape);

/* *keys (table->count entries, in the table's order) = where a single
 * file of `part` holds each tensor of `table` (diffusers' names and
 * shapes); `blocks` is read for the U-Net and the VAE. False with
 * DM_ERROR_INVALID_ARGUMENT naming a tensor no rule names. Free with
 * dm_sd_keys_free(). */
bool dm_sd_keys_map(DmSdKey **keys, const DmParams *table, DmSdPart part,
                    const DmSdBlocks *blocks, GError **error);
void dm_sd_keys_free(DmSdKey *keys, int32_t count);

/* The tensors of `table` as `st` holds them (dm_safetensors_view, under
 * the table's names and shapes): each key's tensor must be in `st` with
 * exactly the key's shape and dtype F32, F16 or BF16, else the error of
 * dm_entry_check (model/files.h) naming `label` and the file's tensor. */
DmSafetensors *dm_sd_keys_view(const DmSafetensors *st, const DmParams *table,
                               const DmSdKey *keys, const char *label,
                               GError **error);

/* Every tensor of `st` under `part`'s prefix must be one of `keys`
 * (count) or a buffer the part is known to carry; DM_ERROR_FORMAT naming
 * the first other one (a network this layout does not describe). */
bool dm_sd_keys_check_unused(const DmSafetensors *st, DmSdPart part,
                             const DmSdKey *keys, int32_t count,
                             const char *label, GError **error);

#endif /* DM_MODEL_SD_KEYS_H */
