/* The transformer layers on token sequences (LayerNorm, GELU, quick_gelu,
 * GEGLU, embedding lookup, multi-head attention, the linear maps between
 * planes and token rows, the residual add) against naive
 * double-precision implementations, on shapes that exercise odd head
 * sizes, cross-attention, the causal mask and the blocked query path.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "tensor/layers.h"

static void test_layernorm(void) {
  const size_t rows = 7;
  const int32_t dim = 300; /* not a multiple of the 16 vector lanes */
  const float eps = 1e-5f;
  float *in = dm_test_random_floats(rows * dim, 2.0f, 1);
  for (size_t i = 0; i < rows * dim; i++) in[i] += 5.0f; /* a large mean */
  float *weight = dm_test_random_floats(dim, 1.0f, 2);
  float *bias = dm_test_random_floats(dim, 1.0f, 3);
  float *got = g_new(float, rows * dim), *want = g_new(float, rows * dim);
  for (size_t r = 0; r < rows; r++) {
    const float *x = in + r * dim;
    double mean = 0.0, var = 0.0;
    for (int32_t j = 0; j < dim; j++) mean += x[j];
    mean /= dim;
    for (int32_t j = 0; j < dim; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= dim;
    for (int32_t j = 0; j < dim; j++)
      want[r * dim + j] =
          (float)((x[j] - mean) / sqrt(var + eps) * weight[j] + bias[j]);
  }
  dm_layernorm_forward(got, in, weight, bias, rows, dim, eps);
  dm_test_compare("layernorm", got, want, rows * dim, 1e-5, 1e-6);
  dm_layernorm_forward(in, in, weight, bias, rows, dim, eps);
  dm_test_compare("layernorm in place", in, want, rows * dim, 1e-5, 1e-6);
  g_free(in);
  g_free(weight);
  g_free(bias);
  g_free(got);
  g_free(want);
}

