/* Native VE models (geometric sigma levels, epsilon network on the VE
 * variable): the schedule's config round trip and tables, and every sampler
 * on a fake network that returns the exact epsilon of Gaussian data in the
 * VE variable, so a sampler fed the wrong variable would miss the data.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib.h>

#include "dm-test.h"

#define MU 0.3
#define S 0.5
enum { N = 40000 };

typedef struct {
  const DmSchedule *schedule;
  int calls;
} VeModel;

/* eps(y, sigma) = sigma (y - mu) / (s^2 + sigma^2): E[z | y] for
 * y = x0 + sigma z, x0 ~ N(mu, s^2) (Tweedie's formula). */
static bool ve_eps(float *out, const float *y, float t, void *user_data,
                   GError **error) {
  (void)error;
  VeModel *model = user_data;
  const double alpha_bar = model->schedule->alphas_cumprod[(int32_t)t];
  const double sigma2 = 1.0 / alpha_bar - 1.0, sigma = sqrt(sigma2);
  for (int i = 0; i < N; i++)
    out[i] = (float)(sigma * (y[i] - MU) / (S * S + sigma2));
  model->calls++;
  return true;
}

static void ve_config(DmScheduleConfig *config) {
  dm_schedule_config_default(config);
  config->sde = DM_SDE_VE;
  config->sigma_min = 0.01f;
  config->sigma_max = 20.0f;
  config->clip_sample = false; /* clipping x0 to [-1, 1] would bias it */
}

static void test_config(void) {
  DmScheduleConfig config, back;
  ve_config(&config);
  char *json = dm_schedule_config_to_json(&config);
  GError *error = NULL;
  bool ok = dm_schedule_config_from_json(&back, json, &error);
  DM_CHECK_OK(ok, error);
  bool pass = back.sde == DM_SDE_VE && back.sigma_min == config.sigma_min &&
              back.sigma_max == config.sigma_max &&
              back.num_train_timesteps == config.num_train_timesteps &&
              strstr(json, "\"ScoreSdeVeScheduler\"") != NULL;
  printf("%s VE scheduler config round trip (ScoreSdeVeScheduler, sigma "
         "%g .. %g)\n", pass ? "ok  " : "FAIL", back.sigma_min, back.sigma_max);
  DM_CHECK(pass, "VE config round trip:\n%s", json);
  g_free(json);
  /* diffusers' own VE models (NCSN++: sigma in, score out) are refused */
  ok = dm_schedule_config_from_json(&back, "{\"_class_name\": "
      "\"ScoreSdeVeScheduler\", \"sigma_min\": 0.01, \"sigma_max\": 1348}",
      &error);
  pass = !ok && g_error_matches(error, DM_ERROR, DM_ERROR_UNSUPPORTED);
  printf("%s a diffusers NCSN++ scheduler is refused: %s\n",
         pass ? "ok  " : "FAIL", error ? error->message : "(no error)");
  DM_CHECK(pass, "NCSN++ config accepted");
  g_clear_error(&error);
  config.sigma_min = 30.0f; /* above sigma_max */
  pass = dm_schedule_new(&config, &error) == NULL &&
         g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT);
  printf("%s sigma_min above sigma_max refused: %s\n", pass ? "ok  " : "FAIL",
         error ? error->message : "(no error)");
  DM_CHECK(pass, "bad VE config accepted");
  g_clear_error(&error);
}

static void test_tables(const DmSchedule *schedule,
                        const DmScheduleConfig *config) {
  const int32_t T = config->num_train_timesteps;
  const double first = 1.0 / (1.0 + 0.01 * 0.01);
  const double last = 1.0 / (1.0 + 20.0 * 20.0);
  const double middle_sigma = 0.01 * pow(2000.0, 500.0 / 999.0);
  const double middle = 1.0 / (1.0 + middle_sigma * middle_sigma);
  const double d = fmax(fmax(fabs(schedule->alphas_cumprod[0] - first) / first,
                             fabs(schedule->alphas_cumprod[T - 1] - last) / last),
                        fabs(schedule->alphas_cumprod[500] - middle) / middle);
  printf("%s VE alpha_bar = 1 / (1 + sigma^2) at t = 0, 500, T-1: max rel "
         "|d| = %.2g\n", d < 1e-6 ? "ok  " : "FAIL", d);
  DM_CHECK(d < 1e-6, "VE tables");
}

/* Mean and standard deviation of x (N). */
static void moments(const float *x, double *mean, double *sd) {
  double sum = 0, sum2 = 0;
  for (int i = 0; i < N; i++) sum += x[i];
  *mean = sum / N;
  for (int i = 0; i < N; i++) sum2 += (x[i] - *mean) * (x[i] - *mean);
  *sd = sqrt(sum2 / (N - 1));
}

