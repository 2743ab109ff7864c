/* gimp-diffusion core: Stable Diffusion checkpoints, pipeline folders and
 * single files (dm.h, "Stable Diffusion checkpoints"; sd-model.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "model/clip-text-files.h"
#include "model/files.h"
#include "model/json.h"
#include "model/scheduler-config.h"
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"
#include "model/unet-cond-files.h"
#include "model/vae-files.h"

/* ---- names --------------------------------------------------------------- */

static const char *const VERSION_NAMES[DM_SD_VERSION_COUNT] = {"1.x", "2.x"};

const char *dm_sd_version_name(DmSdVersion version) {
  return (int)version >= 0 && version < DM_SD_VERSION_COUNT
             ? VERSION_NAMES[version] : NULL;
}

void dm_sd_load_options_default(DmSdLoadOptions *options) {
  *options = (DmSdLoadOptions){.prediction = DM_PREDICTION_COUNT};
}

char *dm_sd_family_describe(const DmSdFamily *family) {
  static const char *const predictions[DM_PREDICTION_COUNT] = {
      [DM_PREDICT_EPSILON] = "epsilon", [DM_PREDICT_V] = "v",
      [DM_PREDICT_SAMPLE] = "sample"};
  return g_strdup_printf("Stable Diffusion %s%s, %s prediction, %d x %d",
                         dm_sd_version_name(family->version),
                         family->inpainting ? " inpainting" : "",
                         predictions[family->prediction],
                         family->image_size, family->image_size);
}

/* ---- the tokenizer ------------------------------------------------------- */

DmClipTokenizerConfig dm_sd_tokenizer_config(DmSdVersion version) {
  DmClipTokenizerConfig config = dm_clip_tokenizer_config_default();
  if (version == DM_SD_2) config.pad = "!";
  return config;
}

/* The folders a single file's tokenizer may be in, in the order they are
 * tried: a tokenizer/ beside the file (its own configs), then CLIP's
 * vocabulary installed in the user's and the system's data folders. */
static GPtrArray *tokenizer_places(const char *path) {
  GPtrArray *places = g_ptr_array_new_with_free_func(g_free);
  char *folder = g_path_get_dirname(path);
  g_ptr_array_add(places, g_build_filename(folder, "tokenizer", NULL));
  g_free(folder);
  g_ptr_array_add(places, g_build_filename(g_get_user_data_dir(),
                                           "gimp-diffusion", "tokenizers",
                                           "clip", NULL));
  for (const char *const *dir = g_get_system_data_dirs(); *dir; dir++)
    g_ptr_array_add(places, g_build_filename(*dir, "gimp-diffusion",
                                             "tokenizers", "clip", NULL));
  return places;
}

static bool has_vocabulary(const char *folder) {
  char *vocab = g_build_filename(folder, "vocab.json", NULL);
  const bool found = g_file_test(vocab, G_FILE_TEST_IS_REGULAR);
  g_free(vocab);
  return found;
}

/* The error for a tokenizer found nowhere, naming every place. */
static void no_tokenizer(const char *path, GPtrArray *places,
                         GError **error) {
  GString *where = g_string_new(NULL);
  for (guint i = 0; i < places->len; i++)
    g_string_append_printf(where, "%s'%s'", i ? ", " : "",
                           (const char *)places->pdata[i]);
  g_set_error(error, DM_ERROR, DM_ERROR_IO,
              "%s carries no tokenizer, and none was found in %s: install "
              "CLIP's vocab.json and merges.txt (the tokenizer/ folder of "
              "any Stable Diffusion 1.x or 2.x diffusers model) as "
              "gimp-diffusion/tokenizers/clip in your data folder (%s)",
              path, where->str, g_get_user_data_dir());
  g_string_free(where, TRUE);
}

