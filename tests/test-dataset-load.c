/* Reading a training folder: a temporary folder with an 8-bit PNG, a JPEG,
 * a 16-bit PNG, a TIFF (read by GEGL), GIMP patterns, hidden, corrupt,
 * truncated, empty, text and fully transparent files, a subfolder and a
 * link loop. Checks what is
 * loaded (order, labels, pixel values), what is skipped (one warning line
 * each) and that truncated or corrupted PNG, JPEG and pattern files never
 * crash the reader.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <gegl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "dataset-load.h"
#include "dm-test.h"
#include "image-io.h"

enum { S = 16 }; /* every test image is S x S: a crop is the whole image */

/* (3, S, S) values in [-1, 1] for image `kind`: 8-bit values (0, 3), a
 * smooth ramp (1) or flat (2). */
static void test_pixels(float *rgb, int kind) {
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        const int k = (x * 16 + y * 3 + c * 50) % 256;
        const float smooth = (float)(x + y) / (2 * S) - 0.3f * c;
        rgb[(c * S + y) * S + x] = kind == 0 ? 2.0f * k / 255.0f - 1.0f
                                   : kind == 1 ? smooth
                                   : kind == 2 ? -0.6f
                                               : 2.0f * (255 - k) / 255.0f - 1.0f;
      }
}

static void save_tensor(const char *path, int kind) {
  GError *error = NULL;
  DmTensor *image = dm_tensor_new(1, 3, S, S, &error);
  DM_CHECK_OK(image != NULL, error);
  test_pixels(image->data, kind);
  DM_CHECK_OK(dm_cli_save_image(image, path, &error), error);
  dm_tensor_free(image);
}

/* A 16-bit PNG whose values are not 8-bit ones: q / 65535 with q odd. */
static void save_deep_png(const char *path, float *want /* (3, S, S) */) {
  GError *error = NULL;
  DmCliImage *image = dm_cli_image_new(S, S, babl_format("R'G'B' u16"), &error);
  DM_CHECK_OK(image != NULL, error);
  for (int p = 0; p < S * S; p++)
    for (int c = 0; c < 4; c++) {
      const int q = 1001 + 2 * (p * 97 + c * 11111) % 64000;
      image->rgba[p * 4 + c] = c == 3 ? 1.0f : q / 65535.0f;
      if (c < 3) want[c * S * S + p] = 2.0f * q / 65535.0f - 1.0f;
    }
  DM_CHECK_OK(dm_cli_image_save(image, path, &error), error);
  dm_cli_image_free(image);
}

static void save_transparent_png(const char *path) {
  GError *error = NULL;
  DmCliImage *image = dm_cli_image_new(S, S, babl_format("R'G'B'A u8"), &error);
  DM_CHECK_OK(image != NULL, error);
  for (int i = 0; i < S * S * 4; i++) image->rgba[i] = i % 4 == 3 ? 0.0f : 0.5f;
  DM_CHECK_OK(dm_cli_image_save(image, path, &error), error);
  dm_cli_image_free(image);
}

static void put_be32(GByteArray *bytes, uint32_t value) {
  const guint8 b[4] = {value >> 24, value >> 16 & 255, value >> 8 & 255,
                       value & 255};
  g_byte_array_append(bytes, b, 4);
}

/* A GIMP pattern named "test" of width x height at `depth` bytes per
 * pixel, pixel bytes (p * 37 + channel * 91) % 256 (alpha: 0 on every
 * third pixel). */
static GByteArray *pattern_bytes(uint32_t width, uint32_t height,
                                 uint32_t depth, uint32_t version) {
  GByteArray *bytes = g_byte_array_new();
  put_be32(bytes, 24 + 5);
  put_be32(bytes, version);
  put_be32(bytes, width);
  put_be32(bytes, height);
  put_be32(bytes, depth);
  g_byte_array_append(bytes, (const guint8 *)"GPATtest", 9);
  for (uint32_t p = 0; width <= S && p < width * height; p++)
    for (uint32_t c = 0; c < depth; c++) {
      const bool alpha = depth % 2 == 0 && c == depth - 1;
      const guint8 value = alpha ? (p % 3 == 0 ? 0 : 200) : (p * 37 + c * 91) % 256;
      g_byte_array_append(bytes, &value, 1);
    }
  return bytes;
}

