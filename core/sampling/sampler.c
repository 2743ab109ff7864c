/* gimp-diffusion core: the sampling loop, one interface for every sampler,
 * and inpainting as a replacement step applied between sampler steps.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Randomness: every normal deviate comes from Philox(seed, stream, index)
 * (rng.h), with index = sub << 48 | channel << 40 | Y << 20 | X for the
 * element at absolute pixel (X, Y) of the image (DmSampleGrid), so a pixel's
 * noise does not depend on the window it is sampled in. Stream 0 is the
 * initial noise x_T and stream 1 the noise of the first replacement; the
 * c-th move of the run (0-based; a step down or a RePaint jump up) draws
 * from stream 2c + 2 (its j-th draw has sub = j), the replacement after a
 * step down from stream 2c + 3, sub 0, and the replacement after its j-th
 * Langevin correction from sub j + 1. So a pixel's result depends only on
 * the seed, the options and the network's outputs, never on threads; the
 * one exception to window independence is pc's corrector, whose step size
 * uses norms over the whole window (Song et al. 2021, Alg. 5). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/discrete.h"
#include "sampling/levels.h"
#include "sampling/sampling.h"
#include "sampling/sigma-steps.h"
#include "tensor/rng.h"

/* Grid limits of the noise index layout above. */
#define DM_GRID_MAX_CHANNELS 255
#define DM_GRID_MAX_COORDINATE (1 << 20)

/* Marks the descriptions for the translators' catalogue (po/): core keeps
 * them in English, the plug-in shows them translated. */
#define N_(text) text

