/* The optimiser: AdamW against a double-precision reference written here
 * from the papers' equations, the first-step identity, a badly scaled
 * quadratic, the learning-rate schedule at known points, gradient-norm
 * clipping, the EMA warm-up and fixed point, and independence from the
 * thread count.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "dm-train.h"
#include "tensor/rng.h"

static void check(bool ok, const char *label) {
  DM_CHECK(ok, "%s", label);
  printf("%s %s\n", ok ? "ok  " : "FAIL", label);
}

/* Fills x (n) with scale · s · (0.5 + |u|), u uniform in [-1, 1) and s its
 * sign: gradients whose magnitudes lie in [scale / 2, 3 scale / 2]. */
static void fill_away_from_zero(float *x, size_t n, float scale,
                                uint64_t stream) {
  dm_rng_uniform_fill(x, n, -1.0f, 1.0f, 11, stream, 0);
  for (size_t i = 0; i < n; i++)
    x[i] = scale * copysignf(0.5f + fabsf(x[i]), x[i]);
}

static DmAdamWState *new_state(size_t count) {
  GError *error = NULL;
  DmAdamWState *state = dm_adamw_state_new(count, &error);
  DM_CHECK_OK(state != NULL, error);
  return state;
}

/* ---- AdamW ------------------------------------------------------------- */

/* The reference, in double: Kingma & Ba 2015, Alg. 1 with bias-corrected
 * moments and Loshchilov & Hutter 2019, Alg. 2 with η_t folded into lr:
 * θ_t = θ_{t-1} - lr (λ θ_{t-1} + m_hat / (sqrt(v_hat) + eps)). */
typedef struct {
  double *p, *m, *v;
  int64_t t;
} RefAdamW;

static void ref_adamw_step(RefAdamW *r, const float *g, size_t n, double lr,
                           const DmAdamWOptions *o) {
  r->t++;
  const double b1 = o->beta1, b2 = o->beta2;
  for (size_t i = 0; i < n; i++) {
    r->m[i] = b1 * r->m[i] + (1.0 - b1) * g[i];
    r->v[i] = b2 * r->v[i] + (1.0 - b2) * (double)g[i] * g[i];
    const double m_hat = r->m[i] / (1.0 - pow(b1, (double)r->t));
    const double v_hat = r->v[i] / (1.0 - pow(b2, (double)r->t));
    r->p[i] -= lr * (o->weight_decay * r->p[i] + m_hat / (sqrt(v_hat) + o->eps));
  }
}

static void compare_to_double(const char *label, const float *got,
                              const double *want, size_t n, double rtol) {
  float *want_f = g_new(float, n);
  for (size_t i = 0; i < n; i++) want_f[i] = (float)want[i];
  dm_test_compare(label, got, want_f, n, 0.0, rtol);
  g_free(want_f);
}

/* Eight steps with weight decay 0.1, a learning rate that changes every
 * step (zero included) and gradients of scales 1e-3 .. 1e2. Tolerance:
 * 5e-7 relative to the largest value, a few float roundings (6e-8
 * relative each) over the eight updates; measured 1.0e-7 .. 1.7e-7. */
