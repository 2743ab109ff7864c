/* The training-image cache: batches as pure functions of (seed, position),
 * exact dihedral transforms in the right proportions, per-epoch image
 * permutations, log-uniform scales (measured on a coordinate-encoded
 * image), the cache budget and its errors. Frequency tolerances are 4
 * binomial standard deviations of the counts.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-dataset.h"
#include "dm-test.h"
#include "tensor/rng.h"

#define QUANTUM (2.0 / 65535.0) /* one step of the 16-bit storage */

static DmDataset *new_dataset(int32_t crop, size_t cache, DmAugment augment) {
  GError *error = NULL;
  DmDataset *dataset = dm_dataset_new(crop, cache, augment, &error);
  DM_CHECK_OK(dataset != NULL, error);
  return dataset;
}

static void add_image(DmDataset *dataset, const float *rgb, int32_t width,
                      int32_t height, const char *label) {
  GError *error = NULL;
  DM_CHECK_OK(dm_dataset_add_image(dataset, rgb, width, height, label, &error),
              error);
}

static float *draw(const DmDataset *dataset, int32_t crop, int32_t n,
                   uint64_t seed, uint64_t position) {
  GError *error = NULL;
  float *out = g_new(float, (size_t)n * 3 * crop * crop);
  DM_CHECK_OK(dm_dataset_batch(dataset, out, n, seed, position, &error), error);
  return out;
}

/* (3, height, width) uniform noise in [-1, 1]. */
static float *noise_image(int32_t width, int32_t height, uint64_t stream) {
  const size_t count = (size_t)3 * width * height;
  float *rgb = g_new(float, count);
  dm_rng_uniform_fill(rgb, count, -1.0f, 1.0f, 7, stream, 0);
  return rgb;
}

/* Absolute binomial tolerance: 4 standard deviations of a count. */
static double count_tolerance(int32_t n, double p) {
  return 4.0 * sqrt(n * p * (1.0 - p));
}

static void check_count(const char *label, int32_t got, int32_t n, double p) {
  const double want = n * p, tol = count_tolerance(n, p);
  const bool ok = fabs(got - want) <= tol;
  DM_CHECK(ok, "%s: %d, want %.0f +- %.0f", label, got, want, tol);
  printf("%s %-44s %4d (want %.0f +- %.0f)\n", ok ? "ok  " : "FAIL", label,
         got, want, tol);
}

static void expect_error(bool ok, GError **error, DmErrorCode code,
                         const char *fragment, const char *label) {
  const bool good = !ok && *error && (*error)->code == (int)code &&
                    strstr((*error)->message, fragment) != NULL;
  DM_CHECK(good, "%s: want error %d with '%s', got %s", label, code, fragment,
           *error ? (*error)->message : "success");
  printf("%s %-44s %s\n", good ? "ok  " : "FAIL", label,
         *error ? (*error)->message : "(no error)");
  g_clear_error(error);
}

