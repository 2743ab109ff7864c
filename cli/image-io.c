/* gimp-diffusion CLI: images in. A file to read is told by its first bytes
 * and handed to our own readers (PNG, JPEG, GIMP patterns) or to a GEGL
 * loader in a child process (gegl-read.c).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "image-io.h"

/* ---- reading ------------------------------------------------------------ */

/* Whether width x height is not empty (else *error says so). */
static bool size_not_empty(int32_t width, int32_t height, GError **error) {
  if (width > 0 && height > 0) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              _("the image is empty (%dx%d)"), width, height);
  return false;
}

bool dm_cli_image_size_ok(int32_t width, int32_t height, int64_t max_pixels,
                          GError **error) {
  if (!size_not_empty(width, height, error)) return false;
  if ((int64_t)width * height <= max_pixels) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              _("the image is %dx%d, %lld pixels: more than the %lld allowed "
                "(--max-pixels)"), width, height,
              (long long)width * height, (long long)max_pixels);
  return false;
}

DmCliImage *dm_cli_image_new(int32_t width, int32_t height,
                             const Babl *format, GError **error) {
  if (!size_not_empty(width, height, error)) return NULL;
  float *rgba = g_try_new(float, (size_t)width * height * 4);
  if (rgba == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                _("out of memory for %dx%d pixels"), width, height);
    return NULL;
  }
  DmCliImage *image = g_new0(DmCliImage, 1);
  *image = (DmCliImage){.width = width, .height = height, .rgba = rgba,
                        .format = format};
  return image;
}

DmCliImage *dm_cli_image_from_header(int32_t width, int32_t height,
                                     const Babl *format,
                                     const DmCliReadOptions *options,
                                     GError **error) {
  if (!dm_cli_image_size_ok(width, height, options->max_pixels, error))
    return NULL;
  if (!options->size_only)
    return dm_cli_image_new(width, height, format, error);
  DmCliImage *image = g_new0(DmCliImage, 1);
  *image = (DmCliImage){.width = width, .height = height, .format = format};
  return image;
}

const Babl *dm_cli_pixel_format(int channels, int sample_bytes) {
  static const char *const names[2][4] = {
      {"Y' u8", "Y'A u8", "R'G'B' u8", "R'G'B'A u8"},
      {"Y' u16", "Y'A u16", "R'G'B' u16", "R'G'B'A u16"}};
  return babl_format(names[sample_bytes - 1][channels - 1]);
}

void dm_cli_store_pixels(float *rgba, const guint8 *samples, size_t count,
                         int channels, int sample_bytes) {
  const float scale = sample_bytes == 2 ? 1.0f / 65535.0f : 1.0f / 255.0f;
  const bool grey = channels <= 2, alpha = channels % 2 == 0;
  for (size_t p = 0; p < count; p++) {
    float value[4] = {0};
    for (int c = 0; c < channels; c++) {
      const guint8 *s = samples + (p * channels + c) * sample_bytes;
      value[c] = (sample_bytes == 2 ? s[0] << 8 | s[1] : s[0]) * scale;
    }
    for (int c = 0; c < 3; c++) rgba[p * 4 + c] = value[grey ? 0 : c];
    rgba[p * 4 + 3] = alpha ? value[channels - 1] : 1.0f;
  }
}

/* A RIFF file (WebP) holds the 8 bytes of its header plus the length
 * written at bytes 4..7 (little-endian). GEGL's WebP loader decodes a
 * truncated file as far as it goes, silently. */
static bool riff_complete(const guint8 *bytes, size_t size) {
  const uint64_t length = (uint64_t)bytes[4] | (uint64_t)bytes[5] << 8 |
                          (uint64_t)bytes[6] << 16 | (uint64_t)bytes[7] << 24;
  return size >= 8 + length;
}

/* A format told by the bytes at `offset`, read by a GEGL operation or by
 * `read`; `complete`, when set, tells a truncated file by its header. */
typedef struct {
  const char *name;
  size_t offset;
  const char *magic;
  size_t length;
  const char *operation;
  DmCliImage *(*read)(const guint8 *bytes, size_t size,
                      const DmCliReadOptions *options, GError **error);
  bool (*complete)(const guint8 *bytes, size_t size);
} Format;

