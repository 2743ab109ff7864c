/* Each layer's backward against finite differences of its forward
 * (ggml test-backend-ops "grad" mode): for a random projection
 * L = sum_i r_i out_i, the derivative of L along every entry t_j of every
 * input and parameter (a strided sample of the larger tensors) is compared
 * with what the backward adds for dout = r.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Numerical derivative: central differences D(h) = (L(t_j + h) -
 * L(t_j - h)) / 2h, Richardson-extrapolated, (4 D(h/2) - D(h)) / 3, which
 * cancels the h^2 term and leaves O(h^4) truncation. The forward runs in
 * float32 (L sums in double), so L carries a rounding noise of about
 * sqrt(m) u |out| for the m outputs that move (u = 6e-8), divided by h in
 * D. Per op (measured with steps from 2e-3 to 0.5, worst entries):
 *  - linear in the perturbed tensor (conv, linear, channel shift, upsample,
 *    concat): D is exact for any h, so h = 0.5 and only rounding remains,
 *    < 6e-6 against gradients up to 20: atol 1e-5, rtol 1e-5;
 *  - groupnorm, SiLU: h = 0.05, error < 6e-5 for gradients near 2 (smaller
 *    steps grow the noise, larger ones the truncation): atol 1e-4,
 *    rtol 2e-4;
 *  - attention, where every output moves (m up to 1152) and the softmax is
 *    sharp: h = 0.03, noise floor 6e-4 (the to_k bias, whose true gradient
 *    is 0), error < 8e-5 of the largest gradient: atol 2e-3, rtol 5e-4.
 * A wrong index or a missing term gives errors of order one. */
#include <string.h>

#include "dm-test.h"
#include "tensor/layers.h"

#define MAX_TENSORS 11

typedef struct Layer Layer;

/* out (out_size) = the layer applied to values[] and the case's sizes. */
typedef void (*ForwardFunc)(const Layer *layer, float *out);
/* grads[t] (sizes[t]) += dL/dvalues[t] for dL/dout = dout. */
typedef void (*BackwardFunc)(const Layer *layer, float *const *grads,
                             const float *dout);

struct Layer {
  const char *label;
  int32_t count; /* tensors */
  const char *names[MAX_TENSORS];
  float *values[MAX_TENSORS];
  size_t sizes[MAX_TENSORS];
  size_t out_size;
  ForwardFunc forward;
  BackwardFunc backward;
  const void *sizes_of_case; /* the case's shape struct */
  float step;                /* h */
  double atol, rtol;
  size_t max_checks; /* entries checked per tensor */
};

static void add_tensor(Layer *layer, const char *name, size_t size,
                       float scale, float offset) {
  const int32_t t = layer->count++;
  g_assert(t < MAX_TENSORS);
  layer->names[t] = name;
  layer->sizes[t] = size;
  layer->values[t] = dm_test_random_floats(size, scale, 100 + (uint64_t)t);
  for (size_t i = 0; i < size; i++) layer->values[t][i] += offset;
}

static double projected_loss(const Layer *layer, const float *r, float *out) {
  layer->forward(layer, out);
  double total = 0.0;
  for (size_t i = 0; i < layer->out_size; i++) total += (double)r[i] * out[i];
  return total;
}

static double max_abs(const float *x, size_t count) {
  double max = 0.0;
  for (size_t i = 0; i < count; i++) max = MAX(max, fabs((double)x[i]));
  return max;
}

/* (L(t_i + h) - L(t_i - h)) / (the step actually taken in float). */
static double central_difference(const Layer *layer, int32_t t, size_t i,
                                 float h, const float *r, float *out) {
  float *values = layer->values[t];
  const float saved = values[i];
  values[i] = saved + h;
  const double up = values[i], loss_up = projected_loss(layer, r, out);
  values[i] = saved - h;
  const double down = values[i], loss_down = projected_loss(layer, r, out);
  values[i] = saved;
  return (loss_up - loss_down) / (up - down);
}

/* Richardson-extrapolated central differences on a strided sample of
 * tensor t, against grad. */
