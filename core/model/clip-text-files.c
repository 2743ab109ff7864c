/* gimp-diffusion core: CLIPTextModel configs and weights from files
 * (clip-text-files.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Field names, meanings and defaults follow transformers' CLIPTextConfig
 * (models/clip/configuration_clip.py). */
#include <string.h>

#include "model/clip-text-files.h"
#include "model/files.h"
#include "model/json.h"

static const char *const ACTIVATION_NAMES[DM_CLIP_ACT_COUNT] = {"quick_gelu",
                                                                "gelu"};

/* "model_type" and "architectures", when present, must name the text
 * model without projection. */
static bool check_class(JsonObject *object, const char *label,
                        GError **error) {
  static const char *const types[] = {"clip_text_model"};
  int index;
  if (json_object_has_member(object, "model_type") &&
      !dm_json_read_choice(object, label, "model_type", types, 1, &index,
                           error))
    return false;
  JsonNode *node = json_object_get_member(object, "architectures");
  if (!node || JSON_NODE_HOLDS_NULL(node)) return true;
  JsonArray *list = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                : NULL;
  JsonNode *first = list && json_array_get_length(list) == 1
                        ? json_array_get_element(list, 0) : NULL;
  if (first && JSON_NODE_HOLDS_VALUE(first) &&
      json_node_get_value_type(first) == G_TYPE_STRING &&
      strcmp(json_node_get_string(first), "CLIPTextModel") == 0)
    return true;
  return dm_json_unsupported(node, label, "architectures",
                             "only [\"CLIPTextModel\"]", error);
}

bool dm_clip_text_config_from_json(DmClipTextConfig *config, const char *text,
                                   const char *label, GError **error) {
  JsonParser *parser = dm_json_parse_object(text, -1, label, error);
  if (!parser) return false;
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  dm_clip_text_config_default(config);
  const struct {
    const char *field;
    int32_t *value;
  } sizes[] = {{"vocab_size", &config->vocab_size},
               {"hidden_size", &config->hidden_size},
               {"intermediate_size", &config->intermediate_size},
               {"num_hidden_layers", &config->num_hidden_layers},
               {"num_attention_heads", &config->num_attention_heads},
               {"max_position_embeddings", &config->max_position_embeddings}};
  int activation = (int)config->hidden_act;
  bool ok = check_class(object, label, error);
  for (size_t i = 0; ok && i < G_N_ELEMENTS(sizes); i++)
    ok = dm_json_read_int(object, label, sizes[i].field, false,
                          sizes[i].value, error);
  ok = ok &&
       dm_json_read_choice(object, label, "hidden_act", ACTIVATION_NAMES,
                           DM_CLIP_ACT_COUNT, &activation, error) &&
       dm_json_read_float(object, label, "layer_norm_eps",
                          &config->layer_norm_eps, error);
  config->hidden_act = (DmClipActivation)activation;
  g_object_unref(parser);
  return ok;
}

bool dm_clip_text_load(DmClipText *model, const char *folder,
                       GError **error) {
  static const char *const names[] = {"model.safetensors",
                                      "model.fp16.safetensors"};
  memset(model, 0, sizeof *model);
  char *config_path = g_build_filename(folder, "config.json", NULL);
  char *text = dm_read_text_file(config_path, DM_MAX_CONFIG_BYTES, false,
                                 error);
  char *weights = NULL;
  DmClipTextConfig config;
  bool ok = text != NULL &&
            dm_clip_text_config_from_json(&config, text, config_path,
                                          error);
  if (ok && !dm_clip_text_init(model, &config, error)) {
    g_prefix_error(error, "%s: ", config_path);
    ok = false;
  }
  ok = ok &&
       (weights = dm_find_weights_file(folder, names, G_N_ELEMENTS(names),
                                       "text encoder", error)) != NULL &&
       dm_weights_read_path(&model->weights, weights, NULL, error);
  if (!ok) dm_clip_text_clear(model);
  g_free(weights);
  g_free(text);
  g_free(config_path);
  return ok;
}