static void test_arguments(void) {
  GError *error = NULL;
  expect_error(dm_dataset_new(0, 1 << 20, DM_AUGMENT_FLIP, &error) != NULL,
               &error, DM_ERROR_INVALID_ARGUMENT, "crop size",
               "crop size 0 is refused");
  expect_error(dm_dataset_new(64, 64 * 64 * 6 - 1, DM_AUGMENT_FLIP, &error) != NULL,
               &error, DM_ERROR_INVALID_ARGUMENT, "cannot hold even one 64x64",
               "a budget below one crop is refused");
  expect_error(dm_dataset_new(8, 1 << 20, DM_AUGMENT_COUNT, &error) != NULL,
               &error, DM_ERROR_INVALID_ARGUMENT, "augmentation",
               "an unknown augmentation is refused");
  DmDataset *dataset = new_dataset(8, 1 << 20, DM_AUGMENT_FLIP);
  float out[3 * 8 * 8], pixel[3] = {0};
  expect_error(dm_dataset_batch(dataset, out, 1, 0, 0, &error), &error,
               DM_ERROR_INVALID_ARGUMENT, "no image",
               "an empty dataset draws nothing");
  expect_error(dm_dataset_add_image(dataset, pixel, 0, 1, "zero", &error),
               &error, DM_ERROR_INVALID_ARGUMENT, "invalid size",
               "a 0x1 image is refused");
  expect_error(dm_dataset_add_image(dataset, NULL, INT32_MAX, INT32_MAX,
                                    "huge", &error),
               &error, DM_ERROR_INVALID_ARGUMENT, "huge",
               "a huge image is refused before reading");
  expect_error(dm_dataset_add_image(dataset, pixel, 1, 1 << 30, "thin", &error),
               &error, DM_ERROR_INVALID_ARGUMENT, "elongated",
               "an image too thin to enlarge is refused");
  add_image(dataset, pixel, 1, 1, "one pixel");
  expect_error(dm_dataset_batch(dataset, out, -1, 0, 0, &error), &error,
               DM_ERROR_INVALID_ARGUMENT, "negative", "a negative batch");
  DM_CHECK(dm_dataset_batch(dataset, NULL, 0, 0, 0, &error), "empty batch");
  DmAugment augment = DM_AUGMENT_NONE;
  DM_CHECK(dm_augment_from_name("textures", &augment) &&
               augment == DM_AUGMENT_TEXTURES &&
               strcmp(dm_augment_name(DM_AUGMENT_FLIP), "flip") == 0 &&
               !dm_augment_from_name("rotate", &augment),
           "augmentation names");
  dm_dataset_free(dataset);
}

/* Same (seed, position): same crops whatever the threads and the batch
 * split; another seed or position: other crops. */
static void test_determinism(void) {
  enum { S = 16, N = 12 };
  const size_t sample = 3 * S * S;
  DmDataset *dataset = new_dataset(S, 4 << 20, DM_AUGMENT_TEXTURES);
  const int32_t sizes[3][2] = {{97, 61}, {40, 200}, {9, 5}};
  for (int i = 0; i < 3; i++) {
    float *rgb = noise_image(sizes[i][0], sizes[i][1], (uint64_t)i);
    add_image(dataset, rgb, sizes[i][0], sizes[i][1], NULL);
    g_free(rgb);
  }
  const int32_t threads = dm_get_num_threads();
  dm_set_num_threads(1);
  float *one_thread = draw(dataset, S, N, 42, 1000);
  dm_set_num_threads(4);
  float *four_threads = draw(dataset, S, N, 42, 1000);
  dm_set_num_threads(threads);
  float *first = draw(dataset, S, 5, 42, 1000);
  float *rest = draw(dataset, S, N - 5, 42, 1005);
  float *other_seed = draw(dataset, S, N, 43, 1000);
  float *other_position = draw(dataset, S, N, 42, 1001);
  DM_CHECK(memcmp(one_thread, four_threads, N * sample * sizeof(float)) == 0,
           "batches depend on the thread count");
  DM_CHECK(memcmp(one_thread, first, 5 * sample * sizeof(float)) == 0 &&
               memcmp(one_thread + 5 * sample, rest,
                      (N - 5) * sample * sizeof(float)) == 0,
           "batches depend on how they are split");
  DM_CHECK(memcmp(one_thread + sample, other_position,
                  (N - 1) * sample * sizeof(float)) == 0,
           "sample s must not depend on the batch's first position");
  DM_CHECK(memcmp(one_thread, other_seed, N * sample * sizeof(float)) != 0,
           "another seed draws the same crops");
  float lo = 1.0f, hi = -1.0f;
  for (size_t i = 0; i < N * sample; i++) {
    lo = MIN(lo, one_thread[i]);
    hi = MAX(hi, one_thread[i]);
  }
  DM_CHECK(lo >= -1.0f && hi <= 1.0f, "values %g .. %g outside [-1, 1]", lo, hi);
  printf("ok   batches are pure functions of (seed, position): 1 = 4 "
         "threads, 12 = 5 + 7, range %.3f .. %.3f\n", lo, hi);
  g_free(one_thread);
  g_free(four_threads);
  g_free(first);
  g_free(rest);
  g_free(other_seed);
  g_free(other_position);
  dm_dataset_free(dataset);
}

