/* One DDPM / DDIM step and add_noise (core/sampling/discrete.c) against diffusers'
 * reference vectors: every scheduler folder of tests/data/schedulers and
 * every call recorded in its scheduler_cases.json (README-refvec.txt,
 * section SCHEDULERS); then argument errors.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Tolerance. diffusers computes these steps in float32, and discrete.c does
 * the same float32 operations in the same order, so the outputs agree to
 * the bit on x86-64 with glibc (max|d| = 0 in every line printed here).
 * What is allowed is a few roundings of slack for another compiler (an FMA
 * contraction under -ffp-contract=fast; sqrtf is correctly rounded
 * everywhere, so libm cannot differ): each output is a sum of at most three
 * rounded products of
 * magnitude <= max|x|, so 8 u * max|want| (u = 2^-24, about 4.8e-7 relative
 * to the largest entry) plus 1e-7 absolute for near-zero tensors. This is
 * tighter than the README's float32-vs-float64 differences (2.8e-7 absolute,
 * 2.5e-5 at |x| ~ 505), which measure diffusers' own rounding, not ours. */
#include <float.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "dm-test.h"
#include "sampling/discrete.h"
#include "model/safetensors.h"

#define U32 ((double)FLT_EPSILON / 2)
#define STEP_RTOL (8 * U32)
#define STEP_ATOL 1e-7

static double worst_rel_all = 0.0;

/* A whole tensor as float32 (caller g_free()s), its length in *n; NULL and
 * a counted failure when it is missing. */
static float *read_all(DmSafetensors *st, const char *name, size_t *n,
                       const char *folder) {
  const DmStEntry *entry = dm_safetensors_find(st, name);
  if (entry == NULL) {
    fprintf(stderr, "FAIL %s: tensor %s missing\n", folder, name);
    dm_test_failures++;
    return NULL;
  }
  float *data = g_new(float, entry->numel ? entry->numel : 1);
  dm_safetensors_read_f32(entry, data);
  *n = entry->numel;
  return data;
}

/* Compares and tracks the worst difference relative to max|want| for the
 * folder's summary line. */
static void compare(const char *label, const float *got, const float *want,
                    size_t n, double *folder_worst) {
  double d = dm_test_compare(label, got, want, n, STEP_ATOL, STEP_RTOL);
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    if (fabs(want[i]) > m) m = fabs(want[i]);
  double rel = m > 0 ? d / m : d;
  if (!(rel <= *folder_worst)) *folder_worst = rel;
  if (!(rel <= worst_rel_all)) worst_rel_all = rel;
}

static int32_t member_int(JsonObject *o, const char *key, int32_t fallback) {
  return json_object_has_member(o, key)
             ? (int32_t)json_object_get_int_member(o, key)
             : fallback;
}

/* add_noise: one timestep per batch item (add_noise.timesteps, (B)). */
static void check_add_noise(DmSafetensors *st, const DmSchedule *s,
                            const char *folder, double *worst) {
  size_t n_x0 = 0, n_noise = 0, n_out = 0, n_t = 0;
  float *x0 = read_all(st, "add_noise.original_samples", &n_x0, folder);
  float *noise = read_all(st, "add_noise.noise", &n_noise, folder);
  float *want = read_all(st, "add_noise.out", &n_out, folder);
  float *ts = read_all(st, "add_noise.timesteps", &n_t, folder);
  if (x0 && noise && want && ts && n_t > 0 && n_x0 == n_noise &&
      n_x0 == n_out && n_x0 % n_t == 0) {
    const size_t per = n_x0 / n_t;
    float *got = g_new(float, n_x0);
    for (size_t b = 0; b < n_t; b++) {
      int32_t t = (int32_t)ts[b];
      DM_CHECK(t >= 0 && t < s->num_train_timesteps, "%s: add_noise t = %d",
               folder, t);
      dm_add_noise(got + b * per, x0 + b * per, noise + b * per, per,
                   s->alphas_cumprod[t]);
    }
    char label[96];
    snprintf(label, sizeof label, "%s add_noise.out", folder);
    compare(label, got, want, n_x0, worst);
    g_free(got);
  } else {
    DM_CHECK(false, "%s: add_noise tensors missing or mismatched", folder);
  }
  g_free(x0);
  g_free(noise);
  g_free(want);
  g_free(ts);
}

