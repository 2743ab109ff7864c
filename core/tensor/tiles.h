/* gimp-diffusion core: overlapping tiles along one axis, their blend
 * weights, and the seam measure of tiled results (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A network that runs tile by tile over a large area (the U-Net in
 * sampling/images.c, the VAE in network/vae-tiles.c) tiles each axis the
 * same way and blends the tiles' outputs where they overlap. */
#ifndef DM_TENSOR_TILES_H
#define DM_TENSOR_TILES_H

#include "tensor/base.h"

/* Tiles along one axis of `length` pixels: `count` tiles of `size` at
 * `start[i]`, spread evenly so that neighbours share at least `overlap`. */
typedef struct {
  int32_t count, size;
  int32_t *start; /* (count), owned */
} DmTileAxis;

/* One tile, the whole axis, when length <= size; else tiles of `size`
 * (overlap < size). Clear with dm_tile_axis_clear(). */
void dm_tile_axis_init(DmTileAxis *axis, int32_t length, int32_t size,
                       int32_t overlap);
void dm_tile_axis_clear(DmTileAxis *axis);
/* *scaled = the tiles of `axis` on an axis `factor` times finer (starts
 * and size times factor): a latent tiling seen in image pixels. Clear it
 * with dm_tile_axis_clear(). */
void dm_tile_axis_scale(DmTileAxis *scaled, const DmTileAxis *axis,
                        int32_t factor);

/* Blend weight of tile i at coordinate u (inside the tile): a linear ramp
 * over the part shared with each neighbour, rising away from the tile's
 * edge (at pixel centres, so never exactly 0), 1 elsewhere. Where two
 * tiles overlap, their weights sum to 1. */
float dm_tile_axis_weight(const DmTileAxis *axis, int32_t i, int32_t u);

/* sums (length) = the sum of the tiles' weights at each coordinate. The
 * tiles of a grid of row and column axes weigh sums_y[y] sums_x[x] in all
 * at (y, x): what a blend divides by. */
void dm_tile_axis_weight_sums(const DmTileAxis *axis, float *sums);

/* tile (C, tile_h, tile_w) = the window of area (C, H, W) at (top, left). */
void dm_tile_copy_from(float *tile, const float *area, int32_t channels,
                       int32_t height, int32_t width, int32_t top,
                       int32_t left, int32_t tile_h, int32_t tile_w);

/* out (C, H, W) += weight(y, x) tile (C, rows.size, cols.size) over the
 * tile (r, c) of the grid rows x cols, weight(y, x) = the rows' weight of
 * tile r at y times the columns' of tile c at x. */
void dm_tile_blend_add(float *out, const float *tile, int32_t channels,
                       int32_t height, int32_t width, const DmTileAxis *rows,
                       const DmTileAxis *cols, int32_t r, int32_t c);

/* border (axis length) = true where a tile starts or one ends (the first
 * pixel past it), but at the axis' own ends; false elsewhere. */
void dm_tile_axis_borders(const DmTileAxis *axis, int32_t length,
                          bool *border);

/* The seam measure of a tiled result (bench-sampler --seam): the mean
 * |difference| between horizontally and vertically neighbouring values of
 * image (C, H, W) inside `region`, for the pairs whose second pixel is on a
 * tile border (border_x (W) for horizontal pairs, border_y (H) for
 * vertical ones: *across) and for all other pairs (*inside). A seam shows
 * as *across / *inside above 1. */
void dm_tile_seam_steps(const float *image, int32_t channels, int32_t height,
                        int32_t width, const DmRect *region,
                        const bool *border_y, const bool *border_x,
                        double *across, double *inside);

#endif /* DM_TENSOR_TILES_H */
