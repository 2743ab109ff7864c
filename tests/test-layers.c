/* Each layer's forward pass against a naive double-precision implementation,
 * on shapes that exercise the tiled paths (im2col tiles, attention query
 * blocks), strides and paddings.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include "tensor/conv-kernels.h"
#include "dm-test.h"
#include "tensor/layers.h"

/* ---- convolution ------------------------------------------------------- */

static void conv_reference(float *out, const float *in, const float *weight,
                           const float *bias, const DmConvShape *s) {
  const int32_t k = s->kernel;
  for (int32_t n = 0; n < s->n; n++)
    for (int32_t co = 0; co < s->c_out; co++)
      for (int32_t y = 0; y < s->h_out; y++)
        for (int32_t x = 0; x < s->w_out; x++) {
          double sum = bias[co];
          for (int32_t ci = 0; ci < s->c_in; ci++)
            for (int32_t ky = 0; ky < k; ky++)
              for (int32_t kx = 0; kx < k; kx++) {
                const int32_t iy = y * s->stride - s->pad_top + ky;
                const int32_t ix = x * s->stride - s->pad_left + kx;
                if (iy < 0 || iy >= s->h_in || ix < 0 || ix >= s->w_in) continue;
                sum += (double)weight[((co * s->c_in + ci) * k + ky) * k + kx] *
                       in[((size_t)(n * s->c_in + ci) * s->h_in + iy) * s->w_in + ix];
              }
          out[((size_t)(n * s->c_out + co) * s->h_out + y) * s->w_out + x] = (float)sum;
        }
}

typedef bool (*ConvForward)(float *out, const float *in, const float *weight,
                            const float *bias, const DmConvShape *shape,
                            bool accumulate);

static void check_conv_with(const char *label, DmConvShape s, bool accumulate,
                            ConvForward forward) {
  const size_t in_count = (size_t)s.n * s.c_in * s.h_in * s.w_in;
  const size_t out_count = (size_t)s.n * s.c_out * s.h_out * s.w_out;
  const size_t w_count = (size_t)s.c_out * s.c_in * s.kernel * s.kernel;
  float *in = dm_test_random_floats(in_count, 1.0f, 1);
  float *weight = dm_test_random_floats(w_count, 0.1f, 2);
  float *bias = dm_test_random_floats(s.c_out, 0.5f, 3);
  float *got = dm_test_random_floats(out_count, 1.0f, 4);
  float *want = g_new(float, out_count);
  conv_reference(want, in, weight, bias, &s);
  if (accumulate) /* want += the initial contents of got */
    for (size_t i = 0; i < out_count; i++) want[i] += got[i];
  else
    memset(got, 0xff, out_count * sizeof(float)); /* NaN: must be overwritten */
  DM_CHECK(forward(got, in, weight, bias, &s, accumulate), "%s: allocation",
           label);
  dm_test_compare(label, got, want, out_count, 1e-4, 1e-5);
  g_free(in);
  g_free(weight);
  g_free(bias);
  g_free(got);
  g_free(want);
}

static void check_conv(const char *label, DmConvShape s, bool accumulate) {
  check_conv_with(label, s, accumulate, dm_conv2d_forward);
}

/* din and dweight of dm_conv2d_backward against the adjoint of
 * conv_reference in double: din[ci][iy][ix] += w[co][ci][ky][kx] r[co][y][x]
 * and dweight[co][ci][ky][kx] += r[co][y][x] in[ci][iy][ix] wherever the
 * forward reads in[ci][iy][ix] for out[co][y][x]; dweight by `weight_grad`. */
typedef bool (*ConvWeightGrad)(float *dweight, const float *dout,
                               const float *in, const DmConvShape *shape);

/* dweight of dm_conv2d_backward alone. */
static bool backward_weight_grad(float *dweight, const float *dout,
                                 const float *in, const DmConvShape *s) {
  return dm_conv2d_backward(NULL, dweight, NULL, dout, in, NULL, s);
}

