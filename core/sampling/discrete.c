/* gimp-diffusion core: one step of the discrete-time samplers — diffusers'
 * DDPMScheduler.step, DDIMScheduler.step and add_noise.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reference: huggingface/diffusers 0.40.0.dev0,
 * src/diffusers/schedulers/scheduling_ddpm.py and scheduling_ddim.py, run
 * with torch 2.6 on the CPU. diffusers computes every scalar coefficient as
 * a 0-dim float32 tensor and every element-wise product as a separate
 * float32 operation (no fused multiply-add). The code below performs the
 * same float32 operations in the same order: `x ** 0.5` is torch's sqrt
 * (correctly rounded, as sqrtf), `a / b` a true division, `a * b + c * d`
 * two roundings for the products and one for the sum. The build uses
 * -std=c11, under which GCC does not contract a * b + c into an FMA
 * (-ffp-contract=off); a build with -ffp-contract=fast would still be
 * within the test tolerances but no longer bit-identical.
 *
 * Notation: ab_t = alpha_bar_t = alphas_cumprod[t], ab_p = alpha_bar at the
 * previous timestep, b_t = 1 - ab_t, b_p = 1 - ab_p.
 */
#include <math.h>

#include "sampling/discrete.h"

/* ---- helpers ----------------------------------------------------------- */

/* Checks what both steps share; `who` names the function in messages. */
static bool check_step_args(const char *who, const DmScheduleConfig *config,
                            const DmSchedule *schedule, int32_t t,
                            int32_t prev_t, float *prev_sample,
                            const float *model_output, const float *sample,
                            GError **error) {
  if (config == NULL || schedule == NULL || prev_sample == NULL ||
      model_output == NULL || sample == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT, "%s: %s is NULL",
                who,
                config == NULL         ? "config"
                : schedule == NULL     ? "schedule"
                : prev_sample == NULL  ? "prev_sample"
                : model_output == NULL ? "model_output"
                                       : "sample");
    return false;
  }
  const int32_t T = schedule->num_train_timesteps;
  if (config->num_train_timesteps != T) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: config num_train_timesteps = %d but the schedule has %d",
                who, config->num_train_timesteps, T);
    return false;
  }
  if ((int)config->prediction_type < 0 ||
      config->prediction_type >= DM_PREDICTION_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: prediction_type = %d is not a valid value", who,
                (int)config->prediction_type);
    return false;
  }
  if (config->clip_sample && !(config->clip_sample_range > 0.0f)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: clip_sample_range = %g must be positive", who,
                (double)config->clip_sample_range);
    return false;
  }
  if (t < 0 || t >= T) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: timestep t = %d is out of range 0..%d "
                "(num_train_timesteps - 1)",
                who, t, T - 1);
    return false;
  }
  if (prev_t >= t) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: previous timestep prev_t = %d must be below t = %d", who,
                prev_t, t);
    return false;
  }
  return true;
}

/* ---- add_noise ----------------------------------------------------------- */

void dm_add_noise(float *out, const float *x0, const float *noise,
                  size_t count, float alpha_bar) {
  g_return_if_fail(count == 0 || (out && x0 && noise));
  /* diffusers: alphas_cumprod[t] ** 0.5 and (1 - alphas_cumprod[t]) ** 0.5
   * as float32 tensors, then two products and a sum. */
  const float sa = sqrtf(alpha_bar);
  const float sb = sqrtf(1.0f - alpha_bar);
  for (size_t i = 0; i < count; i++) {
    const float a = sa * x0[i];
    const float b = sb * noise[i];
    out[i] = a + b;
  }
}

/* ---- previous timesteps ------------------------------------------------ */

int32_t dm_ddpm_prev_timestep(const int32_t *timesteps, int32_t num_steps,
                              int32_t index) {
  g_return_val_if_fail(timesteps != NULL && index >= 0 && index < num_steps,
                       -1);
  /* DDPMScheduler.previous_timestep() after set_timesteps(). */
  return index + 1 < num_steps ? timesteps[index + 1] : -1;
}

