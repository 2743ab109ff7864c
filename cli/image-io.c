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

/* PNG through gegl:png-save at 8 bits (gegl:save would pick 16); other
 * formats through gegl:save, which chooses by extension. */
static bool save_buffer(GeglBuffer *buffer, const char *path, GError **error) {
  GeglNode *graph = gegl_node_new();
  GeglNode *source = gegl_node_new_child(graph, "operation", "gegl:buffer-source",
                                         "buffer", buffer, NULL);
  GeglNode *save =
      g_str_has_suffix(path, ".png")
          ? gegl_node_new_child(graph, "operation", "gegl:png-save", "path",
                                path, "bitdepth", 8, NULL)
          : gegl_node_new_child(graph, "operation", "gegl:save", "path", path,
                                NULL);
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

bool dm_cli_save_image(const DmTensor *image, const char *path,
                       GError **error) {
  if (image->n != 1 || (image->c != 1 && image->c != 3)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "cannot save a (%d, %d, %d, %d) tensor as an image", image->n,
                image->c, image->h, image->w);
    return false;
  }
  const char *extension = strrchr(path, '.');
  char *dir = g_path_get_dirname(path);
  char *base = g_path_get_basename(path);
  char *temp = g_strdup_printf("%s/.%s.tmp-%u%s", dir, base, (unsigned)g_random_int(),
                               extension ? extension : "");
  const Babl *format = babl_format(image->c == 3 ? "R'G'B' float" : "Y' float");
  GeglRectangle rect = {0, 0, image->w, image->h};
  GeglBuffer *buffer = gegl_buffer_new(&rect, babl_format(image->c == 3 ? "R'G'B' u8" : "Y' u8"));
  float *pixels = interleave_unit_range(image);
  gegl_buffer_set(buffer, &rect, 0, format, pixels, GEGL_AUTO_ROWSTRIDE);
  bool ok = save_buffer(buffer, temp, error);
  if (ok && g_rename(temp, path) != 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "could not rename '%s' to "
                "'%s': %s", temp, path, g_strerror(errno));
    ok = false;
  }
  if (!ok) g_unlink(temp);
  g_object_unref(buffer);
  g_free(pixels);
  g_free(temp);
  g_free(base);
  g_free(dir);
  return ok;
}
