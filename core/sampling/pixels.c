/* gimp-diffusion core: pixels in [0, 1] and the model's [-1, 1] planes
 * (dm.h, "pixels"), the one conversion every front end uses.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "tensor/base.h"

/* v clamped to [0, 1]; NaN reads as 0. */
static float unit_clamp(float v) {
  return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

void dm_pixels_to_planes(float *planes, const float *pixels,
                         int32_t channels, int32_t stride, size_t count) {
  for (int32_t c = 0; c < channels; c++)
    for (size_t p = 0; p < count; p++)
      planes[c * count + p] =
          2.0f * unit_clamp(pixels[p * stride + c]) - 1.0f;
}

void dm_planes_to_pixels(float *pixels, const float *planes,
                         int32_t channels, int32_t stride, size_t count,
                         const float *mask) {
  for (size_t p = 0; p < count; p++) {
    if (mask != NULL && !(mask[p] > 0.0f)) continue;
    for (int32_t c = 0; c < channels; c++)
      pixels[p * stride + c] = unit_clamp((planes[c * count + p] + 1.0f) *
                                          0.5f);
  }
}

void dm_mask_binarize(float *mask, size_t count) {
  for (size_t p = 0; p < count; p++) mask[p] = mask[p] > 0.0f ? 1.0f : 0.0f;
}
