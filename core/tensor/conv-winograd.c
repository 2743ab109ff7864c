/* gimp-diffusion core: Winograd convolution F(4x4, 3x3) for AVX-512.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Lavin and Gray 2016, "Fast Algorithms for Convolutional Neural Networks",
 * §4: a 4x4 tile of a 3x3 correlation's output from the 6x6 input window d
 * around it and the kernel g is
 *   Y = A^T [(G g G^T) o (B^T d B)] A                              (eq. 10)
 * with matrices from Toom-Cook interpolation at 0, 1, -1, 1/2, -2 and
 * infinity (their §4.2 uses 0, +-1, +-2): B^T and A^T stay dyadic (exact
 * in float), and in float32 the output's error is 1.5x smaller in rms and
 * about 3x in the worst case (measured on random 256-channel tiles; about
 * 7x the direct conv's rms error instead of 10x):
 *   B^T = [1 -3/2   -2  3/2 1   0]   G = [    1     0     0]
 *         [0   -1  1/2  5/2 1   0]       [  1/3   1/3   1/3]
 *         [0    1 -5/2  1/2 1   0]       [ -1/3   1/3  -1/3]
 *         [0   -2   -1    2 1   0]       [-16/15 -8/15 -4/15]
 *         [0  1/2   -1 -1/2 1   0]       [ 1/15 -2/15  4/15]
 *         [0    1 -3/2   -2 3/2 1]       [    0     0     1]
 *   A^T = [1  1  1   1  1 0]
 *         [0  1 -1 1/2 -2 0]
 *         [0  1  1 1/4  4 0]
 *         [0  1 -1 1/8 -8 1]
 * 36 products per tile and channel pair instead of 144. Summed over input
 * channels, the products of each of the 36 positions form a GEMM (their
 * eq. 12): M[pos] (tiles, C_out) = V[pos] (tiles, C_in) U[pos] (C_in, C_out).
 *
 * The weight gradient is the adjoint of the same bilinear map: from
 * <dY, Y> = <(A dY A^T) o (B^T d B), G g G^T>,
 *   dg = G^T [sum over tiles of (A dY A^T) o (B^T d B)] G,
 * and the sum over tiles of each position is again a GEMM, with the tiles
 * as its long inner dimension: X[pos] (C_out, C_in) += D[pos]^T V[pos].
 *
 * Layout: the transforms run on 16 channels per vector, so every tile's
 * values are channel-minor (tile, channel), channels padded with zeros to a
 * multiple of NR = 32 (two vectors, the GEMMs' register tile width). A task
 * takes a rectangle of tiles of one image, or several whole images when
 * they are small: it copies its input rows into a channel-minor slab
 * (16 x 16 transposes), transforms, multiplies, and transposes back. The
 * tiles of a task bound its scratch (V and M of 1 MiB for small channel
 * counts), whatever the image size. */
#include "tensor/conv-kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include "tensor/conv-avx512.h"
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <omp.h>

#define TILE 4       /* output pixels per tile side */
#define WINDOW 6     /* input pixels per window side, TILE + 3 - 1 */
#define POSITIONS 36 /* WINDOW * WINDOW */
#define LANES 16
#define MR 8  /* GEMM register tile: rows */
#define NR 32 /* and columns, two vectors */
/* V and M of a task, in floats (1 MiB), and its tiles' range. */
#define TASK_FLOATS ((size_t)1 << 18)
#define MIN_TASK_TILES ((size_t)32)
#define MAX_TASK_TILES ((size_t)128)
/* Where the direct kernels are faster: thinner convs (an RGB input or
 * output) would mostly multiply padding, and with fewer tiles the weights'
 * transforms (C_in C_out kernels per call) cost more than they save. */
#define MIN_CHANNELS 16
#define MIN_TILES 128

#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

bool dm_conv2d_winograd_fits(const DmConvShape *s) {
  const size_t tiles = (size_t)s->n * (size_t)((s->h_out + TILE - 1) / TILE) *
                       (size_t)((s->w_out + TILE - 1) / TILE);
  return dm_conv2d_is_same_size_3x3(s) && s->c_in >= MIN_CHANNELS &&
         s->c_out >= MIN_CHANNELS && tiles >= MIN_TILES;
}

static size_t padded_channels(int32_t c) {
  return ((size_t)c + NR - 1) / NR * NR;
}

/* Floats from one position's (rows, cp) matrix to the next: a cache line
 * more than the matrix, so that a tile's 36 values, one per position, do
 * not all fall into the same cache set (matrices of 4 KiB multiples). */
static size_t position_stride(size_t rows, size_t cp) {
  return rows * cp + LANES;
}

/* ---- the transforms (the matrices above) ------------------------------- */

