/* Training masks (dm_mask_draw): pure functions of (seed, index, size),
 * values in [0, 1], never empty nor full, each kind's coverage inside its
 * documented range, the mixture's and the feathering's frequencies (4.5
 * binomial standard deviations), feathered ramps of 2 .. 8 px, thin lines
 * that are thin, odd sizes; the time to draw one. With `--grid FILE.pgm`
 * it also writes 8 x 4 masks of 64 x 64 (white = 1) for docs/masks.png.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <inttypes.h>

#include "dm-test.h"
#include "dm-train.h"

#define SEED 2026

/* The mixture of dm-train.h, in enum order. */
static const double kind_probability[DM_MASK_KIND_COUNT] = {0.25, 0.20, 0.25,
                                                            0.15, 0.15};
/* The coverage (fraction of pixels equal to 1) that dm-train.h's
 * parameters allow at 64 x 64: rectangles 6 x 6 .. 38 x 38 px exactly;
 * ellipses pi (0.08 .. 0.35)^2, strokes a short segment of radius 1.28 px
 * .. half the crop plus one segment, large holes 0.30 .. 0.60 plus one
 * component, thin lines a 10 px line .. 12 segments of 32 x 3 px, each
 * widened a little for pixel rounding where not exact. */
static const double coverage_range[DM_MASK_KIND_COUNT][2] = {
    {36.0 / 4096, 1444.0 / 4096}, {0.015, 0.40}, {0.002, 0.62},
    {0.30, 0.75}, {0.001, 0.30}};
#define FEATHER_PROBABILITY 0.25

/* What one mask is made of. */
typedef struct {
  int64_t ones, zeros, between; /* pixels == 1, == 0, strictly between */
  bool in_range;                /* every value finite and in [0, 1] */
} Census;

static Census census(const float *mask, int64_t n) {
  Census c = {.in_range = true};
  for (int64_t i = 0; i < n; i++) {
    if (mask[i] == 1.0f)
      c.ones++;
    else if (mask[i] == 0.0f)
      c.zeros++;
    else
      c.between++;
    if (!(mask[i] >= 0.0f && mask[i] <= 1.0f)) c.in_range = false;
  }
  return c;
}

/* Binomial tolerance: 4.5 standard deviations of a count. */
static void check_count(const char *label, int64_t got, int64_t n, double p) {
  const double want = n * p, tol = 4.5 * sqrt(n * p * (1.0 - p));
  const bool ok = fabs(got - want) <= tol;
  DM_CHECK(ok, "%s: %" PRId64 ", want %.0f +- %.0f", label, got, want, tol);
  printf("%s %-44s %5" PRId64 " (want %.0f +- %.0f)\n", ok ? "ok  " : "FAIL",
         label, got, want, tol);
}

static void test_names(void) {
  DmMaskKind kind = DM_MASK_RECTANGLE;
  bool ok = dm_mask_kind_name(DM_MASK_KIND_COUNT) == NULL &&
            !dm_mask_kind_from_name("circle", &kind);
  for (int k = 0; k < DM_MASK_KIND_COUNT; k++)
    ok = ok && dm_mask_kind_from_name(dm_mask_kind_name(k), &kind) &&
         kind == (DmMaskKind)k;
  DM_CHECK(ok && strcmp(dm_mask_kind_name(DM_MASK_THIN), "thin") == 0,
           "kind names");
  printf("%s kind names round-trip\n", ok ? "ok  " : "FAIL");
}

/* Same (seed, index, size): the same bits; another index or seed: another
 * mask; the kind does not depend on the size. */
static void test_determinism(void) {
  enum { S = 64, N = 200 };
  float a[S * S], b[S * S], small[16 * 16];
  int same_kind = 0, repeated = 0, equal_to_next = 0, equal_other_seed = 0;
  for (uint64_t i = 0; i < N; i++) {
    const DmMaskKind kind = dm_mask_draw(a, S, S, SEED, i);
    repeated += dm_mask_draw(b, S, S, SEED, i) == kind &&
                memcmp(a, b, sizeof a) == 0;
    same_kind += dm_mask_draw(small, 16, 16, SEED, i) == kind;
    dm_mask_draw(b, S, S, SEED, i + 1);
    equal_to_next += memcmp(a, b, sizeof a) == 0;
    dm_mask_draw(b, S, S, SEED + 1, i);
    equal_other_seed += memcmp(a, b, sizeof a) == 0;
  }
  /* index 2^32 + i uses the counter's third word */
  dm_mask_draw(a, S, S, SEED, 5);
  dm_mask_draw(b, S, S, SEED, ((uint64_t)1 << 32) + 5);
  const bool high_differs = memcmp(a, b, sizeof a) != 0;
  const bool ok = repeated == N && same_kind == N && equal_to_next == 0 &&
                  equal_other_seed == 0 && high_differs;
  DM_CHECK(ok,
           "determinism: repeated %d/%d, same kind at 16x16 %d/%d, equal to "
           "the next index %d, to another seed %d, high index differs %d",
           repeated, N, same_kind, N, equal_to_next, equal_other_seed,
           high_differs);
  printf("%s %d masks: redrawn bit-identical %d, same kind at 16x16 %d, "
         "equal to index + 1: %d, to seed + 1: %d\n",
         ok ? "ok  " : "FAIL", N, repeated, same_kind, equal_to_next,
         equal_other_seed);
}

