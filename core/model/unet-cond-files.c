/* gimp-diffusion core: UNet2DConditionModel configs and weights from files
 * (unet-cond-files.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Field names, meanings and defaults follow diffusers'
 * UNet2DConditionModel.__init__ (src/diffusers/models/unets/
 * unet_2d_condition.py) and get_down_block/get_up_block/get_mid_block
 * (unet_2d_blocks.py), which decide what each field changes in these
 * blocks. */
#include <string.h>

#include "model/files.h"
#include "model/json.h"
#include "model/unet-cond-files.h"

/* ---- per-level lists ----------------------------------------------------- */

/* Element i of a list, as an int; messages name it "FIELD[i]". */
static bool element_int(JsonArray *list, guint i, const char *label,
                        const char *field, int32_t *out, GError **error) {
  char *name = g_strdup_printf("%s[%u]", field, i);
  const bool ok = dm_json_to_int(json_array_get_element(list, i), label,
                                 name, false, out, error);
  g_free(name);
  return ok;
}

/* The list `field` (NULL when absent), at most DM_MAX_LEVELS long. */
static bool get_list(JsonObject *object, const char *label, const char *field,
                     JsonArray **list, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  *list = NULL;
  if (!node) return true;
  if (!JSON_NODE_HOLDS_ARRAY(node) ||
      json_array_get_length(json_node_get_array(node)) > DM_MAX_LEVELS)
    return dm_json_type_error(node, label, field,
                              "a list of at most 8 entries", error);
  *list = json_node_get_array(node);
  return true;
}

/* A per-level list of `count` entries (the default's when absent) must
 * have one per block_out_channels entry (as diffusers' _check_config
 * demands). */
static bool check_length(guint count, const char *label, const char *field,
                         int32_t levels, GError **error) {
  if (count == (guint)levels) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "%s: %s has %u entries but block_out_channels %d", label,
              field, count, levels);
  return false;
}

static bool read_channels(JsonObject *object, const char *label,
                          DmUnetCondConfig *c, GError **error) {
  JsonArray *list;
  if (!get_list(object, label, "block_out_channels", &list, error))
    return false;
  if (!list) return true;
  c->n_levels = (int32_t)json_array_get_length(list);
  for (int32_t i = 0; i < c->n_levels; i++)
    if (!element_int(list, (guint)i, label, "block_out_channels",
                     &c->block_out_channels[i], error))
      return false;
  return true;
}

/* "down_block_types" or "up_block_types": each entry `plain` (false) or
 * `cross` (true) into flags. */
static bool read_block_types(JsonObject *object, const char *label,
                             const char *field, const char *plain,
                             const char *cross, int32_t levels, bool *flags,
                             GError **error) {
  const char *const names[2] = {plain, cross};
  JsonArray *list;
  if (!get_list(object, label, field, &list, error) ||
      !check_length(list ? json_array_get_length(list) : 4, label, field,
                    levels, error))
    return false;
  for (guint i = 0; list && i < (guint)levels; i++) {
    char *name = g_strdup_printf("%s[%u]", field, i);
    int index = 0;
    const bool ok = dm_json_to_choice(json_array_get_element(list, i), label,
                                      name, names, 2, &index, error);
    g_free(name);
    if (!ok) return false;
    flags[i] = index == 1;
  }
  return true;
}

/* "attention_head_dim": one integer for every level, or one per level. */
static bool read_heads(JsonObject *object, const char *label,
                       DmUnetCondConfig *c, GError **error) {
  const char *field = "attention_head_dim";
  JsonNode *node = json_object_get_member(object, field);
  if (!node) return true;
  if (!JSON_NODE_HOLDS_ARRAY(node)) {
    int32_t heads;
    if (!dm_json_to_int(node, label, field, false, &heads, error))
      return false;
    for (int32_t i = 0; i < DM_MAX_LEVELS; i++) c->heads[i] = heads;
    return true;
  }
  JsonArray *list = json_node_get_array(node);
  if (!check_length(json_array_get_length(list), label, field, c->n_levels,
                    error))
    return false;
  for (guint i = 0; i < (guint)c->n_levels; i++)
    if (!element_int(list, i, label, field, &c->heads[i], error))
      return false;
  return true;
}

/* "only_cross_attention": false, or a list of false (attn1 attending to
 * the text instead of the image is not implemented). */