/* out (6) = B^T in (6). */
AVX512 INLINE void data_1d(__m512 out[WINDOW], const __m512 in[WINDOW]) {
  const __m512 half = _mm512_set1_ps(0.5f), two = _mm512_set1_ps(2.0f);
  const __m512 three_halves = _mm512_set1_ps(1.5f);
  const __m512 five_halves = _mm512_set1_ps(2.5f);
  const __m512 d0 = in[0], d1 = in[1], d2 = in[2], d3 = in[3], d4 = in[4],
               d5 = in[5];
  const __m512 a = _mm512_sub_ps(d3, d1), c = _mm512_sub_ps(d4, d2);
  out[0] = _mm512_add_ps(_mm512_fmadd_ps(three_halves, a, d0),
                         _mm512_fnmadd_ps(two, d2, d4));
  out[1] = _mm512_fmadd_ps(five_halves, d3,
                            _mm512_fmadd_ps(half, d2, _mm512_sub_ps(d4, d1)));
  out[2] = _mm512_fmadd_ps(
      half, d3, _mm512_fnmadd_ps(five_halves, d2, _mm512_add_ps(d4, d1)));
  out[3] = _mm512_fmadd_ps(two, a, c);
  out[4] = _mm512_fnmadd_ps(half, a, c);
  out[5] = _mm512_add_ps(_mm512_fmadd_ps(three_halves, c, d5),
                              _mm512_fnmadd_ps(two, d3, d1));
}

/* out (4) = A^T in (6). */
AVX512 INLINE void output_1d(__m512 out[TILE], const __m512 in[WINDOW]) {
  const __m512 sum12 = _mm512_add_ps(in[1], in[2]);
  const __m512 diff12 = _mm512_sub_ps(in[1], in[2]);
  const __m512 m3 = in[3], m4 = in[4];
  out[0] = _mm512_add_ps(_mm512_add_ps(in[0], sum12), _mm512_add_ps(m3, m4));
  out[1] = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), m3,
                            _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), m4, diff12));
  out[2] = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), m3,
                                _mm512_fmadd_ps(_mm512_set1_ps(4.0f), m4, sum12));
  out[3] = _mm512_add_ps(
      _mm512_fmadd_ps(_mm512_set1_ps(0.125f), m3,
                      _mm512_fnmadd_ps(_mm512_set1_ps(8.0f), m4, diff12)),
      in[5]);
}

/* out (6) = A in (4): the adjoint of output_1d. */
AVX512 INLINE void output_grad_1d(__m512 out[WINDOW], const __m512 in[TILE]) {
  const __m512 y0 = in[0], y1 = in[1], y2 = in[2], y3 = in[3];
  const __m512 even = _mm512_add_ps(y0, y2), odd = _mm512_add_ps(y1, y3);
  out[0] = y0;
  out[1] = _mm512_add_ps(even, odd);
  out[2] = _mm512_sub_ps(even, odd);
  out[3] = _mm512_fmadd_ps(
      _mm512_set1_ps(0.125f), y3,
      _mm512_fmadd_ps(_mm512_set1_ps(0.25f), y2,
                      _mm512_fmadd_ps(_mm512_set1_ps(0.5f), y1, y0)));
  out[4] = _mm512_fnmadd_ps(
      _mm512_set1_ps(8.0f), y3,
      _mm512_fmadd_ps(_mm512_set1_ps(4.0f), y2,
                      _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), y1, y0)));
  out[5] = y3;
}

/* The weights' transforms run in double, eight kernels a vector (their
 * cost is C_in C_out per call, small beside the products): the
 * multiplications by the reciprocals round in double's last place only. */
#define KERNELS 8

/* out (6) = G in (3). */
AVX512 INLINE void weight_1d(__m512d out[WINDOW], const __m512d in[3]) {
  const __m512d third = _mm512_set1_pd(1.0 / 3.0);
  const __m512d fifteenth = _mm512_set1_pd(1.0 / 15.0);
  const __m512d two = _mm512_set1_pd(2.0), four = _mm512_set1_pd(4.0);
  const __m512d sum02 = _mm512_add_pd(in[0], in[2]);
  out[0] = in[0];
  out[1] = _mm512_mul_pd(_mm512_add_pd(sum02, in[1]), third);
  out[2] = _mm512_mul_pd(_mm512_sub_pd(in[1], sum02), third);
  /* -(16 g0 + 8 g1 + 4 g2) / 15 = -4 (4 g0 + 2 g1 + g2) / 15 */
  out[3] = _mm512_mul_pd(
      _mm512_fmadd_pd(four, in[0], _mm512_fmadd_pd(two, in[1], in[2])),
      _mm512_set1_pd(-4.0 / 15.0));
  out[4] = _mm512_mul_pd(
      _mm512_fmadd_pd(four, in[2], _mm512_fnmadd_pd(two, in[1], in[0])),
      fifteenth);
  out[5] = in[2];
}

