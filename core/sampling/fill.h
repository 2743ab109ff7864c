/* gimp-diffusion core: a smooth fill of an image's holes (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_FILL_H
#define DM_FILL_H

#include <stdbool.h>
#include <stdint.h>

/* Replaces every pixel of image (C, H, W) whose mask (H, W) is above 0 by
 * the harmonic interpolation of the pixels whose mask is 0: the solution of
 * Laplace's equation over the hole with the known pixels as its boundary
 * values (and no flux across the image's edges), so a constant stays
 * constant and a linear ramp stays a ramp. Solved coarse to fine: the
 * half-size problem first, its solution upsampled as the start, then
 * Gauss-Seidel sweeps at each size. Without any known pixel the image
 * becomes 0. Deterministic; false if out of memory (image unchanged). */
bool dm_fill_smooth(float *image, const float *mask, int32_t channels,
                    int32_t width, int32_t height);

/* Makes a fill meet its surroundings without a step in tone: every hole
 * pixel (mask > 0) of image (C, H, W) next to a known one (mask 0, or NaN)
 * is shifted to the mean of its known 4-neighbours in `known` (C, H, W),
 * and the rest of the hole by the harmonic interpolation of those shifts
 * (Poisson image editing's membrane, Perez et al. 2003, with the fill's
 * own gradients kept inside the hole). Known pixels are not touched.
 * False if out of memory (image unchanged). */
bool dm_fill_match_edges(float *image, const float *known, const float *mask,
                         int32_t channels, int32_t width, int32_t height);

#endif /* DM_FILL_H */
