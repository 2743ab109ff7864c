/* gimp-diffusion core: direct convolution kernels for AVX-512.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The convolution as a GEMM, out (C_out, P) = W (C_out, K) col (K, P), with
 * K = C_in * k * k, P = output pixels. The general path writes the im2col
 * matrix and lets OpenBLAS pack it again; with few output channels (32 at a
 * U-Net's first level) that packing is paid for by only 32 multiply-adds per
 * element. Here the kernel reads
 *   A: W in blocks of MR = 8 channels, k-major: a[k][r]           (8 floats)
 *   B: col in panels of NR = 32 pixels, row k of a panel as two 16-pixel
 *      halves at b0 + offsets[k] and b1 + offsets[k]
 * and a register tile of 8 x 32 (16 zmm accumulators) is updated per k with
 * 2 loads and 8 broadcasts for 16 FMAs. For the U-Net's 3x3 convs B is the
 * input itself, in a copy of the task's input rows with a zero row above
 * and below (the slab): row (c, ky, kx) of col for the 16 pixels from
 * output pixel (y, x) on is read from slab[c][y + ky][x + kx - 1 ...]. On
 * rows of whole halves the slab has a zero column on each side too; on
 * other widths its rows lie end to end and the lanes that a half reads
 * across a row's end are masked to zero. Other convs pack their im2col
 * rows into panels (offsets[k] = k NR). K is blocked by KC so that the A
 * block and the B rows it meets stay in cache. */
#include "tensor/conv-kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include "tensor/conv-avx512.h"
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <omp.h>

#define MR 8
#define NR 32
#define KC 256
#define TILE_PIXELS 512 /* pixels per task: 16 panels */
#define SLACK 64 /* floats around a slab that masked lanes may address */

#define AVX512 __attribute__((target("avx512f")))

/* a (blocks, K, MR): weight (C_out, K) regrouped, zero rows past C_out. */
static void pack_weights(float *a, const float *weight, int32_t c_out,
                         size_t k_total) {
  const int32_t blocks = (c_out + MR - 1) / MR;
  for (int32_t b = 0; b < blocks; b++)
    for (size_t k = 0; k < k_total; k++)
      for (int32_t r = 0; r < MR; r++) {
        const int32_t ch = b * MR + r;
        a[((size_t)b * k_total + k) * MR + r] =
            ch < c_out ? weight[(size_t)ch * k_total + k] : 0.0f;
      }
}

/* slab (C_in, rows + 2, W + 2 border) = input rows y0 - 1 .. y0 + rows of
 * one image (C_in, H, W), rows outside the image zero, with `border` zero
 * columns on each side (0: rows end to end). */
static void pack_slab(float *slab, const float *in, const DmConvShape *s,
                      int32_t y0, int32_t rows, int32_t border) {
  const size_t stride = (size_t)s->w_in + 2 * (size_t)border;
  for (int32_t c = 0; c < s->c_in; c++)
    for (int32_t r = 0; r < rows + 2; r++) {
      float *dst = slab + ((size_t)c * (rows + 2) + r) * stride;
      const int32_t y = y0 - 1 + r;
      if (y < 0 || y >= s->h_in) {
        memset(dst, 0, stride * sizeof(float));
        continue;
      }
      for (int32_t x = 0; x < border; x++) dst[x] = dst[stride - 1 - x] = 0.0f;
      memcpy(dst + border, in + ((size_t)c * s->h_in + y) * s->w_in,
             (size_t)s->w_in * sizeof(float));
    }
}

/* Where the kernel reads col. */
typedef enum {
  B_PACKED, /* im2col rows packed into panels, KC rows at a time */
  B_SLAB,   /* a slab with zero borders: rows of whole 16-pixel halves */
  B_ROWS,   /* a slab of rows end to end, the lanes past a row masked */
} BSource;

/* The U-Net's usual conv (3x3, stride 1, padding 1, size kept) reads a
 * slab; any other conv packs its columns. */
static BSource b_source(const DmConvShape *s) {
  if (s->kernel != 3 || s->stride != 1 || s->pad_top != 1 ||
      s->pad_left != 1 || s->h_out != s->h_in || s->w_out != s->w_in)
    return B_PACKED;
  return s->w_out % 16 == 0 ? B_SLAB : B_ROWS;
}

