/* The noise schedule: config names and JSON, beta / alpha_bar tables and
 * inference timesteps, against diffusers' reference vectors
 * (tests/data/schedulers, see README-refvec.txt, section SCHEDULERS) and
 * against independent double-precision formulas.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <float.h>
#include <string.h>

#include "dm-test.h"
#include "model/safetensors.h"

/* Unit roundoff of float32 (half an ulp at 1). */
#define U32 ((double)FLT_EPSILON / 2)

/* ---- helpers ----------------------------------------------------------- */

/* Distance in ulps between two finite floats of the same sign. */
static int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

/* Compares a float32 table with a reference: prints the max relative
 * difference, max ulps and how many entries differ at all; fails when the
 * relative difference exceeds `rtol` (0: bit-exact required). */
static void compare_table(const char *label, const float *got,
                          const float *want, int32_t n, double rtol) {
  double max_rel = 0.0;
  int64_t max_ulp = 0;
  int32_t differ = 0, worst = 0;
  for (int32_t i = 0; i < n; i++) {
    if (got[i] != want[i]) differ++;
    double rel = fabs((double)got[i] - want[i]) / fabs((double)want[i]);
    if (!(rel <= max_rel)) { /* NaN counts as worst */
      max_rel = rel;
      worst = i;
    }
    int64_t ulps = ulp_distance(got[i], want[i]);
    if (ulps > max_ulp) max_ulp = ulps;
  }
  bool ok = rtol == 0.0 ? differ == 0 : max_rel <= rtol;
  printf("%s %-44s n=%-5d max rel=%.3g (at %d) max ulp=%" G_GINT64_FORMAT
         " differ=%d tol=%s%.3g first=[%.9g %.9g] want=[%.9g %.9g]\n",
         ok ? "ok  " : "FAIL", label, n, max_rel, worst, max_ulp, differ,
         rtol == 0.0 ? "exact " : "", rtol, got[0], n > 1 ? got[1] : 0.0,
         want[0], n > 1 ? want[1] : 0.0);
  if (!ok) dm_test_failures++;
}

/* Same against a double-precision reference. */
static void compare_table_f64(const char *label, const float *got,
                              const double *want, int32_t n, double rtol) {
  double max_rel = 0.0;
  int32_t worst = 0;
  for (int32_t i = 0; i < n; i++) {
    double rel = fabs((double)got[i] - want[i]) / fabs(want[i]);
    if (!(rel <= max_rel)) {
      max_rel = rel;
      worst = i;
    }
  }
  bool ok = max_rel <= rtol;
  printf("%s %-44s n=%-5d max rel=%.3g (at %d) tol=%.3g (%.1f u) "
         "first=[%.9g %.9g] want=[%.9g %.9g]\n",
         ok ? "ok  " : "FAIL", label, n, max_rel, worst, rtol, rtol / U32,
         got[0], n > 1 ? got[1] : 0.0, want[0], n > 1 ? want[1] : 0.0);
  if (!ok) dm_test_failures++;
}

static void check_ints(const char *label, const int32_t *got,
                       const int32_t *want, int32_t n) {
  int32_t bad = -1;
  for (int32_t i = 0; i < n && bad < 0; i++)
    if (got[i] != want[i]) bad = i;
  printf("%s %-44s n=%-5d first=%d last=%d%s\n", bad < 0 ? "ok  " : "FAIL",
         label, n, got[0], got[n - 1], bad < 0 ? "" : " MISMATCH");
  if (bad >= 0) {
    fprintf(stderr, "  %s: entry %d is %d, want %d\n", label, bad, got[bad],
            want[bad]);
    dm_test_failures++;
  }
}

/* The timesteps for (T, spacing, offset, n), or NULL with the error. */
static int32_t *timesteps_for(int32_t T, DmSpacing spacing, int32_t offset,
                              int32_t n, GError **error) {
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  c.num_train_timesteps = T;
  c.timestep_spacing = spacing;
  c.steps_offset = offset;
  int32_t *ts = g_new0(int32_t, n > 0 ? n : 1);
  if (!dm_schedule_timesteps(&c, n, ts, error)) {
    g_free(ts);
    return NULL;
  }
  return ts;
}

static bool configs_equal(const DmScheduleConfig *a,
                          const DmScheduleConfig *b) {
  return a->num_train_timesteps == b->num_train_timesteps &&
         a->beta_start == b->beta_start && a->beta_end == b->beta_end &&
         a->beta_schedule == b->beta_schedule &&
         a->prediction_type == b->prediction_type &&
         a->clip_sample == b->clip_sample &&
         a->clip_sample_range == b->clip_sample_range &&
         a->variance_type == b->variance_type &&
         a->timestep_spacing == b->timestep_spacing &&
         a->steps_offset == b->steps_offset &&
         a->set_alpha_to_one == b->set_alpha_to_one;
}

/* ---- names and defaults ------------------------------------------------ */

