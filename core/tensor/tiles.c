/* gimp-diffusion core: overlapping tiles and their blend weights
 * (tiles.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>

#include "tensor/tiles.h"

void dm_tile_axis_init(DmTileAxis *axis, int32_t length, int32_t size,
                       int32_t overlap) {
  if (length <= size) {
    axis->count = 1, axis->size = length;
  } else {
    const int32_t stride = size - overlap;
    axis->count = (length - overlap + stride - 1) / stride;
    axis->size = size;
  }
  axis->start = g_new(int32_t, axis->count);
  for (int32_t i = 0; i < axis->count; i++)
    axis->start[i] = axis->count == 1 ? 0 :
        (int32_t)((int64_t)i * (length - size) / (axis->count - 1));
}

void dm_tile_axis_clear(DmTileAxis *axis) {
  g_clear_pointer(&axis->start, g_free);
  axis->count = 0;
}

void dm_tile_axis_scale(DmTileAxis *scaled, const DmTileAxis *axis,
                        int32_t factor) {
  scaled->count = axis->count;
  scaled->size = axis->size * factor;
  scaled->start = g_new(int32_t, axis->count);
  for (int32_t i = 0; i < axis->count; i++)
    scaled->start[i] = axis->start[i] * factor;
}

float dm_tile_axis_weight(const DmTileAxis *axis, int32_t i, int32_t u) {
  float weight = 1.0f;
  const int32_t start = axis->start[i], end = start + axis->size;
  if (i > 0) {
    const int32_t shared = axis->start[i - 1] + axis->size - start;
    if (u - start < shared) weight = (u - start + 0.5f) / shared;
  }
  if (i < axis->count - 1) {
    const int32_t shared = end - axis->start[i + 1];
    if (end - u <= shared) weight = MIN(weight, (end - u - 0.5f) / shared);
  }
  return weight;
}

void dm_tile_axis_weight_sums(const DmTileAxis *axis, float *sums) {
  const int32_t length = axis->start[axis->count - 1] + axis->size;
  memset(sums, 0, (size_t)length * sizeof *sums);
  for (int32_t i = 0; i < axis->count; i++)
    for (int32_t u = axis->start[i]; u < axis->start[i] + axis->size; u++)
      sums[u] += dm_tile_axis_weight(axis, i, u);
}

void dm_tile_copy_from(float *tile, const float *area, int32_t channels,
                       int32_t height, int32_t width, int32_t top,
                       int32_t left, int32_t tile_h, int32_t tile_w) {
  for (int32_t c = 0; c < channels; c++)
    for (int32_t y = 0; y < tile_h; y++)
      memcpy(tile + ((size_t)c * tile_h + y) * tile_w,
             area + ((size_t)c * height + top + y) * width + left,
             (size_t)tile_w * sizeof(float));
}

void dm_tile_blend_add(float *out, const float *tile, int32_t channels,
                       int32_t height, int32_t width, const DmTileAxis *rows,
                       const DmTileAxis *cols, int32_t r, int32_t c) {
  const int32_t top = rows->start[r], left = cols->start[c];
  const int32_t tile_h = rows->size, tile_w = cols->size;
  for (int32_t y = 0; y < tile_h; y++) {
    const float wy = dm_tile_axis_weight(rows, r, top + y);
    for (int32_t x = 0; x < tile_w; x++) {
      const float weight = wy * dm_tile_axis_weight(cols, c, left + x);
      for (int32_t k = 0; k < channels; k++)
        out[((size_t)k * height + top + y) * width + left + x] +=
            weight * tile[((size_t)k * tile_h + y) * tile_w + x];
    }
  }
}

void dm_tile_axis_borders(const DmTileAxis *axis, int32_t length,
                          bool *border) {
  memset(border, 0, (size_t)length * sizeof *border);
  for (int32_t i = 0; i < axis->count; i++) {
    const int32_t end = axis->start[i] + axis->size;
    if (axis->start[i] > 0) border[axis->start[i]] = true;
    if (end < length) border[end] = true;
  }
}

void dm_tile_seam_steps(const float *image, int32_t channels, int32_t height,
                        int32_t width, const DmRect *region,
                        const bool *border_y, const bool *border_x,
                        double *across, double *inside) {
  double sums[2] = {0, 0};
  size_t counts[2] = {0, 0};
  const size_t plane = (size_t)height * width;
  for (int32_t c = 0; c < channels; c++)
    for (int32_t y = region->y + 1; y < region->y + region->height; y++)
      for (int32_t x = region->x + 1; x < region->x + region->width; x++) {
        const float *p = image + c * plane + (size_t)y * width + x;
        sums[border_x[x]] += fabsf(p[0] - p[-1]);
        counts[border_x[x]]++;
        sums[border_y[y]] += fabsf(p[0] - p[-width]);
        counts[border_y[y]]++;
      }
  *across = sums[1] / (double)counts[1];
  *inside = sums[0] / (double)counts[0];
}
