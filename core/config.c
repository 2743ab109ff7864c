/* gimp-diffusion core: the network configuration (diffusers UNet2DModel
 * config.json), and the bounded JSON parsing every loader uses.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Field names, meanings and defaults follow diffusers'
 * UNet2DModel.__init__ (src/diffusers/models/unets/unet_2d.py). Keys
 * starting with "_" are bookkeeping and ignored (except a _class_name other
 * than UNet2DModel). A value we cannot run is refused with
 * DM_ERROR_UNSUPPORTED naming field and value; a value of the wrong JSON
 * type with DM_ERROR_FORMAT naming the field. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dm-private.h"
#include "model-io.h"

/* Written into exported config.json files; diffusers only records it. */
#define DM_DIFFUSERS_VERSION "0.31.0"

/* Limits that keep a hostile config from asking for absurd allocations. */
#define DM_MAX_CHANNELS 4096
#define DM_MAX_SAMPLE_SIZE 65536

/* ---- bounded JSON parsing ---------------------------------------------- */

/* Scans strict JSON lexically: the deepest nesting, or -1 when a character
 * outside a string cannot occur in strict JSON (comments, single quotes:
 * json-glib would accept some, and then the scan would not match its
 * parse) or a string holds a raw control character or is unterminated. */
static int32_t json_nesting_depth(const char *text, size_t length) {
  int32_t depth = 0, deepest = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"') {
      for (i++; i < length && text[i] != '"'; i++) {
        if ((unsigned char)text[i] < 0x20) return -1;
        if (text[i] == '\\') i++; /* the escaped character never ends it */
      }
      if (i >= length) return -1;
    } else if (c == '[' || c == '{') {
      depth++;
      deepest = MAX(deepest, depth);
      if (depth > DM_JSON_MAX_DEPTH) return depth; /* stop early */
    } else if (c == ']' || c == '}') {
      depth--;
    } else if (!(g_ascii_isalnum(c) || strchr(" \t\r\n,:+-.", c))) {
      return -1;
    }
  }
  return deepest;
}

/* The "object-member" signal fires after each member is stored; a
 * duplicate key replaces the earlier one and leaves the size unchanged, so
 * counting signals per object finds it. */
typedef struct {
  GHashTable *members_seen; /* JsonObject* -> count of members signalled */
  char *duplicate;          /* first duplicated key, owned */
} DuplicateCheck;

static void on_object_member(JsonParser *parser, JsonObject *object,
                             const char *name, gpointer user_data) {
  (void)parser;
  DuplicateCheck *check = user_data;
  guint seen = GPOINTER_TO_UINT(
                   g_hash_table_lookup(check->members_seen, object)) + 1;
  g_hash_table_insert(check->members_seen, object, GUINT_TO_POINTER(seen));
  if (seen != json_object_get_size(object) && !check->duplicate)
    check->duplicate = g_strdup(name);
}

/* Runs json-glib on text already checked by json_nesting_depth. */
static JsonParser *parse_checked_json(const char *text, gssize length,
                                     const char *label, GError **error) {
  JsonParser *parser = json_parser_new();
  DuplicateCheck check = {g_hash_table_new(NULL, NULL), NULL};
  gulong handler = g_signal_connect(parser, "object-member",
                                    G_CALLBACK(on_object_member), &check);
  GError *local = NULL;
  bool ok = json_parser_load_from_data(parser, text, length, &local);
  g_signal_handler_disconnect(parser, handler);
  g_hash_table_destroy(check.members_seen);
  if (!ok) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "%s: invalid JSON: %s",
                label, local->message);
    g_error_free(local);
  } else if (check.duplicate) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "%s: duplicate key \"%s\"",
                label, check.duplicate);
    ok = false;
  } else if (!json_parser_get_root(parser) || /* empty or blank text */
             !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: JSON text is not an object", label);
    ok = false;
  }
  g_free(check.duplicate);
  if (!ok) g_clear_object(&parser);
  return parser;
}