static void check_conv_backward(const char *label, DmConvShape s,
                                ConvWeightGrad weight_grad) {
  const int32_t k = s.kernel;
  const size_t in_count = (size_t)s.n * s.c_in * s.h_in * s.w_in;
  const size_t out_count = (size_t)s.n * s.c_out * s.h_out * s.w_out;
  const size_t w_count = (size_t)s.c_out * s.c_in * k * k;
  float *in = dm_test_random_floats(in_count, 1.0f, 5);
  float *weight = dm_test_random_floats(w_count, 0.1f, 6);
  float *r = dm_test_random_floats(out_count, 1.0f, 7);
  double *din = g_new0(double, in_count), *dweight = g_new0(double, w_count);
  for (int32_t n = 0; n < s.n; n++)
    for (int32_t co = 0; co < s.c_out; co++)
      for (int32_t y = 0; y < s.h_out; y++)
        for (int32_t x = 0; x < s.w_out; x++) {
          const double g = r[((size_t)(n * s.c_out + co) * s.h_out + y) * s.w_out + x];
          for (int32_t ci = 0; ci < s.c_in; ci++)
            for (int32_t ky = 0; ky < k; ky++)
              for (int32_t kx = 0; kx < k; kx++) {
                const int32_t iy = y * s.stride - s.pad_top + ky;
                const int32_t ix = x * s.stride - s.pad_left + kx;
                if (iy < 0 || iy >= s.h_in || ix < 0 || ix >= s.w_in) continue;
                const size_t i = ((size_t)(n * s.c_in + ci) * s.h_in + iy) * s.w_in + ix;
                const size_t w = ((size_t)(co * s.c_in + ci) * k + ky) * k + kx;
                din[i] += weight[w] * g;
                dweight[w] += g * in[i];
              }
        }
  float *want_din = g_new(float, in_count), *want_dweight = g_new(float, w_count);
  for (size_t i = 0; i < in_count; i++) want_din[i] = (float)din[i];
  for (size_t i = 0; i < w_count; i++) want_dweight[i] = (float)dweight[i];
  float *got_din = g_new0(float, in_count), *got_dweight = g_new0(float, w_count);
  DM_CHECK(weight_grad(got_dweight, r, in, &s) &&
               dm_conv2d_backward(got_din, NULL, NULL, r, in, weight, &s),
           "%s: allocation", label);
  char *din_label = g_strdup_printf("%s din", label);
  char *dweight_label = g_strdup_printf("%s dweight", label);
  dm_test_compare(din_label, got_din, want_din, in_count, 1e-4, 1e-5);
  dm_test_compare(dweight_label, got_dweight, want_dweight, w_count, 1e-4, 1e-5);
  g_free(din_label), g_free(dweight_label);
  g_free(in), g_free(weight), g_free(r), g_free(din), g_free(dweight);
  g_free(want_din), g_free(want_dweight), g_free(got_din), g_free(got_dweight);
}

