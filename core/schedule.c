/* gimp-diffusion core: the discrete noise schedule — diffusers'
 * DDPMScheduler / DDIMScheduler configuration, its beta and alpha_bar tables
 * and the inference timesteps of set_timesteps().
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
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "dm.h"
#include "model-io.h"

/* ---- names ------------------------------------------------------------- */

/* One table per enum, indexed by the enum value; the spellings are
 * diffusers' config values. */
static const char *const beta_schedule_names[DM_BETA_SCHEDULE_COUNT] = {
    [DM_BETA_LINEAR] = "linear",
    [DM_BETA_SCALED_LINEAR] = "scaled_linear",
    [DM_BETA_SQUAREDCOS_CAP_V2] = "squaredcos_cap_v2",
};
static const char *const prediction_names[DM_PREDICTION_COUNT] = {
    [DM_PREDICT_EPSILON] = "epsilon",
    [DM_PREDICT_V] = "v_prediction",
    [DM_PREDICT_SAMPLE] = "sample",
};
static const char *const spacing_names[DM_SPACING_COUNT] = {
    [DM_SPACING_LEADING] = "leading",
    [DM_SPACING_TRAILING] = "trailing",
    [DM_SPACING_LINSPACE] = "linspace",
};
static const char *const variance_type_names[DM_VARIANCE_COUNT] = {
    [DM_VARIANCE_FIXED_SMALL] = "fixed_small",
    [DM_VARIANCE_FIXED_LARGE] = "fixed_large",
};

static const char *const sde_names[DM_SDE_COUNT] = {
    [DM_SDE_VP] = "vp",
    [DM_SDE_VE] = "ve",
};