static const struct {
  const char *name;
  const char *description;
} sampler_table[DM_SAMPLER_COUNT] = {
    [DM_SAMPLER_DDPM] = {"ddpm", N_("Ancestral DDPM: stochastic, best with "
                                    "hundreds of steps (Ho et al. 2020)")},
    [DM_SAMPLER_DDIM] = {"ddim", N_("DDIM: deterministic at eta 0, good in "
                                    "25-50 steps (Song et al. 2020)")},
    [DM_SAMPLER_SDE] = {"sde", N_("Reverse-time SDE by Euler-Maruyama: "
                                  "stochastic, needs many steps")},
    [DM_SAMPLER_PC] = {"pc", N_("Predictor-corrector: reverse SDE plus "
                                "Langevin correction at each level")},
    [DM_SAMPLER_ODE] = {"ode", N_("Probability-flow ODE with Heun's method: "
                                  "deterministic, two evaluations a step")},
    [DM_SAMPLER_LANGEVIN] = {"langevin", N_("Annealed Langevin dynamics over "
                                            "the noise levels (Song & Ermon)")},
    [DM_SAMPLER_EULER] = {"euler", N_("Euler: deterministic, one evaluation "
                                      "a step, good in 20-50 steps")},
    [DM_SAMPLER_EULER_ANCESTRAL] = {"euler-ancestral",
        N_("Euler ancestral: fresh noise at each step, more varied, good in "
           "20-50 steps")},
    [DM_SAMPLER_DPMPP_2M_KARRAS] = {"dpmpp-2m-karras",
        N_("DPM++ 2M with Karras noise levels: deterministic, good in 15-30 "
           "steps (Lu et al. 2022)")},
    [DM_SAMPLER_LCM] = {"lcm", N_("LCM: for latent consistency (LCM) models "
                                  "only, 2-8 steps, at most 50")},
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

bool dm_sample_starts_from_image(const DmSampleOptions *options) {
  return options->strength > 0.0f && options->strength < 1.0f;
}

/* The grid position sampling starts at: 0, or with a strength s < 1 the
 * first of the last max(1, floor(s * steps)) positions (diffusers' img2img
 * arithmetic). */
static int32_t first_position(const DmSampleOptions *o) {
  if (!dm_sample_starts_from_image(o)) return 0;
  const int32_t run = (int32_t)((double)o->strength * o->steps);
  return o->steps - (run < 1 ? 1 : run);
}

/* Whether RePaint jumps back up after reaching grid position k (never to
 * before the start). */
static bool is_jump_point(const DmSampleOptions *o, int32_t k) {
  return o->jump_length > 0 && o->jump_repeats > 1 && k < o->steps &&
         k % o->jump_length == 0 && k - o->jump_length >= first_position(o);
}

/* Network evaluations of the step from grid position k to k + 1. */
static int32_t step_evaluations(const DmSampleOptions *o, int32_t k) {
  const bool last = k == o->steps - 1;
  switch (o->sampler) {
  case DM_SAMPLER_PC: return o->corrector_steps + 1;
  case DM_SAMPLER_ODE: return last ? 1 : 2;
  case DM_SAMPLER_LANGEVIN: return o->corrector_steps + (last ? 1 : 0);
  default: return 1;
  }
}

/* Runs needing more network evaluations than this are refused as absurd
 * (days of work even for the smallest model). */
#define DM_MAX_EVALUATIONS 10000000

/* The same walk as run_steps, counting evaluations (in 64 bits: steps,
 * repeats and corrector steps multiply). */
static int64_t count_evaluations(const DmSampleOptions *options) {
  int64_t total = 0;
  const int32_t first = first_position(options);
  for (int32_t k = first; k < options->steps; k++)
    total += step_evaluations(options, k);
  for (int32_t k = first + 1; k < options->steps; k++)
    if (is_jump_point(options, k))
      for (int32_t back = k - options->jump_length; back < k; back++)
        total += (int64_t)(options->jump_repeats - 1) *
                 step_evaluations(options, back);
  return total;
}

int32_t dm_sample_evaluations(const DmSampleOptions *options) {
  const int64_t total = count_evaluations(options);
  return total > INT32_MAX ? INT32_MAX : (int32_t)total;
}

/* Whether the grid is non-empty and fits the noise index layout. */
static bool grid_fits(const DmSampleGrid *g) {
  return g->channels >= 1 && g->channels <= DM_GRID_MAX_CHANNELS &&
         g->height >= 1 && g->width >= 1 && g->origin_x >= 0 &&
         g->origin_y >= 0 &&
         (int64_t)g->origin_x + g->width <= DM_GRID_MAX_COORDINATE &&
         (int64_t)g->origin_y + g->height <= DM_GRID_MAX_COORDINATE;
}

/* The options the run uses, against the table's ranges (options.c): the
 * sampler first, then the options the table says it reads (eta only
 * DDIM, snr and corrector steps only the samplers with a corrector), so
 * that a zeroed struct with the fields a sampler reads set is valid. */
static bool check_options(const DmSampleOptions *o,
                          const DmScheduleConfig *config,
                          const DmSampleGrid *grid, GError **error) {
  static const DmOption sampling[] = {
      DM_OPTION_SAMPLER, DM_OPTION_STEPS, DM_OPTION_SEED,
      DM_OPTION_STRENGTH, DM_OPTION_GUIDANCE_SCALE, DM_OPTION_JUMP_LENGTH,
      DM_OPTION_JUMP_REPEATS, DM_OPTION_ETA, DM_OPTION_SNR,
      DM_OPTION_CORRECTOR_STEPS};
  for (size_t i = 0; i < G_N_ELEMENTS(sampling); i++)
    if (dm_option_read_by(sampling[i], o->sampler) &&
        !dm_option_check(sampling[i], dm_option_get(sampling[i], o, NULL),
                         error))
      return false;
  if (o->steps > config->num_train_timesteps) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "steps %d is more than the model's %d training timesteps",
                o->steps, config->num_train_timesteps);
    return false;
  }
  const char *problem =
      !grid_fits(grid)
          ? "the sample grid is empty or too large (channels 1 .. 255, "
            "origin + size up to 2^20 pixels a side)"
      : count_evaluations(o) > DM_MAX_EVALUATIONS
          ? "these options need more than 10 million network evaluations"
          : NULL;
  if (problem != NULL)
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT, problem);
  return problem == NULL;
}