static void test_adamw_reference(void) {
  enum { N = 257, STEPS = 8 };
  const double lrs[STEPS] = {1e-3, 3e-3, 0.0, 2e-2, 5e-3, 1e-2, 1e-4, 7e-3};
  const float scales[STEPS] = {1.0f, 1e-3f, 1e2f, 0.1f, 1.0f, 10.0f, 1e-2f, 1.0f};
  DmAdamWOptions options = {.beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
                            .weight_decay = 0.1f};
  float params[N], grads[N];
  dm_rng_normal_fill(params, N, 5, 0, 0);
  RefAdamW ref = {g_new(double, N), g_new0(double, N), g_new0(double, N), 0};
  for (size_t i = 0; i < N; i++) ref.p[i] = params[i];
  DmAdamWState *state = new_state(N);
  for (int step = 0; step < STEPS; step++) {
    dm_rng_normal_fill(grads, N, 5, 1 + (uint64_t)step, 0);
    for (size_t i = 0; i < N; i++) grads[i] *= scales[step];
    dm_adamw_step(state, params, grads, (float)lrs[step], &options);
    ref_adamw_step(&ref, grads, N, (float)lrs[step], &options);
  }
  check(state->step == STEPS, "AdamW counts its steps");
  compare_to_double("AdamW params vs double reference, 8 steps", params,
                    ref.p, N, 5e-7);
  compare_to_double("AdamW first moment m", state->m, ref.m, N, 5e-7);
  compare_to_double("AdamW second moment v", state->v, ref.v, N, 5e-7);
  dm_adamw_state_free(state);
  g_free(ref.p), g_free(ref.m), g_free(ref.v);
}

/* At t = 1, m_hat = g and v_hat = g², so without decay each parameter moves
 * by lr g / (|g| + eps): lr against the gradient's sign, whatever its
 * scale. Tolerance: eps / |g| <= 2e-5 for |g| >= 5e-4, plus rounding. */
static void test_first_step(void) {
  enum { N = 1000 };
  const float scales[] = {1e-3f, 1.0f, 1e3f};
  const float lr = 1e-3f;
  DmAdamWOptions options;
  dm_adamw_options_default(&options);
  options.weight_decay = 0.0f;
  for (size_t s = 0; s < G_N_ELEMENTS(scales); s++) {
    float params[N] = {0}, grads[N];
    fill_away_from_zero(grads, N, scales[s], s);
    DmAdamWState *state = new_state(N);
    dm_adamw_step(state, params, grads, lr, &options);
    double worst = 0.0;
    bool against = true;
    for (size_t i = 0; i < N; i++) {
      worst = MAX(worst, fabs(fabs(params[i]) - lr) / lr);
      against = against && params[i] * grads[i] < 0.0f;
    }
    char *label = g_strdup_printf(
        "first step |dp| = lr for gradients of scale %g (max rel. error "
        "%.2g, tol 3e-5)", scales[s], worst);
    check(worst <= 3e-5 && against, label);
    g_free(label);
    dm_adamw_state_free(state);
  }
}

/* f(x) = 1/2 sum a_i x_i² with a_i from 1e-3 to 1e3 (condition number
 * 1e6), from x = 1, 3000 steps, lr 0.05 cosine to 0 after 30 warm-up
 * steps. Adam's per-coordinate scaling makes every coordinate move by
 * about lr a step, so all reach the minimum; gradient descent at its
 * largest stable rate (2 / 1e3) would shrink the flattest coordinate by
 * only 1 - 2e-6 a step. */
static void test_quadratic(void) {
  enum { N = 7, STEPS = 3000 };
  float a[N], x[N], g[N];
  for (int i = 0; i < N; i++) a[i] = powf(10.0f, -3.0f + i), x[i] = 1.0f;
  const DmLrSchedule schedule = {.type = DM_LR_COSINE, .lr = 0.05f,
                                 .lr_min = 0.0f, .warmup_steps = 30,
                                 .total_steps = STEPS};
  DmAdamWOptions options;
  dm_adamw_options_default(&options);
  options.weight_decay = 0.0f;
  DmAdamWState *state = new_state(N);
  for (int64_t step = 0; step < STEPS; step++) {
    for (int i = 0; i < N; i++) g[i] = a[i] * x[i];
    dm_adamw_step(state, x, g, dm_lr_at(&schedule, step), &options);
  }
  double f = 0.0, f0 = 0.0, worst = 0.0;
  for (int i = 0; i < N; i++) {
    f += 0.5 * a[i] * x[i] * x[i], f0 += 0.5 * a[i];
    worst = MAX(worst, fabs(x[i]));
  }
  char *label = g_strdup_printf(
      "Adam on a quadratic with condition 1e6: f %.3g -> %.3g, max|x| %.2g "
      "(want f < 1e-6 f0, max|x| < 1e-3)", f0, f, worst);
  check(f < 1e-6 * f0 && worst < 1e-3, label);
  g_free(label);
  dm_adamw_state_free(state);
}