/* One recorded step call. */
static void check_step(DmSafetensors *st, const DmScheduleConfig *config,
                       const DmSchedule *s, bool ddim, JsonObject *step,
                       const char *folder, double *worst) {
  const char *prefix = json_object_get_string_member(step, "prefix");
  const int32_t t = member_int(step, "timestep", -1);
  const int32_t prev_t = member_int(step, "prev_timestep", -1);
  const int32_t index = member_int(step, "index_in_timesteps", -1);
  /* DDPM records set_timesteps; the DDIM calls all use 50. */
  const int32_t n_steps = member_int(step, "set_timesteps", 50);
  const float eta =
      json_object_has_member(step, "eta")
          ? (float)json_object_get_double_member(step, "eta")
          : 0.0f;
  char name[64], label[128];

  /* The previous-timestep helpers give what diffusers used. */
  int32_t *ts = g_new(int32_t, n_steps);
  GError *error = NULL;
  DM_CHECK_OK(dm_schedule_timesteps(config, n_steps, ts, &error), error);
  DM_CHECK(index >= 0 && index < n_steps && ts[index] == t,
           "%s %s: timesteps[%d] = %d, recorded t = %d", folder, prefix,
           index, index >= 0 && index < n_steps ? ts[index] : -1, t);
  int32_t helper_prev = ddim ? dm_ddim_prev_timestep(config, n_steps, t)
                             : dm_ddpm_prev_timestep(ts, n_steps, index);
  DM_CHECK(helper_prev == prev_t, "%s %s: prev timestep %d, recorded %d",
           folder, prefix, helper_prev, prev_t);
  g_free(ts);

  size_t n_m = 0, n_x = 0, n_noise = 0, n_prev = 0, n_x0 = 0;
  snprintf(name, sizeof name, "%smodel_output", prefix);
  float *model = read_all(st, name, &n_m, folder);
  snprintf(name, sizeof name, "%ssample", prefix);
  float *x = read_all(st, name, &n_x, folder);
  snprintf(name, sizeof name, "%s%s", prefix,
           ddim ? "variance_noise" : "noise");
  float *noise = NULL;
  if (dm_safetensors_find(st, name)) /* DDIM eta = 0 has none */
    noise = read_all(st, name, &n_noise, folder);
  snprintf(name, sizeof name, "%sprev_sample", prefix);
  float *want_prev = read_all(st, name, &n_prev, folder);
  snprintf(name, sizeof name, "%spred_original_sample", prefix);
  float *want_x0 = read_all(st, name, &n_x0, folder);

  if (model && x && want_prev && want_x0 && n_m == n_x && n_m == n_prev &&
      n_m == n_x0 && (noise == NULL || n_noise == n_m)) {
    float *got_prev = g_new(float, n_m), *got_x0 = g_new(float, n_m);
    bool ok = ddim ? dm_ddim_step(got_prev, got_x0, config, s, t, prev_t, eta,
                                  model, x, noise, n_m, &error)
                   : dm_ddpm_step(got_prev, got_x0, config, s, t, prev_t,
                                  model, x, noise, n_m, &error);
    if (!ok) {
      DM_CHECK(false, "%s %s: %s", folder, prefix, error->message);
      g_clear_error(&error);
    } else {
      snprintf(label, sizeof label, "%s %sprev_sample t=%d->%d%s", folder,
               prefix, t, prev_t, ddim ? (eta > 0 ? " eta=1" : " eta=0") : "");
      compare(label, got_prev, want_prev, n_m, worst);
      snprintf(label, sizeof label, "%s %spred_original_sample", folder,
               prefix);
      compare(label, got_x0, want_x0, n_m, worst);
    }
    g_free(got_prev);
    g_free(got_x0);
  } else {
    DM_CHECK(false, "%s %s: step tensors missing or mismatched", folder,
             prefix);
  }
  g_free(model);
  g_free(x);
  g_free(noise);
  g_free(want_prev);
  g_free(want_x0);
}

