/* gimp-diffusion CLI: images out, each write checked, files replaced
 * atomically (the contract is in image-io.h). PNG, JPEG and TIFF are
 * encoded by png.c, jpeg.c and tiff-write.c; PNM and WebP here.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <webp/encode.h>

#include "image-io.h"

bool dm_cli_sink_write(DmCliSink *sink, const void *data, size_t size) {
  const guint8 *at = data;
  while (sink->error_number == 0 && size > 0) {
    const ssize_t written = write(sink->fd, at, MIN(size, (size_t)1 << 20));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      sink->error_number = written < 0 ? errno : EIO;
    } else {
      at += written;
      size -= (size_t)written;
    }
  }
  return sink->error_number == 0;
}

/* ---- PNM and WebP ------------------------------------------------------- */

/* Binary PGM (P5, 1 channel) or PPM (P6, 3 channels); 16-bit samples are
 * big-endian in the file. */
static bool pnm_write(DmCliSink *sink, const DmCliRaster *raster,
                      GError **error) {
  (void)error;
  char *header = g_strdup_printf("P%c\n%d %d\n%d\n",
                                 raster->channels == 1 ? '5' : '6',
                                 raster->width, raster->height,
                                 raster->sample_bytes == 2 ? 65535 : 255);
  bool ok = dm_cli_sink_write(sink, header, strlen(header));
  g_free(header);
  const size_t row_bytes =
      (size_t)raster->width * raster->channels * raster->sample_bytes;
  guint8 *row = g_malloc(row_bytes);
  for (int32_t y = 0; ok && y < raster->height; y++) {
    memcpy(row, raster->samples + y * row_bytes, row_bytes);
    if (raster->sample_bytes == 2 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
      for (size_t i = 0; i + 1 < row_bytes; i += 2) {
        const guint8 low = row[i];
        row[i] = row[i + 1];
        row[i + 1] = low;
      }
    ok = dm_cli_sink_write(sink, row, row_bytes);
  }
  g_free(row);
  return ok;
}

/* Lossless WebP of an 8-bit R'G'B' or R'G'B'A raster. */
static bool webp_write(DmCliSink *sink, const DmCliRaster *raster,
                       GError **error) {
  if (raster->width > WEBP_MAX_DIMENSION ||
      raster->height > WEBP_MAX_DIMENSION) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED, _("WebP images are "
                "at most %d pixels a side; this one is %dx%d"),
                WEBP_MAX_DIMENSION, raster->width, raster->height);
    return false;
  }
  const int stride = raster->width * raster->channels;
  uint8_t *encoded = NULL;
  const size_t size =
      raster->channels == 4
          ? WebPEncodeLosslessRGBA(raster->samples, raster->width,
                                   raster->height, stride, &encoded)
          : WebPEncodeLosslessRGB(raster->samples, raster->width,
                                  raster->height, stride, &encoded);
  if (size == 0) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                        _("the WebP encoder failed (out of memory?)"));
    WebPFree(encoded);
    return false;
  }
  const bool ok = dm_cli_sink_write(sink, encoded, size);
  WebPFree(encoded);
  return ok;
}

/* ---- formats ------------------------------------------------------------ */

/* What a format keeps of an image. */
enum {
  KEEPS_DEPTH = 1,  /* 16-bit samples (else all is written in 8 bits) */
  KEEPS_ALPHA = 2,  /* an alpha channel (else it is dropped) */
  KEEPS_GREY = 4,   /* grey as grey (else written as colour) */
  KEEPS_COLOUR = 8, /* colour as colour (else written as grey) */
};

typedef struct {
  const char *extension;
  bool (*encode)(DmCliSink *sink, const DmCliRaster *raster, GError **error);
  int keeps;
} Writer;

static const Writer writers[] = {
    {"png", dm_cli_png_write,
     KEEPS_DEPTH | KEEPS_ALPHA | KEEPS_GREY | KEEPS_COLOUR},
    {"jpg", dm_cli_jpeg_write, KEEPS_GREY | KEEPS_COLOUR},
    {"jpeg", dm_cli_jpeg_write, KEEPS_GREY | KEEPS_COLOUR},
    {"tif", dm_cli_tiff_write,
     KEEPS_DEPTH | KEEPS_ALPHA | KEEPS_GREY | KEEPS_COLOUR},
    {"tiff", dm_cli_tiff_write,
     KEEPS_DEPTH | KEEPS_ALPHA | KEEPS_GREY | KEEPS_COLOUR},
    {"webp", webp_write, KEEPS_ALPHA | KEEPS_COLOUR},
    {"ppm", pnm_write, KEEPS_DEPTH | KEEPS_COLOUR},
    {"pgm", pnm_write, KEEPS_DEPTH | KEEPS_GREY},
    {"pnm", pnm_write, KEEPS_DEPTH | KEEPS_GREY | KEEPS_COLOUR},
};

