/* gimp-diffusion core: AdamW, the learning-rate schedule, gradient-norm
 * clipping and the EMA of the weights (the formulas and their sources are
 * in dm-train.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Determinism: every loop cuts the array into the same DM_OPTIM_PARTS
 * contiguous parts whatever the thread count, and threads take whole
 * parts. The element-wise updates then do the same float operations on
 * each element for any thread count, and the norm adds the parts' sums in
 * part order, so all results are bit-identical across thread counts.
 */
#include <math.h>

#include "dm-train.h"
#include "tensor/base.h"

/* Parts per loop: enough for many threads to share. */
#define DM_OPTIM_PARTS 256
/* Below this many elements a loop runs on the calling thread alone (the
 * same parts in the same order, so the same results). */
#define DM_OPTIM_PARALLEL_MIN ((size_t)1 << 15)

/* First element of `part` when `count` elements are cut into
 * DM_OPTIM_PARTS parts whose sizes differ by at most one. */
static size_t part_start(size_t count, int part) {
  const size_t p = (size_t)part;
  return count / DM_OPTIM_PARTS * p + MIN(p, count % DM_OPTIM_PARTS);
}

/* Works on elements [begin, end) of part number `part`. */
typedef void (*DmPartFunc)(size_t begin, size_t end, int part, void *data);

static void for_each_part(size_t count, DmPartFunc func, void *data) {
#pragma omp parallel for schedule(static) if (count >= DM_OPTIM_PARALLEL_MIN)
  for (int part = 0; part < DM_OPTIM_PARTS; part++)
    func(part_start(count, part), part_start(count, part + 1), part, data);
}

/* Sets a DM_ERROR_INVALID_ARGUMENT naming `owner`, `field` and the range
 * unless `ok`. */
static bool require(bool ok, const char *owner, const char *field,
                    double value, const char *range, GError **error) {
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: %s = %.9g is out of range %s", owner, field, value, range);
  return ok;
}

/* ---- AdamW ------------------------------------------------------------- */

void dm_adamw_options_default(DmAdamWOptions *options) {
  g_return_if_fail(options != NULL);
  *options = (DmAdamWOptions){
      .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
}

bool dm_adamw_options_check(const DmAdamWOptions *options, GError **error) {
  g_return_val_if_fail(options != NULL, false);
  const char *owner = "AdamW options";
  const DmAdamWOptions *o = options;
  /* NaN fails every comparison. */
  return require(o->beta1 >= 0.0f && o->beta1 < 1.0f, owner, "beta1",
                 o->beta1, "[0, 1)", error) &&
         require(o->beta2 >= 0.0f && o->beta2 < 1.0f, owner, "beta2",
                 o->beta2, "[0, 1)", error) &&
         require(isfinite(o->eps) && o->eps > 0.0f, owner, "eps", o->eps,
                 "(0, inf)", error) &&
         require(isfinite(o->weight_decay) && o->weight_decay >= 0.0f, owner,
                 "weight_decay", o->weight_decay, "[0, inf)", error);
}

DmAdamWState *dm_adamw_state_new(size_t count, GError **error) {
  if (count == 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "AdamW state: no parameters (count = 0)");
    return NULL;
  }
  DmAdamWState *state = g_new0(DmAdamWState, 1);
  state->count = count;
  state->m = g_try_malloc0_n(count, sizeof(float));
  state->v = g_try_malloc0_n(count, sizeof(float));
  if (state->m == NULL || state->v == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "AdamW state: cannot allocate the moments m and v "
                "(2 x %zu floats)", count);
    dm_adamw_state_free(state);
    return NULL;
  }
  return state;
}

void dm_adamw_state_free(DmAdamWState *state) {
  if (state == NULL) return;
  g_free(state->m);
  g_free(state->v);
  g_free(state);
}