static void test_conv(void) {
  /* 3x3, padding 1: the usual resnet conv. */
  check_conv("conv2d 3x3", (DmConvShape){2, 5, 9, 7, 6, 9, 7, 3, 1, 1, 1}, false);
  /* 64 channels x 128x128: 576 x 16384 columns exceed the scratch bound,
   * so the im2col is tiled. */
  check_conv("conv2d 3x3 tiled", (DmConvShape){1, 64, 128, 128, 4, 128, 128, 3, 1, 1, 1}, false);
  /* Rows of half a panel, and a last panel half outside the image. */
  check_conv("conv2d 3x3 16 wide", (DmConvShape){2, 5, 7, 16, 6, 7, 16, 3, 1, 1, 1}, false);
  check_conv("conv2d 3x3 accumulate", (DmConvShape){1, 4, 6, 6, 3, 6, 6, 3, 1, 1, 1}, true);
  /* More output channels than pixels in the batch: one im2col of the batch
   * and an sgemm per block of output channels (alone and accumulating, a
   * stride-2 one too). */
  check_conv("conv2d 3x3 weight-bound", (DmConvShape){2, 24, 5, 3, 40, 5, 3, 3, 1, 1, 1}, false);
  check_conv("conv2d 3x3 weight-bound accumulate", (DmConvShape){3, 8, 2, 2, 37, 2, 2, 3, 1, 1, 1}, true);
  check_conv("conv2d 3x3 stride 2 weight-bound", (DmConvShape){2, 16, 6, 6, 80, 3, 3, 3, 2, 1, 1}, false);
  /* The Winograd F(4x4, 3x3) kernels (AVX-512) called directly, as
   * dm_conv2d_forward and _backward take them only for enough channels and
   * tiles: channel counts off the 32-channel padding, sizes off the 4-pixel
   * tiles, 1x1 and 2x2 images (several whole images per task, a last group
   * short of images), a 70x45 image cut into rectangles; din through the
   * forward of the flipped kernel (dm_conv2d_backward, Winograd for the
   * last, large shape). */
  if (!dm_conv2d_avx512_available()) return;
  const DmConvShape winograd[] = {
      {2, 17, 9, 7, 18, 9, 7, 3, 1, 1, 1},
      {3, 16, 1, 1, 33, 1, 1, 3, 1, 1, 1},
      {5, 20, 2, 2, 16, 2, 2, 3, 1, 1, 1},
      {3, 3, 5, 6, 2, 5, 6, 3, 1, 1, 1},
      {2, 16, 70, 45, 24, 70, 45, 3, 1, 1, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(winograd); i++) {
    const DmConvShape *w = &winograd[i];
    char *label = g_strdup_printf("winograd %dx%dx%d>%dx%dx%d", w->n, w->c_in,
                                  w->h_in, w->c_out, w->h_out, w->w_out);
    check_conv_with(label, *w, i % 2 == 1, dm_conv2d_forward_winograd);
    check_conv_backward(label, *w, dm_conv2d_weight_grad_winograd);
    g_free(label);
  }
  DM_CHECK(dm_conv2d_winograd_fits(&winograd[G_N_ELEMENTS(winograd) - 1]),
           "the large shape does not take the Winograd kernels");
  check_conv_backward("conv2d 3x3 backward", (DmConvShape){2, 5, 9, 7, 6, 9, 7, 3, 1, 1, 1},
                      backward_weight_grad);
}

/* ---- group norm -------------------------------------------------------- */

static void test_groupnorm(void) {
  const int32_t n = 2, c = 12, groups = 3;
  const size_t hw = 50, count = (size_t)n * c * hw;
  const float eps = 1e-5f;
  float *in = dm_test_random_floats(count, 2.0f, 5);
  for (size_t i = 0; i < count; i++) in[i] += 3.0f; /* a large mean */
  float *weight = dm_test_random_floats(c, 1.0f, 6);
  float *bias = dm_test_random_floats(c, 1.0f, 7);
  float *want = g_new(float, count), *want_silu = g_new(float, count);
  const int32_t per_group = c / groups;
  for (int32_t i = 0; i < n; i++)
    for (int32_t g = 0; g < groups; g++) {
      const float *x = in + ((size_t)i * c + g * per_group) * hw;
      const size_t size = per_group * hw;
      double mean = 0, var = 0;
      for (size_t j = 0; j < size; j++) mean += x[j];
      mean /= size;
      for (size_t j = 0; j < size; j++) var += (x[j] - mean) * (x[j] - mean);
      var /= size;
      for (size_t j = 0; j < size; j++) {
        const int32_t ch = g * per_group + (int32_t)(j / hw);
        const double y = (x[j] - mean) / sqrt(var + eps) * weight[ch] + bias[ch];
        const size_t at = ((size_t)i * c + g * per_group) * hw + j;
        want[at] = (float)y;
        want_silu[at] = (float)(y / (1.0 + exp(-y)));
      }
    }
  float *got = g_new(float, count);
  dm_groupnorm_forward(got, in, weight, bias, n, c, hw, groups, eps, false);
  dm_test_compare("groupnorm", got, want, count, 1e-5, 1e-6);
  memcpy(got, in, count * sizeof(float));
  dm_groupnorm_forward(got, got, weight, bias, n, c, hw, groups, eps, true);
  dm_test_compare("groupnorm+silu in place", got, want_silu, count, 1e-5, 1e-6);
  g_free(in);
  g_free(weight);
  g_free(bias);
  g_free(want);
  g_free(want_silu);
  g_free(got);
}

/* ---- linear, upsample, concat, sinusoid -------------------------------- */

static void check_linear(const char *label, int32_t n, int32_t in_f,
                         int32_t out_f) {
  float *in = dm_test_random_floats((size_t)n * in_f, 1.0f, 8);
  float *weight = dm_test_random_floats((size_t)out_f * in_f, 0.3f, 9);
  float *bias = dm_test_random_floats(out_f, 1.0f, 10);
  float *got = g_new(float, (size_t)n * out_f);
  float *want = g_new(float, (size_t)n * out_f);
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < out_f; j++) {
      double sum = bias[j];
      for (int32_t k = 0; k < in_f; k++)
        sum += (double)in[i * in_f + k] * weight[j * in_f + k];
      want[i * out_f + j] = (float)sum;
    }
  dm_linear_forward(got, in, weight, bias, n, in_f, out_f);
  dm_test_compare(label, got, want, (size_t)n * out_f, 1e-5, 1e-6);
  g_free(in);
  g_free(weight);
  g_free(bias);
  g_free(got);
  g_free(want);
}

