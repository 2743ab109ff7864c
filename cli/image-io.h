/* gimp-diffusion CLI: images in and out through GEGL.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_IMAGE_IO_H
#define DM_CLI_IMAGE_IO_H

#include <babl/babl.h>

#include "dm.h"

/* Writes `image` (1, C, H, W) in the model's scale ([-1, 1] standing for
 * sRGB-encoded [0, 1]; C = 1 grey or 3 RGB) to `path`, in the format its
 * extension names (png, jpg, tif, webp; 8-bit), through a temporary file in
 * the same folder that is renamed into place: never half-written. */
bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error);

/* An image as loaded: its pixels as interleaved R'G'B'A floats in [0, 1]
 * and the format it came in (so that it can be written back the same). */
typedef struct {
  int32_t width, height;
  float *rgba;         /* (H, W, 4), owned */
  const Babl *format;  /* the file's pixel format (bit depth, alpha, grey) */
} DmCliImage;

/* Loads `path` through GEGL (png, jpg, tif, webp, ppm, ...). */
DmCliImage *dm_cli_image_load(const char *path, GError **error);
void dm_cli_image_free(DmCliImage *image);
/* Writes `image` in its own format (bit depth and alpha kept) to `path`,
 * through a temporary file that is renamed into place. */
bool dm_cli_image_save(const DmCliImage *image, const char *path,
                       GError **error);

#endif /* DM_CLI_IMAGE_IO_H */