static void check_tensor(Layer *layer, int32_t t, const float *grad,
                         const float *r, float *out) {
  const size_t size = layer->sizes[t];
  const size_t stride = size > layer->max_checks ? size / layer->max_checks : 1;
  const float h = layer->step;
  float *numeric = g_new(float, size), *analytic = g_new(float, size);
  size_t checked = 0;
  for (size_t i = stride / 2; i < size; i += stride, checked++) {
    const double coarse = central_difference(layer, t, i, h, r, out);
    const double fine = central_difference(layer, t, i, h / 2, r, out);
    numeric[checked] = (float)((4.0 * fine - coarse) / 3.0);
    analytic[checked] = grad[i];
  }
  char *label = g_strdup_printf("%s d%s", layer->label, layer->names[t]);
  dm_test_compare(label, analytic, numeric, checked,
                  layer->atol + layer->rtol * max_abs(grad, size), 0.0);
  g_free(label);
  g_free(numeric);
  g_free(analytic);
}

/* The backward adds: started from ones it gives 1 + the gradients. */
static void check_accumulates(const Layer *layer, float *const *grads,
                              const float *r) {
  float *from_ones[MAX_TENSORS];
  for (int32_t t = 0; t < layer->count; t++) {
    from_ones[t] = g_new(float, layer->sizes[t]);
    for (size_t i = 0; i < layer->sizes[t]; i++) from_ones[t][i] = 1.0f;
  }
  layer->backward(layer, from_ones, r);
  double worst = 0.0;
  for (int32_t t = 0; t < layer->count; t++) {
    const double scale = 1.0 + max_abs(grads[t], layer->sizes[t]);
    for (size_t i = 0; i < layer->sizes[t]; i++)
      worst = MAX(worst, fabs(from_ones[t][i] - 1.0 - grads[t][i]) / scale);
    g_free(from_ones[t]);
  }
  DM_CHECK(worst < 1e-6, "%s: the backward does not add to the gradients "
           "(relative difference %g)", layer->label, worst);
}

static void check_layer(Layer *layer) {
  float *r = dm_test_random_floats(layer->out_size, 1.0f, 99);
  float *out = g_new(float, layer->out_size);
  float *grads[MAX_TENSORS];
  for (int32_t t = 0; t < layer->count; t++)
    grads[t] = g_new0(float, layer->sizes[t]);
  layer->backward(layer, grads, r);
  check_accumulates(layer, grads, r);
  for (int32_t t = 0; t < layer->count; t++)
    check_tensor(layer, t, grads[t], r, out);
  for (int32_t t = 0; t < layer->count; t++) {
    g_free(grads[t]);
    g_free(layer->values[t]);
  }
  g_free(r);
  g_free(out);
}

/* ---- convolution ------------------------------------------------------- */

static void conv_forward(const Layer *layer, float *out) {
  DM_CHECK(dm_conv2d_forward(out, layer->values[0], layer->values[1],
                             layer->values[2], layer->sizes_of_case, false),
           "%s: forward allocation", layer->label);
}

static void conv_backward(const Layer *layer, float *const *grads,
                          const float *dout) {
  DM_CHECK(dm_conv2d_backward(grads[0], grads[1], grads[2], dout,
                              layer->values[0], layer->values[1],
                              layer->sizes_of_case),
           "%s: backward allocation", layer->label);
}

/* A first conv: no din wanted, the weight gradients unchanged. */
static void check_conv_without_din(const Layer *layer) {
  const DmConvShape *s = layer->sizes_of_case;
  float *r = dm_test_random_floats(layer->out_size, 1.0f, 98);
  float *din = g_new0(float, layer->sizes[0]);
  float *dweight = g_new0(float, layer->sizes[1]);
  float *dbias = g_new0(float, layer->sizes[2]);
  float *dweight_alone = g_new0(float, layer->sizes[1]);
  DM_CHECK(dm_conv2d_backward(din, dweight, dbias, r, layer->values[0],
                              layer->values[1], s) &&
               dm_conv2d_backward(NULL, dweight_alone, NULL, r,
                                  layer->values[0], layer->values[1], s),
           "%s: backward allocation", layer->label);
  char *label = g_strdup_printf("%s dweight with din NULL", layer->label);
  dm_test_compare(label, dweight_alone, dweight, layer->sizes[1], 1e-6, 1e-6);
  g_free(label);
  g_free(r);
  g_free(din);
  g_free(dweight);
  g_free(dbias);
  g_free(dweight_alone);
}

