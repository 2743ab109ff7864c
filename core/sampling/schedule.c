/* gimp-diffusion core: the discrete noise schedule — the beta and
 * alpha_bar tables of diffusers' DDPMScheduler / DDIMScheduler and the
 * inference timesteps of set_timesteps().
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reference: huggingface/diffusers 58eb52c (0.40.0.dev0),
 * src/diffusers/schedulers/scheduling_ddpm.py and scheduling_ddim.py, run
 * with torch 2.6 (CPU) and numpy 2.2. The tables are float32 in diffusers by
 * design; every float operation below is the one torch or numpy performs, in
 * the same order, so that the tables come out bit-identical:
 *
 *   linear             betas = torch.linspace(beta_start, beta_end, T, f32)
 *   scaled_linear      betas = torch.linspace(sqrt(beta_start),
 *                                             sqrt(beta_end), T, f32) ** 2
 *   squaredcos_cap_v2  betas = f32(betas_for_alpha_bar(T)), in double:
 *                      beta_i = min(1 - abar((i+1)/T) / abar(i/T), 0.999),
 *                      abar(t) = cos((t + 0.008) / 1.008 * pi / 2) ** 2
 *                      (Nichol & Dhariwal 2021, eq. 17)
 *   alphas_cumprod     = torch.cumprod(1.0 - betas), alpha_bar_t =
 *                      prod_{s<=t} (1 - beta_s) (Ho et al. 2020, sec. 2)
 *
 * Measured against the reference vectors (tests/data/schedulers, made by the
 * code above): all betas and alphas_cumprod tables bit-identical.
 */
#include <math.h>
#include <string.h>

#include "model/json.h"
#include "model/scheduler-config.h"

/* The double a config's float was parsed from: diffusers keeps the
 * config's Python floats in double, and scaled_linear takes their square
 * roots in double before rounding to float32. sqrt(double(f32(0.012))) and
 * sqrt(0.012) round to different float32 values, so the double matters. */
static double float_source_double(float value) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  dm_json_float_text(value, buf, sizeof buf);
  return g_ascii_strtod(buf, NULL);
}

/* ---- tables ------------------------------------------------------------ */

/* torch.linspace(start, end, steps, dtype=torch.float32) on the CPU
 * (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp, linspace_kernel):
 * step = (end - start) / (steps - 1) in float; the first half counts up from
 * start, the second half down from end. torch's x86 kernels are built with
 * FMA and GCC's default contraction, so each `start + step * i` and
 * `end - step * j` is one fused multiply-add: fmaf() reproduces it (the
 * reference table matches bit for bit; unfused products differ by one ulp in
 * 196 of 1000 entries). steps == 1 gives {start}. */
static void torch_linspace_f32(float *out, float start, float end,
                               int32_t steps) {
  if (steps == 1) {
    out[0] = start;
    return;
  }
  const float step = (end - start) / (float)(steps - 1);
  const int32_t halfway = steps / 2;
  for (int32_t i = 0; i < steps; i++) {
    out[i] = i < halfway ? fmaf(step, (float)i, start)
                         : fmaf(-step, (float)(steps - i - 1), end);
  }
}

/* alpha_bar(t) of the squaredcos_cap_v2 ("Glide cosine") schedule, in double
 * as Python evaluates it: left to right, and `** 2` through libm's pow(). */
static double cosine_alpha_bar(double t) {
  return pow(cos((t + 0.008) / 1.008 * G_PI / 2), 2.0);
}

/* A VE schedule's VP view: alpha_bar_t = 1 / (1 + sigma_t^2) with the
 * geometric sigma_t (Song & Ermon 2019 §4.2), betas from consecutive
 * ratios. In double, then rounded. */
static void ve_tables(const DmScheduleConfig *config, float *betas,
                      float *alphas_cumprod) {
  const int32_t T = config->num_train_timesteps;
  const double log_ratio = log((double)config->sigma_max / config->sigma_min);
  double previous = 1.0;
  for (int32_t t = 0; t < T; t++) {
    const double sigma = config->sigma_min * exp(log_ratio * t / (T - 1));
    const double alpha_bar = 1.0 / (1.0 + sigma * sigma);
    alphas_cumprod[t] = (float)alpha_bar;
    betas[t] = (float)(1.0 - alpha_bar / previous);
    previous = alpha_bar;
  }
}