/* Joins a table's names with ", " for messages (caller g_free()s). */
static char *table_list(const char *const *table, int count) {
  GString *s = g_string_new(NULL);
  for (int i = 0; i < count; i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", table[i]);
  return g_string_free(s, FALSE);
}

DM_DEFINE_NAME_HELPERS(dm_sde, DmSde, sde_names, DM_SDE_COUNT)
DM_DEFINE_NAME_HELPERS(dm_beta_schedule, DmBetaSchedule, beta_schedule_names,
                       DM_BETA_SCHEDULE_COUNT)
DM_DEFINE_NAME_HELPERS(dm_prediction, DmPrediction, prediction_names,
                       DM_PREDICTION_COUNT)
DM_DEFINE_NAME_HELPERS(dm_spacing, DmSpacing, spacing_names, DM_SPACING_COUNT)
DM_DEFINE_NAME_HELPERS(dm_variance_type, DmVarianceType, variance_type_names,
                       DM_VARIANCE_COUNT)

/* ---- configuration ----------------------------------------------------- */

#define DM_MAX_TRAIN_TIMESTEPS 100000
/* How a VE network of ours is conditioned: the noise level's index t. */
#define VE_TIMESTEP_INPUT "level_index"

void dm_schedule_config_default(DmScheduleConfig *config) {
  g_return_if_fail(config != NULL);
  /* DDPMScheduler.__init__'s defaults; DDIMScheduler's agree on every field
   * both have, and set_alpha_to_one is DDIM's own (default True). */
  *config = (DmScheduleConfig){
      .sde = DM_SDE_VP,
      .num_train_timesteps = 1000,
      .sigma_min = 0.01f,
      .sigma_max = 50.0f,
      .beta_start = 0.0001f,
      .beta_end = 0.02f,
      .beta_schedule = DM_BETA_LINEAR,
      .prediction_type = DM_PREDICT_EPSILON,
      .clip_sample = true,
      .clip_sample_range = 1.0f,
      .variance_type = DM_VARIANCE_FIXED_SMALL,
      .timestep_spacing = DM_SPACING_LEADING,
      .steps_offset = 0,
      .set_alpha_to_one = true,
  };
}

/* Checks every field's range; `code` is DM_ERROR_FORMAT for a parsed file,
 * DM_ERROR_INVALID_ARGUMENT for a caller's struct. */
static bool config_check(const DmScheduleConfig *c, DmErrorCode code,
                         GError **error) {
  const char *what = "scheduler config";
  if (c->num_train_timesteps < 1 ||
      c->num_train_timesteps > DM_MAX_TRAIN_TIMESTEPS) {
    g_set_error(error, DM_ERROR, code,
                "%s: num_train_timesteps = %d is out of range 1..%d", what,
                c->num_train_timesteps, DM_MAX_TRAIN_TIMESTEPS);
    return false;
  }
  /* NaN fails both comparisons. */
  if (!(c->beta_start > 0.0f && c->beta_start < 1.0f)) {
    g_set_error(error, DM_ERROR, code,
                "%s: beta_start = %g is out of range, must be in (0, 1)", what,
                (double)c->beta_start);
    return false;
  }
  if (!(c->beta_end > 0.0f && c->beta_end < 1.0f)) {
    g_set_error(error, DM_ERROR, code,
                "%s: beta_end = %g is out of range, must be in (0, 1)", what,
                (double)c->beta_end);
    return false;
  }
  if (!(c->clip_sample_range > 0.0f && isfinite(c->clip_sample_range))) {
    g_set_error(error, DM_ERROR, code,
                "%s: clip_sample_range = %g must be a positive number", what,
                (double)c->clip_sample_range);
    return false;
  }
  if (c->steps_offset < 0 || c->steps_offset >= c->num_train_timesteps) {
    g_set_error(error, DM_ERROR, code,
                "%s: steps_offset = %d is out of range 0..%d "
                "(num_train_timesteps - 1)",
                what, c->steps_offset, c->num_train_timesteps - 1);
    return false;
  }
  if (c->sde == DM_SDE_VE &&
      !(c->sigma_min > 0.0f && c->sigma_min < c->sigma_max &&
        c->sigma_max <= 1e6f && c->num_train_timesteps >= 2 &&
        c->prediction_type == DM_PREDICT_EPSILON)) {
    g_set_error(error, DM_ERROR, code,
                "%s: a VE schedule needs 0 < sigma_min < sigma_max <= 1e6, "
                "at least 2 timesteps and epsilon prediction (got sigma "
                "%g .. %g, %d timesteps, %s)", what, (double)c->sigma_min,
                (double)c->sigma_max, c->num_train_timesteps,
                dm_prediction_name(c->prediction_type)
                    ? dm_prediction_name(c->prediction_type) : "?");
    return false;
  }
  struct {
    const char *field;
    int value, count;
  } enums[] = {
      {"sde", (int)c->sde, DM_SDE_COUNT},
      {"beta_schedule", (int)c->beta_schedule, DM_BETA_SCHEDULE_COUNT},
      {"prediction_type", (int)c->prediction_type, DM_PREDICTION_COUNT},
      {"variance_type", (int)c->variance_type, DM_VARIANCE_COUNT},
      {"timestep_spacing", (int)c->timestep_spacing, DM_SPACING_COUNT},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(enums); i++) {
    if (enums[i].value < 0 || enums[i].value >= enums[i].count) {
      g_set_error(error, DM_ERROR, code, "%s: %s = %d is not a valid value",
                  what, enums[i].field, enums[i].value);
      return false;
    }
  }
  return true;
}

/* The JSON text of a value for messages, shortened (caller g_free()s). */
static char *node_text(JsonNode *node) {
  char *text = json_to_string(node, FALSE);
  if (text && strlen(text) > 48) {
    text[44] = '\0';
    char *shortened = g_strconcat(text, " ...", NULL);
    g_free(text);
    text = shortened;
  }
  return text ? text : g_strdup("?");
}

static const char *node_type_name(JsonNode *node) {
  if (JSON_NODE_HOLDS_NULL(node)) return "null";
  if (JSON_NODE_HOLDS_OBJECT(node)) return "an object";
  if (JSON_NODE_HOLDS_ARRAY(node)) return "an array";
  GType type = json_node_get_value_type(node);
  if (type == G_TYPE_STRING) return "a string";
  if (type == G_TYPE_BOOLEAN) return "a boolean";
  if (type == G_TYPE_INT64) return "an integer";
  if (type == G_TYPE_DOUBLE) return "a number";
  return "a value of unknown type";
}

static bool type_error(const char *key, JsonNode *node, const char *wanted,
                       GError **error) {
  char *text = node_text(node);
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "scheduler config: %s must be %s, not %s (%s)", key, wanted,
              node_type_name(node), text);
  g_free(text);
  return false;
}