static void check_conv(const char *label, const DmConvShape *s) {
  Layer layer = {.label = label, .forward = conv_forward,
                 .backward = conv_backward, .sizes_of_case = s, .step = 0.5f,
                 .atol = 1e-5, .rtol = 1e-5, .max_checks = 400};
  const size_t weights = (size_t)s->c_out * s->c_in * s->kernel * s->kernel;
  const size_t inputs = (size_t)s->n * s->c_in * s->h_in * s->w_in;
  add_tensor(&layer, "in", inputs, 1.0f, 0.0f);
  add_tensor(&layer, "weight", weights, 0.3f, 0.0f);
  add_tensor(&layer, "bias", (size_t)s->c_out, 0.5f, 0.0f);
  layer.out_size = (size_t)s->n * s->c_out * s->h_out * s->w_out;
  check_conv_without_din(&layer);
  check_layer(&layer);
}

/* Stride 1: din by the forward kernels (AVX-512 or im2col, both tested),
 * with padding 1, 0 (1x1) and 2 (a 3x3 conv without padding). Stride 2:
 * col2im, where with two threads a task covers h_out / 4 output rows for
 * one image, h_out / 2 for two: several tiles in both phases. The AVX-512
 * weight gradient takes 12 rows of K by 32 output channels at a time:
 * `wide` has a partial last block of rows (K = 45) and of channels (37). */
static void test_conv(void) {
  const DmConvShape same = {2, 3, 7, 6, 4, 7, 6, 3, 1, 1, 1};
  const DmConvShape many_tiles = {1, 2, 21, 5, 3, 21, 5, 3, 1, 1, 1};
  const DmConvShape wide = {3, 5, 9, 11, 37, 9, 11, 3, 1, 1, 1};
  const DmConvShape stride_pad1 = {2, 3, 8, 10, 4, 4, 5, 3, 2, 1, 1};
  const DmConvShape stride_pad0 = {2, 3, 8, 10, 4, 4, 5, 3, 2, 0, 0};
  const DmConvShape stride_many = {1, 2, 18, 6, 3, 9, 3, 3, 2, 1, 1};
  const DmConvShape pointwise = {2, 5, 4, 3, 3, 4, 3, 1, 1, 0, 0};
  const DmConvShape valid = {2, 2, 6, 7, 3, 4, 5, 3, 1, 0, 0};
  check_conv("conv2d 3x3", &same);
  check_conv("conv2d 3x3 many tiles", &many_tiles);
  check_conv("conv2d 3x3 wide", &wide);
  check_conv("conv2d stride2 pad1", &stride_pad1);
  check_conv("conv2d stride2 pad0", &stride_pad0);
  check_conv("conv2d stride2 many tiles", &stride_many);
  check_conv("conv2d 1x1", &pointwise);
  check_conv("conv2d 3x3 no padding", &valid);
}

/* ---- group norm and SiLU ----------------------------------------------- */

typedef struct {
  int32_t n, c, groups;
  size_t hw;
  float eps;
  bool with_silu;
} NormSizes;

static void groupnorm_forward(const Layer *layer, float *out) {
  const NormSizes *s = layer->sizes_of_case;
  dm_groupnorm_forward(out, layer->values[0], layer->values[1],
                       layer->values[2], s->n, s->c, s->hw, s->groups, s->eps,
                       s->with_silu);
}

static void groupnorm_backward(const Layer *layer, float *const *grads,
                               const float *dout) {
  const NormSizes *s = layer->sizes_of_case;
  DM_CHECK(dm_groupnorm_backward(grads[0], grads[1], grads[2], dout,
                                 layer->values[0], layer->values[1],
                                 layer->values[2], s->n, s->c, s->hw,
                                 s->groups, s->eps, s->with_silu),
           "%s: backward allocation", layer->label);
}

static void check_groupnorm(const char *label, bool with_silu) {
  const NormSizes s = {2, 6, 3, 10, 1e-5f, with_silu};
  Layer layer = {.label = label, .forward = groupnorm_forward,
                 .backward = groupnorm_backward, .sizes_of_case = &s,
                 .step = 0.05f, .atol = 1e-4, .rtol = 2e-4, .max_checks = 400};
  /* A mean of 3 and a spread of 2, as activations have. */
  add_tensor(&layer, "in", (size_t)s.n * s.c * s.hw, 2.0f, 3.0f);
  add_tensor(&layer, "weight", (size_t)s.c, 0.5f, 1.0f);
  add_tensor(&layer, "bias", (size_t)s.c, 0.5f, 0.0f);
  layer.out_size = layer.sizes[0];
  check_layer(&layer);
}