/* The 8 symmetries of the square, defined geometrically here:
 * out(y, x) = in(source (y, x)). */
static void dihedral(float *out, const float *in, int32_t s, int which) {
  for (int32_t c = 0; c < 3; c++)
    for (int32_t y = 0; y < s; y++)
      for (int32_t x = 0; x < s; x++) {
        const int32_t e = s - 1;
        const int32_t from[8][2] = {
            {y, x},         /* identity */
            {y, e - x},     /* mirror left-right */
            {e - y, x},     /* mirror top-bottom */
            {e - y, e - x}, /* half turn */
            {x, y},         /* transpose */
            {e - x, y},     /* quarter turn clockwise */
            {x, e - y},     /* quarter turn anticlockwise */
            {e - x, e - y}, /* anti-transpose */
        };
        out[(c * s + y) * s + x] =
            in[(c * s + from[which][0]) * s + from[which][1]];
      }
}

/* Which of the 8 symmetries of `reference` `crop` is exactly, or -1. */
static int match_dihedral(const float *crop, const float *reference,
                          int32_t s) {
  float *moved = g_new(float, 3 * s * s);
  int found = -1;
  for (int which = 0; which < 8 && found < 0; which++) {
    dihedral(moved, reference, s, which);
    if (memcmp(moved, crop, sizeof(float) * 3 * s * s) == 0) found = which;
  }
  g_free(moved);
  return found;
}

/* Crops of an S x S image without symmetry: each crop is exactly one of
 * its 8 symmetries; "flip" gives identity and mirror only, "textures" all
 * 8, in equal proportions. */
static void test_dihedral(void) {
  enum { S = 8, N = 800 };
  float *rgb = g_new(float, 3 * S * S);
  for (int i = 0; i < 3 * S * S; i++) rgb[i] = -1.0f + 2.0f * i / (3 * S * S);
  DmDataset *plain = new_dataset(S, 1 << 20, DM_AUGMENT_NONE);
  add_image(plain, rgb, S, S, "pattern");
  float *reference = draw(plain, S, 1, 5, 0);
  dm_test_compare("crop of an S x S image = the image", reference, rgb,
                  3 * S * S, QUANTUM / 2 + 1e-7, 0.0);
  const DmAugment augments[2] = {DM_AUGMENT_FLIP, DM_AUGMENT_TEXTURES};
  for (int a = 0; a < 2; a++) {
    DmDataset *dataset = new_dataset(S, 1 << 20, augments[a]);
    add_image(dataset, rgb, S, S, "pattern");
    float *crops = draw(dataset, S, N, 11, 0);
    int32_t counts[8] = {0}, unmatched = 0;
    for (int i = 0; i < N; i++) {
      const int which = match_dihedral(crops + (size_t)i * 3 * S * S, reference, S);
      if (which < 0) unmatched++;
      else counts[which]++;
    }
    DM_CHECK(unmatched == 0, "%s: %d crops are no exact symmetry",
             dm_augment_name(augments[a]), unmatched);
    const int kinds = a == 0 ? 2 : 8;
    for (int which = 0; which < 8; which++) {
      char label[64];
      snprintf(label, sizeof label, "%s: symmetry %d", dm_augment_name(augments[a]),
               which);
      if (which < kinds) check_count(label, counts[which], N, 1.0 / kinds);
      else DM_CHECK(counts[which] == 0, "%s drawn %d times", label, counts[which]);
    }
    g_free(crops);
    dm_dataset_free(dataset);
  }
  g_free(reference);
  g_free(rgb);
  dm_dataset_free(plain);
}

