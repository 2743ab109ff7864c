/* The whole U-Net's gradient against PyTorch's (tests/data/grad_tiny_attn,
 * copied from shared/refvec: the tiny_attn model and weights, two images,
 * loss = mean((out - target)^2), reference computed in float64): the loss,
 * dL/dx and all 144 parameter gradients. Then determinism: bit-identical
 * gradients for a fixed thread count, close ones across thread counts.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Tolerance per tensor: |d| <= 1e-5 + 1e-4 max |reference| (the refvec
 * README measures float32 against float64 at worst 1.03e-5 of a tensor's
 * max); to_k.bias, whose true gradient is 0 (softmax is shift-invariant
 * along keys) and whose reference holds ~1e-17 of noise, absolute only.
 * Last, finite differences on two random-weight layouts that take the
 * branches tiny_attn does not. */
#include <string.h>

#include "model/model.h"
#include "dm-test.h"
#include "network/unet-train.h"

#define GRAD_ATOL 1e-5
#define GRAD_RTOL 1e-4
#define OUT_ATOL 5e-5 /* as test-unet-refvec */
#define SHOWN 8       /* rows of the worst-tensors table */
/* Directional differences (see check_config_by_differences): a step of
 * 0.05 along a unit direction; the noise floor, read on the to_k biases
 * whose true gradient is 0, is 5e-5, the worst truncation 2e-3 of |g|. */
#define FD_STEP 0.05f
#define FD_ATOL 3e-4
#define FD_RTOL 5e-3

typedef struct {
  DmModel *model;
  DmTensor *x, *target;
  float *timesteps;     /* (N) */
  DmSafetensors *cases; /* out, loss, grad.* */
} GradCase;

/* One backward's results. */
typedef struct {
  float *params; /* (params.total) dL/dparams */
  float *x;      /* (N, C, H, W) dL/dx */
  double loss;
} Gradients;

typedef struct {
  const char *name;
  double max_diff, max_ref, tol;
} TensorResult;

static DmTensor *read_batch(const DmSafetensors *st, const char *name) {
  GError *error = NULL;
  const DmStEntry *entry = dm_safetensors_find(st, name);
  DM_CHECK_OK(entry != NULL && entry->rank == 4, error);
  DmTensor *tensor = dm_tensor_new(
      (int32_t)entry->shape[0], (int32_t)entry->shape[1],
      (int32_t)entry->shape[2], (int32_t)entry->shape[3], &error);
  DM_CHECK_OK(tensor != NULL, error);
  dm_safetensors_read_f32(entry, tensor->data);
  return tensor;
}

static GradCase load_case(void) {
  GError *error = NULL;
  char *model_path = dm_test_data_path("tiny_attn");
  char *cases_path = dm_test_data_path("grad_tiny_attn/cases.safetensors");
  GradCase c = {.model = dm_model_load(model_path, &error)};
  DM_CHECK_OK(c.model != NULL, error);
  c.cases = dm_safetensors_open(cases_path, &error);
  DM_CHECK_OK(c.cases != NULL, error);
  c.x = read_batch(c.cases, "x");
  c.target = read_batch(c.cases, "target");
  c.timesteps = dm_test_read_tensor(c.cases, "t", NULL);
  g_free(model_path);
  g_free(cases_path);
  return c;
}

/* A training forward and backward with `threads` threads; dout = dL/dout =
 * 2 (out - target) / numel(out). Checks out when `check_out`. */
static Gradients train_step(const GradCase *c, int32_t threads,
                            bool check_out) {
  GError *error = NULL;
  dm_set_num_threads(threads);
  const DmTensor *x = c->x;
  const size_t count = dm_tensor_numel(x);
  DmUnetTape *tape = dm_unet_tape_new(&c->model->unet, x->n, x->h, x->w, &error);
  DM_CHECK_OK(tape != NULL, error);
  DmTensor *out = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  DmTensor *dout = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  DM_CHECK_OK(out && dout, error);
  DM_CHECK_OK(dm_unet_forward_train(&c->model->unet, tape, out, x, c->timesteps,
                                    &error), error);
  Gradients g = {.params = g_new0(float, c->model->unet.params.total),
                 .x = g_new0(float, count)};
  for (size_t i = 0; i < count; i++) {
    const double d = (double)out->data[i] - c->target->data[i];
    g.loss += d * d / (double)count;
    dout->data[i] = (float)(2.0 * d / (double)count);
  }
  DM_CHECK_OK(dm_unet_backward(&c->model->unet, tape, g.params, g.x, dout, &error),
              error);
  if (check_out) {
    float *want = dm_test_read_tensor(c->cases, "out", NULL);
    dm_test_compare("grad_tiny_attn out", out->data, want, count, OUT_ATOL,
                    0.0);
    DmTensor *inference = dm_tensor_new(x->n, 3, x->h, x->w, &error);
    DM_CHECK_OK(dm_model_forward(c->model, inference, x, c->timesteps,
                                 &error), error);
    DM_CHECK(memcmp(inference->data, out->data, count * sizeof(float)) == 0,
             "the training forward's output differs from dm_model_forward's");
    dm_tensor_free(inference);
    g_free(want);
  }
  dm_tensor_free(out);
  dm_tensor_free(dout);
  dm_unet_tape_free(tape);
  return g;
}

