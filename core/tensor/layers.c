/* gimp-diffusion core: the network's layers, forward passes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <glib.h>
#include <omp.h>

#include "tensor/conv-kernels.h"
#include "tensor/dtype.h"

/* Scratch per thread for a convolution's column tile or an attention
 * block's scores, in floats (4 MiB): big enough for efficient GEMMs, small
 * enough that memory stays linear in the pixel count. */
#define DM_SCRATCH_FLOATS ((size_t)1 << 20)

/* OpenBLAS runs single-threaded (see threads.c); parallelism comes from our
 * own loops, each thread calling sgemm on its own tile. A task count below
 * the thread count would leave cores idle, so tiles shrink to make enough. */
size_t dm_conv_task_pixels(size_t pixels, int32_t images, size_t max_pixels,
                           size_t align) {
  const size_t threads = (size_t)omp_get_max_threads();
  const size_t wanted = (threads + (size_t)images - 1) / (size_t)images;
  size_t tile = MAX(max_pixels, align);
  size_t count = MAX((pixels + tile - 1) / tile, wanted);
  tile = (pixels + count - 1) / count;
  tile = (tile + align - 1) / align * align;
  return MIN(tile, pixels);
}

/* Column tile for `per_column` rows: the scratch bound, at least 256. */
static size_t tile_size(size_t per_column, size_t columns, int32_t images) {
  const size_t bound = DM_SCRATCH_FLOATS / (per_column ? per_column : 1);
  return dm_conv_task_pixels(columns, images, MAX(bound, (size_t)256), 16);
}

/* exp(x) in float32 to 1-2 ulp, written so that compilers vectorise it:
 * x = n ln 2 + r with |r| <= ln2 / 2 (n rounded by the 1.5 * 2^23 trick),
 * e^r by Cephes' degree-7 minimax polynomial, 2^n through the exponent
 * bits. Inputs are clamped to [-87, 88], where float32 exp is finite. */
static inline float exp_approx(float x) {
  const float round_magic = 12582912.0f; /* 1.5 * 2^23 */
  x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504f + round_magic) - round_magic;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { uint32_t bits; float value; } scale = {
      .bits = (uint32_t)((int32_t)n + 127) << 23};
  return p * scale.value;
}

static inline float silu(float x) { return x / (1.0f + exp_approx(-x)); }

/* Sixteen float lanes, one vector register on AVX-512 (the compiler splits
 * it on narrower targets). */
typedef float Lanes __attribute__((vector_size(16 * sizeof(float))));

/* sum_i w_i (x_i - centre)^power for power 1 or 2 (w NULL: all ones):
 * sixteen float lanes over chunks of 256 values (x[i] goes to lane i % 16),
 * chunk totals summed in double. A fixed order, so deterministic; the
 * float part rounds over at most 16 terms per lane. */
DM_VECTOR_CLONES
static double sum_centred_powers(const float *x, const float *w, size_t count,
                                 float centre, int power) {
  double total = 0.0;
  for (size_t start = 0; start < count; start += 256) {
    const size_t end = MIN(count, start + 256);
    Lanes lanes = {0};
    size_t i = start;
    for (; i + 16 <= end; i += 16) {
      Lanes d, weight = {0};
      memcpy(&d, x + i, sizeof d);
      if (w) memcpy(&weight, w + i, sizeof weight);
      d -= centre;
      lanes += (power == 1 ? d : d * d) * (w ? weight : weight + 1.0f);
    }
    float tail[16];
    memcpy(tail, &lanes, sizeof tail);
    for (; i < end; i++) {
      const float d = x[i] - centre;
      tail[i % 16] += (power == 1 ? d : d * d) * (w ? w[i] : 1.0f);
    }
    double chunk = 0.0;
    for (int j = 0; j < 16; j++) chunk += tail[j];
    total += chunk;
  }
  return total;
}

/* ---- convolution ------------------------------------------------------- */

/* Output columns x in [first, last] read input columns inside the image. */
static void valid_range(int32_t offset, int32_t stride, int32_t w_in,
                        int32_t w_out, int32_t *first, int32_t *last) {
  /* input column = x * stride + offset must lie in [0, w_in) */
  int32_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int32_t hi = (w_in - 1 - offset) >= 0 ? (w_in - 1 - offset) / stride : -1;
  *first = lo;
  *last = hi < w_out - 1 ? hi : w_out - 1;
}

/* dst[x - x0] for x in [x0, x1) = src[x * stride] where x lies in
 * [first, last] (inside the image), else zero. */
static void copy_row_segment(float *dst, const float *src, int32_t x0,
                             int32_t x1, int32_t first, int32_t last,
                             int32_t stride) {
  const int32_t inside_begin = MAX(x0, first), inside_end = MIN(x1, last + 1);
  if (inside_begin >= inside_end) {
    memset(dst, 0, (size_t)(x1 - x0) * sizeof(float));
    return;
  }
  for (int32_t x = x0; x < inside_begin; x++) dst[x - x0] = 0.0f;
  if (stride == 1)
    memcpy(dst + (inside_begin - x0), src + inside_begin,
           (size_t)(inside_end - inside_begin) * sizeof(float));
  else
    for (int32_t x = inside_begin; x < inside_end; x++)
      dst[x - x0] = src[x * stride];
  for (int32_t x = inside_end; x < x1; x++) dst[x - x0] = 0.0f;
}

void dm_im2col_row(float *dst, size_t panel, size_t panel_stride,
                   const float *in, const DmConvShape *s, int32_t row,
                   size_t p_begin, size_t p_end) {
  const int32_t k = s->kernel;
  const int32_t c = row / (k * k), ky = row / k % k, kx = row % k;
  const float *plane = in + (size_t)c * s->h_in * s->w_in;
  const int32_t x_offset = kx - s->pad_left;
  int32_t first, last;
  valid_range(x_offset, s->stride, s->w_in, s->w_out, &first, &last);
  for (size_t q = 0; q < p_end - p_begin;) {
    /* a run of pixels on one output row and inside one panel */
    const size_t p = p_begin + q;
    const int32_t y = (int32_t)(p / (size_t)s->w_out);
    const int32_t x0 = (int32_t)(p % (size_t)s->w_out);
    const size_t run = MIN(MIN((size_t)(s->w_out - x0), p_end - p),
                           panel - q % panel);
    const int32_t x1 = x0 + (int32_t)run;
    const int32_t iy = y * s->stride - s->pad_top + ky;
    float *out = dst + q / panel * panel_stride + q % panel;
    if (iy < 0 || iy >= s->h_in)
      memset(out, 0, run * sizeof(float));
    else
      copy_row_segment(out, plane + (size_t)iy * s->w_in + x_offset, x0, x1,
                       first, last, s->stride);
    q += run;
  }
}

/* col (K, p_end - p_begin): every im2col row for pixels [p_begin, p_end). */
static void im2col_tile(float *col, const float *in, const DmConvShape *s,
                        size_t p_begin, size_t p_end) {
  const int32_t rows = s->c_in * s->kernel * s->kernel;
  const size_t width = p_end - p_begin;
  for (int32_t row = 0; row < rows; row++)
    dm_im2col_row(col + (size_t)row * width, width, 0, in, s, row, p_begin,
                  p_end);
}

void dm_conv_fill_bias(float *out, const float *bias, int32_t channels,
                       size_t hw, size_t p_begin, size_t p_end,
                       bool accumulate) {
  for (int32_t c = 0; c < channels; c++) {
    float *plane = out + (size_t)c * hw;
    const float b = bias ? bias[c] : 0.0f;
    if (!accumulate)
      for (size_t p = p_begin; p < p_end; p++) plane[p] = b;
    else if (b != 0.0f)
      for (size_t p = p_begin; p < p_end; p++) plane[p] += b;
  }
}

/* One tile of a convolution: output pixels [p, p_end) of image `image`. */
static void conv_tile(float *result, const float *image, const float *weight,
                      const float *bias, const DmConvShape *s, float *col,
                      size_t p, size_t p_end, bool accumulate) {
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const int32_t rows = s->c_in * s->kernel * s->kernel;
  dm_conv_fill_bias(result, bias, s->c_out, hw_out, p, p_end, accumulate);
  const float *columns = image + p; /* pointwise: the input is the matrix */
  int ld_columns = (int)hw_out;
  if (col != NULL) {
    im2col_tile(col, image, s, p, p_end);
    columns = col;
    ld_columns = (int)(p_end - p);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c_out,
              (int)(p_end - p), rows, 1.0f, weight, rows, columns, ld_columns,
              1.0f, result + p, (int)hw_out);
}

/* A 1x1 conv whose column matrix is the input itself. */
static bool is_pointwise(const DmConvShape *s) {
  return s->kernel == 1 && s->stride == 1 && s->pad_top == 0 &&
         s->pad_left == 0;
}

bool dm_conv2d_is_same_size_3x3(const DmConvShape *s) {
  return s->kernel == 3 && s->stride == 1 && s->pad_top == 1 &&
         s->pad_left == 1 && s->h_out == s->h_in && s->w_out == s->w_in;
}