/* One update's arrays and its per-step scalars (see dm_adamw_step). */
typedef struct {
  float *params, *m, *v;
  const float *grads;
  float keep;         /* 1 - lr λ */
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float step_size;    /* lr / (1 - β1^t) */
  float bias2_sqrt;   /* sqrt(1 - β2^t) */
  float eps;
} DmAdamWUpdate;

static void adamw_part(size_t begin, size_t end, int part, void *data) {
  (void)part;
  /* A local copy: the stores below cannot alias the scalars. */
  const DmAdamWUpdate u = *(const DmAdamWUpdate *)data;
  float *restrict p = u.params, *restrict m = u.m, *restrict v = u.v;
  const float *restrict g = u.grads;
  for (size_t i = begin; i < end; i++) {
    p[i] *= u.keep;
    m[i] = u.beta1 * m[i] + u.one_minus_beta1 * g[i];
    v[i] = u.beta2 * v[i] + u.one_minus_beta2 * (g[i] * g[i]);
    const float denom = sqrtf(v[i]) / u.bias2_sqrt + u.eps;
    p[i] -= u.step_size * (m[i] / denom);
  }
}

void dm_adamw_step(DmAdamWState *state, float *params, const float *grads,
                   float lr, const DmAdamWOptions *options) {
  g_return_if_fail(state != NULL && params != NULL && grads != NULL);
  g_return_if_fail(options != NULL && isfinite(lr) && lr >= 0.0f);
  const double t = (double)++state->step;
  const double beta1 = options->beta1, beta2 = options->beta2;
  /* Kingma & Ba 2015, Alg. 1: bias corrections 1 - β^t of the moments. */
  DmAdamWUpdate update = {
      .params = params, .m = state->m, .v = state->v, .grads = grads,
      .keep = (float)(1.0 - (double)lr * options->weight_decay),
      .beta1 = options->beta1, .one_minus_beta1 = (float)(1.0 - beta1),
      .beta2 = options->beta2, .one_minus_beta2 = (float)(1.0 - beta2),
      .step_size = (float)(lr / (1.0 - pow(beta1, t))),
      .bias2_sqrt = (float)sqrt(1.0 - pow(beta2, t)),
      .eps = options->eps};
  for_each_part(state->count, adamw_part, &update);
}

/* ---- learning-rate schedule -------------------------------------------- */

static const char *const lr_schedule_names[DM_LR_SCHEDULE_COUNT] = {
    [DM_LR_CONSTANT] = "constant",
    [DM_LR_COSINE] = "cosine",
    [DM_LR_LINEAR] = "linear",
};

DM_DEFINE_NAME_HELPERS(dm_lr_schedule, DmLrScheduleType, lr_schedule_names,
                       DM_LR_SCHEDULE_COUNT)

bool dm_lr_schedule_check(const DmLrSchedule *schedule, GError **error) {
  g_return_val_if_fail(schedule != NULL, false);
  const char *owner = "learning-rate schedule";
  const DmLrSchedule *s = schedule;
  return require(s->type >= 0 && s->type < DM_LR_SCHEDULE_COUNT, owner,
                 "type", s->type, "of the DmLrScheduleType members", error) &&
         require(isfinite(s->lr) && s->lr >= 0.0f, owner, "lr", s->lr,
                 "[0, inf)", error) &&
         require(s->lr_min >= 0.0f && s->lr_min <= s->lr, owner, "lr_min",
                 s->lr_min, "[0, lr]", error) &&
         require(s->warmup_steps >= 0, owner, "warmup_steps",
                 (double)s->warmup_steps, "[0, total_steps]", error) &&
         require(s->total_steps >= s->warmup_steps, owner, "total_steps",
                 (double)s->total_steps, "[warmup_steps, inf)", error);
}