static bool unsupported(const char *key, JsonNode *node, const char *why,
                        GError **error) {
  char *text = node_text(node);
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "scheduler config: %s = %s is not supported%s%s", key, text,
              why ? ": " : "", why ? why : "");
  g_free(text);
  return false;
}

static bool node_is(JsonNode *node, GType type) {
  return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

/* An integer, or an integral number such as 1000.0 (as config.c takes). */
static bool get_int(const char *key, JsonNode *node, int32_t *out,
                    GError **error) {
  double v;
  if (node_is(node, G_TYPE_INT64))
    v = (double)json_node_get_int(node);
  else if (node_is(node, G_TYPE_DOUBLE) &&
           json_node_get_double(node) == floor(json_node_get_double(node)))
    v = json_node_get_double(node);
  else
    return type_error(key, node, "an integer", error);
  if (!(v >= INT32_MIN && v <= INT32_MAX)) {
    char *text = node_text(node);
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "scheduler config: %s = %s is out of range", key, text);
    g_free(text);
    return false;
  }
  *out = (int32_t)v;
  return true;
}

/* Any JSON number (integer or not). */
static bool get_number(const char *key, JsonNode *node, double *out,
                       GError **error) {
  if (node_is(node, G_TYPE_INT64)) {
    *out = (double)json_node_get_int(node);
    return true;
  }
  if (node_is(node, G_TYPE_DOUBLE)) {
    *out = json_node_get_double(node);
    return true;
  }
  return type_error(key, node, "a number", error);
}

static bool get_float(const char *key, JsonNode *node, float *out,
                      GError **error) {
  double v = 0.0;
  if (!get_number(key, node, &v, error)) return false;
  *out = (float)v; /* ranges are checked by config_check() */
  return true;
}

static bool get_bool(const char *key, JsonNode *node, bool *out,
                     GError **error) {
  if (!node_is(node, G_TYPE_BOOLEAN))
    return type_error(key, node, "true or false", error);
  *out = json_node_get_boolean(node);
  return true;
}

/* A string that must be one of `table`'s names. Values that diffusers knows
 * but we do not implement, and unknown ones, are DM_ERROR_UNSUPPORTED. */
static bool get_enum(const char *key, JsonNode *node, const char *const *table,
                     int count, int *out, GError **error) {
  if (!node_is(node, G_TYPE_STRING))
    return type_error(key, node, "a string", error);
  if (dm_table_find(table, count, json_node_get_string(node), out)) return true;
  char *list = table_list(table, count);
  char *why = g_strdup_printf("supported values are %s", list);
  unsupported(key, node, why, error);
  g_free(why);
  g_free(list);
  return false;
}

typedef bool (*KeyParser)(DmScheduleConfig *c, const char *key,
                          JsonNode *node, GError **error);

static bool parse_num_train_timesteps(DmScheduleConfig *c, const char *key,
                                      JsonNode *node, GError **error) {
  return get_int(key, node, &c->num_train_timesteps, error);
}
static bool parse_beta_start(DmScheduleConfig *c, const char *key,
                             JsonNode *node, GError **error) {
  return get_float(key, node, &c->beta_start, error);
}
static bool parse_beta_end(DmScheduleConfig *c, const char *key,
                           JsonNode *node, GError **error) {
  return get_float(key, node, &c->beta_end, error);
}
static bool parse_beta_schedule(DmScheduleConfig *c, const char *key,
                                JsonNode *node, GError **error) {
  int v = 0;
  if (!get_enum(key, node, beta_schedule_names, DM_BETA_SCHEDULE_COUNT, &v,
                error))
    return false;
  c->beta_schedule = (DmBetaSchedule)v;
  return true;
}
static bool parse_prediction_type(DmScheduleConfig *c, const char *key,
                                  JsonNode *node, GError **error) {
  int v = 0;
  if (!get_enum(key, node, prediction_names, DM_PREDICTION_COUNT, &v, error))
    return false;
  c->prediction_type = (DmPrediction)v;
  return true;
}
static bool parse_variance_type(DmScheduleConfig *c, const char *key,
                                JsonNode *node, GError **error) {
  int v = 0;
  if (!get_enum(key, node, variance_type_names, DM_VARIANCE_COUNT, &v, error))
    return false;
  c->variance_type = (DmVarianceType)v;
  return true;
}
static bool parse_timestep_spacing(DmScheduleConfig *c, const char *key,
                                   JsonNode *node, GError **error) {
  int v = 0;
  if (!get_enum(key, node, spacing_names, DM_SPACING_COUNT, &v, error))
    return false;
  c->timestep_spacing = (DmSpacing)v;
  return true;
}
static bool parse_clip_sample(DmScheduleConfig *c, const char *key,
                              JsonNode *node, GError **error) {
  return get_bool(key, node, &c->clip_sample, error);
}
/* VE configs we write say how their network is conditioned; diffusers' own
 * VE models (NCSN++) take sigma and predict the score instead. */