static void check_folder(const char *dir, const char *folder,
                         JsonObject *cases) {
  GError *error = NULL;
  char *config_path =
      g_build_filename(dir, folder, "scheduler_config.json", NULL);
  char *tensors_path =
      g_build_filename(dir, folder, "tensors.safetensors", NULL);
  char *json = NULL;
  DM_CHECK_OK(g_file_get_contents(config_path, &json, NULL, &error), error);
  DmScheduleConfig config;
  DM_CHECK_OK(dm_schedule_config_from_json(&config, json, &error), error);
  DmSchedule *s = dm_schedule_new(&config, &error);
  DM_CHECK_OK(s != NULL, error);
  DmSafetensors *st = dm_safetensors_open(tensors_path, &error);
  DM_CHECK_OK(st != NULL, error);
  const bool ddim = strstr(json, "\"DDIMScheduler\"") != NULL;
  double worst = 0.0;

  check_add_noise(st, s, folder, &worst);

  if (ddim) {
    size_t n = 0;
    float *fa = read_all(st, "final_alpha_cumprod", &n, folder);
    if (fa)
      DM_CHECK(n == 1 && fa[0] == dm_ddim_final_alpha_bar(&config, s),
               "%s: final_alpha_cumprod", folder);
    g_free(fa);
  }

  JsonObject *entry = json_object_has_member(cases, folder)
                          ? json_object_get_object_member(cases, folder)
                          : NULL;
  JsonArray *steps = entry && json_object_has_member(entry, "steps")
                         ? json_object_get_array_member(entry, "steps")
                         : NULL;
  DM_CHECK(steps != NULL && json_array_get_length(steps) > 0,
           "%s: no steps in scheduler_cases.json", folder);
  guint nsteps = steps ? json_array_get_length(steps) : 0;
  for (guint i = 0; i < nsteps; i++)
    check_step(st, &config, s, ddim, json_array_get_object_element(steps, i),
               folder, &worst);
  printf("     %-34s %u steps: worst max|d| / max|want| = %.3g (%.2f u)\n",
         folder, nsteps, worst, worst / U32);

  dm_safetensors_free(st);
  dm_schedule_free(s);
  g_free(json);
  g_free(config_path);
  g_free(tensors_path);
}

static void test_refvec(void) {
  char *dir = dm_test_data_path("schedulers");
  char *cases_path = g_build_filename(dir, "scheduler_cases.json", NULL);
  GError *error = NULL;
  JsonParser *parser = json_parser_new();
  DM_CHECK_OK(json_parser_load_from_file(parser, cases_path, &error), error);
  JsonNode *root = json_parser_get_root(parser);
  DM_CHECK_OK(root && JSON_NODE_HOLDS_OBJECT(root) &&
                  json_object_has_member(json_node_get_object(root),
                                         "schedulers"),
              (GError *)NULL);
  JsonObject *cases = json_object_get_object_member(
      json_node_get_object(root), "schedulers");

  GPtrArray *folders = dm_test_scheduler_folders(dir);
  DM_CHECK(folders->len >= 8, "expected 8 scheduler folders in %s, found %u",
           dir, folders->len);
  DM_CHECK(folders->len == json_object_get_size(cases),
           "%u folders but %u schedulers in scheduler_cases.json",
           folders->len, json_object_get_size(cases));
  for (guint i = 0; i < folders->len; i++)
    check_folder(dir, folders->pdata[i], cases);
  printf("     all folders: worst max|d| / max|want| = %.3g (%.2f u), "
         "tolerance %.3g + %.3g * max|want|\n",
         worst_rel_all, worst_rel_all / U32, STEP_ATOL, STEP_RTOL);
  g_ptr_array_free(folders, TRUE);
  g_object_unref(parser);
  g_free(cases_path);
  g_free(dir);
}

/* ---- properties that need no reference ---------------------------------- */

/* With eta = 1 DDIM's step is DDPM's fixed_small step (Song et al. 2020,
 * sec. 4.1: sigma_t(1) is the DDPM posterior standard deviation), and with
 * the x_0 prediction equal to the true x_0 and eta = 0 the step lands on
 * add_noise(x_0, eps, prev_t) (eq. 12 is deterministic in (x_0, eps)). */