/* The AVX-512 kernel, unless the CPU lacks it or DM_CONV_KERNEL=blas asks
 * for the OpenBLAS path (tests run both). */
static bool use_avx512(void) {
  static gsize choice = 0;
  if (g_once_init_enter(&choice)) {
    const char *forced = g_getenv("DM_CONV_KERNEL");
    const bool blas = forced != NULL && strcmp(forced, "blas") == 0;
    g_once_init_leave(&choice, !blas && dm_conv2d_avx512_available() ? 2 : 1);
  }
  return choice == 2;
}

/* Whether a conv's weights outweigh its column matrix: more output
 * channels than output pixels in the whole batch (the deep levels of a
 * latent U-Net). Tiling the pixels would then read and pack every weight
 * once per tile. */
static bool weight_bound(const DmConvShape *s) {
  return !is_pointwise(s) &&
         (size_t)s->c_out > (size_t)s->n * s->h_out * s->w_out;
}

/* out[i] (C_out, hw) = result (C_out, N hw)'s columns of image i + bias
 * (or += when accumulating). */
static void scatter_images(float *out, const float *result, const float *bias,
                           const DmConvShape *s, bool accumulate) {
  const size_t hw = (size_t)s->h_out * s->w_out, pixels = (size_t)s->n * hw;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)s->n * s->c_out; plane++) {
    const size_t image = (size_t)plane / s->c_out, c = (size_t)plane % s->c_out;
    const float *src = result + c * pixels + image * hw;
    float *dst = out + (size_t)plane * hw;
    const float b = bias ? bias[c] : 0.0f;
    for (size_t p = 0; p < hw; p++)
      dst[p] = (accumulate ? dst[p] : 0.0f) + src[p] + b;
  }
}

/* A weight-bound conv: col (K, N hw) = the whole batch's im2col matrix
 * once (no larger than the weights), then result = weight col by one sgemm
 * per block of output channels, so that each weight is packed once. */
static bool conv_by_channel_blocks(float *out, const float *in,
                                   const float *weight, const float *bias,
                                   const DmConvShape *s, bool accumulate) {
  const size_t rows = (size_t)s->c_in * s->kernel * s->kernel;
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t hw = (size_t)s->h_out * s->w_out, pixels = (size_t)s->n * hw;
  float *col = dm_alloc_floats(rows * pixels);
  float *result = dm_alloc_floats((size_t)s->c_out * pixels);
  if (col == NULL || result == NULL) {
    dm_free_floats(col);
    dm_free_floats(result);
    return false;
  }
#pragma omp parallel for schedule(static)
  for (size_t task = 0; task < rows * (size_t)s->n; task++) {
    const size_t row = task / s->n, image = task % s->n;
    dm_im2col_row(col + row * pixels + image * hw, hw, 0,
                  in + image * s->c_in * hw_in, s, (int32_t)row, 0, hw);
  }
  const size_t block = dm_conv_task_pixels((size_t)s->c_out, 1,
                                           (size_t)s->c_out, 16);
#pragma omp parallel for schedule(static)
  for (size_t c0 = 0; c0 < (size_t)s->c_out; c0 += block)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                (int)MIN(block, (size_t)s->c_out - c0), (int)pixels,
                (int)rows, 1.0f, weight + c0 * rows, (int)rows, col,
                (int)pixels, 0.0f, result + c0 * pixels, (int)pixels);
  dm_free_floats(col);
  scatter_images(out, result, bias, s, accumulate);
  dm_free_floats(result);
  return true;
}

bool dm_conv2d_forward(float *out, const float *in, const float *weight,
                       const float *bias, const DmConvShape *s,
                       bool accumulate) {
  const bool pointwise = is_pointwise(s);
  if (weight_bound(s))
    return conv_by_channel_blocks(out, in, weight, bias, s, accumulate);
  if (use_avx512() && dm_conv2d_winograd_fits(s))
    return dm_conv2d_forward_winograd(out, in, weight, bias, s, accumulate);
  if (!pointwise && use_avx512())
    return dm_conv2d_forward_avx512(out, in, weight, bias, s, accumulate);
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const size_t rows = (size_t)s->c_in * s->kernel * s->kernel;
  const size_t tile = tile_size(rows, hw_out, s->n);
  const size_t tiles = (hw_out + tile - 1) / tile;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    float *col = pointwise ? NULL : malloc(tile * rows * sizeof(float));
    failed = !pointwise && col == NULL;
#pragma omp for schedule(dynamic)
    for (size_t task = 0; task < (size_t)s->n * tiles; task++) {
      if (failed) continue;
      const size_t image = task / tiles, p = task % tiles * tile;
      conv_tile(out + image * s->c_out * hw_out, in + image * s->c_in * hw_in,
                weight, bias, s, col, p, MIN(p + tile, hw_out), accumulate);
    }
    free(col);
  }
  return !failed;
}

/* ---- convolution backward ---------------------------------------------- */

/* dst[x * stride] += src[x - x0] for x in [x0, x1) inside [first, last]:
 * the adjoint of copy_row_segment. */
static void add_row_segment(float *dst, const float *src, int32_t x0,
                            int32_t x1, int32_t first, int32_t last,
                            int32_t stride) {
  const int32_t inside_end = MIN(x1, last + 1);
  for (int32_t x = MAX(x0, first); x < inside_end; x++)
    dst[x * stride] += src[x - x0];
}

/* din (C_in, H_in, W_in) of one image += col2im of dcol (K, p_end -
 * p_begin), the adjoint of im2col_tile, for tiles of whole output rows:
 * each row of dcol is added back where im2col read it. */
static void col2im_tile(float *din, const float *dcol, const DmConvShape *s,
                        size_t p_begin, size_t p_end) {
  const int32_t k = s->kernel, rows = s->c_in * k * k;
  const size_t width = p_end - p_begin;
  for (int32_t row = 0; row < rows; row++) {
    const int32_t c = row / (k * k), ky = row / k % k, kx = row % k;
    float *plane = din + (size_t)c * s->h_in * s->w_in;
    const int32_t x_offset = kx - s->pad_left;
    int32_t first, last;
    valid_range(x_offset, s->stride, s->w_in, s->w_out, &first, &last);
    for (size_t p = p_begin; p < p_end; p += (size_t)s->w_out) {
      const int32_t y = (int32_t)(p / (size_t)s->w_out);
      const int32_t iy = y * s->stride - s->pad_top + ky;
      if (iy >= 0 && iy < s->h_in)
        add_row_segment(plane + (size_t)iy * s->w_in + x_offset,
                        dcol + (size_t)row * width + (p - p_begin), 0,
                        s->w_out, first, last, s->stride);
    }
  }
}

/* dbias (C_out) += dout (N, C_out, hw) summed over images and pixels; one
 * channel per iteration, images in order. */
static void conv_bias_backward(float *dbias, const float *dout, int32_t n,
                               int32_t c, size_t hw) {
#pragma omp parallel for schedule(static)
  for (int32_t ch = 0; ch < c; ch++) {
    double total = 0.0;
    for (int32_t i = 0; i < n; i++)
      total += sum_centred_powers(dout + ((size_t)i * c + ch) * hw, NULL, hw,
                                  0.0f, 1);
    dbias[ch] += (float)total;
  }
}

/* True when din of the conv is itself a stride-1 conv (below): stride 1,
 * and at most k - 1 rows or columns of padding on each side. */
static bool adjoint_is_conv(const DmConvShape *s) {
  return s->stride == 1 && s->pad_top < s->kernel &&
         s->pad_left < s->kernel && s->h_out <= s->h_in + s->pad_top &&
         s->w_out <= s->w_in + s->pad_left;
}

/* din (N, C_in, H_in, W_in) += the adjoint of a stride-1 conv, which is the
 * conv of dout with the kernel transposed and flipped, flipped (C_in,
 * C_out, k, k) = weight[co][ci][k-1-ky][k-1-kx], padded by k - 1 - pad on
 * each side (a correlation's adjoint is the correlation with the reversed
 * kernel): the forward's kernels compute it, with no col2im. */
static bool transposed_conv(float *din, const float *dout,
                            const float *weight, const DmConvShape *s) {
  const size_t taps = (size_t)s->kernel * s->kernel;
  float *flipped = malloc((size_t)s->c_in * s->c_out * taps * sizeof(float));
  if (flipped == NULL) return false;
  /* 8 x 8 blocks of (ci, co), so that reads and writes both stay within a
   * few cache lines (a plain loop misses on every (ci, co) pair). */
  for (int32_t ci0 = 0; ci0 < s->c_in; ci0 += 8)
    for (int32_t co0 = 0; co0 < s->c_out; co0 += 8)
      for (int32_t ci = ci0; ci < MIN(ci0 + 8, s->c_in); ci++)
        for (int32_t co = co0; co < MIN(co0 + 8, s->c_out); co++)
          for (size_t t = 0; t < taps; t++)
            flipped[((size_t)ci * s->c_out + co) * taps + taps - 1 - t] =
                weight[((size_t)co * s->c_in + ci) * taps + t];
  const DmConvShape adjoint = {
      s->n, s->c_out, s->h_out, s->w_out, s->c_in, s->h_in, s->w_in,
      s->kernel, 1, s->kernel - 1 - s->pad_top, s->kernel - 1 - s->pad_left};
  const bool ok = dm_conv2d_forward(din, dout, flipped, NULL, &adjoint, true);
  free(flipped);
  return ok;
}

