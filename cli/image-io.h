/* gimp-diffusion CLI: images in (image-io.c) and out (image-write.c).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_IMAGE_IO_H
#define DM_CLI_IMAGE_IO_H

#include <babl/babl.h>

#include "dm.h"

/* An image as loaded: its pixels as interleaved R'G'B'A floats in [0, 1]
 * and the format it came in (so that it can be written back the same). */
typedef struct {
  int32_t width, height;
  float *rgba;         /* (H, W, 4), owned; NULL when only the size was read */
  const Babl *format;  /* the file's pixel format (bit depth, alpha, grey) */
} DmCliImage;

/* The default pixel budget: 8192 x 8192, 1 GiB as float R'G'B'A. Every
 * reader takes an image's size from its header and refuses one above the
 * budget before decoding a pixel: a small file that claims a huge image
 * (a decompression bomb) costs nothing. */
#define DM_CLI_DEFAULT_MAX_PIXELS (INT64_C(1) << 26)

/* What a reader is asked for. */
typedef struct {
  int64_t max_pixels; /* the pixel budget (> 0) */
  bool size_only;     /* read the header only: rgba comes back NULL (and
                         for GEGL's formats the format is a guess) */
} DmCliReadOptions;

/* Whether width x height is a size gimp-diffusion reads: not empty, not
 * over `max_pixels` (else *error says which, naming --max-pixels). */
bool dm_cli_image_size_ok(int32_t width, int32_t height, int64_t max_pixels,
                          GError **error);
/* An image of width x height (rgba uninitialised), or NULL with *error set
 * when the size is empty or memory is short. */
DmCliImage *dm_cli_image_new(int32_t width, int32_t height,
                             const Babl *format, GError **error);
/* For a reader that has read the header: NULL with *error set when the
 * size is refused (dm_cli_image_size_ok) or memory is short; else the
 * image, without pixels when `options` asks for the size only. */
DmCliImage *dm_cli_image_from_header(int32_t width, int32_t height,
                                     const Babl *format,
                                     const DmCliReadOptions *options,
                                     GError **error);

/* Decodes the image file `path`, its format told by its first bytes, never
 * by its name: WebP, TIFF, GIF, PNM (P2, P3, P5, P6), OpenEXR and Radiance
 * HDR through GEGL's loaders; PNG (libpng) and JPEG (libjpeg) here, as
 * GEGL's loaders for them hang or exit the process on some truncated or
 * corrupt files; GIMP patterns (.pat), which GEGL cannot read. Untrusted
 * input: any other file, a file above the pixel budget, and a file its
 * decoder reports as corrupt or truncated, is refused with a one-line
 * reason in *error that does not repeat the path. `options` NULL: the
 * whole image within DM_CLI_DEFAULT_MAX_PIXELS. GEGL's loaders run in a
 * child process: one that exits, crashes or hangs on a damaged file costs
 * that file only, and what they print is kept off stderr. Limitation:
 * GEGL's PNM and Radiance HDR loaders read a truncated file as far as it
 * goes without a word, so such files pass, partly blank. */
DmCliImage *dm_cli_image_decode(const char *path,
                                const DmCliReadOptions *options,
                                GError **error);
/* dm_cli_image_decode() with "cannot read image 'PATH': " before the
 * reason. */
DmCliImage *dm_cli_image_load(const char *path,
                              const DmCliReadOptions *options,
                              GError **error);
void dm_cli_image_free(DmCliImage *image);

/* The file `path` in format `name` (for messages) through the GEGL loader
 * `operation`, in a child process (gegl-read.c), with the same contract as
 * dm_cli_image_decode() (`options` not NULL). */
DmCliImage *dm_cli_gegl_read(const char *name, const char *operation,
                             const char *path,
                             const DmCliReadOptions *options, GError **error);

/* Readers of the formats not left to GEGL, from a file's bytes, with the
 * same contract as dm_cli_image_decode() (`options` not NULL). */
DmCliImage *dm_cli_png_read(const guint8 *bytes, size_t size,
                            const DmCliReadOptions *options, GError **error);
DmCliImage *dm_cli_jpeg_read(const guint8 *bytes, size_t size,
                             const DmCliReadOptions *options, GError **error);
