/* gimp-diffusion core: reading diffusers' AutoencoderKL config.json
 * (network/vae.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Field names, meanings and defaults follow diffusers'
 * AutoencoderKL.__init__ (src/diffusers/models/autoencoders/
 * autoencoder_kl.py). sample_size and force_upcast only steer diffusers'
 * own tiling and precision and are ignored; keys starting with "_" are
 * bookkeeping (a _class_name must be AutoencoderKL). */
#include "model/json.h"
#include "network/vae.h"

static const char *const known_fields[] = {
  "in_channels", "out_channels", "down_block_types", "up_block_types",
  "block_out_channels", "layers_per_block", "act_fn", "latent_channels",
  "norm_num_groups", "sample_size", "scaling_factor", "shift_factor",
  "latents_mean", "latents_std", "force_upcast", "use_quant_conv",
  "use_post_quant_conv", "mid_block_add_attention", NULL};

/* A list of `levels` copies of the one block type we implement. */
static bool read_block_types(JsonObject *obj, const char *label,
                             const char *field, const char *type,
                             int32_t levels, GError **error) {
  JsonNode *node = json_object_get_member(obj, field);
  if (node == NULL) return true;
  JsonArray *array = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                 : NULL;
  if (array == NULL || json_array_get_length(array) != (guint)levels) {
    char *wanted = g_strdup_printf("a list of %d block types (one per "
                                   "block_out_channels entry)", levels);
    dm_json_type_error(node, label, field, wanted, error);
    g_free(wanted);
    return false;
  }
  const char *const names[] = {type};
  for (int32_t i = 0; i < levels; i++) {
    int index;
    char *item = g_strdup_printf("%s[%d]", field, i);
    const bool ok = dm_json_to_choice(json_array_get_element(array, i),
                                      label, item, names, 1, &index, error);
    g_free(item);
    if (!ok) return false;
  }
  return true;
}

/* "shift_factor": null (0) or a number. */
static bool read_shift(JsonObject *obj, const char *label, DmVaeConfig *c,
                       GError **error) {
  JsonNode *node = json_object_get_member(obj, "shift_factor");
  return node == NULL || JSON_NODE_HOLDS_NULL(node) ||
         dm_json_to_float(node, label, "shift_factor", &c->shift_factor,
                          error);
}

/* Fields that must have their one supported value, or be absent. */
static bool read_fixed(JsonObject *obj, const char *label, GError **error) {
  static const char *const class_name[] = {"AutoencoderKL"};
  static const char *const activations[] = {"silu", "swish"};
  int index;
  bool force_upcast;
  return dm_json_read_choice(obj, label, "_class_name", class_name, 1, &index,
                             error) &&
         dm_json_read_choice(obj, label, "act_fn", activations, 2, &index,
                             error) &&
         dm_json_read_null(obj, label, "latents_mean", error) &&
         dm_json_read_null(obj, label, "latents_std", error) &&
         dm_json_read_bool(obj, label, "force_upcast", &force_upcast, error);
}

static bool read_numbers(JsonObject *obj, const char *label, DmVaeConfig *c,
                         GError **error) {
  return dm_json_read_int(obj, label, "in_channels", false, &c->in_channels,
                          error) &&
         dm_json_read_int(obj, label, "out_channels", false,
                          &c->out_channels, error) &&
         dm_json_read_int(obj, label, "latent_channels", false,
                          &c->latent_channels, error) &&
         dm_json_read_int(obj, label, "layers_per_block", false,
                          &c->layers_per_block, error) &&
         dm_json_read_int(obj, label, "norm_num_groups", false,
                          &c->norm_num_groups, error) &&
         dm_json_read_float(obj, label, "scaling_factor", &c->scaling_factor,
                            error) &&
         read_shift(obj, label, c, error) &&
         dm_json_read_bool(obj, label, "use_quant_conv", &c->use_quant_conv,
                           error) &&
         dm_json_read_bool(obj, label, "use_post_quant_conv",
                           &c->use_post_quant_conv, error) &&
         dm_json_read_bool(obj, label, "mid_block_add_attention",
                           &c->mid_block_add_attention, error);
}

bool dm_vae_config_from_json(DmVaeConfig *config, const char *json,
                             const char *label, GError **error) {
  JsonParser *parser = dm_json_parse_object(json, -1, label, error);
  if (parser == NULL) return false;
  JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
  DmVaeConfig c;
  dm_vae_config_default(&c);
  bool ok = dm_json_check_known(obj, label, known_fields, "AutoencoderKL",
                                error) &&
            read_fixed(obj, label, error) &&
            dm_json_read_int_list(obj, label, "block_out_channels",
                                  DM_MAX_LEVELS, c.block_out_channels,
                                  &c.n_levels, error) &&
            read_block_types(obj, label, "down_block_types",
                             "DownEncoderBlock2D", c.n_levels, error) &&
            read_block_types(obj, label, "up_block_types", "UpDecoderBlock2D",
                             c.n_levels, error) &&
            read_numbers(obj, label, &c, error);
  g_object_unref(parser);
  if (!ok) return false;
  GError *invalid = NULL;
  if (!dm_vae_config_validate(&c, &invalid)) {
    /* From a file, an inconsistent config is a format error. */
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "inconsistent %s: %s",
                label, invalid->message);
    g_error_free(invalid);
    return false;
  }
  *config = c;
  return true;
}