static void test_names(void) {
  static const struct {
    const char *name;
    int value;
  } betas[] = {{"linear", DM_BETA_LINEAR},
               {"scaled_linear", DM_BETA_SCALED_LINEAR},
               {"squaredcos_cap_v2", DM_BETA_SQUAREDCOS_CAP_V2}},
    predictions[] = {{"epsilon", DM_PREDICT_EPSILON},
                     {"v_prediction", DM_PREDICT_V},
                     {"sample", DM_PREDICT_SAMPLE}},
    spacings[] = {{"leading", DM_SPACING_LEADING},
                  {"trailing", DM_SPACING_TRAILING},
                  {"linspace", DM_SPACING_LINSPACE}},
    variances[] = {{"fixed_small", DM_VARIANCE_FIXED_SMALL},
                   {"fixed_large", DM_VARIANCE_FIXED_LARGE}};
  G_STATIC_ASSERT(G_N_ELEMENTS(betas) == DM_BETA_SCHEDULE_COUNT);
  G_STATIC_ASSERT(G_N_ELEMENTS(predictions) == DM_PREDICTION_COUNT);
  G_STATIC_ASSERT(G_N_ELEMENTS(spacings) == DM_SPACING_COUNT);
  G_STATIC_ASSERT(G_N_ELEMENTS(variances) == DM_VARIANCE_COUNT);
  for (size_t i = 0; i < G_N_ELEMENTS(betas); i++) {
    DmBetaSchedule v = DM_BETA_SCHEDULE_COUNT;
    DM_CHECK(g_strcmp0(dm_beta_schedule_name(betas[i].value), betas[i].name) ==
                     0 &&
                 dm_beta_schedule_from_name(betas[i].name, &v) &&
                 (int)v == betas[i].value,
             "beta schedule %s", betas[i].name);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(predictions); i++) {
    DmPrediction v = DM_PREDICTION_COUNT;
    DM_CHECK(g_strcmp0(dm_prediction_name(predictions[i].value),
                       predictions[i].name) == 0 &&
                 dm_prediction_from_name(predictions[i].name, &v) &&
                 (int)v == predictions[i].value,
             "prediction %s", predictions[i].name);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(spacings); i++) {
    DmSpacing v = DM_SPACING_COUNT;
    DM_CHECK(g_strcmp0(dm_spacing_name(spacings[i].value), spacings[i].name) ==
                     0 &&
                 dm_spacing_from_name(spacings[i].name, &v) &&
                 (int)v == spacings[i].value,
             "spacing %s", spacings[i].name);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(variances); i++) {
    DmVarianceType v = DM_VARIANCE_COUNT;
    DM_CHECK(g_strcmp0(dm_variance_type_name(variances[i].value),
                       variances[i].name) == 0 &&
                 dm_variance_type_from_name(variances[i].name, &v) &&
                 (int)v == variances[i].value,
             "variance type %s", variances[i].name);
  }
  DmBetaSchedule b = DM_BETA_LINEAR;
  DM_CHECK(!dm_beta_schedule_from_name("sigmoid", &b) && b == DM_BETA_LINEAR,
           "unknown name refused, output untouched");
  DM_CHECK(!dm_beta_schedule_from_name(NULL, &b), "NULL name refused");
  DM_CHECK(!dm_prediction_from_name("Epsilon", NULL), "names are exact");
  DM_CHECK(!dm_spacing_from_name("", NULL), "empty name refused");
  DM_CHECK(!dm_variance_type_from_name("learned", NULL), "learned refused");
  DM_CHECK(dm_beta_schedule_name(DM_BETA_SCHEDULE_COUNT) == NULL &&
               dm_prediction_name((DmPrediction)-1) == NULL &&
               dm_spacing_name(DM_SPACING_COUNT) == NULL &&
               dm_variance_type_name(DM_VARIANCE_COUNT) == NULL,
           "out-of-range enum values have no name");
  printf("ok   names\n");
}

static void test_defaults(void) {
  DmScheduleConfig c;
  memset(&c, 0xff, sizeof c);
  dm_schedule_config_default(&c);
  DM_CHECK(c.num_train_timesteps == 1000 && c.beta_start == 0.0001f &&
               c.beta_end == 0.02f && c.beta_schedule == DM_BETA_LINEAR &&
               c.prediction_type == DM_PREDICT_EPSILON && c.clip_sample &&
               c.clip_sample_range == 1.0f &&
               c.variance_type == DM_VARIANCE_FIXED_SMALL &&
               c.timestep_spacing == DM_SPACING_LEADING &&
               c.steps_offset == 0 && c.set_alpha_to_one,
           "DDPMScheduler defaults");
  DmScheduleConfig parsed;
  GError *error = NULL;
  DM_CHECK_OK(dm_schedule_config_from_json(&parsed, "{}", &error), error);
  DM_CHECK(configs_equal(&parsed, &c), "{} parses to the defaults");
  printf("ok   defaults\n");
}

/* ---- reference vectors ------------------------------------------------- */

static float *read_tensor(DmSafetensors *st, const char *name, int32_t n,
                          const char *folder) {
  const DmStEntry *entry = dm_safetensors_find(st, name);
  if (entry == NULL || entry->numel != (size_t)n) {
    fprintf(stderr, "FAIL %s: tensor %s missing or not %d long\n", folder,
            name, n);
    dm_test_failures++;
    return NULL;
  }
  float *data = g_new(float, n);
  dm_safetensors_read_f32(entry, data);
  return data;
}