JsonParser *dm_json_parse_object(const char *text, gssize length,
                                 const char *label, GError **error) {
  if (!label) label = "JSON";
  size_t size = length < 0 ? strlen(text) : (size_t)length;
  if (size > G_MAXSSIZE || !g_utf8_validate_len(text, size, NULL)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: JSON text is not valid UTF-8", label);
    return NULL;
  }
  int32_t depth = json_nesting_depth(text, size);
  if (depth < 0 || depth > DM_JSON_MAX_DEPTH) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                depth < 0 ? "%s: not strict JSON (bad character or string)"
                          : "%s: JSON nested deeper than %d levels",
                label, DM_JSON_MAX_DEPTH);
    return NULL;
  }
  return parse_checked_json(text, (gssize)size, label, error);
}

/* ---- typed field readers ----------------------------------------------- */

/* Each reader leaves *out alone when the field is absent (the default
 * stays) and fails with DM_ERROR_FORMAT naming the field on a wrong type. */

static bool is_null(JsonNode *node) { return JSON_NODE_HOLDS_NULL(node); }

static bool wrong_type(const char *field, const char *what, GError **error) {
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "config field \"%s\" must be %s", field, what);
  return false;
}

/* An integer node (or an integral double such as 1.0) in int32 range. */
static bool node_to_int32(JsonNode *node, int32_t *out) {
  if (!JSON_NODE_HOLDS_VALUE(node)) return false;
  GType type = json_node_get_value_type(node);
  double value;
  if (type == G_TYPE_INT64)
    value = (double)json_node_get_int(node);
  else if (type == G_TYPE_DOUBLE)
    value = json_node_get_double(node);
  else
    return false;
  if (!(value >= INT32_MIN && value <= INT32_MAX) || value != floor(value))
    return false;
  *out = (int32_t)value;
  return true;
}

/* `nullable`: a JSON null reads as 0. */
static bool read_int(JsonObject *obj, const char *field, bool nullable,
                     int32_t *out, GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node) return true;
  if (nullable && is_null(node)) {
    *out = 0;
    return true;
  }
  if (!node_to_int32(node, out))
    return wrong_type(field, nullable ? "an integer or null" : "an integer",
                      error);
  return true;
}

static bool read_float(JsonObject *obj, const char *field, float *out,
                       GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node) return true;
  GType type = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node)
                                           : G_TYPE_INVALID;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return wrong_type(field, "a number", error);
  double value = json_node_get_double(node); /* converts integers too */
  /* beyond float's range is infinite (validation refuses it), never UB */
  if (fabs(value) > FLT_MAX)
    *out = value > 0 ? INFINITY : -INFINITY;
  else
    *out = (float)value;
  return true;
}

static bool read_bool(JsonObject *obj, const char *field, bool *out,
                      GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node) return true;
  if (!JSON_NODE_HOLDS_VALUE(node) ||
      json_node_get_value_type(node) != G_TYPE_BOOLEAN)
    return wrong_type(field, "true or false", error);
  *out = json_node_get_boolean(node);
  return true;
}

static bool unsupported_value(const char *field, const char *value,
                              GError **error) {
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "unsupported config value %s=\"%s\"", field, value);
  return false;
}

/* A string field that must be one of `allowed` (NULL-terminated); a JSON
 * null counts as the string "null" (allowed when listed). Sets *index to
 * the position of the value in `allowed`, untouched when absent. */
static bool read_choice(JsonObject *obj, const char *field,
                        const char *const *allowed, int32_t *index,
                        GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node) return true;
  const char *value = "null";
  if (!is_null(node)) {
    if (!JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_STRING)
      return wrong_type(field, "a string", error);
    value = json_node_get_string(node);
  }
  for (int32_t i = 0; allowed[i]; i++) {
    if (strcmp(value, allowed[i]) == 0) {
      *index = i;
      return true;
    }
  }
  return unsupported_value(field, value, error);
}

/* A field that must be absent or null (features we do not implement). */
static bool read_must_be_null(JsonObject *obj, const char *field,
                              GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node || is_null(node)) return true;
  char *text = json_to_string(node, FALSE);
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "unsupported config value %s=%s", field, text);
  g_free(text);
  return false;
}

/* ---- the UNet2DModel fields -------------------------------------------- */

