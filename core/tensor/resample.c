/* gimp-diffusion core: separable area and bilinear resampling
 * (resample.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>

#include <glib.h>

#include "tensor/resample.h"

void dm_axis_clear(DmAxis *axis) {
  free(axis->first);
  free(axis->count);
  free(axis->weight);
  *axis = (DmAxis){0};
}

static bool axis_alloc(DmAxis *axis, int32_t size, int32_t taps) {
  *axis = (DmAxis){.size = size, .taps = taps};
  axis->first = malloc(sizeof(int32_t) * (size_t)size);
  axis->count = malloc(sizeof(int32_t) * (size_t)size);
  axis->weight = calloc((size_t)size * (size_t)taps, sizeof(float));
  if (axis->first && axis->count && axis->weight) return true;
  dm_axis_clear(axis);
  return false;
}

/* Output pixel i's footprint is [origin + i r, origin + (i + 1) r), r =
 * extent / size; a source pixel j weighs |[j, j + 1) ∩ footprint|, the
 * weights normalised to sum to 1. A footprint of length r meets at most
 * ceil(r) + 1 pixels. */
bool dm_axis_area(DmAxis *axis, int32_t size, double origin, double extent,
                  int32_t source_size) {
  const double ratio = extent / size;
  if (!axis_alloc(axis, size, (int32_t)ceil(ratio) + 1)) return false;
  for (int32_t i = 0; i < size; i++) {
    const double start = origin + ratio * i;
    const double end = i + 1 == size ? origin + extent : start + ratio;
    const int32_t first = MAX(0, (int32_t)floor(start));
    const int32_t last = MAX(first, MIN(source_size, (int32_t)ceil(end)) - 1);
    float *weight = axis->weight + (size_t)i * axis->taps;
    double total = 0.0;
    axis->first[i] = first;
    axis->count[i] = last - first + 1;
    for (int32_t j = first; j <= last; j++) {
      const double overlap = fmin(end, j + 1.0) - fmax(start, (double)j);
      weight[j - first] = (float)MAX(overlap, 0.0);
      total += weight[j - first];
    }
    for (int32_t k = 0; k < axis->count[i]; k++)
      weight[k] = total > 0.0 ? (float)(weight[k] / total) : 1.0f / axis->count[i];
  }
  return true;
}

/* Output pixel i samples source coordinate (i + 1/2) source_size / size -
 * 1/2 (pixel centres aligned), clamped to the edge pixels. */
bool dm_axis_bilinear(DmAxis *axis, int32_t size, int32_t source_size) {
  if (!axis_alloc(axis, size, 2)) return false;
  const double scale = (double)source_size / size;
  for (int32_t i = 0; i < size; i++) {
    const double x = fmin(fmax((i + 0.5) * scale - 0.5, 0.0), source_size - 1.0);
    const int32_t first = (int32_t)floor(x);
    const double frac = x - first;
    float *weight = axis->weight + (size_t)i * axis->taps;
    axis->first[i] = first;
    axis->count[i] = first + 1 < source_size ? 2 : 1;
    weight[0] = (float)(1.0 - frac);
    if (axis->count[i] == 2) weight[1] = (float)frac;
  }
  return true;
}

/* dst (size) = the x table applied to one row of source values. */
static void resample_float_row(float *dst, const float *src,
                               const DmAxis *x) {
  for (int32_t i = 0; i < x->size; i++) {
    const float *weight = x->weight + (size_t)i * x->taps;
    const float *s = src + x->first[i];
    float sum = 0.0f;
    for (int32_t k = 0; k < x->count[i]; k++) sum += weight[k] * s[k];
    dst[i] = sum;
  }
}

/* The source rows that y reads: [*row0, *row0 + rows) (first[] rises). */
static int32_t rows_read(const DmAxis *y, int32_t *row0) {
  *row0 = y->first[0];
  return y->first[y->size - 1] + y->count[y->size - 1] - *row0;
}

/* out (channels, y->size, out_w) = the y table applied to by_x (channels,
 * rows, out_w), rows from source row row0. */
static void resample_columns(float *out, const float *by_x,
                             int32_t channels, int32_t rows, int32_t row0,
                             size_t out_w, const DmAxis *y) {
  for (int32_t c = 0; c < channels; c++)
    for (int32_t i = 0; i < y->size; i++) {
      float *dst = out + ((size_t)c * y->size + i) * out_w;
      const float *weight = y->weight + (size_t)i * y->taps;
      const float *src =
          by_x + ((size_t)c * rows + y->first[i] - row0) * out_w;
      for (size_t p = 0; p < out_w; p++) dst[p] = 0.0f;
      for (int32_t k = 0; k < y->count[i]; k++)
        for (size_t p = 0; p < out_w; p++)
          dst[p] += weight[k] * src[k * out_w + p];
    }
}

bool dm_resample_planes(float *out, const uint16_t *codes, int32_t width,
                        int32_t height, const DmAxis *x, const DmAxis *y) {
  int32_t row0;
  const int32_t rows = rows_read(y, &row0);
  const size_t out_w = (size_t)x->size;
  /* (3, rows, out_w) */
  float *by_x = malloc(sizeof(float) * 3 * (size_t)rows * out_w);
  float *row = malloc(sizeof(float) * (size_t)width);
  const bool ok = by_x && row;
  for (int32_t c = 0; ok && c < 3; c++)
    for (int32_t r = 0; r < rows; r++) {
      const uint16_t *src = codes + ((size_t)c * height + row0 + r) * width;
      for (int32_t i = 0; i < width; i++) row[i] = src[i];
      resample_float_row(by_x + ((size_t)c * rows + r) * out_w, row, x);
    }
  if (ok) resample_columns(out, by_x, 3, rows, row0, out_w, y);
  free(row);
  free(by_x);
  return ok;
}

bool dm_resample_float_planes(float *out, const float *planes,
                              int32_t channels, int32_t width,
                              int32_t height, const DmAxis *x,
                              const DmAxis *y) {
  int32_t row0;
  const int32_t rows = rows_read(y, &row0);
  const size_t out_w = (size_t)x->size;
  float *by_x = malloc(sizeof(float) * channels * (size_t)rows * out_w);
  if (by_x == NULL) return false;
  for (int32_t c = 0; c < channels; c++)
    for (int32_t r = 0; r < rows; r++)
      resample_float_row(by_x + ((size_t)c * rows + r) * out_w,
                         planes + ((size_t)c * height + row0 + r) * width,
                         x);
  resample_columns(out, by_x, channels, rows, row0, out_w, y);
  free(by_x);
  return true;
}

/* The table that takes `source` pixels to `size`: area averaging when
 * shrinking, linear interpolation when growing. */
static bool axis_resize(DmAxis *axis, int32_t size, int32_t source) {
  return size <= source ? dm_axis_area(axis, size, 0.0, source, source)
                        : dm_axis_bilinear(axis, size, source);
}

bool dm_resize_float_planes(float *out, int32_t out_width,
                            int32_t out_height, const float *planes,
                            int32_t channels, int32_t width, int32_t height) {
  DmAxis x = {0}, y = {0};
  const bool ok = axis_resize(&x, out_width, width) &&
                  axis_resize(&y, out_height, height) &&
                  dm_resample_float_planes(out, planes, channels, width,
                                           height, &x, &y);
  dm_axis_clear(&x);
  dm_axis_clear(&y);
  return ok;
}