static bool read_only_cross_attention(JsonObject *object, const char *label,
                                      GError **error) {
  const char *field = "only_cross_attention";
  JsonNode *node = json_object_get_member(object, field);
  if (!node) return true;
  JsonArray *list = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                : NULL;
  const guint count = list ? json_array_get_length(list) : 1;
  for (guint i = 0; i < count; i++) {
    JsonNode *item = list ? json_array_get_element(list, i) : node;
    bool value;
    if (!dm_json_to_bool(item, label, field, &value, error)) return false;
    if (value) return dm_json_unsupported(node, label, field, "only false",
                                          error);
  }
  return true;
}

/* ---- single values ----------------------------------------------------- */

/* An integer field that diffusers also takes per level; only one value for
 * all levels is supported. */
static bool read_one_int(JsonObject *object, const char *label,
                         const char *field, int32_t *out, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  if (node && JSON_NODE_HOLDS_ARRAY(node))
    return dm_json_unsupported(node, label, field,
                               "only one integer for all levels", error);
  return dm_json_read_int(object, label, field, false, out, error);
}

/* A field whose only supported value is `wanted`. */
static bool read_fixed_int(JsonObject *object, const char *label,
                           const char *field, int32_t wanted,
                           GError **error) {
  int32_t value = wanted;
  if (!dm_json_read_int(object, label, field, false, &value, error))
    return false;
  return value == wanted ||
         dm_json_unsupported(json_object_get_member(object, field), label,
                             field, wanted == 3 ? "only 3" : NULL, error);
}

static bool read_false(JsonObject *object, const char *label,
                       const char *field, GError **error) {
  bool value = false;
  if (!dm_json_read_bool(object, label, field, &value, error)) return false;
  return !value || dm_json_unsupported(json_object_get_member(object, field),
                                       label, field, "only false", error);
}

/* The fields whose only supported value is null: features not
 * implemented. */
static const char *const null_fields[] = {
    "num_attention_heads", "reverse_transformer_layers_per_block",
    "encoder_hid_dim", "encoder_hid_dim_type", "class_embed_type",
    "addition_embed_type", "addition_time_embed_dim", "num_class_embeds",
    "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim",
    "projection_class_embeddings_input_dim", "cross_attention_norm", NULL};

/* Fields with one supported value: names, the fields, and what the blocks
 * do. */
static bool read_fixed(JsonObject *object, const char *label,
                       GError **error) {
  static const struct {
    const char *field;
    const char *names[2];
  } choices[] = {{"_class_name", {"UNet2DConditionModel"}},
                 {"act_fn", {"silu", "swish"}},
                 {"mid_block_type", {"UNetMidBlock2DCrossAttn"}},
                 {"resnet_time_scale_shift", {"default"}},
                 {"time_embedding_type", {"positional"}},
                 {"attention_type", {"default"}}};
  int index;
  for (size_t i = 0; i < G_N_ELEMENTS(choices); i++)
    if (!dm_json_read_choice(object, label, choices[i].field,
                             choices[i].names, choices[i].names[1] ? 2 : 1,
                             &index, error))
      return false;
  for (size_t i = 0; null_fields[i]; i++)
    if (!dm_json_read_null(object, label, null_fields[i], error))
      return false;
  return read_false(object, label, "dual_cross_attention", error) &&
         read_false(object, label, "class_embeddings_concat", error) &&
         read_only_cross_attention(object, label, error) &&
         read_fixed_int(object, label, "conv_in_kernel", 3, error) &&
         read_fixed_int(object, label, "conv_out_kernel", 3, error);
}

static bool read_values(JsonObject *object, const char *label,
                        DmUnetCondConfig *c, GError **error) {
  const struct {
    const char *field;
    int32_t *value;
  } ints[] = {{"in_channels", &c->in_channels},
              {"out_channels", &c->out_channels},
              {"freq_shift", &c->freq_shift},
              {"downsample_padding", &c->downsample_padding},
              {"norm_num_groups", &c->norm_num_groups}};
  const struct {
    const char *field;
    int32_t *value;
  } per_level[] = {
      {"layers_per_block", &c->layers_per_block},
      {"transformer_layers_per_block", &c->transformer_layers_per_block},
      {"cross_attention_dim", &c->cross_attention_dim}};
  bool ok = true;
  for (size_t i = 0; ok && i < G_N_ELEMENTS(ints); i++)
    ok = dm_json_read_int(object, label, ints[i].field, false, ints[i].value,
                          error);
  for (size_t i = 0; ok && i < G_N_ELEMENTS(per_level); i++)
    ok = read_one_int(object, label, per_level[i].field, per_level[i].value,
                      error);
  return ok &&
         dm_json_read_bool(object, label, "center_input_sample",
                           &c->center_input_sample, error) &&
         dm_json_read_bool(object, label, "flip_sin_to_cos",
                           &c->flip_sin_to_cos, error) &&
         dm_json_read_bool(object, label, "use_linear_projection",
                           &c->use_linear_projection, error) &&
         dm_json_read_float(object, label, "mid_block_scale_factor",
                            &c->mid_block_scale_factor, error) &&
         dm_json_read_float(object, label, "norm_eps", &c->norm_eps, error) &&
         dm_json_read_int(object, label, "time_embedding_dim", true,
                          &c->time_embedding_dim, error);
}