DmClipTokenizer *dm_sd_tokenizer_load(const char *checkpoint,
                                      const DmSdLoadOptions *options,
                                      DmSdVersion version, char **folder,
                                      GError **error) {
  const DmClipTokenizerConfig config = dm_sd_tokenizer_config(version);
  GPtrArray *places = tokenizer_places(checkpoint);
  guint found = 0;
  while (found < places->len && !has_vocabulary(places->pdata[found]))
    found++;
  DmClipTokenizer *tokenizer = NULL;
  *folder = NULL;
  if (options->tokenizer) {
    *folder = g_strdup(options->tokenizer);
    tokenizer = dm_clip_tokenizer_load_vocabulary(*folder, &config, error);
  } else if (found == places->len) {
    no_tokenizer(checkpoint, places, error);
  } else {
    *folder = g_strdup(places->pdata[found]);
    tokenizer = found == 0
                    ? dm_clip_tokenizer_load(*folder, error)
                    : dm_clip_tokenizer_load_vocabulary(*folder, &config,
                                                        error);
  }
  g_ptr_array_unref(places);
  if (!tokenizer) g_clear_pointer(folder, g_free);
  return tokenizer;
}

/* ---- schedule and family ------------------------------------------------- */

void dm_sd_schedule_config(DmScheduleConfig *schedule,
                           DmPrediction prediction) {
  dm_schedule_config_default(schedule);
  schedule->beta_start = 0.00085f;
  schedule->beta_end = 0.012f;
  schedule->beta_schedule = DM_BETA_SCALED_LINEAR;
  schedule->clip_sample = false;
  schedule->set_alpha_to_one = false;
  schedule->steps_offset = 1;
  schedule->prediction_type = prediction;
}

/* Reads `path`'s scheduler config over `schedule`'s defaults. */
static bool read_schedule(DmScheduleConfig *schedule, const char *path,
                          GError **error) {
  char *text = dm_read_text_file(path, DM_MAX_CONFIG_BYTES, false, error);
  const bool ok = text &&
                  dm_schedule_config_from_json(schedule, text, error);
  if (text && !ok) g_prefix_error(error, "%s: ", path);
  g_free(text);
  return ok;
}

/* The option's prediction, when it sets one, over the checkpoint's. */
static void apply_options(DmSdModel *model, const DmSdLoadOptions *options) {
  if (options->prediction == DM_PREDICTION_COUNT) return;
  model->family.prediction = options->prediction;
  model->family.prediction_source = DM_SD_FROM_OPTION;
  model->schedule.prediction_type = options->prediction;
}

/* ---- single files -------------------------------------------------------- */

/* The scheduler config beside a single file, or NULL. */
static char *scheduler_beside(const char *path) {
  char *folder = g_path_get_dirname(path);
  char *candidates[] = {
      g_build_filename(folder, "scheduler", "scheduler_config.json", NULL),
      g_build_filename(folder, "scheduler_config.json", NULL)};
  char *found = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
    if (!found && g_file_test(candidates[i], G_FILE_TEST_IS_REGULAR))
      found = g_strdup(candidates[i]);
    g_free(candidates[i]);
  }
  g_free(folder);
  return found;
}

/* The family's prediction and size by the rule (dm.h), or by a scheduler
 * config beside the file. */
static bool single_file_schedule(DmSdModel *model, const char *path,
                                 GError **error) {
  DmSdFamily *family = &model->family;
  const bool v = family->version == DM_SD_2 && !family->inpainting;
  dm_sd_schedule_config(&model->schedule,
                        v ? DM_PREDICT_V : DM_PREDICT_EPSILON);
  family->prediction_source = DM_SD_FROM_RULE;
  char *scheduler = scheduler_beside(path);
  const bool ok = !scheduler || read_schedule(&model->schedule, scheduler,
                                              error);
  if (scheduler) family->prediction_source = DM_SD_FROM_SCHEDULER;
  g_free(scheduler);
  family->prediction = model->schedule.prediction_type;
  return ok;
}

/* The size follows the prediction: SD 2.x's v models are the 768 ones. */
static void single_file_size(DmSdFamily *family) {
  family->image_size = family->version == DM_SD_2 && !family->inpainting &&
                               family->prediction == DM_PREDICT_V
                           ? 768 : 512;
}