static void test_consistency(void) {
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  c.clip_sample = false;
  GError *error = NULL;
  DmSchedule *s = dm_schedule_new(&c, &error);
  DM_CHECK_OK(s != NULL, error);
  enum { N = 64 };
  float x0[N], eps[N], z[N], xt[N], a[N], b[N], want[N];
  for (int i = 0; i < N; i++) {
    x0[i] = sinf(0.37f * (float)i);
    eps[i] = cosf(1.3f * (float)i + 0.2f);
    z[i] = sinf(2.1f * (float)i + 1.0f);
  }
  const int32_t pairs[][2] = {{999, 979}, {500, 480}, {40, 20}, {20, 0}};
  double worst_ddpm = 0.0, worst_add = 0.0;
  for (size_t k = 0; k < G_N_ELEMENTS(pairs); k++) {
    int32_t t = pairs[k][0], p = pairs[k][1];
    dm_add_noise(xt, x0, eps, N, s->alphas_cumprod[t]);
    DM_CHECK_OK(dm_ddim_step(a, NULL, &c, s, t, p, 1.0f, eps, xt, z, N,
                             &error),
                error);
    DM_CHECK_OK(dm_ddpm_step(b, NULL, &c, s, t, p, eps, xt, z, N, &error),
                error);
    for (int i = 0; i < N; i++)
      worst_ddpm = fmax(worst_ddpm, fabs((double)a[i] - b[i]));
    DM_CHECK_OK(dm_ddim_step(a, NULL, &c, s, t, p, 0.0f, eps, xt, NULL, N,
                             &error),
                error);
    dm_add_noise(want, x0, eps, N, s->alphas_cumprod[p]);
    for (int i = 0; i < N; i++)
      worst_add = fmax(worst_add, fabs((double)a[i] - want[i]));
  }
  /* Different float32 formulas for the same numbers: allow 1e-5 (the
   * x_0 from eps divides by sqrt(ab_t) = 0.0064 at t = 999). */
  DM_CHECK(worst_ddpm <= 1e-5, "DDIM eta=1 vs DDPM: %g", worst_ddpm);
  DM_CHECK(worst_add <= 1e-5, "DDIM eta=0 vs add_noise: %g", worst_add);
  printf("%s DDIM eta=1 == DDPM fixed_small (max|d|=%.3g), DDIM eta=0 "
         "with exact eps == add_noise at prev_t (max|d|=%.3g)\n",
         worst_ddpm <= 1e-5 && worst_add <= 1e-5 ? "ok  " : "FAIL",
         worst_ddpm, worst_add);

  /* v and sample predictions recover x_0 exactly enough. */
  const float sa = sqrtf(s->alphas_cumprod[300]),
              sb = sqrtf(1.0f - s->alphas_cumprod[300]);
  float v[N], x0_got[N];
  dm_add_noise(xt, x0, eps, N, s->alphas_cumprod[300]);
  for (int i = 0; i < N; i++) v[i] = sa * eps[i] - sb * x0[i];
  double dv = 0.0, ds = 0.0;
  for (int pred = DM_PREDICT_V; pred <= DM_PREDICT_SAMPLE; pred++) {
    c.prediction_type = (DmPrediction)pred;
    const float *m = pred == DM_PREDICT_V ? v : x0;
    DM_CHECK_OK(dm_ddim_step(a, x0_got, &c, s, 300, 280, 0.0f, m, xt, NULL,
                             N, &error),
                error);
    dm_add_noise(want, x0, eps, N, s->alphas_cumprod[280]);
    for (int i = 0; i < N; i++) {
      double d = fmax(fabs((double)x0_got[i] - x0[i]),
                      fabs((double)a[i] - want[i]));
      if (pred == DM_PREDICT_V) dv = fmax(dv, d);
      else ds = fmax(ds, d);
    }
  }
  DM_CHECK(dv <= 1e-5 && ds <= 1e-5, "v / sample predictions: %g %g", dv,
           ds);
  printf("%s v_prediction and sample prediction recover x_0 and x_prev "
         "(max|d| %.3g, %.3g)\n",
         dv <= 1e-5 && ds <= 1e-5 ? "ok  " : "FAIL", dv, ds);

  /* Clipping with a range. */
  c.prediction_type = DM_PREDICT_SAMPLE;
  c.clip_sample = true;
  c.clip_sample_range = 0.5f;
  float big[N];
  for (int i = 0; i < N; i++) big[i] = 3.0f * x0[i];
  DM_CHECK_OK(dm_ddpm_step(a, x0_got, &c, s, 300, 280, big, xt, z, N,
                           &error),
              error);
  bool clipped = true;
  for (int i = 0; i < N; i++)
    clipped = clipped && fabsf(x0_got[i]) <= 0.5f &&
              (fabsf(big[i]) < 0.5f || fabsf(x0_got[i]) == 0.5f);
  DM_CHECK(clipped, "clip_sample_range 0.5 applied");
  printf("%s clip_sample_range 0.5 applied to pred_original\n",
         clipped ? "ok  " : "FAIL");
  dm_schedule_free(s);
}

/* ---- errors -------------------------------------------------------------- */

static void expect_error(bool ok, GError **error, const char *needle,
                         const char *what) {
  bool good = !ok && *error &&
              g_error_matches(*error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT) &&
              strstr((*error)->message, needle) != NULL;
  if (good)
    printf("     %-34s -> %s\n", what, (*error)->message);
  else
    DM_CHECK(false, "%s: %s", what, *error ? (*error)->message : "accepted");
  g_clear_error(error);
}