/* What a pattern of pattern_bytes() must load as: alpha over white. */
static void pattern_want(float *want, uint32_t depth) {
  for (int p = 0; p < S * S; p++)
    for (int c = 0; c < 3; c++) {
      const int channel = depth <= 2 ? 0 : c;
      const float value = (p * 37 + channel * 91) % 256 / 255.0f;
      const float alpha = depth % 2 == 0 ? (p % 3 == 0 ? 0.0f : 200 / 255.0f) : 1.0f;
      want[c * S * S + p] = 2.0f * (alpha * value + 1.0f - alpha) - 1.0f;
    }
}

/* Plain stdio: g_file_set_contents() syncs each file to disk, slowly. */
static void write_bytes(const char *path, const guint8 *data, size_t size) {
  FILE *file = fopen(path, "wb");
  const bool ok = file && fwrite(data, 1, size, file) == size;
  DM_CHECK(file && fclose(file) == 0 && ok, "cannot write %s", path);
}

static GByteArray *read_bytes(const char *path) {
  char *data = NULL;
  gsize size = 0;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(path, &data, &size, &error), error);
  return g_byte_array_new_take((guint8 *)data, size);
}

/* Runs the loader with stderr going to `log`. */
static DmDataset *load_logged(const char *dir, const char *log,
                              DmCliDataSummary *summary, GError **error) {
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  FILE *sink = fopen(log, "w");
  dup2(fileno(sink), STDERR_FILENO);
  DmDataset *dataset = dm_cli_dataset_load(dir, S, 1 << 20,
                                           DM_CLI_DEFAULT_MAX_PIXELS,
                                           DM_AUGMENT_NONE, summary, error);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  fclose(sink);
  return dataset;
}

/* dir/name, in a buffer that the next call reuses. */
static const char *at(const char *dir, const char *name) {
  static char path[4096];
  g_snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static void copy_truncated(const char *dir, const char *from, const char *to) {
  GByteArray *bytes = read_bytes(at(dir, from));
  write_bytes(at(dir, to), bytes->data, bytes->len / 2);
  g_byte_array_unref(bytes);
}

static void write_pattern(const char *path, uint32_t side, uint32_t depth,
                          uint32_t version) {
  GByteArray *bytes = pattern_bytes(side, side, depth, version);
  write_bytes(path, bytes->data, bytes->len);
  g_byte_array_unref(bytes);
}

/* The folder: 7 usable images, 10 skipped entries, 1 hidden. */
static void make_folder(const char *dir, float *deep_want) {
  g_mkdir_with_parents(at(dir, "sub/deeper"), 0755);
  save_tensor(at(dir, "a.png"), 0);
  save_tensor(at(dir, ".hidden.png"), 0);
  save_deep_png(at(dir, "deep16.png"), deep_want);
  save_tensor(at(dir, "sub/b.jpg"), 1);
  save_tensor(at(dir, "sub/deeper/e.png"), 2);
  save_tensor(at(dir, "c.tif"), 3);
  save_transparent_png(at(dir, "clear.png"));
  write_pattern(at(dir, "grey.pat"), S, 1, 1);
  write_pattern(at(dir, "tex.pat"), S, 4, 1);
  write_pattern(at(dir, "badversion.pat"), S, 3, 2);
  write_pattern(at(dir, "huge.pat"), 500000, 4, 1);
  static const char text[] = "not an image\n",
                    broken[] = "\x89PNG\r\n\x1a\n garbage";
  write_bytes(at(dir, "notes.txt"), (const guint8 *)text, sizeof text - 1);
  write_bytes(at(dir, "empty.png"), (const guint8 *)"", 0);
  write_bytes(at(dir, "broken.png"), (const guint8 *)broken, sizeof broken - 1);
  copy_truncated(dir, "a.png", "trunc.png");
  copy_truncated(dir, "sub/b.jpg", "trunc.jpg");
  copy_truncated(dir, "c.tif", "trunc.tif");
  DM_CHECK(symlink("..", at(dir, "sub/loop")) == 0, "cannot make a link loop");
}

/* The log holds exactly one "skipping" line naming each of `names`. */
static void check_warnings(const char *log, const char *const *names,
                           int count) {
  char *text = NULL;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(log, &text, NULL, &error), error);
  char **lines = g_strsplit(text, "\n", -1);
  const int n_lines = (int)g_strv_length(lines) - 1; /* after the last \n */
  DM_CHECK(n_lines == count, "%d warning lines, want %d:\n%s", n_lines, count,
           text);
  for (int i = 0; i < n_lines; i++)
    DM_CHECK(g_str_has_prefix(lines[i], "gimp-diffusion: warning: skipping "),
             "not a warning line: %s", lines[i]);
  for (int k = 0; k < count; k++) {
    int found = 0;
    for (int i = 0; i < n_lines; i++) {
      char *mark = g_strdup_printf("/%s: ", names[k]);
      found += strstr(lines[i], mark) != NULL;
      g_free(mark);
    }
    DM_CHECK(found == 1, "%d warnings name %s", found, names[k]);
  }
  printf("%s one warning line for each of %d skipped entries\n",
         dm_test_failures ? "FAIL" : "ok  ", count);
  for (int i = 0; i < n_lines; i++) printf("     | %s\n", lines[i]);
  g_strfreev(lines);
  g_free(text);
}