/* out (3) = G^T in (6): the adjoint. */
AVX512 INLINE void weight_grad_1d(__m512d out[3], const __m512d in[WINDOW]) {
  const __m512d third = _mm512_set1_pd(1.0 / 3.0);
  const __m512d fifteenth = _mm512_set1_pd(1.0 / 15.0);
  const __m512d diff12 = _mm512_sub_pd(in[1], in[2]);
  const __m512d sum12 = _mm512_add_pd(in[1], in[2]);
  out[0] = _mm512_add_pd(
      _mm512_fmadd_pd(diff12, third, in[0]),
      _mm512_mul_pd(_mm512_fnmadd_pd(_mm512_set1_pd(16.0), in[3], in[4]),
                    fifteenth));
  out[1] = _mm512_fnmadd_pd(
      _mm512_fmadd_pd(_mm512_set1_pd(8.0), in[3],
                      _mm512_mul_pd(_mm512_set1_pd(2.0), in[4])),
      fifteenth, _mm512_mul_pd(sum12, third));
  out[2] = _mm512_add_pd(
      _mm512_fmadd_pd(diff12, third, in[5]),
      _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(4.0),
                                  _mm512_sub_pd(in[4], in[3])),
                    fifteenth));
}

/* u (6 x 6) = G g G^T for kernels g (3 x 3), row-major. */
AVX512 INLINE void weight_transform(__m512d u[POSITIONS], const __m512d g[9]) {
  __m512d rows[3 * WINDOW]; /* g G^T, (3, 6) */
  for (int i = 0; i < 3; i++) weight_1d(rows + WINDOW * i, g + 3 * i);
  for (int j = 0; j < WINDOW; j++) {
    const __m512d column[3] = {rows[j], rows[WINDOW + j], rows[2 * WINDOW + j]};
    __m512d out[WINDOW];
    weight_1d(out, column);
    for (int i = 0; i < WINDOW; i++) u[WINDOW * i + j] = out[i];
  }
}

/* g (3 x 3) = G^T x G for x (6 x 6), row-major. */
AVX512 INLINE void weight_grad_transform(__m512d g[9],
                                         const __m512d x[POSITIONS]) {
  __m512d rows[WINDOW * 3]; /* x G, (6, 3) */
  for (int i = 0; i < WINDOW; i++) weight_grad_1d(rows + 3 * i, x + WINDOW * i);
  for (int j = 0; j < 3; j++) {
    __m512d column[WINDOW], out[3];
    for (int i = 0; i < WINDOW; i++) column[i] = rows[3 * i + j];
    weight_grad_1d(out, column);
    for (int i = 0; i < 3; i++) g[3 * i + j] = out[i];
  }
}

/* The float offsets of KERNELS kernels from `first` on, `step` kernels
 * apart. */
AVX512 INLINE __m512i kernel_indices(int32_t first, size_t step) {
  long long offsets[KERNELS];
  for (int lane = 0; lane < KERNELS; lane++)
    offsets[lane] = (long long)(((size_t)first + lane) * step * 9);
  return _mm512_loadu_si512(offsets);
}

/* The lanes of KERNELS kernels from `first` on that lie before `count`. */
static __mmask8 kernel_mask(int32_t first, int32_t count) {
  return (__mmask8)((1u << CLAMP(count - first, 0, KERNELS)) - 1);
}

/* Row ci of u (36, cp_in, cp_out): G g G^T of the kernels g of weight
 * (C_out, C_in, 3, 3) from input channel ci, zeros for padding channels. */
AVX512 static void transform_weight_row(float *u, const float *weight,
                                        int32_t ci, int32_t c_in,
                                        int32_t c_out, size_t cp_out,
                                        size_t stride) {
  for (int32_t co = 0; co < (int32_t)cp_out; co += KERNELS) {
    const __mmask8 mask = kernel_mask(co, c_out);
    const __m512i index = kernel_indices(co, (size_t)c_in);
    __m512d g[9], full[POSITIONS];
    for (int k = 0; k < 9; k++)
      g[k] = _mm512_cvtps_pd(_mm512_mask_i64gather_ps(
          _mm256_setzero_ps(), mask, index, weight + (size_t)ci * 9 + k, 4));
    weight_transform(full, g);
    for (int pos = 0; pos < POSITIONS; pos++)
      _mm256_storeu_ps(u + pos * stride + (size_t)ci * cp_out + co,
                       _mm512_cvtpd_ps(full[pos]));
  }
}

/* u (36, cp_in, cp_out) = G g G^T of every kernel g of weight (C_out,
 * C_in, 3, 3), zeros for the padding channels. The rows are separate
 * functions so that the OpenMP-outlined loop needs no AVX-512 itself
 * (clang does not give it the caller's target attribute). */
static void transform_weights(float *u, const float *weight, int32_t c_in,
                              int32_t c_out, size_t cp_in, size_t cp_out) {
  const size_t stride = position_stride(cp_in, cp_out);
  for (int pos = 0; pos < POSITIONS; pos++)
    memset(u + pos * stride + (size_t)c_in * cp_out, 0,
           (cp_in - (size_t)c_in) * cp_out * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int32_t ci = 0; ci < c_in; ci++)
    transform_weight_row(u, weight, ci, c_in, c_out, cp_out, stride);
}

/* Row co of dweight (C_out, C_in, 3, 3) += G^T x G for every ci, x (36)
 * the sum of the threads' partials (36, cp_out, cp_in) in thread order. */