static void test_errors(void) {
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  GError *error = NULL;
  DmSchedule *s = dm_schedule_new(&c, &error);
  DM_CHECK_OK(s != NULL, error);
  float m[4] = {0}, x[4] = {0}, z[4] = {0}, out[4], x0[4];
  int before = dm_test_failures;

  expect_error(dm_ddpm_step(out, x0, &c, s, 1000, 999, m, x, z, 4, &error),
               &error, "1000", "DDPM t = T");
  expect_error(dm_ddpm_step(out, x0, &c, s, -1, -2, m, x, z, 4, &error),
               &error, "-1", "DDPM t = -1");
  expect_error(dm_ddpm_step(out, x0, &c, s, 10, 10, m, x, z, 4, &error),
               &error, "prev_t = 10", "DDPM prev_t = t");
  expect_error(dm_ddpm_step(out, x0, &c, s, 10, 9, m, x, NULL, 4, &error),
               &error, "noise", "DDPM t > 0 without noise");
  expect_error(dm_ddpm_step(out, x0, &c, s, 10, 9, NULL, x, z, 4, &error),
               &error, "model_output", "DDPM NULL model_output");
  expect_error(dm_ddpm_step(out, x0, &c, NULL, 10, 9, m, x, z, 4, &error),
               &error, "schedule", "DDPM NULL schedule");
  DM_CHECK(dm_ddpm_step(out, x0, &c, s, 0, -1, m, x, NULL, 4, &error),
           "DDPM t = 0 needs no noise");
  g_clear_error(&error);

  expect_error(dm_ddim_step(out, x0, &c, s, 10, 0, -0.5f, m, x, z, 4, &error),
               &error, "-0.5", "DDIM eta = -0.5");
  expect_error(dm_ddim_step(out, x0, &c, s, 10, 0, 1.5f, m, x, z, 4, &error),
               &error, "1.5", "DDIM eta = 1.5");
  expect_error(dm_ddim_step(out, x0, &c, s, 10, 0, NAN, m, x, z, 4, &error),
               &error, "eta", "DDIM eta = NaN");
  expect_error(dm_ddim_step(out, x0, &c, s, 10, 0, 0.5f, m, x, NULL, 4,
                            &error),
               &error, "noise", "DDIM eta > 0 without noise");
  expect_error(dm_ddim_step(out, x0, &c, s, 1000, 980, 0.0f, m, x, NULL, 4,
                            &error),
               &error, "1000", "DDIM t = T");
  DM_CHECK(dm_ddim_step(out, x0, &c, s, 10, -10, 0.0f, m, x, NULL, 4, &error),
           "DDIM eta = 0 needs no noise");
  g_clear_error(&error);

  DmScheduleConfig bad = c;
  bad.num_train_timesteps = 500;
  expect_error(dm_ddim_step(out, x0, &bad, s, 10, 0, 0.0f, m, x, NULL, 4,
                            &error),
               &error, "500", "config / schedule length mismatch");
  bad = c;
  bad.prediction_type = DM_PREDICTION_COUNT;
  expect_error(dm_ddpm_step(out, x0, &bad, s, 10, 9, m, x, z, 4, &error),
               &error, "prediction_type", "bad prediction_type");
  bad = c;
  bad.variance_type = (DmVarianceType)-1;
  expect_error(dm_ddpm_step(out, x0, &bad, s, 10, 9, m, x, z, 4, &error),
               &error, "variance_type", "bad variance_type");
  bad = c;
  bad.clip_sample_range = 0.0f;
  expect_error(dm_ddpm_step(out, x0, &bad, s, 10, 9, m, x, z, 4, &error),
               &error, "clip_sample_range", "clip_sample_range = 0");

  /* Previous-timestep helpers. */
  int32_t ts[3] = {20, 10, 0};
  DM_CHECK(dm_ddpm_prev_timestep(ts, 3, 0) == 10 &&
               dm_ddpm_prev_timestep(ts, 3, 2) == -1,
           "DDPM previous timestep");
  DmScheduleConfig trailing = c;
  trailing.timestep_spacing = DM_SPACING_TRAILING;
  DM_CHECK(dm_ddim_prev_timestep(&trailing, 3, 999) == 666 &&
               dm_ddim_prev_timestep(&c, 50, 0) == -20,
           "DDIM previous timestep t - T // n");
  printf("%s step argument errors\n",
         dm_test_failures == before ? "ok  " : "FAIL");
  dm_schedule_free(s);
}

int main(void) {
  test_refvec();
  test_consistency();
  test_errors();
  return dm_test_finish();
}