/* Fields read above or passed over on purpose; any other non-null field
 * is refused. Not read: dropout (inference), sample_size (the size the
 * model was trained at), upcast_attention (float32 arithmetic already),
 * and what only other block types use (resnet_skip_time_act,
 * resnet_out_scale_factor, mid_block_only_cross_attention,
 * addition_embed_type_num_heads). */
static const char *const known_fields[] = {
    "in_channels", "out_channels", "center_input_sample", "flip_sin_to_cos",
    "freq_shift", "down_block_types", "mid_block_type", "up_block_types",
    "only_cross_attention", "block_out_channels", "layers_per_block",
    "downsample_padding", "mid_block_scale_factor", "act_fn",
    "norm_num_groups", "norm_eps", "cross_attention_dim",
    "transformer_layers_per_block", "attention_head_dim",
    "dual_cross_attention", "use_linear_projection",
    "resnet_time_scale_shift", "time_embedding_type", "time_embedding_dim",
    "conv_in_kernel", "conv_out_kernel", "attention_type",
    "class_embeddings_concat", "dropout", "sample_size", "upcast_attention",
    "resnet_skip_time_act", "resnet_out_scale_factor",
    "mid_block_only_cross_attention", "addition_embed_type_num_heads", NULL};

static bool check_unknown_fields(JsonObject *object, const char *label,
                                 GError **error) {
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  json_object_iter_init(&iter, object);
  while (json_object_iter_next(&iter, &key, &node)) {
    if (key[0] == '_' || JSON_NODE_HOLDS_NULL(node) ||
        g_strv_contains(known_fields, key) ||
        g_strv_contains(null_fields, key))
      continue;
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: unsupported field \"%s\" (not a UNet2DConditionModel "
                "field of this version)", label, key);
    return false;
  }
  return true;
}

bool dm_unet_cond_config_from_json(DmUnetCondConfig *config, const char *text,
                                   const char *label, GError **error) {
  JsonParser *parser = dm_json_parse_object(text, -1, label, error);
  if (!parser) return false;
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  DmUnetCondConfig c;
  dm_unet_cond_config_default(&c);
  c.time_embedding_dim = 0; /* null: 4 block_out_channels[0] */
  bool ok =
      check_unknown_fields(object, label, error) &&
      read_fixed(object, label, error) &&
      read_channels(object, label, &c, error) &&
      read_block_types(object, label, "down_block_types", "DownBlock2D",
                       "CrossAttnDownBlock2D", c.n_levels,
                       c.down_cross_attention, error) &&
      read_block_types(object, label, "up_block_types", "UpBlock2D",
                       "CrossAttnUpBlock2D", c.n_levels, c.up_cross_attention,
                       error) &&
      read_heads(object, label, &c, error) &&
      read_values(object, label, &c, error);
  g_object_unref(parser);
  if (!ok) return false;
  if (c.time_embedding_dim == 0)
    c.time_embedding_dim = 4 * c.block_out_channels[0];
  *config = c;
  return true;
}

/* ---- unet/ folders ------------------------------------------------------- */

bool dm_unet_cond_load(DmUnetCond *model, const char *folder,
                       GError **error) {
  static const char *const names[] = {
      "diffusion_pytorch_model.safetensors",
      "diffusion_pytorch_model.fp16.safetensors"};
  memset(model, 0, sizeof *model);
  char *config_path = g_build_filename(folder, "config.json", NULL);
  char *text = dm_read_text_file(config_path, DM_MAX_CONFIG_BYTES, false,
                                 error);
  char *weights = NULL;
  DmUnetCondConfig config;
  bool ok = text != NULL &&
            dm_unet_cond_config_from_json(&config, text, config_path, error);
  if (ok && !dm_unet_cond_init(model, &config, error)) {
    g_prefix_error(error, "%s: ", config_path);
    ok = false;
  }
  ok = ok &&
       (weights = dm_find_weights_file(folder, names, G_N_ELEMENTS(names),
                                       "unet", error)) != NULL &&
       dm_weights_read_path(&model->weights, weights, NULL, error);
  if (!ok) dm_unet_cond_clear(model);
  g_free(weights);
  g_free(text);
  g_free(config_path);
  return ok;
}