/* diffusers UNet2DModel's defaults. */
static void config_set_defaults(DmUnetConfig *c) {
  static const int32_t channels[4] = {224, 448, 672, 896};
  memset(c, 0, sizeof *c);
  c->sample_size = 0; /* null */
  c->in_channels = 3;
  c->out_channels = 3;
  c->center_input_sample = false;
  c->freq_shift = 0;
  c->flip_sin_to_cos = true;
  c->n_levels = 4;
  for (int i = 0; i < 4; i++) {
    c->block_out_channels[i] = channels[i];
    c->down_attention[i] = i > 0;  /* Down, AttnDown x3 */
    c->up_attention[i] = i < 3;    /* AttnUp x3, Up */
  }
  c->layers_per_block = 2;
  c->mid_block_scale_factor = 1.0f;
  c->downsample_padding = 1;
  c->attention_head_dim = 8;
  c->norm_num_groups = 32;
  c->attn_norm_num_groups = 0;
  c->norm_eps = 1e-5f;
  c->has_mid_block = true;
  c->add_attention = true;
  c->dropout = 0.0f;
}

/* "sample_size": an int, null, or a list of two equal ints. */
static bool read_sample_size(JsonObject *obj, DmUnetConfig *c,
                             GError **error) {
  JsonNode *node = json_object_get_member(obj, "sample_size");
  if (!node || !JSON_NODE_HOLDS_ARRAY(node))
    return read_int(obj, "sample_size", true, &c->sample_size, error);
  JsonArray *array = json_node_get_array(node);
  int32_t h, w;
  if (json_array_get_length(array) != 2 ||
      !node_to_int32(json_array_get_element(array, 0), &h) ||
      !node_to_int32(json_array_get_element(array, 1), &w))
    return wrong_type("sample_size", "an integer, [h, w] or null", error);
  if (h != w) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "unsupported config value sample_size=[%d, %d] (only square)",
                h, w);
    return false;
  }
  c->sample_size = h;
  return true;
}

/* "block_out_channels": 1..DM_MAX_LEVELS integers; sets n_levels. */
static bool read_block_out_channels(JsonObject *obj, DmUnetConfig *c,
                                    GError **error) {
  JsonNode *node = json_object_get_member(obj, "block_out_channels");
  if (!node) return true;
  const char *what = "a list of 1 to 8 integers";
  if (!JSON_NODE_HOLDS_ARRAY(node))
    return wrong_type("block_out_channels", what, error);
  JsonArray *array = json_node_get_array(node);
  guint n = json_array_get_length(array);
  if (n < 1 || n > DM_MAX_LEVELS)
    return wrong_type("block_out_channels", what, error);
  for (guint i = 0; i < n; i++) {
    if (!node_to_int32(json_array_get_element(array, i),
                       &c->block_out_channels[i]))
      return wrong_type("block_out_channels", what, error);
  }
  c->n_levels = (int32_t)n;
  return true;
}

/* "down_block_types" / "up_block_types": a list of `plain` / `attn` names,
 * one per level. Writes whether each block has attention into `attention`
 * and the list's length into *count (untouched when absent). */
static bool read_block_types(JsonObject *obj, const char *field,
                             const char *plain, const char *attn,
                             bool *attention, int32_t *count,
                             GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (!node) return true;
  if (!JSON_NODE_HOLDS_ARRAY(node))
    return wrong_type(field, "a list of block type names", error);
  JsonArray *array = json_node_get_array(node);
  guint n = json_array_get_length(array);
  if (n > DM_MAX_LEVELS) return wrong_type(field, "at most 8 names", error);
  for (guint i = 0; i < n; i++) {
    JsonNode *item = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_VALUE(item) ||
        json_node_get_value_type(item) != G_TYPE_STRING)
      return wrong_type(field, "a list of block type names", error);
    const char *name = json_node_get_string(item);
    if (strcmp(name, plain) != 0 && strcmp(name, attn) != 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "unsupported config value %s[%u]=\"%s\" (only %s, %s)",
                  field, i, name, plain, attn);
      return false;
    }
    attention[i] = strcmp(name, attn) == 0;
  }
  *count = (int32_t)n;
  return true;
}

/* "time_embedding_dim": null, or exactly 4 * block_out_channels[0]. */
static bool read_time_embedding_dim(JsonObject *obj, const DmUnetConfig *c,
                                    GError **error) {
  int32_t dim = 0;
  if (!read_int(obj, "time_embedding_dim", true, &dim, error)) return false;
  if (dim != 0 && dim != 4 * c->block_out_channels[0]) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "unsupported config value time_embedding_dim=%d (only null "
                "or 4 * block_out_channels[0] = %d)", dim,
                4 * c->block_out_channels[0]);
    return false;
  }
  return true;
}