/* Of the pixels equal to 1, how many have a pixel below 1 within 2 px
 * (Chebyshev distance): all of them on a line at most 3 px wide that
 * crosses no other. */
static int64_t ones_near_an_edge(const float *mask, int32_t s) {
  int64_t near = 0;
  for (int32_t y = 0; y < s; y++)
    for (int32_t x = 0; x < s; x++) {
      if (mask[y * s + x] != 1.0f) continue;
      bool found = false;
      for (int32_t v = MAX(y - 2, 0); v <= MIN(y + 2, s - 1) && !found; v++)
        for (int32_t u = MAX(x - 2, 0); u <= MIN(x + 2, s - 1); u++)
          found = found || mask[v * s + u] != 1.0f;
      near += found;
    }
  return near;
}

/* In a feathered mask, a pixel next to the shape (4-neighbour) holds
 * 1 - 1/w, in [0.5, 0.875] for w in [2, 8]; every pixel above 0 lies within
 * 8 px (Chebyshev) of the shape. */
static bool feather_ramp_ok(const float *mask, int32_t s) {
  for (int32_t y = 0; y < s; y++)
    for (int32_t x = 0; x < s; x++) {
      const float value = mask[y * s + x];
      if (value == 1.0f || value == 0.0f) continue;
      bool touches = false, within = false;
      for (int32_t v = MAX(y - 8, 0); v <= MIN(y + 8, s - 1); v++)
        for (int32_t u = MAX(x - 8, 0); u <= MIN(x + 8, s - 1); u++) {
          if (mask[v * s + u] != 1.0f) continue;
          within = true;
          touches = touches || abs(v - y) + abs(u - x) == 1;
        }
      if (!within || (touches && (value < 0.5f || value > 0.875f)))
        return false;
    }
  return true;
}

/* 4000 masks at 64 x 64: the invariants of every mask, the frequencies of
 * the kinds and of feathering, the coverage of each kind, thin lines. */
static void test_mixture(void) {
  enum { S = 64, N = 4000 };
  float *mask = g_new(float, S * S);
  int64_t kinds[DM_MASK_KIND_COUNT] = {0}, feathered = 0, bad_values = 0,
          empty = 0, full = 0, bad_ramps = 0, thin_ones = 0, thin_near = 0;
  double low[DM_MASK_KIND_COUNT], high[DM_MASK_KIND_COUNT] = {0},
                                  sum[DM_MASK_KIND_COUNT] = {0};
  for (int k = 0; k < DM_MASK_KIND_COUNT; k++) low[k] = 1.0;
  for (uint64_t i = 0; i < N; i++) {
    const DmMaskKind kind = dm_mask_draw(mask, S, S, SEED, i);
    const Census c = census(mask, S * S);
    const double coverage = (double)c.ones / (S * S);
    kinds[kind]++;
    feathered += c.between > 0;
    bad_values += !c.in_range;
    empty += c.ones == 0;
    full += c.ones == S * S;
    if (c.between > 0) bad_ramps += !feather_ramp_ok(mask, S);
    low[kind] = MIN(low[kind], coverage);
    high[kind] = MAX(high[kind], coverage);
    sum[kind] += coverage;
    if (kind == DM_MASK_THIN) {
      thin_ones += c.ones;
      thin_near += ones_near_an_edge(mask, S);
    }
  }
  DM_CHECK(bad_values == 0 && empty == 0 && full == 0,
           "%" PRId64 " masks with values outside [0, 1], %" PRId64
           " empty, %" PRId64 " full",
           bad_values, empty, full);
  printf("%s %d masks: outside [0, 1] %" PRId64 ", empty %" PRId64
         ", full %" PRId64 "\n",
         bad_values || empty || full ? "FAIL" : "ok  ", N, bad_values, empty,
         full);
  for (int k = 0; k < DM_MASK_KIND_COUNT; k++) {
    char label[64];
    g_snprintf(label, sizeof label, "masks of kind %s", dm_mask_kind_name(k));
    check_count(label, kinds[k], N, kind_probability[k]);
    const bool ok = low[k] >= coverage_range[k][0] &&
                    high[k] <= coverage_range[k][1];
    DM_CHECK(ok, "%s: coverage %.4f .. %.4f outside %.4f .. %.4f",
             dm_mask_kind_name(k), low[k], high[k], coverage_range[k][0],
             coverage_range[k][1]);
    printf("%s %-10s coverage %.4f .. %.4f (mean %.3f), range %.4f .. %.4f\n",
           ok ? "ok  " : "FAIL", dm_mask_kind_name(k), low[k], high[k],
           sum[k] / MAX(kinds[k], 1), coverage_range[k][0],
           coverage_range[k][1]);
  }
  check_count("feathered masks", feathered, N, FEATHER_PROBABILITY);
  DM_CHECK(bad_ramps == 0, "%" PRId64 " feathered ramps off", bad_ramps);
  printf("%s feathered ramps of 2 .. 8 px: %" PRId64 " off\n",
         bad_ramps ? "FAIL" : "ok  ", bad_ramps);
  const double near = (double)thin_near / (double)thin_ones;
  DM_CHECK(near >= 0.95, "thin: %.4f of the 1s near a 0", near);
  printf("%s thin: %.4f of the %" PRId64 " pixels at 1 have one below 1 "
         "within 2 px (want >= 0.95)\n",
         near >= 0.95 ? "ok  " : "FAIL", near, thin_ones);
  g_free(mask);
}