/* din (N, C_in, hw) += weight^T (C_in, C_out) dout (N, C_out, hw): a 1x1
 * conv's adjoint, cblas_sgemm on tiles of pixels (no flipped copy of the
 * weights, which for the attention's projections cost as much as the
 * products). */
static void pointwise_input_grad(float *din, const float *dout,
                                 const float *weight, const DmConvShape *s) {
  const size_t hw = (size_t)s->h_out * s->w_out;
  const size_t tile = tile_size((size_t)s->c_out, hw, s->n);
  const size_t tiles = (hw + tile - 1) / tile;
#pragma omp parallel for schedule(static)
  for (size_t task = 0; task < (size_t)s->n * tiles; task++) {
    const size_t image = task / tiles, p = task % tiles * tile;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->c_in,
                (int)(MIN(p + tile, hw) - p), s->c_out, 1.0f, weight, s->c_in,
                dout + image * s->c_out * hw + p, (int)hw, 1.0f,
                din + image * s->c_in * hw + p, (int)hw);
  }
}

/* Output pixels per backward task. Without din (or with din computed by
 * transposed_conv), tasks are disjoint and of any size; otherwise they are
 * whole output rows, at least enough rows that tiles t and t + 2 read
 * disjoint input rows ((rows + 1) stride >= k), and twice as many tasks as
 * the forward (two phases). */
static size_t backward_tile_pixels(const DmConvShape *s, size_t rows,
                                   bool col2im) {
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  if (!col2im) return tile_size(rows, hw_out, s->n);
  const size_t threads = (size_t)omp_get_max_threads();
  const size_t wanted = 2 * ((threads + (size_t)s->n - 1) / (size_t)s->n);
  const size_t min_rows =
      MAX((size_t)((s->kernel + s->stride - 1) / s->stride) - 1, (size_t)1);
  const size_t bound_rows = DM_SCRATCH_FLOATS / rows / (size_t)s->w_out;
  size_t tile_rows = MIN(bound_rows, ((size_t)s->h_out + wanted - 1) / wanted);
  tile_rows = MIN(MAX(tile_rows, min_rows), (size_t)s->h_out);
  return tile_rows * (size_t)s->w_out;
}

/* One thread's scratch: a column tile (K, tile) for dweight (none for a
 * pointwise conv) and one for din's col2im, and the thread's dweight
 * partial (C_out, K); NULL where not wanted. */
typedef struct {
  float *col, *dcol, *dweight;
} ConvScratch;

static bool conv_scratch_alloc(ConvScratch *scratch, const DmConvShape *s,
                               size_t rows, size_t tile, bool want_input,
                               bool want_weight) {
  const bool columns = want_weight && !is_pointwise(s);
  if (columns) scratch->col = malloc(rows * tile * sizeof(float));
  if (want_input) scratch->dcol = malloc(rows * tile * sizeof(float));
  if (want_weight)
    scratch->dweight = calloc((size_t)s->c_out * rows, sizeof(float));
  return (scratch->col || !columns) && (scratch->dcol || !want_input) &&
         (scratch->dweight || !want_weight);
}

/* The gradients from output pixels [p, p_end) of one image: its dweight
 * partial += dout_tile (C_out, P) col^T (P, K) (a pointwise conv's col is
 * its input), and din, unless NULL, += col2im(weight^T (K, C_out)
 * dout_tile). */
static void conv_backward_tile(float *din, const float *dout,
                               const float *image, const float *weight,
                               const DmConvShape *s, ConvScratch *scratch,
                               size_t p, size_t p_end) {
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const int32_t rows = s->c_in * s->kernel * s->kernel;
  const int pixels = (int)(p_end - p);
  if (scratch->dweight) {
    const bool pointwise = is_pointwise(s);
    const float *columns = pointwise ? image + p : scratch->col;
    if (!pointwise) im2col_tile(scratch->col, image, s, p, p_end);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->c_out, rows,
                pixels, 1.0f, dout + p, (int)hw_out, columns,
                pointwise ? (int)hw_out : pixels, 1.0f, scratch->dweight,
                rows);
  }
  if (din == NULL) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, pixels, s->c_out,
              1.0f, weight, rows, dout + p, (int)hw_out, 0.0f, scratch->dcol,
              pixels);
  col2im_tile(din, scratch->dcol, s, p, p_end);
}

/* dweight (count) += the threads' partials, summed in thread order. */
static void add_partials(float *dweight, float *const *partials,
                         int32_t threads, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) {
    float total = 0.0f;
    for (int32_t t = 0; t < threads; t++)
      if (partials[t]) total += partials[t][i];
    dweight[i] += total;
  }
}

/* Runs the tiles of every image, the even tiles of all images first and
 * then the odd ones when din (col2im) needs two phases; returns false when
 * a thread's scratch cannot be allocated. */
static bool conv_backward_tiles(float *din, float **partials,
                                const float *dout, const float *in,
                                const float *weight, const DmConvShape *s,
                                size_t tile, bool want_weight) {
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const size_t rows = (size_t)s->c_in * s->kernel * s->kernel;
  const size_t tiles = (hw_out + tile - 1) / tile;
  const size_t phases = din != NULL ? 2 : 1;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    ConvScratch scratch = {0};
    failed = !conv_scratch_alloc(&scratch, s, rows, tile, din != NULL,
                                 want_weight);
    partials[omp_get_thread_num()] = scratch.dweight;
    for (size_t phase = 0; phase < phases; phase++) {
      const size_t per_image = (tiles - phase + phases - 1) / phases;
#pragma omp for schedule(static)
      for (size_t task = 0; task < (size_t)s->n * per_image; task++) {
        if (failed) continue;
        const size_t image = task / per_image;
        const size_t p = (task % per_image * phases + phase) * tile;
        conv_backward_tile(din ? din + image * s->c_in * hw_in : NULL,
                           dout + image * s->c_out * hw_out,
                           in + image * s->c_in * hw_in, weight, s, &scratch,
                           p, MIN(p + tile, hw_out));
      }
    }
    free(scratch.col);
    free(scratch.dcol);
  }
  return !failed;
}

bool dm_conv2d_backward(float *din, float *dweight, float *dbias,
                        const float *dout, const float *in,
                        const float *weight, const DmConvShape *s) {
  const size_t rows = (size_t)s->c_in * s->kernel * s->kernel;
  if (dbias) conv_bias_backward(dbias, dout, s->n, s->c_out,
                                (size_t)s->h_out * s->w_out);
  if (din && is_pointwise(s)) {
    pointwise_input_grad(din, dout, weight, s);
    din = NULL; /* done */
  } else if (din && adjoint_is_conv(s)) {
    if (!transposed_conv(din, dout, weight, s)) return false;
    din = NULL; /* done */
  }
  if (dweight && use_avx512() && dm_conv2d_winograd_fits(s)) {
    if (!dm_conv2d_weight_grad_winograd(dweight, dout, in, s)) return false;
    dweight = NULL; /* done */
  }
  if (dweight && use_avx512() && dm_conv2d_is_same_size_3x3(s)) {
    if (!dm_conv2d_weight_grad_avx512(dweight, dout, in, s)) return false;
    dweight = NULL; /* done */
  }
  if (din == NULL && dweight == NULL) return true;
  const int32_t threads = omp_get_max_threads();
  float **partials = calloc((size_t)threads, sizeof *partials);
  if (partials == NULL) return false;
  bool ok = conv_backward_tiles(din, partials, dout, in, weight, s,
                                backward_tile_pixels(s, rows, din != NULL),
                                dweight != NULL);
  if (ok && dweight)
    add_partials(dweight, partials, threads, (size_t)s->c_out * rows);
  for (int32_t t = 0; t < threads; t++) free(partials[t]);
  free(partials);
  return ok;
}

/* ---- normalisation and activations ------------------------------------ */

/* dst (count) = src * scale + shift, then SiLU when `with_silu`. */
DM_VECTOR_CLONES
static void scale_shift_row(float *dst, const float *src, size_t count,
                            float scale, float shift, bool with_silu) {
  if (with_silu)
    for (size_t p = 0; p < count; p++) dst[p] = silu(src[p] * scale + shift);
  else
    for (size_t p = 0; p < count; p++) dst[p] = src[p] * scale + shift;
}

/* mean and rstd = 1 / sqrt(variance + eps) of one group's values (biased
 * variance), in two passes: the mean, then the centred second moment. */
static void group_statistics(const float *x, size_t count, float eps,
                             double *mean, double *rstd) {
  *mean = sum_centred_powers(x, NULL, count, 0.0f, 1) / (double)count;
  const double variance =
      sum_centred_powers(x, NULL, count, (float)*mean, 2) / (double)count;
  *rstd = 1.0 / sqrt(variance + eps);
}

