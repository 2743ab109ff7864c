/* libFuzzer targets for the CLI's own image readers, one per format:
 * fuzz-png (dm_cli_png_read), fuzz-jpeg (dm_cli_jpeg_read) and
 * fuzz-pattern (dm_cli_pattern_read), this file compiled with
 * DM_FUZZ_READER naming the reader.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (see scripts/fuzz-loader).
 * Each input is read twice, for its size only and whole, within a budget
 * of 2^22 pixels (64 MiB as float R'G'B'A), so that large claims are
 * refused as they are in use. Besides "no crash, no leak, no undefined
 * behaviour, no GLib critical" it checks, and aborts when they fail: a
 * reader gives an image or an error, never both or neither; the two reads
 * agree on the size; the size is within the budget; every value is in
 * [0, 1]. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-glib.h"
#include "image-io.h"

#ifndef DM_FUZZ_READER
#error "compile with -DDM_FUZZ_READER=dm_cli_png_read (or another reader)"
#endif

#define MAX_PIXELS (INT64_C(1) << 22)

static void fail(const char *what) {
  fprintf(stderr, "fuzz-image: %s\n", what);
  abort();
}

/* The reader on `data`: checks the contract, returns the image or NULL. */
static DmCliImage *read_checked(const uint8_t *data, size_t size,
                                bool size_only) {
  const DmCliReadOptions options = {MAX_PIXELS, size_only};
  GError *error = NULL;
  DmCliImage *image = DM_FUZZ_READER(data, size, &options, &error);
  if ((image == NULL) == (error == NULL))
    fail("not exactly one of an image and an error");
  g_clear_error(&error);
  if (image == NULL) return NULL;
  if (image->width < 1 || image->height < 1 ||
      (int64_t)image->width * image->height > MAX_PIXELS)
    fail("an image size outside 1 .. the budget");
  if ((image->rgba == NULL) != size_only)
    fail("pixels for a size-only read, or none for a whole one");
  return image;
}

static void check_values(const DmCliImage *image) {
  const size_t count = (size_t)image->width * image->height * 4;
  for (size_t i = 0; i < count; i++)
    if (!(image->rgba[i] >= 0.0f && image->rgba[i] <= 1.0f))
      fail("a value outside [0, 1]");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DmCliImage *header = read_checked(data, size, true);
  DmCliImage *image = read_checked(data, size, false);
  if (image) check_values(image);
  if (header && image &&
      (header->width != image->width || header->height != image->height))
    fail("the size-only read and the whole read disagree");
  dm_cli_image_free(header);
  dm_cli_image_free(image);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  dm_fuzz_abort_on_glib_warnings();
  babl_init(); /* the readers name their pixel formats through babl */
  return 0;
}