static bool parse_timestep_input(DmScheduleConfig *c, const char *key,
                                 JsonNode *node, GError **error) {
  (void)c;
  if (node_is(node, G_TYPE_STRING) &&
      strcmp(json_node_get_string(node), VE_TIMESTEP_INPUT) == 0)
    return true;
  return unsupported(key, node, "only \"" VE_TIMESTEP_INPUT "\" is", error);
}
static bool parse_sigma_min(DmScheduleConfig *c, const char *key,
                            JsonNode *node, GError **error) {
  return get_float(key, node, &c->sigma_min, error);
}
static bool parse_sigma_max(DmScheduleConfig *c, const char *key,
                            JsonNode *node, GError **error) {
  return get_float(key, node, &c->sigma_max, error);
}
static bool parse_clip_sample_range(DmScheduleConfig *c, const char *key,
                                    JsonNode *node, GError **error) {
  return get_float(key, node, &c->clip_sample_range, error);
}
static bool parse_steps_offset(DmScheduleConfig *c, const char *key,
                               JsonNode *node, GError **error) {
  return get_int(key, node, &c->steps_offset, error);
}
static bool parse_set_alpha_to_one(DmScheduleConfig *c, const char *key,
                                   JsonNode *node, GError **error) {
  return get_bool(key, node, &c->set_alpha_to_one, error);
}
/* Keys whose only supported value is the default (false / null). */
static bool parse_must_be_false(DmScheduleConfig *c, const char *key,
                                JsonNode *node, GError **error) {
  bool v = false;
  (void)c;
  if (!get_bool(key, node, &v, error)) return false;
  return v ? unsupported(key, node, NULL, error) : true;
}
static bool parse_trained_betas(DmScheduleConfig *c, const char *key,
                                JsonNode *node, GError **error) {
  (void)c;
  if (JSON_NODE_HOLDS_NULL(node)) return true;
  return unsupported(key, node, "only null (betas from beta_schedule) is",
                     error);
}
/* Used only with thresholding (which we refuse): type-checked, not kept. */
static bool parse_ignored_number(DmScheduleConfig *c, const char *key,
                                 JsonNode *node, GError **error) {
  double v = 0.0;
  (void)c;
  return get_number(key, node, &v, error);
}

static const struct {
  const char *key;
  KeyParser parse;
} config_keys[] = {
    {"num_train_timesteps", parse_num_train_timesteps},
    {"beta_start", parse_beta_start},
    {"beta_end", parse_beta_end},
    {"beta_schedule", parse_beta_schedule},
    {"trained_betas", parse_trained_betas},
    {"variance_type", parse_variance_type},
    {"clip_sample", parse_clip_sample},
    {"prediction_type", parse_prediction_type},
    {"thresholding", parse_must_be_false},
    {"dynamic_thresholding_ratio", parse_ignored_number},
    {"clip_sample_range", parse_clip_sample_range},
    {"sample_max_value", parse_ignored_number},
    {"timestep_spacing", parse_timestep_spacing},
    {"steps_offset", parse_steps_offset},
    {"rescale_betas_zero_snr", parse_must_be_false},
    {"set_alpha_to_one", parse_set_alpha_to_one},
    {"timestep_input", parse_timestep_input},
    {"sigma_min", parse_sigma_min},
    {"sigma_max", parse_sigma_max},
    /* ScoreSdeVeScheduler's sampling settings: ours are sampler options */
    {"snr", parse_ignored_number},
    {"sampling_eps", parse_ignored_number},
    {"correct_steps", parse_ignored_number},
};