static void silu_forward(const Layer *layer, float *out) {
  dm_silu_forward(out, layer->values[0], layer->sizes[0]);
}

static void silu_backward(const Layer *layer, float *const *grads,
                          const float *dout) {
  dm_silu_backward(grads[0], dout, layer->values[0], layer->sizes[0]);
}

static void test_norm_and_silu(void) {
  check_groupnorm("groupnorm", false);
  check_groupnorm("groupnorm+silu", true);
  Layer layer = {.label = "silu", .forward = silu_forward,
                 .backward = silu_backward, .step = 0.05f, .atol = 1e-4,
                 .rtol = 2e-4, .max_checks = 400};
  add_tensor(&layer, "in", 60, 3.0f, 0.0f);
  layer.out_size = 60;
  check_layer(&layer);
}

/* ---- linear, channel shift, upsample, concat --------------------------- */

typedef struct {
  int32_t n, c, h, w; /* linear: n, in, out; concat: n, c_a, c_b, hw */
} Sizes4;

static void linear_forward(const Layer *layer, float *out) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_linear_forward(out, layer->values[0], layer->values[1], layer->values[2],
                    s->n, s->c, s->h);
}

static void linear_backward(const Layer *layer, float *const *grads,
                            const float *dout) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_linear_backward(grads[0], grads[1], grads[2], dout, layer->values[0],
                     layer->values[1], s->n, s->c, s->h);
}

static void shift_forward(const Layer *layer, float *out) {
  const Sizes4 *s = layer->sizes_of_case;
  memcpy(out, layer->values[0], layer->sizes[0] * sizeof(float));
  dm_channel_shift_forward(out, layer->values[1], s->n, s->c, (size_t)s->h);
}

static void shift_backward(const Layer *layer, float *const *grads,
                           const float *dout) {
  const Sizes4 *s = layer->sizes_of_case;
  for (size_t i = 0; i < layer->sizes[0]; i++) grads[0][i] += dout[i];
  dm_channel_shift_backward(grads[1], dout, s->n, s->c, (size_t)s->h);
}

static void upsample_forward(const Layer *layer, float *out) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_upsample2x_forward(out, layer->values[0], s->n, s->c, s->h, s->w);
}

static void upsample_backward(const Layer *layer, float *const *grads,
                              const float *dout) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_upsample2x_backward(grads[0], dout, s->n, s->c, s->h, s->w);
}

static void concat_forward(const Layer *layer, float *out) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_concat_forward(out, layer->values[0], layer->values[1], s->n, s->c, s->h,
                    (size_t)s->w);
}

static void concat_backward(const Layer *layer, float *const *grads,
                            const float *dout) {
  const Sizes4 *s = layer->sizes_of_case;
  dm_concat_backward(grads[0], grads[1], dout, s->n, s->c, s->h,
                     (size_t)s->w);
}

/* The linear layers: exact in each tensor, so a large step. */
static Layer linear_case(const char *label, ForwardFunc forward,
                         BackwardFunc backward, const Sizes4 *s) {
  return (Layer){.label = label, .forward = forward, .backward = backward,
                 .sizes_of_case = s, .step = 0.5f, .atol = 1e-5,
                 .rtol = 1e-5, .max_checks = 400};
}

static void test_linear_maps(void) {
  const Sizes4 linear = {3, 5, 4, 0}, shift = {2, 3, 5, 0};
  const Sizes4 upsample = {2, 2, 3, 4}, concat = {2, 2, 3, 5};
  Layer layer = linear_case("linear", linear_forward, linear_backward, &linear);
  add_tensor(&layer, "in", 15, 1.0f, 0.0f);
  add_tensor(&layer, "weight", 20, 0.5f, 0.0f);
  add_tensor(&layer, "bias", 4, 0.5f, 0.0f);
  layer.out_size = 12;
  check_layer(&layer);
  layer = linear_case("channel shift", shift_forward, shift_backward, &shift);
  add_tensor(&layer, "out", 30, 1.0f, 0.0f);
  add_tensor(&layer, "shift", 6, 1.0f, 0.0f);
  layer.out_size = 30;
  check_layer(&layer);
  layer = linear_case("upsample2x", upsample_forward, upsample_backward,
                      &upsample);
  add_tensor(&layer, "in", 48, 1.0f, 0.0f);
  layer.out_size = 4 * 48;
  check_layer(&layer);
  layer = linear_case("concat", concat_forward, concat_backward, &concat);
  add_tensor(&layer, "a", 20, 1.0f, 0.0f);
  add_tensor(&layer, "b", 30, 1.0f, 0.0f);
  layer.out_size = 50;
  check_layer(&layer);
}