/* Refuses files that are no safetensors, naming what they are. */
static bool check_file_kind(const char *path, GError **error) {
  static const char *const pickles[] = {".ckpt", ".pt", ".pth", ".bin",
                                        ".pkl"};
  guint8 head[9] = {0};
  FILE *file = g_fopen(path, "rb");
  const size_t length = file ? fread(head, 1, sizeof head, file) : 0;
  if (file) fclose(file);
  bool pickle = (length >= 2 && head[0] == 0x80 && head[1] >= 2 &&
                 head[1] <= 5) ||
                (length >= 4 && memcmp(head, "PK\x03\x04", 4) == 0);
  for (size_t i = 0; i < G_N_ELEMENTS(pickles); i++)
    pickle |= g_str_has_suffix(path, pickles[i]);
  if (pickle)
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s is a PyTorch pickle (.ckpt/.pt/.bin), which can run "
                "code when loaded and is not read here: convert it to "
                ".safetensors (for example with the safetensors "
                "convert tool, or diffusers' from_single_file and "
                "save_pretrained)", path);
  else if (length >= 4 && memcmp(head, "GGUF", 4) == 0)
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s is a GGUF file; Stable Diffusion checkpoints are read "
                "from .safetensors", path);
  return !pickle && !(length >= 4 && memcmp(head, "GGUF", 4) == 0);
}

/* The networks of a single file (weights only when `read`). */
static bool single_file_networks(DmSdModel *model, const DmSafetensors *st,
                                 const DmSdCheckpoint *checkpoint, bool read,
                                 const char *path, GError **error) {
  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, checkpoint->version);
  DmUnetCondConfig unet_config;
  dm_sd_unet_config(&unet_config, checkpoint->version,
                    checkpoint->inpainting);
  DmSdBlocks unet_blocks;
  dm_sd_unet_blocks(&unet_blocks, &unet_config);
  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmSdBlocks vae_blocks;
  dm_sd_vae_blocks(&vae_blocks, &vae_config);
  return dm_clip_text_init(&model->text_encoder, &text_config, error) &&
         dm_sd_part_load(&model->text_encoder.weights, st,
                         checkpoint->text_part, NULL, read, path, error) &&
         dm_unet_cond_init(&model->unet, &unet_config, error) &&
         dm_sd_part_load(&model->unet.weights, st, DM_SD_PART_UNET,
                         &unet_blocks, read, path, error) &&
         dm_vae_describe(&model->vae, &vae_config, error) &&
         dm_sd_part_load(&model->vae.weights, st, DM_SD_PART_VAE,
                         &vae_blocks, read, path, error);
}

static bool load_single_file(DmSdModel *model, const char *path,
                             const DmSdLoadOptions *options, bool read,
                             GError **error) {
  if (!check_file_kind(path, error)) return false;
  DmSafetensors *st = dm_safetensors_open_any(path, error);
  DmSdCheckpoint checkpoint;
  bool ok = st && dm_sd_checkpoint_recognise(&checkpoint, st, path, error);
  if (ok) {
    model->family = (DmSdFamily){.version = checkpoint.version,
                                 .inpainting = checkpoint.inpainting,
                                 .layout = DM_SD_SINGLE_FILE};
    ok = single_file_schedule(model, path, error);
    apply_options(model, options);
    single_file_size(&model->family);
  }
  if (ok && read)
    ok = (model->tokenizer = dm_sd_tokenizer_load(
              path, options, checkpoint.version, &model->tokenizer_folder,
              error)) != NULL;
  ok = ok && single_file_networks(model, st, &checkpoint, read, path, error);
  dm_safetensors_free(st);
  return ok;
}

/* ---- pipeline folders ---------------------------------------------------- */

/* A pipeline's components: what model_index.json must name. */
static const struct {
  const char *component, *class_name;
} COMPONENTS[] = {
    {"unet", "UNet2DConditionModel"},
    {"vae", "AutoencoderKL"},
    {"text_encoder", "CLIPTextModel"},
    {"tokenizer", "CLIPTokenizer"},
};

/* Components a pipeline may have that loading passes over. */
static const char *const IGNORED_COMPONENTS[] = {
    "scheduler", "safety_checker", "feature_extractor", "image_encoder"};

/* Components of other families' pipelines. */
static const struct {
  const char *component, *what;
} FOREIGN_COMPONENTS[] = {
    {"text_encoder_2", "an SDXL pipeline (two text encoders)"},
    {"transformer", "a transformer pipeline (SD3, Flux, PixArt, ...)"},
    {"prior", "a Stable Cascade or Kandinsky prior pipeline"},
    {"controlnet", "a ControlNet pipeline"},
};