/* The forward process a config's "_class_name" names (VP unless it is
 * diffusers' ScoreSdeVeScheduler). */
static DmSde class_sde(JsonObject *object) {
  JsonNode *node = json_object_get_member(object, "_class_name");
  const char *name = node && JSON_NODE_HOLDS_VALUE(node) &&
                             json_node_get_value_type(node) == G_TYPE_STRING
                         ? json_node_get_string(node) : "";
  return strcmp(name, "ScoreSdeVeScheduler") == 0 ? DM_SDE_VE : DM_SDE_VP;
}

bool dm_schedule_config_from_json(DmScheduleConfig *config, const char *json,
                                  GError **error) {
  g_return_val_if_fail(config != NULL, false);
  if (json == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "scheduler config: no JSON text");
    return false;
  }
  /* The text may come from an untrusted model file: the shared reader
   * checks UTF-8, nesting depth and duplicate keys. */
  JsonParser *parser =
      dm_json_parse_object(json, -1, "scheduler config", error);
  if (parser == NULL) return false;
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  DmScheduleConfig c;
  dm_schedule_config_default(&c);
  c.sde = class_sde(object);
  GList *members = json_object_get_members(object);
  bool ok = true;
  for (GList *l = members; l != NULL && ok; l = l->next) {
    const char *key = l->data;
    if (key[0] == '_') continue; /* _class_name, _diffusers_version, ... */
    for (size_t i = 0; i < G_N_ELEMENTS(config_keys); i++) {
      if (strcmp(key, config_keys[i].key) == 0) {
        ok = config_keys[i].parse(&c, key, json_object_get_member(object, key),
                                  error);
        break;
      }
    }
    /* Other keys belong to other schedulers (skip_prk_steps, ...): ignored,
     * as diffusers' from_config ignores them. */
  }
  g_list_free(members);
  if (ok && c.sde == DM_SDE_VE && !json_object_has_member(object, "timestep_input")) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "scheduler config: a ScoreSdeVeScheduler model without "
                "\"timestep_input\": \"" VE_TIMESTEP_INPUT "\" is a diffusers "
                "NCSN++ model (score from sigma), which is not supported");
    ok = false;
  }
  if (ok) ok = config_check(&c, DM_ERROR_FORMAT, error);
  if (ok) *config = c;
  g_object_unref(parser);
  return ok;
}

/* The shortest decimal (at most 9 significant digits, g_ascii_formatd "%.Ng",
 * locale-independent) that reads back as `value`. Configs write their floats
 * as short decimals (0.00085, 0.012), so this recovers the text the value
 * came from. */
static void float_to_shortest(float value, char *buf, size_t size) {
  for (int digits = 1; digits <= 9; digits++) {
    char format[8];
    snprintf(format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd(buf, (int)size, format, (double)value);
    if ((float)g_ascii_strtod(buf, NULL) == value) return;
  }
}

/* The double a config's float was parsed from (see above): diffusers keeps
 * the config's Python floats in double, and scaled_linear takes their square
 * roots in double before rounding to float32. sqrt(double(f32(0.012))) and
 * sqrt(0.012) round to different float32 values, so the double matters. */
static double float_source_double(float value) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  float_to_shortest(value, buf, sizeof buf);
  return g_ascii_strtod(buf, NULL);
}

/* Appends a float as Python's json.dumps writes the double it came from:
 * shortest form, and always with a '.' or an exponent ("1.0", "1e-05"). */
static void append_float(GString *s, float value) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  float_to_shortest(value, buf, sizeof buf);
  g_string_append(s, buf);
  if (strpbrk(buf, ".eEn") == NULL) g_string_append(s, ".0");
}