static double gelu_reference(double x) {
  return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static void test_activations(void) {
  const size_t count = 1000;
  float *in = dm_test_random_floats(count, 3.0f, 4);
  in[0] = 0.0f;
  in[1] = -20.0f;
  in[2] = 20.0f;
  float *got = g_new(float, count), *want = g_new(float, count);
  for (size_t i = 0; i < count; i++) want[i] = (float)gelu_reference(in[i]);
  dm_gelu_forward(got, in, count);
  dm_test_compare("gelu (erf)", got, want, count, 1e-6, 1e-6);
  for (size_t i = 0; i < count; i++)
    want[i] = (float)(in[i] / (1.0 + exp(-1.702 * in[i])));
  dm_quick_gelu_forward(got, in, count);
  dm_test_compare("quick_gelu", got, want, count, 1e-6, 1e-6);
  /* GEGLU: rows of [value | gate]. */
  const size_t rows = 5;
  const int32_t inner = 100;
  for (size_t r = 0; r < rows; r++)
    for (int32_t j = 0; j < inner; j++) {
      const float *row = in + r * 2 * inner;
      want[r * inner + j] = (float)(row[j] * gelu_reference(row[inner + j]));
    }
  dm_geglu_forward(got, in, rows, inner);
  dm_test_compare("geglu", got, want, rows * inner, 1e-5, 1e-6);
  g_free(in);
  g_free(got);
  g_free(want);
}

static void test_embedding(void) {
  const int32_t rows = 10, dim = 300; /* dim: more than one 256 chunk */
  float *table = dm_test_random_floats((size_t)rows * dim, 1.0f, 5);
  uint16_t *half = g_new(uint16_t, (size_t)rows * dim);
  dm_f32_to_dtype(half, table, DM_DTYPE_F16, (size_t)rows * dim);
  const int32_t ids[4] = {3, 0, 9, 3}, positions[4] = {0, 1, 2, 3};
  float got[4 * 300], want[4 * 300];
  for (int32_t i = 0; i < 4; i++)
    for (int32_t j = 0; j < dim; j++)
      want[i * dim + j] = dm_f16_to_f32(half[ids[i] * dim + j]) +
                          table[positions[i] * dim + j];
  DM_CHECK(dm_embedding_forward(got, ids, 4, half, DM_DTYPE_F16, rows, dim,
                                false) &&
               dm_embedding_forward(got, positions, 4, table, DM_DTYPE_F32,
                                    rows, dim, true),
           "embedding lookup refused valid ids");
  dm_test_compare("embedding F16 + F32 accumulated", got, want, 4 * 300, 0.0,
                  0.0);
  const int32_t bad[2] = {1, 10};
  DM_CHECK(!dm_embedding_forward(got, bad, 2, table, DM_DTYPE_F32, rows, dim,
                                 false),
           "embedding lookup took id 10 of a 10-row table");
  g_free(table);
  g_free(half);
}

/* out (N, Lq, C) by the definition, in double. */
static void attention_reference(float *out, const float *q, const float *k,
                                const float *v, int32_t n, size_t lq,
                                size_t lk, int32_t c, int32_t heads,
                                bool causal) {
  const int32_t d = c / heads;
  double *p = g_new(double, lk);
  for (int32_t i = 0; i < n; i++)
    for (int32_t h = 0; h < heads; h++)
      for (size_t t = 0; t < lq; t++) {
        const float *qt = q + ((size_t)i * lq + t) * c + h * d;
        const size_t seen = causal ? t + 1 : lk;
        double max = -INFINITY, total = 0.0;
        for (size_t s = 0; s < seen; s++) {
          const float *ks = k + ((size_t)i * lk + s) * c + h * d;
          double dot = 0.0;
          for (int32_t j = 0; j < d; j++) dot += (double)qt[j] * ks[j];
          p[s] = dot / sqrt((double)d);
          max = fmax(max, p[s]);
        }
        for (size_t s = 0; s < seen; s++) total += p[s] = exp(p[s] - max);
        for (int32_t j = 0; j < d; j++) {
          double sum = 0.0;
          for (size_t s = 0; s < seen; s++)
            sum += p[s] / total * v[((size_t)i * lk + s) * c + h * d + j];
          out[((size_t)i * lq + t) * c + h * d + j] = (float)sum;
        }
      }
  g_free(p);
}

static void check_attention(const char *label, int32_t n, size_t lq,
                            size_t lk, int32_t c, int32_t heads, bool causal) {
  float *q = dm_test_random_floats((size_t)n * lq * c, 1.0f, 6);
  float *k = dm_test_random_floats((size_t)n * lk * c, 1.0f, 7);
  float *v = dm_test_random_floats((size_t)n * lk * c, 1.0f, 8);
  float *got = g_new(float, (size_t)n * lq * c);
  float *want = g_new(float, (size_t)n * lq * c);
  attention_reference(want, q, k, v, n, lq, lk, c, heads, causal);
  DM_CHECK(dm_multihead_attention_forward(got, q, k, v, n, lq, lk, c, heads,
                                          causal),
           "%s: allocation", label);
  dm_test_compare(label, got, want, (size_t)n * lq * c, 1e-5, 1e-5);
  g_free(q);
  g_free(k);
  g_free(v);
  g_free(got);
  g_free(want);
}

static void test_attention(void) {
  check_attention("attention self, 3 heads of 5", 2, 13, 13, 15, 3, false);
  check_attention("attention causal, 3 heads of 5", 2, 13, 13, 15, 3, true);
  check_attention("attention causal, 1 token", 1, 1, 1, 8, 2, true);
  check_attention("attention cross, Lq 37 Lk 11", 2, 37, 11, 16, 4, false);
  /* 2048 keys: queries go in blocks of 512 (the scratch bound). */
  check_attention("attention cross, query blocks", 1, 1100, 2048, 8, 1,
                  false);
  check_attention("attention causal, query blocks", 1, 1100, 1100, 8, 2,
                  true);
}

/* want (N, hw, c_out) or, with out_planes, (N, c_out, hw) = the linear map
 * (weight (c_out, c_in), bias) of every pixel of in (N, hw, c_in) or, with
 * in_planes, (N, c_in, hw), in double. */
static void plane_map_reference(float *want, const float *in,
                                const float *weight, const float *bias,
                                int32_t n, size_t hw, int32_t c_in,
                                int32_t c_out, bool in_planes,
                                bool out_planes) {
  for (int32_t i = 0; i < n; i++)
    for (size_t p = 0; p < hw; p++)
      for (int32_t o = 0; o < c_out; o++) {
        double total = bias[o];
        for (int32_t k = 0; k < c_in; k++)
          total += (double)weight[o * c_in + k] *
                   in[in_planes ? ((size_t)i * c_in + k) * hw + p
                                : ((size_t)i * hw + p) * c_in + k];
        want[out_planes ? ((size_t)i * c_out + o) * hw + p
                        : ((size_t)i * hw + p) * c_out + o] = (float)total;
      }
}

/* dm_linear_from_planes_forward and dm_linear_to_planes_forward (with and
 * without accumulating), and dm_add_forward. Sizes with more pixels than
 * one task's block and a partial last block. */
static void test_plane_maps(void) {
  const int32_t n = 2, c_in = 20, c_out = 12;
  const size_t hw = 1300, count = (size_t)n * hw * c_out;
  float *in = dm_test_random_floats((size_t)n * c_in * hw, 1.0f, 4);
  float *weight = dm_test_random_floats((size_t)c_out * c_in, 0.3f, 5);
  float *bias = dm_test_random_floats((size_t)c_out, 1.0f, 6);
  float *start = dm_test_random_floats(count, 1.0f, 8);
  float *got = g_new(float, count), *want = g_new(float, count);
  plane_map_reference(want, in, weight, bias, n, hw, c_in, c_out, true,
                      false);
  dm_linear_from_planes_forward(got, in, weight, bias, n, hw, c_in, c_out);
  dm_test_compare("linear from planes to rows", got, want, count, 1e-5, 1e-6);
  plane_map_reference(want, in, weight, bias, n, hw, c_in, c_out, false,
                      true);
  dm_linear_to_planes_forward(got, in, weight, bias, n, hw, c_in, c_out,
                              false);
  dm_test_compare("linear from rows to planes", got, want, count, 1e-5, 1e-6);
  memcpy(got, start, count * sizeof(float));
  dm_linear_to_planes_forward(got, in, weight, bias, n, hw, c_in, c_out,
                              true);
  for (size_t j = 0; j < count; j++) want[j] += start[j];
  dm_test_compare("linear from rows to planes, added", got, want, count,
                  1e-5, 1e-6);
  memcpy(got, start, count * sizeof(float));
  dm_add_forward(got, want, count);
  for (size_t j = 0; j < count; j++) want[j] += start[j];
  dm_test_compare("add", got, want, count, 1e-6, 1e-6);
  g_free(in);
  g_free(weight);
  g_free(bias);
  g_free(start);
  g_free(got);
  g_free(want);
}

int main(void) {
  dm_set_num_threads(2);
  test_layernorm();
  test_activations();
  test_embedding();
  test_attention();
  test_plane_maps();
  return dm_test_finish();
}
