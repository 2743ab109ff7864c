/* gimp-diffusion core: AutoencoderKL on overlapping tiles (vae.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The tiles are laid out on the latent grid, so that an encoder tile
 * starts on a latent pixel; each tile's output is added into the result
 * with the blend weights of tensor/tiles.h on the output's own grid, and
 * the sum divided by the weights' sum. Memory: the caller's input and
 * output, one tile's input and output, and one pass over a tile. */
#include <string.h>

#include "network/vae.h"
#include "tensor/tiles.h"

typedef bool (*VaePass)(const DmVae *vae, DmTensor *out, const DmTensor *in,
                        GError **error);

/* One tiled pass from in (N, C, h in_factor, w in_factor) to out (N, C',
 * h out_factor, w out_factor) over a latent of h x w. */
typedef struct {
  const DmVae *vae;
  VaePass pass;
  DmTensor *out;
  const DmTensor *in;
  int32_t in_factor, out_factor;
  DmTileAxis rows, cols; /* on the latent grid */
  DmTensor *tile_in, *tile_out;
} Tiled;

void dm_vae_tiling_default(DmVaeTiling *tiling) {
  *tiling = (DmVaeTiling){.tile_size = DM_VAE_DEFAULT_TILE_SIZE,
                          .tile_overlap = DM_VAE_DEFAULT_TILE_OVERLAP};
}

static bool check_tiling(const DmVaeTiling *t, GError **error) {
  if (t->tile_size >= 1 && t->tile_size <= 4096 && t->tile_overlap >= 0 &&
      t->tile_overlap <= t->tile_size / 2)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "VAE tiles must be 1 .. 4096 latent pixels with an overlap of "
              "0 .. half of that (got tile %d, overlap %d)", t->tile_size,
              t->tile_overlap);
  return false;
}

/* Runs the pass on the tile (r, c) of t->in into t->tile_out. */
static bool tile_pass(Tiled *t, int32_t r, int32_t c, GError **error) {
  const DmTensor *in = t->in;
  DmTensor *tile = t->tile_in;
  const size_t image = (size_t)in->c * in->h * in->w;
  const size_t tile_image = dm_tensor_numel(tile) / tile->n;
  for (int32_t i = 0; i < in->n; i++)
    dm_tile_copy_from(tile->data + i * tile_image, in->data + i * image,
                      in->c, in->h, in->w, t->rows.start[r] * t->in_factor,
                      t->cols.start[c] * t->in_factor, tile->h, tile->w);
  return t->pass(t->vae, t->tile_out, tile, error);
}

/* out /= the blend weights' sum at each pixel, image by image. */
static void normalise(DmTensor *out, const DmTileAxis *rows,
                      const DmTileAxis *cols) {
  float *row_sums = g_new(float, out->h), *col_sums = g_new(float, out->w);
  dm_tile_axis_weight_sums(rows, row_sums);
  dm_tile_axis_weight_sums(cols, col_sums);
  for (int64_t plane = 0; plane < (int64_t)out->n * out->c; plane++)
    for (int32_t y = 0; y < out->h; y++) {
      float *row = out->data + ((size_t)plane * out->h + y) * out->w;
      for (int32_t x = 0; x < out->w; x++) row[x] /= row_sums[y] * col_sums[x];
    }
  g_free(row_sums);
  g_free(col_sums);
}

/* Runs every tile and blends the outputs into t->out. */
static bool blend_tiles(Tiled *t, GError **error) {
  DmTensor *out = t->out, *tile = t->tile_out;
  DmTileAxis rows, cols; /* on the output's grid */
  dm_tile_axis_scale(&rows, &t->rows, t->out_factor);
  dm_tile_axis_scale(&cols, &t->cols, t->out_factor);
  memset(out->data, 0, dm_tensor_numel(out) * sizeof(float));
  const size_t image = (size_t)out->c * out->h * out->w;
  const size_t tile_image = dm_tensor_numel(tile) / tile->n;
  bool ok = true;
  for (int32_t r = 0; ok && r < rows.count; r++)
    for (int32_t c = 0; ok && c < cols.count; c++) {
      ok = tile_pass(t, r, c, error);
      for (int32_t i = 0; ok && i < out->n; i++)
        dm_tile_blend_add(out->data + i * image, tile->data + i * tile_image,
                          out->c, out->h, out->w, &rows, &cols, r, c);
    }
  if (ok) normalise(out, &rows, &cols);
  dm_tile_axis_clear(&rows);
  dm_tile_axis_clear(&cols);
  return ok;
}

static bool run_tiled(Tiled *t, GError **error) {
  const DmTensor *in = t->in;
  t->tile_in = dm_tensor_new(in->n, in->c, t->rows.size * t->in_factor,
                             t->cols.size * t->in_factor, error);
  t->tile_out = t->tile_in ? dm_tensor_new(t->out->n, t->out->c,
                                           t->rows.size * t->out_factor,
                                           t->cols.size * t->out_factor,
                                           error) : NULL;
  const bool ok = t->tile_out != NULL && blend_tiles(t, error);
  dm_tensor_free(t->tile_in);
  dm_tensor_free(t->tile_out);
  return ok;
}

static bool tiled(const DmVae *vae, VaePass pass, DmTensor *out,
                  const DmTensor *in, const DmVaeTiling *tiling,
                  int32_t in_factor, int32_t out_factor, GError **error) {
  if (!check_tiling(tiling, error)) return false;
  Tiled t = {.vae = vae, .pass = pass, .out = out, .in = in,
             .in_factor = in_factor, .out_factor = out_factor};
  const int32_t h = in->h / in_factor, w = in->w / in_factor;
  dm_tile_axis_init(&t.rows, h, tiling->tile_size, tiling->tile_overlap);
  dm_tile_axis_init(&t.cols, w, tiling->tile_size, tiling->tile_overlap);
  bool ok;
  if (t.rows.count * t.cols.count == 1 || in->h % in_factor ||
      in->w % in_factor || out->h != h * out_factor ||
      out->w != w * out_factor)
    ok = pass(vae, out, in, error); /* one piece, or its shape error */
  else
    ok = run_tiled(&t, error);
  dm_tile_axis_clear(&t.rows);
  dm_tile_axis_clear(&t.cols);
  return ok;
}

bool dm_vae_encode_tiled(const DmVae *vae, DmTensor *moments,
                         const DmTensor *image, const DmVaeTiling *tiling,
                         GError **error) {
  return tiled(vae, dm_vae_encode_moments, moments, image, tiling,
               dm_vae_scale(&vae->config), 1, error);
}

bool dm_vae_decode_tiled(const DmVae *vae, DmTensor *image,
                         const DmTensor *latent, const DmVaeTiling *tiling,
                         GError **error) {
  return tiled(vae, dm_vae_decode, image, latent, tiling, 1,
               dm_vae_scale(&vae->config), error);
}