void dm_groupnorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, int32_t n, int32_t c, size_t hw,
                          int32_t groups, float eps, bool with_silu) {
  const int32_t per_group = c / groups;
  const size_t group_size = (size_t)per_group * hw;
#pragma omp parallel for schedule(static)
  for (int32_t task = 0; task < n * groups; task++) {
    const size_t base = (size_t)task * group_size;
    const float *x = in + base;
    double mean, rstd;
    group_statistics(x, group_size, eps, &mean, &rstd);
    const int32_t first_channel = (task % groups) * per_group;
    for (int32_t j = 0; j < per_group; j++) {
      const int32_t ch = first_channel + j;
      const float scale = (float)(rstd * weight[ch]);
      const float shift = (float)(bias[ch] - mean * rstd * weight[ch]);
      scale_shift_row(out + base + (size_t)j * hw, x + (size_t)j * hw, hw,
                      scale, shift, with_silu);
    }
  }
}

/* silu'(x) = s (1 + x (1 - s)), s = sigmoid(x). */
static inline float silu_grad(float x) {
  const float s = 1.0f / (1.0f + exp_approx(-x));
  return s * (1.0f + x * (1.0f - s));
}

/* dy (count) = dout * silu'(x * scale + shift), or dout without SiLU: the
 * gradient at the affine output y of one channel. */
DM_VECTOR_CLONES
static void affine_output_grad(float *dy, const float *dout, const float *x,
                               size_t count, float scale, float shift,
                               bool with_silu) {
  if (with_silu)
    for (size_t p = 0; p < count; p++)
      dy[p] = dout[p] * silu_grad(x[p] * scale + shift);
  else
    memcpy(dy, dout, count * sizeof(float));
}

/* dx (count) += a dy + b (x - centre) + c. */
DM_VECTOR_CLONES
static void add_affine_pair(float *dx, const float *dy, const float *x,
                            size_t count, float a, float b, float centre,
                            float c) {
  for (size_t p = 0; p < count; p++)
    dx[p] += a * dy[p] + b * (x[p] - centre) + c;
}

/* One (image, group) of a groupnorm backward: rows of per_group channels
 * of hw pixels, the group's parameters and statistics. */
typedef struct {
  const float *dout, *x;       /* (per_group, hw) */
  const float *weight, *bias;  /* (per_group) */
  double mean, rstd;
  size_t hw;
  bool with_silu;
} NormGroup;

/* Channel j's dy (hw), the gradient at y, and sums[0] = sum dy, sums[1] =
 * sum dy xhat with xhat = (x - mean) rstd: 256 values at a time, each
 * chunk of dy summed while it is still in L1. */
static void channel_grad_sums(float *dy, double sums[2], const NormGroup *g,
                              int32_t j) {
  const float *x = g->x + (size_t)j * g->hw;
  const float *dout = g->dout + (size_t)j * g->hw;
  const float scale = (float)(g->rstd * g->weight[j]);
  const float shift = (float)(g->bias[j] - g->mean * g->rstd * g->weight[j]);
  double sum_dy = 0.0, sum_dy_centred = 0.0;
  for (size_t start = 0; start < g->hw; start += 256) {
    const size_t count = MIN((size_t)256, g->hw - start);
    affine_output_grad(dy + start, dout + start, x + start, count, scale,
                       shift, g->with_silu);
    sum_dy += sum_centred_powers(dy + start, NULL, count, 0.0f, 1);
    sum_dy_centred +=
        sum_centred_powers(x + start, dy + start, count, (float)g->mean, 1);
  }
  sums[0] = sum_dy;
  sums[1] = sum_dy_centred * g->rstd;
}

/* One (image, group) task, with dy (per_group, hw) scratch: sums
 * (per_group, 2) = per channel (sum dy, sum dy xhat), then din (per_group,
 * hw) += rstd (g - mean(g) - xhat mean(g xhat)) with g = dy * weight, the
 * means over the group. */
static void groupnorm_group_backward(float *din, double *sums,
                                     NormGroup *g, int32_t per_group,
                                     float eps, float *dy) {
  group_statistics(g->x, (size_t)per_group * g->hw, eps, &g->mean, &g->rstd);
  double mean_g = 0.0, mean_g_xhat = 0.0;
  for (int32_t j = 0; j < per_group; j++) {
    channel_grad_sums(dy + (size_t)j * g->hw, sums + 2 * j, g, j);
    mean_g += g->weight[j] * sums[2 * j];
    mean_g_xhat += g->weight[j] * sums[2 * j + 1];
  }
  if (din == NULL) return;
  const double count = (double)per_group * (double)g->hw;
  mean_g /= count;
  mean_g_xhat /= count;
  for (int32_t j = 0; j < per_group; j++)
    add_affine_pair(din + (size_t)j * g->hw, dy + (size_t)j * g->hw,
                    g->x + (size_t)j * g->hw, g->hw,
                    (float)(g->rstd * g->weight[j]),
                    (float)(-g->rstd * g->rstd * mean_g_xhat), (float)g->mean,
                    (float)(-g->rstd * mean_g));
}

/* dweight (C) += sums[.][1] and dbias (C) += sums[.][0] of (N, C, 2),
 * images in order. */
static void add_channel_sums(float *dweight, float *dbias,
                             const double *sums, int32_t n, int32_t c) {
  for (int32_t ch = 0; ch < c; ch++) {
    double weight_total = 0.0, bias_total = 0.0;
    for (int32_t i = 0; i < n; i++) {
      bias_total += sums[((size_t)i * c + ch) * 2];
      weight_total += sums[((size_t)i * c + ch) * 2 + 1];
    }
    if (dweight) dweight[ch] += (float)weight_total;
    if (dbias) dbias[ch] += (float)bias_total;
  }
}

bool dm_groupnorm_backward(float *din, float *dweight, float *dbias,
                           const float *dout, const float *in,
                           const float *weight, const float *bias, int32_t n,
                           int32_t c, size_t hw, int32_t groups, float eps,
                           bool with_silu) {
  const int32_t per_group = c / groups;
  const size_t group_size = (size_t)per_group * hw;
  double *sums = malloc((size_t)n * c * 2 * sizeof(double));
  if (sums == NULL) return false;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    float *dy = malloc(group_size * sizeof(float));
    failed = dy == NULL;
#pragma omp for schedule(static)
    for (int32_t task = 0; task < n * groups; task++) {
      if (failed) continue;
      const size_t base = (size_t)task * group_size;
      const int32_t first = (task % groups) * per_group;
      NormGroup group = {.dout = dout + base, .x = in + base,
                         .weight = weight + first, .bias = bias + first,
                         .hw = hw, .with_silu = with_silu};
      groupnorm_group_backward(din ? din + base : NULL,
                               sums + (size_t)task * per_group * 2, &group,
                               per_group, eps, dy);
    }
    free(dy);
  }
  if (!failed) add_channel_sums(dweight, dbias, sums, n, c);
  free(sums);
  return !failed;
}

DM_VECTOR_CLONES
void dm_silu_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) out[i] = silu(in[i]);
}

DM_VECTOR_CLONES
void dm_silu_backward(float *din, const float *dout, const float *in,
                      size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) din[i] += dout[i] * silu_grad(in[i]);
}

void dm_linear_forward(float *out, const float *in, const float *weight,
                       const float *bias, int32_t n, int32_t in_features,
                       int32_t out_features) {
  /* One task per block of output features: every thread an sgemm. */
  const size_t block = dm_conv_task_pixels((size_t)out_features, 1,
                                           (size_t)out_features, 16);
#pragma omp parallel for schedule(static)
  for (size_t j0 = 0; j0 < (size_t)out_features; j0 += block) {
    const size_t cols = MIN(block, (size_t)out_features - j0);
    for (int32_t i = 0; i < n; i++)
      for (size_t j = j0; j < j0 + cols; j++)
        out[(size_t)i * out_features + j] = bias ? bias[j] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)cols,
                in_features, 1.0f, in, in_features, weight + j0 * in_features,
                in_features, 1.0f, out + j0, out_features);
  }
}