/* diffusers' ScoreSdeVeScheduler keys (its sampling defaults for snr,
 * sampling_eps and correct_steps) plus how our network is conditioned. */
static char *ve_config_to_json(const DmScheduleConfig *config) {
  GString *s = g_string_new("{\n");
  g_string_append(s, "  \"_class_name\": \"ScoreSdeVeScheduler\",\n");
  g_string_append(s, "  \"correct_steps\": 1,\n");
  g_string_append_printf(s, "  \"num_train_timesteps\": %d,\n",
                         config->num_train_timesteps);
  g_string_append(s, "  \"prediction_type\": \"epsilon\",\n");
  g_string_append(s, "  \"sampling_eps\": 1e-05,\n");
  g_string_append(s, "  \"sigma_max\": ");
  append_float(s, config->sigma_max);
  g_string_append(s, ",\n  \"sigma_min\": ");
  append_float(s, config->sigma_min);
  g_string_append(s, ",\n  \"snr\": 0.15,\n");
  g_string_append_printf(s, "  \"timestep_input\": \"%s\",\n",
                         VE_TIMESTEP_INPUT);
  g_string_append_printf(s, "  \"timestep_spacing\": \"%s\"\n}\n",
                         dm_spacing_name(config->timestep_spacing));
  return g_string_free(s, FALSE);
}

char *dm_schedule_config_to_json(const DmScheduleConfig *config) {
  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(config_check(config, DM_ERROR_INVALID_ARGUMENT, NULL),
                       NULL);
  if (config->sde == DM_SDE_VE) return ve_config_to_json(config);
  /* The layout of diffusers' save_config(): keys sorted, two-space indent.
   * set_alpha_to_one is DDIMScheduler's; DDPMScheduler.from_config drops it
   * silently (DDIM is one of its _compatibles), DDIMScheduler reads it.
   * dynamic_thresholding_ratio and sample_max_value are diffusers' defaults
   * (unused: thresholding is off). */
  GString *s = g_string_new("{\n");
  g_string_append(s, "  \"_class_name\": \"DDPMScheduler\",\n");
  g_string_append(s, "  \"beta_end\": ");
  append_float(s, config->beta_end);
  g_string_append_printf(s, ",\n  \"beta_schedule\": \"%s\",\n",
                         dm_beta_schedule_name(config->beta_schedule));
  g_string_append(s, "  \"beta_start\": ");
  append_float(s, config->beta_start);
  g_string_append_printf(s, ",\n  \"clip_sample\": %s,\n",
                         config->clip_sample ? "true" : "false");
  g_string_append(s, "  \"clip_sample_range\": ");
  append_float(s, config->clip_sample_range);
  g_string_append(s, ",\n  \"dynamic_thresholding_ratio\": 0.995,\n");
  g_string_append_printf(s, "  \"num_train_timesteps\": %d,\n",
                         config->num_train_timesteps);
  g_string_append_printf(s, "  \"prediction_type\": \"%s\",\n",
                         dm_prediction_name(config->prediction_type));
  g_string_append(s, "  \"rescale_betas_zero_snr\": false,\n");
  g_string_append(s, "  \"sample_max_value\": 1.0,\n");
  g_string_append_printf(s, "  \"set_alpha_to_one\": %s,\n",
                         config->set_alpha_to_one ? "true" : "false");
  g_string_append_printf(s, "  \"steps_offset\": %d,\n", config->steps_offset);
  g_string_append(s, "  \"thresholding\": false,\n");
  g_string_append_printf(s, "  \"timestep_spacing\": \"%s\",\n",
                         dm_spacing_name(config->timestep_spacing));
  g_string_append(s, "  \"trained_betas\": null,\n");
  g_string_append_printf(s, "  \"variance_type\": \"%s\"\n}\n",
                         dm_variance_type_name(config->variance_type));
  return g_string_free(s, FALSE);
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
  if (!config_check(config, DM_ERROR_INVALID_ARGUMENT, error)) return NULL;
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
      g_assert_not_reached(); /* config_check() refused it */
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
  if (!config_check(config, DM_ERROR_INVALID_ARGUMENT, error)) return false;
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
      g_assert_not_reached(); /* config_check() refused it */
  }
  return true;
}