static void test_linear(void) {
  check_linear("linear", 3, 17, 9);
  /* Several blocks of output features, one per thread. */
  check_linear("linear in blocks of outputs", 5, 40, 101);
}

static void test_upsample_concat(void) {
  const float in[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  float got[2 * 4 * 6];
  dm_upsample2x_forward(got, in, 1, 2, 2, 3);
  DM_CHECK(got[0] == 1 && got[1] == 1 && got[2] == 2 && got[6] == 1 &&
               got[12] == 4 && got[23] == 6 && got[24] == 7 && got[47] == 12,
           "upsample2x nearest");
  const float a[2 * 1 * 2] = {1, 2, 3, 4}, b[2 * 2 * 2] = {5, 6, 7, 8, 9, 10, 11, 12};
  const float want[12] = {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12};
  float joined[12];
  dm_concat_forward(joined, a, b, 2, 1, 2, 2);
  DM_CHECK(memcmp(joined, want, sizeof want) == 0, "concat along channels");
}

static void test_timestep_embedding(void) {
  const float timesteps[2] = {0.0f, 999.0f};
  const int32_t dim = 9; /* odd: a zero last column */
  float got[18];
  dm_timestep_embedding_forward(got, timesteps, 2, dim, false, 1);
  float want[18];
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 4; j++) {
      const double e = exp(-log(10000.0) * j / (4 - 1));
      want[i * dim + j] = (float)sin(timesteps[i] * e);
      want[i * dim + 4 + j] = (float)cos(timesteps[i] * e);
    }
    want[i * dim + 8] = 0.0f;
  }
  /* Float32 arguments of size ~1000 carry ~6e-5 of rounding. */
  dm_test_compare("timestep embedding [sin|cos]", got, want, 18, 2e-4, 0.0);
  dm_timestep_embedding_forward(got, timesteps, 2, dim, true, 1);
  DM_CHECK(fabsf(got[0] - 1.0f) < 1e-7f && fabsf(got[4]) < 1e-7f,
           "flip_sin_to_cos puts cos first: got %f %f", got[0], got[4]);
}

/* ---- attention --------------------------------------------------------- */

