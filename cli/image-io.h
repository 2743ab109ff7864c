/* gimp-diffusion CLI: images in and out through GEGL.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_IMAGE_IO_H
#define DM_CLI_IMAGE_IO_H

#include "dm.h"

/* Writes `image` (1, C, H, W) in the model's scale ([-1, 1] standing for
 * sRGB-encoded [0, 1]; C = 1 grey or 3 RGB) to `path`, in the format its
 * extension names (png, jpg, tif, webp; 8-bit), through a temporary file in
 * the same folder that is renamed into place: never half-written. */
bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error);

#endif /* DM_CLI_IMAGE_IO_H */