/* The string-valued fields with a fixed set of accepted values. */
static bool read_choices(JsonObject *obj, DmUnetConfig *c, GError **error) {
  static const char *const positional[] = {"positional", NULL};
  static const char *const mid_types[] = {"UNetMidBlock2D", "null", NULL};
  static const char *const activations[] = {"silu", "swish", NULL};
  static const char *const shift[] = {"default", NULL};
  static const char *const conv[] = {"conv", NULL};
  static const char *const class_name[] = {"UNet2DModel", NULL};
  int32_t index = 0, mid = c->has_mid_block ? 0 : 1;
  bool ok =
      read_choice(obj, "_class_name", class_name, &index, error) &&
      read_choice(obj, "time_embedding_type", positional, &index, error) &&
      read_choice(obj, "mid_block_type", mid_types, &mid, error) &&
      read_choice(obj, "act_fn", activations, &index, error) &&
      read_choice(obj, "resnet_time_scale_shift", shift, &index, error) &&
      read_choice(obj, "downsample_type", conv, &index, error) &&
      read_choice(obj, "upsample_type", conv, &index, error) &&
      read_must_be_null(obj, "class_embed_type", error) &&
      read_must_be_null(obj, "num_class_embeds", error);
  c->has_mid_block = mid == 0;
  return ok;
}

static bool read_numbers(JsonObject *obj, DmUnetConfig *c, GError **error) {
  return read_sample_size(obj, c, error) &&
         read_int(obj, "in_channels", false, &c->in_channels, error) &&
         read_int(obj, "out_channels", false, &c->out_channels, error) &&
         read_bool(obj, "center_input_sample", &c->center_input_sample,
                   error) &&
         read_int(obj, "freq_shift", false, &c->freq_shift, error) &&
         read_bool(obj, "flip_sin_to_cos", &c->flip_sin_to_cos, error) &&
         read_int(obj, "layers_per_block", false, &c->layers_per_block,
                  error) &&
         read_float(obj, "mid_block_scale_factor",
                    &c->mid_block_scale_factor, error) &&
         read_int(obj, "downsample_padding", false, &c->downsample_padding,
                  error) &&
         read_int(obj, "attention_head_dim", true, &c->attention_head_dim,
                  error) &&
         read_int(obj, "norm_num_groups", false, &c->norm_num_groups,
                  error) &&
         read_int(obj, "attn_norm_num_groups", true,
                  &c->attn_norm_num_groups, error) &&
         read_float(obj, "norm_eps", &c->norm_eps, error) &&
         read_bool(obj, "add_attention", &c->add_attention, error) &&
         read_float(obj, "dropout", &c->dropout, error);
}

/* Block lists: both type lists must have one entry per block_out_channels
 * entry (diffusers raises the same error). */
static bool read_blocks(JsonObject *obj, DmUnetConfig *c, GError **error) {
  int32_t n_down = 4, n_up = 4;
  if (!read_block_out_channels(obj, c, error) ||
      !read_block_types(obj, "down_block_types", "DownBlock2D",
                        "AttnDownBlock2D", c->down_attention, &n_down,
                        error) ||
      !read_block_types(obj, "up_block_types", "UpBlock2D", "AttnUpBlock2D",
                        c->up_attention, &n_up, error))
    return false;
  if (n_down != c->n_levels || n_up != c->n_levels) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "config has %d block_out_channels but %d down_block_types "
                "and %d up_block_types", c->n_levels, n_down, n_up);
    return false;
  }
  return true;
}

/* Every key this reader knows; others are refused unless null. */
static const char *const known_fields[] = {
  "sample_size", "in_channels", "out_channels", "center_input_sample",
  "time_embedding_type", "time_embedding_dim", "freq_shift",
  "flip_sin_to_cos", "down_block_types", "mid_block_type", "up_block_types",
  "block_out_channels", "layers_per_block", "mid_block_scale_factor",
  "downsample_padding", "downsample_type", "upsample_type", "dropout",
  "act_fn", "attention_head_dim", "norm_num_groups", "attn_norm_num_groups",
  "norm_eps", "resnet_time_scale_shift", "add_attention",
  "class_embed_type", "num_class_embeds", "num_train_timesteps", NULL};