/* The state of one run; buffers of `count` floats. */
typedef struct {
  const DmScheduleConfig *config;
  const DmSampleOptions *options;
  DmSchedule *schedule;
  int32_t *timesteps;   /* (steps), descending */
  DmDenoiseFunc denoise;
  void *denoise_data;
  const DmInpaint *inpaint; /* or NULL */
  const DmSampleGrid *grid;
  DmLevel *levels;      /* (steps + 1): the grid's noise levels */
  float *previous_x0;   /* (count), dpmpp-2m-karras: the last step's x0
                         * estimate, made at grid position previous_k */
  int32_t previous_k;   /* -1: none (no step yet, or a RePaint jump since) */
  float *model_output;  /* (count) */
  float *noise;         /* (count) */
  float *scratch;       /* (count) */
  float *network_input; /* (count), VE models: x in their own variable */
  size_t count;
  DmProgressFunc progress; /* or NULL */
  void *progress_data;
  int32_t done, total;  /* network evaluations */
} Run;

/* out (count) = the network's output for x at timestep t; then reports
 * progress, and a `false` from it cancels. x is the VP view; a VE network
 * gets its own variable x / sqrt(alpha_bar_t) = x0 + sigma_t z. */
static bool evaluate(Run *run, float *out, const float *x, int32_t t,
                     GError **error) {
  if (run->config->sde == DM_SDE_VE) {
    const float to_ve = 1.0f / sqrtf(run->schedule->alphas_cumprod[t]);
    for (size_t i = 0; i < run->count; i++)
      run->network_input[i] = x[i] * to_ve;
    x = run->network_input;
  }
  if (!run->denoise(out, x, (float)t, run->denoise_data, error)) return false;
  run->done++;
  if (run->progress && !run->progress(run->done, run->total, run->progress_data)) {
    g_set_error(error, DM_ERROR, DM_ERROR_CANCELLED, "cancelled after %d of "
                "%d network evaluations", run->done, run->total);
    return false;
  }
  return true;
}

/* z (count) ~ N(0, I): draw `sub` of `stream`, row by row at the absolute
 * pixel positions of the grid (rows in parallel: each value is a pure
 * function of its index). */
static void draw_noise(Run *run, float *z, uint64_t stream, uint64_t sub) {
  const DmSampleGrid *g = run->grid;
  const int64_t rows = (int64_t)g->channels * g->height;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    const uint64_t channel = (uint64_t)(row / g->height);
    const uint64_t y = (uint64_t)(row % g->height + g->origin_y);
    const uint64_t first = sub << 48 | channel << 40 | y << 20 |
                           (uint64_t)g->origin_x;
    dm_rng_normal_fill(z + row * g->width, (size_t)g->width,
                       run->options->seed, stream, first);
  }
}

/* Replacement (Lugmayr et al. 2022, eq. 8): x = m x + (1 - m) x_known,
 * with x_known = sqrt(ab) known + sqrt(1 - ab) z, the known image at the
 * noise level alpha_bar that x has now (z from `stream`). */
static void replace_known(Run *run, float *x, const DmInpaint *inpaint,
                          float alpha_bar, uint64_t stream, uint64_t sub) {
  draw_noise(run, run->noise, stream, sub);
  dm_add_noise(run->noise, inpaint->known, run->noise, run->count, alpha_bar);
  for (size_t i = 0; i < run->count; i++) {
    const float m = inpaint->mask[i];
    x[i] = m * x[i] + (1.0f - m) * run->noise[i];
  }
}

/* alpha_bar at grid position k: that of timesteps[k] (dpmpp-2m-karras:
 * of its sigma), or 1 at the clean end. */
static float level(const Run *run, int32_t k) {
  return run->levels[k].alpha_bar;
}

