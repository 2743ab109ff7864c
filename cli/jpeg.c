/* gimp-diffusion CLI: JPEG files in and out through libjpeg.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reading refuses corrupt files. GEGL's JPEG loader keeps libjpeg's default error handler, which calls
 * exit(), and its data source never signals the end of the file, so some
 * corrupt files end the process or hang it. Here errors jump back to the
 * caller, the end of the data is reported (libjpeg then warns "premature
 * end"), and any libjpeg warning refuses the file: for training data a
 * dubious file is better skipped than half grey. Values are taken as
 * sRGB-encoded (embedded ICC profiles are ignored); CMYK is refused.
 *
 * Writing: libjpeg's stdio destination ignores write errors (and GEGL's
 * ends the process on a full disk); here the destination writes through
 * the sink, a failed write is a libjpeg error, and errors jump back to the
 * caller. 8-bit grey or RGB, quality 90, optimised Huffman tables. */
#include <setjmp.h>
#include <stdio.h>

#include <glib/gi18n-lib.h>
#include <jpeglib.h>
#include <jerror.h>

#include "image-io.h"

typedef struct {
  struct jpeg_error_mgr manager; /* first: libjpeg reaches it as cinfo->err */
  jmp_buf escape;
  char first_message[JMSG_LENGTH_MAX];
} ErrorState;

static void remember_message(j_common_ptr cinfo) {
  ErrorState *state = (ErrorState *)cinfo->err;
  if (state->first_message[0] == '\0')
    cinfo->err->format_message(cinfo, state->first_message);
}

static G_GNUC_NORETURN void on_error(j_common_ptr cinfo) {
  remember_message(cinfo);
  longjmp(((ErrorState *)cinfo->err)->escape, 1);
}

/* level -1: a warning (counted, remembered); others: traces, ignored. */
static void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  cinfo->err->num_warnings++;
  remember_message(cinfo);
}

/* ---- reading ------------------------------------------------------------ */

/* After a successful header read: the libjpeg output space for this file,
 * or false for CMYK and YCCK. */
static bool choose_output(struct jpeg_decompress_struct *info,
                          GError **error) {
  switch (info->jpeg_color_space) {
  case JCS_GRAYSCALE:
    info->out_color_space = JCS_GRAYSCALE;
    return true;
  case JCS_CMYK:
  case JCS_YCCK:
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                _("CMYK JPEG images are not supported"));
    return false;
  default:
    info->out_color_space = JCS_RGB;
    return true;
  }
}

DmCliImage *dm_cli_jpeg_read(const guint8 *bytes, size_t size,
                             const DmCliReadOptions *options, GError **error) {
  struct jpeg_decompress_struct info = {0};
  ErrorState state = {.first_message = ""};
  DmCliImage *volatile image = NULL;
  info.err = jpeg_std_error(&state.manager);
  state.manager.error_exit = on_error;
  state.manager.emit_message = on_message;
  if (setjmp(state.escape)) {
    dm_cli_image_free(image);
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("corrupt JPEG image: %s"),
                state.first_message);
    jpeg_destroy_decompress(&info);
    return NULL;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes, (unsigned long)size);
  jpeg_read_header(&info, TRUE);
  if (choose_output(&info, error) &&
      (image = dm_cli_image_from_header(
           (int32_t)MIN(info.image_width, INT32_MAX),
           (int32_t)MIN(info.image_height, INT32_MAX),
           dm_cli_pixel_format(
               info.out_color_space == JCS_GRAYSCALE ? 1 : 3, 1),
           options, error)) &&
      image->rgba) {
    jpeg_start_decompress(&info);
    JSAMPARRAY row = info.mem->alloc_sarray(
        (j_common_ptr)&info, JPOOL_IMAGE,
        info.output_width * (JDIMENSION)info.output_components, 1);
    while (info.output_scanline < info.output_height) {
      const size_t y = info.output_scanline;
      jpeg_read_scanlines(&info, row, 1);
      dm_cli_store_pixels(image->rgba + y * info.output_width * 4, row[0],
                          info.output_width, info.output_components, 1);
    }
    jpeg_finish_decompress(&info);
  }
  if (image && state.manager.num_warnings > 0) {
    dm_cli_image_free(image);
    image = NULL;
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("corrupt or truncated "
                "JPEG image: %s"), state.first_message);
  }
  jpeg_destroy_decompress(&info);
  return image;
}

/* ---- writing ------------------------------------------------------------ */

#define QUALITY 90

typedef struct {
  struct jpeg_destination_mgr manager; /* first: reached as cinfo->dest */
  DmCliSink *sink;
  JOCTET buffer[1 << 16];
} Destination;

static void start_buffer(j_compress_ptr cinfo) {
  Destination *d = (Destination *)cinfo->dest;
  d->manager.next_output_byte = d->buffer;
  d->manager.free_in_buffer = sizeof d->buffer;
}

static boolean write_buffer(j_compress_ptr cinfo) {
  Destination *d = (Destination *)cinfo->dest;
  if (!dm_cli_sink_write(d->sink, d->buffer, sizeof d->buffer))
    ERREXIT(cinfo, JERR_FILE_WRITE);
  start_buffer(cinfo);
  return TRUE;
}

static void write_rest(j_compress_ptr cinfo) {
  Destination *d = (Destination *)cinfo->dest;
  if (!dm_cli_sink_write(d->sink, d->buffer,
                         sizeof d->buffer - d->manager.free_in_buffer))
    ERREXIT(cinfo, JERR_FILE_WRITE);
}

bool dm_cli_jpeg_write(DmCliSink *sink, const DmCliRaster *raster,
                       GError **error) {
  struct jpeg_compress_struct info = {0};
  ErrorState state = {.first_message = ""};
  Destination *destination = g_new0(Destination, 1);
  destination->manager = (struct jpeg_destination_mgr){
      .init_destination = start_buffer, .empty_output_buffer = write_buffer,
      .term_destination = write_rest};
  destination->sink = sink;
  info.err = jpeg_std_error(&state.manager);
  state.manager.error_exit = on_error;
  state.manager.emit_message = on_message;
  volatile bool ok = false;
  if (setjmp(state.escape)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "libjpeg: %s",
                state.first_message);
  } else {
    jpeg_create_compress(&info);
    info.dest = &destination->manager;
    info.image_width = (JDIMENSION)raster->width;
    info.image_height = (JDIMENSION)raster->height;
    info.input_components = raster->channels;
    info.in_color_space = raster->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, QUALITY, TRUE);
    info.optimize_coding = TRUE;
    jpeg_start_compress(&info, TRUE);
    const size_t row_bytes = (size_t)raster->width * raster->channels;
    while (info.next_scanline < info.image_height) {
      JSAMPROW row = (JSAMPROW)(raster->samples + info.next_scanline * row_bytes);
      jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    ok = true;
  }
  jpeg_destroy_compress(&info);
  g_free(destination);
  return ok;
}