static size_t gcd(size_t a, size_t b) { return b ? gcd(b, a % b) : a; }

/* Output pixels per task: whole panels, and for slab convs whole rows. */
static size_t task_pixels(const DmConvShape *s) {
  const size_t hw = (size_t)s->h_out * s->w_out, w = (size_t)s->w_out;
  const size_t align = b_source(s) == B_PACKED ? NR : w / gcd(w, NR) * NR;
  return dm_conv_task_pixels(hw, s->n, TILE_PIXELS, align);
}

/* b (panels, kc, NR) for im2col rows [k0, k0 + kc) and pixels [p0, p0 +
 * pixels); columns past the last pixel are zero. */
static void pack_columns(float *b, const float *in, const DmConvShape *s,
                         size_t k0, size_t kc, size_t p0, size_t pixels) {
  const size_t panels = (pixels + NR - 1) / NR, used = pixels - (panels - 1) * NR;
  for (size_t k = 0; k < kc; k++) {
    dm_im2col_row(b + k * NR, NR, kc * NR, in, s, (int32_t)(k0 + k), p0,
                  p0 + pixels);
    memset(b + ((panels - 1) * kc + k) * NR + used, 0,
           (NR - used) * sizeof(float));
  }
}

/* offsets (K): where row k = (c, ky, kx) of a B panel starts, from its
 * halves' bases, slab[c][ky][kx - 1] in a slab of `rows` output rows;
 * packed panels hold KC rows of NR floats. */
static void b_row_offsets(ptrdiff_t *offsets, const DmConvShape *s,
                          size_t rows) {
  const size_t k_total = (size_t)s->c_in * s->kernel * s->kernel;
  const BSource source = b_source(s);
  const ptrdiff_t stride = s->w_in + (source == B_SLAB ? 2 : 0);
  const ptrdiff_t plane = (ptrdiff_t)(rows + 2) * stride;
  for (size_t k = 0; k < k_total; k++)
    offsets[k] = source == B_PACKED
                     ? (ptrdiff_t)(k % KC * NR)
                     : (ptrdiff_t)(k / 9) * plane +
                           (ptrdiff_t)(k / 3 % 3) * stride +
                           (ptrdiff_t)(k % 3) - 1;
}

/* masks[kx]: the lanes of a half of 16 pixels, from column x0 of rows of w
 * pixels end to end, that a row of col with that kx reads inside the
 * image: for kx = 0 those not at a row's start, for kx = 2 not at its end. */
static void half_masks(__mmask16 masks[3], size_t x0, size_t w) {
  masks[0] = masks[2] = 0;
  masks[1] = 0xFFFF;
  for (size_t lane = 0, x = x0 % w; lane < 16;
       lane++, x = x + 1 == w ? 0 : x + 1) {
    if (x != 0) masks[0] |= (__mmask16)(1u << lane);
    if (x != w - 1) masks[2] |= (__mmask16)(1u << lane);
  }
}

/* c (rows <= MR, cols <= NR; stride ldc) += a (kc, MR) b (kc, NR), or
 * = that + bias (rows) when `start` (the first K block of a plain conv).
 * Row k of b is the 16 floats at b0 + offsets[k], then the 16 at
 * b1 + offsets[k]; when `masked`, only the lanes of masks[h][kx] of half h
 * are read, kx counting k % 3 from kx0. */