void dm_linear_backward(float *din, float *dweight, float *dbias,
                        const float *dout, const float *in,
                        const float *weight, int32_t n, int32_t in_features,
                        int32_t out_features) {
  if (din) /* din (N, in) += dout (N, out) weight (out, in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in_features,
                out_features, 1.0f, dout, out_features, weight, in_features,
                1.0f, din, in_features);
  if (dweight) /* dweight (out, in) += dout^T (out, N) in (N, in) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_features,
                in_features, n, 1.0f, dout, out_features, in, in_features,
                1.0f, dweight, in_features);
  for (int32_t j = 0; dbias && j < out_features; j++) {
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) total += dout[(size_t)i * out_features + j];
    dbias[j] += (float)total;
  }
}

void dm_channel_shift_forward(float *out, const float *shift, int32_t n,
                              int32_t c, size_t hw) {
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++) {
    float *dst = out + (size_t)plane * hw;
    for (size_t p = 0; p < hw; p++) dst[p] += shift[plane];
  }
}

void dm_channel_shift_backward(float *dshift, const float *dout, int32_t n,
                               int32_t c, size_t hw) {
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++)
    dshift[plane] += (float)sum_centred_powers(dout + (size_t)plane * hw,
                                               NULL, hw, 0.0f, 1);
}

/* ---- resampling and concatenation -------------------------------------- */

void dm_upsample2x_forward(float *out, const float *in, int32_t n, int32_t c,
                           int32_t h, int32_t w) {
  const int64_t planes = (int64_t)n * c;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float *src = in + (size_t)p * h * w;
    float *dst = out + (size_t)p * 4 * h * w;
    for (int32_t y = 0; y < 2 * h; y++)
      for (int32_t x = 0; x < 2 * w; x++)
        dst[(size_t)y * 2 * w + x] = src[(size_t)(y / 2) * w + x / 2];
  }
}

void dm_upsample2x_backward(float *din, const float *dout, int32_t n,
                            int32_t c, int32_t h, int32_t w) {
  const int64_t planes = (int64_t)n * c;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float *src = dout + (size_t)p * 4 * h * w;
    float *dst = din + (size_t)p * h * w;
    for (int32_t y = 0; y < h; y++)
      for (int32_t x = 0; x < w; x++) {
        const float *top = src + (size_t)(2 * y) * 2 * w + 2 * x;
        dst[(size_t)y * w + x] += top[0] + top[1] + top[2 * w] + top[2 * w + 1];
      }
  }
}

void dm_concat_forward(float *out, const float *a, const float *b, int32_t n,
                       int32_t c_a, int32_t c_b, size_t hw) {
#pragma omp parallel for schedule(static)
  for (int32_t i = 0; i < n; i++) {
    float *dst = out + (size_t)i * (c_a + c_b) * hw;
    memcpy(dst, a + (size_t)i * c_a * hw, (size_t)c_a * hw * sizeof(float));
    memcpy(dst + (size_t)c_a * hw, b + (size_t)i * c_b * hw,
           (size_t)c_b * hw * sizeof(float));
  }
}

void dm_concat_backward(float *da, float *db, const float *dout, int32_t n,
                        int32_t c_a, int32_t c_b, size_t hw) {
  const size_t count_a = (size_t)c_a * hw, count_b = (size_t)c_b * hw;
#pragma omp parallel for schedule(static)
  for (int32_t i = 0; i < n; i++) {
    const float *src = dout + (size_t)i * (count_a + count_b);
    for (size_t p = 0; da && p < count_a; p++) da[i * count_a + p] += src[p];
    for (size_t p = 0; db && p < count_b; p++)
      db[i * count_b + p] += src[count_a + p];
  }
}

/* ---- timestep embedding ------------------------------------------------ */

void dm_timestep_embedding_forward(float *out, const float *timesteps,
                                   int32_t n, int32_t dim, bool flip_sin_to_cos,
                                   int32_t freq_shift) {
  const int32_t half = dim / 2;
  /* diffusers computes every step in float32: exponent = f32(-ln 10000) *
   * f32(i), divided by f32(half - freq_shift), then exp, then t * e_i. */
  const float log_period = (float)-log(10000.0);
  for (int32_t i = 0; i < n; i++) {
    float *row = out + (size_t)i * dim;
    for (int32_t j = 0; j < half; j++) {
      const float exponent = log_period * (float)j / (float)(half - freq_shift);
      const float arg = timesteps[i] * expf(exponent);
      const float s = sinf(arg), co = cosf(arg);
      row[j] = flip_sin_to_cos ? co : s;
      row[half + j] = flip_sin_to_cos ? s : co;
    }
    if (dim % 2) row[dim - 1] = 0.0f;
  }
}

/* ---- attention --------------------------------------------------------- */

/* max_i x_i over sixteen lanes (vectorisable without reassociation). */
DM_VECTOR_CLONES
static float max_lanes(const float *x, size_t count) {
  float lanes[16];
  for (int j = 0; j < 16; j++) lanes[j] = x[0];
  size_t i = 0;
  for (; i + 16 <= count; i += 16)
    for (int j = 0; j < 16; j++) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  for (; i < count; i++) lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  float max = lanes[0];
  for (int j = 1; j < 16; j++) max = lanes[j] > max ? lanes[j] : max;
  return max;
}

/* row = exp(row - shift), in place. */
DM_VECTOR_CLONES
static void exp_shifted(float *row, size_t count, float shift) {
  for (size_t j = 0; j < count; j++) row[j] = exp_approx(row[j] - shift);
}

DM_VECTOR_CLONES
static void scale_row(float *row, size_t count, float factor) {
  for (size_t j = 0; j < count; j++) row[j] *= factor;
}

/* row = exp(row - max) in place, max = the row's largest value (*max):
 * softmax's numerators, shifted for range; returns their sum, its
 * denominator. */
static double exp_sum_row(float *row, size_t cols, float *max) {
  *max = max_lanes(row, cols);
  exp_shifted(row, cols, *max);
  return sum_centred_powers(row, NULL, cols, 0.0f, 1);
}

/* Softmax of one row, in place. Returns the row's log-sum-exp lse = log
 * sum_j exp(row_j), so that softmax_j = exp(row_j - lse). */
static float softmax_row(float *row, size_t cols) {
  float max;
  const double total = exp_sum_row(row, cols, &max);
  scale_row(row, cols, (float)(1.0 / total));
  return max + (float)log(total);
}

/* The token-wise linear map dst (C, hw) = W (C, C) src (C, hw) + b in
 * channel-major form is a 1x1 convolution of this shape. */
static DmConvShape projection_shape(int32_t c, size_t hw) {
  return (DmConvShape){1, c, 1, (int32_t)hw, c, 1, (int32_t)hw, 1, 1, 0, 0};
}

static bool project(float *dst, const float *src, const float *weight,
                    const float *bias, int32_t c, size_t hw) {
  const DmConvShape shape = projection_shape(c, hw);
  return dm_conv2d_forward(dst, src, weight, bias, &shape, false);
}

/* normed, q, k, v (C, hw) of one image x (C, hw): GroupNorm, then the three
 * projections, q scaled by q_scale = 1 / sqrt(d). */
static bool attention_inputs(float *normed, float *q, float *k, float *v,
                             const float *x, const DmAttentionWeights *w,
                             int32_t c, size_t hw, int32_t groups, float eps,
                             float q_scale) {
  dm_groupnorm_forward(normed, x, w->norm_weight, w->norm_bias, 1, c, hw,
                       groups, eps, false);
  if (!project(q, normed, w->query_weight, w->query_bias, c, hw) ||
      !project(k, normed, w->key_weight, w->key_bias, c, hw) ||
      !project(v, normed, w->value_weight, w->value_bias, c, hw))
    return false;
  for (size_t p = 0; p < (size_t)c * hw; p++) q[p] *= q_scale;
  return true;
}

/* Where one image's q (Lq tokens), k, v (Lk tokens) and context (Lq
 * tokens) live: C = heads * head_dim channels, head h holding channels
 * [h d, (h + 1) d), either as planes (C, L) (an image's pixels as tokens)
 * or as rows (L, C) (a token sequence). */
typedef struct {
  int32_t heads, head_dim;
  size_t lq, lk;
  bool planes; /* (C, L), else (L, C) */
  bool causal; /* query i sees keys j <= i only (lq == lk) */
  float scale; /* applied to q k^T */
} AttendShape;

/* scores (rows, Lk) = scale q_h[q0 : q0 + rows] k_h^T for head h. */
static void head_scores(float *scores, const float *q, const float *k,
                        const AttendShape *s, int32_t h, size_t q0,
                        size_t rows) {
  const int d = s->head_dim, lk = (int)s->lk;
  if (s->planes) { /* q_h (d, Lq), k_h (d, Lk) */
    const size_t off = (size_t)h * d;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, lk, d,
                s->scale, q + off * s->lq + q0, (int)s->lq, k + off * s->lk,
                lk, 0.0f, scores, lk);
  } else { /* q_h (Lq, d) and k_h (Lk, d), rows of C */
    const int c = s->heads * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, lk, d,
                s->scale, q + q0 * c + (size_t)h * d, c, k + (size_t)h * d, c,
                0.0f, scores, lk);
  }
}

/* context_h[q0 : q0 + rows] = probs (rows, Lk) v_h for head h. */
static void head_context(float *context, const float *probs, const float *v,
                         const AttendShape *s, int32_t h, size_t q0,
                         size_t rows) {
  const int d = s->head_dim, lk = (int)s->lk;
  if (s->planes) { /* context_h (d, rows) = v_h (d, Lk) probs^T */
    const size_t off = (size_t)h * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, (int)rows, lk,
                1.0f, v + off * s->lk, lk, probs, lk, 0.0f,
                context + off * s->lq + q0, (int)s->lq);
  } else { /* context_h (rows, d) = probs v_h (Lk, d) */
    const int c = s->heads * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, d, lk,
                1.0f, probs, lk, v + (size_t)h * d, c, 0.0f,
                context + q0 * c + (size_t)h * d, c);
  }
}

