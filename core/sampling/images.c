/* gimp-diffusion core: sampling whole images with a model: the work area
 * of an inpainting (the mask's bounding box plus context) and the network
 * run on overlapping tiles when that area is large.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Tiles change only how the network output is computed: the sampler's
 * state, its noise and its updates live on the whole area, so tiles agree
 * wherever they overlap except for the network output itself, which is
 * blended there with weights that ramp from 0 at a tile's inner edge to 1
 * where the neighbour's overlap ends. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "sampling/fill.h"
#include "sampling/sampling.h"
#include "tensor/tiles.h"

bool dm_mask_bounds(const float *mask, int32_t width, int32_t height,
                    DmRect *bounds, GError **error) {
  int32_t x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int32_t y = 0; y < height; y++)
    for (int32_t x = 0; x < width; x++)
      if (mask[(size_t)y * width + x] > 0.0f) {
        x0 = MIN(x0, x), x1 = MAX(x1, x);
        y0 = MIN(y0, y), y1 = MAX(y1, y);
      }
  if (x1 < 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the mask selects nothing: no pixel to fill");
    return false;
  }
  *bounds = (DmRect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
  return true;
}

DmRect dm_model_work_area(const DmModel *model, const DmAreaOptions *options,
                          DmRect hole, int32_t width, int32_t height) {
  const int64_t margin = options->context_margin < 0
                             ? dm_model_receptive_radius(model)
                             : options->context_margin;
  const int64_t x0 = MAX(hole.x - margin, 0), y0 = MAX(hole.y - margin, 0);
  const int64_t x1 = MIN(hole.x + hole.width + margin, width);
  const int64_t y1 = MIN(hole.y + hole.height + margin, height);
  return (DmRect){(int32_t)x0, (int32_t)y0, (int32_t)MAX(x1 - x0, 0),
                  (int32_t)MAX(y1 - y0, 0)};
}

/* ---- tiles --------------------------------------------------------------- */

/* The network as a DmDenoiseFunc on a (C, H, W) area, tile by tile. A
 * mask-conditioned model's tiles also carry the conditioning planes
 * (mask, known image * (1 - mask)), and with classifier-free guidance a
 * second image in the batch holds the dropout mode's (1, 0). */
typedef struct {
  DmModel *model;
  DmPadding padding;
  int32_t height, width;
  DmTileAxis rows, cols;
  const float *condition; /* (C + 1, H, W), borrowed; NULL: unconditional */
  float guidance_scale;   /* w; the batch has two images when w != 1 */
  DmTensor *tile_in;      /* (1 or 2, in_channels, tile rows, tile cols) */
  DmTensor *tile_out;     /* (1 or 2, C, tile rows, tile cols) */
  float *weight_sum;      /* (H, W): sum of the tiles' weights */
} Tiler;

static void tiler_free(Tiler *tiler) {
  dm_tile_axis_clear(&tiler->rows);
  dm_tile_axis_clear(&tiler->cols);
  dm_tensor_free(tiler->tile_in);
  dm_tensor_free(tiler->tile_out);
  free(tiler->weight_sum);
}

static void add_weight_sums(Tiler *tiler) {
  const int32_t w = tiler->width;
  for (int32_t r = 0; r < tiler->rows.count; r++)
    for (int32_t c = 0; c < tiler->cols.count; c++)
      for (int32_t y = 0; y < tiler->rows.size; y++) {
        const int32_t row = tiler->rows.start[r] + y;
        const float wy = dm_tile_axis_weight(&tiler->rows, r, row);
        for (int32_t x = 0; x < tiler->cols.size; x++) {
          const int32_t col = tiler->cols.start[c] + x;
          tiler->weight_sum[(size_t)row * w + col] +=
              wy * dm_tile_axis_weight(&tiler->cols, c, col);
        }
      }
}

/* The tiles of a height x width area: one, the whole area, when it has at
 * most pixel_budget pixels. */
static void tile_axes(DmTileAxis *rows, DmTileAxis *cols, int32_t height,
                      int32_t width, const DmAreaOptions *options) {
  int32_t size = options->tile_size;
  if ((int64_t)height * width <= options->pixel_budget)
    size = MAX(height, width);
  dm_tile_axis_init(rows, height, size, options->tile_overlap);
  dm_tile_axis_init(cols, width, size, options->tile_overlap);
}

/* The second image of a guided batch: the dropout mode's conditioning,
 * which no tile changes. */