AVX512 static inline __attribute__((always_inline)) void
kernel_tile(float *c, size_t ldc, const float *a, const float *b0,
            const float *b1, const ptrdiff_t *offsets, bool masked,
            const __mmask16 (*masks)[3], size_t kx0, size_t kc, int32_t rows,
            int32_t cols, const float *bias, bool start) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t k = 0, kx = kx0; k < kc; k++, kx = kx == 2 ? 0 : kx + 1) {
    const __m512 low = masked
                           ? _mm512_maskz_loadu_ps(masks[0][kx], b0 + offsets[k])
                           : _mm512_loadu_ps(b0 + offsets[k]);
    const __m512 high = masked
                            ? _mm512_maskz_loadu_ps(masks[1][kx], b1 + offsets[k])
                            : _mm512_loadu_ps(b1 + offsets[k]);
    for (int r = 0; r < MR; r++) {
      const __m512 weight = _mm512_set1_ps(a[k * MR + r]);
      acc[r][0] = _mm512_fmadd_ps(weight, low, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(weight, high, acc[r][1]);
    }
  }
  const int32_t low = cols < 16 ? cols : 16, high = cols > 16 ? cols - 16 : 0;
  const __mmask16 mask0 = (__mmask16)((1u << low) - 1);
  const __mmask16 mask1 = (__mmask16)((1u << high) - 1);
  for (int r = 0; r < MR; r++) {
    if (r >= rows) break;
    float *row = c + (size_t)r * ldc;
    const __m512 base0 = start ? _mm512_set1_ps(bias ? bias[r] : 0.0f)
                               : _mm512_maskz_loadu_ps(mask0, row);
    const __m512 base1 = start ? _mm512_set1_ps(bias ? bias[r] : 0.0f)
                               : _mm512_maskz_loadu_ps(mask1, row + 16);
    _mm512_mask_storeu_ps(row, mask0, _mm512_add_ps(base0, acc[r][0]));
    _mm512_mask_storeu_ps(row + 16, mask1, _mm512_add_ps(base1, acc[r][1]));
  }
}

/* kernel_tile with every lane read, and with masks. */
AVX512 static void kernel_8x32(float *c, size_t ldc, const float *a,
                               const float *b0, const float *b1,
                               const ptrdiff_t *offsets, size_t kc,
                               int32_t rows, int32_t cols, const float *bias,
                               bool start) {
  kernel_tile(c, ldc, a, b0, b1, offsets, false, NULL, 0, kc, rows, cols,
              bias, start);
}

AVX512 static void kernel_8x32_masked(float *c, size_t ldc, const float *a,
                                      const float *b0, const float *b1,
                                      const ptrdiff_t *offsets,
                                      const __mmask16 (*masks)[3], size_t kx0,
                                      size_t kc, int32_t rows, int32_t cols,
                                      const float *bias, bool start) {
  kernel_tile(c, ldc, a, b0, b1, offsets, true, masks, kx0, kc, rows, cols,
              bias, start);
}

/* What a task reads: the packed weights, the B row offsets and its own
 * scratch for the slab (SLACK floats on) or the packed panels. */
typedef struct {
  const float *a;           /* (blocks, K, MR) */
  const ptrdiff_t *offsets; /* (K) */
  float *b;
  size_t slab_rows; /* output rows of a slab */
} TaskInputs;

/* Panel `panel` of a task: the bases of its two halves (in packed panels
 * the panel's halves; in a slab where its pixels start, a half past the
 * task's pixels repeating the first) and, for rows end to end, the masks of
 * its halves. */
static void panel_halves(const float **b0, const float **b1,
                         __mmask16 masks[2][3], const TaskInputs *t,
                         const DmConvShape *s, size_t kc, size_t panel,
                         size_t pixels) {
  const size_t q0 = panel * NR, q1 = q0 + 16 < pixels ? q0 + 16 : q0;
  const size_t w = (size_t)s->w_out, stride = w + 2;
  switch (b_source(s)) {
  case B_PACKED:
    *b0 = t->b + panel * kc * NR;
    *b1 = *b0 + 16;
    break;
  case B_SLAB: /* one column of border: slab[.][.][x - 1] is at x */
    *b0 = t->b + SLACK + q0 / w * stride + q0 % w + 1;
    *b1 = t->b + SLACK + q1 / w * stride + q1 % w + 1;
    break;
  case B_ROWS:
    *b0 = t->b + SLACK + q0;
    *b1 = t->b + SLACK + q1;
    half_masks(masks[0], q0 % w, w);
    half_masks(masks[1], q1 % w, w);
    break;
  }
}