/* The keys query q sees: all, or those up to it under the causal mask
 * (whose probabilities are exactly zero, as adding -inf before the softmax
 * gives). */
static size_t keys_seen(const AttendShape *s, size_t q) {
  return s->causal ? MIN(q + 1, s->lk) : s->lk;
}

/* context_h[q0 + r] *= factors[r] for the rows of a block. */
static void scale_context(float *context, const float *factors,
                          const AttendShape *s, int32_t h, size_t q0,
                          size_t rows) {
  const size_t d = (size_t)s->head_dim, c = (size_t)s->heads * d;
  for (size_t j = 0; j < d; j++)
    for (size_t r = 0; r < rows; r++) {
      float *x = s->planes ? context + (h * d + j) * s->lq + q0 + r
                           : context + (q0 + r) * c + h * d + j;
      *x *= factors[r];
    }
}

/* One task of attend: queries [q0, q0 + rows) of head h, their scores in
 * `scores` (rows, Lk). Without `saved` probabilities the rows keep the
 * softmax's numerators and the context is divided by the denominators
 * afterwards ((rows, d) divisions instead of (rows, Lk)); with them, the
 * rows are normalised in place for the backward. */
static void attend_block(float *context, float *scores, float *factors,
                         bool saved, const float *q, const float *k,
                         const float *v, const AttendShape *s, int32_t h,
                         size_t q0, size_t rows) {
  head_scores(scores, q, k, s, h, q0, rows);
  for (size_t r = 0; r < rows; r++) {
    float *row = scores + r * s->lk;
    const size_t seen = keys_seen(s, q0 + r);
    float max;
    if (saved)
      softmax_row(row, seen);
    else
      factors[r] = (float)(1.0 / exp_sum_row(row, seen, &max));
    memset(row + seen, 0, (s->lk - seen) * sizeof(float));
  }
  head_context(context, scores, v, s, h, q0, rows);
  if (!saved) scale_context(context, factors, s, h, q0, rows);
}

/* context = per head softmax(scale q_h k_h^T) v_h, one task per (head,
 * block of queries). With `probs` (heads, Lq, Lk), each head is one block
 * and its softmax stays there for the backward. */
static bool attend(float *context, float *probs, const float *q,
                   const float *k, const float *v, const AttendShape *s) {
  const size_t block = probs ? s->lq : tile_size(s->lk, s->lq, s->heads);
  const size_t blocks = (s->lq + block - 1) / block;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    float *scratch = probs ? NULL : malloc(block * (s->lk + 1) * sizeof(float));
    failed = !probs && scratch == NULL;
#pragma omp for schedule(static)
    for (size_t task = 0; task < (size_t)s->heads * blocks; task++) {
      if (failed) continue;
      const int32_t head = (int32_t)(task / blocks);
      const size_t q0 = task % blocks * block, rows = MIN(block, s->lq - q0);
      float *scores = probs ? probs + head * s->lq * s->lk : scratch;
      attend_block(context, scores, scratch ? scratch + block * s->lk : NULL,
                   probs != NULL, q, k, v, s, head, q0, rows);
    }
    free(scratch);
  }
  return !failed;
}

/* The shape of an image's spatial attention: planes, q already scaled. */
static AttendShape spatial_shape(int32_t heads, int32_t head_dim, size_t hw) {
  return (AttendShape){heads, head_dim, hw, hw, true, false, 1.0f};
}

/* Whether a batch of n images runs one image per thread, each image's
 * layers single-threaded (fewer, larger tasks, no barrier per layer),
 * rather than the images in turn with every thread inside each layer. */
static bool attention_by_image(int32_t n) {
  return n >= omp_get_max_threads();
}

/* One image: y (C, hw) = (to_out(attend(q, k, v)) + x) / rescale, with
 * scratch for four planes. */
static bool attention_image_forward(float *y, const float *x, float *work,
                                    const DmAttentionWeights *w, int32_t c,
                                    size_t hw, int32_t heads, int32_t groups,
                                    float eps, float rescale) {
  const int32_t head_dim = c / heads;
  const size_t plane = (size_t)c * hw;
  float *normed = work, *q = work + plane, *k = q + plane, *v = k + plane;
  float *context = normed; /* normed is dead once q, k, v exist */
  const float q_scale = 1.0f / sqrtf((float)head_dim);
  const AttendShape shape = spatial_shape(heads, head_dim, hw);
  if (!attention_inputs(normed, q, k, v, x, w, c, hw, groups, eps,
                        q_scale) ||
      !attend(context, NULL, q, k, v, &shape) ||
      !project(y, context, w->out_weight, w->out_bias, c, hw))
    return false;
  /* Residual connection, then diffusers' rescale_output_factor. */
  for (size_t p = 0; p < plane; p++) y[p] = (y[p] + x[p]) / rescale;
  return true;
}

bool dm_attention_forward(float *out, const float *in,
                          const DmAttentionWeights *w, int32_t n, int32_t c,
                          size_t hw, int32_t heads, int32_t groups, float eps,
                          float rescale) {
  const size_t plane = (size_t)c * hw;
  bool failed = false;
#pragma omp parallel if (attention_by_image(n)) reduction(|| : failed)
  {
    float *work = malloc(4 * plane * sizeof(float));
    failed = work == NULL;
#pragma omp for schedule(static)
    for (int32_t i = 0; i < n; i++)
      if (!failed)
        failed = !attention_image_forward(out + (size_t)i * plane,
                                          in + (size_t)i * plane, work, w, c,
                                          hw, heads, groups, eps, rescale);
    free(work);
  }
  return !failed;
}

/* ---- attention backward ------------------------------------------------ */

/* One image's attention backward: the recomputed forward and the
 * gradients, each (C, hw), heads of d = head_dim channels in turn. */
typedef struct {
  float *normed, *q, *k, *v, *context; /* q scaled by 1 / sqrt(d) */
  float *dy, *dcontext, *dq, *dk, *dv; /* dy: the output gradient / rescale */
  float *lse, *delta;                  /* (heads, hw): per query */
  float *probs, *dprob; /* whole heads: P (heads, hw, hw), dP (hw, hw) */
  int32_t heads, head_dim;
  size_t hw;
} AttentionWork;

/* p (count) = p o (dp - delta): a row of dS = P o (dP - D). */
DM_VECTOR_CLONES
static void softmax_grad_row(float *p, const float *dp, float delta,
                             size_t count) {
  for (size_t j = 0; j < count; j++) p[j] *= dp[j] - delta;
}

/* The same for a row of dS^T: delta (count) varies along it. */
DM_VECTOR_CLONES
static void softmax_grad_columns(float *p, const float *dp,
                                 const float *delta, size_t count) {
  for (size_t j = 0; j < count; j++) p[j] *= dp[j] - delta[j];
}

/* row (count) = exp(row - shift), shift (count) varying along it. */
DM_VECTOR_CLONES
static void exp_minus(float *row, const float *shift, size_t count) {
  for (size_t j = 0; j < count; j++) row[j] = exp_approx(row[j] - shift[j]);
}

/* delta (heads, hw) = per query i, dC_i . C_i over each head's channels. */
static void softmax_deltas(const AttentionWork *a) {
#pragma omp parallel for schedule(static)
  for (int32_t head = 0; head < a->heads; head++) {
    float *delta = a->delta + (size_t)head * a->hw;
    memset(delta, 0, a->hw * sizeof(float));
    for (int32_t j = 0; j < a->head_dim; j++) {
      const size_t row = ((size_t)head * a->head_dim + j) * a->hw;
      for (size_t i = 0; i < a->hw; i++)
        delta[i] += a->dcontext[row + i] * a->context[row + i];
    }
  }
}

/* Queries [q0, q0 + rows) of one head: scores (rows, hw) = q^T k, P by
 * softmax (keeping each row's lse), dprob (rows, hw) = dC^T v, dS = P o
 * (dP - D) in scores, then dq[:, q0:q0+rows] (d, rows) = k dS^T. */
static void query_block_backward(const AttentionWork *a, int32_t head,
                                 float *scores, float *dprob, size_t q0,
                                 size_t rows) {
  const size_t off = (size_t)head * a->head_dim * a->hw, hw = a->hw;
  const float *delta = a->delta + (size_t)head * hw;
  float *lse = a->lse + (size_t)head * hw;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
              a->head_dim, 1.0f, a->q + off + q0, (int)hw, a->k + off,
              (int)hw, 0.0f, scores, (int)hw);
  for (size_t r = 0; r < rows; r++)
    lse[q0 + r] = softmax_row(scores + r * hw, hw);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
              a->head_dim, 1.0f, a->dcontext + off + q0, (int)hw,
              a->v + off, (int)hw, 0.0f, dprob, (int)hw);
  for (size_t r = 0; r < rows; r++)
    softmax_grad_row(scores + r * hw, dprob + r * hw, delta[q0 + r], hw);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->head_dim, (int)rows,
              (int)hw, 1.0f, a->k + off, (int)hw, scores, (int)hw, 0.0f,
              a->dq + off + q0, (int)hw);
}

