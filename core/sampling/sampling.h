/* gimp-diffusion core: what the parts of sampling share inside the
 * library (the API is dm.h's).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_SAMPLING_SAMPLING_H
#define DM_SAMPLING_SAMPLING_H

#include "tensor/base.h"

/* Whether options->strength asks dm_sample() to start from the image that
 * x holds (0 < strength < 1) rather than from pure noise (1, or 0 counting
 * as 1). */
bool dm_sample_starts_from_image(const DmSampleOptions *options);

/* Checks `value` against the option's range in the table (options.c):
 * DM_ERROR_INVALID_ARGUMENT naming the option, the value and the range. */
bool dm_option_check(DmOption option, double value, GError **error);
/* Whether `sampler` reads `option` (DmOptionInfo.samplers). */
bool dm_option_read_by(DmOption option, DmSampler sampler);
/* Checks the area options against the table, and tile_overlap against
 * tile_size. */
bool dm_area_options_check(const DmAreaOptions *area, GError **error);

/* Image sides must be in 1 .. DM_MAX_IMAGE_SIDE:
 * DM_ERROR_INVALID_ARGUMENT naming the size otherwise. */
bool dm_image_check_size(int32_t width, int32_t height, GError **error);
/* The whole picture, at least options->image_x + width by image_y +
 * height, must be an image size we take. */
bool dm_image_check_origin(const DmAreaOptions *options, int32_t width,
                           int32_t height, GError **error);

/* known and mask_area (C, area) from the image (C, H, W) and mask
 * (H, W) (the mask repeated in every channel, clamped to [0, 1]; NaN
 * counts as 0). */
void dm_area_crop(float *known, float *mask_area, const float *image,
                  const float *mask, int32_t channels, int32_t width,
                  int32_t height, const DmRect *area);
/* image (C, H, W) = sample (C, area) wherever mask_area (C, area) is
 * above 0; every other value of image stays. */
void dm_area_paste(float *image, const float *sample, const float *mask_area,
                   int32_t channels, int32_t width, int32_t height,
                   const DmRect *area);

#endif /* DM_SAMPLING_SAMPLING_H */