/* One task: output pixels [p0, p0 + pixels) of one image. */
AVX512 static void conv_task(float *out, const float *in, const TaskInputs *t,
                             const float *bias, const DmConvShape *s,
                             size_t p0, size_t pixels, bool accumulate) {
  const size_t k_total = (size_t)s->c_in * s->kernel * s->kernel;
  const size_t hw = (size_t)s->h_out * s->w_out;
  const size_t panels = (pixels + NR - 1) / NR;
  const int32_t blocks = (s->c_out + MR - 1) / MR;
  const BSource source = b_source(s);
  /* A plain conv starts from the bias inside the kernel; an accumulating
   * one adds the bias first and then only accumulates. */
  if (accumulate) dm_conv_fill_bias(out, bias, s->c_out, hw, p0, p0 + pixels, true);
  if (source != B_PACKED)
    pack_slab(t->b + SLACK, in, s, (int32_t)(p0 / (size_t)s->w_out),
              (int32_t)t->slab_rows, source == B_SLAB);
  for (size_t k0 = 0; k0 < k_total; k0 += KC) {
    const bool start = k0 == 0 && !accumulate;
    const size_t kc = MIN((size_t)KC, k_total - k0);
    if (source == B_PACKED) pack_columns(t->b, in, s, k0, kc, p0, pixels);
    for (int32_t block = 0; block < blocks; block++) {
      const float *a_block = t->a + ((size_t)block * k_total + k0) * MR;
      const int32_t rows = MIN(MR, s->c_out - block * MR);
      for (size_t panel = 0; panel < panels; panel++) {
        const int32_t cols = (int32_t)MIN((size_t)NR, pixels - panel * NR);
        const float *b0, *b1;
        __mmask16 masks[2][3];
        float *c = out + (size_t)block * MR * hw + p0 + panel * NR;
        const float *block_bias = bias ? bias + block * MR : NULL;
        panel_halves(&b0, &b1, masks, t, s, kc, panel, pixels);
        if (source == B_ROWS)
          kernel_8x32_masked(c, hw, a_block, b0, b1, t->offsets + k0,
                             (const __mmask16(*)[3])masks, k0 % 3, kc, rows,
                             cols, block_bias, start);
        else
          kernel_8x32(c, hw, a_block, b0, b1, t->offsets + k0, kc, rows, cols,
                      block_bias, start);
      }
    }
  }
}

/* ---- weight gradient ----------------------------------------------------
 *
 * dweight (C_out, K) += dout (C_out, P) col (K, P)^T over every pixel of
 * every image, computed transposed: dweight^T (K, C_out) = col dout^T. The
 * vector operand is dout^T in panels of NR = 32 channels, packed per task
 * pixel-major (d[p][j]); the broadcast operand is col itself, read from a
 * zero-bordered copy of the task's input rows (the slab): for the 3x3 conv,
 * col row (c, ky, kx) at output pixel (y, x) is slab[c][y + ky][x + kx]. A
 * register tile holds 12 rows of K (PAIRS (c, ky) pairs, three kx each) by
 * 32 channels: per pixel 2 loads and 12 broadcasts feed 24 FMAs, and the
 * tile is added to the thread's dweight^T partial once per task. */

#define PAIRS 4

/* d (panels, pixels, NR) = pixels [p0, p0 + pixels) of dout (C_out, hw),
 * transposed 16 x 16 at a time; channels past C_out are zero. */
AVX512 static void pack_dout_transposed(float *d, const float *dout,
                                        int32_t c_out, size_t hw, size_t p0,
                                        size_t pixels) {
  for (int32_t ch0 = 0; ch0 < c_out; ch0 += 16) {
    float *dst = d + (size_t)(ch0 / NR) * pixels * NR + ch0 % NR;
    for (size_t p = 0; p < pixels; p += 16) {
      const size_t count = MIN((size_t)16, pixels - p);
      const __mmask16 mask = (__mmask16)((1u << count) - 1);
      __m512 r[16];
      for (int i = 0; i < 16; i++)
        r[i] = ch0 + i < c_out
                   ? _mm512_maskz_loadu_ps(mask, dout + (size_t)(ch0 + i) * hw +
                                                     p0 + p)
                   : _mm512_setzero_ps();
      dm_transpose_16x16(r);
      for (size_t j = 0; j < count; j++)
        _mm512_storeu_ps(dst + (p + j) * NR, r[j]);
    }
  }
  if (c_out % NR != 0 && c_out % NR <= 16) /* the last panel's upper half */
    for (size_t p = 0; p < pixels; p++)
      _mm512_storeu_ps(d + ((size_t)(c_out / NR) * pixels + p) * NR + 16,
                       _mm512_setzero_ps());
}

/* partial rows [0, 3 pairs) (stride ldp, NR channels) += the register tile
 * of `pairs` (c, ky) pairs, whose slab rows for output row 0 start at
 * rows[i], over output rows [0, height) of `width` pixels (slab rows
 * `stride` apart), against d (height * width, NR). */