static void test_adamw_checks(void) {
  GError *error = NULL;
  DmAdamWOptions options;
  dm_adamw_options_default(&options);
  check(dm_adamw_options_check(&options, NULL), "default AdamW options pass");
  options.beta2 = 1.0f;
  bool refused = !dm_adamw_options_check(&options, &error) &&
                 strstr(error->message, "beta2") != NULL;
  check(refused, "beta2 = 1 is refused, naming beta2");
  g_clear_error(&error);
  options.beta2 = 0.999f, options.eps = NAN;
  check(!dm_adamw_options_check(&options, NULL), "eps = NaN is refused");
  refused = dm_adamw_state_new(0, &error) == NULL &&
            g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT);
  check(refused, "a state for no parameters is refused");
  g_clear_error(&error);
}

/* ---- learning-rate schedule -------------------------------------------- */

static void check_lr(const DmLrSchedule *s, int64_t step, double want,
                     const char *what) {
  const float got = dm_lr_at(s, step);
  const bool ok = fabs(got - want) <= 1e-6 * s->lr;
  DM_CHECK(ok, "%s lr at step %" G_GINT64_FORMAT " = %.9g, want %.9g",
           dm_lr_schedule_name(s->type), step, got, want);
  printf("%s %-8s step %5" G_GINT64_FORMAT " lr %.7g (want %.7g: %s)\n",
         ok ? "ok  " : "FAIL", dm_lr_schedule_name(s->type), step, got, want,
         what);
}

/* Warm-up W = 100 over T = 1100 steps, lr 1e-3 down to 1e-5. */
static void test_schedule(void) {
  const double lr = 1e-3, lr_min = 1e-5;
  DmLrSchedule s = {.lr = (float)lr, .lr_min = (float)lr_min,
                    .warmup_steps = 100, .total_steps = 1100};
  for (int type = 0; type < DM_LR_SCHEDULE_COUNT; type++) {
    s.type = (DmLrScheduleType)type;
    check(dm_lr_schedule_check(&s, NULL), "schedule passes its check");
    check_lr(&s, 0, 0.0, "warm-up starts at 0");
    check_lr(&s, 50, lr / 2, "half-way through warm-up");
    check_lr(&s, 100, lr, "end of warm-up: the peak");
    const double decayed = s.type == DM_LR_CONSTANT ? lr : lr_min;
    const double middle = s.type == DM_LR_CONSTANT ? lr : (lr + lr_min) / 2;
    check_lr(&s, 600, middle, "middle of the decay");
    check_lr(&s, 1100, decayed, "end");
    check_lr(&s, 5000, decayed, "past the end");
  }
  s.type = DM_LR_COSINE;
  /* progress 1/4: lr_min + (lr - lr_min) (1 + cos(π/4)) / 2 */
  check_lr(&s, 350, lr_min + (lr - lr_min) * (1 + sqrt(0.5)) / 2,
           "a quarter into the cosine");
  s.warmup_steps = 0;
  check_lr(&s, 0, lr, "no warm-up: the peak at once");
}