/* eps (count) at grid position k from the network's output, whatever it
 * predicts (x = sqrt(ab) x0 + sqrt(1 - ab) eps; v = sqrt(ab) eps -
 * sqrt(1 - ab) x0, Salimans & Ho 2022). When the scheduler config asks for
 * clip_sample, eps is that of the denoised estimate x0 clipped to
 * [-range, range], as DDPM and DDIM clip it (Ho et al. 2020's sampler
 * clips x0 to the data range); without it an imperfect network's drift
 * can carry the continuous samplers far outside the data range. */
static bool epsilon_at(Run *run, float *eps, const float *x, int32_t k,
                       GError **error) {
  if (!evaluate(run, eps, x, run->timesteps[k], error)) return false;
  const float a = run->levels[k].a, b = run->levels[k].b;
  if (run->config->prediction_type == DM_PREDICT_V)
    for (size_t i = 0; i < run->count; i++) eps[i] = a * eps[i] + b * x[i];
  else if (run->config->prediction_type == DM_PREDICT_SAMPLE)
    for (size_t i = 0; i < run->count; i++) eps[i] = (x[i] - a * eps[i]) / b;
  if (run->config->clip_sample) {
    const float range = run->config->clip_sample_range;
    for (size_t i = 0; i < run->count; i++) {
      const float x0 = fminf(fmaxf((x[i] - b * eps[i]) / a, -range), range);
      eps[i] = (x[i] - a * x0) / b;
    }
  }
  return true;
}

/* DDPM or DDIM from grid position k with diffusers' step arithmetic;
 * *landing = the alpha_bar x has afterwards. */
static bool discrete_step(Run *run, float *x, int32_t k, uint64_t stream,
                          float *landing, GError **error) {
  const DmSampleOptions *o = run->options;
  const int32_t t = run->timesteps[k];
  if (!evaluate(run, run->model_output, x, t, error)) return false;
  draw_noise(run, run->noise, stream, 0);
  int32_t prev_t;
  bool ok;
  if (o->sampler == DM_SAMPLER_DDPM) {
    prev_t = dm_ddpm_prev_timestep(run->timesteps, o->steps, k);
    ok = dm_ddpm_step(x, NULL, run->config, run->schedule, t, prev_t,
                      run->model_output, x, run->noise, run->count, error);
    *landing = prev_t >= 0 ? run->schedule->alphas_cumprod[prev_t] : 1.0f;
  } else {
    prev_t = dm_ddim_prev_timestep(run->config, o->steps, t);
    ok = dm_ddim_step(x, NULL, run->config, run->schedule, t, prev_t, o->eta,
                      run->model_output, x, run->noise, run->count, error);
    *landing = prev_t >= 0 ? run->schedule->alphas_cumprod[prev_t]
                           : dm_ddim_final_alpha_bar(run->config, run->schedule);
  }
  return ok;
}

/* sigma of the VE view at alpha_bar: sqrt((1 - ab) / ab). */
static float ve_sigma(float alpha_bar) {
  return sqrtf((1.0f - alpha_bar) / alpha_bar);
}

/* Reverse VP-SDE by Euler-Maruyama (Song et al. 2021, eq. 6 with the VP
 * drift f = -beta x / 2 and g^2 = beta, their eq. 11), on the grid:
 * beta_k = 1 - ab_k / ab_{k+1}, score s = -eps / sqrt(1 - ab_k),
 *   x <- x + (beta x / 2 + beta s) + sqrt(beta) z;
 * for VE models the reverse VE-SDE (their eq. 9 discretised as in Alg. 2's
 * predictor) in the VE variable y = x / sqrt(ab), with s = -eps / sigma_k:
 *   y <- y + (sigma_k^2 - sigma_{k+1}^2) s + sqrt(sigma_k^2 - sigma_{k+1}^2) z.
 * The last step goes without noise (its mean, as Song et al.'s samplers
 * end). */
