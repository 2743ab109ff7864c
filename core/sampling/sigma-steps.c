/* gimp-diffusion core: one step of Euler, Euler ancestral, DPM++ 2M and
 * LCM (sigma-steps.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reference: diffusers 0.40.0.dev0, scheduling_euler_discrete.py,
 * scheduling_euler_ancestral_discrete.py, scheduling_dpmsolver_multistep.py
 * and scheduling_lcm.py. Their scalar coefficients are float32, as here;
 * the x0 estimate is written through dm_predict_x0 (the same formulas in
 * the VP view), so results agree with theirs to float32 rounding, not bit
 * for bit (tests/test-samplers-sd). */
#include <math.h>

#include "sampling/discrete.h"
#include "sampling/sigma-steps.h"

/* The x0 estimate of one element at `level`, clipped as the config says. */
static inline float data_estimate(const DmScheduleConfig *config,
                                  const DmLevel *level, float model_output,
                                  float x) {
  const float x0 = dm_predict_x0(config->prediction_type, level->a, level->b,
                                 model_output, x, NULL);
  return config->clip_sample ? dm_clamp_range(x0, config->clip_sample_range)
                             : x0;
}

void dm_euler_step(float *x, const DmScheduleConfig *config,
                   const DmLevel *from, const DmLevel *to,
                   const float *model_output, const float *noise,
                   size_t count) {
  const float sigma = from->sigma, sigma_to = to->sigma;
  float target = sigma_to, sigma_up = 0.0f;
  if (noise != NULL) { /* EulerAncestralDiscreteScheduler's split */
    const float to2 = sigma_to * sigma_to, from2 = sigma * sigma;
    sigma_up = sqrtf(to2 * (from2 - to2) / from2);
    target = sqrtf(to2 - sigma_up * sigma_up);
  }
  const float dt = target - sigma;
  for (size_t i = 0; i < count; i++) {
    const float x0 = data_estimate(config, from, model_output[i], x[i]);
    const float y = x[i] / from->a;
    const float derivative = (y - x0) / sigma;
    float next = y + derivative * dt;
    if (noise != NULL) next = next + noise[i] * sigma_up;
    x[i] = next * to->a;
  }
}

void dm_dpmpp_2m_step(float *x, float *x0, const DmScheduleConfig *config,
                      const DmLevel *previous, const float *previous_x0,
                      const DmLevel *from, const DmLevel *to,
                      const float *model_output, size_t count) {
  for (size_t i = 0; i < count; i++)
    x0[i] = data_estimate(config, from, model_output[i], x[i]);
  if (to->b == 0.0f) { /* lambda' = inf: e^-h = 0, x' = x0 */
    for (size_t i = 0; i < count; i++) x[i] = x0[i];
    return;
  }
  const float lambda_to = logf(to->a) - logf(to->b);
  const float lambda = logf(from->a) - logf(from->b);
  const float h = lambda_to - lambda;
  const float keep = to->b / from->b;
  const float push = to->a * (expf(-h) - 1.0f); /* a' (e^-h - 1) */
  if (previous == NULL) {
    for (size_t i = 0; i < count; i++) x[i] = keep * x[i] - push * x0[i];
    return;
  }
  const float lambda_prev = logf(previous->a) - logf(previous->b);
  const float r = (lambda - lambda_prev) / h;
  const float half_push = 0.5f * push;
  for (size_t i = 0; i < count; i++) {
    const float d1 = (1.0f / r) * (x0[i] - previous_x0[i]);
    x[i] = keep * x[i] - push * x0[i] - half_push * d1;
  }
}

/* LCM's timestep_scaling and sigma_data (LCMScheduler). */
#define LCM_TIMESTEP_SCALING 10.0f
#define LCM_SIGMA_DATA 0.5f

void dm_lcm_step(float *x, const DmScheduleConfig *config,
                 const DmLevel *from, const DmLevel *to,
                 const float *model_output, const float *noise,
                 size_t count) {
  const float s = (float)from->timestep * LCM_TIMESTEP_SCALING;
  const float data2 = LCM_SIGMA_DATA * LCM_SIGMA_DATA;
  const float c_skip = data2 / (s * s + data2);
  const float c_out = s / sqrtf(s * s + data2);
  const bool last = to->timestep < 0;
  for (size_t i = 0; i < count; i++) {
    const float x0 = data_estimate(config, from, model_output[i], x[i]);
    const float denoised = c_out * x0 + c_skip * x[i];
    x[i] = last ? denoised : to->a * denoised + to->b * noise[i];
  }
}