AVX512 static void add_weight_grad_row(float *dweight, float *const *partials,
                                       int32_t threads, int32_t co,
                                       int32_t c_in, size_t cp_in,
                                       size_t stride) {
  for (int32_t ci = 0; ci < c_in; ci += KERNELS) {
    const __mmask8 mask = kernel_mask(ci, c_in);
    const __m512i index = kernel_indices(ci, 1);
    __m512d x[POSITIONS], kernel[9];
    for (int pos = 0; pos < POSITIONS; pos++) {
      __m256 total = _mm256_setzero_ps();
      for (int32_t t = 0; t < threads; t++)
        if (partials[t])
          total = _mm256_add_ps(
              total, _mm256_loadu_ps(partials[t] + pos * stride +
                                     (size_t)co * cp_in + ci));
      x[pos] = _mm512_cvtps_pd(total);
    }
    weight_grad_transform(kernel, x);
    float *g = dweight + (size_t)co * c_in * 9;
    for (int i = 0; i < 9; i++) {
      const __m256 old = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), mask,
                                                  index, g + i, 4);
      _mm512_mask_i64scatter_ps(
          g + i, mask, index,
          _mm256_add_ps(old, _mm512_cvtpd_ps(kernel[i])), 4);
    }
  }
}

/* dweight (C_out, C_in, 3, 3) += G^T x G for every (co, ci), x (36) the
 * sum of the threads' partials (36, cp_out, cp_in) in thread order. */
static void add_weight_grads(float *dweight, float *const *partials,
                             int32_t threads, int32_t c_in, int32_t c_out,
                             size_t cp_in, size_t cp_out) {
  const size_t stride = position_stride(cp_out, cp_in);
#pragma omp parallel for schedule(static)
  for (int32_t co = 0; co < c_out; co++)
    add_weight_grad_row(dweight, partials, threads, co, c_in, cp_in, stride);
}

/* ---- channel-minor copies ---------------------------------------------- */

/* A window of an image's planes (C, H, W): rows [y0, y0 + rows), columns
 * [x0, x0 + cols), which may reach outside the image. */
typedef struct {
  int32_t c, h, w;
  int32_t y0, x0, rows, cols;
} PlaneWindow;

/* The lanes of 16 pixels from column x on whose columns lie inside [0, w)
 * and before `end`. */
static __mmask16 column_mask(int32_t x, int32_t w, int32_t end) {
  const int32_t first = MAX(0, -x), last = MIN(MIN(16, w - x), end - x);
  return last <= first ? 0
                       : (__mmask16)(((1u << (last - first)) - 1) << first);
}

/* slab (rows, cols, cp) = the window of src (C, H, W) channel-minor, zeros
 * outside the image and in channels [C, cp). */
AVX512 static void pack_channel_minor(float *slab, size_t cp, const float *src,
                                      const PlaneWindow *win) {
  const size_t hw = (size_t)win->h * win->w;
  for (size_t c0 = 0; c0 < cp; c0 += LANES)
    for (int32_t r = 0; r < win->rows; r++) {
      const int32_t y = win->y0 + r;
      const bool inside = y >= 0 && y < win->h;
      for (int32_t x = 0; x < win->cols; x += LANES) {
        const int32_t count = MIN(LANES, win->cols - x), column = win->x0 + x;
        const __mmask16 mask = column_mask(column, win->w, win->x0 + win->cols);
        __m512 v[LANES];
        for (int i = 0; i < LANES; i++) {
          const int32_t c = (int32_t)c0 + i;
          v[i] = inside && c < win->c
                     ? _mm512_maskz_loadu_ps(
                           mask, src + c * hw + (size_t)y * win->w + column)
                     : _mm512_setzero_ps();
        }
        dm_transpose_16x16(v);
        float *dst = slab + ((size_t)r * win->cols + x) * cp + c0;
        for (int32_t j = 0; j < count; j++) _mm512_storeu_ps(dst + j * cp, v[j]);
      }
    }
}

/* dst (C, H, W) over the window's pixels inside the image (the window
 * starts inside it) = slab (rows, cols, cp) + bias (C; NULL: zeros), or +=
 * that when accumulating. */
AVX512 static void unpack_channel_minor(float *dst, const float *slab,
                                        size_t cp, const float *bias,
                                        const PlaneWindow *win,
                                        bool accumulate) {
  const size_t hw = (size_t)win->h * win->w;
  const int32_t rows = MIN(win->rows, win->h - win->y0);
  const int32_t cols = MIN(win->cols, win->w - win->x0);
  for (int32_t c0 = 0; c0 < win->c; c0 += LANES)
    for (int32_t r = 0; r < rows; r++)
      for (int32_t x = 0; x < cols; x += LANES) {
        const int32_t count = MIN(LANES, cols - x);
        const __mmask16 mask = (__mmask16)((1u << count) - 1);
        const float *src = slab + ((size_t)r * win->cols + x) * cp + c0;
        __m512 v[LANES];
        for (int j = 0; j < LANES; j++)
          v[j] = j < count ? _mm512_loadu_ps(src + j * cp) : _mm512_setzero_ps();
        dm_transpose_16x16(v);
        for (int i = 0; i < MIN(LANES, win->c - c0); i++) {
          float *row = dst + (size_t)(c0 + i) * hw +
                       (size_t)(win->y0 + r) * win->w + win->x0 + x;
          __m512 value = _mm512_add_ps(
              v[i], _mm512_set1_ps(bias ? bias[c0 + i] : 0.0f));
          if (accumulate)
            value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, row));
          _mm512_mask_storeu_ps(row, mask, value);
        }
      }
}