/* The class name of model_index.json's ["library", "Class"] entry, or
 * "?". */
static const char *component_class(JsonNode *node) {
  JsonArray *pair = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                : NULL;
  JsonNode *name = pair && json_array_get_length(pair) == 2
                       ? json_array_get_element(pair, 1) : NULL;
  return name && JSON_NODE_HOLDS_VALUE(name) &&
                 json_node_get_value_type(name) == G_TYPE_STRING
             ? json_node_get_string(name) : "?";
}

static bool ignored_component(const char *key, JsonNode *node) {
  if (key[0] == '_' || !JSON_NODE_HOLDS_ARRAY(node)) return true;
  for (size_t i = 0; i < G_N_ELEMENTS(IGNORED_COMPONENTS); i++)
    if (strcmp(key, IGNORED_COMPONENTS[i]) == 0) return true;
  return false;
}

/* One component of model_index.json: one of COMPONENTS with its class,
 * or passed over; else refused naming it. */
static bool check_component(const char *index, const char *key,
                            JsonNode *node, GError **error) {
  if (ignored_component(key, node)) return true;
  for (size_t i = 0; i < G_N_ELEMENTS(FOREIGN_COMPONENTS); i++)
    if (strcmp(key, FOREIGN_COMPONENTS[i].component) == 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "%s is %s (component \"%s\"), not a Stable Diffusion "
                  "1.x or 2.x pipeline", index, FOREIGN_COMPONENTS[i].what,
                  key);
      return false;
    }
  const char *class_name = component_class(node);
  for (size_t i = 0; i < G_N_ELEMENTS(COMPONENTS); i++)
    if (strcmp(key, COMPONENTS[i].component) == 0 &&
        strcmp(class_name, COMPONENTS[i].class_name) == 0)
      return true;
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "%s: unsupported pipeline component %s = \"%s\" (a Stable "
              "Diffusion pipeline has unet, vae, text_encoder, tokenizer "
              "and scheduler)", index, key, class_name);
  return false;
}

bool dm_sd_model_index_check(const char *text, const char *label,
                             GError **error) {
  JsonParser *parser = dm_json_parse_object(text, -1, label, error);
  JsonObject *object = parser ? json_node_get_object(
                                    json_parser_get_root(parser))
                              : NULL;
  bool ok = object != NULL;
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  if (object) json_object_iter_init(&iter, object);
  while (ok && json_object_iter_next(&iter, &key, &node))
    ok = check_component(label, key, node, error);
  for (size_t i = 0; ok && i < G_N_ELEMENTS(COMPONENTS); i++)
    if (!json_object_has_member(object, COMPONENTS[i].component)) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: no \"%s\" component", label, COMPONENTS[i].component);
      ok = false;
    }
  g_clear_object(&parser);
  return ok;
}

static bool check_model_index(const char *folder, GError **error) {
  char *index = g_build_filename(folder, "model_index.json", NULL);
  char *text = dm_read_text_file(index, DM_MAX_CONFIG_BYTES, false, error);
  const bool ok = text && dm_sd_model_index_check(text, index, error);
  g_free(text);
  g_free(index);
  return ok;
}

/* Reads `folder`/`component`/config.json with `parse`. */
typedef bool (*ConfigParser)(void *config, const char *text,
                             const char *label, GError **error);

static bool read_component_config(const char *folder, const char *component,
                                  ConfigParser parse, void *config,
                                  GError **error) {
  char *path = g_build_filename(folder, component, "config.json", NULL);
  char *text = dm_read_text_file(path, DM_MAX_CONFIG_BYTES, false, error);
  const bool ok = text && parse(config, text, path, error);
  g_free(text);
  g_free(path);
  return ok;
}

static bool parse_text_config(void *config, const char *text,
                              const char *label, GError **error) {
  return dm_clip_text_config_from_json(config, text, label, error);
}

static bool parse_vae_config(void *config, const char *text,
                             const char *label, GError **error) {
  return dm_vae_config_from_json(config, text, label, error);
}

/* unet/config.json: the network's config, and the sample size (latent
 * pixels) it was trained at, which the network does not read. */
