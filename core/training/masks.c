/* gimp-diffusion core: random hole masks for training inpainting models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The mixture, its parameters, the feathering and the random-number layout
 * are documented in dm-train.h ("training masks"). */
#include <math.h>
#include <string.h>

#include "dm-train.h"
#include "tensor/base.h"
#include "tensor/rng.h"

#define TAG_MASK 0x6d61736bu /* "mask": top counter word */
#define FEATHER_PROBABILITY 0.25
#define STOP_COVERAGE 0.5 /* strokes, thin: no new segment past this */

static const char *const mask_kind_names[DM_MASK_KIND_COUNT] = {
    [DM_MASK_RECTANGLE] = "rectangle", [DM_MASK_ELLIPSE] = "ellipse",
    [DM_MASK_STROKES] = "strokes",     [DM_MASK_LARGE] = "large",
    [DM_MASK_THIN] = "thin",
};

DM_DEFINE_NAME_HELPERS(dm_mask_kind, DmMaskKind, mask_kind_names,
                       DM_MASK_KIND_COUNT)

/* The mixture's probabilities, in enum order. */
static const double kind_probability[DM_MASK_KIND_COUNT] = {
    [DM_MASK_RECTANGLE] = 0.25, [DM_MASK_ELLIPSE] = 0.20,
    [DM_MASK_STROKES] = 0.25,   [DM_MASK_LARGE] = 0.15,
    [DM_MASK_THIN] = 0.15,
};

/* ---- random numbers ------------------------------------------------------ */

/* The numbers of one mask: the words of blocks k = 0, 1, .. in order. */
typedef struct {
  uint64_t seed, index;
  uint32_t block;    /* k of the next block */
  uint32_t words[4]; /* the current block */
  int used;          /* words of it taken */
} Draws;

static double next_unit(Draws *d) {
  if (d->used == 4) {
    const uint32_t counter[4] = {d->block++, (uint32_t)d->index,
                                 (uint32_t)(d->index >> 32), TAG_MASK};
    dm_philox4x32_10(d->words, counter, d->seed);
    d->used = 0;
  }
  return d->words[d->used++] * (1.0 / 4294967296.0);
}

/* U[low, high). */
static double uniform(Draws *d, double low, double high) {
  return low + (high - low) * next_unit(d);
}

/* An integer uniform in {low .. high}. */
static int32_t uniform_int(Draws *d, int32_t low, int32_t high) {
  return low + (int32_t)(next_unit(d) * (double)(high - low + 1));
}

static DmMaskKind pick_kind(double u) {
  double cumulative = 0.0;
  for (int k = 0; k < DM_MASK_KIND_COUNT - 1; k++) {
    cumulative += kind_probability[k];
    if (u < cumulative) return (DmMaskKind)k;
  }
  return DM_MASK_KIND_COUNT - 1;
}

/* ---- rasterising ----------------------------------------------------------
 * Shapes live in real coordinates: pixel (y, x) is the square [y, y + 1) x
 * [x, x + 1) and a shape covers it when it holds its centre. */

typedef struct {
  float *mask; /* (height, width), 0 or 1 */
  int32_t height, width;
  double side;     /* min(height, width): the unit of isotropic sizes */
  int64_t covered; /* pixels set to 1 */
} Canvas;

static int64_t canvas_area(const Canvas *c) {
  return (int64_t)c->height * c->width;
}

static void set_pixel(Canvas *c, int64_t y, int64_t x) {
  if (y < 0 || y >= c->height || x < 0 || x >= c->width) return;
  float *pixel = &c->mask[y * c->width + x];
  if (*pixel == 0.0f) {
    *pixel = 1.0f;
    c->covered++;
  }
}

/* Pixels [top, top + rows) x [left, left + cols), clipped to the crop. */
static void fill_box(Canvas *c, int64_t top, int64_t left, int64_t rows,
                     int64_t cols) {
  for (int64_t y = MAX(top, 0); y < MIN(top + rows, c->height); y++)
    for (int64_t x = MAX(left, 0); x < MIN(left + cols, c->width); x++)
      set_pixel(c, y, x);
}