int32_t dm_ddim_prev_timestep(const DmScheduleConfig *config,
                              int32_t num_steps, int32_t t) {
  g_return_val_if_fail(config != NULL && num_steps >= 1, -1);
  /* DDIMScheduler.step: timestep - num_train_timesteps //
   * num_inference_steps (both positive, so C's / is Python's //). */
  return t - config->num_train_timesteps / num_steps;
}

float dm_ddim_final_alpha_bar(const DmScheduleConfig *config,
                              const DmSchedule *schedule) {
  g_return_val_if_fail(config != NULL && schedule != NULL, 1.0f);
  return config->set_alpha_to_one ? 1.0f : schedule->alphas_cumprod[0];
}

/* ---- DDPM -------------------------------------------------------------- */

bool dm_ddpm_step(float *prev_sample, float *pred_original,
                  const DmScheduleConfig *config, const DmSchedule *schedule,
                  int32_t t, int32_t prev_t, const float *model_output,
                  const float *sample, const float *noise, size_t count,
                  GError **error) {
  static const char who[] = "dm_ddpm_step";
  if (!check_step_args(who, config, schedule, t, prev_t, prev_sample,
                       model_output, sample, error))
    return false;
  if ((int)config->variance_type < 0 ||
      config->variance_type >= DM_VARIANCE_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: variance_type = %d is not a valid value", who,
                (int)config->variance_type);
    return false;
  }
  if (t > 0 && noise == NULL && count > 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: noise is NULL but t = %d > 0 needs it", who, t);
    return false;
  }

  /* 1. alphas and betas; with skipped steps the one-step alpha_t and
   *    beta_t of the paper become ab_t / ab_p and 1 - ab_t / ab_p. */
  const float ab_t = schedule->alphas_cumprod[t];
  const float ab_p = prev_t >= 0 ? schedule->alphas_cumprod[prev_t] : 1.0f;
  const float b_t = 1.0f - ab_t;
  const float b_p = 1.0f - ab_p;
  const float alpha_t = ab_t / ab_p;
  const float beta_t = 1.0f - alpha_t;
  const float sa = sqrtf(ab_t), sb = sqrtf(b_t);

  /* 4. Posterior mean coefficients, Ho et al. 2020, eq. 7:
   *    mu~ = sqrt(ab_p) beta_t / (1 - ab_t) x_0
   *        + sqrt(alpha_t) (1 - ab_p) / (1 - ab_t) x_t
   *    (diffusers: (sqrt(ab_p) * beta_t) / b_t and
   *    (sqrt(alpha_t) * b_p) / b_t, left to right). Note beta_t is
   *    recomputed from alphas_cumprod, not read from betas[t]: near t = 0
   *    the float32 cancellation in 1 - ab_t / ab_p costs up to ~5e-5
   *    relative there, and that is what diffusers returns. */
  const float c_x0 = (sqrtf(ab_p) * beta_t) / b_t;
  const float c_xt = sqrtf(alpha_t) * b_p / b_t;

  /* 6. Standard deviation, only for t > 0 (Algorithm 2, line 3:
   *    z = 0 at the last step). Posterior variance, eq. 7:
   *    beta~_t = (1 - ab_p) / (1 - ab_t) beta_t, clamped at 1e-20 as
   *    diffusers does (fixed_small). fixed_large uses sigma_t^2 = beta_t
   *    (Ho et al. sec. 3.2), again the recomputed 1 - ab_t / ab_p, not
   *    betas[t], so that skipped steps get the variance of the whole jump. */
  float sigma = 0.0f;
  if (t > 0) {
    float var = b_p / b_t * beta_t;
    if (var < 1e-20f) var = 1e-20f;
    if (config->variance_type == DM_VARIANCE_FIXED_LARGE) var = beta_t;
    sigma = sqrtf(var);
  }

  const bool clip = config->clip_sample;
  const float range = config->clip_sample_range;
  for (size_t i = 0; i < count; i++) {
    const float x = sample[i];
    /* 2. x_0 from the model output (eq. 15 for epsilon). */
    float x0 = dm_predict_x0(config->prediction_type, sa, sb, model_output[i],
                             x, NULL);
    /* 3. Clip x_0 (Algorithm 2 works on data in [-1, 1]). */
    if (clip) x0 = dm_clamp_range(x0, range);
    /* 5. x_{t-1} = mu~ + sigma z. */
    const float p = c_x0 * x0;
    const float q = c_xt * x;
    float mean = p + q;
    if (t > 0) mean = mean + sigma * noise[i];
    if (pred_original) pred_original[i] = x0;
    prev_sample[i] = mean;
  }
  return true;
}