static void gradients_free(Gradients *g) {
  g_free(g->params);
  g_free(g->x);
}

static double max_abs(const float *x, size_t count) {
  double max = 0.0;
  for (size_t i = 0; i < count; i++) max = MAX(max, fabs((double)x[i]));
  return max;
}

static double max_abs_diff(const float *a, const float *b, size_t count) {
  double max = 0.0;
  for (size_t i = 0; i < count; i++) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= max)) max = d; /* NaN wins */
  }
  return max;
}

/* Compares one gradient with grad.<name>; counts a failure. */
static TensorResult check_tensor(const GradCase *c, const char *name,
                                 const float *got, size_t count) {
  char *key = g_strdup_printf("grad.%s", name);
  size_t ref_count = 0;
  float *want = dm_test_read_tensor(c->cases, key, &ref_count);
  DM_CHECK(want != NULL && ref_count == count, "%s: missing or %zu values",
           key, ref_count);
  TensorResult r = {.name = name};
  if (want != NULL && ref_count == count) {
    r.max_diff = max_abs_diff(got, want, count);
    r.max_ref = max_abs(want, count);
    const bool shift_invariant = g_str_has_suffix(name, "to_k.bias");
    r.tol = GRAD_ATOL + (shift_invariant ? 0.0 : GRAD_RTOL * r.max_ref);
    DM_CHECK(r.max_diff <= r.tol, "%s: max|d| %.3g > tol %.3g", key,
             r.max_diff, r.tol);
  }
  g_free(want);
  g_free(key);
  return r;
}

static int by_tolerance_used(const void *a, const void *b) {
  const TensorResult *x = a, *y = b;
  const double rx = x->max_diff / x->tol, ry = y->max_diff / y->tol;
  return (rx < ry) - (rx > ry);
}

static void print_worst(TensorResult *results, int32_t count) {
  double max_diff = 0.0, max_ref = 0.0;
  for (int32_t i = 0; i < count; i++) {
    max_diff = MAX(max_diff, results[i].max_diff);
    max_ref = MAX(max_ref, results[i].max_ref);
  }
  qsort(results, (size_t)count, sizeof *results, by_tolerance_used);
  printf("worst tensors (max|d| / tol):\n  %-48s %10s %10s %10s\n", "tensor",
         "max|d|", "max|ref|", "tol");
  for (int32_t i = 0; i < MIN(count, SHOWN); i++)
    printf("  %-48s %10.3g %10.3g %10.3g\n", results[i].name,
           results[i].max_diff, results[i].max_ref, results[i].tol);
  printf("overall over %d tensors: max|d| %.3g, max|ref| %.3g\n", count,
         max_diff, max_ref);
}

static void test_against_reference(const GradCase *c, const Gradients *g) {
  float *loss = dm_test_read_tensor(c->cases, "loss", NULL);
  printf("loss %.9g, reference %.9g\n", g->loss, loss[0]);
  DM_CHECK(fabs(g->loss - loss[0]) <= 1e-6 * loss[0], "loss differs");
  g_free(loss);
  const DmParams *params = &c->model->unet.params;
  TensorResult *results = g_new(TensorResult, params->count + 1);
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    results[i] = check_tensor(c, info->name, g->params + info->offset,
                              info->numel);
  }
  results[params->count] = check_tensor(c, "x", g->x,
                                        dm_tensor_numel(c->x));
  print_worst(results, params->count + 1);
  g_free(results);
}

/* Same threads: bit-identical. 1 vs 2 threads: within the reference
 * tolerance of each tensor's largest gradient. */
