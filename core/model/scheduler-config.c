/* gimp-diffusion core: the noise schedule's configuration — diffusers'
 * DDPMScheduler / DDIMScheduler / ScoreSdeVeScheduler scheduler_config.json:
 * names, defaults, checks, reading and writing. The tables it describes
 * are sampling/schedule.c's.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <string.h>

#include "model/json.h"
#include "model/scheduler-config.h"

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

bool dm_schedule_config_check(const DmScheduleConfig *c, DmErrorCode code,
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

#define LABEL "scheduler config"

static bool get_int(const char *key, JsonNode *node, int32_t *out,
                    GError **error) {
  return dm_json_to_int(node, LABEL, key, false, out, error);
}

static bool get_number(const char *key, JsonNode *node, double *out,
                       GError **error) {
  return dm_json_to_double(node, LABEL, key, out, error);
}

/* Ranges are checked by dm_schedule_config_check(). */
static bool get_float(const char *key, JsonNode *node, float *out,
                      GError **error) {
  return dm_json_to_float(node, LABEL, key, out, error);
}

static bool get_bool(const char *key, JsonNode *node, bool *out,
                     GError **error) {
  return dm_json_to_bool(node, LABEL, key, out, error);
}

/* A string that must be one of `table`'s names. Values that diffusers knows
 * but we do not implement, and unknown ones, are DM_ERROR_UNSUPPORTED. */
static bool get_enum(const char *key, JsonNode *node, const char *const *table,
                     int count, int *out, GError **error) {
  return dm_json_to_choice(node, LABEL, key, table, count, out, error);
}

static bool unsupported(const char *key, JsonNode *node, const char *why,
                        GError **error) {
  return dm_json_unsupported(node, LABEL, key, why, error);
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
  if (JSON_NODE_HOLDS_VALUE(node) &&
      json_node_get_value_type(node) == G_TYPE_STRING &&
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
  if (ok) ok = dm_schedule_config_check(&c, DM_ERROR_FORMAT, error);
  if (ok) *config = c;
  g_object_unref(parser);
  return ok;
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
  dm_json_append_float(s, config->sigma_max);
  g_string_append(s, ",\n  \"sigma_min\": ");
  dm_json_append_float(s, config->sigma_min);
  g_string_append(s, ",\n  \"snr\": 0.15,\n");
  g_string_append_printf(s, "  \"timestep_input\": \"%s\",\n",
                         VE_TIMESTEP_INPUT);
  g_string_append_printf(s, "  \"timestep_spacing\": \"%s\"\n}\n",
                         dm_spacing_name(config->timestep_spacing));
  return g_string_free(s, FALSE);
}

char *dm_schedule_config_to_json(const DmScheduleConfig *config) {
  g_return_val_if_fail(config != NULL, NULL);
  g_return_val_if_fail(dm_schedule_config_check(config, DM_ERROR_INVALID_ARGUMENT, NULL),
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
  dm_json_append_float(s, config->beta_end);
  g_string_append_printf(s, ",\n  \"beta_schedule\": \"%s\",\n",
                         dm_beta_schedule_name(config->beta_schedule));
  g_string_append(s, "  \"beta_start\": ");
  dm_json_append_float(s, config->beta_start);
  g_string_append_printf(s, ",\n  \"clip_sample\": %s,\n",
                         config->clip_sample ? "true" : "false");
  g_string_append(s, "  \"clip_sample_range\": ");
  dm_json_append_float(s, config->clip_sample_range);
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