static void fill_dropout_condition(DmTensor *tile_in, int32_t channels) {
  const size_t plane = (size_t)tile_in->h * tile_in->w;
  float *second = tile_in->data + (size_t)tile_in->c * plane;
  dm_fill_condition(second + channels * plane, NULL, channels, plane);
}

int32_t dm_model_evaluation_batch(const DmModel *model,
                                  const DmSampleOptions *options) {
  return dm_model_conditioning(model) == DM_CONDITIONING_MASK &&
                 options->guidance_scale != 1.0f
             ? 2
             : 1;
}

static bool tiler_init(Tiler *tiler, DmModel *model, DmPadding padding,
                       int32_t height, int32_t width, const float *condition,
                       const DmSampleOptions *sample_options,
                       const DmAreaOptions *options, GError **error) {
  *tiler = (Tiler){.model = model, .padding = padding, .height = height,
                   .width = width,
                   .condition = condition,
                   .guidance_scale = sample_options->guidance_scale};
  tile_axes(&tiler->rows, &tiler->cols, height, width, options);
  const DmUnetConfig *config = dm_model_config(model);
  const int32_t batch = dm_model_evaluation_batch(model, sample_options);
  tiler->tile_in = dm_tensor_new(batch, config->in_channels, tiler->rows.size,
                                 tiler->cols.size, error);
  tiler->tile_out = tiler->tile_in == NULL ? NULL :
      dm_tensor_new(batch, config->out_channels, tiler->rows.size,
                    tiler->cols.size, error);
  tiler->weight_sum = calloc((size_t)height * width, sizeof(float));
  if (tiler->tile_out && tiler->weight_sum) {
    if (batch == 2) fill_dropout_condition(tiler->tile_in, config->out_channels);
    add_weight_sums(tiler);
    return true;
  }
  if (tiler->tile_out)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a %dx%d work area", width, height);
  tiler_free(tiler);
  return false;
}

/* Copies `channels` planes of the tile at (top, left) of `area`
 * (channels, H, W) to `tile` (channels, tile rows, tile cols). */
static void copy_tile_planes(const Tiler *tiler, float *tile,
                             const float *area, int32_t channels, int32_t top,
                             int32_t left) {
  dm_tile_copy_from(tile, area, channels, tiler->height, tiler->width, top,
                    left, tiler->tile_in->h, tiler->tile_in->w);
}

/* The network's input for the tile at (top, left): x (C, H, W), then the
 * conditioning planes; with guidance, x again in the second image (whose
 * conditioning fill_dropout_condition wrote). */
static void gather_tile(Tiler *tiler, const float *x, int32_t top,
                        int32_t left) {
  DmTensor *tile = tiler->tile_in;
  const int32_t channels = tiler->tile_out->c;
  const size_t image = (size_t)tile->c * tile->h * tile->w;
  for (int32_t b = 0; b < tile->n; b++)
    copy_tile_planes(tiler, tile->data + b * image, x, channels, top, left);
  if (tiler->condition)
    copy_tile_planes(tiler, tile->data + (size_t)channels * tile->h * tile->w,
                     tiler->condition, channels + 1, top, left);
}

/* Classifier-free guidance (Ho & Salimans 2022, eq. 6): the first image's
 * output becomes o_u + w (o_c - o_u), o_u the second's. */
static void guide_tile(Tiler *tiler) {
  DmTensor *out = tiler->tile_out;
  if (out->n == 1) return;
  const size_t image = (size_t)out->c * out->h * out->w;
  const float w = tiler->guidance_scale;
  for (size_t i = 0; i < image; i++) {
    const float unconditional = out->data[image + i];
    out->data[i] = unconditional + w * (out->data[i] - unconditional);
  }
}

/* out += weight * tiler->tile_out at the tile (r, c). */
static void scatter_tile(Tiler *tiler, float *out, int32_t r, int32_t c) {
  dm_tile_blend_add(out, tiler->tile_out->data, tiler->tile_out->c,
                    tiler->height, tiler->width, &tiler->rows, &tiler->cols,
                    r, c);
}

