/* gimp-diffusion core: the parts of Stable Diffusion's pipelines that the
 * tests check on their own (internal; the API is dm.h's).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_SAMPLING_SD_PIPELINE_H
#define DM_SAMPLING_SD_PIPELINE_H

#include "tensor/base.h"

/* condition (C + 1, H / s, W / s), s = the VAE's scale, C its latent
 * channels: an inpainting checkpoint's extra input for the work image
 * pixels (3, H, W) and mask (H, W) (NULL: all ones), as diffusers'
 * StableDiffusionInpaintPipeline prepares it: plane 0 the mask binarised
 * (>= 0.5: 1) and sampled at work pixel (s i, s j) (torch's nearest
 * interpolate), then the posterior mean, in the model's scale, of the
 * pixels with the binarised hole set to 0 (image * (mask < 0.5)). */
bool dm_sd_inpaint_condition(const DmSdModel *model, float *condition,
                             const float *pixels, const float *mask,
                             int32_t width, int32_t height, GError **error);

/* input (batch, in_channels, plane) = for each image of the batch, x_t
 * (out_channels, plane) and then condition (in_channels - out_channels,
 * plane) (none when NULL): the U-Net's input, [x_t, mask, masked image's
 * latent] for an inpainting checkpoint. */
void dm_sd_unet_input(float *input, const float *x_t, const float *condition,
                      int32_t batch, int32_t in_channels,
                      int32_t out_channels, size_t plane);

/* text (n, L, D) = the text states of the negative prompt and the prompt
 * (n = 2) or the prompt alone (n = 1), each cut to the tokenizer's L ids;
 * NULL prompts read as "". Caller free()s. */
float *dm_sd_encode_prompts(const DmSdModel *model, const char *prompt,
                            const char *negative_prompt, int32_t n,
                            GError **error);

#endif /* DM_SAMPLING_SD_PIPELINE_H */
