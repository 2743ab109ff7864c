/* gimp-diffusion core: the network's layers, forward passes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "layers.h"

/* Upper bound on a convolution's column buffer and an attention block's
 * score matrix, in floats (16 MiB): big enough for efficient GEMMs, small
 * enough that memory stays linear in the pixel count. */
#define DM_SCRATCH_FLOATS ((size_t)4 << 20)

static float silu(float x) { return x / (1.0f + expf(-x)); }

/* ---- convolution ------------------------------------------------------- */

/* Writes rows (c, ky, kx) x output pixels [p_begin, p_end) of the im2col
 * matrix of one image into col (K, p_end - p_begin). */
static void im2col_tile(float *col, const float *in, const DmConvShape *s,
                        size_t p_begin, size_t p_end) {
  const int32_t k = s->kernel;
  const int32_t rows = s->c_in * k * k;
  const size_t width = p_end - p_begin;
#pragma omp parallel for schedule(static)
  for (int32_t row = 0; row < rows; row++) {
    const int32_t c = row / (k * k), ky = row / k % k, kx = row % k;
    const float *plane = in + (size_t)c * s->h_in * s->w_in;
    float *dst = col + (size_t)row * width;
    for (size_t p = p_begin; p < p_end; p++) {
      const int32_t y = (int32_t)(p / (size_t)s->w_out) * s->stride - s->pad_top + ky;
      const int32_t x = (int32_t)(p % (size_t)s->w_out) * s->stride - s->pad_left + kx;
      const bool inside = y >= 0 && y < s->h_in && x >= 0 && x < s->w_in;
      dst[p - p_begin] = inside ? plane[(size_t)y * s->w_in + x] : 0.0f;
    }
  }
}

static void fill_bias(float *out, const float *bias, int32_t channels,
                      size_t hw, bool accumulate) {
#pragma omp parallel for schedule(static)
  for (int32_t c = 0; c < channels; c++) {
    float *plane = out + (size_t)c * hw;
    const float b = bias ? bias[c] : 0.0f;
    if (accumulate) {
      if (b != 0.0f)
        for (size_t p = 0; p < hw; p++) plane[p] += b;
    } else {
      for (size_t p = 0; p < hw; p++) plane[p] = b;
    }
  }
}

bool dm_conv2d_forward(float *out, const float *in, const float *weight,
                       const float *bias, const DmConvShape *s,
                       bool accumulate) {
  const size_t hw_in = (size_t)s->h_in * s->w_in;
  const size_t hw_out = (size_t)s->h_out * s->w_out;
  const int32_t rows = s->c_in * s->kernel * s->kernel;
  const bool pointwise = s->kernel == 1 && s->stride == 1 &&
                         s->pad_top == 0 && s->pad_left == 0;
  size_t tile = DM_SCRATCH_FLOATS / (size_t)rows;
  if (tile < 256) tile = 256;
  if (tile > hw_out) tile = hw_out;
  float *col = pointwise ? NULL : malloc(tile * rows * sizeof(float));
  if (!pointwise && col == NULL) return false;

  for (int32_t i = 0; i < s->n; i++) {
    const float *image = in + (size_t)i * s->c_in * hw_in;
    float *result = out + (size_t)i * s->c_out * hw_out;
    fill_bias(result, bias, s->c_out, hw_out, accumulate);
    if (pointwise) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c_out,
                  (int)hw_out, s->c_in, 1.0f, weight, s->c_in, image,
                  (int)hw_out, 1.0f, result, (int)hw_out);
      continue;
    }
    for (size_t p = 0; p < hw_out; p += tile) {
      const size_t p_end = p + tile < hw_out ? p + tile : hw_out;
      im2col_tile(col, image, s, p, p_end);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c_out,
                  (int)(p_end - p), rows, 1.0f, weight, rows, col,
                  (int)(p_end - p), 1.0f, result + p, (int)hw_out);
    }
  }
  free(col);
  return true;
}

/* ---- normalisation and activations ------------------------------------ */