/* ---- DDIM -------------------------------------------------------------- */

bool dm_ddim_step(float *prev_sample, float *pred_original,
                  const DmScheduleConfig *config, const DmSchedule *schedule,
                  int32_t t, int32_t prev_t, float eta,
                  const float *model_output, const float *sample,
                  const float *noise, size_t count, GError **error) {
  static const char who[] = "dm_ddim_step";
  if (!check_step_args(who, config, schedule, t, prev_t, prev_sample,
                       model_output, sample, error))
    return false;
  if (!(eta >= 0.0f && eta <= 1.0f)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: eta = %g is out of range, must be in [0, 1]", who,
                (double)eta);
    return false;
  }
  if (eta > 0.0f && noise == NULL && count > 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "%s: noise is NULL but eta = %g > 0 needs it", who,
                (double)eta);
    return false;
  }

  const float ab_t = schedule->alphas_cumprod[t];
  const float ab_p = prev_t >= 0 ? schedule->alphas_cumprod[prev_t]
                                 : dm_ddim_final_alpha_bar(config, schedule);
  const float b_t = 1.0f - ab_t;
  const float b_p = 1.0f - ab_p;
  const float sa = sqrtf(ab_t), sb = sqrtf(b_t);

  /* sigma_t(eta), Song et al. 2020, eq. 16:
   *   sigma^2 = (1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p)
   * (diffusers' _get_variance: (b_p / b_t) * (1 - ab_t / ab_p)),
   *   sigma = eta * sqrt(sigma^2). */
  const float var = (b_p / b_t) * (1.0f - ab_t / ab_p);
  const float sigma = eta * sqrtf(var);
  /* Eq. 12's "direction pointing to x_t": sqrt(1 - ab_p - sigma^2) eps.
   * Mathematically 1 - ab_p - sigma^2 = b_p ab_t (1 / ab_p - 1) / b_t >= 0;
   * where float32 rounding makes it negative diffusers returns NaN, we
   * return 0 instead (the only departure from diffusers here). */
  float d2 = 1.0f - ab_p - sigma * sigma;
  if (d2 < 0.0f) d2 = 0.0f;
  const float c_dir = sqrtf(d2);
  const float c_x0 = sqrtf(ab_p);

  const bool clip = config->clip_sample;
  const float range = config->clip_sample_range;
  for (size_t i = 0; i < count; i++) {
    const float x = sample[i];
    float eps;
    float x0 = dm_predict_x0(config->prediction_type, sa, sb, model_output[i],
                             x, &eps);
    if (clip) x0 = dm_clamp_range(x0, range);
    /* x_{prev} = sqrt(ab_p) x0 + sqrt(1 - ab_p - sigma^2) eps + sigma z
     * (eq. 12); diffusers adds the noise term as a separate sum. */
    const float p = c_x0 * x0;
    const float q = c_dir * eps;
    float out = p + q;
    if (eta > 0.0f) out = out + sigma * noise[i];
    if (pred_original) pred_original[i] = x0;
    prev_sample[i] = out;
  }
  return true;
}