static bool sde_step(Run *run, float *x, int32_t k, uint64_t stream,
                     uint64_t sub, GError **error) {
  const float alpha_bar = level(run, k), alpha_bar_next = level(run, k + 1);
  const bool last = k == run->options->steps - 1;
  if (!epsilon_at(run, run->model_output, x, k, error)) return false;
  if (!last) draw_noise(run, run->noise, stream, sub);
  const float *eps = run->model_output, *z = run->noise;
  if (run->config->sde == DM_SDE_VE) {
    const float sigma = ve_sigma(alpha_bar);
    const float variance = sigma * sigma - (1.0f - alpha_bar_next) / alpha_bar_next;
    const float to_ve = 1.0f / sqrtf(alpha_bar), to_vp = sqrtf(alpha_bar_next);
    const float noise_scale = last ? 0.0f : sqrtf(variance);
    for (size_t i = 0; i < run->count; i++)
      x[i] = (x[i] * to_ve - variance * eps[i] / sigma +
              (last ? 0.0f : noise_scale * z[i])) * to_vp;
    return true;
  }
  const float beta = 1.0f - alpha_bar / alpha_bar_next;
  const float score_scale = -1.0f / sqrtf(1.0f - alpha_bar);
  const float noise_scale = last ? 0.0f : sqrtf(beta);
  for (size_t i = 0; i < run->count; i++)
    x[i] += 0.5f * beta * x[i] + beta * score_scale * eps[i] +
            (last ? 0.0f : noise_scale * z[i]);
  return true;
}

/* sqrt(sum v_i^2) in double. */
static double norm(const float *v, size_t count) {
  double sum = 0.0;
  for (size_t i = 0; i < count; i++) sum += (double)v[i] * v[i];
  return sqrt(sum);
}

/* Langevin corrector at grid position k (Song et al. 2021, Alg. 5, VP):
 * step = 2 alpha (r |z| / |s|)^2 with alpha = 1 - beta_k,
 *   x <- x + step s + sqrt(2 step) z;
 * for VE models Alg. 4, which is the same with alpha = 1 (in the VE
 * variable the score and the noise scale by 1 / sqrt(ab) and sqrt(ab)
 * cancel in the step);
 * then the known pixels are replaced at this level. */
static bool corrector_step(Run *run, float *x, int32_t k, uint64_t stream,
                           uint64_t sub, GError **error) {
  const float alpha_bar = level(run, k);
  const float alpha = run->config->sde == DM_SDE_VE
                          ? 1.0f : alpha_bar / level(run, k + 1);
  if (!epsilon_at(run, run->model_output, x, k, error)) return false;
  float *score = run->model_output;
  const float score_scale = -1.0f / sqrtf(1.0f - alpha_bar);
  for (size_t i = 0; i < run->count; i++) score[i] *= score_scale;
  draw_noise(run, run->noise, stream, sub);
  const double ratio = run->options->snr * norm(run->noise, run->count) /
                       norm(score, run->count);
  const float step = (float)(2.0 * alpha * ratio * ratio);
  const float noise_scale = sqrtf(2.0f * step);
  for (size_t i = 0; i < run->count; i++)
    x[i] += step * score[i] + noise_scale * run->noise[i];
  if (run->inpaint)
    replace_known(run, x, run->inpaint, alpha_bar, stream + 1, sub + 1);
  return true;
}

/* Predictor-corrector (Song et al. 2021, Alg. 3): corrector_steps Langevin
 * steps at level k, then the reverse-SDE predictor to level k + 1. */
static bool pc_step(Run *run, float *x, int32_t k, uint64_t stream,
                    GError **error) {
  const int32_t corrections = run->options->corrector_steps;
  for (int32_t j = 0; j < corrections; j++)
    if (!corrector_step(run, x, k, stream, (uint64_t)j, error)) return false;
  return sde_step(run, x, k, stream, (uint64_t)corrections, error);
}