/* The refvec's timesteps_<n> (int64 in diffusers, stored as float32). */
static void check_refvec_timesteps(DmSafetensors *st, const char *folder,
                                   const DmScheduleConfig *config, int32_t n) {
  char name[32], label[96];
  snprintf(name, sizeof name, "timesteps_%d", n);
  if (dm_safetensors_find(st, name) == NULL) return; /* DDIM: only 50 */
  float *want_f = read_tensor(st, name, n, folder);
  if (want_f == NULL) return;
  int32_t *want = g_new(int32_t, n), *got = g_new(int32_t, n);
  for (int32_t i = 0; i < n; i++) want[i] = (int32_t)want_f[i];
  GError *error = NULL;
  DM_CHECK_OK(dm_schedule_timesteps(config, n, got, &error), error);
  snprintf(label, sizeof label, "%s %s (%s)", folder, name,
           dm_spacing_name(config->timestep_spacing));
  check_ints(label, got, want, n);
  g_free(got);
  g_free(want);
  g_free(want_f);
}

static void test_refvec_folder(const char *dir, const char *folder) {
  GError *error = NULL;
  char *config_path = g_build_filename(dir, folder, "scheduler_config.json",
                                       NULL);
  char *tensors_path = g_build_filename(dir, folder, "tensors.safetensors",
                                        NULL);
  char *json = NULL;
  DM_CHECK_OK(g_file_get_contents(config_path, &json, NULL, &error), error);
  DmScheduleConfig config;
  DM_CHECK_OK(dm_schedule_config_from_json(&config, json, &error), error);
  /* The folder names say what the configs hold. */
  DM_CHECK(config.num_train_timesteps == 1000 &&
               config.beta_schedule == (strstr(folder, "squaredcos")
                                            ? DM_BETA_SQUAREDCOS_CAP_V2
                                            : DM_BETA_LINEAR) &&
               config.timestep_spacing == (strstr(folder, "trailing")
                                               ? DM_SPACING_TRAILING
                                               : DM_SPACING_LEADING) &&
               config.clip_sample == !(strstr(folder, "ddim") ||
                                       strstr(folder, "noclip")) &&
               config.variance_type == (strstr(folder, "cifar10")
                                            ? DM_VARIANCE_FIXED_LARGE
                                            : DM_VARIANCE_FIXED_SMALL),
           "%s: parsed config does not match the folder's description",
           folder);
  DmSchedule *s = dm_schedule_new(&config, &error);
  DM_CHECK_OK(s != NULL, error);
  DmSafetensors *st = dm_safetensors_open(tensors_path, &error);
  DM_CHECK_OK(st != NULL, error);
  const int32_t T = config.num_train_timesteps;
  char label[96];

  /* linear: torch.linspace, reproduced bit for bit. squaredcos_cap_v2 goes
   * through libm cos/pow in double; one float32 ulp is allowed there for
   * other libms (glibc gives 0). alphas_cumprod: double accumulation
   * rounded per entry, as torch's CPU cumprod; bit-exact here, allowed
   * 1e-6 relative. */
  float *betas = read_tensor(st, "betas", T, folder);
  float *acp = read_tensor(st, "alphas_cumprod", T, folder);
  if (betas && acp) {
    bool linear = config.beta_schedule == DM_BETA_LINEAR;
    snprintf(label, sizeof label, "%s betas (%s)", folder,
             dm_beta_schedule_name(config.beta_schedule));
    compare_table(label, s->betas, betas, T, linear ? 0.0 : 2 * U32);
    snprintf(label, sizeof label, "%s alphas_cumprod", folder);
    compare_table(label, s->alphas_cumprod, acp, T, linear ? 0.0 : 1e-6);
  }
  g_free(betas);
  g_free(acp);

  check_refvec_timesteps(st, folder, &config, 50);
  check_refvec_timesteps(st, folder, &config, 1000);

  /* The config survives a round trip through our writer. */
  char *written = dm_schedule_config_to_json(&config);
  DmScheduleConfig again;
  DM_CHECK_OK(dm_schedule_config_from_json(&again, written, &error), error);
  DM_CHECK(configs_equal(&config, &again), "%s: config round trip", folder);

  g_free(written);
  dm_safetensors_free(st);
  dm_schedule_free(s);
  g_free(json);
  g_free(tensors_path);
  g_free(config_path);
}

static void test_refvec(void) {
  char *dir = dm_test_data_path("schedulers");
  GPtrArray *folders = dm_test_scheduler_folders(dir);
  DM_CHECK(folders->len >= 8, "expected 8 scheduler folders in %s, found %u",
           dir, folders->len);
  for (guint i = 0; i < folders->len; i++)
    test_refvec_folder(dir, folders->pdata[i]);
  g_ptr_array_free(folders, TRUE);
  g_free(dir);
}

/* ---- tables against independent formulas ------------------------------ */

