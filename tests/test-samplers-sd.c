/* euler, euler-ancestral, dpmpp-2m-karras and lcm against diffusers' own
 * schedulers in whole sampling loops (tests/refgen/make_schedulers.py,
 * the files of tests/data/sd/schedulers): Stable Diffusion 1.5's schedule
 * with epsilon and v prediction, a fake network (the exact posterior mean
 * of Gaussian data, below, the same as the script's) and the same noise on
 * both sides: the script draws dm_sample()'s Philox deviates for each
 * step's stream and hands them to diffusers, and this test checks that
 * dm_sample() draws what the file holds.
 *
 * Checked per case: the timesteps the network is told (exactly), the
 * noise levels (dm_sampler_levels) against the scheduler's sigmas, the
 * initial and per-step noise (bit for bit), the network's input at every
 * step and the final sample, the evaluation count.
 *
 * Tolerance. Both runs are float32, with the same formulas in another
 * order (diffusers keeps the VE sample for the Euler schedulers and its
 * model input is sample / sqrt(sigma^2 + 1); we keep the VP view), so each
 * step adds a few float32 roundings, relative to values of order 1 (the
 * VE sample reaches |y| ~ 50 at sigma 14.6, where a rounding is 4e-6);
 * the steps contract errors (the fake network's flow is stable). Allowed:
 * 4e-6 absolute + 4e-6 of the largest value for the inputs at each step
 * and the final sample. Measured (printed): max|d| 9.5e-7 (euler), 7.2e-7
 * (euler-ancestral), 4.8e-7 (dpmpp-2m-karras), 0 (lcm).
 * Sigmas: 2e-6 relative (Karras' levels are float64 in diffusers, rounded
 * once; ours the same formula in double).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "sampling/levels.h"

#define INPUT_TOL 4e-6
#define SIGMA_RTOL 2e-6

/* One case's file, read. */
typedef struct {
  DmScheduleConfig config;
  DmSampleOptions options;
  DmSampleGrid grid;
  size_t count;           /* C H W */
  float *timesteps;       /* (steps) */
  float *sigmas;          /* (steps + 1) */
  float *x_t;             /* (count) */
  float *noise;           /* (steps, count) */
  float *inputs;          /* (steps, count) */
  float *final;           /* (count) */
} Case;

/* The fake network of make_schedulers.py: data N(mu_i, s_i^2) per element,
 * its exact posterior mean x0 at x_t and the epsilon or v of it. Records
 * what it is given. */
typedef struct {
  const DmSchedule *schedule;
  DmPrediction prediction;
  size_t count;
  int32_t calls, capacity;
  float *seen_t;          /* (capacity) */
  float *seen_x;          /* (capacity, count) */
} FakeNetwork;

static bool fake_network(float *out, const float *x, float t, void *data,
                         GError **error) {
  FakeNetwork *net = data;
  if (net->calls >= net->capacity || t != floorf(t) || t < 0.0f) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "fake network: call %d at t = %g is unexpected", net->calls,
                (double)t);
    return false;
  }
  net->seen_t[net->calls] = t;
  memcpy(net->seen_x + (size_t)net->calls * net->count, x,
         net->count * sizeof *x);
  net->calls++;
  const double ab = net->schedule->alphas_cumprod[(int32_t)t];
  const double sab = sqrt(ab), s1 = sqrt(1.0 - ab);
  for (size_t i = 0; i < net->count; i++) {
    const double mu = 0.5 * sin(0.37 * (double)i + 0.2);
    const double s = 0.25 + 0.05 * (double)(i % 11);
    const double x0 = mu + sab * s * s * (x[i] - sab * mu) /
                               (ab * s * s + 1.0 - ab);
    const double eps = (x[i] - sab * x0) / s1;
    out[i] = (float)(net->prediction == DM_PREDICT_V ? sab * eps - s1 * x0
                                                     : eps);
  }
  return true;
}

/* The tensor `name` with `want` elements. */
static float *read_tensor(const DmSafetensors *st, const char *name,
                          size_t want, const char *file) {
  size_t numel = 0;
  float *data = dm_test_read_tensor(st, name, &numel);
  DM_CHECK_OK(data != NULL && numel == want,
              (g_error_new(DM_ERROR, DM_ERROR_FORMAT,
                           "%s: tensor %s missing or not %zu values", file,
                           name, want)));
  return data;
}