/* Each expected image must be one crop of the first epoch. */
static void check_values(const DmDataset *dataset, const char *label,
                         const float *want, double tolerance) {
  GError *error = NULL;
  const int32_t count = dm_dataset_count(dataset);
  float *crops = g_new(float, (size_t)count * 3 * S * S);
  DM_CHECK_OK(dm_dataset_batch(dataset, crops, count, 0, 0, &error), error);
  double best = INFINITY;
  int best_index = 0;
  for (int i = 0; i < count; i++) {
    double diff = 0.0;
    for (int p = 0; p < 3 * S * S; p++)
      diff = fmax(diff, fabs(crops[(size_t)i * 3 * S * S + p] - want[p]));
    if (diff < best) best = diff, best_index = i;
  }
  char name[80];
  snprintf(name, sizeof name, "values of %s", label);
  dm_test_compare(name, crops + (size_t)best_index * 3 * S * S, want, 3 * S * S,
                  tolerance, 0.0);
  g_free(crops);
}

static void test_folder(const char *dir) {
  float deep[3 * S * S], exact[3 * S * S], smooth[3 * S * S], flat[3 * S * S],
      inverse[3 * S * S], grey[3 * S * S], rgba[3 * S * S];
  make_folder(dir, deep);
  char *log = g_build_filename(dir, ".log", NULL);
  DmCliDataSummary summary;
  GError *error = NULL;
  DmDataset *dataset = load_logged(dir, log, &summary, &error);
  DM_CHECK_OK(dataset != NULL, error);
  DM_CHECK(summary.loaded == 7 && summary.skipped == 10 &&
               summary.total_pixels == 7 * S * S,
           "loaded %d, skipped %d, %" G_GINT64_FORMAT " pixels; want 7, 10, %d",
           summary.loaded, summary.skipped, summary.total_pixels, 7 * S * S);
  printf("ok   loaded %d images (%" G_GINT64_FORMAT " pixels), skipped %d\n",
         summary.loaded, summary.total_pixels, summary.skipped);
  const char *const skipped[] = {"badversion.pat", "broken.png", "clear.png",
                                 "empty.png", "huge.pat", "notes.txt",
                                 "sub/loop", "trunc.jpg", "trunc.png",
                                 "trunc.tif"};
  check_warnings(log, skipped, G_N_ELEMENTS(skipped));
  const char *const order[] = {"a.png",     "c.tif",            "deep16.png",
                               "grey.pat",  "sub/b.jpg", "sub/deeper/e.png",
                               "tex.pat"};
  for (int i = 0; i < dm_dataset_count(dataset) && i < 7; i++) {
    DmDatasetImageInfo info;
    DM_CHECK_OK(dm_dataset_image_info(dataset, i, &info, &error), error);
    DM_CHECK(strcmp(info.label, order[i]) == 0 && info.width == S,
             "image %d is '%s' (%dx%d), want '%s'", i, info.label, info.width,
             info.height, order[i]);
  }
  const double quantum = 1.0 / 65535.0 + 1e-6; /* the cache's rounding */
  test_pixels(exact, 0);
  test_pixels(smooth, 1);
  test_pixels(flat, 2);
  test_pixels(inverse, 3);
  pattern_want(grey, 1);
  pattern_want(rgba, 4);
  check_values(dataset, "a.png (8-bit)", exact, quantum);
  check_values(dataset, "deep16.png (16-bit)", deep, quantum);
  check_values(dataset, "sub/b.jpg (JPEG)", smooth, 0.08);
  check_values(dataset, "sub/deeper/e.png", flat, quantum);
  check_values(dataset, "c.tif (GEGL)", inverse, quantum);
  check_values(dataset, "grey.pat", grey, quantum);
  check_values(dataset, "tex.pat (alpha over white)", rgba, quantum);
  dm_dataset_free(dataset);
  g_free(log);
}