/* Refuses a key no UNet2DModel field matches (another model class, or a
 * feature of a newer diffusers) unless its value is null. */
static bool check_unknown_fields(JsonObject *obj, GError **error) {
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  json_object_iter_init(&iter, obj);
  while (json_object_iter_next(&iter, &key, &node)) {
    if (key[0] == '_' || is_null(node) ||
        g_strv_contains(known_fields, key))
      continue;
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "unsupported config field \"%s\" (not a UNet2DModel field)",
                key);
    return false;
  }
  return true;
}

/* "num_train_timesteps" only matters for learned time embeddings; it must
 * still be an integer or null. */
static bool read_ignored(JsonObject *obj, GError **error) {
  int32_t unused = 0;
  return read_int(obj, "num_train_timesteps", true, &unused, error);
}

bool dm_unet_config_from_json(DmUnetConfig *config, const char *json,
                              GError **error) {
  g_return_val_if_fail(config && json, false);
  JsonParser *parser = dm_json_parse_object(json, -1, "config", error);
  if (!parser) return false;
  JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
  DmUnetConfig c;
  config_set_defaults(&c);
  bool ok = check_unknown_fields(obj, error) && read_blocks(obj, &c, error) &&
            read_choices(obj, &c, error) && read_numbers(obj, &c, error) &&
            read_time_embedding_dim(obj, &c, error) &&
            read_ignored(obj, error);
  g_object_unref(parser);
  if (!ok) return false;
  GError *invalid = NULL;
  if (!dm_unet_config_validate(&c, &invalid)) {
    /* From a file, an inconsistent config is a format error. */
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "inconsistent config: %s",
                invalid->message);
    g_error_free(invalid);
    return false;
  }
  *config = c;
  return true;
}

/* ---- writing config.json ----------------------------------------------- */

/* The shortest decimal text that reads back as the same float, with ".0"
 * on integral values so that Python sees a float. */
static void append_float(GString *out, float value) {
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 6; digits <= 9; digits++) {
    char format[8];
    g_snprintf(format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd(buffer, sizeof buffer, format, (double)value);
    if ((float)g_ascii_strtod(buffer, NULL) == value) break;
  }
  g_string_append(out, buffer);
  if (!strpbrk(buffer, ".eEn")) g_string_append(out, ".0");
}

static void append_int_or_null(GString *out, int32_t value) {
  if (value == 0)
    g_string_append(out, "null");
  else
    g_string_append_printf(out, "%d", value);
}

/* One "name": value line of the pretty-printed object. */
static void append_key(GString *out, const char *key) {
  g_string_append_printf(out, "%s\n  \"%s\": ", out->len > 1 ? "," : "", key);
}

/* A list of per-level items, one per line, as Python's json.dumps(indent=2)
 * writes it. `names` (when non-NULL) gives [plain, attn] strings. */
static void append_levels(GString *out, const DmUnetConfig *c,
                          const bool *attention, const char *const *names) {
  g_string_append(out, "[");
  for (int32_t i = 0; i < c->n_levels; i++) {
    g_string_append_printf(out, "%s\n    ", i ? "," : "");
    if (names)
      g_string_append_printf(out, "\"%s\"", names[attention[i] ? 1 : 0]);
    else
      g_string_append_printf(out, "%d", c->block_out_channels[i]);
  }
  g_string_append(out, "\n  ]");
}