static void read_case(Case *c, const char *path) {
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_open(path, &error);
  DM_CHECK_OK(st != NULL, error);
  const char *sampler = dm_safetensors_metadata(st, "sampler");
  const char *config = dm_safetensors_metadata(st, "scheduler_config");
  const char *grid = dm_safetensors_metadata(st, "grid");
  const char *steps = dm_safetensors_metadata(st, "steps");
  const char *seed = dm_safetensors_metadata(st, "seed");
  DM_CHECK_OK(sampler && config && grid && steps && seed,
              (g_error_new(DM_ERROR, DM_ERROR_FORMAT, "%s: metadata", path)));
  dm_schedule_config_default(&c->config);
  DM_CHECK_OK(dm_schedule_config_from_json(&c->config, config, &error), error);
  dm_sample_options_default(&c->options);
  DM_CHECK_OK(dm_sampler_from_name(sampler, &c->options.sampler),
              (g_error_new(DM_ERROR, DM_ERROR_FORMAT, "sampler %s", sampler)));
  c->options.steps = atoi(steps);
  c->options.seed = g_ascii_strtoull(seed, NULL, 10);
  DmSampleGrid *g = &c->grid;
  DM_CHECK_OK(sscanf(grid, "[%d, %d, %d, %d, %d]", &g->channels, &g->height,
                     &g->width, &g->origin_x, &g->origin_y) == 5,
              (g_error_new(DM_ERROR, DM_ERROR_FORMAT, "grid %s", grid)));
  const size_t n = (size_t)c->options.steps;
  c->count = (size_t)g->channels * g->height * g->width;
  c->timesteps = read_tensor(st, "timesteps", n, path);
  c->sigmas = read_tensor(st, "sigmas", n + 1, path);
  c->x_t = read_tensor(st, "x_T", c->count, path);
  c->noise = read_tensor(st, "noise", n * c->count, path);
  c->inputs = read_tensor(st, "inputs", n * c->count, path);
  c->final = read_tensor(st, "final", c->count, path);
  dm_safetensors_free(st);
}

static void free_case(Case *c) {
  g_free(c->timesteps);
  g_free(c->sigmas);
  g_free(c->x_t);
  g_free(c->noise);
  g_free(c->inputs);
  g_free(c->final);
}

/* dm_sample()'s deviates of `stream` for the grid (core/sampling/
 * sampler.c: index = channel << 40 | Y << 20 | X at absolute positions). */
static void grid_noise(float *z, const Case *c, uint64_t stream) {
  const DmSampleGrid *g = &c->grid;
  for (int32_t ch = 0; ch < g->channels; ch++)
    for (int32_t y = 0; y < g->height; y++)
      dm_rng_normal_fill(z + ((size_t)ch * g->height + y) * g->width,
                         (size_t)g->width, c->options.seed, stream,
                         (uint64_t)ch << 40 |
                             (uint64_t)(y + g->origin_y) << 20 |
                             (uint64_t)g->origin_x);
}

/* The file's noise is the noise dm_sample() draws: x_T from stream 0,
 * step k's from stream 2 k + 2. */
static void check_noise(const Case *c, const char *name) {
  float *z = g_new(float, c->count);
  grid_noise(z, c, 0);
  bool same = memcmp(z, c->x_t, c->count * sizeof *z) == 0;
  for (int32_t k = 0; k < c->options.steps; k++) {
    grid_noise(z, c, 2 * (uint64_t)k + 2);
    same = same && memcmp(z, c->noise + (size_t)k * c->count,
                          c->count * sizeof *z) == 0;
  }
  printf("%s %-28s x_T and %d steps' noise are dm_sample's, bit for bit\n",
         same ? "ok  " : "FAIL", name, c->options.steps);
  DM_CHECK(same, "%s: the file's noise differs from Philox", name);
  g_free(z);
}