/* ((py - cy) / ry)^2 + ((px - cx) / rx)^2 <= 1, one row span at a time. */
static void fill_ellipse(Canvas *c, double cy, double cx, double ry,
                         double rx) {
  for (int64_t y = (int64_t)floor(cy - ry); y <= (int64_t)ceil(cy + ry); y++) {
    const double dy = (y + 0.5 - cy) / ry;
    if (dy * dy > 1.0) continue;
    const double half = rx * sqrt(1.0 - dy * dy);
    /* centres x + 0.5 in [cx - half, cx + half] */
    const int64_t first = (int64_t)ceil(cx - half - 0.5);
    const int64_t last = (int64_t)floor(cx + half - 0.5);
    for (int64_t x = first; x <= last; x++) set_pixel(c, y, x);
  }
}

/* A round brush of `radius` dragged from a to b: the pixels whose centre
 * lies within `radius` of the segment. */
static void fill_capsule(Canvas *c, double ay, double ax, double by,
                         double bx, double radius) {
  const double ey = by - ay, ex = bx - ax, length2 = ey * ey + ex * ex;
  const int64_t top = (int64_t)floor(MIN(ay, by) - radius);
  const int64_t bottom = (int64_t)ceil(MAX(ay, by) + radius);
  const int64_t left = (int64_t)floor(MIN(ax, bx) - radius);
  const int64_t right = (int64_t)ceil(MAX(ax, bx) + radius);
  for (int64_t y = MAX(top, 0); y <= MIN(bottom, c->height - 1); y++)
    for (int64_t x = MAX(left, 0); x <= MIN(right, c->width - 1); x++) {
      const double py = y + 0.5 - ay, px = x + 0.5 - ax;
      double t = length2 > 0.0 ? (py * ey + px * ex) / length2 : 0.0;
      t = CLAMP(t, 0.0, 1.0);
      const double qy = py - t * ey, qx = px - t * ex;
      if (qy * qy + qx * qx <= radius * radius) set_pixel(c, y, x);
    }
}

/* A DDA line from a to b, one pixel per step along its main axis and
 * `width` pixels across it (8-connected). */
static void draw_line(Canvas *c, double ay, double ax, double by, double bx,
                      int32_t width) {
  const double ey = by - ay, ex = bx - ax;
  const bool along_x = fabs(ex) >= fabs(ey);
  const int64_t steps = MAX((int64_t)ceil(MAX(fabs(ey), fabs(ex))), 1);
  for (int64_t i = 0; i <= steps; i++) {
    const double t = (double)i / (double)steps;
    const int64_t y = (int64_t)floor(ay + t * ey);
    const int64_t x = (int64_t)floor(ax + t * ex);
    for (int32_t j = 0; j < width; j++) {
      const int64_t across = j - (width - 1) / 2;
      if (along_x)
        set_pixel(c, y + across, x);
      else
        set_pixel(c, y, x + across);
    }
  }
}

/* ---- the kinds ----------------------------------------------------------- */

/* How a random walk is painted: a round brush (radius > 0) or a line of
 * `width` px. */
typedef struct {
  double radius;
  int32_t width;
  double min_length, max_length; /* of a segment, in units of the side */
  double max_turn;               /* radians */
} Brush;

/* (y, x) moved `length` along *heading; a move that would leave the crop
 * goes the opposite way (*heading turns round), clamped into the crop if
 * it still leaves. */
static void step_point(const Canvas *c, double *y, double *x, double *heading,
                       double length) {
  double dy = length * sin(*heading), dx = length * cos(*heading);
  if (*y + dy < 0.0 || *y + dy > c->height || *x + dx < 0.0 ||
      *x + dx > c->width) {
    *heading += M_PI;
    dy = -dy;
    dx = -dx;
  }
  *y = CLAMP(*y + dy, 0.0, (double)c->height);
  *x = CLAMP(*x + dx, 0.0, (double)c->width);
}