/* The invariants at other sizes, square or not. */
static void test_sizes(void) {
  const int32_t sizes[][2] = {{16, 16}, {64, 48}, {48, 64}, {8, 8}, {8, 200}};
  enum { N = 1000 };
  for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
    const int32_t h = sizes[s][0], w = sizes[s][1];
    float *mask = g_new(float, h * w);
    int64_t bad = 0, feathered = 0;
    double high = 0.0;
    for (uint64_t i = 0; i < N; i++) {
      const DmMaskKind kind = dm_mask_draw(mask, h, w, SEED, i);
      const Census c = census(mask, (int64_t)h * w);
      const double coverage = (double)c.ones / (h * w);
      high = MAX(high, coverage);
      feathered += c.between > 0;
      bad += !c.in_range || c.ones == 0 || c.ones == (int64_t)h * w ||
             coverage > 0.75 || kind >= DM_MASK_KIND_COUNT;
    }
    DM_CHECK(bad == 0, "%dx%d: %" PRId64 " bad masks", h, w, bad);
    printf("%s %3dx%-3d %d masks: %" PRId64 " bad (empty, full, > 0.75 or "
           "outside [0, 1]), largest coverage %.3f, feathered %" PRId64 "\n",
           bad ? "FAIL" : "ok  ", h, w, N, bad, high, feathered);
    g_free(mask);
  }
}

static void report_speed(void) {
  enum { S = 64, N = 10000 };
  float *mask = g_new(float, S * S);
  const int64_t start = g_get_monotonic_time();
  for (uint64_t i = 0; i < N; i++) dm_mask_draw(mask, S, S, SEED, i);
  const double us = (double)(g_get_monotonic_time() - start) / N;
  printf("info %d masks of 64x64: %.2f us a mask\n", N, us);
  g_free(mask);
}

/* 8 x 4 masks of 64 x 64, 2 px grey gaps, as a binary PGM. */
static void write_grid(const char *path) {
  enum { S = 64, COLUMNS = 8, ROWS = 4, GAP = 2 };
  const int32_t width = COLUMNS * S + (COLUMNS - 1) * GAP;
  const int32_t height = ROWS * S + (ROWS - 1) * GAP;
  guint8 *pixels = g_new(guint8, width * height);
  memset(pixels, 128, (size_t)width * height);
  float mask[S * S];
  for (int32_t i = 0; i < COLUMNS * ROWS; i++) {
    dm_mask_draw(mask, S, S, SEED, (uint64_t)i);
    const int32_t top = i / COLUMNS * (S + GAP), left = i % COLUMNS * (S + GAP);
    for (int32_t y = 0; y < S; y++)
      for (int32_t x = 0; x < S; x++)
        pixels[(top + y) * width + left + x] =
            (guint8)lroundf(255.0f * mask[y * S + x]);
  }
  FILE *file = fopen(path, "wb");
  DM_CHECK(file != NULL, "cannot write %s", path);
  if (file) {
    fprintf(file, "P5\n%d %d\n255\n", width, height);
    fwrite(pixels, 1, (size_t)width * height, file);
    fclose(file);
    printf("wrote %s\n", path);
  }
  g_free(pixels);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--grid") == 0) {
    write_grid(argv[2]);
    return dm_test_finish();
  }
  test_names();
  test_determinism();
  test_mixture();
  test_sizes();
  report_speed();
  return dm_test_finish();
}