/* ---- tasks ------------------------------------------------------------- */

/* How a conv is cut into tasks: rectangles of rows x cols tiles of an
 * image, or groups of `images` whole images. */
typedef struct {
  int32_t tiles_y, tiles_x; /* tiles per image */
  int32_t rows, cols, images;
  int32_t rects_y, rects_x, groups;
  size_t cp_in, cp_out; /* channels, padded */
} Plan;

/* One task: tiles [ty, ty + rows) x [tx, tx + cols) of `images` images
 * from `image` on. */
typedef struct {
  int32_t image, images, ty, tx, rows, cols;
} Task;

static int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

/* parts of at most `size` out of `total`, evened out: the new size. */
static int32_t even_size(int32_t total, int32_t size) {
  return ceil_div(total, ceil_div(total, size));
}

static void plan_counts(Plan *p, int32_t n) {
  p->rects_y = ceil_div(p->tiles_y, p->rows);
  p->rects_x = ceil_div(p->tiles_x, p->cols);
  p->groups = ceil_div(n, p->images);
}

/* Tiles per task from the scratch bound, whole images together when they
 * are small; then smaller tasks until every thread has one. */
static Plan make_plan(const DmConvShape *s) {
  Plan p = {.tiles_y = ceil_div(s->h_out, TILE),
            .tiles_x = ceil_div(s->w_out, TILE),
            .cp_in = padded_channels(s->c_in),
            .cp_out = padded_channels(s->c_out)};
  const size_t per_tile = POSITIONS * (p.cp_in + p.cp_out);
  const int32_t budget =
      (int32_t)CLAMP(TASK_FLOATS / per_tile, MIN_TASK_TILES, MAX_TASK_TILES);
  p.cols = even_size(p.tiles_x, MIN(p.tiles_x, budget));
  p.rows = even_size(p.tiles_y, MIN(p.tiles_y, MAX(budget / p.cols, 1)));
  const bool whole = p.rows == p.tiles_y && p.cols == p.tiles_x;
  p.images = whole ? even_size(s->n, MAX(budget / (p.rows * p.cols), 1)) : 1;
  const int32_t threads = omp_get_max_threads();
  for (plan_counts(&p, s->n);
       p.groups * p.rects_y * p.rects_x < threads; plan_counts(&p, s->n)) {
    if (p.images > 1) p.images = ceil_div(p.images, 2);
    else if (p.rows > 1) p.rows = ceil_div(p.rows, 2);
    else if (p.cols > 1) p.cols = ceil_div(p.cols, 2);
    else break;
  }
  return p;
}

static int32_t plan_tasks(const Plan *p) {
  return p->groups * p->rects_y * p->rects_x;
}

static Task plan_task(const Plan *p, const DmConvShape *s, int32_t index) {
  const int32_t rects = p->rects_y * p->rects_x;
  const int32_t group = index / rects, rect = index % rects;
  Task t = {.image = group * p->images,
            .ty = rect / p->rects_x * p->rows,
            .tx = rect % p->rects_x * p->cols};
  t.images = MIN(p->images, s->n - t.image);
  t.rows = MIN(p->rows, p->tiles_y - t.ty);
  t.cols = MIN(p->cols, p->tiles_x - t.tx);
  return t;
}

static size_t task_tiles(const Task *t) {
  return (size_t)t->images * t->rows * t->cols;
}

/* The input window a task's tiles read: one pixel around its outputs. */
static PlaneWindow input_window(const Task *t, const DmConvShape *s) {
  return (PlaneWindow){s->c_in, s->h_in, s->w_in, TILE * t->ty - 1,
                       TILE * t->tx - 1, TILE * t->rows + 2,
                       TILE * t->cols + 2};
}

/* The output pixels of a task's tiles (some may lie past the image). */
static PlaneWindow output_window(const Task *t, const DmConvShape *s) {
  return (PlaneWindow){s->c_out, s->h_out, s->w_out, TILE * t->ty,
                       TILE * t->tx, TILE * t->rows, TILE * t->cols};
}

/* One thread's scratch, for the largest task. */
typedef struct {
  float *in_slab;  /* (images, input window, cp_in) */
  float *v;        /* (36, tiles, cp_in): B^T d B */
  float *m;        /* (36, tiles, cp_out): the products, or A dY A^T */
  float *out_slab; /* (images, output window, cp_out): Y, or dY */
} Scratch;

