/* The smooth (harmonic) fill that strength < 1 starts inpainting from.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "sampling/fill.h"

enum { W = 61, H = 47, C = 2 };

/* mask (H, W): 1 in the rectangle [x0, x1) x [y0, y1), else 0. */
static void rectangle(float *mask, int x0, int y0, int x1, int y1) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      mask[y * W + x] = x >= x0 && x < x1 && y >= y0 && y < y1;
}

/* image (C, H, W): channel c = a + b x + d y, different per channel. */
static void plane(float *image, float a, float b, float d) {
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        image[(c * H + y) * W + x] = (a + b * x + d * y) * (c ? -1.0f : 1.0f);
}

/* Known pixels come back bit for bit; hole pixels are never NaN. */
static bool known_kept(const float *got, const float *before,
                       const float *mask) {
  for (int c = 0; c < C; c++)
    for (int p = 0; p < H * W; p++) {
      const float v = got[c * H * W + p];
      if (!(mask[p] > 0.0f) && memcmp(&v, &before[c * H * W + p], sizeof v))
        return false;
      if (isnan(v)) return false;
    }
  return true;
}

/* Planes are harmonic, so the fill must give them back where they also
 * meet its no-flux edges: a constant on every hole, a tilted plane on a
 * hole inside the image, a plane varying only in y on a band across the
 * whole width (to the solver's convergence: 1e-3 of the 1.6 range). */
static void test_planes(void) {
  static float image[C * H * W], want[C * H * W], mask[H * W];
  const struct {
    const char *what;
    int x0, y0, x1, y1;
    float b, d; /* the plane's slope in x and y besides the constant */
  } cases[] = {
      {"inside", 20, 12, 44, 36, 0.02f, 0.013f},
      {"at a corner", 0, 0, 15, 30, 0.0f, 0.0f},
      {"across", 0, 20, W, 27, 0.0f, 0.03f},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    rectangle(mask, cases[i].x0, cases[i].y0, cases[i].x1, cases[i].y1);
    for (int tilted = 0; tilted < 2; tilted++) {
      if (tilted && cases[i].b == 0.0f && cases[i].d == 0.0f) continue;
      plane(want, tilted ? -0.8f : 0.3f, tilted ? cases[i].b : 0.0f,
            tilted ? cases[i].d : 0.0f);
      memcpy(image, want, sizeof image);
      for (int c = 0; c < C; c++)
        for (int p = 0; p < H * W; p++)
          if (mask[p] > 0.0f) image[c * H * W + p] = 5.0f; /* garbage */
      static float before[C * H * W];
      memcpy(before, image, sizeof image);
      DM_CHECK(dm_fill_smooth(image, mask, C, W, H), "out of memory");
      char label[64];
      snprintf(label, sizeof label, "fill: %s, hole %s",
               tilted ? "plane" : "constant", cases[i].what);
      dm_test_compare(label, image, want, C * H * W, tilted ? 1e-3 : 1e-6, 0.0);
      DM_CHECK(known_kept(image, before, mask), "%s: a known pixel changed",
               label);
    }
  }
}

/* Without known pixels the fill is 0; a NaN in the mask counts as known
 * (as mask 0 does everywhere else). */
static void test_edge_cases(void) {
  static float image[C * H * W], mask[H * W];
  for (int p = 0; p < H * W; p++) mask[p] = 1.0f;
  for (int i = 0; i < C * H * W; i++) image[i] = 0.7f;
  DM_CHECK(dm_fill_smooth(image, mask, C, W, H), "out of memory");
  float top = 0.0f;
  for (int i = 0; i < C * H * W; i++) top = fmaxf(top, fabsf(image[i]));
  printf("%s fill: no known pixel gives 0 (max |v| %g)\n",
         top == 0.0f ? "ok  " : "FAIL", (double)top);
  DM_CHECK(top == 0.0f, "no known pixel: max |v| %g", (double)top);
  for (int p = 0; p < H * W; p++) mask[p] = NAN;
  for (int i = 0; i < C * H * W; i++) image[i] = 0.7f;
  DM_CHECK(dm_fill_smooth(image, mask, C, W, H), "out of memory");
  bool kept = true;
  for (int i = 0; i < C * H * W; i++) kept = kept && image[i] == 0.7f;
  printf("%s fill: a NaN mask keeps every pixel\n", kept ? "ok  " : "FAIL");
  DM_CHECK(kept, "NaN mask changed pixels");
  /* sizes down to 1 x 1 */
  float one = 0.25f, one_mask = 1.0f;
  DM_CHECK(dm_fill_smooth(&one, &one_mask, 1, 1, 1) && one == 0.0f,
           "1x1 hole: %g", (double)one);
}

/* A fill 0.3 too bright, with a checkerboard of +-0.05 as its texture, in
 * a hole of a flat 0.2 image: after matching the edges, the border pixels
 * equal their known neighbours, the inside keeps its texture on the
 * surroundings' tone, and known pixels are untouched. */
static void test_match_edges(void) {
  static float image[C * H * W], known[C * H * W], mask[H * W];
  rectangle(mask, 20, 12, 44, 36);
  for (int c = 0; c < C; c++)
    for (int p = 0; p < H * W; p++) {
      const float texture = ((p % W + p / W) % 2 ? 0.05f : -0.05f);
      known[c * H * W + p] = 0.2f;
      image[c * H * W + p] = mask[p] > 0.0f ? 0.5f + texture : 0.2f;
    }
  DM_CHECK(dm_fill_match_edges(image, known, mask, C, W, H), "out of memory");
  double border_error = 0.0, inside_error = 0.0;
  bool kept = true;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        const int p = y * W + x;
        const float v = image[c * H * W + p];
        if (!(mask[p] > 0.0f)) {
          kept = kept && v == 0.2f;
          continue;
        }
        const bool border = x == 20 || x == 43 || y == 12 || y == 35;
        const float texture = ((x + y) % 2 ? 0.05f : -0.05f);
        if (border) border_error = fmax(border_error, fabs(v - 0.2));
        else if (x > 22 && x < 41 && y > 14 && y < 33)
          inside_error = fmax(inside_error, fabs(v - (0.2 + texture)));
      }
  const bool ok = kept && border_error < 1e-6 && inside_error < 0.02;
  printf("%s match edges: border max |v - 0.2| %.2g, inside (3 px in) max "
         "|v - (0.2 + texture)| %.3f (want < 0.02), known kept %d\n",
         ok ? "ok  " : "FAIL", border_error, inside_error, kept);
  DM_CHECK(ok, "match edges");
}

int main(void) {
  test_planes();
  test_edge_cases();
  test_match_edges();
  return dm_test_finish();
}
