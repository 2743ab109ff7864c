/* gimp-diffusion core: the noise levels a sampler steps through — the
 * schedule's timesteps, Karras et al.'s levels, LCM's timesteps.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reference: diffusers 0.40.0.dev0, EulerDiscreteScheduler,
 * DPMSolverMultistepScheduler and LCMScheduler's set_timesteps(). Their
 * sigma tables are float32 (torch), the Karras levels and the timestep
 * interpolation float64 (numpy), rounded to float32 at the end; so here.
 * tests/test-samplers-sd compares the grids with theirs. */
#include <math.h>

#include "model/scheduler-config.h"
#include "sampling/levels.h"

/* LCMScheduler's original_inference_steps default, which the LCM
 * checkpoints' scheduler configs keep. */
#define LCM_ORIGINAL_STEPS 50

/* Karras et al. 2022's rho (their eq. 5 and table 1). */
#define KARRAS_RHO 7.0

int32_t dm_lcm_max_steps(const DmScheduleConfig *config) {
  return config->num_train_timesteps < LCM_ORIGINAL_STEPS
             ? config->num_train_timesteps : LCM_ORIGINAL_STEPS;
}

/* The level of training timestep t, in float32 as torch computes
 * ((1 - ab) / ab) ** 0.5. */
static DmLevel timestep_level(const DmSchedule *schedule, int32_t t) {
  const float ab = schedule->alphas_cumprod[t];
  return (DmLevel){t, ab, sqrtf((1.0f - ab) / ab), sqrtf(ab),
                   sqrtf(1.0f - ab)};
}

/* The level at VE noise sigma, with diffusers' _sigma_to_alpha_sigma_t:
 * a = 1 / (sigma^2 + 1) ** 0.5, b = sigma a, in float32. */
static DmLevel sigma_level(float sigma, int32_t t) {
  const float a = 1.0f / sqrtf(sigma * sigma + 1.0f);
  return (DmLevel){t, (float)(1.0 / (1.0 + (double)sigma * sigma)), sigma,
                   a, sigma * a};
}

static const DmLevel clean_level = {-1, 1.0f, 0.0f, 1.0f, 0.0f};

/* The timestep whose sigma is `sigma` (diffusers' _sigma_to_t): linear
 * interpolation in log sigma between the training timesteps around it,
 * clamped to [0, T - 1]. log_sigmas (T), ascending. */
static double sigma_to_timestep(double sigma, const float *log_sigmas,
                                int32_t T) {
  const double log_sigma = log(fmax(sigma, 1e-10));
  int32_t low = 0; /* the last t with log_sigmas[t] <= log_sigma */
  for (int32_t t = 0; t < T; t++)
    if (log_sigma - log_sigmas[t] >= 0.0) low = t;
  if (low > T - 2) low = T - 2;
  const double below = log_sigmas[low], above = log_sigmas[low + 1];
  double w = (below - log_sigma) / (below - above);
  w = fmin(fmax(w, 0.0), 1.0);
  return (1.0 - w) * low + w * (low + 1);
}

/* Karras et al. 2022, eq. 5: sigma_i = (sigma_max^(1/rho) + i / (n - 1)
 * (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, i = 0 .. n - 1, between
 * the schedule's own extreme sigmas; then sigma = 0. */
static bool karras_levels(const DmSchedule *schedule, int32_t steps,
                          DmLevel *levels, GError **error) {
  const int32_t T = schedule->num_train_timesteps;
  float *log_sigmas = g_try_new(float, T);
  if (log_sigmas == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %d noise levels", T);
    return false;
  }
  for (int32_t t = 0; t < T; t++)
    log_sigmas[t] = (float)log(timestep_level(schedule, t).sigma);
  const double lowest = timestep_level(schedule, 0).sigma;
  const double highest = timestep_level(schedule, T - 1).sigma;
  const double max_inv_rho = pow(highest, 1.0 / KARRAS_RHO);
  const double min_inv_rho = pow(lowest, 1.0 / KARRAS_RHO);
  for (int32_t i = 0; i < steps; i++) {
    /* numpy's linspace(0, 1, steps): i * (1 / (steps - 1)), the last 1 */
    const double ramp = i == steps - 1 && steps > 1
                            ? 1.0 : i * (steps > 1 ? 1.0 / (steps - 1) : 0.0);
    const double sigma =
        pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), KARRAS_RHO);
    const double t = rint(sigma_to_timestep(sigma, log_sigmas, T));
    levels[i] = sigma_level((float)sigma, (int32_t)t);
  }
  g_free(log_sigmas);
  return true;
}

/* LCM's timesteps (Luo et al. 2023, §4.3's skipping step k = T / n_lcm):
 * the schedule t_i = (i + 1) k - 1, i = 0 .. n_lcm - 1, read from the
 * noisy end at the indices floor(j n_lcm / steps), j = 0 .. steps - 1
 * (numpy's linspace(0, n_lcm, steps, endpoint=False), floored). */
static void lcm_timesteps(const DmScheduleConfig *config, int32_t steps,
                          int32_t *timesteps) {
  const int32_t n = dm_lcm_max_steps(config);
  const int32_t k = config->num_train_timesteps / n;
  const double stride = (double)n / steps;
  for (int32_t j = 0; j < steps; j++) {
    const int32_t index = (int32_t)floor(j * stride);
    timesteps[j] = (n - index) * k - 1;
  }
}

/* Checks what dm_sampler_levels needs before it builds anything. */
static bool check_levels_args(const DmScheduleConfig *config,
                              const DmSchedule *schedule, DmSampler sampler,
                              int32_t steps, GError **error) {
  if (!dm_schedule_config_check(config, DM_ERROR_INVALID_ARGUMENT, error))
    return false;
  if (schedule->num_train_timesteps != config->num_train_timesteps) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the schedule has %d timesteps, the config %d",
                schedule->num_train_timesteps, config->num_train_timesteps);
    return false;
  }
  if (sampler == DM_SAMPLER_DPMPP_2M_KARRAS &&
      config->num_train_timesteps < 2) {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        "dpmpp-2m-karras needs a schedule of at least 2 "
                        "training timesteps");
    return false;
  }
  const int32_t most = sampler == DM_SAMPLER_LCM
                           ? dm_lcm_max_steps(config)
                           : config->num_train_timesteps;
  if (steps < 1 || steps > most) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                sampler == DM_SAMPLER_LCM
                    ? "steps %d: lcm runs 1 to %d steps (the LCM "
                      "distillation's schedule)"
                    : "steps %d is out of range 1..%d (the model's "
                      "training timesteps)",
                steps, most);
    return false;
  }
  return true;
}

bool dm_sampler_levels(const DmScheduleConfig *config,
                       const DmSchedule *schedule, DmSampler sampler,
                       int32_t steps, DmLevel *levels, GError **error) {
  if (!check_levels_args(config, schedule, sampler, steps, error))
    return false;
  levels[steps] = clean_level;
  if (sampler == DM_SAMPLER_DPMPP_2M_KARRAS)
    return karras_levels(schedule, steps, levels, error);
  int32_t *timesteps = g_new(int32_t, steps);
  bool ok = true;
  if (sampler == DM_SAMPLER_LCM)
    lcm_timesteps(config, steps, timesteps);
  else
    ok = dm_schedule_timesteps(config, steps, timesteps, error);
  for (int32_t k = 0; ok && k < steps; k++)
    levels[k] = timestep_level(schedule, timesteps[k]);
  g_free(timesteps);
  return ok;
}