static void test_threads(const GradCase *c, const Gradients *two) {
  const size_t total = c->model->unet.params.total;
  Gradients again = train_step(c, 2, false), one = train_step(c, 1, false);
  const size_t x_bytes = dm_tensor_numel(c->x) * sizeof(float);
  DM_CHECK(memcmp(again.params, two->params, total * sizeof(float)) == 0 &&
               memcmp(again.x, two->x, x_bytes) == 0,
           "two backwards with 2 threads differ");
  printf("2 threads twice: bit-identical gradients\n");
  const DmParams *params = &c->model->unet.params;
  double worst = 0.0;
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    const float *a = one.params + info->offset, *b = two->params + info->offset;
    const double tol = GRAD_ATOL + GRAD_RTOL * max_abs(b, info->numel);
    worst = MAX(worst, max_abs_diff(a, b, info->numel) / tol);
  }
  printf("1 vs 2 threads: worst tensor uses %.3g of its tolerance\n", worst);
  DM_CHECK(worst <= 1.0, "1 and 2 threads disagree");
  gradients_free(&again);
  gradients_free(&one);
}

static void test_misuse(const GradCase *c) {
  GError *error = NULL;
  const DmTensor *x = c->x;
  DmUnetTape *tape = dm_unet_tape_new(&c->model->unet, x->n, x->h, x->w, &error);
  DmTensor *dout = dm_tensor_new(x->n, 3, x->h, x->w, &error);
  float *grads = g_new0(float, c->model->unet.params.total);
  DM_CHECK(!dm_unet_backward(&c->model->unet, tape, grads, NULL, dout, &error) &&
               error != NULL,
           "a backward without a forward is an error");
  g_clear_error(&error);
  DM_CHECK(dm_unet_tape_new(&c->model->unet, 1, 5, 8, &error) == NULL && error,
           "a tape for a size that is not a multiple of 2 is refused");
  g_clear_error(&error);
  g_free(grads);
  dm_tensor_free(dout);
  dm_unet_tape_free(tape);
}

/* ---- configurations the reference does not cover ---------------------- */

/* Finite differences of L = sum_i r_i out_i along a random unit direction
 * of each parameter tensor and of x, Richardson-extrapolated as in
 * test-layers-grad: one derivative per tensor checks the network's wiring
 * (the order of the tape, the scale factors, skips and shortcuts), the
 * layers being checked entry by entry there. Tolerance FD_ATOL + FD_RTOL
 * |g| / sqrt(numel), |g| / sqrt(numel) being the derivative's typical
 * size; deliberately broken backwards (centring factor, mid block scale,
 * downsample padding, missing skip) fail it by factors of 10 to 1000. */
typedef struct {
  DmModel *model;
  DmTensor *x, *out;
  const float *timesteps;
  const float *r; /* (numel(out)) */
} ProjectedLoss;

static double projected_loss(const ProjectedLoss *p) {
  GError *error = NULL;
  DM_CHECK_OK(dm_model_forward(p->model, p->out, p->x, p->timesteps, &error),
              error);
  double total = 0.0;
  for (size_t i = 0; i < dm_tensor_numel(p->out); i++)
    total += (double)p->r[i] * p->out->data[i];
  return total;
}

/* (L(v + s d) - L(v - s d)) / 2s, values restored from saved. */
static double central_along(const ProjectedLoss *p, float *values,
                            const float *saved, const float *direction,
                            size_t count, float s) {
  for (size_t j = 0; j < count; j++) values[j] = saved[j] + s * direction[j];
  const double up = projected_loss(p);
  for (size_t j = 0; j < count; j++) values[j] = saved[j] - s * direction[j];
  const double down = projected_loss(p);
  memcpy(values, saved, count * sizeof(float));
  return (up - down) / (2.0 * s);
}

/* Along a random unit direction d: |numeric - analytic| and
 * |g| / sqrt(count), the typical size of the derivative g . d. */
typedef struct {
  double error, scale;
} Directional;

static Directional directional_error(const ProjectedLoss *p, float *values,
                                     const float *grad, size_t count,
                                     float h, uint64_t stream) {
  float *direction = dm_test_random_floats(count, 1.0f / sqrtf((float)count),
                                           stream);
  float *saved = g_memdup2(values, count * sizeof(float));
  const double coarse = central_along(p, values, saved, direction, count, h);
  const double fine = central_along(p, values, saved, direction, count, h / 2);
  double analytic = 0.0, grad_norm = 0.0;
  for (size_t j = 0; j < count; j++) {
    analytic += (double)grad[j] * direction[j];
    grad_norm += (double)grad[j] * grad[j];
  }
  g_free(direction);
  g_free(saved);
  return (Directional){fabs((4.0 * fine - coarse) / 3.0 - analytic),
                       sqrt(grad_norm / (double)count)};
}

/* The share of its tolerance that an error uses. */
static double tolerance_used(Directional d) {
  return d.error / (FD_ATOL + FD_RTOL * d.scale);
}