char *dm_unet_config_to_json(const DmUnetConfig *c) {
  static const char *const down_names[] = {"DownBlock2D", "AttnDownBlock2D"};
  static const char *const up_names[] = {"UpBlock2D", "AttnUpBlock2D"};
  GString *out = g_string_new("{");
  /* Keys in sorted order, as diffusers' save_config writes them. */
  append_key(out, "_class_name");
  g_string_append(out, "\"UNet2DModel\"");
  append_key(out, "_diffusers_version");
  g_string_append(out, "\"" DM_DIFFUSERS_VERSION "\"");
  append_key(out, "act_fn");
  g_string_append(out, "\"silu\"");
  append_key(out, "add_attention");
  g_string_append(out, c->add_attention ? "true" : "false");
  append_key(out, "attention_head_dim");
  append_int_or_null(out, c->attention_head_dim);
  append_key(out, "attn_norm_num_groups");
  append_int_or_null(out, c->attn_norm_num_groups);
  append_key(out, "block_out_channels");
  append_levels(out, c, NULL, NULL);
  append_key(out, "center_input_sample");
  g_string_append(out, c->center_input_sample ? "true" : "false");
  append_key(out, "class_embed_type");
  g_string_append(out, "null");
  append_key(out, "down_block_types");
  append_levels(out, c, c->down_attention, down_names);
  append_key(out, "downsample_padding");
  g_string_append_printf(out, "%d", c->downsample_padding);
  append_key(out, "downsample_type");
  g_string_append(out, "\"conv\"");
  append_key(out, "dropout");
  append_float(out, c->dropout);
  append_key(out, "flip_sin_to_cos");
  g_string_append(out, c->flip_sin_to_cos ? "true" : "false");
  append_key(out, "freq_shift");
  g_string_append_printf(out, "%d", c->freq_shift);
  append_key(out, "in_channels");
  g_string_append_printf(out, "%d", c->in_channels);
  append_key(out, "layers_per_block");
  g_string_append_printf(out, "%d", c->layers_per_block);
  append_key(out, "mid_block_scale_factor");
  append_float(out, c->mid_block_scale_factor);
  append_key(out, "mid_block_type");
  g_string_append(out, c->has_mid_block ? "\"UNetMidBlock2D\"" : "null");
  append_key(out, "norm_eps");
  append_float(out, c->norm_eps);
  append_key(out, "norm_num_groups");
  g_string_append_printf(out, "%d", c->norm_num_groups);
  append_key(out, "num_class_embeds");
  g_string_append(out, "null");
  append_key(out, "num_train_timesteps");
  g_string_append(out, "null");
  append_key(out, "out_channels");
  g_string_append_printf(out, "%d", c->out_channels);
  append_key(out, "resnet_time_scale_shift");
  g_string_append(out, "\"default\"");
  append_key(out, "sample_size");
  append_int_or_null(out, c->sample_size);
  append_key(out, "time_embedding_dim");
  g_string_append(out, "null");
  append_key(out, "time_embedding_type");
  g_string_append(out, "\"positional\"");
  append_key(out, "up_block_types");
  append_levels(out, c, c->up_attention, up_names);
  append_key(out, "upsample_type");
  g_string_append(out, "\"conv\"");
  g_string_append(out, "\n}\n");
  return g_string_free(out, FALSE);
}

/* ---- consistency ------------------------------------------------------- */

static bool invalid(GError **error, const char *format, ...)
    G_GNUC_PRINTF(2, 3);
static bool invalid(GError **error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT, "%s", message);
  g_free(message);
  return false;
}

static bool in_range(int32_t value, int32_t low, int32_t high) {
  return value >= low && value <= high;
}

/* Sizes in range, before anything divides by them. */
static bool check_ranges(const DmUnetConfig *c, GError **error) {
  if (!in_range(c->n_levels, 1, DM_MAX_LEVELS))
    return invalid(error, "n_levels=%d (1 to %d)", c->n_levels,
                   DM_MAX_LEVELS);
  if (!in_range(c->in_channels, 1, DM_MAX_CHANNELS) ||
      !in_range(c->out_channels, 1, DM_MAX_CHANNELS))
    return invalid(error, "in_channels=%d, out_channels=%d (1 to %d)",
                   c->in_channels, c->out_channels, DM_MAX_CHANNELS);
  for (int32_t i = 0; i < c->n_levels; i++) {
    if (!in_range(c->block_out_channels[i], 1, DM_MAX_CHANNELS))
      return invalid(error, "block_out_channels[%d]=%d (1 to %d)", i,
                     c->block_out_channels[i], DM_MAX_CHANNELS);
  }
  if (!in_range(c->layers_per_block, 1, DM_MAX_LAYERS_PER_BLOCK))
    return invalid(error, "layers_per_block=%d (1 to %d)",
                   c->layers_per_block, DM_MAX_LAYERS_PER_BLOCK);
  if (!in_range(c->sample_size, 0, DM_MAX_SAMPLE_SIZE))
    return invalid(error, "sample_size=%d", c->sample_size);
  if (!in_range(c->downsample_padding, 0, 1))
    return invalid(error, "downsample_padding=%d (0 or 1)",
                   c->downsample_padding);
  if (!in_range(c->norm_num_groups, 1, DM_MAX_CHANNELS) ||
      !in_range(c->attn_norm_num_groups, 0, DM_MAX_CHANNELS) ||
      !in_range(c->attention_head_dim, 0, DM_MAX_CHANNELS))
    return invalid(error, "norm_num_groups=%d, attn_norm_num_groups=%d, "
                   "attention_head_dim=%d out of range", c->norm_num_groups,
                   c->attn_norm_num_groups, c->attention_head_dim);
  return true;
}