static bool scratch_alloc(Scratch *w, const Plan *p) {
  const size_t images = (size_t)p->images, rows = (size_t)p->rows,
               cols = (size_t)p->cols, tiles = images * rows * cols;
  w->in_slab = dm_alloc_floats(images * (TILE * rows + 2) *
                               (TILE * cols + 2) * p->cp_in);
  w->v = dm_alloc_floats(POSITIONS * position_stride(tiles, p->cp_in));
  w->m = dm_alloc_floats(POSITIONS * position_stride(tiles, p->cp_out));
  w->out_slab = dm_alloc_floats(tiles * TILE * TILE * p->cp_out);
  return w->in_slab && w->v && w->m && w->out_slab;
}

static void scratch_free(Scratch *w) {
  dm_free_floats(w->in_slab);
  dm_free_floats(w->v);
  dm_free_floats(w->m);
  dm_free_floats(w->out_slab);
}

/* The task's input windows, channel-minor, one per image. */
static void pack_inputs(float *slab, const float *in, const Task *t,
                        const DmConvShape *s, size_t cp) {
  const PlaneWindow win = input_window(t, s);
  const size_t hw = (size_t)s->h_in * s->w_in;
  for (int32_t i = 0; i < t->images; i++)
    pack_channel_minor(slab + (size_t)i * win.rows * win.cols * cp, cp,
                       in + (size_t)(t->image + i) * s->c_in * hw, &win);
}

/* Where a task's tile `tile` starts in a channel-minor slab of `images`
 * blocks of `height` x `width` pixels, the tile's rows `step` apart. */
static size_t tile_offset(const Task *t, size_t tile, size_t height,
                          size_t width, size_t step, size_t cp) {
  const size_t image = tile / ((size_t)t->rows * t->cols);
  const size_t r = tile / t->cols % t->rows, c = tile % t->cols;
  return ((image * height + step * r) * width + step * c) * cp;
}

/* to (36 vectors `to_step` floats apart) = B^T d B of the window d whose
 * row i, column j is at from + (i width + j) cp: rows first, then columns
 * (the transform is separable). */
AVX512 INLINE void data_transform(float *to, size_t to_step, const float *from,
                                  size_t width, size_t cp) {
  __m512 rows[POSITIONS]; /* d B, row-major */
  for (int i = 0; i < WINDOW; i++) {
    __m512 in[WINDOW];
    for (int j = 0; j < WINDOW; j++)
      in[j] = _mm512_loadu_ps(from + (i * width + j) * cp);
    data_1d(rows + WINDOW * i, in);
  }
  for (int j = 0; j < WINDOW; j++) {
    __m512 in[WINDOW], out[WINDOW];
    for (int i = 0; i < WINDOW; i++) in[i] = rows[WINDOW * i + j];
    data_1d(out, in);
    for (int i = 0; i < WINDOW; i++)
      _mm512_storeu_ps(to + (WINDOW * i + j) * to_step, out[i]);
  }
}

/* to (4 x 4 at to + (i width + j) cp) = A^T m A for m (36 vectors
 * `from_step` floats apart). */
AVX512 INLINE void output_transform(float *to, size_t width, size_t cp,
                                    const float *from, size_t from_step) {
  __m512 rows[WINDOW * TILE]; /* m A, (6, 4) */
  for (int i = 0; i < WINDOW; i++) {
    __m512 in[WINDOW];
    for (int j = 0; j < WINDOW; j++)
      in[j] = _mm512_loadu_ps(from + (WINDOW * i + j) * from_step);
    output_1d(rows + TILE * i, in);
  }
  for (int j = 0; j < TILE; j++) {
    __m512 in[WINDOW], out[TILE];
    for (int i = 0; i < WINDOW; i++) in[i] = rows[TILE * i + j];
    output_1d(out, in);
    for (int i = 0; i < TILE; i++)
      _mm512_storeu_ps(to + (i * width + j) * cp, out[i]);
  }
}

/* to (36 vectors `to_step` floats apart) = A dy A^T for the output
 * gradient dy at from + (i width + j) cp (4 x 4). */
AVX512 INLINE void output_grad_transform(float *to, size_t to_step,
                                         const float *from, size_t width,
                                         size_t cp) {
  __m512 columns[WINDOW * TILE]; /* A dy, (6, 4) */
  for (int j = 0; j < TILE; j++) {
    __m512 in[TILE], out[WINDOW];
    for (int i = 0; i < TILE; i++)
      in[i] = _mm512_loadu_ps(from + (i * width + j) * cp);
    output_grad_1d(out, in);
    for (int i = 0; i < WINDOW; i++) columns[TILE * i + j] = out[i];
  }
  for (int i = 0; i < WINDOW; i++) {
    __m512 out[WINDOW];
    output_grad_1d(out, columns + TILE * i);
    for (int j = 0; j < WINDOW; j++)
      _mm512_storeu_ps(to + (WINDOW * i + j) * to_step, out[j]);
  }
}

/* v (36, tiles, cp) = B^T d B of every tile's window in slab (images,
 * 4 rows + 2, 4 cols + 2, cp). */
