/* gimp-diffusion CLI: JPEG files through libjpeg, refusing corrupt ones.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * GEGL's JPEG loader keeps libjpeg's default error handler, which calls
 * exit(), and its data source never signals the end of the file, so some
 * corrupt files end the process or hang it. Here errors jump back to the
 * caller, the end of the data is reported (libjpeg then warns "premature
 * end"), and any libjpeg warning refuses the file: for training data a
 * dubious file is better skipped than half grey. Values are taken as
 * sRGB-encoded (embedded ICC profiles are ignored); CMYK is refused. */
#include <setjmp.h>
#include <stdio.h>

#include <glib/gi18n-lib.h>
#include <jpeglib.h>

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
                             GError **error) {
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
      (image = dm_cli_image_new(
           (int32_t)MIN(info.image_width, INT32_MAX),
           (int32_t)MIN(info.image_height, INT32_MAX),
           dm_cli_pixel_format(
               info.out_color_space == JCS_GRAYSCALE ? 1 : 3, 1),
           error))) {
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