/* Floats finite; eps positive; the sinusoid's divisor half - shift != 0. */
static bool check_numbers(const DmUnetConfig *c, GError **error) {
  if (!(c->norm_eps > 0.0f) || !isfinite(c->norm_eps))
    return invalid(error, "norm_eps=%g must be positive", c->norm_eps);
  if (!isfinite(c->mid_block_scale_factor) || c->mid_block_scale_factor == 0)
    return invalid(error, "mid_block_scale_factor=%g",
                   c->mid_block_scale_factor);
  if (!(c->dropout >= 0.0f && c->dropout <= 1.0f))
    return invalid(error, "dropout=%g (0 to 1)", c->dropout);
  int32_t half = c->block_out_channels[0] / 2;
  if (!in_range(c->freq_shift, -DM_MAX_CHANNELS, DM_MAX_CHANNELS) ||
      c->freq_shift == half)
    return invalid(error, "freq_shift=%d (must differ from %d)",
                   c->freq_shift, half);
  return true;
}

bool dm_unet_config_check_values(const DmUnetConfig *c, GError **error) {
  return check_ranges(c, error) && check_numbers(c, error);
}

/* Values first; then group and head divisibility and the parameter limit,
 * which the layout builder checks where each layer's channels are known. */
bool dm_unet_config_validate(const DmUnetConfig *c, GError **error) {
  g_return_val_if_fail(c, false);
  DmParams table;
  if (!dm_params_describe(&table, c, error)) return false;
  dm_params_clear(&table);
  return true;
}

/* ---- conditioning ---------------------------------------------------------- */

static const char *const conditioning_names[] = {"none", "mask"};
DM_DEFINE_NAME_HELPERS(dm_conditioning, DmConditioning, conditioning_names,
                       DM_CONDITIONING_COUNT)

DmConditioning dm_unet_config_conditioning(const DmUnetConfig *c) {
  if (c->in_channels == c->out_channels) return DM_CONDITIONING_NONE;
  if (c->in_channels == 2 * c->out_channels + 1) return DM_CONDITIONING_MASK;
  return DM_CONDITIONING_COUNT;
}

/* ---- named layouts ------------------------------------------------------- */

/* tiny: 32/64/128 channels, one layer per block, attention (one head) at
 * the lowest level and in the mid block, 8 groups (~1.9 M parameters);
 * small: the same shape at 64/128/256 with two layers per block and 32
 * groups; base: google/ddpm-cifar10-32's layout (128/256/256/256). */
static const struct {
  const char *name;
  DmUnetConfig config;
} presets[] = {
    {"tiny",
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {32, 64, 128},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 1, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 8, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"small",
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {64, 128, 256},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 32, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"base",
     {.in_channels = 3, .out_channels = 3, .freq_shift = 1, .n_levels = 4,
      .block_out_channels = {128, 256, 256, 256},
      .down_attention = {false, true, false, false},
      .up_attention = {false, false, true, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 0,
      .norm_num_groups = 32, .norm_eps = 1e-6f, .has_mid_block = true,
      .add_attention = true}},
};

const char *dm_unet_preset_name(int32_t index) {
  return index >= 0 && index < (int32_t)G_N_ELEMENTS(presets)
             ? presets[index].name : NULL;
}

bool dm_unet_config_preset(const char *name, int32_t sample_size,
                           DmUnetConfig *config) {
  for (size_t i = 0; name && i < G_N_ELEMENTS(presets); i++)
    if (strcmp(name, presets[i].name) == 0) {
      *config = presets[i].config;
      config->sample_size = sample_size;
      return true;
    }
  return false;
}