AVX512 static void transform_inputs(float *v, const float *slab,
                                    const Task *t, size_t cp) {
  const size_t tiles = task_tiles(t), width = TILE * (size_t)t->cols + 2;
  const size_t height = TILE * (size_t)t->rows + 2;
  for (size_t tile = 0; tile < tiles; tile++) {
    const float *window = slab + tile_offset(t, tile, height, width, TILE, cp);
    for (size_t c0 = 0; c0 < cp; c0 += LANES)
      data_transform(v + tile * cp + c0, position_stride(tiles, cp),
                     window + c0, width, cp);
  }
}

/* slab (images, 4 rows, 4 cols, cp) = A^T m A of every tile of m (36,
 * tiles, cp). */
AVX512 static void transform_outputs(float *slab, const float *m,
                                     const Task *t, size_t cp) {
  const size_t tiles = task_tiles(t), width = TILE * (size_t)t->cols;
  const size_t height = TILE * (size_t)t->rows;
  for (size_t tile = 0; tile < tiles; tile++) {
    float *block = slab + tile_offset(t, tile, height, width, TILE, cp);
    for (size_t c0 = 0; c0 < cp; c0 += LANES)
      output_transform(block + c0, width, cp, m + tile * cp + c0,
                       position_stride(tiles, cp));
  }
}

/* d (36, tiles, cp) = A dy A^T of every tile's output gradient dy in slab
 * (images, 4 rows, 4 cols, cp). */
AVX512 static void transform_output_grads(float *d, const float *slab,
                                          const Task *t, size_t cp) {
  const size_t tiles = task_tiles(t), width = TILE * (size_t)t->cols;
  const size_t height = TILE * (size_t)t->rows;
  for (size_t tile = 0; tile < tiles; tile++) {
    const float *block = slab + tile_offset(t, tile, height, width, TILE, cp);
    for (size_t c0 = 0; c0 < cp; c0 += LANES)
      output_grad_transform(d + tile * cp + c0, position_stride(tiles, cp),
                            block + c0, width, cp);
  }
}

/* ---- the products ------------------------------------------------------ */

/* c (rows <= MR, NR; stride ldc) = (or += when accumulating) the sum over
 * k < depth of a(r, k) b(k, 0 .. NR), with a(r, k) at a + r a_row +
 * k a_step and row k of b at b + k ldb; a's rows past `rows` repeat its
 * last row (computed, not stored). Per k: two loads of b and MR
 * broadcasts of a for 2 MR FMAs. */