/* A random walk of `segments` segments from a uniform start (see MIXTURE in
 * dm-train.h); stops early at STOP_COVERAGE. */
static void paint_walk(Canvas *c, Draws *d, const Brush *brush,
                       int32_t segments) {
  double y = uniform(d, 0.0, c->height), x = uniform(d, 0.0, c->width);
  double heading = uniform(d, 0.0, 2.0 * M_PI);
  for (int32_t i = 0;
       i < segments && c->covered < STOP_COVERAGE * canvas_area(c); i++) {
    heading += uniform(d, -brush->max_turn, brush->max_turn);
    const double length =
        uniform(d, brush->min_length, brush->max_length) * c->side;
    const double from_y = y, from_x = x;
    step_point(c, &y, &x, &heading, length);
    if (brush->width > 0)
      draw_line(c, from_y, from_x, y, x, brush->width);
    else
      fill_capsule(c, from_y, from_x, y, x, brush->radius);
  }
}

static void draw_rectangle(Canvas *c, Draws *d) {
  const int64_t rows = MAX(lround(uniform(d, 0.1, 0.6) * c->height), 1);
  const int64_t cols = MAX(lround(uniform(d, 0.1, 0.6) * c->width), 1);
  const int64_t top = uniform_int(d, 0, (int32_t)(c->height - rows));
  const int64_t left = uniform_int(d, 0, (int32_t)(c->width - cols));
  fill_box(c, top, left, rows, cols);
}

static void draw_ellipse(Canvas *c, Draws *d) {
  const double ry = fmax(uniform(d, 0.08, 0.35) * c->height, 1.0);
  const double rx = fmax(uniform(d, 0.08, 0.35) * c->width, 1.0);
  const double cy = uniform(d, ry, c->height - ry);
  const double cx = uniform(d, rx, c->width - rx);
  fill_ellipse(c, cy, cx, ry, rx);
}

static void draw_strokes(Canvas *c, Draws *d) {
  const int32_t strokes = uniform_int(d, 1, 3);
  for (int32_t i = 0; i < strokes; i++) {
    const Brush brush = {
        .radius = fmax(uniform(d, 0.02, 0.10) * c->side, 1.0),
        .min_length = 0.10, .max_length = 0.35, .max_turn = M_PI / 2.0};
    paint_walk(c, d, &brush, uniform_int(d, 1, 5));
  }
}

static void draw_thin(Canvas *c, Draws *d) {
  const int32_t lines = uniform_int(d, 1, 3);
  for (int32_t i = 0; i < lines; i++) {
    const Brush brush = {.width = uniform_int(d, 1, 3), .min_length = 0.15,
                         .max_length = 0.50, .max_turn = M_PI / 4.0};
    paint_walk(c, d, &brush, uniform_int(d, 1, 4));
  }
}

/* Components at a walking point until the target coverage is reached. */
static void draw_large(Canvas *c, Draws *d) {
  const double target = uniform(d, 0.30, 0.60) * canvas_area(c);
  double y = uniform(d, 0.0, c->height), x = uniform(d, 0.0, c->width);
  while (c->covered < target) {
    const int32_t component = uniform_int(d, 0, 2);
    const double from_y = y, from_x = x;
    double heading = uniform(d, 0.0, 2.0 * M_PI);
    step_point(c, &y, &x, &heading, uniform(d, 0.05, 0.30) * c->side);
    if (component == 0) {
      const double ry = fmax(uniform(d, 0.08, 0.20) * c->height, 1.0);
      const double rx = fmax(uniform(d, 0.08, 0.20) * c->width, 1.0);
      fill_ellipse(c, from_y, from_x, ry, rx);
    } else if (component == 1) {
      const int64_t rows = MAX(lround(uniform(d, 0.12, 0.35) * c->height), 1);
      const int64_t cols = MAX(lround(uniform(d, 0.12, 0.35) * c->width), 1);
      fill_box(c, lround(from_y - rows / 2.0), lround(from_x - cols / 2.0),
               rows, cols);
    } else {
      const double radius = fmax(uniform(d, 0.06, 0.12) * c->side, 1.0);
      fill_capsule(c, from_y, from_x, y, x, radius);
    }
  }
}