/* Three flat images: every epoch of 3 samples holds each once, and the 6
 * orders come equally often. */
static void test_epochs(void) {
  enum { S = 4, IMAGES = 3, EPOCHS = 600 };
  DmDataset *dataset = new_dataset(S, 1 << 20, DM_AUGMENT_NONE);
  float flat[3 * S * S];
  for (int i = 0; i < IMAGES; i++) {
    for (int p = 0; p < 3 * S * S; p++) flat[p] = -0.5f + 0.5f * i;
    add_image(dataset, flat, S, S, NULL);
  }
  float *crops = draw(dataset, S, IMAGES * EPOCHS, 3, 0);
  int32_t complete = 0, orders[IMAGES * IMAGES * IMAGES] = {0};
  for (int e = 0; e < EPOCHS; e++) {
    int order = 0, seen = 0;
    for (int k = 0; k < IMAGES; k++) {
      const float value = crops[(size_t)(e * IMAGES + k) * 3 * S * S];
      const int image = (int)lrintf((value + 0.5f) / 0.5f);
      order = order * IMAGES + image;
      seen |= 1 << image;
    }
    complete += seen == (1 << IMAGES) - 1;
    orders[order]++;
  }
  DM_CHECK(complete == EPOCHS, "only %d of %d epochs hold every image once",
           complete, EPOCHS);
  printf("%s every epoch holds each of %d images once (%d/%d)\n",
         complete == EPOCHS ? "ok  " : "FAIL", IMAGES, complete, EPOCHS);
  const int permutations[6] = {0 * 9 + 1 * 3 + 2, 0 * 9 + 2 * 3 + 1,
                               1 * 9 + 0 * 3 + 2, 1 * 9 + 2 * 3 + 0,
                               2 * 9 + 0 * 3 + 1, 2 * 9 + 1 * 3 + 0};
  for (int p = 0; p < 6; p++) {
    char label[64];
    snprintf(label, sizeof label, "epoch order %d%d%d", permutations[p] / 9,
             permutations[p] / 3 % 3, permutations[p] % 3);
    check_count(label, orders[permutations[p]], EPOCHS, 1.0 / 6.0);
  }
  g_free(crops);
  dm_dataset_free(dataset);
}

/* (3, height, width): channel 0 = x, channel 1 = y of each pixel centre,
 * mapped to [-1, 1]; area averaging keeps such ramps linear. */
static float *coordinate_image(int32_t width, int32_t height) {
  float *rgb = g_new0(float, (size_t)3 * width * height);
  for (int32_t y = 0; y < height; y++)
    for (int32_t x = 0; x < width; x++) {
      rgb[(size_t)y * width + x] = -1.0f + 2.0f * (x + 0.5f) / width;
      rgb[((size_t)height + y) * width + x] = -1.0f + 2.0f * (y + 0.5f) / height;
    }
  return rgb;
}

/* A crop's scale in pixels of the added image per crop pixel, along x and
 * y, and the x of its centre in [0, 1]. */
static void measure_crop(const float *crop, int32_t s, int32_t width,
                         int32_t height, double *zoom_x, double *zoom_y,
                         double *centre_x) {
  const float *xs = crop, *ys = crop + s * s;
  *zoom_x = (xs[s - 1] - xs[0]) * width / (2.0 * (s - 1));
  *zoom_y = (ys[(s - 1) * s] - ys[0]) * height / (2.0 * (s - 1));
  *centre_x = ((xs[0] + xs[s - 1]) / 2.0 + 1.0) / 2.0;
}

/* A 1024 x 512 coordinate image with S = 32: log z must be uniform over
 * [0, log 16] (z = 1: native pixels, 16: the whole height), square, and
 * the crops spread left and right. */