/* Probability-flow ODE (Song et al. 2021, eq. 13) in the VE variable
 * y = x / sqrt(ab), where it reads dy/dsigma = eps(y, sigma) (Karras et al.
 * 2022, eq. 4 with their denoiser written through eps); Heun's second-order
 * step, Euler on the last step to sigma = 0. */
static bool ode_step(Run *run, float *x, int32_t k, GError **error) {
  const float alpha_bar = level(run, k), alpha_bar_next = level(run, k + 1);
  const float h = ve_sigma(alpha_bar_next) - ve_sigma(alpha_bar);
  const float to_ve = 1.0f / sqrtf(alpha_bar), to_vp = sqrtf(alpha_bar_next);
  float *slope = run->model_output, *euler = run->scratch;
  if (!epsilon_at(run, slope, x, k, error)) return false;
  for (size_t i = 0; i < run->count; i++)
    euler[i] = (x[i] * to_ve + h * slope[i]) * to_vp;
  if (k == run->options->steps - 1) {
    memcpy(x, euler, run->count * sizeof(float));
    return true;
  }
  float *slope_next = run->noise;
  if (!epsilon_at(run, slope_next, euler, k + 1, error)) return false;
  for (size_t i = 0; i < run->count; i++)
    x[i] = (x[i] * to_ve + 0.5f * h * (slope[i] + slope_next[i])) * to_vp;
  return true;
}

/* Annealed Langevin dynamics (Song & Ermon 2019, Alg. 1) in the VE
 * variable at sigma_k: corrector_steps updates
 *   y <- y + (a / 2) s + sqrt(a) z,  s = -eps / sigma_k,
 * with a = 2 (r sigma_k)^2 (their a_i = e sigma_i^2 / sigma_L^2, written
 * through the signal-to-noise ratio r as in Song et al. 2021, App. G),
 * then on to sigma_{k+1} with y unchanged; after the last level, the
 * denoised mean y - sigma eps (Tweedie's formula). */
static bool langevin_step(Run *run, float *x, int32_t k, uint64_t stream,
                          GError **error) {
  const float alpha_bar = level(run, k), sigma = ve_sigma(alpha_bar);
  const float a = 2.0f * (run->options->snr * sigma) * (run->options->snr * sigma);
  const float to_vp = sqrtf(alpha_bar);
  for (int32_t j = 0; j < run->options->corrector_steps; j++) {
    if (!epsilon_at(run, run->model_output, x, k, error)) return false;
    draw_noise(run, run->noise, stream, (uint64_t)j);
    for (size_t i = 0; i < run->count; i++)
      x[i] += to_vp * (-0.5f * a * run->model_output[i] / sigma +
                       sqrtf(a) * run->noise[i]);
    if (run->inpaint)
      replace_known(run, x, run->inpaint, alpha_bar, stream + 1, (uint64_t)j + 1);
  }
  if (k < run->options->steps - 1) {
    const float rescale = sqrtf(level(run, k + 1) / alpha_bar);
    for (size_t i = 0; i < run->count; i++) x[i] *= rescale;
    return true;
  }
  if (!epsilon_at(run, run->model_output, x, k, error)) return false;
  for (size_t i = 0; i < run->count; i++)
    x[i] = x[i] / to_vp - sigma * run->model_output[i];
  return true;
}

/* Euler, or with `ancestral` Euler ancestral (noise: sub 0 of `stream`),
 * from grid position k to k + 1 (sigma-steps.h). */
static bool euler_step(Run *run, float *x, int32_t k, uint64_t stream,
                       bool ancestral, GError **error) {
  const DmLevel *from = &run->levels[k];
  if (!evaluate(run, run->model_output, x, from->timestep, error))
    return false;
  if (ancestral) draw_noise(run, run->noise, stream, 0);
  dm_euler_step(x, run->config, from, from + 1, run->model_output,
                ancestral ? run->noise : NULL, run->count);
  return true;
}

