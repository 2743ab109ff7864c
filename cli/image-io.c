/* gimp-diffusion CLI: images in and out through GEGL.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <errno.h>
#include <glib/gstdio.h>
#include <gegl.h>
#include <string.h>

#include "image-io.h"

/* Interleaved 8-bit-ready floats in [0, 1]: (H, W, C) from (1, C, H, W) in
 * [-1, 1]. */
static float *interleave_unit_range(const DmTensor *image) {
  const size_t pixels = (size_t)image->h * image->w;
  float *out = g_new(float, pixels * image->c);
  for (int32_t c = 0; c < image->c; c++)
    for (size_t p = 0; p < pixels; p++) {
      const float v = (image->data[c * pixels + p] + 1.0f) * 0.5f;
      out[p * image->c + c] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
  return out;
}

/* The saver for `path`: PNG and PPM/PGM through their own operations at
 * the buffer's depth (8 bits for 8-bit formats, else 16; their default is
 * 16), everything else through gegl:save, which chooses by extension. */
static GeglNode *saver_node(GeglNode *graph, const char *path, int depth) {
  const char *dot = strrchr(path, '.');
  const char *extension = dot ? dot + 1 : "";
  const char *operation =
      g_ascii_strcasecmp(extension, "png") == 0 ? "gegl:png-save"
      : g_ascii_strcasecmp(extension, "ppm") == 0 ||
              g_ascii_strcasecmp(extension, "pgm") == 0 ||
              g_ascii_strcasecmp(extension, "pnm") == 0
          ? "gegl:ppm-save"
          : NULL;
  if (operation == NULL)
    return gegl_node_new_child(graph, "operation", "gegl:save", "path", path,
                               NULL);
  return gegl_node_new_child(graph, "operation", operation, "path", path,
                             "bitdepth", depth, NULL);
}

static bool save_buffer(GeglBuffer *buffer, const char *path, GError **error) {
  const Babl *format = gegl_buffer_get_format(buffer);
  const int depth = babl_format_get_bytes_per_pixel(format) /
                            babl_format_get_n_components(format) > 1 ? 16 : 8;
  GeglNode *graph = gegl_node_new();
  GeglNode *source = gegl_node_new_child(graph, "operation", "gegl:buffer-source",
                                         "buffer", buffer, NULL);
  GeglNode *save = saver_node(graph, path, depth);
  gegl_node_link(source, save);
  gegl_node_process(save);
  g_object_unref(graph);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "could not write '%s' (is the "
                "extension one GEGL can save: png, jpg, tif, webp?)", path);
    return false;
  }
  return true;
}

/* Writes `buffer` to `path` through a temporary name in the same folder
 * (same extension, so GEGL picks the same saver), then renames it. */
static bool save_atomically(GeglBuffer *buffer, const char *path,
                            GError **error) {
  const char *extension = strrchr(path, '.');
  char *dir = g_path_get_dirname(path);
  char *base = g_path_get_basename(path);
  char *temp = g_strdup_printf("%s/.%s.tmp-%u%s", dir, base,
                               (unsigned)g_random_int(), extension ? extension : "");
  bool ok = save_buffer(buffer, temp, error);
  if (ok && g_rename(temp, path) != 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "could not rename '%s' to "
                "'%s': %s", temp, path, g_strerror(errno));
    ok = false;
  }
  if (!ok) g_unlink(temp);
  g_free(temp);
  g_free(base);
  g_free(dir);
  return ok;
}

bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error) {
  if (image->n != 1 || (image->c != 1 && image->c != 3)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "cannot save a (%d, %d, %d, %d) tensor as an image", image->n,
                image->c, image->h, image->w);
    return false;
  }
  GeglRectangle rect = {0, 0, image->w, image->h};
  GeglBuffer *buffer = gegl_buffer_new(
      &rect, babl_format(image->c == 3 ? "R'G'B' u8" : "Y' u8"));
  float *pixels = interleave_unit_range(image);
  gegl_buffer_set(buffer, &rect, 0,
                  babl_format(image->c == 3 ? "R'G'B' float" : "Y' float"),
                  pixels, GEGL_AUTO_ROWSTRIDE);
  bool ok = save_atomically(buffer, path, error);
  g_object_unref(buffer);
  g_free(pixels);
  return ok;
}

DmCliImage *dm_cli_image_load(const char *path, GError **error) {
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot read image '%s': no "
                "such file", path);
    return NULL;
  }
  GeglNode *graph = gegl_node_new();
  GeglNode *load = gegl_node_new_child(graph, "operation", "gegl:load",
                                       "path", path, NULL);
  GeglBuffer *buffer = NULL;
  GeglNode *sink = gegl_node_new_child(graph, "operation", "gegl:buffer-sink",
                                       "buffer", &buffer, NULL);
  gegl_node_link(load, sink);
  gegl_node_process(sink);
  g_object_unref(graph);
  const GeglRectangle *extent = buffer ? gegl_buffer_get_extent(buffer) : NULL;
  if (extent == NULL || extent->width <= 0 || extent->height <= 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "cannot read image '%s' "
                "(not an image GEGL can load, or empty)", path);
    if (buffer) g_object_unref(buffer);
    return NULL;
  }
  DmCliImage *image = g_new0(DmCliImage, 1);
  image->width = extent->width;
  image->height = extent->height;
  image->format = gegl_buffer_get_format(buffer);
  image->rgba = g_new(float, (size_t)image->width * image->height * 4);
  gegl_buffer_get(buffer, extent, 1.0, babl_format("R'G'B'A float"),
                  image->rgba, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(buffer);
  return image;
}

void dm_cli_image_free(DmCliImage *image) {
  if (image == NULL) return;
  g_free(image->rgba);
  g_free(image);
}

bool dm_cli_image_save(const DmCliImage *image, const char *path,
                       GError **error) {
  GeglRectangle rect = {0, 0, image->width, image->height};
  GeglBuffer *buffer = gegl_buffer_new(&rect, image->format);
  gegl_buffer_set(buffer, &rect, 0, babl_format("R'G'B'A float"), image->rgba,
                  GEGL_AUTO_ROWSTRIDE);
  bool ok = save_atomically(buffer, path, error);
  g_object_unref(buffer);
  return ok;
}
