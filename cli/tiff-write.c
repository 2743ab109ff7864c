/* gimp-diffusion CLI: TIFF files through libtiff, every write checked.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * libtiff writes through our procedures on the sink's file (it seeks back
 * to patch offsets, so the file is also read and sought), reports errors
 * to a handler of this file only, and each call's result is checked. 8- or
 * 16-bit grey, grey + alpha, RGB or RGBA (unassociated alpha), LZW with
 * horizontal prediction; colour images carry babl's sRGB profile, as
 * GEGL's TIFF saver writes them. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <tiffio.h>

#include "image-io.h"

typedef struct {
  DmCliSink *sink;
  char message[256]; /* libtiff's first error */
} TiffTarget;

static tmsize_t read_target(thandle_t handle, void *data, tmsize_t size) {
  const TiffTarget *target = handle;
  return read(target->sink->fd, data, (size_t)size);
}

static tmsize_t write_target(thandle_t handle, void *data, tmsize_t size) {
  TiffTarget *target = handle;
  return dm_cli_sink_write(target->sink, data, (size_t)size) ? size : -1;
}

static toff_t seek_target(thandle_t handle, toff_t offset, int whence) {
  const TiffTarget *target = handle;
  return (toff_t)lseek(target->sink->fd, (off_t)offset, whence);
}

/* The caller closes the file. */
static int close_target(thandle_t handle) {
  (void)handle;
  return 0;
}

static toff_t target_size(thandle_t handle) {
  const TiffTarget *target = handle;
  struct stat info;
  return fstat(target->sink->fd, &info) == 0 ? (toff_t)info.st_size : 0;
}

static int no_map(thandle_t handle, void **base, toff_t *size) {
  (void)handle;
  (void)base;
  (void)size;
  return 0;
}

static void no_unmap(thandle_t handle, void *base, toff_t size) {
  (void)handle;
  (void)base;
  (void)size;
}

static int on_error(TIFF *tiff, void *user_data, const char *module,
                    const char *format, va_list args) {
  (void)tiff;
  (void)module;
  TiffTarget *target = user_data;
  if (target->message[0] == '\0')
    g_vsnprintf(target->message, sizeof target->message, format, args);
  return 1; /* handled: libtiff prints nothing */
}

static int on_warning(TIFF *tiff, void *user_data, const char *module,
                      const char *format, va_list args) {
  (void)tiff;
  (void)user_data;
  (void)module;
  (void)format;
  (void)args;
  return 1;
}

/* The tags of `raster`; false when libtiff refused one. */
static bool set_fields(TIFF *tiff, const DmCliRaster *raster) {
  const int colours = raster->channels <= 2 ? 1 : 3;
  bool ok = TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, (uint32_t)raster->width) &&
            TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, (uint32_t)raster->height) &&
            TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE,
                         (uint16_t)(8 * raster->sample_bytes)) &&
            TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL,
                         (uint16_t)raster->channels) &&
            TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT) &&
            TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC,
                         colours == 1 ? PHOTOMETRIC_MINISBLACK
                                      : PHOTOMETRIC_RGB) &&
            TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(tiff, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
            TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_LZW) &&
            TIFFSetField(tiff, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL) &&
            TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP,
                         TIFFDefaultStripSize(tiff, 0));
  if (ok && raster->channels > colours) {
    const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    ok = TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, (uint16_t)1, &extra);
  }
  if (ok && colours == 3) {
    int length = 0;
    const char *icc = babl_space_get_icc(babl_space("sRGB"), &length);
    ok = TIFFSetField(tiff, TIFFTAG_ICCPROFILE, (uint32_t)length, icc);
  }
  return ok;
}

/* The rows, through a copy each (the predictor works in place). */
static bool write_rows(TIFF *tiff, const DmCliRaster *raster) {
  const size_t row_bytes =
      (size_t)raster->width * raster->channels * raster->sample_bytes;
  guint8 *row = g_malloc(row_bytes);
  bool ok = true;
  for (int32_t y = 0; ok && y < raster->height; y++) {
    memcpy(row, raster->samples + y * row_bytes, row_bytes);
    ok = TIFFWriteScanline(tiff, row, (uint32_t)y, 0) == 1;
  }
  g_free(row);
  return ok;
}

bool dm_cli_tiff_write(DmCliSink *sink, const DmCliRaster *raster,
                       GError **error) {
  TiffTarget target = {.sink = sink};
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &target);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &target);
  TIFF *tiff = TIFFClientOpenExt("image", "w", &target, read_target,
                                 write_target, seek_target, close_target,
                                 target_size, no_map, no_unmap, options);
  TIFFOpenOptionsFree(options);
  bool ok = tiff && set_fields(tiff, raster) && write_rows(tiff, raster) &&
            TIFFFlush(tiff) == 1;
  if (tiff) TIFFClose(tiff);
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "libtiff: %s",
                target.message[0] ? target.message : _("failed"));
  return ok;
}