AVX512 static inline __attribute__((always_inline)) void
weight_tile(float *partial, size_t ldp, const float *const *rows, int pairs,
            size_t stride, const float *d, int32_t height, int32_t width) {
  __m512 acc[3 * PAIRS][2];
  for (int r = 0; r < 3 * pairs; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int32_t y = 0; y < height; y++) {
    const float *dy = d + (size_t)y * width * NR;
    const size_t offset = (size_t)y * stride;
    for (int32_t x = 0; x < width; x++) {
      const __m512 b0 = _mm512_loadu_ps(dy + (size_t)x * NR);
      const __m512 b1 = _mm512_loadu_ps(dy + (size_t)x * NR + 16);
      for (int i = 0; i < pairs; i++) {
        const float *col = rows[i] + offset + x;
        for (int kx = 0; kx < 3; kx++) {
          const __m512 value = _mm512_set1_ps(col[kx]);
          acc[3 * i + kx][0] = _mm512_fmadd_ps(value, b0, acc[3 * i + kx][0]);
          acc[3 * i + kx][1] = _mm512_fmadd_ps(value, b1, acc[3 * i + kx][1]);
        }
      }
    }
  }
  for (int r = 0; r < 3 * pairs; r++) {
    float *row = partial + (size_t)r * ldp;
    _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), acc[r][0]));
    _mm512_storeu_ps(row + 16,
                     _mm512_add_ps(_mm512_loadu_ps(row + 16), acc[r][1]));
  }
}

/* weight_tile with `pairs` a constant in each branch, so that the compiler
 * unrolls the tile and keeps it in registers. */
AVX512 static void weight_tile_any(float *partial, size_t ldp,
                                   const float *const *rows, int pairs,
                                   size_t stride, const float *d,
                                   int32_t height, int32_t width) {
  switch (pairs) {
  case 4: weight_tile(partial, ldp, rows, 4, stride, d, height, width); break;
  case 3: weight_tile(partial, ldp, rows, 3, stride, d, height, width); break;
  case 2: weight_tile(partial, ldp, rows, 2, stride, d, height, width); break;
  default: weight_tile(partial, ldp, rows, 1, stride, d, height, width); break;
  }
}

/* One thread's scratch for the weight gradient. */
typedef struct {
  float *d;       /* (panels, tile pixels, NR): dout^T */
  float *slab;    /* (C_in, tile rows + 2, W + 2) */
  float *partial; /* (K, panels * NR): this thread's dweight^T */
} WeightScratch;

/* partial += dweight^T from output rows [y0, y0 + height) of one image. */
static void weight_task(const WeightScratch *w, const float *dout,
                        const float *in, const DmConvShape *s, int32_t y0,
                        int32_t height) {
  const size_t width = (size_t)s->w_out, hw = (size_t)s->h_out * width;
  const size_t pixels = (size_t)height * width, stride = width + 2;
  const size_t plane = (size_t)(height + 2) * stride;
  const int32_t panels = (s->c_out + NR - 1) / NR, pairs = 3 * s->c_in;
  const size_t ldp = (size_t)panels * NR;
  pack_dout_transposed(w->d, dout, s->c_out, hw, (size_t)y0 * width, pixels);
  pack_slab(w->slab, in, s, y0, height, 1);
  for (int32_t first = 0; first < pairs; first += PAIRS) {
    const int count = MIN(PAIRS, pairs - first);
    const float *rows[PAIRS];
    for (int i = 0; i < count; i++)
      rows[i] = w->slab + (size_t)((first + i) / 3) * plane +
                (size_t)((first + i) % 3) * stride;
    for (int32_t panel = 0; panel < panels; panel++)
      weight_tile_any(w->partial + (size_t)first * 3 * ldp + panel * NR, ldp,
                      rows, count, stride, w->d + panel * pixels * NR, height,
                      (int32_t)width);
  }
}

/* dweight (C_out, K) += the partials (K, ldp) summed in thread order. */
static void add_transposed_partials(float *dweight, float *const *partials,
                                    int32_t threads, int32_t c_out,
                                    size_t k_total, size_t ldp) {
#pragma omp parallel for schedule(static)
  for (size_t k = 0; k < k_total; k++)
    for (int32_t co = 0; co < c_out; co++) {
      float total = 0.0f;
      for (int32_t t = 0; t < threads; t++)
        if (partials[t]) total += partials[t][k * ldp + co];
      dweight[(size_t)co * k_total + k] += total;
    }
}