/* The writer the extension of `path`'s last component names, or NULL with
 * the list of those there are. */
static const Writer *writer_for(const char *path, GError **error) {
  char *name = g_path_get_basename(path);
  const char *dot = strrchr(name, '.');
  const Writer *found = NULL;
  for (size_t i = 0; dot && found == NULL && i < G_N_ELEMENTS(writers); i++)
    if (g_ascii_strcasecmp(dot + 1, writers[i].extension) == 0)
      found = &writers[i];
  g_free(name);
  if (found) return found;
  GString *names = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(writers); i++)
    g_string_append_printf(names, "%s%s", i ? ", " : "", writers[i].extension);
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              _("cannot write '%s': the name must end in the extension of a "
                "format gimp-diffusion writes (%s)"), path, names->str);
  g_string_free(names, TRUE);
  return NULL;
}

/* ---- where a file goes -------------------------------------------------- */

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode)    ? _("a folder")
         : S_ISCHR(mode) || S_ISBLK(mode) ? _("a device")
         : S_ISFIFO(mode) ? _("a pipe")
         : S_ISSOCK(mode) ? _("a socket")
                          : _("a special file");
}

/* The file that writing `path` replaces: `path`, or the file a symbolic
 * link at `path` leads to. NULL with the reason when that exists and is not
 * a regular file, or the link leads nowhere. *info receives its status, or
 * st_mode 0 when it does not exist yet. Caller g_free()s. */
static char *write_target(const char *path, GStatBuf *info, GError **error) {
  char *target = NULL;
  memset(info, 0, sizeof *info);
  if (g_lstat(path, info) != 0) {
    if (errno == ENOENT) return g_strdup(path);
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': %s"),
                path, g_strerror(errno));
    return NULL;
  }
  if (S_ISLNK(info->st_mode)) {
    char *resolved = realpath(path, NULL);
    if (resolved == NULL || g_stat(resolved, info) != 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': it is "
                  "a symbolic link that leads to no file (%s)"), path,
                  g_strerror(errno));
      free(resolved);
      return NULL;
    }
    target = g_strdup(resolved);
    free(resolved);
  } else {
    target = g_strdup(path);
  }
  if (!S_ISREG(info->st_mode)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("cannot write '%s': it is %s, not a regular file"), path,
                file_kind(info->st_mode));
    g_free(target);
    return NULL;
  }
  return target;
}

/* Whether a file can be made in the folder of `target` (for `path`). */
static bool folder_writable(const char *path, const char *target,
                            GError **error) {
  char *folder = g_path_get_dirname(target);
  GStatBuf info;
  const char *problem = g_stat(folder, &info) != 0 ? g_strerror(errno)
                        : !S_ISDIR(info.st_mode)   ? g_strerror(ENOTDIR)
                        : access(folder, W_OK | X_OK) != 0 ? g_strerror(errno)
                                                           : NULL;
  if (problem)
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': the "
                "folder '%s': %s"), path, folder, problem);
  g_free(folder);
  return problem == NULL;
}

bool dm_cli_output_check(const char *path, GError **error) {
  GStatBuf info;
  char *target = NULL;
  const bool ok = writer_for(path, error) &&
                  (target = write_target(path, &info, error)) &&
                  folder_writable(path, target, error);
  g_free(target);
  return ok;
}

/* Makes a renamed file durable: fsync of its folder (best effort: some
 * file systems refuse it). */
static void sync_folder(const char *path) {
  char *folder = g_path_get_dirname(path);
  const int fd = g_open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  g_free(folder);
}

/* Encodes into the open temporary file `fd`, fsyncs and closes it; false
 * with the reason in *error (the write's errno, or the encoder's). */
static bool fill_temporary(int fd, DmCliEncodeFunc encode, const void *data,
                           GError **error) {
  DmCliSink sink = {.fd = fd};
  GError *problem = NULL;
  bool ok = encode(&sink, data, &problem);
  if (ok && fsync(fd) != 0) sink.error_number = errno, ok = false;
  if (close(fd) != 0 && ok) sink.error_number = errno, ok = false;
  if (sink.error_number) {
    g_clear_error(&problem);
    g_set_error_literal(error, DM_ERROR, DM_ERROR_IO,
                        g_strerror(sink.error_number));
  } else if (!ok) {
    g_propagate_error(error, problem);
  }
  return ok;
}

/* Writes a temporary file beside `target` through `encode` and renames it
 * over `target`, giving it the permissions `mode` (when not 0); removes it
 * on failure, with the bare reason in *error. */
