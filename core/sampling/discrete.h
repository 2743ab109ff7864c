/* gimp-diffusion core: one step of the discrete-time samplers (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The single-step arithmetic of diffusers' DDPMScheduler.step,
 * DDIMScheduler.step and SchedulerMixin.add_noise, in float32 in the order
 * diffusers (torch, CPU) performs it, so that the reference vectors in
 * tests/data/schedulers are reproduced to a few float32 ulps.
 *
 * Every array is a flat tensor of `count` floats, any shape, e.g.
 * (N, C, H, W); all arrays of one call have the same shape. Outputs may
 * alias `sample` (each element is read before it is written) but not
 * `model_output` or `noise` unless they are the same element-wise too.
 * Timesteps are integer training timesteps in [0, T), T =
 * config->num_train_timesteps; a previous timestep < 0 stands for "after
 * the last step" (alpha_bar_prev = 1, or DDIM's final alpha_bar). */
#ifndef DM_DISCRETE_H
#define DM_DISCRETE_H

#include <stddef.h>
#include <stdint.h>

#include "dm.h"

/* torch.clamp(x, -r, r): NaN stays NaN. */
static inline float dm_clamp_range(float x, float r) {
  return x < -r ? -r : (x > r ? r : x);
}

/* Predicted x_0 and predicted epsilon from the model output, one element.
 * sa = sqrt(ab_t), sb = sqrt(b_t).
 *   epsilon: x0 = (x_t - sb * eps) / sa   (Ho et al. 2020, eq. 15;
 *            Song et al. 2020, eq. 12's "predicted x_0")
 *   v:       x0 = sa * x_t - sb * v,  eps = sa * v + sb * x_t
 *            (Salimans & Ho 2022, sec. 4 and appendix D)
 *   sample:  x0 = model output, eps = (x_t - sa * x0) / sb
 * `eps` may be NULL (DDPM does not need it). The clip of x0 comes after,
 * and eps is computed from the unclipped x0 for v / sample, as diffusers. */
static inline float dm_predict_x0(DmPrediction type, float sa, float sb,
                                  float m, float x, float *eps) {
  float x0, e;
  switch (type) {
    case DM_PREDICT_V:
      x0 = sa * x - sb * m;
      e = sa * m + sb * x;
      break;
    case DM_PREDICT_SAMPLE:
      x0 = m;
      e = eps ? (x - sa * x0) / sb : 0.0f;
      break;
    case DM_PREDICT_EPSILON:
    default:
      x0 = (x - sb * m) / sa;
      e = m;
      break;
  }
  if (eps) *eps = e;
  return x0;
}

/* Forward process q(x_t | x_0) (Ho et al. 2020, eq. 4):
 *   out = sqrt(alpha_bar) * x0 + sqrt(1 - alpha_bar) * noise
 * out, x0, noise: (count). alpha_bar = schedule->alphas_cumprod[t]. */
void dm_add_noise(float *out, const float *x0, const float *noise,
                  size_t count, float alpha_bar);

/* diffusers' previous timestep for DDPMScheduler.step: the entry after
 * `index` in the inference timesteps list (dm_schedule_timesteps), -1 after
 * the last one. `timesteps`: (num_steps). */
int32_t dm_ddpm_prev_timestep(const int32_t *timesteps, int32_t num_steps,
                              int32_t index);
/* diffusers' previous timestep for DDIMScheduler.step: t - T // num_steps
 * whatever the spacing (so for trailing / linspace it need not be the next
 * list entry). num_steps must be >= 1. */
int32_t dm_ddim_prev_timestep(const DmScheduleConfig *config,
                              int32_t num_steps, int32_t t);
/* DDIM's alpha_bar after the last step: 1 when set_alpha_to_one, else
 * alphas_cumprod[0]. */
float dm_ddim_final_alpha_bar(const DmScheduleConfig *config,
                              const DmSchedule *schedule);

/* One ancestral DDPM step x_t -> x_{prev_t} (Ho et al. 2020, Algorithm 2,
 * generalised to skipped timesteps as diffusers does):
 *   prev_sample    (count)  x_{prev_t}
 *   pred_original  (count)  x_0 estimate (after clipping); may be NULL
 *   model_output   (count)  epsilon, v or x_0 by config->prediction_type
 *   sample         (count)  x_t
 *   noise          (count)  standard normal z, used only when t > 0 (may
 *                           be NULL when t == 0)
 * Uses config's prediction_type, clip_sample, clip_sample_range and
 * variance_type. Errors (DM_ERROR_INVALID_ARGUMENT): t outside [0, T),
 * prev_t >= t or prev_t >= T, NULL arrays, a bad config or a schedule of
 * another length. */
bool dm_ddpm_step(float *prev_sample, float *pred_original,
                  const DmScheduleConfig *config, const DmSchedule *schedule,
                  int32_t t, int32_t prev_t, const float *model_output,
                  const float *sample, const float *noise, size_t count,
                  GError **error);

/* One DDIM step x_t -> x_{prev_t} (Song et al. 2020, eq. 12, with
 * sigma_t(eta) of eq. 16); arrays as dm_ddpm_step. `noise` is used only when
 * eta > 0 and may be NULL when eta == 0. prev_t < 0 uses
 * dm_ddim_final_alpha_bar(). Uses config's prediction_type, clip_sample,
 * clip_sample_range and set_alpha_to_one (use_clipped_model_output = False,
 * as the pipelines call it). Errors as dm_ddpm_step, and eta outside
 * [0, 1]. */
bool dm_ddim_step(float *prev_sample, float *pred_original,
                  const DmScheduleConfig *config, const DmSchedule *schedule,
                  int32_t t, int32_t prev_t, float eta,
                  const float *model_output, const float *sample,
                  const float *noise, size_t count, GError **error);

#endif /* DM_DISCRETE_H */