/* ---- attention --------------------------------------------------------- */

typedef struct {
  int32_t n, c, heads, groups;
  size_t hw;
  float rescale;
} AttentionSizes;

#define ATTENTION_EPS 1e-5f

static DmAttentionWeights attention_weights(const Layer *layer) {
  float *const *v = layer->values;
  return (DmAttentionWeights){v[1], v[2], v[3], v[4], v[5],
                              v[6], v[7], v[8], v[9], v[10]};
}

static void attention_forward(const Layer *layer, float *out) {
  const AttentionSizes *s = layer->sizes_of_case;
  const DmAttentionWeights w = attention_weights(layer);
  DM_CHECK(dm_attention_forward(out, layer->values[0], &w, s->n, s->c, s->hw,
                                s->heads, s->groups, ATTENTION_EPS,
                                s->rescale),
           "%s: forward allocation", layer->label);
}

static void attention_backward(const Layer *layer, float *const *grads,
                               const float *dout) {
  const AttentionSizes *s = layer->sizes_of_case;
  const DmAttentionWeights w = attention_weights(layer);
  const DmAttentionGrads g = {grads[1], grads[2], grads[3], grads[4],
                              grads[5], grads[6], grads[7], grads[8],
                              grads[9], grads[10]};
  DM_CHECK(dm_attention_backward(grads[0], &g, dout, layer->values[0], &w,
                                 s->n, s->c, s->hw, s->heads, s->groups,
                                 ATTENTION_EPS, s->rescale),
           "%s: backward allocation", layer->label);
}

static void check_attention(const char *label, const AttentionSizes *s) {
  Layer layer = {.label = label, .forward = attention_forward,
                 .backward = attention_backward, .sizes_of_case = s,
                 .step = 0.03f, .atol = 2e-3, .rtol = 5e-4,
                 .max_checks = 100}; /* a forward costs more here */
  const size_t c = (size_t)s->c, matrix = c * c;
  /* Weights large enough that the softmax is far from uniform. */
  const float spread = 2.0f / sqrtf((float)s->c);
  const char *names[] = {"to_q.weight", "to_q.bias", "to_k.weight",
                         "to_k.bias", "to_v.weight", "to_v.bias",
                         "to_out.weight", "to_out.bias"};
  add_tensor(&layer, "in", (size_t)s->n * c * s->hw, 1.0f, 0.0f);
  add_tensor(&layer, "norm.weight", c, 0.3f, 1.0f);
  add_tensor(&layer, "norm.bias", c, 0.3f, 0.0f);
  for (int i = 0; i < 8; i++)
    add_tensor(&layer, names[i], i % 2 ? c : matrix, i % 2 ? 0.3f : spread,
               0.0f);
  layer.out_size = layer.sizes[0];
  check_layer(&layer);
}

/* Three images on two threads: one image per thread at a time, the
 * threads' gradients summed. One image on six: every thread in each layer,
 * blocks of queries and keys of at most 2^20 / hw queries, and as many as
 * the threads need work (threads / heads per head). */
static void test_attention(void) {
  const AttentionSizes heads = {3, 16, 4, 4, 36, 2.0f};
  check_attention("attention 4 heads", &heads);
  dm_set_num_threads(6); /* 3 blocks per head: 48 + 48 + 4 queries */
  const AttentionSizes blocks = {1, 8, 2, 2, 100, 1.0f};
  check_attention("attention 2 heads 3 blocks", &blocks);
  dm_set_num_threads(2);
}

int main(void) {
  dm_set_num_threads(2);
  test_conv();
  test_norm_and_silu();
  test_linear_maps();
  test_attention();
  return dm_test_finish();
}
