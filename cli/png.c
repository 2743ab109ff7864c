/* gimp-diffusion CLI: PNG files in and out through libpng.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reading refuses damaged files. GEGL's PNG loader loops forever, printing libpng warnings, on some
 * truncated files. Here libpng reads from memory, reading past the end is
 * an error, and errors jump back to the caller. Warnings (a CRC error in
 * an ancillary chunk, an odd profile) are ignored, as is a missing end
 * after the pixels. Palettes, grey below 8 bits and tRNS transparency are
 * expanded; 16-bit samples stay 16-bit. Values are taken as sRGB-encoded
 * (gAMA, cHRM and ICC profiles are ignored).
 *
 * Writing goes through a callback that writes to the sink: a failed write
 * is a libpng error, and errors jump back here, as when reading. 8- or
 * 16-bit grey, grey + alpha, RGB or RGBA; no interlacing; marked sRGB. */
#include <setjmp.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <png.h>

#include "image-io.h"

/* Where libpng's errors jump back to (its error pointer). */
typedef struct {
  jmp_buf escape;
  char message[256]; /* libpng's error */
} PngEscape;

static G_GNUC_NORETURN void on_error(png_structp png,
                                     png_const_charp message) {
  PngEscape *escape = png_get_error_ptr(png);
  g_strlcpy(escape->message, message, sizeof escape->message);
  longjmp(escape->escape, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
  const guint8 *bytes;
  size_t size, offset;
} PngSource;

static void read_source(png_structp png, png_bytep out, size_t length) {
  PngSource *source = png_get_io_ptr(png);
  if (length > source->size - source->offset)
    png_error(png, "the file ends early");
  memcpy(out, source->bytes + source->offset, length);
  source->offset += length;
}

DmCliImage *dm_cli_png_read(const guint8 *bytes, size_t size,
                            const DmCliReadOptions *options, GError **error) {
  PngSource source = {.bytes = bytes, .size = size};
  PngEscape escape;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &escape,
                                           on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (info == NULL) {
    png_destroy_read_struct(&png, NULL, NULL);
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                _("out of memory starting libpng"));
    return NULL;
  }
  DmCliImage *volatile image = NULL;
  guint8 *volatile samples = NULL; /* (height, row_bytes) as decoded */
  png_bytep *volatile rows = NULL; /* (height) into samples */
  if (setjmp(escape.escape)) {
    dm_cli_image_free(image);
    image = NULL;
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                _("corrupt or truncated PNG image: %s"), escape.message);
  } else {
    png_set_read_fn(png, &source, read_source);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const png_uint_32 width = png_get_image_width(png, info);
    const png_uint_32 height = png_get_image_height(png, info);
    const int channels = png_get_channels(png, info);
    const int sample_bytes = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    const size_t row_bytes = png_get_rowbytes(png, info);
    image = dm_cli_image_from_header(
        (int32_t)MIN(width, INT32_MAX), (int32_t)MIN(height, INT32_MAX),
        dm_cli_pixel_format(channels, sample_bytes), options, error);
    const bool decode = image && image->rgba; /* not only the size */
    if (decode && (!(samples = g_try_malloc(row_bytes * height)) ||
                   !(rows = g_try_new(png_bytep, height)))) {
      dm_cli_image_free(image);
      image = NULL;
      g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                  _("out of memory for %ux%u pixels"), width, height);
    }
    for (png_uint_32 y = 0; rows && y < height; y++)
      rows[y] = samples + y * row_bytes;
    if (rows) {
      png_read_image(png, rows);
      dm_cli_store_pixels(image->rgba, samples, (size_t)width * height,
                          channels, sample_bytes);
    }
  }
  g_free(rows);
  g_free(samples);
  png_destroy_read_struct(&png, &info, NULL);
  return image;
}

/* ---- writing ------------------------------------------------------------ */

static void write_sink(png_structp png, png_bytep data, size_t length) {
  if (!dm_cli_sink_write(png_get_io_ptr(png), data, length))
    png_error(png, "write failed");
}

static void flush_sink(png_structp png) { (void)png; }

static const int colour_types[] = {PNG_COLOR_TYPE_GRAY,
                                   PNG_COLOR_TYPE_GRAY_ALPHA,
                                   PNG_COLOR_TYPE_RGB,
                                   PNG_COLOR_TYPE_RGB_ALPHA};

bool dm_cli_png_write(DmCliSink *sink, const DmCliRaster *raster,
                      GError **error) {
  PngEscape escape;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &escape,
                                            on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (info == NULL) {
    png_destroy_write_struct(&png, NULL);
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                _("out of memory starting libpng"));
    return false;
  }
  volatile bool ok = false;
  if (setjmp(escape.escape)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "libpng: %s", escape.message);
  } else {
    png_set_write_fn(png, sink, write_sink, flush_sink);
    png_set_IHDR(png, info, (png_uint_32)raster->width,
                 (png_uint_32)raster->height, 8 * raster->sample_bytes,
                 colour_types[raster->channels - 1], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(png, info);
    if (raster->sample_bytes == 2 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
      png_set_swap(png);
    const size_t row_bytes =
        (size_t)raster->width * raster->channels * raster->sample_bytes;
    for (int32_t y = 0; y < raster->height; y++)
      png_write_row(png, raster->samples + y * row_bytes);
    png_write_end(png, info);
    ok = true;
  }
  png_destroy_write_struct(&png, &info);
  return ok;
}