AVX512 INLINE void gemm_tile(float *c, size_t ldc, const float *a,
                             size_t a_row, size_t a_step, const float *b,
                             size_t ldb, size_t depth, int32_t rows,
                             bool accumulate) {
  const float *a_rows[MR];
  for (int r = 0; r < MR; r++) a_rows[r] = a + (size_t)MIN(r, rows - 1) * a_row;
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < depth; k++) {
    const __m512 b0 = _mm512_loadu_ps(b + k * ldb);
    const __m512 b1 = _mm512_loadu_ps(b + k * ldb + 16);
    for (int r = 0; r < MR; r++) {
      const __m512 value = _mm512_set1_ps(a_rows[r][k * a_step]);
      acc[r][0] = _mm512_fmadd_ps(value, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(value, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR && r < rows; r++) {
    float *row = c + (size_t)r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}

/* m[pos] (tiles, cp_out) = v[pos] (tiles, cp_in) u[pos] (cp_in, cp_out). */
AVX512 static void multiply_forward(float *m, const float *v, const float *u,
                                    size_t tiles, size_t cp_in,
                                    size_t cp_out) {
  const size_t m_stride = position_stride(tiles, cp_out);
  const size_t v_stride = position_stride(tiles, cp_in);
  const size_t u_stride = position_stride(cp_in, cp_out);
  for (size_t pos = 0; pos < POSITIONS; pos++)
    for (size_t col = 0; col < cp_out; col += NR)
      for (size_t row = 0; row < tiles; row += MR)
        gemm_tile(m + pos * m_stride + row * cp_out + col, cp_out,
                  v + pos * v_stride + row * cp_in, cp_in, 1,
                  u + pos * u_stride + col, cp_out, cp_in,
                  (int32_t)MIN((size_t)MR, tiles - row), false);
}

/* x[pos] (c_out rows of cp_out, cp_in) += d[pos]^T (cp_out, tiles)
 * v[pos] (tiles, cp_in). */
AVX512 static void multiply_weight_grad(float *x, const float *d,
                                        const float *v, size_t tiles,
                                        int32_t c_out, size_t cp_in,
                                        size_t cp_out) {
  const size_t x_stride = position_stride(cp_out, cp_in);
  const size_t d_stride = position_stride(tiles, cp_out);
  const size_t v_stride = position_stride(tiles, cp_in);
  for (size_t pos = 0; pos < POSITIONS; pos++)
    for (size_t col = 0; col < cp_in; col += NR)
      for (int32_t row = 0; row < c_out; row += MR)
        gemm_tile(x + pos * x_stride + (size_t)row * cp_in + col, cp_in,
                  d + pos * d_stride + (size_t)row, 1, cp_out,
                  v + pos * v_stride + col, cp_in, tiles,
                  MIN(MR, c_out - row), true);
}

/* ---- the two passes ---------------------------------------------------- */

/* One forward task: out over the task's tiles. */
static void forward_task(float *out, const float *in, const float *u,
                         const float *bias, const DmConvShape *s,
                         const Plan *p, const Scratch *w, const Task *t,
                         bool accumulate) {
  const size_t tiles = task_tiles(t);
  const PlaneWindow win = output_window(t, s);
  const size_t hw = (size_t)s->h_out * s->w_out;
  pack_inputs(w->in_slab, in, t, s, p->cp_in);
  transform_inputs(w->v, w->in_slab, t, p->cp_in);
  multiply_forward(w->m, w->v, u, tiles, p->cp_in, p->cp_out);
  transform_outputs(w->out_slab, w->m, t, p->cp_out);
  for (int32_t i = 0; i < t->images; i++)
    unpack_channel_minor(
        out + (size_t)(t->image + i) * s->c_out * hw,
        w->out_slab + (size_t)i * win.rows * win.cols * p->cp_out, p->cp_out,
        bias, &win, accumulate);
}

bool dm_conv2d_forward_winograd(float *out, const float *in,
                                const float *weight, const float *bias,
                                const DmConvShape *s, bool accumulate) {
  const Plan p = make_plan(s);
  float *u = dm_alloc_floats(POSITIONS * position_stride(p.cp_in, p.cp_out));
  if (u == NULL) return false;
  transform_weights(u, weight, s->c_in, s->c_out, p.cp_in, p.cp_out);
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    Scratch w;
    failed = !scratch_alloc(&w, &p);
#pragma omp for schedule(dynamic)
    for (int32_t index = 0; index < plan_tasks(&p); index++) {
      if (failed) continue;
      const Task t = plan_task(&p, s, index);
      forward_task(out, in, u, bias, s, &p, &w, &t, accumulate);
    }
    scratch_free(&w);
  }
  dm_free_floats(u);
  return !failed;
}

/* One weight-gradient task: partial += the task's tiles' X. */
static void weight_grad_task(float *partial, const float *dout,
                             const float *in, const DmConvShape *s,
                             const Plan *p, const Scratch *w, const Task *t) {
  const PlaneWindow win = output_window(t, s);
  const size_t hw = (size_t)s->h_out * s->w_out;
  pack_inputs(w->in_slab, in, t, s, p->cp_in);
  transform_inputs(w->v, w->in_slab, t, p->cp_in);
  for (int32_t i = 0; i < t->images; i++)
    pack_channel_minor(w->out_slab + (size_t)i * win.rows * win.cols * p->cp_out,
                       p->cp_out, dout + (size_t)(t->image + i) * s->c_out * hw,
                       &win);
  transform_output_grads(w->m, w->out_slab, t, p->cp_out);
  multiply_weight_grad(partial, w->m, w->v, task_tiles(t), s->c_out, p->cp_in,
                       p->cp_out);
}

bool dm_conv2d_weight_grad_winograd(float *dweight, const float *dout,
                                    const float *in, const DmConvShape *s) {
  const Plan p = make_plan(s);
  const int32_t threads = omp_get_max_threads();
  float **partials = calloc((size_t)threads, sizeof *partials);
  if (partials == NULL) return false;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    Scratch w;
    const size_t count = POSITIONS * position_stride(p.cp_out, p.cp_in);
    float *partial = dm_alloc_floats(count);
    if (partial) memset(partial, 0, count * sizeof(float));
    partials[omp_get_thread_num()] = partial;
    failed = !scratch_alloc(&w, &p) || partial == NULL;
#pragma omp for schedule(static)
    for (int32_t index = 0; index < plan_tasks(&p); index++) {
      if (failed) continue;
      const Task t = plan_task(&p, s, index);
      weight_grad_task(partial, dout, in, s, &p, &w, &t);
    }
    scratch_free(&w);
  }
  if (!failed)
    add_weight_grads(dweight, partials, threads, s->c_in, s->c_out, p.cp_in,
                     p.cp_out);
  for (int32_t t = 0; t < threads; t++) dm_free_floats(partials[t]);
  free(partials);
  return !failed;
}

#else /* not x86-64 GCC/clang */

bool dm_conv2d_winograd_fits(const DmConvShape *s) {
  (void)s;
  return false;
}

bool dm_conv2d_forward_winograd(float *out, const float *in,
                                const float *weight, const float *bias,
                                const DmConvShape *s, bool accumulate) {
  (void)out, (void)in, (void)weight, (void)bias, (void)s, (void)accumulate;
  return false;
}

bool dm_conv2d_weight_grad_winograd(float *dweight, const float *dout,
                                    const float *in, const DmConvShape *s) {
  (void)dweight, (void)dout, (void)in, (void)s;
  return false;
}

#endif
