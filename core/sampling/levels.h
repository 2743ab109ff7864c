/* gimp-diffusion core: the noise levels a sampler steps through (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A run of `steps` steps visits grid positions k = 0 .. steps: position k
 * < steps is where the network is evaluated for step k, position `steps`
 * the clean end. Every sampler but two runs on the schedule's own
 * timesteps (dm_schedule_timesteps); dpmpp-2m-karras on Karras et al.'s
 * noise levels, lcm on the LCM distillation's timesteps. */
#ifndef DM_SAMPLING_LEVELS_H
#define DM_SAMPLING_LEVELS_H

#include <stdint.h>

#include "dm.h"

/* One grid position. x there is sqrt(ab) x0 + sqrt(1 - ab) eps (the VP
 * view every sampler keeps), y = x / sqrt(ab) = x0 + sigma eps the VE
 * view. */
typedef struct {
  int32_t timestep; /* the training timestep the network is told; -1 at
                     * the clean end */
  float alpha_bar;  /* ab; 1 at the clean end */
  float sigma;      /* sqrt((1 - ab) / ab); 0 at the clean end */
  float a, b;       /* x's signal and noise scales sqrt(ab), sqrt(1 - ab) */
} DmLevel;

/* The steps of LCM's distillation schedule (diffusers' LCMScheduler
 * original_inference_steps, 50 in every LCM checkpoint's config), at most
 * the training timesteps: lcm runs at most this many steps. */
int32_t dm_lcm_max_steps(const DmScheduleConfig *config);

/* levels (steps + 1) = the grid `sampler` runs on, as diffusers'
 * set_timesteps() builds it for the matching scheduler:
 *  - the schedule's timesteps t_k, with ab = alphas_cumprod[t_k],
 *    sigma = sqrt((1 - ab) / ab), a = sqrt(ab), b = sqrt(1 - ab), each
 *    one float32 operation (EulerDiscreteScheduler);
 *  - dpmpp-2m-karras: sigma_k of Karras et al. 2022, eq. 5 (rho = 7)
 *    between the schedule's smallest and largest sigma, a = 1 /
 *    sqrt(sigma^2 + 1), b = sigma a, and the timestep whose sigma it is
 *    (log-sigma interpolation, rounded) for the network
 *    (DPMSolverMultistepScheduler, use_karras_sigmas);
 *  - lcm: every (n_lcm / steps)-th timestep of LCM's schedule
 *    t_i = (i + 1) (T / n_lcm) - 1, counted from the noisy end
 *    (LCMScheduler, n_lcm = dm_lcm_max_steps).
 * Errors (DM_ERROR_INVALID_ARGUMENT): steps outside 1 .. T (for lcm, 1 ..
 * dm_lcm_max_steps), a bad config, a schedule of another length, T < 2
 * for dpmpp-2m-karras. */
bool dm_sampler_levels(const DmScheduleConfig *config,
                       const DmSchedule *schedule, DmSampler sampler,
                       int32_t steps, DmLevel *levels, GError **error);

#endif /* DM_SAMPLING_LEVELS_H */
