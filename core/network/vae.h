/* gimp-diffusion core: diffusers' AutoencoderKL, the VAE of Stable
 * Diffusion (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The KL-regularised autoencoder of latent diffusion (Rombach et al. 2022,
 * §3 and App. G) as diffusers' AutoencoderKL builds it with
 * DownEncoderBlock2D / UpDecoderBlock2D blocks:
 *   encoder: conv_in; per level `layers_per_block` ResNet blocks and, but at
 *     the last level, a stride-2 conv after padding right and bottom by one;
 *     mid block (resnet, attention, resnet); GroupNorm, SiLU, conv_out to
 *     2 * latent_channels (mean | logvar); quant_conv (1x1);
 *   decoder: post_quant_conv (1x1); conv_in; mid block; per level in
 *     reverse, layers_per_block + 1 ResNet blocks and, but at the last,
 *     nearest x2 upsampling and a 3x3 conv; GroupNorm, SiLU, conv_out.
 * Every GroupNorm has eps 1e-6; the mid attention is one head of all
 * channels with a residual connection. The weights stay in their file's
 * dtype (DmWeights); arithmetic is float32.
 *
 * Latents are in the diffusion model's scale: encode returns
 * (mean - shift_factor) * scaling_factor, decode takes z and decodes
 * z / scaling_factor + shift_factor (Rombach et al. 2022, §4.3.2, D.1). */
#ifndef DM_NETWORK_VAE_H
#define DM_NETWORK_VAE_H

#include "network/params.h"

/* Largest layers_per_block accepted. */
#define DM_VAE_MAX_LAYERS_PER_BLOCK 8

/* An AutoencoderKL config.json (model/vae-config-json.c). */
typedef struct {
  int32_t in_channels, out_channels, latent_channels;
  int32_t n_levels; /* len(block_out_channels) */
  int32_t block_out_channels[DM_MAX_LEVELS];
  int32_t layers_per_block;
  int32_t norm_num_groups;
  float scaling_factor;
  float shift_factor;           /* 0 for null */
  bool use_quant_conv, use_post_quant_conv;
  bool mid_block_add_attention;
} DmVaeConfig;

/* diffusers AutoencoderKL's defaults (what an absent field means). */
void dm_vae_config_default(DmVaeConfig *config);
/* Stable Diffusion 1.x / 2.x's vae/config.json: 3 -> 4 latent channels,
 * blocks [128, 256, 512, 512], 2 layers per block, 32 groups, scaling
 * 0.18215. */
void dm_vae_config_sd(DmVaeConfig *config);
/* Ranges and consistency (groups divide every channel count, ...);
 * DM_ERROR_INVALID_ARGUMENT naming the field. */
bool dm_vae_config_validate(const DmVaeConfig *config, GError **error);
/* Reads a config.json text (label names it in messages); a field we do not
 * implement is DM_ERROR_UNSUPPORTED naming field and value. */
bool dm_vae_config_from_json(DmVaeConfig *config, const char *json,
                             const char *label, GError **error);

typedef struct DmVaeLayout DmVaeLayout; /* where each layer's tensors are */

typedef struct {
  DmVaeConfig config;
  DmWeights weights;    /* table under diffusers' state-dict names */
  DmVaeLayout *layout;  /* owned */
} DmVae;

/* Builds the parameter table of `config` (validated here) into
 * vae->weights.table, without weight data: lets a loader check a file
 * first. Clear with dm_vae_clear(). */
bool dm_vae_describe(DmVae *vae, const DmVaeConfig *config, GError **error);
/* dm_vae_describe, then zeroed weights in `dtype`. */
bool dm_vae_init(DmVae *vae, const DmVaeConfig *config, DmDtype dtype,
                 GError **error);
void dm_vae_clear(DmVae *vae);

/* Image sides must be multiples of this (2^(levels - 1)); the latent is
 * that many times smaller. */
int32_t dm_vae_scale(const DmVaeConfig *config);

/* ---- untiled passes: memory grows with the image ---------------------- */

/* moments (N, 2 latent_channels, H / s, W / s) = quant_conv(encoder(image
 * (N, in_channels, H, W))), s = dm_vae_scale(): the posterior's mean, then
 * its log-variance, unscaled and unclamped (diffusers' latent_dist
 * parameters). */
bool dm_vae_encode_moments(const DmVae *vae, DmTensor *moments,
                           const DmTensor *image, GError **error);
/* image (N, out_channels, H s, W s) = decoder(post_quant_conv(latent / scale
 * + shift)), latent (N, latent_channels, H, W) in the diffusion model's
 * scale. Values are nominally in [-1, 1], not clamped. */
bool dm_vae_decode(const DmVae *vae, DmTensor *image, const DmTensor *latent,
                   GError **error);

/* ---- tiled passes: bounded memory for any image size (vae-tiles.c) ---- */

/* How a large image is split: square tiles of tile_size latent pixels a
 * side (1 .. 4096) sharing at least tile_overlap (0 .. tile_size / 2) with
 * each neighbour, their outputs blended linearly there (tensor/tiles.h).
 * A latent that fits one tile runs in one piece, exactly as untiled. A
 * tile sees only its part of the image: its convolutions pad with zeros at
 * its edges, its attention attends within it, and its group norms
 * normalise with its own statistics (the largest of the three effects), so
 * tiles differ from the untiled pass most where their contents differ from
 * the whole image's; the blend leaves no step between them (bench-vae
 * seams and photo measure both). */
typedef struct {
  int32_t tile_size;
  int32_t tile_overlap;
} DmVaeTiling;

/* 512-pixel tiles (Stable Diffusion's training size: a 512 x 512 image
 * runs in one piece, ~0.9 GB at peak with both halves' weights in F32)
 * sharing at least 128 pixels. */
#define DM_VAE_DEFAULT_TILE_SIZE 64
#define DM_VAE_DEFAULT_TILE_OVERLAP 16

void dm_vae_tiling_default(DmVaeTiling *tiling);
/* dm_vae_encode_moments and dm_vae_decode tile by tile (out unspecified
 * on failure). */
bool dm_vae_encode_tiled(const DmVae *vae, DmTensor *moments,
                         const DmTensor *image, const DmVaeTiling *tiling,
                         GError **error);
bool dm_vae_decode_tiled(const DmVae *vae, DmTensor *image,
                         const DmTensor *latent, const DmVaeTiling *tiling,
                         GError **error);

/* ---- the posterior ----------------------------------------------------- */

/* From moments (N, 2 L, h, w) of dm_vae_encode_moments: mean (N, L, h, w)
 * = (mean - shift) * scale, and, unless NULL, logvar (N, L, h, w) = the
 * log-variance clamped to [-30, 20] as diffusers' DiagonalGaussian-
 * Distribution does, plus 2 ln(scale): the posterior in the diffusion
 * model's scale. */
void dm_vae_posterior(const DmVae *vae, DmTensor *mean, DmTensor *logvar,
                      const DmTensor *moments);
/* z (count) = mean + exp(logvar / 2) eps, eps standard normal from the
 * counter RNG (seed, stream 0, element index): a sample of the posterior
 * (the reparameterisation of Kingma and Welling 2014, eq. 10). */
void dm_vae_sample(float *z, const float *mean, const float *logvar,
                   size_t count, uint64_t seed);

#endif /* DM_NETWORK_VAE_H */