DmSchedule *dm_schedule_new(const DmScheduleConfig *config, GError **error) {
  if (config == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_schedule_new: no scheduler config");
    return NULL;
  }
  if (!dm_schedule_config_check(config, DM_ERROR_INVALID_ARGUMENT, error)) return NULL;
  const int32_t T = config->num_train_timesteps;
  DmSchedule *s = g_try_new0(DmSchedule, 1);
  float *betas = g_try_new(float, T);
  float *alphas_cumprod = g_try_new(float, T);
  if (s == NULL || betas == NULL || alphas_cumprod == NULL) {
    g_free(s);
    g_free(betas);
    g_free(alphas_cumprod);
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "dm_schedule_new: out of memory for %d timesteps", T);
    return NULL;
  }
  if (config->sde == DM_SDE_VE) {
    ve_tables(config, betas, alphas_cumprod);
    s->num_train_timesteps = T;
    s->betas = betas;
    s->alphas_cumprod = alphas_cumprod;
    return s;
  }
  switch (config->beta_schedule) {
    case DM_BETA_LINEAR:
      /* torch converts the config's doubles to float32 first, as the
       * config struct already has. */
      torch_linspace_f32(betas, config->beta_start, config->beta_end, T);
      break;
    case DM_BETA_SCALED_LINEAR: {
      /* beta_start ** 0.5 is taken in Python double, then torch converts
       * it to float32. */
      float start = (float)sqrt(float_source_double(config->beta_start));
      float end = (float)sqrt(float_source_double(config->beta_end));
      torch_linspace_f32(betas, start, end, T);
      for (int32_t i = 0; i < T; i++) betas[i] = betas[i] * betas[i];
      break;
    }
    case DM_BETA_SQUAREDCOS_CAP_V2:
      /* betas_for_alpha_bar(T, max_beta=0.999), a Python list of doubles,
       * then torch.tensor(..., dtype=float32). */
      for (int32_t i = 0; i < T; i++) {
        double t1 = (double)i / (double)T, t2 = (double)(i + 1) / (double)T;
        double beta = 1.0 - cosine_alpha_bar(t2) / cosine_alpha_bar(t1);
        betas[i] = (float)(beta < 0.999 ? beta : 0.999);
      }
      break;
    case DM_BETA_SCHEDULE_COUNT:
    default:
      g_assert_not_reached(); /* dm_schedule_config_check() refused it */
  }
  /* alphas = 1.0 - betas is float32; torch.cumprod on the CPU accumulates
   * in acc_type<float> = double and rounds each partial product to float32
   * (a float32 running product would be up to 1.2e-6 relative off). */
  double product = 1.0;
  for (int32_t i = 0; i < T; i++) {
    float alpha = 1.0f - betas[i];
    product *= (double)alpha;
    alphas_cumprod[i] = (float)product;
  }
  s->num_train_timesteps = T;
  s->betas = betas;
  s->alphas_cumprod = alphas_cumprod;
  return s;
}

void dm_schedule_free(DmSchedule *schedule) {
  if (schedule == NULL) return;
  g_free(schedule->betas);
  g_free(schedule->alphas_cumprod);
  g_free(schedule);
}

/* ---- inference timesteps ----------------------------------------------- */

/* DDPMScheduler.set_timesteps(n) without custom timesteps; spacings after
 * Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are
 * Flawed", table 2. numpy's round() is round-half-to-even, which rint() is
 * in the default rounding mode (e.g. trailing, n = 16: 937.5 -> 938).
 *
 *   linspace  np.linspace(0, T - 1, n).round()[::-1]: y_i = i * ((T-1)/(n-1))
 *             in double, the last one exactly T - 1; n == 1 gives {0}.
 *   leading   (np.arange(0, n) * (T // n))[::-1] + steps_offset, integers;
 *             n == 1 gives {steps_offset}.
 *   trailing  np.round(np.arange(T, 0, -T / n)) - 1. numpy's arange fills
 *             v_0 = T, v_1 = T + step, v_i = v_0 + i * (v_1 - v_0).
 *             steps_offset is not applied (nor for linspace).
 *
 * DDIMScheduler.set_timesteps has the same three formulas (identical code).
 * The two schedulers differ in step(): DDPM's previous timestep is the next
 * entry of this list (previous_timestep()), DDIM's is always
 * t - T // n, which for linspace and trailing is not the next entry when n
 * does not divide T (diffusers issue #9261 / #12633).
 *
 * A diffusers quirk we do not copy: for trailing, np.arange's length
 * ceil(T / (T / n)) is n + 1 for some n (T = 1000: n = 61, 103, 121, ...),
 * and diffusers then appends a bogus timestep -1. The first n entries are
 * the ones written here. */
bool dm_schedule_timesteps(const DmScheduleConfig *config, int32_t num_steps,
                           int32_t *timesteps, GError **error) {
  if (config == NULL || timesteps == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_schedule_timesteps: %s is NULL",
                config == NULL ? "config" : "timesteps");
    return false;
  }
  if (!dm_schedule_config_check(config, DM_ERROR_INVALID_ARGUMENT, error)) return false;
  const int32_t T = config->num_train_timesteps;
  const int32_t n = num_steps;
  if (n < 1 || n > T) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "number of inference steps %d is out of range 1..%d "
                "(num_train_timesteps)",
                n, T);
    return false;
  }
  switch (config->timestep_spacing) {
    case DM_SPACING_LINSPACE: {
      const double step = n > 1 ? (double)(T - 1) / (double)(n - 1) : 0.0;
      for (int32_t i = 0; i < n; i++) {
        double y = i == n - 1 && n > 1 ? (double)(T - 1) : (double)i * step;
        timesteps[n - 1 - i] = (int32_t)rint(y);
      }
      break;
    }
    case DM_SPACING_LEADING: {
      const int32_t ratio = T / n;
      const int64_t first = (int64_t)(n - 1) * ratio + config->steps_offset;
      if (first > T - 1) {
        g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                    "steps_offset %d with %d leading steps gives timestep "
                    "%" G_GINT64_FORMAT ", past num_train_timesteps - 1 = %d",
                    config->steps_offset, n, first, T - 1);
        return false;
      }
      for (int32_t i = 0; i < n; i++)
        timesteps[n - 1 - i] = i * ratio + config->steps_offset;
      break;
    }
    case DM_SPACING_TRAILING: {
      const double v0 = (double)T;
      const double v1 = v0 + -((double)T / (double)n);
      const double delta = v1 - v0;
      for (int32_t i = 0; i < n; i++) {
        double v = i == 0 ? v0 : i == 1 ? v1 : v0 + (double)i * delta;
        timesteps[i] = (int32_t)rint(v) - 1;
      }
      break;
    }
    case DM_SPACING_COUNT:
    default:
      g_assert_not_reached(); /* dm_schedule_config_check() refused it */
  }
  return true;
}