static void test_no_usable_image(const char *dir) {
  char *empty = g_build_filename(dir, "only-text", NULL);
  g_mkdir(empty, 0755);
  char *text = g_build_filename(empty, "readme.txt", NULL);
  write_bytes(text, (const guint8 *)"hello", 5);
  char *log = g_build_filename(dir, ".log2", NULL);
  GError *error = NULL;
  DmCliDataSummary summary;
  DM_CHECK(load_logged(empty, log, &summary, &error) == NULL && error &&
               strstr(error->message, "no usable image under") &&
               strstr(error->message, "(1 file skipped)"),
           "no usable image: %s", error ? error->message : "loaded");
  printf("ok   %s\n", error ? error->message : "");
  g_clear_error(&error);
  DM_CHECK(dm_cli_dataset_load(text, S, 1 << 20, DM_CLI_DEFAULT_MAX_PIXELS,
                               DM_AUGMENT_NONE, NULL, &error) == NULL &&
               error &&
               strstr(error->message, "not a folder"),
           "a file as the folder: %s", error ? error->message : "loaded");
  printf("ok   %s\n", error ? error->message : "");
  g_clear_error(&error);
  g_free(log);
  g_free(text);
  g_free(empty);
}

/* `bytes` written to `path` and decoded: an image or an error, never a
 * crash. True if it was read as an image. */
static bool decode_bytes(const char *path, const guint8 *bytes, size_t size) {
  write_bytes(path, bytes, size);
  GError *error = NULL;
  DmCliImage *image = dm_cli_image_decode(path, NULL, &error);
  DM_CHECK(image != NULL || error != NULL, "no image and no error");
  const bool read = image != NULL;
  dm_cli_image_free(image);
  g_clear_error(&error);
  return read;
}

/* Every `step`-th strict prefix of `data`, and `flips` copies with 1 to 8
 * random bytes changed, go through the reader. Returns how many prefixes
 * were read as images. */
static int decode_damaged(const char *path, const GByteArray *data, int step,
                          int flips) {
  int prefixes_read = 0;
  for (guint length = 0; length < data->len; length += step)
    prefixes_read += decode_bytes(path, data->data, length);
  GRand *rand = g_rand_new_with_seed(7);
  guint8 *copy = g_malloc(data->len);
  for (int i = 0; i < flips; i++) {
    memcpy(copy, data->data, data->len);
    for (int k = g_rand_int_range(rand, 1, 9); k > 0; k--)
      copy[g_rand_int_range(rand, 0, (gint32)data->len)] =
          (guint8)g_rand_int_range(rand, 0, 256);
    decode_bytes(path, copy, data->len);
  }
  g_free(copy);
  g_rand_free(rand);
  return prefixes_read;
}

/* A TIFF whose ICC profile has a tone curve of 4 billion entries: GEGL's
 * TIFF loader hands it to babl, which ends the process when the table
 * cannot be allocated. Refused (or read, where babl copes), never fatal. */
