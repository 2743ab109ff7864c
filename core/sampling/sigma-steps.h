/* gimp-diffusion core: one step of the samplers Stable Diffusion users
 * know — Euler, Euler ancestral, DPM++ 2M and LCM (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The arithmetic of diffusers' EulerDiscreteScheduler,
 * EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler
 * (dpmsolver++, order 2, midpoint) and LCMScheduler step(), on the VP view
 * x = a x0 + b eps that every sampler here keeps (DmLevel). Every array
 * holds `count` floats; x is updated in place. model_output is the
 * network's output at `from` (epsilon, v or x0 as config->prediction_type
 * says); its x0 estimate is clipped to [-clip_sample_range,
 * clip_sample_range] when config->clip_sample (LCMScheduler's own rule,
 * applied to all four so that every sampler honours the config). */
#ifndef DM_SAMPLING_SIGMA_STEPS_H
#define DM_SAMPLING_SIGMA_STEPS_H

#include <stddef.h>

#include "sampling/levels.h"

/* Euler's step on the probability-flow ODE in the VE view y = x / a,
 * dy/dsigma = (y - x0(y)) / sigma (Karras et al. 2022, Alg. 1 without
 * its second-order correction; k-diffusion's sample_euler):
 *   y' = y + (sigma' - sigma) (y - x0) / sigma,   x' = a' y'.
 * With `noise` (count) the ancestral step instead (k-diffusion's
 * sample_euler_ancestral, eta 1): a DDPM posterior draw split as
 *   sigma_up = sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2),
 *   sigma_down = sqrt(sigma'^2 - sigma_up^2),
 *   y' = y + (sigma_down - sigma) (y - x0) / sigma + sigma_up z. */
void dm_euler_step(float *x, const DmScheduleConfig *config,
                   const DmLevel *from, const DmLevel *to,
                   const float *model_output, const float *noise,
                   size_t count);

/* DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Alg. 2, with
 * diffusers' midpoint form): lambda = log(a / b), h = lambda' - lambda,
 *   first order:  x' = (b' / b) x - a' (e^-h - 1) D0,   D0 = x0,
 *   second order: the same minus 0.5 a' (e^-h - 1) D1,
 *                 D1 = (x0 - x0_prev) / r,  r = (lambda - lambda_prev) / h,
 * with x0_prev the estimate at the previous position `previous`. x0
 * (count) receives this step's estimate (for the next step); previous and
 * previous_x0 are NULL for a first-order step (the first, the last and
 * the first after a RePaint jump). A step to the clean end (b' = 0) lands
 * on x0. */
void dm_dpmpp_2m_step(float *x, float *x0, const DmScheduleConfig *config,
                      const DmLevel *previous, const float *previous_x0,
                      const DmLevel *from, const DmLevel *to,
                      const float *model_output, size_t count);

/* LCM's multistep consistency sampling (Luo et al. 2023, Alg. 1): the
 * consistency function with the boundary condition f(x, 0) = x built in
 * (Song et al. 2023, §3), with LCM's discrete scalings, sigma_data = 0.5,
 * s = 10 t:
 *   c_skip = sigma_data^2 / (s^2 + sigma_data^2),
 *   c_out = s / sqrt(s^2 + sigma_data^2),
 *   f = c_out x0 + c_skip x,
 * then x' = a' f + b' z at the next timestep, or x' = f at the clean end
 * (noise may be NULL then). */
void dm_lcm_step(float *x, const DmScheduleConfig *config,
                 const DmLevel *from, const DmLevel *to,
                 const float *model_output, const float *noise,
                 size_t count);

#endif /* DM_SAMPLING_SIGMA_STEPS_H */