DmCliImage *dm_cli_pattern_read(const guint8 *bytes, size_t size,
                                const DmCliReadOptions *options,
                                GError **error);

/* What those readers share. Channels 1 grey, 2 grey + alpha, 3 R'G'B',
 * 4 R'G'B'A; samples of 1 byte or 2 (big-endian). */
const Babl *dm_cli_pixel_format(int channels, int sample_bytes);
/* rgba (count, 4) floats in [0, 1] from `samples` (count, channels). */
void dm_cli_store_pixels(float *rgba, const guint8 *samples, size_t count,
                         int channels, int sample_bytes);

/* ---- writing (image-write.c) --------------------------------------------
 *
 * The format is told by the extension of `path`'s last component (case
 * ignored): png, jpg/jpeg, tif/tiff, webp, ppm, pgm, pnm; any other name is
 * refused. Each keeps what it can of the image's own format: PNG and TIFF
 * grey or colour, alpha, 8 or 16 bits as the image has them; PNM 8 or 16
 * bits without alpha (ppm colour, pgm grey, pnm either); JPEG 8 bits, grey
 * or colour, quality 90, no alpha; WebP 8 bits, colour, alpha, lossless (so
 * that inpainting keeps every pixel outside the mask exact).
 *
 * Files are replaced, never half-written: the image goes to a temporary
 * file ".NAME.tmp-XXXXXX" in the same folder, every write and the close are
 * checked, the file is fsynced and renamed over `path`; on any failure it
 * is removed and `path` stays as it was. A symbolic link is written
 * through: its target is replaced and the link kept. A `path` that exists
 * and is not a regular file (folder, device, pipe, socket) is refused, and
 * so is a link to a missing file. Errors name `path` and the reason ("No
 * space left on device"). */

/* Writes `image` in its own format (bit depth and alpha kept, as far as
 * the format of `path` holds them) to `path`. */
bool dm_cli_image_save(const DmCliImage *image, const char *path,
                       GError **error);
/* Writes `image` (1, C, H, W) in the model's scale ([-1, 1] standing for
 * sRGB-encoded [0, 1]; C = 1 grey or 3 RGB) to `path` as an 8-bit image,
 * as dm_cli_image_save() writes. */
bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error);
/* Whether dm_cli_image_save() could write `path`: the extension names a
 * format it writes, the target is a regular file or absent and its folder
 * exists and is writable (else *error says which). For a command to check
 * its output before the work. */
bool dm_cli_output_check(const char *path, GError **error);

/* A file being written: every write is checked; after the first failure
 * nothing more is written and `error_number` keeps its errno. */
typedef struct {
  int fd;
  int error_number; /* errno of the first failed write; 0 while none */
} DmCliSink;
bool dm_cli_sink_write(DmCliSink *sink, const void *data, size_t size);

/* Writes `data` into a file through `encode`; false when it failed, with
 * *error set unless the failure was a write (sink->error_number). */
typedef bool (*DmCliEncodeFunc)(DmCliSink *sink, const void *data,
                                GError **error);
/* Replaces the file `path` (a link: its target) with what `encode` writes,
 * through a temporary file in the same folder as described above; the new
 * file keeps the old one's permissions. */
bool dm_cli_replace_file(const char *path, DmCliEncodeFunc encode,
                         const void *data, GError **error);

/* Pixels as an encoder takes them: (height, width, channels) samples of
 * `sample_bytes` bytes each, in the host's byte order; channels as for
 * dm_cli_pixel_format(). */
typedef struct {
  int32_t width, height;
  int channels, sample_bytes;
  const guint8 *samples;
} DmCliRaster;

/* The encoders of the formats above that need a library; a failed write
 * ends them with false (sink->error_number set). */
bool dm_cli_png_write(DmCliSink *sink, const DmCliRaster *raster,
                      GError **error);
bool dm_cli_jpeg_write(DmCliSink *sink, const DmCliRaster *raster,
                       GError **error);
bool dm_cli_tiff_write(DmCliSink *sink, const DmCliRaster *raster,
                       GError **error);

#endif /* DM_CLI_IMAGE_IO_H */