bool dm_conv2d_weight_grad_avx512(float *dweight, const float *dout,
                                  const float *in, const DmConvShape *s) {
  const size_t width = (size_t)s->w_out, hw = (size_t)s->h_out * width;
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t k_total = (size_t)s->c_in * 9;
  const int32_t panels = (s->c_out + NR - 1) / NR;
  const size_t ldp = (size_t)panels * NR;
  const int32_t height = (int32_t)(dm_conv_task_pixels(hw, s->n, 512, width) /
                                   width);
  const int32_t tiles = (s->h_out + height - 1) / height;
  const int32_t threads = omp_get_max_threads();
  float **partials = calloc((size_t)threads, sizeof *partials);
  if (partials == NULL) return false;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    const WeightScratch w = {
        malloc(ldp * height * width * sizeof(float)),
        malloc((size_t)s->c_in * (height + 2) * (width + 2) * sizeof(float)),
        calloc(k_total * ldp, sizeof(float))};
    partials[omp_get_thread_num()] = w.partial;
    failed = !w.d || !w.slab || !w.partial;
#pragma omp for schedule(static)
    for (int32_t task = 0; task < s->n * tiles; task++) {
      if (failed) continue;
      const int32_t image = task / tiles, y0 = task % tiles * height;
      weight_task(&w, dout + (size_t)image * s->c_out * hw,
                  in + (size_t)image * s->c_in * hw_in, s, y0,
                  MIN(height, s->h_out - y0));
    }
    free(w.d);
    free(w.slab);
  }
  if (!failed)
    add_transposed_partials(dweight, partials, threads, s->c_out, k_total,
                            ldp);
  for (int32_t t = 0; t < threads; t++) free(partials[t]);
  free(partials);
  return !failed;
}

bool dm_conv2d_avx512_available(void) {
  return __builtin_cpu_supports("avx512f");
}

bool dm_conv2d_forward_avx512(float *out, const float *in, const float *weight,
                              const float *bias, const DmConvShape *s,
                              bool accumulate) {
  const size_t k_total = (size_t)s->c_in * s->kernel * s->kernel;
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const int32_t blocks = (s->c_out + MR - 1) / MR;
  const size_t tile = task_pixels(s), tiles = (hw_out + tile - 1) / tile;
  const size_t slab_rows = tile / (size_t)s->w_out;
  const BSource source = b_source(s);
  const size_t scratch =
      source == B_PACKED
          ? (size_t)KC * ((tile + NR - 1) / NR * NR)
          : (size_t)s->c_in * (slab_rows + 2) * (s->w_in + 2) + 2 * SLACK;
  float *a = dm_alloc_floats((size_t)blocks * MR * k_total);
  ptrdiff_t *offsets = malloc(k_total * sizeof(ptrdiff_t));
  if (a == NULL || offsets == NULL) {
    dm_free_floats(a);
    free(offsets);
    return false;
  }
  pack_weights(a, weight, s->c_out, k_total);
  b_row_offsets(offsets, s, slab_rows);
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    TaskInputs t = {a, offsets, malloc(scratch * sizeof(float)), slab_rows};
    failed = t.b == NULL;
#pragma omp for schedule(dynamic)
    for (size_t task = 0; task < (size_t)s->n * tiles; task++) {
      if (failed) continue;
      const size_t image = task / tiles, p0 = task % tiles * tile;
      conv_task(out + image * s->c_out * hw_out, in + image * s->c_in * hw_in,
                &t, bias, s, p0, MIN(tile, hw_out - p0), accumulate);
    }
    free(t.b);
  }
  dm_free_floats(a);
  free(offsets);
  return !failed;
}

#else /* not x86-64 GCC/clang */

bool dm_conv2d_weight_grad_avx512(float *dweight, const float *dout,
                                  const float *in, const DmConvShape *s) {
  (void)dweight, (void)dout, (void)in, (void)s;
  return false;
}

bool dm_conv2d_avx512_available(void) { return false; }

bool dm_conv2d_forward_avx512(float *out, const float *in, const float *weight,
                              const float *bias, const DmConvShape *s,
                              bool accumulate) {
  (void)out, (void)in, (void)weight, (void)bias, (void)s, (void)accumulate;
  return false;
}

#endif