/* DPM-Solver++(2M) from grid position k: second order when the previous
 * step's x0 estimate came from position k - 1 and this is not the step to
 * the clean end (diffusers' lower_order_final with final sigma 0). */
static bool dpmpp_step(Run *run, float *x, int32_t k, GError **error) {
  const DmLevel *from = &run->levels[k];
  if (!evaluate(run, run->model_output, x, from->timestep, error))
    return false;
  const bool second = run->previous_k == k - 1 && k < run->options->steps - 1;
  float *x0 = run->scratch;
  dm_dpmpp_2m_step(x, x0, run->config, second ? from - 1 : NULL,
                   second ? run->previous_x0 : NULL, from, from + 1,
                   run->model_output, run->count);
  run->scratch = run->previous_x0; /* keep x0 for the next step */
  run->previous_x0 = x0;
  run->previous_k = k;
  return true;
}

/* LCM from grid position k (noise: sub 0 of `stream`, none on the last
 * step). */
static bool lcm_step(Run *run, float *x, int32_t k, uint64_t stream,
                     GError **error) {
  const DmLevel *from = &run->levels[k];
  if (!evaluate(run, run->model_output, x, from->timestep, error))
    return false;
  const bool last = k == run->options->steps - 1;
  if (!last) draw_noise(run, run->noise, stream, 0);
  dm_lcm_step(x, run->config, from, from + 1, run->model_output,
              last ? NULL : run->noise, run->count);
  return true;
}

/* One step of the chosen sampler from grid position k; *landing = the
 * alpha_bar of x afterwards. Streams 2 * move + 2 and + 3 are its own. */
static bool take_step(Run *run, float *x, int32_t k, uint64_t stream,
                      float *landing, GError **error) {
  *landing = level(run, k + 1);
  switch (run->options->sampler) {
  case DM_SAMPLER_SDE: return sde_step(run, x, k, stream, 0, error);
  case DM_SAMPLER_PC: return pc_step(run, x, k, stream, error);
  case DM_SAMPLER_ODE: return ode_step(run, x, k, error);
  case DM_SAMPLER_LANGEVIN: return langevin_step(run, x, k, stream, error);
  case DM_SAMPLER_EULER: return euler_step(run, x, k, stream, false, error);
  case DM_SAMPLER_EULER_ANCESTRAL:
    return euler_step(run, x, k, stream, true, error);
  case DM_SAMPLER_DPMPP_2M_KARRAS: return dpmpp_step(run, x, k, error);
  case DM_SAMPLER_LCM: return lcm_step(run, x, k, stream, error);
  default: return discrete_step(run, x, k, stream, landing, error);
  }
}

/* RePaint's jump back up (Lugmayr et al. 2022, Alg. 1 line 9, over several
 * steps at once): x at level alpha_bar_to from x at alpha_bar_from by the
 * forward process, sqrt(ratio) x + sqrt(1 - ratio) z (Ho et al. eq. 4). */
static void renoise(Run *run, float *x, float alpha_bar_from,
                    float alpha_bar_to, uint64_t stream) {
  draw_noise(run, run->noise, stream, 0);
  dm_add_noise(x, x, run->noise, run->count, alpha_bar_to / alpha_bar_from);
}

/* Walks the grid positions k = 0 .. steps: a step down moves k to k + 1;
 * at a RePaint jump point it goes back up jump_length positions, until the
 * point's repeats are used up. */