static void test_scales(void) {
  enum { S = 32, W = 1024, H = 512, N = 800, BINS = 4 };
  float *rgb = coordinate_image(W, H);
  DmDataset *dataset = new_dataset(S, 64 << 20, DM_AUGMENT_NONE);
  add_image(dataset, rgb, W, H, "coordinates");
  float *crops = draw(dataset, S, N, 2026, 0);
  int32_t bins[BINS] = {0}, left = 0, not_square = 0;
  double lowest = 1e9, highest = 0.0;
  for (int i = 0; i < N; i++) {
    double zoom_x, zoom_y, centre_x;
    measure_crop(crops + (size_t)i * 3 * S * S, S, W, H, &zoom_x, &zoom_y,
                 &centre_x);
    not_square += fabs(zoom_x - zoom_y) > 1e-3 * zoom_x;
    lowest = fmin(lowest, zoom_x);
    highest = fmax(highest, zoom_x);
    const int bin = (int)(log(zoom_x) / log((double)H / S) * BINS);
    bins[MIN(MAX(bin, 0), BINS - 1)]++;
    left += centre_x < 0.5;
  }
  DM_CHECK(not_square == 0, "%d crops are not square", not_square);
  DM_CHECK(lowest >= 1.0 - 1e-3 && lowest < 1.1 && highest > 14.0 &&
               highest <= 16.0 + 1e-2,
           "scales %.3f .. %.3f, want about 1 .. 16", lowest, highest);
  printf("%s scales %.3f .. %.3f native pixels per crop pixel (1 .. 16)\n",
         lowest >= 1.0 - 1e-3 && highest <= 16.01 ? "ok  " : "FAIL", lowest,
         highest);
  for (int b = 0; b < BINS; b++) {
    char label[64];
    snprintf(label, sizeof label, "log-scale quarter %d", b);
    check_count(label, bins[b], N, 1.0 / BINS);
  }
  check_count("crops centred in the left half", left, N, 0.5);
  g_free(crops);
  g_free(rgb);
  dm_dataset_free(dataset);
}

static void check_summary_fits(const DmDataset *dataset, const char *label) {
  DmDatasetSummary summary;
  dm_dataset_summary(dataset, &summary);
  DM_CHECK(summary.bytes_used <= summary.cache_bytes,
           "%s: %zu bytes used over a budget of %zu", label,
           summary.bytes_used, summary.cache_bytes);
}

/* 256 x 256 images, S = 16: the pyramid is 256, 128, 64, 32, 16 (523776
 * bytes). A 600000-byte budget holds one whole; a second makes both give
 * up their 256 level; more images shrink the finest levels further until
 * all are at 16 x 16 and the next one is refused with nothing changed. */
