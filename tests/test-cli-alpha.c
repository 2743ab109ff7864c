/* `gimp-diffusion inpaint` on RGBA PNGs (8- and 16-bit): the output keeps
 * the input's pixel format, its alpha channel bit-exactly, and every colour
 * value outside the mask; the colours inside the mask change.
 * Usage: test-cli-alpha GIMP-DIFFUSION MODEL
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <gegl.h>
#include <glib/gstdio.h>

#include "dm-test.h"
#include "image-io.h"

enum { W = 24, H = 16 };

static bool in_mask(int32_t x, int32_t y) {
  return x >= 8 && x < 16 && y >= 4 && y < 12;
}

/* A W x H image in `format` with a colour gradient and varying alpha (or,
 * for the mask, white inside the box and black elsewhere). */
static void write_image(const char *path, const char *format, bool mask) {
  DmCliImage image = {W, H, g_new(float, 4 * W * H), babl_format(format)};
  for (int32_t y = 0; y < H; y++)
    for (int32_t x = 0; x < W; x++) {
      float *p = image.rgba + 4 * (y * W + x);
      const float level = in_mask(x, y) ? 1.0f : 0.0f;
      p[0] = mask ? level : x / (W - 1.0f);
      p[1] = mask ? level : y / (H - 1.0f);
      p[2] = mask ? level : 0.5f;
      p[3] = mask ? 1.0f : (x + y * W) / (float)(W * H - 1);
    }
  GError *error = NULL;
  DM_CHECK_OK(dm_cli_image_save(&image, path, &error), error);
  g_free(image.rgba);
}

static void check_inpaint(const char *exe, const char *model,
                          const char *dir, const char *format) {
  char *in = g_build_filename(dir, "in.png", NULL);
  char *mask = g_build_filename(dir, "mask.png", NULL);
  char *out = g_build_filename(dir, "out.png", NULL);
  write_image(in, format, false);
  write_image(mask, "R'G'B' u8", true);
  const char *argv[] = {exe, "inpaint", "-q", "--model", model, "--steps",
                        "3", "--image", in, "--mask", mask, "--out", out,
                        NULL};
  int status = -1;
  GError *error = NULL;
  const bool ran = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT,
                                NULL, NULL, NULL, NULL, &status, &error);
  DM_CHECK_OK(ran && g_spawn_check_wait_status(status, &error), error);
  DmCliImage *before = dm_cli_image_load(in, NULL, &error);
  DM_CHECK_OK(before != NULL, error);
  DmCliImage *after = dm_cli_image_load(out, NULL, &error);
  DM_CHECK_OK(after != NULL, error);
  size_t alpha_differs = 0, outside_differs = 0, inside_changed = 0;
  for (int32_t p = 0; p < W * H; p++)
    for (int c = 0; c < 4; c++) {
      const bool same = before->rgba[4 * p + c] == after->rgba[4 * p + c];
      if (c == 3) alpha_differs += !same;
      else if (in_mask(p % W, p / W)) inside_changed += !same;
      else outside_differs += !same;
    }
  const bool pass = after->format == before->format && alpha_differs == 0 &&
                    outside_differs == 0 && inside_changed > 8 * 8 * 3 / 2;
  printf("%s %s: output format %s; alpha values changed %zu, colours outside "
         "the mask %zu, inside %zu of %d\n", pass ? "ok  " : "FAIL", format,
         babl_get_name(after->format), alpha_differs, outside_differs,
         inside_changed, 8 * 8 * 3);
  DM_CHECK(pass, "%s inpaint did not keep format, alpha or unmasked pixels",
           format);
  dm_cli_image_free(before);
  dm_cli_image_free(after);
  g_free(in);
  g_free(mask);
  g_free(out);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test-cli-alpha GIMP-DIFFUSION MODEL\n");
    return 2;
  }
  gegl_init(NULL, NULL);
  GError *error = NULL;
  char *dir = g_dir_make_tmp("dm-alpha-XXXXXX", &error);
  DM_CHECK_OK(dir != NULL, error);
  check_inpaint(argv[1], argv[2], dir, "R'G'B'A u8");
  check_inpaint(argv[1], argv[2], dir, "R'G'B'A u16");
  const char *names[] = {"in.png", "mask.png", "out.png"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *path = g_build_filename(dir, names[i], NULL);
    g_remove(path);
    g_free(path);
  }
  g_rmdir(dir);
  g_free(dir);
  gegl_exit();
  printf("%s\n", dm_test_failures ? "FAILED" : "all passed");
  return dm_test_failures ? 1 : 0;
}