/* Relative error bound of a torch float32 linspace entry: the endpoints
 * (1 u each when converted), the step (subtraction and division, 2 u,
 * scaled by at most the entry itself), the fused multiply-add (1 u). */
#define LINSPACE_ULPS 5.0

static DmSchedule *schedule_for(DmBetaSchedule kind, int32_t T, float start,
                                float end) {
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  c.beta_schedule = kind;
  c.num_train_timesteps = T;
  c.beta_start = start;
  c.beta_end = end;
  GError *error = NULL;
  DmSchedule *s = dm_schedule_new(&c, &error);
  DM_CHECK_OK(s != NULL, error);
  return s;
}

/* alphas_cumprod against prod(1 - beta) of the double betas. Each alpha is
 * rounded to float32 (1 - beta in [0.5, 1): at most u/2 absolute) after
 * beta's own error (rel_beta * beta); summed over t this bounds the
 * relative error of the product. */
static void check_cumprod_f64(const char *label, const DmSchedule *s,
                              const double *betas, double rel_beta) {
  const int32_t T = s->num_train_timesteps;
  double *want = g_new(double, T);
  double product = 1.0, bound = 0.0, worst_bound = 0.0;
  for (int32_t t = 0; t < T; t++) {
    product *= 1.0 - betas[t];
    want[t] = product;
    bound += (U32 / 2 + rel_beta * betas[t]) / (1.0 - betas[t]);
    worst_bound = bound;
  }
  compare_table_f64(label, s->alphas_cumprod, want, T, worst_bound + U32);
  g_free(want);
}

static void test_linear_f64(void) {
  const int32_t T = 1000;
  DmSchedule *s = schedule_for(DM_BETA_LINEAR, T, 0.0001f, 0.02f);
  double *want = g_new(double, T);
  for (int32_t i = 0; i < T; i++)
    want[i] = 0.0001 + (0.02 - 0.0001) * i / (T - 1);
  compare_table_f64("linear betas vs f64 formula", s->betas, want, T,
                    LINSPACE_ULPS * U32);
  check_cumprod_f64("linear alphas_cumprod vs f64 product", s, want,
                    LINSPACE_ULPS * U32);
  g_free(want);
  dm_schedule_free(s);

  /* T = 1: torch.linspace(start, end, 1) == [start]. */
  s = schedule_for(DM_BETA_LINEAR, 1, 0.0001f, 0.02f);
  DM_CHECK(s->betas[0] == 0.0001f && s->alphas_cumprod[0] == 1.0f - 0.0001f,
           "T = 1 gives beta_start");
  dm_schedule_free(s);
}

/* scaled_linear (Stable Diffusion's 0.00085..0.012), which has no refvec:
 * beta_i = (sqrt(b0) + i (sqrt(b1) - sqrt(b0)) / (T - 1))^2. Squaring
 * doubles the linspace error and rounds once more. */
static void test_scaled_linear(void) {
  const int32_t T = 1000;
  const double b0 = 0.00085, b1 = 0.012;
  DmSchedule *s = schedule_for(DM_BETA_SCALED_LINEAR, T, (float)b0, (float)b1);
  double *want = g_new(double, T);
  for (int32_t i = 0; i < T; i++) {
    double r = sqrt(b0) + (sqrt(b1) - sqrt(b0)) * i / (T - 1);
    want[i] = r * r;
  }
  const double rel = (2 * LINSPACE_ULPS + 1) * U32;
  compare_table_f64("scaled_linear betas vs f64 formula", s->betas, want, T,
                    rel);
  check_cumprod_f64("scaled_linear alphas_cumprod vs f64 product", s, want,
                    rel);
  DM_CHECK(ulp_distance(s->betas[0], (float)b0) <= 1 &&
               ulp_distance(s->betas[T - 1], (float)b1) <= 1,
           "scaled_linear ends: %.9g %.9g, want %.9g %.9g within 1 ulp",
           s->betas[0], s->betas[T - 1], (float)b0, (float)b1);
  /* diffusers takes beta_end ** 0.5 of the config's double 0.012, not of
   * float32(0.012): the two square roots round to different floats. */
  float root = (float)sqrt(0.012);
  DM_CHECK(s->betas[T - 1] == root * root,
           "scaled_linear last beta %.9g, want f32(sqrt(0.012))^2 = %.9g",
           s->betas[T - 1], root * root);
  printf("ok   scaled_linear ends %.9g %.9g\n", s->betas[0], s->betas[T - 1]);
  g_free(want);
  dm_schedule_free(s);
}

/* squaredcos_cap_v2 telescopes: alpha_bar_t = abar((t+1)/T) / abar(0) while
 * no beta is capped at 0.999 (only the last one is, at T = 1000). */