static void test_cache_budget(void) {
  enum { S = 16, SIDE = 256, BUDGET = 600000 };
  float *rgb = coordinate_image(SIDE, SIDE);
  DmDataset *dataset = new_dataset(S, BUDGET, DM_AUGMENT_NONE);
  DmDatasetImageInfo info;
  GError *error = NULL;
  add_image(dataset, rgb, SIDE, SIDE, "a");
  DM_CHECK_OK(dm_dataset_image_info(dataset, 0, &info, &error), error);
  DM_CHECK(info.stored_width == SIDE && info.levels == 5,
           "one image: stored %dx%d in %d levels", info.stored_width,
           info.stored_height, info.levels);
  add_image(dataset, rgb, SIDE, SIDE, "b");
  for (int i = 0; i < 2; i++) {
    DM_CHECK_OK(dm_dataset_image_info(dataset, i, &info, &error), error);
    DM_CHECK(info.stored_width == SIDE / 2 && info.levels == 4 &&
                 info.width == SIDE,
             "two images: '%s' stored %dx%d in %d levels", info.label,
             info.stored_width, info.stored_height, info.levels);
  }
  check_summary_fits(dataset, "two images");
  /* Reduced images are sampled from their finest stored level only: at
   * least 2 pixels of the added image per crop pixel. */
  float *crops = draw(dataset, S, 200, 1, 0);
  double lowest = 1e9;
  for (int i = 0; i < 200; i++) {
    double zoom_x, zoom_y, centre_x;
    measure_crop(crops + (size_t)i * 3 * S * S, S, SIDE, SIDE, &zoom_x,
                 &zoom_y, &centre_x);
    lowest = fmin(lowest, zoom_x);
  }
  DM_CHECK(lowest >= 2.0 - 1e-3 && lowest < 2.2,
           "reduced images: lowest scale %.3f, want 2", lowest);
  g_free(crops);
  int32_t added = 2;
  bool ok = true;
  DmDatasetSummary before, after;
  while (ok) {
    dm_dataset_summary(dataset, &before);
    char label[16];
    snprintf(label, sizeof label, "%d", added);
    ok = dm_dataset_add_image(dataset, rgb, SIDE, SIDE, label, &error);
    added += ok;
    check_summary_fits(dataset, label);
  }
  dm_dataset_summary(dataset, &after);
  const int32_t want = BUDGET / (S * S * 6);
  DM_CHECK(added == want, "%d images fit at 16x16, want %d", added, want);
  DM_CHECK(after.images == added && after.bytes_used == before.bytes_used &&
               after.reduced == added,
           "a refused image changed the dataset");
  printf("%s %d images fit a %d-byte cache (%zu bytes used, all %d reduced)\n",
         added == want ? "ok  " : "FAIL", added, BUDGET, after.bytes_used,
         after.reduced);
  expect_error(false, &error, DM_ERROR_NO_MEMORY, "is full",
               "the full cache refuses one more image");
  float *wide = g_new0(float, 3 * 5000);
  expect_error(dm_dataset_add_image(dataset, wide, 5000, 1, "wide", &error),
               &error, DM_ERROR_INVALID_ARGUMENT, "more than the whole cache",
               "an image larger than the cache at its smallest");
  g_free(wide);
  g_free(rgb);
  dm_dataset_free(dataset);
}

/* Images smaller than the crop are enlarged to short side S (bilinear); a
 * flat image stays flat; NaN pixels read as -1. */
static void test_small_images(void) {
  enum { S = 8 };
  DmDataset *dataset = new_dataset(S, 1 << 20, DM_AUGMENT_TEXTURES);
  float flat[3 * 5 * 3];
  for (int i = 0; i < 3 * 5 * 3; i++) flat[i] = 0.25f;
  add_image(dataset, flat, 5, 3, "small");
  GError *error = NULL;
  DmDatasetImageInfo info;
  DM_CHECK_OK(dm_dataset_image_info(dataset, 0, &info, &error), error);
  DM_CHECK(info.stored_width == 13 && info.stored_height == 8,
           "5x3 enlarged to %dx%d, want 13x8", info.stored_width,
           info.stored_height);
  float *crops = draw(dataset, S, 4, 0, 0);
  float want[4 * 3 * S * S];
  for (int i = 0; i < 4 * 3 * S * S; i++) want[i] = 0.25f;
  dm_test_compare("a flat 5x3 image enlarged stays flat", crops, want,
                  4 * 3 * S * S, QUANTUM, 0.0);
  g_free(crops);
  dm_dataset_free(dataset);
  dataset = new_dataset(S, 1 << 20, DM_AUGMENT_NONE);
  float nan_image[3 * S * S];
  for (int i = 0; i < 3 * S * S; i++) nan_image[i] = NAN;
  add_image(dataset, nan_image, S, S, "nan");
  crops = draw(dataset, S, 1, 0, 0);
  for (int i = 0; i < 3 * S * S; i++) want[i] = -1.0f;
  dm_test_compare("NaN pixels read as -1", crops, want, 3 * S * S, 0.0, 0.0);
  g_free(crops);
  dm_dataset_free(dataset);
}

int main(void) {
  test_arguments();
  test_determinism();
  test_dihedral();
  test_epochs();
  test_scales();
  test_cache_budget();
  test_small_images();
  return dm_test_finish();
}