static void test_schedule_names_and_checks(void) {
  bool names = true;
  for (int type = 0; type < DM_LR_SCHEDULE_COUNT; type++) {
    DmLrScheduleType back;
    names = names &&
            dm_lr_schedule_from_name(dm_lr_schedule_name(type), &back) &&
            back == (DmLrScheduleType)type;
  }
  DmLrScheduleType unused;
  names = names && strcmp(dm_lr_schedule_name(DM_LR_COSINE), "cosine") == 0 &&
          !dm_lr_schedule_from_name("cosine_with_restarts", &unused) &&
          dm_lr_schedule_name(DM_LR_SCHEDULE_COUNT) == NULL;
  check(names, "schedule names round-trip; unknown names are refused");
  GError *error = NULL;
  DmLrSchedule s = {.type = DM_LR_LINEAR, .lr = 1e-4f, .lr_min = 1e-3f,
                    .warmup_steps = 10, .total_steps = 100};
  check(!dm_lr_schedule_check(&s, &error) && strstr(error->message, "lr_min"),
        "lr_min above lr is refused, naming lr_min");
  g_clear_error(&error);
  s.lr_min = 0.0f, s.total_steps = 5;
  check(!dm_lr_schedule_check(&s, &error) &&
            strstr(error->message, "total_steps"),
        "total_steps below warmup_steps is refused, naming total_steps");
  g_clear_error(&error);
}

/* ---- gradient clipping ------------------------------------------------- */

static void test_clip(void) {
  float g[5] = {3.0f, 0.0f, -4.0f, 0.0f, 0.0f}, copy[5];
  memcpy(copy, g, sizeof g);
  double norm = 0.0;
  bool ok = dm_clip_grad_norm(g, 5, 10.0f, &norm);
  check(ok && norm == 5.0 && memcmp(g, copy, sizeof g) == 0,
        "norm 5 below max_norm 10: reported exactly, gradients untouched");
  ok = dm_clip_grad_norm(g, 5, 1.0f, &norm);
  double after;
  dm_clip_grad_norm(g, 5, 0.0f, &after);
  check(ok && norm == 5.0 && fabs(after - 1.0) <= 1e-7 && g[0] == 0.6f &&
            g[2] == -0.8f,
        "norm 5 above max_norm 1: scaled to (0.6, -0.8), pre-clip norm 5");

  enum { N = 100003 };
  float *big = g_new(float, N);
  for (size_t i = 0; i < N; i++) big[i] = 1.0f;
  dm_clip_grad_norm(big, N, 0.0f, &norm);
  check(fabs(norm - sqrt((double)N)) <= 1e-12 * sqrt((double)N),
        "norm of 100003 ones = sqrt(100003) to 1e-12 (double sum)");
  float *before = g_memdup2(big, N * sizeof(float));
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t b = 0; b < G_N_ELEMENTS(bad); b++) {
    big[77777] = bad[b];
    before[77777] = bad[b];
    ok = dm_clip_grad_norm(big, N, 1.0f, &norm);
    char *label = g_strdup_printf(
        "a gradient of %g: reported (false, norm %g), gradients untouched",
        bad[b], norm);
    check(!ok && !isfinite(norm) && memcmp(big, before, N * sizeof(float)) == 0,
          label);
    g_free(label);
  }
  g_free(before);
  g_free(big);
  check(dm_clip_grad_norm(NULL, 0, 1.0f, &norm) && norm == 0.0,
        "no gradients: norm 0");
}

/* ---- EMA --------------------------------------------------------------- */

static void test_ema_decay(void) {
  const struct {
    float max_decay;
    int64_t update;
    double want;
  } cases[] = {{0.9999f, 1, 2.0 / 11.0}, {0.9999f, 8, 0.5},
               {0.9999f, 80, 0.9},       {0.9999f, 1000000, 0.9999f},
               {0.5f, 100, 0.5},         {0.0f, 1, 0.0}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const float got = dm_ema_decay(cases[i].max_decay, cases[i].update);
    char *label = g_strdup_printf("EMA decay(max %g, update %" G_GINT64_FORMAT
                                  ") = %.7g, want %.7g",
                                  cases[i].max_decay, cases[i].update, got,
                                  cases[i].want);
    check(got == (float)cases[i].want, label);
    g_free(label);
  }
}