/* Keys [k0, k0 + rows) of one head: P^T (rows, hw) = exp(k^T q - lse),
 * dv[:, k0:k0+rows] (d, rows) = dC P; dP^T (rows, hw) = v^T dC, dS^T =
 * P^T o (dP^T - D), dk[:, k0:k0+rows] (d, rows) = q dS. */
static void key_block_backward(const AttentionWork *a, int32_t head,
                               float *scores, float *dprob, size_t k0,
                               size_t rows) {
  const size_t off = (size_t)head * a->head_dim * a->hw, hw = a->hw;
  const float *delta = a->delta + (size_t)head * hw;
  const float *lse = a->lse + (size_t)head * hw;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
              a->head_dim, 1.0f, a->k + off + k0, (int)hw, a->q + off,
              (int)hw, 0.0f, scores, (int)hw);
  for (size_t r = 0; r < rows; r++) exp_minus(scores + r * hw, lse, hw);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->head_dim, (int)rows,
              (int)hw, 1.0f, a->dcontext + off, (int)hw, scores, (int)hw,
              0.0f, a->dv + off + k0, (int)hw);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
              a->head_dim, 1.0f, a->v + off + k0, (int)hw, a->dcontext + off,
              (int)hw, 0.0f, dprob, (int)hw);
  for (size_t r = 0; r < rows; r++)
    softmax_grad_columns(scores + r * hw, dprob + r * hw, delta, hw);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->head_dim, (int)rows,
              (int)hw, 1.0f, a->q + off, (int)hw, scores, (int)hw, 0.0f,
              a->dk + off + k0, (int)hw);
}

/* One task of a pass: a block of rows (queries or keys) of one head. */
typedef void (*BlockBackward)(const AttentionWork *a, int32_t head,
                              float *scores, float *dprob, size_t first,
                              size_t rows);

/* One head whose P the recompute kept (a->probs): dP (hw, hw) = dC^T v,
 * dv (d, hw) = dC P, dS = P o (dP - D) in place of P, dq (d, hw) = k dS^T,
 * dk (d, hw) = q dS: four products against the blocked passes' seven. */
static void whole_head_backward(const AttentionWork *a, int32_t head) {
  const size_t off = (size_t)head * a->head_dim * a->hw, hw = a->hw;
  const int d = a->head_dim, n = (int)hw;
  const float *delta = a->delta + (size_t)head * hw;
  float *p = a->probs + (size_t)head * hw * hw;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, d, 1.0f,
              a->dcontext + off, n, a->v + off, n, 0.0f, a->dprob, n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, n, n, 1.0f,
              a->dcontext + off, n, p, n, 0.0f, a->dv + off, n);
  for (size_t r = 0; r < hw; r++)
    softmax_grad_row(p + r * hw, a->dprob + r * hw, delta[r], hw);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, n, n, 1.0f,
              a->k + off, n, p, n, 0.0f, a->dq + off, n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, n, n, 1.0f,
              a->q + off, n, p, n, 0.0f, a->dk + off, n);
}

/* dq, dk, dv of context = softmax(q^T k) v per head, from dcontext and
 * delta: with the heads' P kept, one task per head; otherwise the query
 * pass (dq, lse), a barrier, then the key pass (dk, dv), one task per
 * (head, block) in each pass. */
static bool attend_backward(const AttentionWork *a) {
  static const BlockBackward passes[2] = {query_block_backward,
                                          key_block_backward};
  if (a->probs) {
    for (int32_t head = 0; head < a->heads; head++)
      whole_head_backward(a, head);
    return true;
  }
  const size_t hw = a->hw, block = tile_size(hw, hw, a->heads);
  const size_t blocks = (hw + block - 1) / block;
  const size_t tasks = (size_t)a->heads * blocks;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    float *scores = malloc(block * hw * sizeof(float));
    float *dprob = malloc(block * hw * sizeof(float));
    failed = !scores || !dprob;
    for (int pass = 0; pass < 2; pass++) {
#pragma omp for schedule(static)
      for (size_t task = 0; task < tasks; task++) {
        const size_t first = task % blocks * block;
        if (!failed)
          passes[pass](a, (int32_t)(task / blocks), scores, dprob, first,
                       MIN(block, hw - first));
      }
    }
    free(scores);
    free(dprob);
  }
  return !failed;
}

/* One image: out = (to_out(attend(q, k, v)) + x) / rescale backwards, from
 * dout (C, hw) to din (C, hw) and the weights' gradients. */
static bool attention_image_backward(float *din, const DmAttentionGrads *g,
                                     const float *dout, const float *x,
                                     const DmAttentionWeights *w,
                                     const AttentionWork *a, int32_t groups,
                                     float eps, float rescale) {
  const int32_t c = a->heads * a->head_dim;
  const size_t plane = (size_t)c * a->hw;
  const DmConvShape shape = projection_shape(c, a->hw);
  const float q_scale = 1.0f / sqrtf((float)a->head_dim);
  const AttendShape attend_shape = spatial_shape(a->heads, a->head_dim, a->hw);
  if (!attention_inputs(a->normed, a->q, a->k, a->v, x, w, c, a->hw, groups,
                        eps, q_scale) ||
      !attend(a->context, a->probs, a->q, a->k, a->v, &attend_shape))
    return false;
  for (size_t p = 0; p < plane; p++) a->dy[p] = dout[p] / rescale;
  for (size_t p = 0; din && p < plane; p++) din[p] += a->dy[p]; /* residual */
  memset(a->dcontext, 0, plane * sizeof(float));
  if (!dm_conv2d_backward(a->dcontext, g->out_weight, g->out_bias, a->dy,
                          a->context, w->out_weight, &shape))
    return false;
  softmax_deltas(a);
  if (!attend_backward(a)) return false;
  /* q = (W_q normed + b_q) q_scale */
  for (size_t p = 0; p < plane; p++) a->dq[p] *= q_scale;
  float *dnormed = a->context; /* the context is dead */
  memset(dnormed, 0, plane * sizeof(float));
  return dm_conv2d_backward(dnormed, g->query_weight, g->query_bias, a->dq,
                            a->normed, w->query_weight, &shape) &&
         dm_conv2d_backward(dnormed, g->key_weight, g->key_bias, a->dk,
                            a->normed, w->key_weight, &shape) &&
         dm_conv2d_backward(dnormed, g->value_weight, g->value_bias, a->dv,
                            a->normed, w->value_weight, &shape) &&
         dm_groupnorm_backward(din, g->norm_weight, g->norm_bias, dnormed, x,
                               w->norm_weight, w->norm_bias, 1, c, a->hw,
                               groups, eps, false);
}

/* The addresses of g's ten tensors in field order, and their sizes for c
 * channels. */
static void attention_grad_fields(DmAttentionGrads *g, int32_t c,
                                  float **fields[10], size_t sizes[10]) {
  float **const all[10] = {&g->norm_weight, &g->norm_bias, &g->query_weight,
                           &g->query_bias, &g->key_weight, &g->key_bias,
                           &g->value_weight, &g->value_bias, &g->out_weight,
                           &g->out_bias};
  for (int i = 0; i < 10; i++) {
    fields[i] = all[i];
    sizes[i] = i >= 2 && i % 2 == 0 ? (size_t)c * c : (size_t)c;
  }
}

/* One thread's share of an attention backward: the per-image scratch and
 * its own gradient block (NULL fields when no gradients are wanted). */
typedef struct {
  float *work;
  DmAttentionGrads grads;
} AttentionThread;

/* The thread's scratch and gradient block, and *a's planes in it; P and
 * dP for whole heads when `whole`. */
static bool attention_thread_alloc(AttentionThread *t, AttentionWork *a,
                                   bool whole, bool want_grads) {
  const int32_t c = a->heads * a->head_dim;
  const size_t hw = a->hw, plane = (size_t)c * hw;
  const size_t stats = (size_t)a->heads * hw;
  const size_t probs = whole ? (a->heads + 1) * hw * hw : 0;
  float **fields[10];
  size_t sizes[10], grads = 0;
  attention_grad_fields(&t->grads, c, fields, sizes);
  for (int i = 0; want_grads && i < 10; i++) grads += sizes[i];
  t->work = malloc((10 * plane + 2 * stats + probs + grads) * sizeof(float));
  if (t->work == NULL) return false;
  float **planes[] = {&a->normed, &a->q, &a->k, &a->v, &a->context,
                      &a->dy, &a->dcontext, &a->dq, &a->dk, &a->dv};
  for (size_t i = 0; i < G_N_ELEMENTS(planes); i++)
    *planes[i] = t->work + i * plane;
  a->lse = t->work + 10 * plane;
  a->delta = a->lse + stats;
  a->probs = whole ? a->delta + stats : NULL;
  a->dprob = whole ? a->probs + (size_t)a->heads * hw * hw : NULL;
  float *next = a->delta + stats + probs;
  memset(next, 0, grads * sizeof(float));
  for (int i = 0; want_grads && i < 10; i++) {
    *fields[i] = next;
    next += sizes[i];
  }
  return true;
}