static bool tiled_denoise(float *model_output, const float *x_t, float t,
                          void *user_data, GError **error) {
  Tiler *tiler = user_data;
  const size_t plane = (size_t)tiler->height * tiler->width;
  const int32_t out_channels = tiler->tile_out->c;
  memset(model_output, 0, out_channels * plane * sizeof(float));
  for (int32_t r = 0; r < tiler->rows.count; r++)
    for (int32_t c = 0; c < tiler->cols.count; c++) {
      gather_tile(tiler, x_t, tiler->rows.start[r], tiler->cols.start[c]);
      const float timesteps[2] = {t, t};
      const gint64 start = g_get_monotonic_time();
      if (!dm_model_run(tiler->model, tiler->tile_out, tiler->tile_in,
                        timesteps, tiler->padding, error))
        return false;
      tiler->model->network_seconds += (g_get_monotonic_time() - start) / 1e6;
      tiler->model->network_pixels +=
          (double)tiler->tile_in->n * tiler->tile_in->h * tiler->tile_in->w;
      guide_tile(tiler);
      scatter_tile(tiler, model_output, r, c);
    }
  for (int32_t k = 0; k < out_channels; k++)
    for (size_t p = 0; p < plane; p++)
      model_output[k * plane + p] /= tiler->weight_sum[p];
  return true;
}

int32_t dm_area_tiles(int32_t width, int32_t height,
                      const DmAreaOptions *options, DmRect *tiles) {
  DmTileAxis rows, cols;
  tile_axes(&rows, &cols, height, width, options);
  const int32_t count = rows.count * cols.count;
  for (int32_t r = 0; tiles && r < rows.count; r++)
    for (int32_t c = 0; c < cols.count; c++)
      tiles[r * cols.count + c] = (DmRect){cols.start[c], rows.start[r],
                                           cols.size, rows.size};
  dm_tile_axis_clear(&rows);
  dm_tile_axis_clear(&cols);
  return count;
}

void dm_model_network_time(const DmModel *model, double *seconds,
                           double *pixels) {
  *seconds = model->network_seconds;
  *pixels = model->network_pixels;
}

/* ---- inpainting and generation --------------------------------------------- */

bool dm_model_check_image(const DmModel *model, GError **error) {
  const DmUnetConfig *config = dm_model_config(model);
  if ((config->out_channels == 1 || config->out_channels == 3) &&
      dm_model_conditioning(model) != DM_CONDITIONING_COUNT)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "the model takes %d channels and gives %d; an image model "
              "gives 1 (grey) or 3 (RGB) and takes as many (unconditional) "
              "or twice as many plus a mask (mask-conditioned)",
              config->in_channels, config->out_channels);
  return false;
}

bool dm_image_check_size(int32_t width, int32_t height, GError **error) {
  if (width < 1 || height < 1 || width > DM_MAX_IMAGE_SIDE ||
      height > DM_MAX_IMAGE_SIDE) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "image size %dx%d is outside 1 .. %d pixels a side", width,
                height, DM_MAX_IMAGE_SIDE);
    return false;
  }
  return true;
}

static bool check_model_image(const DmModel *model, int32_t width,
                              int32_t height, GError **error) {
  return dm_model_check_image(model, error) &&
         dm_image_check_size(width, height, error);
}

bool dm_image_check_origin(const DmAreaOptions *options, int32_t width,
                           int32_t height, GError **error) {
  if (options->image_x >= 0 && options->image_y >= 0 &&
      (int64_t)options->image_x + width <= DM_MAX_IMAGE_SIDE &&
      (int64_t)options->image_y + height <= DM_MAX_IMAGE_SIDE)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "an image at (%d, %d) of size %dx%d lies outside the largest "
              "picture, %d pixels a side", options->image_x,
              options->image_y, width, height, DM_MAX_IMAGE_SIDE);
  return false;
}

bool dm_model_measure_evaluation(DmModel *model, int32_t width,
                                 int32_t height,
                                 const DmAreaOptions *area_options,
                                 double *seconds, GError **error) {
  if (!check_model_image(model, width, height, error) ||
      !dm_area_options_check(area_options, error))
    return false;
  DmTileAxis rows, cols;
  tile_axes(&rows, &cols, height, width, area_options);
  const int32_t tiles = rows.count * cols.count;
  const DmUnetConfig *config = dm_model_config(model);
  DmTensor *in = dm_tensor_new(1, config->in_channels, rows.size, cols.size,
                               error);
  DmTensor *out = in == NULL ? NULL :
      dm_tensor_new(1, config->out_channels, rows.size, cols.size, error);
  dm_tile_axis_clear(&rows);
  dm_tile_axis_clear(&cols);
  const float timestep = 0.0f; /* any: the cost does not depend on it */
  const gint64 start = g_get_monotonic_time();
  const bool ok = out && dm_model_forward_any_size(model, out, in, &timestep,
                                                   error);
  *seconds = tiles * ((g_get_monotonic_time() - start) / 1e6);
  dm_tensor_free(in);
  dm_tensor_free(out);
  return ok;
}

