/* gimp-diffusion core: the sampling loop, one interface for every sampler,
 * and inpainting as a replacement step applied between sampler steps.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Randomness: every normal deviate comes from Philox(seed, stream, index)
 * (rng.h), with index = the element's position in x. Stream 0 is the
 * initial noise x_T and stream 1 the noise of the first replacement; step i
 * (0-based) draws its sampler noise from stream 2i + 2 and the noise that
 * re-noises the known pixels after it from stream 2i + 3.
 * So a result depends only on the seed and the options, never on threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "discrete.h"
#include "dm-private.h"
#include "rng.h"

static const struct {
  const char *name;
  const char *description;
} sampler_table[DM_SAMPLER_COUNT] = {
    [DM_SAMPLER_DDPM] = {"ddpm", "Ancestral DDPM: stochastic, best with "
                                 "hundreds of steps (Ho et al. 2020)"},
    [DM_SAMPLER_DDIM] = {"ddim", "DDIM: deterministic at eta 0, good in "
                                 "25-50 steps (Song et al. 2020)"},
};

const char *dm_sampler_name(DmSampler sampler) {
  return sampler >= 0 && sampler < DM_SAMPLER_COUNT
             ? sampler_table[sampler].name : NULL;
}

const char *dm_sampler_description(DmSampler sampler) {
  return sampler >= 0 && sampler < DM_SAMPLER_COUNT
             ? sampler_table[sampler].description : NULL;
}

bool dm_sampler_from_name(const char *name, DmSampler *out) {
  for (int i = 0; name && i < DM_SAMPLER_COUNT; i++)
    if (strcmp(name, sampler_table[i].name) == 0) {
      *out = (DmSampler)i;
      return true;
    }
  return false;
}

void dm_sample_options_default(DmSampleOptions *options) {
  *options = (DmSampleOptions){.sampler = DM_SAMPLER_DDIM, .steps = 50,
                               .seed = 0, .eta = 0.0f};
}

int32_t dm_sample_evaluations(const DmSampleOptions *options) {
  return options->steps;
}

static bool check_options(const DmSampleOptions *o,
                          const DmScheduleConfig *config, size_t count,
                          GError **error) {
  const char *problem = NULL;
  if (o->sampler < 0 || o->sampler >= DM_SAMPLER_COUNT)
    problem = "unknown sampler";
  else if (o->steps < 1 || o->steps > config->num_train_timesteps)
    problem = "steps must be between 1 and the training length";
  else if (o->sampler == DM_SAMPLER_DDIM && !(o->eta >= 0.0f && o->eta <= 1.0f))
    problem = "eta must be between 0 and 1";
  else if (count == 0)
    problem = "nothing to sample (count is 0)";
  if (problem == NULL) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "%s (sampler %d, steps %d of %d, eta %g)", problem, o->sampler,
              o->steps, config->num_train_timesteps, o->eta);
  return false;
}

/* The state of one run; buffers of `count` floats. */
typedef struct {
  const DmScheduleConfig *config;
  const DmSampleOptions *options;
  DmSchedule *schedule;
  int32_t *timesteps;   /* (steps), descending */
  float *model_output;  /* (count) */
  float *noise;         /* (count) */
  size_t count;
} Run;

/* Replacement (Lugmayr et al. 2022, eq. 8): x = m x + (1 - m) x_known,
 * with x_known = sqrt(ab) known + sqrt(1 - ab) z, the known image at the
 * noise level alpha_bar that x has now (z from `stream`). */
static void replace_known(Run *run, float *x, const DmInpaint *inpaint,
                          float alpha_bar, uint64_t stream) {
  dm_rng_normal_fill(run->noise, run->count, run->options->seed, stream, 0);
  dm_add_noise(run->noise, inpaint->known, run->noise, run->count, alpha_bar);
  for (size_t i = 0; i < run->count; i++) {
    const float m = inpaint->mask[i];
    x[i] = m * x[i] + (1.0f - m) * run->noise[i];
  }
}