/* dweights += the threads' gradient blocks, summed in thread order. */
static void add_attention_grads(const DmAttentionGrads *dweights,
                                AttentionThread *threads, int32_t count,
                                int32_t c) {
  DmAttentionGrads total = *dweights;
  float **dst[10], **src[10];
  size_t sizes[10];
  attention_grad_fields(&total, c, dst, sizes);
  for (int32_t t = 0; t < count; t++) {
    if (threads[t].work == NULL) continue;
    attention_grad_fields(&threads[t].grads, c, src, sizes);
    for (int i = 0; i < 10; i++)
      for (size_t j = 0; *dst[i] && j < sizes[i]; j++)
        (*dst[i])[j] += (*src[i])[j];
  }
}

bool dm_attention_backward(float *din, const DmAttentionGrads *dweights,
                           const float *dout, const float *in,
                           const DmAttentionWeights *weights, int32_t n,
                           int32_t c, size_t hw, int32_t heads,
                           int32_t groups, float eps, float rescale) {
  const size_t plane = (size_t)c * hw;
  const int32_t count = omp_get_max_threads();
  /* One image per thread keeps each head's P when it is small enough:
   * heads hw^2 floats, within the scratch bound. */
  const bool by_image = attention_by_image(n);
  const bool whole = by_image && (size_t)heads * hw * hw <= DM_SCRATCH_FLOATS;
  AttentionThread *threads = calloc((size_t)count, sizeof *threads);
  if (threads == NULL) return false;
  bool failed = false;
#pragma omp parallel if (by_image) reduction(|| : failed)
  {
    AttentionThread *t = &threads[omp_get_thread_num()];
    AttentionWork a = {.heads = heads, .head_dim = c / heads, .hw = hw};
    failed = !attention_thread_alloc(t, &a, whole, dweights != NULL);
#pragma omp for schedule(static)
    for (int32_t i = 0; i < n; i++)
      if (!failed)
        failed = !attention_image_backward(
            din ? din + (size_t)i * plane : NULL, &t->grads,
            dout + (size_t)i * plane, in + (size_t)i * plane, weights, &a,
            groups, eps, rescale);
  }
  if (!failed && dweights) add_attention_grads(dweights, threads, count, c);
  for (int32_t t = 0; t < count; t++) free(threads[t].work);
  free(threads);
  return !failed;
}

/* ---- token sequences: transformer layers -------------------------------- */

/* out (dim) = (in - mean) rstd weight + bias. */
DM_VECTOR_CLONES
static void normalize_row(float *out, const float *in, const float *weight,
                          const float *bias, size_t dim, float mean,
                          float rstd) {
  for (size_t j = 0; j < dim; j++)
    out[j] = (in[j] - mean) * rstd * weight[j] + bias[j];
}

void dm_layernorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, size_t rows, int32_t dim,
                          float eps) {
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++) {
    const float *x = in + r * dim;
    double mean, rstd;
    group_statistics(x, (size_t)dim, eps, &mean, &rstd);
    normalize_row(out + r * dim, x, weight, bias, (size_t)dim, (float)mean,
                  (float)rstd);
  }
}

/* GELU, x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, from Abramowitz
 * and Stegun (1964) 7.1.26: erfc(z) = (a1 t + ... + a5 t^5) e^(-z^2) + e,
 * t = 1 / (1 + p z), |e| <= 1.5e-7 for z >= 0, and erfc(-z) = 2 -
 * erfc(z). No branch and no libm call, so that loops over it vectorise;
 * Phi is within 7.5e-8 of the exact one (torch's erf rounds to 6e-8). */
static inline float gelu(float x) {
  const float z = fabsf(x) * (float)M_SQRT1_2;
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float poly =
      t * (0.254829592f +
           t * (-0.284496736f +
                t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float tail = 0.5f * poly * exp_approx(-z * z); /* Phi(-|x|) */
  return x * (x >= 0.0f ? 1.0f - tail : tail);
}

/* out (count) = GELU(in). */
DM_VECTOR_CLONES
static void gelu_span(float *out, const float *in, size_t count) {
  for (size_t i = 0; i < count; i++) out[i] = gelu(in[i]);
}

/* y (count) = value GELU(gate). */
DM_VECTOR_CLONES
static void geglu_span(float *y, const float *value, const float *gate,
                       size_t count) {
  for (size_t i = 0; i < count; i++) y[i] = value[i] * gelu(gate[i]);
}

/* Elements per task of the elementwise layers. */
#define SPAN 4096

void dm_gelu_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i += SPAN)
    gelu_span(out + i, in + i, MIN(SPAN, count - i));
}

DM_VECTOR_CLONES
void dm_quick_gelu_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++)
    out[i] = in[i] / (1.0f + exp_approx(-1.702f * in[i]));
}

void dm_geglu_forward(float *out, const float *in, size_t rows,
                      int32_t inner) {
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++) {
    const float *value = in + r * 2 * inner;
    geglu_span(out + r * inner, value, value + inner, (size_t)inner);
  }
}

void dm_add_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) out[i] += in[i];
}

/* Pixels per task of the plane/token maps: every thread an sgemm with
 * columns enough to amortise its packing of the weight. */
static size_t pixel_block(size_t hw, int32_t n) {
  return dm_conv_task_pixels(hw, n, 512, 16);
}

void dm_linear_from_planes_forward(float *out, const float *in,
                                   const float *weight, const float *bias,
                                   int32_t n, size_t hw, int32_t in_features,
                                   int32_t out_features) {
  const size_t block = pixel_block(hw, n), blocks = (hw + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (size_t task = 0; task < (size_t)n * blocks; task++) {
    const size_t image = task / blocks, p0 = task % blocks * block;
    const size_t rows = MIN(block, hw - p0);
    float *y = out + (image * hw + p0) * out_features;
    for (size_t r = 0; r < rows; r++)
      for (int32_t j = 0; j < out_features; j++)
        y[r * out_features + j] = bias ? bias[j] : 0.0f;
    /* y (rows, out) += x^T (rows, in) weight^T, x the (in, rows) columns */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)rows,
                out_features, in_features, 1.0f,
                in + image * in_features * hw + p0, (int)hw, weight,
                in_features, 1.0f, y, out_features);
  }
}

void dm_linear_to_planes_forward(float *out, const float *in,
                                 const float *weight, const float *bias,
                                 int32_t n, size_t hw, int32_t in_features,
                                 int32_t out_features, bool accumulate) {
  const size_t block = pixel_block(hw, n), blocks = (hw + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (size_t task = 0; task < (size_t)n * blocks; task++) {
    const size_t image = task / blocks, p0 = task % blocks * block;
    const size_t columns = MIN(block, hw - p0);
    float *y = out + image * out_features * hw;
    dm_conv_fill_bias(y, bias, out_features, hw, p0, p0 + columns,
                      accumulate);
    /* y (out, columns) += weight (out, in) x^T, x the (columns, in) rows */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out_features,
                (int)columns, in_features, 1.0f, weight, in_features,
                in + (image * hw + p0) * in_features, in_features, 1.0f,
                y + p0, (int)hw);
  }
}

bool dm_embedding_forward(float *out, const int32_t *ids, size_t count,
                          const void *table, DmDtype dtype, int32_t rows,
                          int32_t dim, bool accumulate) {
  for (size_t i = 0; i < count; i++)
    if (ids[i] < 0 || ids[i] >= rows) return false;
  const size_t row_bytes = (size_t)dim * dm_dtype_size(dtype);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) {
    float *y = out + i * dim;
    const char *row = (const char *)table + (size_t)ids[i] * row_bytes;
    if (!accumulate) {
      dm_dtype_to_f32(y, row, dtype, (size_t)dim);
      continue;
    }
    float values[256];
    for (int32_t j0 = 0; j0 < dim; j0 += 256) {
      const int32_t n = MIN(256, dim - j0);
      dm_dtype_to_f32(values, row + (size_t)j0 * dm_dtype_size(dtype), dtype,
                      (size_t)n);
      for (int32_t j = 0; j < n; j++) y[j0 + j] += values[j];
    }
  }
  return true;
}

bool dm_multihead_attention_forward(float *out, const float *q,
                                    const float *k, const float *v,
                                    int32_t n, size_t lq, size_t lk,
                                    int32_t c, int32_t heads, bool causal) {
  const int32_t head_dim = c / heads;
  const AttendShape shape = {heads, head_dim, lq, lk, false, causal,
                             1.0f / sqrtf((float)head_dim)};
  for (int32_t i = 0; i < n; i++)
    if (!attend(out + (size_t)i * lq * c, NULL, q + (size_t)i * lq * c,
                k + (size_t)i * lk * c, v + (size_t)i * lk * c, &shape))
      return false;
  return true;
}