float dm_lr_at(const DmLrSchedule *schedule, int64_t step) {
  g_return_val_if_fail(schedule != NULL && step >= 0, 0.0f);
  const double lr = schedule->lr, lr_min = schedule->lr_min;
  const int64_t warmup = schedule->warmup_steps;
  if (step < warmup) return (float)(lr * (double)step / (double)warmup);
  const double decay_steps = (double)MAX(schedule->total_steps - warmup, 1);
  const double progress = MIN((double)(step - warmup) / decay_steps, 1.0);
  switch (schedule->type) {
  case DM_LR_COSINE: /* SGDR (Loshchilov & Hutter 2017), eq. 5 */
    return (float)(lr_min + (lr - lr_min) * 0.5 * (1.0 + cos(G_PI * progress)));
  case DM_LR_LINEAR:
    return (float)(lr_min + (lr - lr_min) * (1.0 - progress));
  case DM_LR_CONSTANT:
  default:
    return (float)lr;
  }
}

/* ---- gradient clipping ------------------------------------------------- */

/* Per-part sums of squares, in part order. */
typedef struct {
  const float *x;
  double sums[DM_OPTIM_PARTS];
} DmSquareSums;

/* Sum of x² over the part in eight double lanes (so that the compiler can
 * vectorise without reassociating), lanes added in order. */
static void square_sum_part(size_t begin, size_t end, int part, void *data) {
  DmSquareSums *s = data;
  const float *x = s->x;
  double lanes[8] = {0};
  size_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int j = 0; j < 8; j++) lanes[j] += (double)x[i + j] * x[i + j];
  for (int j = 0; i < end; i++, j++) lanes[j] += (double)x[i] * x[i];
  double sum = 0.0;
  for (int j = 0; j < 8; j++) sum += lanes[j];
  s->sums[part] = sum;
}

typedef struct {
  float *x;
  float factor;
} DmScale;

static void scale_part(size_t begin, size_t end, int part, void *data) {
  (void)part;
  const DmScale s = *(const DmScale *)data;
  for (size_t i = begin; i < end; i++) s.x[i] *= s.factor;
}

bool dm_clip_grad_norm(float *grads, size_t count, float max_norm,
                       double *norm) {
  g_return_val_if_fail(grads != NULL || count == 0, false);
  DmSquareSums squares = {.x = grads};
  for_each_part(count, square_sum_part, &squares);
  double total = 0.0;
  for (int part = 0; part < DM_OPTIM_PARTS; part++) total += squares.sums[part];
  const double grad_norm = sqrt(total);
  if (norm) *norm = grad_norm;
  /* One NaN or infinite gradient makes the sum NaN or infinite; finite
   * floats cannot overflow a double sum of squares (count < 2^64). */
  if (!isfinite(grad_norm)) return false;
  if (max_norm > 0.0f && grad_norm > max_norm) {
    DmScale scale = {.x = grads, .factor = (float)(max_norm / grad_norm)};
    for_each_part(count, scale_part, &scale);
  }
  return true;
}

/* ---- exponential moving average ---------------------------------------- */

float dm_ema_decay(float max_decay, int64_t update) {
  g_return_val_if_fail(update >= 1, 0.0f);
  const double warm = (1.0 + (double)update) / (10.0 + (double)update);
  return (float)MIN((double)max_decay, warm);
}

typedef struct {
  float *ema;
  const float *params;
  float rate; /* 1 - decay */
} DmEmaUpdate;

static void ema_part(size_t begin, size_t end, int part, void *data) {
  (void)part;
  const DmEmaUpdate u = *(const DmEmaUpdate *)data;
  float *restrict ema = u.ema;
  const float *restrict params = u.params;
  for (size_t i = begin; i < end; i++) ema[i] -= u.rate * (ema[i] - params[i]);
}

void dm_ema_update(float *ema, const float *params, size_t count,
                   float decay) {
  g_return_if_fail((ema != NULL && params != NULL) || count == 0);
  g_return_if_fail(decay >= 0.0f && decay <= 1.0f);
  DmEmaUpdate update = {.ema = ema, .params = params,
                        .rate = (float)(1.0 - (double)decay)};
  for_each_part(count, ema_part, &update);
}