/* alpha_bar of the level a step lands on: prev_t, or past the end. */
static float landing_alpha_bar(const Run *run, int32_t prev_t) {
  if (prev_t >= 0) return run->schedule->alphas_cumprod[prev_t];
  return run->options->sampler == DM_SAMPLER_DDIM
             ? dm_ddim_final_alpha_bar(run->config, run->schedule)
             : 1.0f;
}

/* One step i: the network at timesteps[i], then x_t -> x_{prev_t}. */
static bool take_step(Run *run, float *x, int32_t i, DmDenoiseFunc denoise,
                      void *denoise_data, int32_t *prev_t, GError **error) {
  const DmSampleOptions *o = run->options;
  const int32_t t = run->timesteps[i];
  if (!denoise(run->model_output, x, (float)t, denoise_data, error))
    return false;
  dm_rng_normal_fill(run->noise, run->count, o->seed, 2 * (uint64_t)i + 2, 0);
  if (o->sampler == DM_SAMPLER_DDPM) {
    *prev_t = dm_ddpm_prev_timestep(run->timesteps, o->steps, i);
    return dm_ddpm_step(x, NULL, run->config, run->schedule, t, *prev_t,
                        run->model_output, x, run->noise, run->count, error);
  }
  *prev_t = dm_ddim_prev_timestep(run->config, o->steps, t);
  return dm_ddim_step(x, NULL, run->config, run->schedule, t, *prev_t, o->eta,
                      run->model_output, x, run->noise, run->count, error);
}

static bool run_steps(Run *run, float *x, DmDenoiseFunc denoise,
                      void *denoise_data, const DmInpaint *inpaint,
                      DmProgressFunc progress, void *progress_data,
                      GError **error) {
  const DmSampleOptions *o = run->options;
  dm_rng_normal_fill(x, run->count, o->seed, 0, 0); /* x_T ~ N(0, I) */
  if (inpaint)
    replace_known(run, x, inpaint,
                  run->schedule->alphas_cumprod[run->timesteps[0]], 1);
  for (int32_t i = 0; i < o->steps; i++) {
    int32_t prev_t = -1;
    if (!take_step(run, x, i, denoise, denoise_data, &prev_t, error))
      return false;
    if (inpaint)
      replace_known(run, x, inpaint, landing_alpha_bar(run, prev_t),
                    2 * (uint64_t)i + 3);
    if (progress && !progress(i + 1, o->steps, progress_data)) {
      g_set_error(error, DM_ERROR, DM_ERROR_CANCELLED, "cancelled at step %d "
                  "of %d", i + 1, o->steps);
      return false;
    }
  }
  return true;
}

bool dm_sample(float *x, size_t count, const DmScheduleConfig *config,
               const DmSampleOptions *options, DmDenoiseFunc denoise,
               void *denoise_data, const DmInpaint *inpaint,
               DmProgressFunc progress, void *progress_data, GError **error) {
  if (!check_options(options, config, count, error)) return false;
  Run run = {.config = config, .options = options, .count = count};
  run.schedule = dm_schedule_new(config, error);
  if (run.schedule == NULL) return false;
  run.timesteps = g_new(int32_t, options->steps);
  run.model_output = malloc(count * sizeof(float));
  run.noise = malloc(count * sizeof(float));
  bool ok = run.model_output && run.noise;
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %zu sample values", count);
  ok = ok && dm_schedule_timesteps(config, options->steps, run.timesteps, error) &&
       run_steps(&run, x, denoise, denoise_data, inpaint, progress,
                 progress_data, error);
  /* The known pixels come back exactly, whatever the last step did. */
  for (size_t i = 0; ok && inpaint && i < count; i++)
    if (inpaint->mask[i] == 0.0f) x[i] = inpaint->known[i];
  free(run.model_output);
  free(run.noise);
  g_free(run.timesteps);
  dm_schedule_free(run.schedule);
  return ok;
}