static void test_squaredcos_telescopes(void) {
  const int32_t T = 1000;
  DmSchedule *s = schedule_for(DM_BETA_SQUAREDCOS_CAP_V2, T, 0.0001f, 0.02f);
  const int32_t n = T - 1;
  double *want = g_new(double, n);
  double abar0 = cos(0.008 / 1.008 * G_PI / 2);
  abar0 *= abar0;
  for (int32_t t = 0; t < n; t++) {
    double c = cos(((t + 1.0) / T + 0.008) / 1.008 * G_PI / 2);
    want[t] = c * c / abar0;
  }
  DM_CHECK(s->betas[T - 1] == 0.999f && s->betas[T - 2] < 0.999f,
           "only the last beta is capped at 0.999 (%.9g, %.9g)",
           s->betas[T - 2], s->betas[T - 1]);
  /* Each beta is within 1 u of its double (plus the ratio's cancellation,
   * tiny next to that); same bound as above with rel_beta = u. */
  double bound = U32, betas_bound = 0.0;
  for (int32_t t = 0; t < n; t++) {
    double beta = s->betas[t];
    betas_bound += (U32 / 2 + U32 * beta) / (1.0 - beta);
  }
  bound += betas_bound;
  compare_table_f64("squaredcos alphas_cumprod vs abar(t+1)/abar(0)",
                    s->alphas_cumprod, want, n, bound);
  g_free(want);
  dm_schedule_free(s);
}

/* ---- timesteps ----------------------------------------------------------- */

static void check_known(const char *label, int32_t T, DmSpacing spacing,
                        int32_t offset, int32_t n, const int32_t *want,
                        int32_t first, int32_t count) {
  GError *error = NULL;
  int32_t *ts = timesteps_for(T, spacing, offset, n, &error);
  DM_CHECK_OK(ts != NULL, error);
  check_ints(label, ts + first, want, count);
  g_free(ts);
}

static void test_timesteps_known(void) {
  /* Values from numpy (np.linspace / np.arange / np.round, as diffusers'
   * set_timesteps calls them). */
  int32_t want[1000];
  for (int32_t i = 0; i < 50; i++) want[i] = 980 - 20 * i;
  check_known("leading T=1000 n=50", 1000, DM_SPACING_LEADING, 0, 50, want, 0,
              50);
  for (int32_t i = 0; i < 50; i++) want[i] = 981 - 20 * i;
  check_known("leading T=1000 n=50 steps_offset=1", 1000, DM_SPACING_LEADING,
              1, 50, want, 0, 50);
  check_known("leading T=1000 n=3", 1000, DM_SPACING_LEADING, 0, 3,
              (int32_t[]){666, 333, 0}, 0, 3);
  for (int32_t i = 0; i < 50; i++) want[i] = 999 - 20 * i;
  check_known("trailing T=1000 n=50", 1000, DM_SPACING_TRAILING, 0, 50, want,
              0, 50);
  /* np.round is half-to-even: 937.5 -> 938, 812.5 -> 812. */
  check_known("trailing T=1000 n=16 (half to even)", 1000,
              DM_SPACING_TRAILING, 0, 16,
              (int32_t[]){999, 937, 874, 811, 749, 687, 624, 561, 499, 437,
                          374, 311, 249, 187, 124, 61},
              0, 16);
  /* np.arange fills T + i * ((T - T/n) - T): entry 3 is 937.49999..., not
   * 937.5, so 936 (T - 3 * T/n would give 937). */
  check_known("trailing T=1000 n=48 (arange fill)", 1000, DM_SPACING_TRAILING,
              0, 48, (int32_t[]){999, 978, 957, 936}, 0, 4);
  /* numpy's arange has 62 entries here and diffusers appends -1; we stop at
   * n. */
  check_known("trailing T=1000 n=61 (last 3)", 1000, DM_SPACING_TRAILING, 0,
              61, (int32_t[]){48, 32, 15}, 58, 3);
  check_known("linspace T=1000 n=50 (first 6)", 1000, DM_SPACING_LINSPACE, 0,
              50, (int32_t[]){999, 979, 958, 938, 917, 897}, 0, 6);
  check_known("linspace T=1000 n=50 (last 3)", 1000, DM_SPACING_LINSPACE, 0,
              50, (int32_t[]){41, 20, 0}, 47, 3);
  /* 832.5 -> 832 and 166.5 -> 166 (half to even). */
  check_known("linspace T=1000 n=7 (half to even)", 1000, DM_SPACING_LINSPACE,
              0, 7, (int32_t[]){999, 832, 666, 500, 333, 166, 0}, 0, 7);
  check_known("linspace T=6 n=3 (2.5 -> 2)", 6, DM_SPACING_LINSPACE, 0, 3,
              (int32_t[]){5, 2, 0}, 0, 3);
  /* n = 1: leading and linspace give 0 (+ offset for leading), trailing
   * T - 1. */
  check_known("leading n=1", 1000, DM_SPACING_LEADING, 0, 1, (int32_t[]){0},
              0, 1);
  check_known("leading n=1 steps_offset=1", 1000, DM_SPACING_LEADING, 1, 1,
              (int32_t[]){1}, 0, 1);
  check_known("linspace n=1", 1000, DM_SPACING_LINSPACE, 0, 1, (int32_t[]){0},
              0, 1);
  check_known("trailing n=1", 1000, DM_SPACING_TRAILING, 0, 1,
              (int32_t[]){999}, 0, 1);
  /* n = T: every timestep, for every spacing. */
  for (int32_t i = 0; i < 1000; i++) want[i] = 999 - i;
  for (int sp = 0; sp < DM_SPACING_COUNT; sp++) {
    char label[64];
    snprintf(label, sizeof label, "%s n=T=1000", dm_spacing_name(sp));
    check_known(label, 1000, (DmSpacing)sp, 0, 1000, want, 0, 1000);
  }
}