static void check_config_by_differences(const char *label,
                                        const DmUnetConfig *config,
                                        int32_t n, int32_t size) {
  GError *error = NULL;
  ProjectedLoss p = {.model = dm_model_new_random(config, NULL, 5, &error)};
  DM_CHECK_OK(p.model != NULL, error);
  const float timesteps[2] = {30.0f, 700.0f};
  p.timesteps = timesteps;
  p.x = dm_tensor_new(n, config->in_channels, size, size, &error);
  p.out = dm_tensor_new(n, config->out_channels, size, size, &error);
  DM_CHECK_OK(p.x && p.out, error);
  dm_rng_normal_fill(p.x->data, dm_tensor_numel(p.x), 11, 0, 0);
  float *r = dm_test_random_floats(dm_tensor_numel(p.out), 1.0f, 12);
  p.r = r;
  DmUnetTape *tape = dm_unet_tape_new(&p.model->unet, n, size, size, &error);
  DmTensor *dout = dm_tensor_new(n, config->out_channels, size, size, &error);
  DM_CHECK_OK(tape && dout, error);
  memcpy(dout->data, r, dm_tensor_numel(dout) * sizeof(float));
  DM_CHECK_OK(dm_unet_forward_train(&p.model->unet, tape, p.out, p.x, timesteps,
                                    &error), error);
  const DmParams *params = &p.model->unet.params;
  float *grads = g_new0(float, params->total);
  float *dx = g_new0(float, dm_tensor_numel(p.x));
  DM_CHECK_OK(dm_unet_backward(&p.model->unet, tape, grads, dx, dout, &error),
              error);
  Directional worst = directional_error(&p, p.x->data, dx,
                                        dm_tensor_numel(p.x), FD_STEP, 1000);
  const char *worst_name = "x";
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    const Directional d = directional_error(&p, params->data + info->offset,
                                            grads + info->offset, info->numel,
                                            FD_STEP, 1001 + (uint64_t)i);
    if (!(tolerance_used(d) <= tolerance_used(worst)))
      worst = d, worst_name = info->name;
  }
  const bool ok = tolerance_used(worst) <= 1.0;
  printf("%s %s: worst |numeric - analytic| %.3g for |g|/sqrt(n) %.3g "
         "(%s)\n",
         ok ? "ok  " : "FAIL", label, worst.error, worst.scale, worst_name);
  if (!ok) dm_test_failures++;
  g_free(grads);
  g_free(dx);
  g_free(r);
  dm_tensor_free(dout);
  dm_tensor_free(p.x);
  dm_tensor_free(p.out);
  dm_unet_tape_free(tape);
  dm_model_free(p.model);
}

/* Two small layouts between them take the branches tiny_attn does not:
 * center_input_sample, downsample_padding 0, two layers per block, several
 * heads, a mid block scale factor, fewer output than input channels; no
 * mid block (the up path starts from the last skip), three levels. */
static void test_other_configs(void) {
  dm_set_num_threads(1); /* hundreds of tiny forwards: no barriers to wait */
  const DmUnetConfig scaled = {
      .in_channels = 3, .out_channels = 2, .freq_shift = 1, .n_levels = 2,
      .block_out_channels = {8, 16}, .down_attention = {false, true},
      .up_attention = {true, false}, .layers_per_block = 2,
      .mid_block_scale_factor = 1.5f, .downsample_padding = 0,
      .attention_head_dim = 4, .norm_num_groups = 4, .norm_eps = 1e-6f,
      .has_mid_block = true, .add_attention = true,
      .center_input_sample = true};
  check_config_by_differences("pad 0, centred, mid scale 1.5, 4 heads",
                              &scaled, 2, 8);
  const DmUnetConfig no_mid = {
      .in_channels = 2, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {8, 8, 16},
      .down_attention = {false, false, true},
      .up_attention = {true, false, false}, .layers_per_block = 1,
      .mid_block_scale_factor = 1.0f, .downsample_padding = 1,
      .norm_num_groups = 4, .norm_eps = 1e-5f, .has_mid_block = false};
  check_config_by_differences("no mid block, 3 levels", &no_mid, 1, 8);
}

int main(void) {
  GradCase c = load_case();
  Gradients two = train_step(&c, 2, true);
  test_against_reference(&c, &two);
  test_threads(&c, &two);
  test_misuse(&c);
  test_other_configs();
  gradients_free(&two);
  g_free(c.timesteps);
  dm_tensor_free(c.x);
  dm_tensor_free(c.target);
  dm_safetensors_free(c.cases);
  dm_model_free(c.model);
  return dm_test_finish();
}