static void attention_reference(float *out, const float *in,
                                const DmAttentionWeights *w, int32_t c,
                                size_t hw, int32_t heads, int32_t groups,
                                float eps, float rescale) {
  float *normed = g_new(float, (size_t)c * hw);
  dm_groupnorm_forward(normed, in, w->norm_weight, w->norm_bias, 1, c, hw,
                       groups, eps, false);
  double *q = g_new(double, c * hw), *k = g_new(double, c * hw),
         *v = g_new(double, c * hw), *ctx = g_new0(double, c * hw);
  const float *mats[3] = {w->query_weight, w->key_weight, w->value_weight};
  const float *biases[3] = {w->query_bias, w->key_bias, w->value_bias};
  double *dst[3] = {q, k, v};
  for (int m = 0; m < 3; m++)
    for (int32_t o = 0; o < c; o++)
      for (size_t p = 0; p < hw; p++) {
        double sum = biases[m][o];
        for (int32_t i = 0; i < c; i++) sum += (double)mats[m][o * c + i] * normed[i * hw + p];
        dst[m][o * hw + p] = sum;
      }
  const int32_t d = c / heads;
  double *row = g_new(double, hw);
  for (int32_t h = 0; h < heads; h++)
    for (size_t p = 0; p < hw; p++) {
      double max = -INFINITY, total = 0;
      for (size_t r = 0; r < hw; r++) {
        double dot = 0;
        for (int32_t j = 0; j < d; j++)
          dot += q[(h * d + j) * hw + p] * k[(h * d + j) * hw + r];
        row[r] = dot / sqrt((double)d);
        if (row[r] > max) max = row[r];
      }
      for (size_t r = 0; r < hw; r++) total += row[r] = exp(row[r] - max);
      for (int32_t j = 0; j < d; j++) {
        double sum = 0;
        for (size_t r = 0; r < hw; r++) sum += row[r] / total * v[(h * d + j) * hw + r];
        ctx[(h * d + j) * hw + p] = sum;
      }
    }
  for (int32_t o = 0; o < c; o++)
    for (size_t p = 0; p < hw; p++) {
      double sum = w->out_bias[o];
      for (int32_t i = 0; i < c; i++) sum += (double)w->out_weight[o * c + i] * ctx[i * hw + p];
      out[o * hw + p] = (float)((sum + in[o * hw + p]) / rescale);
    }
  g_free(row);
  g_free(normed);
  g_free(q);
  g_free(k);
  g_free(v);
  g_free(ctx);
}

static void check_attention(const char *label, int32_t n, int32_t c,
                            size_t hw, int32_t heads, float rescale) {
  float *params[10];
  for (int i = 0; i < 10; i++) {
    const bool is_norm = i < 2, is_matrix = !is_norm && i % 2 == 0;
    params[i] = dm_test_random_floats(is_matrix ? (size_t)c * c : (size_t)c,
                              is_matrix ? 0.5f / sqrtf((float)c) : 0.3f, 20 + i);
    if (i == 0) for (int32_t j = 0; j < c; j++) params[0][j] += 1.0f;
  }
  const DmAttentionWeights w = {params[0], params[1], params[2], params[3],
                                params[4], params[5], params[6], params[7],
                                params[8], params[9]};
  const size_t count = (size_t)n * c * hw;
  float *in = dm_test_random_floats(count, 1.0f, 30);
  float *got = g_new(float, count), *want = g_new(float, count);
  for (int32_t i = 0; i < n; i++)
    attention_reference(want + (size_t)i * c * hw, in + (size_t)i * c * hw, &w,
                        c, hw, heads, 4, 1e-6f, rescale);
  DM_CHECK(dm_attention_forward(got, in, &w, n, c, hw, heads, 4, 1e-6f, rescale),
           "%s: allocation", label);
  dm_test_compare(label, got, want, count, 2e-5, 1e-5);
  for (int i = 0; i < 10; i++) g_free(params[i]);
  g_free(in);
  g_free(got);
  g_free(want);
}

static void test_attention(void) {
  check_attention("attention 1 head", 2, 8, 36, 1, 1.0f);
  check_attention("attention 4 heads rescale 2", 1, 16, 20, 4, 2.0f);
  /* 4096 tokens: the score matrix is computed in blocks of 1024 queries. */
  check_attention("attention query blocks", 1, 8, 4096, 2, 1.0f);
}

int main(void) {
  dm_set_num_threads(2);
  test_conv();
  test_groupnorm();
  test_linear();
  test_upsample_concat();
  test_timestep_embedding();
  test_attention();
  return dm_test_finish();
}