static bool run_steps(Run *run, float *x, GError **error) {
  const DmSampleOptions *o = run->options;
  int32_t *repeats_left = g_new(int32_t, o->steps + 1);
  for (int32_t k = 0; k <= o->steps; k++)
    repeats_left[k] = is_jump_point(o, k) ? o->jump_repeats - 1 : 0;
  const int32_t first = first_position(o);
  float alpha_bar = level(run, first);
  if (first == 0) {
    draw_noise(run, x, 0, 0); /* x_T ~ N(0, I) */
  } else { /* x_t from the start image x (Ho et al. 2020, eq. 4) */
    draw_noise(run, run->noise, 0, 0);
    dm_add_noise(x, x, run->noise, run->count, alpha_bar);
  }
  if (run->inpaint) replace_known(run, x, run->inpaint, alpha_bar, 1, 0);
  bool ok = true;
  uint64_t move = 0;
  for (int32_t k = first; ok && k < o->steps; move++) {
    ok = take_step(run, x, k, 2 * move + 2, &alpha_bar, error);
    if (!ok) break;
    if (run->inpaint)
      replace_known(run, x, run->inpaint, alpha_bar, 2 * move + 3, 0);
    k++;
    if (repeats_left[k] > 0) {
      repeats_left[k]--;
      const float alpha_bar_up = level(run, k - o->jump_length);
      renoise(run, x, alpha_bar, alpha_bar_up, 2 * ++move + 2);
      alpha_bar = alpha_bar_up;
      k -= o->jump_length;
      run->previous_k = -1; /* x0 estimates from before the jump are stale */
    }
  }
  g_free(repeats_left);
  return ok;
}

/* The run's schedule, noise levels and buffers (released by clear_run,
 * also after a failure). */
static bool prepare_run(Run *run, GError **error) {
  const DmSampleOptions *o = run->options;
  const size_t bytes = run->count * sizeof(float);
  run->schedule = dm_schedule_new(run->config, error);
  if (run->schedule == NULL) return false;
  run->levels = g_new(DmLevel, o->steps + 1);
  run->timesteps = g_new(int32_t, o->steps);
  if (!dm_sampler_levels(run->config, run->schedule, o->sampler, o->steps,
                         run->levels, error))
    return false;
  for (int32_t k = 0; k < o->steps; k++)
    run->timesteps[k] = run->levels[k].timestep;
  run->previous_k = -1;
  run->model_output = malloc(bytes);
  run->noise = malloc(bytes);
  run->scratch = malloc(bytes);
  const bool ve = run->config->sde == DM_SDE_VE;
  const bool multistep = o->sampler == DM_SAMPLER_DPMPP_2M_KARRAS;
  run->network_input = ve ? malloc(bytes) : NULL;
  run->previous_x0 = multistep ? malloc(bytes) : NULL;
  const bool ok = run->model_output && run->noise && run->scratch &&
                  (!ve || run->network_input) &&
                  (!multistep || run->previous_x0);
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %zu sample values", run->count);
  return ok;
}

static void clear_run(Run *run) {
  free(run->model_output);
  free(run->noise);
  free(run->scratch);
  free(run->network_input);
  free(run->previous_x0);
  g_free(run->timesteps);
  g_free(run->levels);
  dm_schedule_free(run->schedule);
}

bool dm_sample(float *x, const DmSampleGrid *grid,
               const DmScheduleConfig *config, const DmSampleOptions *options,
               DmDenoiseFunc denoise, void *denoise_data,
               const DmInpaint *inpaint, DmProgressFunc progress,
               void *progress_data, GError **error) {
  if (!check_options(options, config, grid, error)) return false;
  const size_t count = (size_t)grid->channels * grid->height * grid->width;
  Run run = {.config = config, .options = options, .denoise = denoise,
             .denoise_data = denoise_data, .inpaint = inpaint, .grid = grid,
             .count = count,
             .progress = progress, .progress_data = progress_data,
             .total = dm_sample_evaluations(options)};
  bool ok = prepare_run(&run, error) && run_steps(&run, x, error);
  /* The known pixels come back exactly, whatever the last step did. */
  for (size_t i = 0; ok && inpaint && i < count; i++)
    if (inpaint->mask[i] == 0.0f) x[i] = inpaint->known[i];
  clear_run(&run);
  return ok;
}