/* Every n in 1..T and spacing: descending, in range, and the documented
 * first and last entries. */
static void test_timesteps_properties(void) {
  const int32_t T = 1000;
  for (int sp = 0; sp < DM_SPACING_COUNT; sp++) {
    for (int32_t offset = 0; offset <= (sp == DM_SPACING_LEADING); offset++) {
      int32_t bad = 0, tested = 0;
      for (int32_t n = 1; n <= T; n++) {
        GError *error = NULL;
        int32_t *ts = timesteps_for(T, (DmSpacing)sp, offset, n, &error);
        if (ts == NULL) {
          /* Only leading + offset past T - 1 may fail (n = T here). */
          DM_CHECK(offset == 1 && n == T, "%s n=%d: %s", dm_spacing_name(sp),
                   n, error->message);
          g_clear_error(&error);
          continue;
        }
        tested++;
        bool ok = ts[0] <= T - 1 && ts[n - 1] >= 0;
        for (int32_t i = 1; i < n; i++) ok = ok && ts[i] < ts[i - 1];
        if (sp == DM_SPACING_LEADING)
          ok = ok && ts[0] == (n - 1) * (T / n) + offset &&
               ts[n - 1] == offset;
        if (sp == DM_SPACING_TRAILING) ok = ok && ts[0] == T - 1;
        if (sp == DM_SPACING_LINSPACE)
          ok = ok && ts[n - 1] == 0 && (n == 1 || ts[0] == T - 1);
        if (!ok) {
          if (bad == 0)
            fprintf(stderr, "  %s offset %d n=%d: first %d last %d\n",
                    dm_spacing_name(sp), offset, n, ts[0], ts[n - 1]);
          bad++;
        }
        g_free(ts);
      }
      printf("%s %s steps_offset=%d: %d step counts descending, in range\n",
             bad ? "FAIL" : "ok  ", dm_spacing_name(sp), offset, tested);
      if (bad) dm_test_failures++;
    }
  }
}

static void test_timesteps_errors(void) {
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  int32_t ts[1001];
  const int32_t bad_n[] = {0, -1, 1001};
  for (size_t i = 0; i < G_N_ELEMENTS(bad_n); i++) {
    GError *error = NULL;
    bool ok = dm_schedule_timesteps(&c, bad_n[i], ts, &error);
    DM_CHECK(!ok && error &&
                 g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT),
             "n = %d refused", bad_n[i]);
    g_clear_error(&error);
  }
  /* leading, steps_offset 1, n = T: the first step would be T. */
  c.steps_offset = 1;
  GError *error = NULL;
  DM_CHECK(!dm_schedule_timesteps(&c, 1000, ts, &error) && error &&
               strstr(error->message, "steps_offset"),
           "offset past T - 1 refused, naming steps_offset");
  g_clear_error(&error);
  DM_CHECK(dm_schedule_timesteps(&c, 500, ts, &error) && ts[0] == 999,
           "offset 1 with 500 steps reaches 999");
  g_clear_error(&error);
  DM_CHECK(!dm_schedule_timesteps(NULL, 10, ts, &error) && error,
           "NULL config refused");
  g_clear_error(&error);
  printf("ok   timestep errors\n");
}

/* ---- JSON ---------------------------------------------------------------- */

static void test_json_round_trip(void) {
  DmScheduleConfig configs[3];
  dm_schedule_config_default(&configs[0]);
  /* Stable-Diffusion-like. */
  configs[1] = configs[0];
  configs[1].beta_start = 0.00085f;
  configs[1].beta_end = 0.012f;
  configs[1].beta_schedule = DM_BETA_SCALED_LINEAR;
  configs[1].prediction_type = DM_PREDICT_V;
  configs[1].clip_sample = false;
  configs[1].clip_sample_range = 1.5f;
  configs[1].variance_type = DM_VARIANCE_FIXED_LARGE;
  configs[1].timestep_spacing = DM_SPACING_TRAILING;
  configs[1].steps_offset = 1;
  configs[1].set_alpha_to_one = false;
  configs[2] = configs[0];
  configs[2].num_train_timesteps = 4000;
  configs[2].beta_start = 1e-5f;
  configs[2].beta_end = 0.0123456789f;
  configs[2].beta_schedule = DM_BETA_SQUAREDCOS_CAP_V2;
  configs[2].prediction_type = DM_PREDICT_SAMPLE;
  configs[2].timestep_spacing = DM_SPACING_LINSPACE;
  for (size_t i = 0; i < G_N_ELEMENTS(configs); i++) {
    char *json = dm_schedule_config_to_json(&configs[i]);
    DmScheduleConfig back;
    GError *error = NULL;
    DM_CHECK_OK(dm_schedule_config_from_json(&back, json, &error), error);
    DM_CHECK(configs_equal(&configs[i], &back), "round trip %zu:\n%s", i,
             json);
    DM_CHECK(strstr(json, "\"_class_name\": \"DDPMScheduler\"") != NULL,
             "class name written");
    if (i == 0)
      DM_CHECK(strstr(json, "\"beta_start\": 0.0001,") &&
                   strstr(json, "\"beta_end\": 0.02,") &&
                   strstr(json, "\"clip_sample_range\": 1.0,") &&
                   strstr(json, "\"num_train_timesteps\": 1000,"),
               "floats written as the short decimals diffusers wrote:\n%s",
               json);
    if (i == 1)
      DM_CHECK(strstr(json, "\"beta_start\": 0.00085,") &&
                   strstr(json, "\"beta_schedule\": \"scaled_linear\"") &&
                   strstr(json, "\"prediction_type\": \"v_prediction\"") &&
                   strstr(json, "\"timestep_spacing\": \"trailing\"") &&
                   strstr(json, "\"set_alpha_to_one\": false"),
               "names written:\n%s", json);
    if (i == 2)
      DM_CHECK(strstr(json, "\"beta_start\": 1e-05,"), "exponent form:\n%s",
               json);
    g_free(json);
  }
  printf("ok   JSON round trip\n");
}