typedef struct {
  DmUnetCondConfig config;
  int32_t sample_size;
} UnetFields;

static bool parse_unet_fields(void *out, const char *text, const char *label,
                              GError **error) {
  UnetFields *fields = out;
  fields->sample_size = 64;
  if (!dm_unet_cond_config_from_json(&fields->config, text, label, error))
    return false;
  JsonParser *parser = dm_json_parse_object(text, -1, label, error);
  const bool ok = parser &&
                  dm_json_read_int(json_node_get_object(
                                       json_parser_get_root(parser)),
                                   label, "sample_size", false,
                                   &fields->sample_size, error);
  g_clear_object(&parser);
  return ok;
}

/* The family a pipeline's configs give; its parts must agree. */
static bool pipeline_family(DmSdFamily *family, const UnetFields *unet,
                            const DmClipTextConfig *text,
                            const DmVaeConfig *vae, const char *folder,
                            GError **error) {
  const int32_t width = unet->config.cross_attention_dim;
  const int32_t in_channels = unet->config.in_channels;
  family->version = width == 1024 ? DM_SD_2 : DM_SD_1;
  family->inpainting = in_channels == 9;
  family->layout = DM_SD_PIPELINE_FOLDER;
  const int32_t scale = dm_vae_scale(vae);
  const char *problem =
      width != 768 && width != 1024
          ? "its U-Net attends to text states neither 768 (SD 1.x) nor "
            "1024 (SD 2.x) wide"
      : text->hidden_size != width
          ? "its text encoder's width is not the one its U-Net attends to"
      : in_channels != 4 && in_channels != 9
          ? "its U-Net reads neither 4 nor 9 (inpainting) channels"
      : unet->sample_size < 1 || unet->sample_size > 4096 / scale
          ? "its U-Net's sample_size is outside 1 .. 4096 pixels"
          : NULL;
  family->image_size = problem ? 0 : unet->sample_size * scale;
  if (problem)
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: not a Stable Diffusion 1.x or 2.x pipeline: %s "
                "(cross_attention_dim %d, text hidden_size %d, in_channels "
                "%d, sample_size %d)", folder, problem, width,
                text->hidden_size, in_channels, unet->sample_size);
  return problem == NULL;
}

/* The configs of a pipeline: family and schedule. */
static bool pipeline_configs(DmSdModel *model, const char *folder,
                             GError **error) {
  UnetFields unet;
  DmClipTextConfig text;
  DmVaeConfig vae;
  char *scheduler = g_build_filename(folder, "scheduler",
                                     "scheduler_config.json", NULL);
  const bool ok =
      check_model_index(folder, error) &&
      read_component_config(folder, "unet", parse_unet_fields, &unet,
                            error) &&
      read_component_config(folder, "text_encoder", parse_text_config,
                            &text, error) &&
      read_component_config(folder, "vae", parse_vae_config, &vae, error) &&
      pipeline_family(&model->family, &unet, &text, &vae, folder, error) &&
      read_schedule(&model->schedule, scheduler, error);
  model->family.prediction = model->schedule.prediction_type;
  model->family.prediction_source = DM_SD_FROM_SCHEDULER;
  g_free(scheduler);
  return ok;
}

/* The networks and the tokenizer of a pipeline folder. */
static bool pipeline_networks(DmSdModel *model, const char *folder,
                              GError **error) {
  char *text = g_build_filename(folder, "text_encoder", NULL);
  char *unet = g_build_filename(folder, "unet", NULL);
  char *vae = g_build_filename(folder, "vae", NULL);
  model->tokenizer_folder = g_build_filename(folder, "tokenizer", NULL);
  const bool ok =
      dm_clip_text_load(&model->text_encoder, text, error) &&
      dm_unet_cond_load(&model->unet, unet, error) &&
      dm_vae_load_folder(&model->vae, vae, error) &&
      (model->tokenizer = dm_clip_tokenizer_load(model->tokenizer_folder,
                                                 error)) != NULL;
  g_free(vae);
  g_free(unet);
  g_free(text);
  return ok;
}

static bool load_pipeline(DmSdModel *model, const char *folder,
                          const DmSdLoadOptions *options, bool read,
                          GError **error) {
  if (!pipeline_configs(model, folder, error)) return false;
  apply_options(model, options);
  return !read || pipeline_networks(model, folder, error);
}