/* An EMA equal to the parameters stays bit-identical under any decay; a
 * moving target matches the double-precision recurrence
 * e <- d e + (1 - d) p within 1e-6 (inputs of magnitude ~1). */
static void test_ema_update(void) {
  enum { N = 333, UPDATES = 40 };
  float params[N], ema[N];
  dm_rng_normal_fill(params, N, 8, 0, 0);
  memcpy(ema, params, sizeof ema);
  for (int64_t u = 1; u <= UPDATES; u++)
    dm_ema_update(ema, params, N, dm_ema_decay(0.999f, u));
  check(memcmp(ema, params, sizeof ema) == 0,
        "EMA of constant parameters stays bit-identical (40 updates)");

  double ref[N];
  for (size_t i = 0; i < N; i++) ref[i] = ema[i];
  for (int64_t u = 1; u <= UPDATES; u++) {
    dm_rng_normal_fill(params, N, 8, 1 + (uint64_t)u, 0);
    const float d = dm_ema_decay(0.95f, u);
    dm_ema_update(ema, params, N, d);
    for (size_t i = 0; i < N; i++) ref[i] = d * ref[i] + (1.0 - d) * params[i];
  }
  compare_to_double("EMA of moving parameters vs double, 40 updates", ema,
                    ref, N, 1e-6);
}

/* ---- threads ----------------------------------------------------------- */

typedef struct {
  float *params, *grads, *ema;
  DmAdamWState *state;
  double norms[3];
  bool finite[3];
} Run;

/* Three clipped AdamW steps and EMA updates on `threads` threads. */
static Run run_training(size_t n, int32_t threads) {
  dm_set_num_threads(threads);
  Run r = {g_new(float, n), g_new(float, n), g_new(float, n), new_state(n),
           {0}, {0}};
  dm_rng_normal_fill(r.params, n, 21, 0, 0);
  memcpy(r.ema, r.params, n * sizeof(float));
  DmAdamWOptions options;
  dm_adamw_options_default(&options);
  for (int step = 0; step < 3; step++) {
    dm_rng_normal_fill(r.grads, n, 21, 1 + (uint64_t)step, 0);
    r.finite[step] = dm_clip_grad_norm(r.grads, n, 100.0f, &r.norms[step]);
    dm_adamw_step(r.state, r.params, r.grads, 1e-3f, &options);
    dm_ema_update(r.ema, r.params, n, dm_ema_decay(0.999f, step + 1));
  }
  return r;
}

static void free_run(Run *r) {
  g_free(r->params), g_free(r->grads), g_free(r->ema);
  dm_adamw_state_free(r->state);
}

/* Large enough for every loop to run in parallel, and not a multiple of
 * the partition. */
static void test_threads(void) {
  const size_t n = 1000003;
  const int32_t saved = dm_get_num_threads();
  Run one = run_training(n, 1), two = run_training(n, 2);
  const size_t bytes = n * sizeof(float);
  const bool same =
      memcmp(one.params, two.params, bytes) == 0 &&
      memcmp(one.grads, two.grads, bytes) == 0 &&
      memcmp(one.ema, two.ema, bytes) == 0 &&
      memcmp(one.state->m, two.state->m, bytes) == 0 &&
      memcmp(one.state->v, two.state->v, bytes) == 0 &&
      memcmp(one.norms, two.norms, sizeof one.norms) == 0 &&
      one.finite[0] && one.finite[2] && one.norms[0] > 100.0;
  check(same, "1 vs 2 threads: params, m, v, clipped grads, EMA and norms "
              "bit-identical (1000003 values, clipping active)");
  free_run(&one);
  free_run(&two);
  dm_set_num_threads(saved);
}

int main(void) {
  test_adamw_reference();
  test_first_step();
  test_quadratic();
  test_adamw_checks();
  test_schedule();
  test_schedule_names_and_checks();
  test_clip();
  test_ema_decay();
  test_ema_update();
  test_threads();
  return dm_test_finish();
}
