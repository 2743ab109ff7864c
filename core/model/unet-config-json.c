/* gimp-diffusion core: reading and writing diffusers' UNet2DModel
 * config.json.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Field names, meanings and defaults follow diffusers'
 * UNet2DModel.__init__ (src/diffusers/models/unets/unet_2d.py). Keys
 * starting with "_" are bookkeeping and ignored (except a _class_name other
 * than UNet2DModel). A value we cannot run is refused with
 * DM_ERROR_UNSUPPORTED naming field and value; a value of the wrong JSON
 * type with DM_ERROR_FORMAT naming the field. */
#include <string.h>

#include "model/json.h"
#include "network/unet.h"

/* Written into exported config.json files; diffusers only records it. */
#define DM_DIFFUSERS_VERSION "0.31.0"
/* How messages name the text. */
#define LABEL "config"

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
    return dm_json_read_int(obj, LABEL, "sample_size", true, &c->sample_size,
                            error);
  JsonArray *array = json_node_get_array(node);
  int32_t h, w;
  if (json_array_get_length(array) != 2 ||
      !dm_json_to_int(json_array_get_element(array, 0), LABEL, "sample_size",
                      false, &h, NULL) ||
      !dm_json_to_int(json_array_get_element(array, 1), LABEL, "sample_size",
                      false, &w, NULL))
    return dm_json_type_error(node, LABEL, "sample_size",
                              "an integer, [h, w] or null", error);
  if (h != w)
    return dm_json_unsupported(node, LABEL, "sample_size", "only square",
                               error);
  c->sample_size = h;
  return true;
}

/* "block_out_channels": 1..DM_MAX_LEVELS integers; sets n_levels. */
static bool read_block_out_channels(JsonObject *obj, DmUnetConfig *c,
                                    GError **error) {
  return dm_json_read_int_list(obj, LABEL, "block_out_channels",
                               DM_MAX_LEVELS, c->block_out_channels,
                               &c->n_levels, error);
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
  const char *what = "a list of at most 8 block type names";
  if (!JSON_NODE_HOLDS_ARRAY(node))
    return dm_json_type_error(node, LABEL, field, what, error);
  JsonArray *array = json_node_get_array(node);
  guint n = json_array_get_length(array);
  if (n > DM_MAX_LEVELS)
    return dm_json_type_error(node, LABEL, field, what, error);
  const char *const names[] = {plain, attn};
  for (guint i = 0; i < n; i++) {
    int index = 0;
    char *item = g_strdup_printf("%s[%u]", field, i);
    bool ok = dm_json_to_choice(json_array_get_element(array, i), LABEL, item,
                                names, 2, &index, error);
    g_free(item);
    if (!ok) return false;
    attention[i] = index == 1;
  }
  *count = (int32_t)n;
  return true;
}

/* "time_embedding_dim": null, or exactly 4 * block_out_channels[0]. */
static bool read_time_embedding_dim(JsonObject *obj, const DmUnetConfig *c,
                                    GError **error) {
  int32_t dim = 0;
  if (!dm_json_read_int(obj, LABEL, "time_embedding_dim", true, &dim, error))
    return false;
  if (dim != 0 && dim != 4 * c->block_out_channels[0])
    return dm_json_unsupported(json_object_get_member(obj,
                                                      "time_embedding_dim"),
                               LABEL, "time_embedding_dim",
                               "only null or 4 * block_out_channels[0]",
                               error);
  return true;
}

/* The string-valued fields with a fixed set of accepted values. */
static bool read_choices(JsonObject *obj, DmUnetConfig *c, GError **error) {
  static const char *const positional[] = {"positional"};
  static const char *const mid_types[] = {"UNetMidBlock2D", "null"};
  static const char *const activations[] = {"silu", "swish"};
  static const char *const shift[] = {"default"};
  static const char *const conv[] = {"conv"};
  static const char *const class_name[] = {"UNet2DModel"};
#define CHOICE(field, names, index)                                          \
  dm_json_read_choice(obj, LABEL, field, names, G_N_ELEMENTS(names), index,  \
                      error)
  int index = 0, mid = c->has_mid_block ? 0 : 1;
  bool ok = CHOICE("_class_name", class_name, &index) &&
            CHOICE("time_embedding_type", positional, &index) &&
            CHOICE("mid_block_type", mid_types, &mid) &&
            CHOICE("act_fn", activations, &index) &&
            CHOICE("resnet_time_scale_shift", shift, &index) &&
            CHOICE("downsample_type", conv, &index) &&
            CHOICE("upsample_type", conv, &index) &&
            dm_json_read_null(obj, LABEL, "class_embed_type", error) &&
            dm_json_read_null(obj, LABEL, "num_class_embeds", error);
#undef CHOICE
  c->has_mid_block = mid == 0;
  return ok;
}