/* Runs the sampler on x (C, area) with the model on tiles; `condition`
 * (C + 1, area) is the conditioning of a mask-conditioned model. */
static bool sample_area(DmModel *model, DmPadding padding, float *x,
                        const DmSampleGrid *grid,
                        const DmSampleOptions *options,
                        const DmAreaOptions *area_options,
                        const DmInpaint *inpaint, const float *condition,
                        DmProgressFunc progress, void *progress_data,
                        GError **error) {
  Tiler tiler;
  if (!tiler_init(&tiler, model, padding, grid->height, grid->width,
                  condition, options, area_options, error))
    return false;
  const bool ok = dm_sample(x, grid, dm_model_schedule_config(model), options,
                            tiled_denoise, &tiler, inpaint, progress,
                            progress_data, error);
  tiler_free(&tiler);
  return ok;
}

void dm_area_crop(float *known, float *mask_area, const float *image,
                  const float *mask, int32_t channels, int32_t width,
                  int32_t height, const DmRect *area) {
  const size_t area_plane = (size_t)area->width * area->height;
  for (int32_t c = 0; c < channels; c++)
    for (int32_t y = 0; y < area->height; y++)
      for (int32_t x = 0; x < area->width; x++) {
        const size_t pixel = (size_t)(area->y + y) * width + area->x + x;
        const size_t at = c * area_plane + (size_t)y * area->width + x;
        known[at] = image[(size_t)c * width * height + pixel];
        mask_area[at] = fminf(fmaxf(mask[pixel], 0.0f), 1.0f);
      }
}

void dm_area_paste(float *image, const float *sample, const float *mask_area,
                   int32_t channels, int32_t width, int32_t height,
                   const DmRect *area) {
  const size_t area_plane = (size_t)area->width * area->height;
  for (int32_t c = 0; c < channels; c++)
    for (int32_t y = 0; y < area->height; y++)
      for (int32_t x = 0; x < area->width; x++) {
        const size_t at = c * area_plane + (size_t)y * area->width + x;
        if (mask_area[at] > 0.0f)
          image[(size_t)c * width * height +
                (size_t)(area->y + y) * width + area->x + x] = sample[at];
      }
}

/* The conditioning planes (C + 1, plane) of a mask-conditioned model for
 * inpainting `known` (C, plane) where `mask` (plane) is set, or with known
 * NULL its dropout mode (dm_fill_condition); NULL for other models (and,
 * with *error set, when out of memory). */
static float *new_condition(const DmModel *model, const float *known,
                            const float *mask, size_t plane, GError **error) {
  if (dm_model_conditioning(model) != DM_CONDITIONING_MASK) return NULL;
  const int32_t channels = dm_model_config(model)->out_channels;
  float *condition = malloc((channels + 1) * plane * sizeof(float));
  if (condition == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for the conditioning of a %zu-pixel area",
                plane);
    return NULL;
  }
  if (known) memcpy(condition, mask, plane * sizeof(float));
  dm_fill_condition(condition, known, channels, plane);
  return condition;
}

