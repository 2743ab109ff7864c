/* gimp-diffusion core: separable resampling of image planes, 16-bit codes
 * (the training images) or floats (Stable Diffusion's work areas)
 * (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * One axis of a resampling is a table: output pixel i is
 *   sum_{k < count[i]} weight[i, k] * source[first[i] + k],
 * the weights summing to 1. Area tables average a window exactly (each
 * source pixel weighs its overlap with the output pixel's footprint);
 * bilinear tables interpolate between pixel centres (for enlarging). */
#ifndef DM_TENSOR_RESAMPLE_H
#define DM_TENSOR_RESAMPLE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  int32_t size;   /* output pixels */
  int32_t taps;   /* weights stored per output pixel */
  int32_t *first; /* (size) first source pixel */
  int32_t *count; /* (size) source pixels used, <= taps */
  float *weight;  /* (size, taps) */
} DmAxis;

/* `size` output pixels covering source coordinates [origin, origin +
 * extent) of a source of `source_size` pixels, by area averaging; needs
 * extent >= size and 0 <= origin, origin + extent <= source_size. False if
 * out of memory. */
bool dm_axis_area(DmAxis *axis, int32_t size, double origin, double extent,
                  int32_t source_size);
/* `size` output pixels spanning a whole source of `source_size` pixels, by
 * linear interpolation between pixel centres (edges clamped). */
bool dm_axis_bilinear(DmAxis *axis, int32_t size, int32_t source_size);
void dm_axis_clear(DmAxis *axis);

/* out (3, y->size, x->size) = the resampling of `codes` (3, height, width)
 * along x then y, in code units (not rounded). False if out of memory. */
bool dm_resample_planes(float *out, const uint16_t *codes, int32_t width,
                        int32_t height, const DmAxis *x, const DmAxis *y);
/* out (channels, y->size, x->size) = the resampling of `planes`
 * (channels, height, width) along x then y. False if out of memory. */
bool dm_resample_float_planes(float *out, const float *planes,
                              int32_t channels, int32_t width,
                              int32_t height, const DmAxis *x,
                              const DmAxis *y);
/* out (channels, out_height, out_width) = planes (channels, height, width)
 * resized, each axis by area averaging when it shrinks (or keeps its size)
 * and by linear interpolation when it grows. False if out of memory. */
bool dm_resize_float_planes(float *out, int32_t out_width,
                            int32_t out_height, const float *planes,
                            int32_t channels, int32_t width, int32_t height);

#endif /* DM_TENSOR_RESAMPLE_H */