static bool read_numbers(JsonObject *obj, DmUnetConfig *c, GError **error) {
  return read_sample_size(obj, c, error) &&
         dm_json_read_int(obj, LABEL, "in_channels", false, &c->in_channels, error) &&
         dm_json_read_int(obj, LABEL, "out_channels", false, &c->out_channels, error) &&
         dm_json_read_bool(obj, LABEL, "center_input_sample", &c->center_input_sample,
                   error) &&
         dm_json_read_int(obj, LABEL, "freq_shift", false, &c->freq_shift, error) &&
         dm_json_read_bool(obj, LABEL, "flip_sin_to_cos", &c->flip_sin_to_cos, error) &&
         dm_json_read_int(obj, LABEL, "layers_per_block", false, &c->layers_per_block,
                  error) &&
         dm_json_read_float(obj, LABEL, "mid_block_scale_factor",
                    &c->mid_block_scale_factor, error) &&
         dm_json_read_int(obj, LABEL, "downsample_padding", false, &c->downsample_padding,
                  error) &&
         dm_json_read_int(obj, LABEL, "attention_head_dim", true, &c->attention_head_dim,
                  error) &&
         dm_json_read_int(obj, LABEL, "norm_num_groups", false, &c->norm_num_groups,
                  error) &&
         dm_json_read_int(obj, LABEL, "attn_norm_num_groups", true,
                  &c->attn_norm_num_groups, error) &&
         dm_json_read_float(obj, LABEL, "norm_eps", &c->norm_eps, error) &&
         dm_json_read_bool(obj, LABEL, "add_attention", &c->add_attention, error) &&
         dm_json_read_float(obj, LABEL, "dropout", &c->dropout, error);
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
                LABEL " has %d block_out_channels but %d down_block_types "
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

/* "num_train_timesteps" only matters for learned time embeddings; it must
 * still be an integer or null. */
static bool read_ignored(JsonObject *obj, GError **error) {
  int32_t unused = 0;
  return dm_json_read_int(obj, LABEL, "num_train_timesteps", true, &unused, error);
}

bool dm_unet_config_from_json(DmUnetConfig *config, const char *json,
                              GError **error) {
  g_return_val_if_fail(config && json, false);
  JsonParser *parser = dm_json_parse_object(json, -1, LABEL, error);
  if (!parser) return false;
  JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
  DmUnetConfig c;
  config_set_defaults(&c);
  bool ok = dm_json_check_known(obj, LABEL, known_fields, "UNet2DModel",
                                error) && read_blocks(obj, &c, error) &&
            read_choices(obj, &c, error) && read_numbers(obj, &c, error) &&
            read_time_embedding_dim(obj, &c, error) &&
            read_ignored(obj, error);
  g_object_unref(parser);
  if (!ok) return false;
  GError *invalid = NULL;
  if (!dm_unet_config_validate(&c, &invalid)) {
    /* From a file, an inconsistent config is a format error. */
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "inconsistent %s: %s",
                LABEL, invalid->message);
    g_error_free(invalid);
    return false;
  }
  *config = c;
  return true;
}

/* ---- writing config.json ----------------------------------------------- */

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
  dm_json_append_float(out, c->dropout);
  append_key(out, "flip_sin_to_cos");
  g_string_append(out, c->flip_sin_to_cos ? "true" : "false");
  append_key(out, "freq_shift");
  g_string_append_printf(out, "%d", c->freq_shift);
  append_key(out, "in_channels");
  g_string_append_printf(out, "%d", c->in_channels);
  append_key(out, "layers_per_block");
  g_string_append_printf(out, "%d", c->layers_per_block);
  append_key(out, "mid_block_scale_factor");
  dm_json_append_float(out, c->mid_block_scale_factor);
  append_key(out, "mid_block_type");
  g_string_append(out, c->has_mid_block ? "\"UNetMidBlock2D\"" : "null");
  append_key(out, "norm_eps");
  dm_json_append_float(out, c->norm_eps);
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