static const Format formats[] = {
    {"PNG", 0, "\x89PNG\r\n\x1a\n", 8, NULL, dm_cli_png_read, NULL},
    {"JPEG", 0, "\xff\xd8\xff", 3, NULL, dm_cli_jpeg_read, NULL},
    {"WebP", 8, "WEBP", 4, "gegl:webp-load", NULL, riff_complete},
    {"TIFF", 0, "II*\0", 4, "gegl:tiff-load", NULL, NULL},
    {"TIFF", 0, "MM\0*", 4, "gegl:tiff-load", NULL, NULL},
    {"GIF", 0, "GIF8", 4, "gegl:gif-load", NULL, NULL},
    {"PNM", 0, "P2", 2, "gegl:ppm-load", NULL, NULL},
    {"PNM", 0, "P3", 2, "gegl:ppm-load", NULL, NULL},
    {"PNM", 0, "P5", 2, "gegl:ppm-load", NULL, NULL},
    {"PNM", 0, "P6", 2, "gegl:ppm-load", NULL, NULL},
    {"OpenEXR", 0, "\x76\x2f\x31\x01", 4, "gegl:exr-load", NULL, NULL},
    {"Radiance HDR", 0, "#?RADIANCE", 10, "gegl:rgbe-load", NULL, NULL},
    {"Radiance HDR", 0, "#?RGBE", 6, "gegl:rgbe-load", NULL, NULL},
    {"GIMP pattern", 20, "GPAT", 4, NULL, dm_cli_pattern_read, NULL},
};

static const Format *sniff_format(const guint8 *bytes, size_t size) {
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
    const Format *format = &formats[i];
    if (size >= format->offset + format->length &&
        memcmp(bytes + format->offset, format->magic, format->length) == 0)
      return format;
  }
  return NULL;
}

/* "PNG, JPEG, ..." (caller g_free()s). */
static char *format_names(void) {
  GString *names = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
    if (i == 0 || strcmp(formats[i].name, formats[i - 1].name) != 0)
      g_string_append_printf(names, "%s%s", i ? ", " : "", formats[i].name);
  return g_string_free(names, FALSE);
}

/* Maps `path` read-only (NULL with the reason when it cannot). */
static GMappedFile *map_file(const char *path, GError **error) {
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_IO,
                        _("no such file, or not a regular file"));
    return NULL;
  }
  const int fd = g_open(path, O_RDONLY, 0);
  if (fd < 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot open it: %s"),
                g_strerror(errno));
    return NULL;
  }
  GError *problem = NULL;
  GMappedFile *file = g_mapped_file_new_from_fd(fd, FALSE, &problem);
  close(fd);
  if (file == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot read it: %s"),
                problem->message);
    g_error_free(problem);
  }
  return file;
}

DmCliImage *dm_cli_image_decode(const char *path,
                                const DmCliReadOptions *options,
                                GError **error) {
  const DmCliReadOptions whole = {.max_pixels = DM_CLI_DEFAULT_MAX_PIXELS};
  if (options == NULL) options = &whole;
  GMappedFile *file = map_file(path, error);
  if (file == NULL) return NULL;
  const guint8 *bytes = (const guint8 *)g_mapped_file_get_contents(file);
  const size_t size = g_mapped_file_get_length(file);
  const Format *format = sniff_format(bytes, size);
  DmCliImage *image = NULL;
  if (size == 0) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_FORMAT, _("an empty file"));
  } else if (format == NULL) {
    char *names = format_names();
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED, _("not an image in a "
                "format gimp-diffusion reads (%s)"), names);
    g_free(names);
  } else if (format->complete && !format->complete(bytes, size)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, _("truncated %s image: "
                "the file is shorter than its header says"), format->name);
  } else if (format->read) {
    image = format->read(bytes, size, options, error);
  } else {
    image = dm_cli_gegl_read(format->name, format->operation, path, options,
                             error);
  }
  g_mapped_file_unref(file);
  return image;
}

DmCliImage *dm_cli_image_load(const char *path,
                              const DmCliReadOptions *options,
                              GError **error) {
  DmCliImage *image = dm_cli_image_decode(path, options, error);
  if (image == NULL)
    g_prefix_error(error, _("cannot read image '%s': "), path);
  return image;
}

void dm_cli_image_free(DmCliImage *image) {
  if (image == NULL) return;
  g_free(image->rgba);
  g_free(image);
}
