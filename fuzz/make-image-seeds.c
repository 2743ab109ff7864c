/* Writes the seed corpora of the image fuzz targets into the folder
 * argv[1]: png/ and jpeg/ hold small images written by the CLI's own
 * writers in every pixel format they write (grey, grey + alpha, RGB, RGBA;
 * 8 and 16 bits for PNG), pattern/ small GIMP patterns of each depth.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "image-io.h"

enum { SIDE = 5 }; /* odd, so that rows are not a whole number of words */

/* A SIDE x SIDE image in `format` with a gradient and varying alpha. */
static int write_image(const char *path, int channels, int sample_bytes) {
  float rgba[SIDE * SIDE * 4];
  for (int p = 0; p < SIDE * SIDE; p++)
    for (int c = 0; c < 4; c++)
      rgba[p * 4 + c] = (float)((p * 7 + c * 3) % 11) / 10.0f;
  const DmCliImage image = {SIDE, SIDE, rgba,
                            dm_cli_pixel_format(channels, sample_bytes)};
  GError *error = NULL;
  if (dm_cli_image_save(&image, path, &error)) return 0;
  fprintf(stderr, "%s\n", error->message);
  g_error_free(error);
  return 1;
}

static void put_be32(guint8 *at, uint32_t value) {
  for (int b = 0; b < 4; b++) at[b] = (guint8)(value >> (24 - 8 * b));
}

/* A GIMP pattern (pattern-read.c) named "seed" at `depth` bytes a pixel. */
static int write_pattern(const char *path, uint32_t depth) {
  const uint32_t header = 24 + 5;
  guint8 bytes[24 + 5 + SIDE * SIDE * 4];
  const uint32_t fields[5] = {header, 1, SIDE, SIDE, depth};
  for (int i = 0; i < 5; i++) put_be32(bytes + 4 * i, fields[i]);
  memcpy(bytes + 20, "GPATseed", 9);
  for (uint32_t i = 0; i < SIDE * SIDE * depth; i++)
    bytes[header + i] = (guint8)(i * 37);
  GError *error = NULL;
  if (g_file_set_contents(path, (const char *)bytes,
                          header + SIDE * SIDE * depth, &error))
    return 0;
  fprintf(stderr, "%s\n", error->message);
  g_error_free(error);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SEED-FOLDER\n", argv[0]);
    return 2;
  }
  babl_init();
  int status = 0;
  static const char *const formats[] = {"png", "jpeg", "pattern"};
  for (size_t f = 0; f < G_N_ELEMENTS(formats); f++) {
    char *folder = g_build_filename(argv[1], formats[f], NULL);
    g_mkdir_with_parents(folder, 0755);
    for (int channels = 1; channels <= 4; channels++)
      for (int bytes = 1; bytes <= (f == 0 ? 2 : 1); bytes++) {
        char *name = g_strdup_printf("%d-%d.%s", channels, 8 * bytes,
                                     f == 0 ? "png" : f == 1 ? "jpg" : "pat");
        char *path = g_build_filename(folder, name, NULL);
        status |= f == 2 ? write_pattern(path, (uint32_t)channels)
                         : write_image(path, channels, bytes);
        g_free(path);
        g_free(name);
      }
    g_free(folder);
  }
  babl_exit();
  return status;
}
