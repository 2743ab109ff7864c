/* gimp-diffusion core: a smooth fill of an image's holes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The harmonic fill solves Laplace's equation on the hole by nested
 * iteration: each level's solution, upsampled, starts the next finer
 * level's Gauss-Seidel sweeps, so every wavelength is smoothed at the size
 * where a few sweeps reach across it. */
#include "sampling/fill.h"

#include <stdlib.h>

/* Gauss-Seidel sweeps per level: each only has to smooth what the
 * upsampled coarser solution leaves, a few pixels' worth of error. */
#define SWEEPS 40

/* One size of the problem: values (C, H, W), and which pixels are fixed
 * boundary values (H, W). */
typedef struct {
  float *value;
  uint8_t *fixed;
  int32_t channels, width, height;
} Level;

/* In-place sweeps: each free pixel becomes the mean of its neighbours
 * inside the image (a missing neighbour adds no flux). */
static void relax(Level *l) {
  const int32_t w = l->width, h = l->height;
  for (int32_t sweep = 0; sweep < SWEEPS; sweep++)
    for (int32_t c = 0; c < l->channels; c++) {
      float *v = l->value + (size_t)c * w * h;
      for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
          const size_t at = (size_t)y * w + x;
          if (l->fixed[at]) continue;
          float sum = 0.0f;
          int32_t count = 0;
          if (x > 0) sum += v[at - 1], count++;
          if (x + 1 < w) sum += v[at + 1], count++;
          if (y > 0) sum += v[at - w], count++;
          if (y + 1 < h) sum += v[at + w], count++;
          if (count > 0) v[at] = sum / (float)count;
        }
    }
}

/* The smallest levels: every free pixel starts at the mean of the fixed
 * ones (0 when there are none), then relaxes. */
static void solve_directly(Level *l) {
  const size_t plane = (size_t)l->width * l->height;
  for (int32_t c = 0; c < l->channels; c++) {
    float *v = l->value + c * plane;
    double sum = 0.0;
    size_t count = 0;
    for (size_t p = 0; p < plane; p++)
      if (l->fixed[p]) sum += v[p], count++;
    const float mean = count > 0 ? (float)(sum / (double)count) : 0.0f;
    for (size_t p = 0; p < plane; p++)
      if (!l->fixed[p]) v[p] = mean;
  }
  relax(l);
}

/* coarse = the half-size level of fine: a coarse pixel is fixed when any
 * of its 2x2 children is, at the mean of its fixed children. */
static void restrict_level(Level *coarse, const Level *fine) {
  const int32_t w = fine->width, h = fine->height;
  const int32_t cw = coarse->width, ch = coarse->height;
  for (int32_t c = 0; c < fine->channels; c++)
    for (int32_t y = 0; y < ch; y++)
      for (int32_t x = 0; x < cw; x++) {
        float sum = 0.0f;
        int32_t count = 0;
        for (int32_t dy = 0; dy < 2 && 2 * y + dy < h; dy++)
          for (int32_t dx = 0; dx < 2 && 2 * x + dx < w; dx++) {
            const size_t at = (size_t)(2 * y + dy) * w + 2 * x + dx;
            if (fine->fixed[at])
              sum += fine->value[(size_t)c * w * h + at], count++;
          }
        const size_t at = (size_t)y * cw + x;
        coarse->fixed[at] = count > 0;
        coarse->value[(size_t)c * cw * ch + at] =
            count > 0 ? sum / (float)count : 0.0f;
      }
}

static bool solve(Level *l);

/* Solves the half-size problem and copies it into l's free pixels. */
static bool start_from_coarse(Level *l) {
  Level coarse = {.channels = l->channels, .width = (l->width + 1) / 2,
                  .height = (l->height + 1) / 2};
  const size_t plane = (size_t)coarse.width * coarse.height;
  coarse.value = malloc(plane * l->channels * sizeof(float));
  coarse.fixed = malloc(plane);
  bool ok = coarse.value && coarse.fixed;
  if (ok) {
    restrict_level(&coarse, l);
    ok = solve(&coarse);
  }
  for (int32_t c = 0; ok && c < l->channels; c++)
    for (int32_t y = 0; y < l->height; y++)
      for (int32_t x = 0; x < l->width; x++) {
        const size_t at = (size_t)y * l->width + x;
        if (!l->fixed[at])
          l->value[(size_t)c * l->width * l->height + at] =
              coarse.value[c * plane + (size_t)(y / 2) * coarse.width + x / 2];
      }
  free(coarse.value);
  free(coarse.fixed);
  return ok;
}

