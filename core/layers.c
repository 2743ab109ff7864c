/* gimp-diffusion core: the network's layers, forward passes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <glib.h>
#include <omp.h>

#include "conv-kernels.h"

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

/* Elementwise loops get one build per vector width, chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DM_VECTOR_CLONES
#endif

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

bool dm_conv2d_forward(float *out, const float *in, const float *weight,
                       const float *bias, const DmConvShape *s,
                       bool accumulate) {
  const bool pointwise = s->kernel == 1 && s->stride == 1 &&
                         s->pad_top == 0 && s->pad_left == 0;
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

/* ---- normalisation and activations ------------------------------------ */

/* sum_i (x_i - centre)^power for power 1 or 2: sixteen float lanes over
 * chunks of 256 values (written lane by lane so the compiler vectorises it
 * without reassociating), chunk totals summed in double. A fixed order, so
 * deterministic; the float part rounds over at most 16 terms per lane. */
DM_VECTOR_CLONES
static double sum_centred_powers(const float *x, size_t count, float centre,
                                 int power) {
  double total = 0.0;
  for (size_t start = 0; start < count; start += 256) {
    const size_t end = MIN(count, start + 256);
    float lanes[16] = {0};
    size_t i = start;
    for (; i + 16 <= end; i += 16)
      for (int j = 0; j < 16; j++) {
        const float d = x[i + j] - centre;
        lanes[j] += power == 1 ? d : d * d;
      }
    for (; i < end; i++) {
      const float d = x[i] - centre;
      lanes[i % 16] += power == 1 ? d : d * d;
    }
    double chunk = 0.0;
    for (int j = 0; j < 16; j++) chunk += lanes[j];
    total += chunk;
  }
  return total;
}

/* dst (count) = src * scale + shift, then SiLU when `with_silu`. */
DM_VECTOR_CLONES
static void scale_shift_row(float *dst, const float *src, size_t count,
                            float scale, float shift, bool with_silu) {
  if (with_silu)
    for (size_t p = 0; p < count; p++) dst[p] = silu(src[p] * scale + shift);
  else
    for (size_t p = 0; p < count; p++) dst[p] = src[p] * scale + shift;
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
    /* Two passes: the mean, then the centred second moment. */
    const double mean = sum_centred_powers(x, group_size, 0.0f, 1) /
                        (double)group_size;
    const double variance =
        sum_centred_powers(x, group_size, (float)mean, 2) / (double)group_size;
    const double rstd = 1.0 / sqrt(variance + eps);
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

DM_VECTOR_CLONES
void dm_silu_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < count; i++) out[i] = silu(in[i]);
}

void dm_linear_forward(float *out, const float *in, const float *weight,
                       const float *bias, int32_t n, int32_t in_features,
                       int32_t out_features) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < out_features; j++)
      out[(size_t)i * out_features + j] = bias ? bias[j] : 0.0f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_features,
              in_features, 1.0f, in, in_features, weight, in_features, 1.0f,
              out, out_features);
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

void dm_concat_forward(float *out, const float *a, const float *b, int32_t n,
                       int32_t c_a, int32_t c_b, size_t hw) {
  for (int32_t i = 0; i < n; i++) {
    float *dst = out + (size_t)i * (c_a + c_b) * hw;
    memcpy(dst, a + (size_t)i * c_a * hw, (size_t)c_a * hw * sizeof(float));
    memcpy(dst + (size_t)c_a * hw, b + (size_t)i * c_b * hw,
           (size_t)c_b * hw * sizeof(float));
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

/* Softmax of one row, in place (max-shifted for range). */
static void softmax_row(float *row, size_t cols) {
  exp_shifted(row, cols, max_lanes(row, cols));
  scale_row(row, cols, (float)(1.0 / sum_centred_powers(row, cols, 0.0f, 1)));
}

/* A token-wise linear map in channel-major form: dst (C, hw) = W (C, C)
 * src (C, hw) + b, i.e. a 1x1 convolution. */
static bool project(float *dst, const float *src, const float *weight,
                    const float *bias, int32_t c, size_t hw) {
  const DmConvShape shape = {1, c, 1, (int32_t)hw, c, 1, (int32_t)hw, 1, 1, 0, 0};
  return dm_conv2d_forward(dst, src, weight, bias, &shape, false);
}

/* context (C, hw) = per head softmax(q_h^T k_h) v_h, one task per (head,
 * block of queries); q is already scaled by 1 / sqrt(d). */
static bool attend(float *context, const float *q, const float *k,
                   const float *v, int32_t heads, int32_t head_dim,
                   size_t hw) {
  const size_t block = tile_size(hw, hw, heads);
  const size_t blocks = (hw + block - 1) / block;
  bool failed = false;
#pragma omp parallel reduction(|| : failed)
  {
    float *scores = malloc(block * hw * sizeof(float));
    failed = scores == NULL;
#pragma omp for schedule(static)
    for (size_t task = 0; task < (size_t)heads * blocks; task++) {
      if (failed) continue;
      const size_t off = task / blocks * head_dim * hw;
      const size_t q0 = task % blocks * block, rows = MIN(block, hw - q0);
      /* scores (rows, hw) = q_h[:, q0:q0+rows]^T k_h */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
                  head_dim, 1.0f, q + off + q0, (int)hw, k + off, (int)hw,
                  0.0f, scores, (int)hw);
      for (size_t r = 0; r < rows; r++) softmax_row(scores + r * hw, hw);
      /* context_h[:, q0:q0+rows] (d, rows) = v_h (d, hw) scores^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, head_dim,
                  (int)rows, (int)hw, 1.0f, v + off, (int)hw, scores,
                  (int)hw, 0.0f, context + off + q0, (int)hw);
    }
    free(scores);
  }
  return !failed;
}

bool dm_attention_forward(float *out, const float *in,
                          const DmAttentionWeights *w, int32_t n, int32_t c,
                          size_t hw, int32_t heads, int32_t groups, float eps,
                          float rescale) {
  const int32_t head_dim = c / heads;
  const size_t plane = (size_t)c * hw;
  float *work = malloc(4 * plane * sizeof(float));
  if (work == NULL) return false;
  float *normed = work, *q = work + plane, *k = q + plane, *v = k + plane;
  float *context = normed; /* normed is dead once q, k, v exist */
  const float q_scale = 1.0f / sqrtf((float)head_dim);
  bool ok = true;
  for (int32_t i = 0; i < n && ok; i++) {
    const float *x = in + (size_t)i * plane;
    float *y = out + (size_t)i * plane;
    dm_groupnorm_forward(normed, x, w->norm_weight, w->norm_bias, 1, c, hw,
                         groups, eps, false);
    ok = project(q, normed, w->query_weight, w->query_bias, c, hw) &&
         project(k, normed, w->key_weight, w->key_bias, c, hw) &&
         project(v, normed, w->value_weight, w->value_bias, c, hw);
    if (!ok) break;
    for (size_t p = 0; p < plane; p++) q[p] *= q_scale;
    ok = attend(context, q, k, v, heads, head_dim, hw) &&
         project(y, context, w->out_weight, w->out_bias, c, hw);
    /* Residual connection, then diffusers' rescale_output_factor. */
    for (size_t p = 0; ok && p < plane; p++) y[p] = (y[p] + x[p]) / rescale;
  }
  free(work);
  return ok;
}