/* ---- the public API ------------------------------------------------------ */

/* A model from `path` (weights and tokenizer only when `read`). */
static DmSdModel *load(const char *path, const DmSdLoadOptions *options,
                       bool read, GError **error) {
  DmSdLoadOptions defaults;
  dm_sd_load_options_default(&defaults);
  if (!options) options = &defaults;
  if (!path || (int)options->prediction < 0 ||
      options->prediction > DM_PREDICTION_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_sd_model_load: no path or an unknown prediction type");
    return NULL;
  }
  DmSdModel *model = g_new0(DmSdModel, 1);
  bool ok;
  if (g_file_test(path, G_FILE_TEST_IS_DIR))
    ok = load_pipeline(model, path, options, read, error);
  else
    ok = load_single_file(model, path, options, read, error);
  if (!ok) g_clear_pointer(&model, dm_sd_model_free);
  return model;
}

DmSdModel *dm_sd_model_load(const char *path, const DmSdLoadOptions *options,
                            GError **error) {
  return load(path, options, true, error);
}

bool dm_sd_checkpoint_identify(const char *path,
                               const DmSdLoadOptions *options,
                               DmSdFamily *family, GError **error) {
  DmSdModel *model = load(path, options, false, error);
  if (model) *family = model->family;
  dm_sd_model_free(model);
  return model != NULL;
}

void dm_sd_model_free(DmSdModel *model) {
  if (!model) return;
  dm_clip_text_clear(&model->text_encoder);
  dm_unet_cond_clear(&model->unet);
  dm_vae_clear(&model->vae);
  if (model->tokenizer) dm_clip_tokenizer_free(model->tokenizer);
  g_free(model->tokenizer_folder);
  g_free(model);
}

const DmSdFamily *dm_sd_model_family(const DmSdModel *model) {
  return &model->family;
}

const DmScheduleConfig *dm_sd_model_schedule_config(const DmSdModel *model) {
  return &model->schedule;
}

const char *dm_sd_model_tokenizer_folder(const DmSdModel *model) {
  return model->tokenizer_folder;
}

/* The weights of the model's networks. */
static void model_weights(const DmSdModel *model, const DmWeights *out[3]) {
  out[0] = &model->text_encoder.weights;
  out[1] = &model->unet.weights;
  out[2] = &model->vae.weights;
}

int64_t dm_sd_model_param_count(const DmSdModel *model) {
  const DmWeights *weights[3];
  model_weights(model, weights);
  int64_t count = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(weights); i++)
    count += (int64_t)weights[i]->table.total;
  return count;
}

int64_t dm_sd_model_weight_bytes(const DmSdModel *model) {
  const DmWeights *weights[3];
  model_weights(model, weights);
  int64_t bytes = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(weights); i++)
    bytes += (int64_t)(weights[i]->table.total *
                       dm_dtype_size(weights[i]->dtype));
  return bytes;
}

/* ---- which loader -------------------------------------------------------- */

/* Whether a folder's model_index.json names anything but a UNet2DModel
 * unet. */
static bool folder_is_sd(const char *folder) {
  char *index = g_build_filename(folder, "model_index.json", NULL);
  char *text = dm_read_text_file(index, DM_MAX_CONFIG_BYTES, true, NULL);
  JsonParser *parser = text ? dm_json_parse_object(text, -1, index, NULL)
                            : NULL;
  JsonNode *unet = parser ? json_object_get_member(
                                json_node_get_object(
                                    json_parser_get_root(parser)),
                                "unet")
                          : NULL;
  const bool sd = parser &&
                  !(unet && strcmp(component_class(unet), "UNet2DModel") == 0);
  g_clear_object(&parser);
  g_free(text);
  g_free(index);
  return sd;
}

bool dm_sd_checkpoint_probe(const char *path) {
  if (!path || !g_file_test(path, G_FILE_TEST_EXISTS)) return false;
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) return folder_is_sd(path);
  DmSafetensors *st = dm_safetensors_open_any(path, NULL);
  const bool ours = st && dm_safetensors_metadata(st, "dm.config");
  dm_safetensors_free(st);
  return !ours;
}