static bool solve(Level *l) {
  if (l->width <= 4 || l->height <= 4) {
    solve_directly(l);
    return true;
  }
  if (!start_from_coarse(l)) return false;
  relax(l);
  return true;
}

bool dm_fill_smooth(float *image, const float *mask, int32_t channels,
                    int32_t width, int32_t height) {
  const size_t plane = (size_t)width * height;
  Level level = {.value = image, .channels = channels, .width = width,
                 .height = height, .fixed = malloc(plane)};
  if (level.fixed == NULL) return false;
  for (size_t p = 0; p < plane; p++) level.fixed[p] = !(mask[p] > 0.0f);
  const bool ok = solve(&level);
  free(level.fixed);
  return ok;
}

/* Whether pixel (x, y) is in the hole (mask > 0; NaN counts as known). */
static bool in_hole(const float *mask, int32_t width, int32_t x, int32_t y) {
  return mask[(size_t)y * width + x] > 0.0f;
}

/* The shift (C, plane) at the hole's border pixels: the mean of the
 * pixel's known 4-neighbours in `known` minus its value in `image`, 0
 * elsewhere; free_pixels (plane) is 0 at the border (the shifts are fixed
 * there), 1 elsewhere: dm_fill_smooth's mask for spreading them. */
static void border_shifts(float *shift, float *free_pixels, const float *image,
                          const float *known, const float *mask,
                          int32_t channels, int32_t width, int32_t height) {
  const size_t plane = (size_t)width * height;
  static const int32_t dx[4] = {-1, 1, 0, 0}, dy[4] = {0, 0, -1, 1};
  for (int32_t y = 0; y < height; y++)
    for (int32_t x = 0; x < width; x++) {
      const size_t at = (size_t)y * width + x;
      int32_t neighbours[4], count = 0;
      const bool hole = in_hole(mask, width, x, y);
      for (int32_t k = 0; k < 4 && hole; k++) {
        const int32_t nx = x + dx[k], ny = y + dy[k];
        if (nx >= 0 && nx < width && ny >= 0 && ny < height &&
            !in_hole(mask, width, nx, ny))
          neighbours[count++] = ny * width + nx;
      }
      free_pixels[at] = count > 0 ? 0.0f : 1.0f;
      for (int32_t c = 0; c < channels; c++) {
        float sum = 0.0f;
        for (int32_t k = 0; k < count; k++) sum += known[c * plane + neighbours[k]];
        shift[c * plane + at] =
            count > 0 ? sum / (float)count - image[c * plane + at] : 0.0f;
      }
    }
}

bool dm_fill_match_edges(float *image, const float *known, const float *mask,
                         int32_t channels, int32_t width, int32_t height) {
  const size_t plane = (size_t)width * height;
  float *shift = malloc(channels * plane * sizeof(float));
  float *free_pixels = malloc(plane * sizeof(float));
  bool ok = shift && free_pixels;
  if (ok) {
    /* Only the border's shifts are boundary values: known pixels stay free
     * (the 4-neighbour stencil never reaches them from inside the hole),
     * so they do not pull the coarse levels' solution towards 0. */
    border_shifts(shift, free_pixels, image, known, mask, channels, width,
                  height);
    ok = dm_fill_smooth(shift, free_pixels, channels, width, height);
  }
  for (int32_t c = 0; ok && c < channels; c++)
    for (size_t p = 0; p < plane; p++)
      if (mask[p] > 0.0f) image[c * plane + p] += shift[c * plane + p];
  free(shift);
  free(free_pixels);
  return ok;
}