/* Each kind's painter, in enum order. */
static void (*const draw_kind[DM_MASK_KIND_COUNT])(Canvas *, Draws *) = {
    [DM_MASK_RECTANGLE] = draw_rectangle, [DM_MASK_ELLIPSE] = draw_ellipse,
    [DM_MASK_STROKES] = draw_strokes,     [DM_MASK_LARGE] = draw_large,
    [DM_MASK_THIN] = draw_thin,
};

/* ---- feathering ------------------------------------------------------------ */

/* One row of a chamfer pass: distances through the row `across` (the one
 * above or below; NULL for none), then along the row rightwards or
 * leftwards. Weights 1 across an edge, sqrt 2 across a corner. */
static void chamfer_row(float *row, const float *across, int32_t width,
                        bool rightwards) {
  const float diagonal = (float)M_SQRT2;
  if (across) {
    for (int32_t x = 0; x < width; x++) row[x] = MIN(row[x], across[x] + 1.0f);
    for (int32_t x = 1; x < width; x++)
      row[x] = MIN(row[x], across[x - 1] + diagonal);
    for (int32_t x = 0; x < width - 1; x++)
      row[x] = MIN(row[x], across[x + 1] + diagonal);
  }
  if (rightwards)
    for (int32_t x = 1; x < width; x++) row[x] = MIN(row[x], row[x - 1] + 1.0f);
  else
    for (int32_t x = width - 2; x >= 0; x--)
      row[x] = MIN(row[x], row[x + 1] + 1.0f);
}

/* mask (height, width) of 0 and 1 <- max(0, 1 - d / w), d the chamfer
 * distance to the nearest 1 (Borgefors 1986: a forward and a backward
 * raster pass), computed in place. */
static void feather(float *mask, int32_t height, int32_t width, float w) {
  const float far = 2.0f * (height + width); /* beyond any distance */
  const int64_t n = (int64_t)height * width;
  for (int64_t i = 0; i < n; i++) mask[i] = mask[i] == 1.0f ? 0.0f : far;
  for (int64_t y = 0; y < height; y++)
    chamfer_row(mask + y * width, y > 0 ? mask + (y - 1) * width : NULL,
                width, true);
  for (int64_t y = height - 1; y >= 0; y--)
    chamfer_row(mask + y * width, y < height - 1 ? mask + (y + 1) * width : NULL,
                width, false);
  for (int64_t i = 0; i < n; i++) mask[i] = MAX(0.0f, 1.0f - mask[i] / w);
}

/* ---- the mask -------------------------------------------------------------- */

DmMaskKind dm_mask_draw(float *mask, int32_t height, int32_t width,
                        uint64_t seed, uint64_t index) {
  g_return_val_if_fail(mask != NULL && height >= 8 && width >= 8,
                       DM_MASK_KIND_COUNT);
  Draws d = {.seed = seed, .index = index, .used = 4};
  const DmMaskKind kind = pick_kind(next_unit(&d));
  const bool feathered = next_unit(&d) < FEATHER_PROBABILITY;
  const float feather_width = (float)uniform(&d, 2.0, 8.0);
  memset(mask, 0, (size_t)height * (size_t)width * sizeof(float));
  Canvas c = {.mask = mask, .height = height, .width = width,
              .side = MIN(height, width)};
  draw_kind[kind](&c, &d);
  if (feathered) feather(mask, height, width, feather_width);
  return kind;
}