static void test_fatal_profile(const char *dir, const GByteArray *tiff) {
  const guint8 *curve = memmem(tiff->data, tiff->len, "curv", 4);
  DM_CHECK(curve != NULL, "no tone curve in GEGL's TIFF");
  if (curve == NULL) return;
  guint8 *copy = g_malloc(tiff->len);
  memcpy(copy, tiff->data, tiff->len);
  copy[curve - tiff->data + 8] = 0xff; /* the count's high byte */
  char *path = g_build_filename(dir, "fatal-profile.tif", NULL);
  write_bytes(path, copy, tiff->len);
  GError *error = NULL;
  DmCliImage *image = dm_cli_image_decode(path, NULL, &error);
  printf("ok   a TIFF with a 4-billion-entry tone curve: %s\n",
         image ? "read" : error->message);
  dm_cli_image_free(image);
  g_clear_error(&error);
  g_free(path);
  g_free(copy);
}

/* Damaged PNG, JPEG, WebP and TIFF files (the last two through GEGL, in a
 * child process each) and GIMP patterns: no crash; truncated JPEG, WebP
 * and patterns are all refused (a PNG cut after its pixels, before its end
 * chunk, passes). */
static void test_damaged_files(const char *dir) {
  static const struct {
    const char *extension;
    int step;         /* every step-th prefix is tried */
    int flips;        /* copies with random bytes changed */
    bool all_refused; /* every strict prefix must be refused */
  } kinds[] = {{"png", 61, 150, false}, {"jpg", 7, 150, true},
               {"webp", 29, 40, true}, {"tif", 199, 40, false}};
  GError *error = NULL;
  DmTensor *noise = dm_tensor_new(1, 3, 48, 48, &error);
  DM_CHECK_OK(noise != NULL, error);
  for (size_t i = 0; i < dm_tensor_numel(noise); i++)
    noise->data[i] = (float)((i * 7919) % 255) / 127.0f - 1.0f;
  char *damaged = g_build_filename(dir, "damaged", NULL);
  for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
    char *source = g_strdup_printf("%s/noise.%s", dir, kinds[k].extension);
    DM_CHECK_OK(dm_cli_save_image(noise, source, &error), error);
    GByteArray *data = read_bytes(source);
    const int read =
        decode_damaged(damaged, data, kinds[k].step, kinds[k].flips);
    const bool ok = !kinds[k].all_refused || read == 0;
    DM_CHECK(ok, "%d truncated %s files were read as images", read,
             kinds[k].extension);
    printf("%s %s: every %dth prefix and %d corrupted copies read without "
           "a crash (%d prefixes decoded)\n", ok ? "ok  " : "FAIL",
           kinds[k].extension, kinds[k].step, kinds[k].flips, read);
    if (strcmp(kinds[k].extension, "tif") == 0) test_fatal_profile(dir, data);
    g_byte_array_unref(data);
    g_free(source);
  }
  GByteArray *pattern = pattern_bytes(S, S, 4, 1);
  const int read = decode_damaged(damaged, pattern, 1, 300);
  DM_CHECK(read == 0, "%d truncated patterns were read as images", read);
  printf("%s pat: every prefix refused, 300 corrupted copies read without "
         "a crash\n", read == 0 ? "ok  " : "FAIL");
  g_byte_array_unref(pattern);
  dm_tensor_free(noise);
  g_free(damaged);
}

int main(int argc, char **argv) {
  gegl_init(&argc, &argv);
  GError *error = NULL;
  char *dir = g_dir_make_tmp("dm-test-dataset-XXXXXX", &error);
  DM_CHECK_OK(dir != NULL, error);
  char *folder = g_build_filename(dir, "images", NULL);
  g_mkdir(folder, 0755);
  test_folder(folder);
  test_no_usable_image(dir);
  test_damaged_files(dir);
  char *remove = g_strdup_printf("rm -rf '%s'", dir);
  DM_CHECK(system(remove) == 0, "cannot remove %s", dir);
  g_free(remove);
  g_free(folder);
  g_free(dir);
  gegl_exit();
  return dm_test_finish();
}