static void test_json_accepts(void) {
  DmScheduleConfig defaults, c;
  dm_schedule_config_default(&defaults);
  GError *error = NULL;
  /* Private keys, other schedulers' keys and the default values of keys we
   * do not implement are accepted. */
  const char *json =
      "{\"_class_name\": \"PNDMScheduler\", \"_diffusers_version\": \"0.6.0\","
      " \"skip_prk_steps\": true, \"foo\": [1, {\"a\": null}],"
      " \"trained_betas\": null, \"thresholding\": false,"
      " \"rescale_betas_zero_snr\": false, \"sample_max_value\": 1,"
      " \"dynamic_thresholding_ratio\": 0.995}";
  DM_CHECK_OK(dm_schedule_config_from_json(&c, json, &error), error);
  DM_CHECK(configs_equal(&c, &defaults), "ignored keys leave the defaults");
  /* Integers for floats, an integral number for an integer. */
  DM_CHECK_OK(dm_schedule_config_from_json(
                  &c,
                  "{\"num_train_timesteps\": 500.0, \"clip_sample_range\": 2,"
                  " \"beta_schedule\": \"squaredcos_cap_v2\"}",
                  &error),
              error);
  DM_CHECK(c.num_train_timesteps == 500 && c.clip_sample_range == 2.0f &&
               c.beta_schedule == DM_BETA_SQUAREDCOS_CAP_V2,
           "numbers of either JSON kind");
  printf("ok   JSON accepted forms\n");
}