static bool write_and_rename(const char *target, mode_t mode,
                             DmCliEncodeFunc encode, const void *data,
                             GError **error) {
  char *folder = g_path_get_dirname(target);
  char *name = g_path_get_basename(target);
  char *temp = g_strdup_printf("%s/.%s.tmp-XXXXXX", folder, name);
  g_free(name);
  g_free(folder);
  const int fd = g_mkstemp_full(temp, O_RDWR | O_CLOEXEC, 0666);
  bool ok = fd >= 0;
  if (!ok)
    g_set_error_literal(error, DM_ERROR, DM_ERROR_IO, g_strerror(errno));
  if (ok && mode) (void)fchmod(fd, mode & 07777);
  ok = ok && fill_temporary(fd, encode, data, error);
  if (ok && g_rename(temp, target) != 0) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_IO, g_strerror(errno));
    ok = false;
  }
  if (!ok && fd >= 0) g_unlink(temp);
  g_free(temp);
  return ok;
}

bool dm_cli_replace_file(const char *path, DmCliEncodeFunc encode,
                         const void *data, GError **error) {
  GStatBuf old;
  char *target = write_target(path, &old, error);
  GError *problem = NULL;
  bool ok = target && folder_writable(path, target, error);
  if (ok && !(ok = write_and_rename(target, old.st_mode, encode, data,
                                    &problem))) {
    g_set_error(error, DM_ERROR, problem->code, _("cannot write '%s': %s"),
                path, problem->message);
    g_error_free(problem);
  }
  if (ok) sync_folder(target);
  g_free(target);
  return ok;
}

/* ---- images ------------------------------------------------------------- */

/* The pixel format `writer` writes an image of `format` in. */
static const Babl *output_format(const Babl *format, const Writer *writer) {
  const int components = babl_format_get_n_components(format);
  const bool has_alpha = babl_format_has_alpha(format);
  const bool grey = components - has_alpha == 1
                        ? (writer->keeps & KEEPS_GREY) != 0
                        : (writer->keeps & KEEPS_COLOUR) == 0;
  const bool alpha = has_alpha && (writer->keeps & KEEPS_ALPHA);
  const bool deep = babl_format_get_bytes_per_pixel(format) / components > 1 &&
                    (writer->keeps & KEEPS_DEPTH);
  return dm_cli_pixel_format((grey ? 1 : 3) + alpha, deep ? 2 : 1);
}

typedef struct {
  const Writer *writer;
  DmCliRaster raster;
} ImageJob;

static bool encode_image(DmCliSink *sink, const void *data, GError **error) {
  const ImageJob *job = data;
  return job->writer->encode(sink, &job->raster, error);
}

bool dm_cli_image_save(const DmCliImage *image, const char *path,
                       GError **error) {
  const Writer *writer = writer_for(path, error);
  if (writer == NULL) return false;
  const Babl *format = output_format(image->format, writer);
  const size_t count = (size_t)image->width * image->height;
  const int channels = babl_format_get_n_components(format);
  const int sample_bytes = babl_format_get_bytes_per_pixel(format) / channels;
  guint8 *samples = g_try_malloc(count * babl_format_get_bytes_per_pixel(format));
  if (samples == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY, _("cannot write '%s': "
                "out of memory for %dx%d pixels"), path, image->width,
                image->height);
    return false;
  }
  babl_process(babl_fish(babl_format("R'G'B'A float"), format), image->rgba,
               samples, (long)count);
  const ImageJob job = {writer, {image->width, image->height, channels,
                                 sample_bytes, samples}};
  const bool ok = dm_cli_replace_file(path, encode_image, &job, error);
  g_free(samples);
  return ok;
}

bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error) {
  if (image->n != 1 || (image->c != 1 && image->c != 3)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("cannot save a (%d, %d, %d, %d) tensor as an image"), image->n,
                image->c, image->h, image->w);
    return false;
  }
  const size_t pixels = (size_t)image->h * image->w;
  DmCliImage rgba = {image->w, image->h, g_try_new(float, pixels * 4),
                     dm_cli_pixel_format(image->c, 1)};
  if (rgba.rgba == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY, _("cannot write '%s': "
                "out of memory for %dx%d pixels"), path, image->w, image->h);
    return false;
  }
  /* [-1, 1] (C, H, W) to [0, 1] (H, W, 4); grey fills R, G and B */
  for (int32_t k = 0; k < 3; k++)
    dm_planes_to_pixels(rgba.rgba + (image->c == 3 ? 0 : k), image->data,
                        image->c, 4, pixels, NULL);
  for (size_t p = 0; p < pixels; p++) rgba.rgba[p * 4 + 3] = 1.0f;
  const bool ok = dm_cli_image_save(&rgba, path, error);
  g_free(rgba.rgba);
  return ok;
}