bool dm_model_inpaint(DmModel *model, float *image, const float *mask,
                      int32_t width, int32_t height,
                      const DmSampleOptions *options,
                      const DmAreaOptions *area_options,
                      DmProgressFunc progress, void *progress_data,
                      GError **error) {
  DmRect hole;
  if (!check_model_image(model, width, height, error) ||
      !dm_area_options_check(area_options, error) ||
      !dm_image_check_origin(area_options, width, height, error) ||
      !dm_mask_bounds(mask, width, height, &hole, error))
    return false;
  const DmRect area =
      dm_model_work_area(model, area_options, hole, width, height);
  const int32_t channels = dm_model_config(model)->out_channels;
  const size_t area_plane = (size_t)area.width * area.height;
  const size_t count = channels * area_plane;
  float *sample = malloc(count * sizeof(float));
  float *known = malloc(count * sizeof(float));
  float *mask_area = malloc(count * sizeof(float));
  float *condition = NULL;
  bool ok = sample && known && mask_area;
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a %dx%d work area", area.width, area.height);
  if (ok) {
    dm_area_crop(known, mask_area, image, mask, channels, width, height,
                 &area);
    condition = new_condition(model, known, mask_area, area_plane, error);
    ok = condition || dm_model_conditioning(model) == DM_CONDITIONING_NONE;
  }
  /* With strength < 1 the sampler starts from the image, its hole smoothly
   * filled unless the caller's own pixels there are to guide it. */
  if (ok && dm_sample_starts_from_image(options)) {
    memcpy(sample, known, count * sizeof(float));
    if (area_options->hole_start == DM_HOLE_START_SMOOTH &&
        !dm_fill_smooth(sample, mask_area, channels, area.width,
                        area.height)) {
      g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                  "out of memory for the smooth fill of a %dx%d work area",
                  area.width, area.height);
      ok = false;
    }
  }
  if (ok) {
    const DmSampleGrid grid = {channels, area.height, area.width,
                               area_options->image_x + area.x,
                               area_options->image_y + area.y};
    const DmInpaint inpaint = {known, mask_area};
    ok = sample_area(model, DM_PADDING_ZEROS, sample, &grid, options,
                     area_options, &inpaint, condition, progress,
                     progress_data, error);
  }
  if (ok && area_options->match_edges &&
      !dm_fill_match_edges(sample, known, mask_area, channels, area.width,
                           area.height)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for matching the edges of a %dx%d work area",
                area.width, area.height);
    ok = false;
  }
  if (ok)
    dm_area_paste(image, sample, mask_area, channels, width, height,
                  &area);
  free(sample);
  free(known);
  free(mask_area);
  free(condition);
  return ok;
}

/* The area options a generation runs with: a seamless image wraps around
 * in one piece, up to DM_SEAMLESS_MAX_PIXELS or the pixel budget, which
 * ever is larger. */
static DmAreaOptions generation_area(const DmAreaOptions *options) {
  DmAreaOptions area = *options;
  if (area.seamless)
    area.pixel_budget = MAX(area.pixel_budget, DM_SEAMLESS_MAX_PIXELS);
  return area;
}

/* A seamless image's sides must be multiples of the network's, and it
 * must run in one piece. */
static bool check_seamless(const DmModel *model, int32_t width,
                           int32_t height, const DmAreaOptions *options,
                           GError **error) {
  const int32_t multiple = dm_model_size_multiple(model);
  if (width % multiple != 0 || height % multiple != 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a seamless image needs a width and height that are "
                "multiples of %d for this model (got %dx%d)", multiple, width,
                height);
    return false;
  }
  if ((int64_t)width * height > options->pixel_budget) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a seamless image is made in one piece, so it must fit in "
                "%" G_GINT64_FORMAT " pixels (%dx%d is more; a larger pixel "
                "budget allows more)",
                options->pixel_budget, width, height);
    return false;
  }
  return true;
}

bool dm_model_generate(DmModel *model, float *image, int32_t width,
                       int32_t height, const DmSampleOptions *options,
                       const DmAreaOptions *area_options,
                       DmProgressFunc progress, void *progress_data,
                       GError **error) {
  if (!check_model_image(model, width, height, error) ||
      !dm_area_options_check(area_options, error) ||
      !dm_image_check_origin(area_options, width, height, error))
    return false;
  const DmAreaOptions area = generation_area(area_options);
  if (area.seamless && !check_seamless(model, width, height, &area, error))
    return false;
  if (dm_sample_starts_from_image(options)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a strength below 1 needs an image to start from: it is for "
                "inpainting, not generation (strength %g)", options->strength);
    return false;
  }
  float *condition =
      new_condition(model, NULL, NULL, (size_t)width * height, error);
  if (condition == NULL &&
      dm_model_conditioning(model) == DM_CONDITIONING_MASK)
    return false;
  DmSampleOptions unguided = *options;
  unguided.guidance_scale = 1.0f; /* o_c = o_u in the dropout mode */
  const DmSampleGrid grid = {dm_model_config(model)->out_channels, height,
                             width, area.image_x, area.image_y};
  const DmPadding padding =
      area.seamless ? DM_PADDING_CIRCULAR : DM_PADDING_ZEROS;
  const bool ok = sample_area(model, padding, image, &grid, &unguided, &area,
                              NULL, condition, progress, progress_data,
                              error);
  free(condition);
  return ok;
}