static void test_json_errors(void) {
  static const struct {
    const char *json;
    DmErrorCode code;
    const char *field, *value; /* both must appear in the message */
  } cases[] = {
      {"{\"beta_schedule\": \"sigmoid\"}", DM_ERROR_UNSUPPORTED,
       "beta_schedule", "sigmoid"},
      {"{\"beta_schedule\": \"laplace\"}", DM_ERROR_UNSUPPORTED,
       "beta_schedule", "laplace"},
      {"{\"beta_schedule\": 3}", DM_ERROR_FORMAT, "beta_schedule", "3"},
      {"{\"trained_betas\": [0.1, 0.2]}", DM_ERROR_UNSUPPORTED,
       "trained_betas", "0.1"},
      {"{\"thresholding\": true}", DM_ERROR_UNSUPPORTED, "thresholding",
       "true"},
      {"{\"rescale_betas_zero_snr\": true}", DM_ERROR_UNSUPPORTED,
       "rescale_betas_zero_snr", "true"},
      {"{\"variance_type\": \"learned\"}", DM_ERROR_UNSUPPORTED,
       "variance_type", "learned"},
      {"{\"variance_type\": \"learned_range\"}", DM_ERROR_UNSUPPORTED,
       "variance_type", "learned_range"},
      {"{\"variance_type\": \"fixed_small_log\"}", DM_ERROR_UNSUPPORTED,
       "variance_type", "fixed_small_log"},
      {"{\"prediction_type\": \"eps\"}", DM_ERROR_UNSUPPORTED,
       "prediction_type", "eps"},
      {"{\"timestep_spacing\": \"karras\"}", DM_ERROR_UNSUPPORTED,
       "timestep_spacing", "karras"},
      {"{\"timestep_spacing\": null}", DM_ERROR_FORMAT, "timestep_spacing",
       "null"},
      {"{\"num_train_timesteps\": 0}", DM_ERROR_FORMAT, "num_train_timesteps",
       "0"},
      {"{\"num_train_timesteps\": 100001}", DM_ERROR_FORMAT,
       "num_train_timesteps", "100001"},
      {"{\"num_train_timesteps\": -5}", DM_ERROR_FORMAT,
       "num_train_timesteps", "-5"},
      {"{\"num_train_timesteps\": 1e12}", DM_ERROR_FORMAT,
       "num_train_timesteps", "1"},
      {"{\"num_train_timesteps\": 1000.5}", DM_ERROR_FORMAT,
       "num_train_timesteps", "1000.5"},
      {"{\"num_train_timesteps\": \"1000\"}", DM_ERROR_FORMAT,
       "num_train_timesteps", "\"1000\""},
      {"{\"beta_start\": 0}", DM_ERROR_FORMAT, "beta_start", "0"},
      {"{\"beta_start\": 1}", DM_ERROR_FORMAT, "beta_start", "1"},
      {"{\"beta_start\": \"0.0001\"}", DM_ERROR_FORMAT, "beta_start",
       "0.0001"},
      {"{\"beta_end\": -0.5}", DM_ERROR_FORMAT, "beta_end", "-0.5"},
      {"{\"beta_end\": 1.5}", DM_ERROR_FORMAT, "beta_end", "1.5"},
      {"{\"clip_sample\": 1}", DM_ERROR_FORMAT, "clip_sample", "1"},
      {"{\"clip_sample_range\": 0}", DM_ERROR_FORMAT, "clip_sample_range",
       "0"},
      {"{\"clip_sample_range\": -1.5}", DM_ERROR_FORMAT, "clip_sample_range",
       "-1.5"},
      {"{\"steps_offset\": -1}", DM_ERROR_FORMAT, "steps_offset", "-1"},
      {"{\"steps_offset\": 1000}", DM_ERROR_FORMAT, "steps_offset", "1000"},
      {"{\"steps_offset\": true}", DM_ERROR_FORMAT, "steps_offset", "true"},
      {"{\"set_alpha_to_one\": \"yes\"}", DM_ERROR_FORMAT, "set_alpha_to_one",
       "yes"},
      {"{\"dynamic_thresholding_ratio\": \"x\"}", DM_ERROR_FORMAT,
       "dynamic_thresholding_ratio", "x"},
      {"[1, 2]", DM_ERROR_FORMAT, "scheduler config", "object"},
      {"not json", DM_ERROR_FORMAT, "scheduler config", ""},
      {"{\"beta_start\": ", DM_ERROR_FORMAT, "scheduler config", ""},
  };
  DmScheduleConfig sentinel, c;
  dm_schedule_config_default(&sentinel);
  sentinel.num_train_timesteps = 77;
  sentinel.beta_schedule = DM_BETA_SCALED_LINEAR;
  int bad = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *error = NULL;
    c = sentinel;
    bool ok = dm_schedule_config_from_json(&c, cases[i].json, &error);
    bool good = !ok && error != NULL &&
                g_error_matches(error, DM_ERROR, (gint)cases[i].code) &&
                strstr(error->message, cases[i].field) != NULL &&
                strstr(error->message, cases[i].value) != NULL &&
                configs_equal(&c, &sentinel);
    if (!good) {
      fprintf(stderr, "FAIL %s -> %s (code %d, want %d)\n", cases[i].json,
              error ? error->message : "accepted", error ? error->code : -1,
              (int)cases[i].code);
      bad++;
    } else {
      printf("     %-42s -> %s\n", cases[i].json, error->message);
    }
    g_clear_error(&error);
  }
  GError *error = NULL;
  DM_CHECK(!dm_schedule_config_from_json(&c, NULL, &error) && error,
           "NULL text refused");
  g_clear_error(&error);
  printf("%s JSON errors: %zu cases\n", bad ? "FAIL" : "ok  ",
         G_N_ELEMENTS(cases));
  dm_test_failures += bad;
}

static void test_new_errors(void) {
  DmScheduleConfig c;
  GError *error = NULL;
  DM_CHECK(dm_schedule_new(NULL, &error) == NULL && error, "NULL config");
  g_clear_error(&error);
  static const char *const fields[] = {"num_train_timesteps", "beta_start",
                                       "beta_schedule", "timestep_spacing"};
  for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
    dm_schedule_config_default(&c);
    switch (i) {
      case 0: c.num_train_timesteps = 0; break;
      case 1: c.beta_start = NAN; break;
      case 2: c.beta_schedule = DM_BETA_SCHEDULE_COUNT; break;
      case 3: c.timestep_spacing = (DmSpacing)-1; break;
    }
    DmSchedule *s = dm_schedule_new(&c, &error);
    DM_CHECK(s == NULL && error &&
                 g_error_matches(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT) &&
                 strstr(error->message, fields[i]),
             "bad %s refused: %s", fields[i],
             error ? error->message : "accepted");
    dm_schedule_free(s);
    g_clear_error(&error);
  }
  dm_schedule_free(NULL);
  printf("ok   dm_schedule_new errors\n");
}

int main(void) {
  test_names();
  test_defaults();
  test_refvec();
  test_linear_f64();
  test_scaled_linear();
  test_squaredcos_telescopes();
  test_timesteps_known();
  test_timesteps_properties();
  test_timesteps_errors();
  test_json_round_trip();
  test_json_accepts();
  test_json_errors();
  test_new_errors();
  return dm_test_finish();
}