/* Each sampler at a step count where it should be accurate draws N(mu, s^2):
 * mean within 5 standard errors (s / sqrt(N)) plus 0.01 of discretisation
 * bias, standard deviation within 4% (7% for annealed Langevin, whose
 * unadjusted steps of size a hold a Gaussian of variance V at
 * V / (1 - a / 4V), +2.3% in sd per level at r = 0.3, not fully annealed
 * away). */
static void test_samplers(const DmSchedule *schedule,
                          const DmScheduleConfig *config) {
  const struct {
    const char *label;
    DmSampleOptions o;
    double sd_tol;
  } cases[] = {
      {"ddpm 250", {DM_SAMPLER_DDPM, 250, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"ddim 50", {DM_SAMPLER_DDIM, 50, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"ddim 100 eta 1", {DM_SAMPLER_DDIM, 100, 11, 1.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"sde 500", {DM_SAMPLER_SDE, 500, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"pc 250", {DM_SAMPLER_PC, 250, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"ode 50", {DM_SAMPLER_ODE, 50, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"langevin 100x10", {DM_SAMPLER_LANGEVIN, 100, 11, 0.0f, 0.3f, 10, 0, 0, 1.0f, 1.0f},
       0.07},
      {"euler 50", {DM_SAMPLER_EULER, 50, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f}, 0.04},
      {"euler-a 100", {DM_SAMPLER_EULER_ANCESTRAL, 100, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f},
       0.04},
      {"dpmpp-2m-k 25", {DM_SAMPLER_DPMPP_2M_KARRAS, 25, 11, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f},
       0.04},
  };
  float *x = g_new(float, N);
  const DmSampleGrid grid = {1, 1, N, 0, 0};
  const double mean_tol = 5.0 * S / sqrt(N) + 0.01;
  for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
    VeModel model = {schedule, 0};
    GError *error = NULL;
    const bool ok = dm_sample(x, &grid, config, &cases[k].o, ve_eps, &model,
                              NULL, NULL, NULL, &error);
    DM_CHECK_OK(ok, error);
    double mean, sd;
    moments(x, &mean, &sd);
    const double sd_tol = cases[k].sd_tol;
    const bool pass = fabs(mean - MU) <= mean_tol && fabs(sd / S - 1.0) <= sd_tol;
    printf("%s VE %-15s mean %.4f (want %.2f +- %.4f)  sd %.4f (want %.2f "
           "+- %.0f%%)  %d evaluations\n", pass ? "ok  " : "FAIL",
           cases[k].label, mean, MU, mean_tol, sd, S, 100 * sd_tol, model.calls);
    DM_CHECK(pass, "%s", cases[k].label);
  }
  g_free(x);
}

/* Replacement guidance on a VE model: known values come back exactly, the
 * filled ones follow the data's distribution (independent pixels). */
static void test_inpaint(const DmSchedule *schedule,
                         const DmScheduleConfig *config) {
  float *x = g_new(float, N), *known = g_new(float, N), *mask = g_new(float, N);
  for (int i = 0; i < N; i++) {
    known[i] = (float)(i % 7) / 7.0f;
    mask[i] = i % 2 ? 1.0f : 0.0f;
  }
  const DmSampleOptions o = {DM_SAMPLER_SDE, 300, 5, 0.0f, 0.16f, 1, 0, 0, 1.0f, 1.0f};
  const DmSampleGrid grid = {1, 1, N, 0, 0};
  const DmInpaint inpaint = {known, mask};
  VeModel model = {schedule, 0};
  GError *error = NULL;
  DM_CHECK_OK(dm_sample(x, &grid, config, &o, ve_eps, &model, &inpaint, NULL,
                        NULL, &error), error);
  size_t kept_differs = 0;
  double sum = 0;
  for (int i = 0; i < N; i++) {
    if (i % 2) sum += x[i];
    else kept_differs += x[i] != known[i];
  }
  const double mean = sum / (N / 2), tol = 5.0 * S / sqrt(N / 2) + 0.01;
  const bool pass = kept_differs == 0 && fabs(mean - MU) <= tol;
  printf("%s VE sde inpaint: %zu known values differ, filled mean %.4f "
         "(want %.2f +- %.4f)\n", pass ? "ok  " : "FAIL", kept_differs, mean,
         MU, tol);
  DM_CHECK(pass, "VE inpaint");
  g_free(x);
  g_free(known);
  g_free(mask);
}

int main(void) {
  test_config();
  DmScheduleConfig config;
  ve_config(&config);
  GError *error = NULL;
  DmSchedule *schedule = dm_schedule_new(&config, &error);
  DM_CHECK_OK(schedule != NULL, error);
  test_tables(schedule, &config);
  test_samplers(schedule, &config);
  test_inpaint(schedule, &config);
  dm_schedule_free(schedule);
  printf("%s\n", dm_test_failures ? "FAILED" : "all passed");
  return dm_test_failures ? 1 : 0;
}