/* Our grid against the scheduler's timesteps and sigmas. */
static void check_levels(const Case *c, const DmSchedule *schedule,
                         const char *name) {
  const int32_t n = c->options.steps;
  DmLevel *levels = g_new(DmLevel, n + 1);
  GError *error = NULL;
  DM_CHECK_OK(dm_sampler_levels(&c->config, schedule, c->options.sampler, n,
                                levels, &error), error);
  bool timesteps_ok = levels[n].timestep == -1;
  double worst = 0.0;
  for (int32_t k = 0; k <= n; k++) {
    if (k < n) timesteps_ok = timesteps_ok &&
                              (float)levels[k].timestep == c->timesteps[k];
    const double want = c->sigmas[k];
    const double d = fabs(levels[k].sigma - want);
    worst = fmax(worst, want > 0 ? d / want : d);
  }
  const bool ok = timesteps_ok && worst <= SIGMA_RTOL;
  printf("%s %-28s timesteps %d .. %d equal; sigmas %.4f .. %.4f, max rel "
         "|d| %.2g (tol %.1g)\n", ok ? "ok  " : "FAIL", name,
         levels[0].timestep, levels[n - 1].timestep, (double)levels[0].sigma,
         (double)levels[n - 1].sigma, worst, SIGMA_RTOL);
  DM_CHECK(ok, "%s: levels differ from diffusers'", name);
  g_free(levels);
}

static void check_run(const Case *c, const DmSchedule *schedule,
                      const char *name) {
  const int32_t n = c->options.steps;
  FakeNetwork net = {schedule, c->config.prediction_type, c->count, 0, n + 1,
                     g_new(float, n + 1), g_new(float, (n + 1) * c->count)};
  float *x = g_new0(float, c->count);
  GError *error = NULL;
  DM_CHECK_OK(dm_sample(x, &c->grid, &c->config, &c->options, fake_network,
                        &net, NULL, NULL, NULL, &error), error);
  DM_CHECK(net.calls == n && dm_sample_evaluations(&c->options) == n,
           "%s: %d evaluations, %d counted, want %d", name, net.calls,
           dm_sample_evaluations(&c->options), n);
  bool same_t = true;
  for (int32_t k = 0; k < n && k < net.calls; k++)
    same_t = same_t && net.seen_t[k] == c->timesteps[k];
  DM_CHECK(same_t, "%s: the network was told other timesteps", name);
  char label[96];
  g_snprintf(label, sizeof label, "%s: inputs of %d steps", name, n);
  dm_test_compare(label, net.seen_x, c->inputs, (size_t)n * c->count,
                  INPUT_TOL, INPUT_TOL);
  g_snprintf(label, sizeof label, "%s: final sample", name);
  dm_test_compare(label, x, c->final, c->count, INPUT_TOL, INPUT_TOL);
  g_free(x);
  g_free(net.seen_t);
  g_free(net.seen_x);
}

/* The names of the reference files, sorted. */
static GPtrArray *case_files(const char *dir) {
  GError *error = NULL;
  GDir *listing = g_dir_open(dir, 0, &error);
  DM_CHECK_OK(listing != NULL, error);
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(listing)) != NULL)
    if (g_str_has_suffix(name, ".safetensors"))
      g_ptr_array_add(files, g_strdup(name));
  g_dir_close(listing);
  qsort(files->pdata, files->len, sizeof(char *), dm_test_compare_strings);
  return files;
}

int main(void) {
  char *dir = dm_test_data_path("sd/schedulers");
  GPtrArray *files = case_files(dir);
  DM_CHECK(files->len >= 9, "%u reference files in %s, want 9", files->len,
           dir);
  uint32_t seen = 0; /* samplers covered */
  for (guint i = 0; i < files->len; i++) {
    const char *file = files->pdata[i];
    char *path = g_build_filename(dir, file, NULL);
    char *name = g_strndup(file, strlen(file) - strlen(".safetensors"));
    Case c;
    read_case(&c, path);
    seen |= 1u << c.options.sampler;
    GError *error = NULL;
    DmSchedule *schedule = dm_schedule_new(&c.config, &error);
    DM_CHECK_OK(schedule != NULL, error);
    check_noise(&c, name);
    check_levels(&c, schedule, name);
    check_run(&c, schedule, name);
    dm_schedule_free(schedule);
    free_case(&c);
    g_free(name);
    g_free(path);
  }
  const uint32_t want = 1u << DM_SAMPLER_EULER |
                        1u << DM_SAMPLER_EULER_ANCESTRAL |
                        1u << DM_SAMPLER_DPMPP_2M_KARRAS |
                        1u << DM_SAMPLER_LCM;
  DM_CHECK((seen & want) == want, "not every new sampler has a reference");
  g_ptr_array_free(files, TRUE);
  g_free(dir);
  return dm_test_finish();
}
