/* gimp-diffusion core: the sampling loop, one interface for every sampler,
 * and inpainting as a replacement step applied between sampler steps.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Randomness: every normal deviate comes from Philox(seed, stream, index)
 * (rng.h), with index = the element's position in x. Stream 0 is the
 * initial noise x_T and stream 1 the noise of the first replacement; the
 * c-th move of the run (0-based; a step down or a RePaint jump up) draws
 * from stream 2c + 2, and the replacement after a step down from 2c + 3.
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

/* Whether RePaint jumps back up after reaching grid position k. */
static bool is_jump_point(const DmSampleOptions *o, int32_t k) {
  return o->jump_length > 0 && o->jump_repeats > 1 && k < o->steps &&
         k % o->jump_length == 0 && k >= o->jump_length;
}

int32_t dm_sample_evaluations(const DmSampleOptions *options) {
  int32_t total = options->steps;
  for (int32_t k = 1; k < options->steps; k++)
    if (is_jump_point(options, k))
      total += (options->jump_repeats - 1) * options->jump_length;
  return total;
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
  else if (o->jump_length < 0 || o->jump_length > 1000 ||
           o->jump_repeats < 0 || o->jump_repeats > 1000)
    problem = "jump length and repeats must be between 0 and 1000";
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

/* One step from grid position i: the network at timesteps[i], then
 * x_t -> x_{prev_t}, with noise from `stream`. */
static bool take_step(Run *run, float *x, int32_t i, uint64_t stream,
                      DmDenoiseFunc denoise, void *denoise_data,
                      int32_t *prev_t, GError **error) {
  const DmSampleOptions *o = run->options;
  const int32_t t = run->timesteps[i];
  if (!denoise(run->model_output, x, (float)t, denoise_data, error))
    return false;
  dm_rng_normal_fill(run->noise, run->count, o->seed, stream, 0);
  if (o->sampler == DM_SAMPLER_DDPM) {
    *prev_t = dm_ddpm_prev_timestep(run->timesteps, o->steps, i);
    return dm_ddpm_step(x, NULL, run->config, run->schedule, t, *prev_t,
                        run->model_output, x, run->noise, run->count, error);
  }
  *prev_t = dm_ddim_prev_timestep(run->config, o->steps, t);
  return dm_ddim_step(x, NULL, run->config, run->schedule, t, *prev_t, o->eta,
                      run->model_output, x, run->noise, run->count, error);
}

/* RePaint's jump back up (Lugmayr et al. 2022, Alg. 1 line 9, over several
 * steps at once): x at level alpha_bar_to from x at alpha_bar_from by the
 * forward process, sqrt(ratio) x + sqrt(1 - ratio) z (Ho et al. eq. 4). */
static void renoise(Run *run, float *x, float alpha_bar_from,
                    float alpha_bar_to, uint64_t stream) {
  dm_rng_normal_fill(run->noise, run->count, run->options->seed, stream, 0);
  dm_add_noise(x, x, run->noise, run->count, alpha_bar_to / alpha_bar_from);
}

/* Walks the grid positions k = 0 .. steps: a step down moves k to k + 1;
 * at a RePaint jump point it goes back up jump_length positions, until the
 * point's repeats are used up. */
static bool run_steps(Run *run, float *x, DmDenoiseFunc denoise,
                      void *denoise_data, const DmInpaint *inpaint,
                      DmProgressFunc progress, void *progress_data,
                      GError **error) {
  const DmSampleOptions *o = run->options;
  const float *alphas_cumprod = run->schedule->alphas_cumprod;
  const int32_t total = dm_sample_evaluations(o);
  int32_t *repeats_left = g_new(int32_t, o->steps + 1);
  for (int32_t k = 0; k <= o->steps; k++)
    repeats_left[k] = is_jump_point(o, k) ? o->jump_repeats - 1 : 0;
  dm_rng_normal_fill(x, run->count, o->seed, 0, 0); /* x_T ~ N(0, I) */
  float alpha_bar = alphas_cumprod[run->timesteps[0]];
  if (inpaint) replace_known(run, x, inpaint, alpha_bar, 1);
  bool ok = true;
  uint64_t move = 0;
  for (int32_t k = 0, done = 0; ok && k < o->steps; move++) {
    int32_t prev_t = -1;
    ok = take_step(run, x, k, 2 * move + 2, denoise, denoise_data, &prev_t,
                   error);
    if (!ok) break;
    alpha_bar = landing_alpha_bar(run, prev_t);
    if (inpaint) replace_known(run, x, inpaint, alpha_bar, 2 * move + 3);
    k++, done++;
    if (progress && !progress(done, total, progress_data)) {
      g_set_error(error, DM_ERROR, DM_ERROR_CANCELLED, "cancelled after %d "
                  "of %d network evaluations", done, total);
      ok = false;
    }
    if (ok && repeats_left[k] > 0) {
      repeats_left[k]--;
      const float alpha_bar_up = alphas_cumprod[run->timesteps[k - o->jump_length]];
      renoise(run, x, alpha_bar, alpha_bar_up, 2 * ++move + 2);
      alpha_bar = alpha_bar_up;
      k -= o->jump_length;
    }
  }
  g_free(repeats_left);
  return ok;
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