void dm_groupnorm_forward(float *out, const float *in, const float *weight,
                          const float *bias, int32_t n, int32_t c, size_t hw,
                          int32_t groups, float eps, bool with_silu) {
  const int32_t per_group = c / groups;
  const size_t group_size = (size_t)per_group * hw;
#pragma omp parallel for schedule(static)
  for (int32_t task = 0; task < n * groups; task++) {
    const size_t base = (size_t)task * group_size;
    const float *x = in + base;
    /* Two passes in double: the mean, then the centred second moment. */
    double sum = 0.0;
    for (size_t i = 0; i < group_size; i++) sum += x[i];
    const double mean = sum / (double)group_size;
    double sum_sq = 0.0;
    for (size_t i = 0; i < group_size; i++) {
      const double d = x[i] - mean;
      sum_sq += d * d;
    }
    const double rstd = 1.0 / sqrt(sum_sq / (double)group_size + eps);
    const int32_t first_channel = (task % groups) * per_group;
    for (int32_t j = 0; j < per_group; j++) {
      const int32_t ch = first_channel + j;
      const float scale = (float)(rstd * weight[ch]);
      const float shift = (float)(bias[ch] - mean * rstd * weight[ch]);
      const float *src = x + (size_t)j * hw;
      float *dst = out + base + (size_t)j * hw;
      for (size_t p = 0; p < hw; p++) {
        const float y = src[p] * scale + shift;
        dst[p] = with_silu ? silu(y) : y;
      }
    }
  }
}

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

/* Row-wise softmax of scores (rows, cols), in place. */
static void softmax_rows(float *scores, size_t rows, size_t cols) {
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++) {
    float *row = scores + r * cols;
    float max = row[0];
    for (size_t j = 1; j < cols; j++) max = row[j] > max ? row[j] : max;
    double sum = 0.0;
    for (size_t j = 0; j < cols; j++) {
      row[j] = expf(row[j] - max);
      sum += row[j];
    }
    const float inv = (float)(1.0 / sum);
    for (size_t j = 0; j < cols; j++) row[j] *= inv;
  }
}

/* Projections in channel-major form: dst (C, hw) = W (C, C) src (C, hw) + b. */
static void project(float *dst, const float *src, const float *weight,
                    const float *bias, int32_t c, size_t hw) {
  fill_bias(dst, bias, c, hw, false);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, (int)hw, c, 1.0f,
              weight, c, src, (int)hw, 1.0f, dst, (int)hw);
}

/* context (C, hw) = per head softmax(q_h^T k_h) v_h, computed for blocks of
 * `block` queries at a time; q is already scaled by 1 / sqrt(d). */
static void attend(float *context, const float *q, const float *k,
                   const float *v, float *scores, int32_t heads,
                   int32_t head_dim, size_t hw, size_t block) {
  for (int32_t h = 0; h < heads; h++) {
    const size_t off = (size_t)h * head_dim * hw;
    for (size_t q0 = 0; q0 < hw; q0 += block) {
      const size_t rows = q0 + block < hw ? block : hw - q0;
      /* scores (rows, hw) = q_h[:, q0:q0+rows]^T k_h */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw,
                  head_dim, 1.0f, q + off + q0, (int)hw, k + off, (int)hw,
                  0.0f, scores, (int)hw);
      softmax_rows(scores, rows, hw);
      /* context_h[:, q0:q0+rows] (d, rows) = v_h (d, hw) scores^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, head_dim,
                  (int)rows, (int)hw, 1.0f, v + off, (int)hw, scores,
                  (int)hw, 0.0f, context + off + q0, (int)hw);
    }
  }
}

bool dm_attention_forward(float *out, const float *in,
                          const DmAttentionWeights *w, int32_t n, int32_t c,
                          size_t hw, int32_t heads, int32_t groups, float eps,
                          float rescale) {
  const int32_t head_dim = c / heads;
  const size_t plane = (size_t)c * hw;
  size_t block = DM_SCRATCH_FLOATS / hw;
  if (block < 64) block = 64;
  if (block > hw) block = hw;
  float *work = malloc((4 * plane + block * hw) * sizeof(float));
  if (work == NULL) return false;
  float *normed = work, *q = work + plane, *k = q + plane, *v = k + plane;
  float *scores = v + plane;
  float *context = normed; /* normed is dead once q, k, v exist */
  const float q_scale = 1.0f / sqrtf((float)head_dim);

  for (int32_t i = 0; i < n; i++) {
    const float *x = in + (size_t)i * plane;
    float *y = out + (size_t)i * plane;
    dm_groupnorm_forward(normed, x, w->norm_weight, w->norm_bias, 1, c, hw,
                         groups, eps, false);
    project(q, normed, w->query_weight, w->query_bias, c, hw);
    project(k, normed, w->key_weight, w->key_bias, c, hw);
    project(v, normed, w->value_weight, w->value_bias, c, hw);
    cblas_sscal((int)plane, q_scale, q, 1);
    attend(context, q, k, v, scores, heads, head_dim, hw, block);
    project(y, context, w->out_weight, w->out_bias, c, hw);
    /* Residual connection, then diffusers' rescale_output_factor. */
    for (size_t p = 0; p < plane; p++) y[p] = (y[p] + x[p]) / rescale;
  }
  free(work);
  return true;
}
