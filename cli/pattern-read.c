/* gimp-diffusion CLI: GIMP patterns (.pat), which GEGL cannot load.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The format (GIMP's devel-docs/specifications/pat.txt), integers 32-bit
 * big-endian:
 *   bytes  0..3   header_size, >= 24: where the pixels start
 *          4..7   version, 1
 *          8..11  width, >= 1
 *         12..15  height, >= 1
 *         16..19  bytes per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
 *         20..23  magic "GPAT"
 *         24..    the pattern's name, UTF-8 (ignored here), up to
 *                 header_size
 *   header_size.. width * height * bytes per pixel, 8-bit sRGB-encoded,
 *                 rows top to bottom
 * Every size is checked against the file's length, with overflow-safe
 * arithmetic, before a pixel is read; bytes after the pixels are ignored. */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "image-io.h"

#define HEADER_MIN 24
#define SIDE_MAX 524288 /* GIMP's largest image side */

static uint32_t read_be32(const guint8 *bytes) {
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 |
         (uint32_t)bytes[2] << 8 | bytes[3];
}

typedef struct {
  uint32_t header_size, version, width, height, depth;
} PatternHeader;

/* Checks the header against the file's `size`; false with a reason. */
static bool check_header(const PatternHeader *h, size_t size,
                         GError **error) {
  const char *problem = NULL;
  if (h->version != 1)
    problem = "only version 1 exists";
  else if (h->header_size < HEADER_MIN || h->header_size > size)
    problem = _("the header size is outside the file");
  else if (h->width < 1 || h->width > SIDE_MAX || h->height < 1 ||
           h->height > SIDE_MAX)
    problem = _("the size is outside 1 .. 524288");
  else if (h->depth < 1 || h->depth > 4)
    problem = _("the bytes per pixel are outside 1 .. 4");
  if (problem) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("corrupt GIMP pattern "
                "(version %u, %ux%u, %u bytes per pixel, header %u bytes): "
                "%s"), h->version, h->width, h->height, h->depth,
                h->header_size, problem);
    return false;
  }
  /* width, height <= 2^19 and depth <= 4: the product fits 64 bits. */
  const uint64_t pixel_bytes = (uint64_t)h->width * h->height * h->depth;
  if (pixel_bytes > size - h->header_size) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("truncated GIMP pattern: "
                "%ux%u at %u bytes per pixel needs %llu bytes of pixels, the "
                "file holds %zu"), h->width, h->height, h->depth,
                (unsigned long long)pixel_bytes, size - h->header_size);
    return false;
  }
  return true;
}

DmCliImage *dm_cli_pattern_read(const guint8 *bytes, size_t size,
                                const DmCliReadOptions *options,
                                GError **error) {
  if (size < HEADER_MIN || memcmp(bytes + 20, "GPAT", 4) != 0) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_FORMAT,
                        _("not a GIMP pattern (no \"GPAT\" at byte 20)"));
    return NULL;
  }
  const PatternHeader h = {read_be32(bytes), read_be32(bytes + 4),
                           read_be32(bytes + 8), read_be32(bytes + 12),
                           read_be32(bytes + 16)};
  if (!check_header(&h, size, error)) return NULL;
  DmCliImage *image = dm_cli_image_from_header(
      (int32_t)h.width, (int32_t)h.height,
      dm_cli_pixel_format((int)h.depth, 1), options, error);
  if (image && image->rgba)
    dm_cli_store_pixels(image->rgba, bytes + h.header_size,
                        (size_t)h.width * h.height, (int)h.depth, 1);
  return image;
}
