/* gimp-diffusion core: loading and saving models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Three layouts load (see dm.h): a diffusers model folder, a diffusers
 * pipeline folder (model_index.json, unet/, scheduler/), and the single
 * .safetensors file whose "__metadata__" carries the config texts. All of
 * them end in model_from_parts(): the tensors are checked by name and shape
 * against the parameter table of the config before anything is allocated,
 * so a file can never make us allocate more than it holds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "model/files.h"
#include "model/json.h"
#include "model/model-files.h"
#include "tensor/base.h"

/* A longer model card is cut at this many bytes. */
#define DM_MAX_CARD_BYTES (1024 * 1024)

#define DM_WEIGHTS_NAME "diffusion_pytorch_model.safetensors"

/* ---- small file helpers ------------------------------------------------ */

/* The model card of a folder (README.md): at most DM_MAX_CARD_BYTES of it,
 * made valid UTF-8; "" when there is none or it cannot be read. */
static char *read_card(const char *folder) {
  char *path = g_build_filename(folder, "README.md", NULL);
  char *text = g_malloc(DM_MAX_CARD_BYTES);
  size_t length = 0;
  FILE *file = g_file_test(path, G_FILE_TEST_IS_REGULAR)
                   ? g_fopen(path, "rb") : NULL;
  if (file) {
    length = fread(text, 1, DM_MAX_CARD_BYTES, file);
    fclose(file);
  }
  g_free(path);
  char *card = g_utf8_make_valid(text, (gssize)length);
  g_free(text);
  return card;
}

/* ---- configs from text ------------------------------------------------- */

static bool parse_unet_config(const char *text, const char *label,
                              DmUnetConfig *config, GError **error) {
  if (!dm_unet_config_from_json(config, text, error)) {
    g_prefix_error(error, "%s: ", label);
    return false;
  }
  return true;
}

/* Scheduler defaults when `text` is NULL. (schedule.c reads the text with
 * the bounded dm_json_parse_object.) */
static bool parse_schedule_config(const char *text, const char *label,
                                  DmScheduleConfig *schedule,
                                  GError **error) {
  dm_schedule_config_default(schedule);
  if (!text) return true;
  if (!dm_schedule_config_from_json(schedule, text, error)) {
    g_prefix_error(error, "%s: ", label);
    return false;
  }
  return true;
}

/* ---- tensors against the parameter table ------------------------------- */

/* In a training checkpoint, the tensors with a "/" in their names: its EMA
 * and optimiser state. */
static bool checkpoint_state(const char *name, const DmSafetensors *st) {
  return dm_safetensors_metadata(st, DM_CHECKPOINT_KEY) != NULL &&
         strchr(name, '/') != NULL;
}

static bool check_tensors(const DmUnetConfig *config, const DmSafetensors *st,
                          const char *label, GError **error) {
  DmParams table;
  if (!dm_unet_params_describe(&table, config, error)) {
    g_prefix_error(error, "%s: ", label);
    return false;
  }
  bool ok = dm_safetensors_check_table(&table, st, checkpoint_state, label,
                                       error);
  dm_params_clear(&table);
  return ok;
}

/* A "dm.conditioning" entry, when the file has one, must name what the
 * channel counts imply (dm.h, DmConditioning). */
static bool check_conditioning(const DmUnetConfig *config,
                               const DmSafetensors *st, const char *label,
                               GError **error) {
  const char *stated = dm_safetensors_metadata(st, "dm.conditioning");
  const DmConditioning implied = dm_unet_config_conditioning(config);
  if (stated == NULL || g_strcmp0(stated, dm_conditioning_name(implied)) == 0)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "%s: the metadata says conditioning \"%s\", but %d input and "
              "%d output channels mean \"%s\"", label, stated,
              config->in_channels, config->out_channels,
              implied == DM_CONDITIONING_COUNT ? "neither none nor mask"
                                               : dm_conditioning_name(implied));
  return false;
}

/* Config, schedule and card are decided: check the tensors, allocate the
 * model and convert every tensor into its parameter block. */
static DmModel *model_from_parts(const DmUnetConfig *config,
                                 const DmScheduleConfig *schedule,
                                 const char *card, const DmSafetensors *st,
                                 const char *label, GError **error) {
  if (!check_conditioning(config, st, label, error) ||
      !check_tensors(config, st, label, error))
    return NULL;
  DmModel *model = dm_model_new_empty(config, schedule, error);
  if (!model) return NULL;
  const DmParams *params = &model->unet.params;
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    dm_safetensors_read_f32(dm_safetensors_find(st, info->name),
                            params->data + info->offset);
  }
  dm_model_set_card(model, card);
  return model;
}

DmModel *dm_model_from_safetensors(const DmSafetensors *st, const char *label,
                                   GError **error) {
  const char *config_text = dm_safetensors_metadata(st, "dm.config");
  if (!config_text) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: no \"dm.config\" metadata: not a gimp-diffusion "
                "single-file model (a diffusers weights file needs its "
                "config.json beside it)", label);
    return NULL;
  }
  DmUnetConfig config;
  DmScheduleConfig schedule;
  char *config_label = g_strdup_printf("%s (dm.config)", label);
  char *schedule_label = g_strdup_printf("%s (dm.scheduler_config)", label);
  bool ok = parse_unet_config(config_text, config_label, &config, error) &&
            parse_schedule_config(
                dm_safetensors_metadata(st, "dm.scheduler_config"),
                schedule_label, &schedule, error);
  g_free(config_label);
  g_free(schedule_label);
  if (!ok) return NULL;
  const char *card = dm_safetensors_metadata(st, "dm.model_card");
  return model_from_parts(&config, &schedule, card ? card : "", st, label,
                          error);
}

/* ---- loading ----------------------------------------------------------- */

/* Where the pieces of a folder model are; any may be NULL when absent. */
typedef struct {
  char *config;    /* config.json */
  char *weights;   /* diffusion_pytorch_model.safetensors */
  char *scheduler; /* scheduler_config.json */
  char *card_dir;  /* the folder whose README.md is the card */
} ModelFiles;

static void model_files_clear(ModelFiles *files) {
  g_free(files->config);
  g_free(files->weights);
  g_free(files->scheduler);
  g_free(files->card_dir);
  memset(files, 0, sizeof *files);
}

/* The first of the given names that exists in `folder`, or NULL. */
static char *find_in_folder(const char *folder, const char *const *names) {
  for (size_t i = 0; names[i]; i++) {
    char *path = g_build_filename(folder, names[i], NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
    g_free(path);
  }
  return NULL;
}

/* The weights of a diffusers model folder (fp16 variant as fallback). */
static char *find_weights(const char *folder, GError **error) {
  static const char *const names[] = {
      DM_WEIGHTS_NAME, "diffusion_pytorch_model.fp16.safetensors", NULL};
  return dm_find_weights(folder, names, "diffusion_pytorch_model.bin", error);
}

/* A scheduler config: beside config.json, or in ../scheduler/ when the
 * folder is the unet/ of a pipeline. */
static char *find_scheduler(const char *folder) {
  static const char *const names[] = {"scheduler_config.json", NULL};
  char *path = find_in_folder(folder, names);
  if (path) return path;
  char *parent = g_path_get_dirname(folder);
  char *index = g_build_filename(parent, "model_index.json", NULL);
  if (g_file_test(index, G_FILE_TEST_IS_REGULAR))
    path = g_build_filename(parent, "scheduler", "scheduler_config.json",
                            NULL);
  if (path && !g_file_test(path, G_FILE_TEST_EXISTS)) g_clear_pointer(&path,
                                                                      g_free);
  g_free(index);
  g_free(parent);
  return path;
}

/* (a) config.json + weights [+ scheduler_config.json, README.md]. */
static bool locate_model_folder(const char *folder, ModelFiles *files,
                                GError **error) {
  files->config = g_build_filename(folder, "config.json", NULL);
  files->weights = find_weights(folder, error);
  files->scheduler = find_scheduler(folder);
  files->card_dir = g_strdup(folder);
  return files->weights != NULL;
}

/* model_index.json must name a UNet2DModel "unet" and nothing but a
 * scheduler beside it (a VAE or text encoder needs code we do not have). */
static bool check_model_index(const char *path, JsonObject *index,
                              GError **error) {
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  bool has_unet = false;
  json_object_iter_init(&iter, index);
  while (json_object_iter_next(&iter, &key, &node)) {
    if (key[0] == '_' || JSON_NODE_HOLDS_NULL(node) ||
        strcmp(key, "scheduler") == 0)
      continue;
    JsonArray *pair = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                  : NULL;
    JsonNode *class_node =
        pair && json_array_get_length(pair) == 2
            ? json_array_get_element(pair, 1) : NULL;
    const char *class_name =
        class_node && JSON_NODE_HOLDS_VALUE(class_node) &&
                json_node_get_value_type(class_node) == G_TYPE_STRING
            ? json_node_get_string(class_node) : "?";
    if (strcmp(key, "unet") != 0 || strcmp(class_name, "UNet2DModel") != 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "%s: unsupported pipeline component %s=\"%s\" (only a "
                  "UNet2DModel unet and a scheduler)", path, key, class_name);
      return false;
    }
    has_unet = true;
  }
  if (!has_unet)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "%s: no \"unet\" component",
                path);
  return has_unet;
}

/* (b) model_index.json, unet/, scheduler/scheduler_config.json. */
static bool locate_pipeline(const char *folder, const char *index_path,
                            ModelFiles *files, GError **error) {
  char *text = dm_read_text_file(index_path, DM_MAX_CONFIG_BYTES, false, error);
  if (!text) return false;
  JsonParser *parser = dm_json_parse_object(text, -1, index_path, error);
  bool ok = parser &&
            check_model_index(index_path,
                              json_node_get_object(
                                  json_parser_get_root(parser)),
                              error);
  g_clear_object(&parser);
  g_free(text);
  if (!ok) return false;
  char *unet = g_build_filename(folder, "unet", NULL);
  ok = locate_model_folder(unet, files, error);
  /* The pipeline's own README.md is the card, else the unet's. */
  char *card = g_build_filename(folder, "README.md", NULL);
  if (g_file_test(card, G_FILE_TEST_IS_REGULAR)) {
    g_free(files->card_dir);
    files->card_dir = g_strdup(folder);
  }
  g_free(card);
  g_free(unet);
  return ok;
}

/* Builds the model from located files (config and weights must exist). */
static DmModel *load_model_files(const ModelFiles *files, GError **error) {
  char *config_text = dm_read_text_file(files->config, DM_MAX_CONFIG_BYTES,
                                     false, error);
  if (!config_text) return NULL;
  char *schedule_text = NULL;
  DmUnetConfig config;
  DmScheduleConfig schedule;
  bool ok = parse_unet_config(config_text, files->config, &config, error) &&
            (!files->scheduler ||
             (schedule_text = dm_read_text_file(files->scheduler,
                                             DM_MAX_CONFIG_BYTES, false,
                                             error)) != NULL) &&
            parse_schedule_config(schedule_text, files->scheduler, &schedule,
                                  error);
  g_free(config_text);
  g_free(schedule_text);
  if (!ok) return NULL;
  DmSafetensors *st = dm_safetensors_open(files->weights, error);
  if (!st) return NULL;
  char *card = files->card_dir ? read_card(files->card_dir) : g_strdup("");
  DmModel *model = model_from_parts(&config, &schedule, card, st,
                                    files->weights, error);
  g_free(card);
  dm_safetensors_free(st);
  return model;
}

static DmModel *load_folder(const char *folder, GError **error) {
  ModelFiles files = {0};
  char *index = g_build_filename(folder, "model_index.json", NULL);
  char *config = g_build_filename(folder, "config.json", NULL);
  bool ok;
  if (g_file_test(index, G_FILE_TEST_EXISTS)) {
    ok = locate_pipeline(folder, index, &files, error);
  } else if (g_file_test(config, G_FILE_TEST_EXISTS)) {
    ok = locate_model_folder(folder, &files, error);
  } else {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "'%s' is not a model folder: no config.json or "
                "model_index.json", folder);
    ok = false;
  }
  g_free(index);
  g_free(config);
  DmModel *model = ok ? load_model_files(&files, error) : NULL;
  model_files_clear(&files);
  return model;
}

/* (c) a single file; a bare diffusers weights file without "dm.config"
 * loads with the config.json beside it. */
static DmModel *load_single_file(const char *path, GError **error) {
  DmSafetensors *st = dm_safetensors_open(path, error);
  if (!st) return NULL;
  char *folder = g_path_get_dirname(path);
  char *sibling_config = g_build_filename(folder, "config.json", NULL);
  DmModel *model = NULL;
  if (!dm_safetensors_metadata(st, "dm.config") &&
      g_file_test(sibling_config, G_FILE_TEST_IS_REGULAR)) {
    dm_safetensors_free(st);
    ModelFiles files = {.config = g_strdup(sibling_config),
                        .weights = g_strdup(path),
                        .scheduler = find_scheduler(folder),
                        .card_dir = g_strdup(folder)};
    model = load_model_files(&files, error);
    model_files_clear(&files);
  } else {
    model = dm_model_from_safetensors(st, path, error);
    dm_safetensors_free(st);
  }
  g_free(sibling_config);
  g_free(folder);
  return model;
}

DmModel *dm_model_load(const char *path, GError **error) {
  if (!path || !*path) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_model_load: no path");
    return NULL;
  }
  GStatBuf info;
  if (g_stat(path, &info) != 0) {
    int saved = errno; /* ENOENT, ELOOP (a link loop), EACCES, ... */
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot open '%s': %s", path,
                g_strerror(saved));
    return NULL;
  }
  if (S_ISDIR(info.st_mode)) return load_folder(path, error);
  return load_single_file(path, error);
}

/* ---- saving ------------------------------------------------------------ */

/* The model's tensors as the writer wants them (borrowing the model). */
static DmStTensor *tensors_of(const DmModel *model) {
  const DmParams *params = &model->unet.params;
  DmStTensor *tensors = g_new0(DmStTensor, params->count > 0 ? params->count
                                                             : 1);
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    tensors[i] = (DmStTensor){info->name, info->rank, info->shape,
                              params->data + info->offset};
  }
  return tensors;
}

/* The tensors of `model` followed by, for each prefix, the same layout
 * under "<prefix>/<name>" with the data of extra[k]: one file holds a
 * model and arrays in its parameter layout (EMA, optimiser moments). */
bool dm_model_write_with_extras(const DmModel *model, const char *path,
                                const char *const *prefixes,
                                const float *const *extras, int32_t n_extras,
                                const char *const *metadata, GError **error) {
  const int32_t count = model->unet.params.count;
  DmStTensor *tensors = g_new(DmStTensor, (size_t)count * (n_extras + 1) + 1);
  DmStTensor *own = tensors_of(model);
  memcpy(tensors, own, count * sizeof(DmStTensor));
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (int32_t k = 0; k < n_extras; k++)
    for (int32_t i = 0; i < count; i++) {
      const DmParamInfo *info = &model->unet.params.info[i];
      char *name = g_strdup_printf("%s/%s", prefixes[k], info->name);
      g_ptr_array_add(names, name);
      tensors[(size_t)(k + 1) * count + i] =
          (DmStTensor){name, info->rank, info->shape, extras[k] + info->offset};
    }
  const bool ok = dm_safetensors_write(path, tensors, count * (n_extras + 1),
                                       metadata, DM_DTYPE_F32, error);
  g_ptr_array_free(names, TRUE);
  g_free(own);
  g_free(tensors);
  return ok;
}

static bool write_weights(const DmModel *model, const char *path,
                          const char *const *metadata, GError **error) {
  return dm_model_write_with_extras(model, path, NULL, NULL, 0, metadata,
                                    error);
}

/* What a mask-conditioned model's input channels hold, for its metadata;
 * NULL for other models. Caller g_free()s. */
static char *input_channels_text(const DmModel *model) {
  if (dm_model_conditioning(model) != DM_CONDITIONING_MASK) return NULL;
  const int32_t c = model->unet.config.out_channels;
  return g_strdup_printf("0-%d: x_t; %d: mask (1 = to fill); %d-%d: known "
                         "image * (1 - mask)", c - 1, c, c + 1, 2 * c);
}

/* Room for every metadata pair a model file has, and the closing NULL. */
enum { N_METADATA = 13 };

/* Appends the conditioning pairs at metadata[n] when `inputs` (from
 * input_channels_text) is not NULL; returns the new count. */
static int32_t add_conditioning(const char **metadata, int32_t n,
                                const char *inputs) {
  if (inputs) {
    metadata[n++] = "dm.conditioning", metadata[n++] = "mask";
    metadata[n++] = "dm.input_channels", metadata[n++] = inputs;
  }
  return n;
}

/* Both config texts, or false when the model's configs cannot be written. */
bool dm_model_config_texts(const DmModel *model, char **config_text,
                           char **schedule_text, GError **error) {
  *config_text = dm_unet_config_to_json(&model->unet.config);
  *schedule_text = dm_schedule_config_to_json(&model->schedule);
  if (*config_text && *schedule_text) return true;
  g_clear_pointer(config_text, g_free);
  g_clear_pointer(schedule_text, g_free);
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "the model's config or scheduler config is invalid");
  return false;
}

static bool save_single_file(const DmModel *model, const char *path,
                             GError **error) {
  char *config_text, *schedule_text;
  if (!dm_model_config_texts(model, &config_text, &schedule_text, error))
    return false;
  const char *card = dm_model_card(model);
  char *inputs = input_channels_text(model);
  const char *metadata[N_METADATA] = {"format", "pt", "dm.config",
                                      config_text, "dm.scheduler_config",
                                      schedule_text};
  int32_t n = add_conditioning(metadata, 6, inputs);
  if (*card) metadata[n++] = "dm.model_card", metadata[n++] = card;
  bool ok = write_weights(model, path, metadata, error);
  g_free(config_text);
  g_free(schedule_text);
  g_free(inputs);
  return ok;
}

/* The files of a diffusers model folder; weights are written separately. */
typedef struct {
  const char *name;
  char *text; /* owned; NULL: not written */
} TextFile;

enum { N_TEXT_FILES = 3 };

static bool write_text(const char *folder, const TextFile *file,
                       GError **error) {
  char *path = g_build_filename(folder, file->name, NULL);
  GError *local = NULL;
  bool ok = g_file_set_contents_full(path, file->text, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT |
                                         G_FILE_SET_CONTENTS_DURABLE,
                                     0644, &local);
  if (!ok) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot write '%s': %s", path,
                local->message);
    g_error_free(local);
  }
  g_free(path);
  return ok;
}

/* Writes every file of the folder into `staging` (an empty folder). */
static bool write_folder_files(const DmModel *model, const char *staging,
                               const TextFile *texts, GError **error) {
  char *inputs = input_channels_text(model);
  const char *metadata[N_METADATA] = {"format", "pt"};
  add_conditioning(metadata, 2, inputs);
  char *weights = g_build_filename(staging, DM_WEIGHTS_NAME, NULL);
  bool ok = write_weights(model, weights, metadata, error);
  g_free(weights);
  g_free(inputs);
  for (int i = 0; ok && i < N_TEXT_FILES; i++)
    if (texts[i].text) ok = write_text(staging, &texts[i], error);
  return ok;
}

/* Removes what write_folder_files may have left, then the folder. */
static void remove_staging(const char *staging, const TextFile *texts) {
  char *weights = g_build_filename(staging, DM_WEIGHTS_NAME, NULL);
  g_unlink(weights);
  g_free(weights);
  for (int i = 0; i < N_TEXT_FILES; i++) {
    char *path = g_build_filename(staging, texts[i].name, NULL);
    g_unlink(path);
    g_free(path);
  }
  g_rmdir(staging);
}

/* Moves each staged file over its namesake in `folder` (an existing model
 * folder); a stale README.md goes when the model has no card. */
static bool move_into_folder(const char *staging, const char *folder,
                             const TextFile *texts, GError **error) {
  const char *names[N_TEXT_FILES + 1] = {DM_WEIGHTS_NAME};
  for (int i = 0; i < N_TEXT_FILES; i++) names[i + 1] = texts[i].name;
  bool ok = true;
  for (int i = 0; ok && i <= N_TEXT_FILES; i++) {
    char *from = g_build_filename(staging, names[i], NULL);
    char *to = g_build_filename(folder, names[i], NULL);
    if (g_file_test(from, G_FILE_TEST_EXISTS)) {
      if (g_rename(from, to) != 0) {
        int saved = errno;
        g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot replace '%s': %s",
                    to, g_strerror(saved));
        ok = false;
      }
    } else {
      g_unlink(to); /* README.md of an earlier card */
    }
    g_free(from);
    g_free(to);
  }
  return ok;
}

/* Stages the folder beside (new folder) or inside (existing folder) `path`
 * and moves it into place only once every file is complete. */
static bool save_folder_staged(const DmModel *model, const char *path,
                               bool exists, const TextFile *texts,
                               GError **error) {
  char *staging = exists ? g_build_filename(path, ".dm-save-XXXXXX", NULL)
                         : g_strdup_printf("%s.tmp-XXXXXX", path);
  if (!g_mkdtemp_full(staging, 0755)) {
    int saved = errno;
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot create '%s': %s", path,
                g_strerror(saved));
    g_free(staging);
    return false;
  }
  bool ok = write_folder_files(model, staging, texts, error);
  if (ok && exists) {
    ok = move_into_folder(staging, path, texts, error);
  } else if (ok && g_rename(staging, path) != 0) {
    int saved = errno;
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot create '%s': %s", path,
                g_strerror(saved));
    ok = false;
  }
  if (!ok || exists) remove_staging(staging, texts);
  g_free(staging);
  return ok;
}

static bool save_folder(const DmModel *model, const char *path,
                        GError **error) {
  bool exists = g_file_test(path, G_FILE_TEST_EXISTS);
  char *index = g_build_filename(path, "model_index.json", NULL);
  bool refused = (exists && !g_file_test(path, G_FILE_TEST_IS_DIR)) ||
                 g_file_test(index, G_FILE_TEST_EXISTS);
  g_free(index);
  if (refused) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "cannot save to '%s': it exists and is not a model folder "
                "(a file, or a pipeline folder)", path);
    return false;
  }
  TextFile texts[N_TEXT_FILES] = {{"config.json", NULL},
                                  {"scheduler_config.json", NULL},
                                  {"README.md", NULL}};
  if (!dm_model_config_texts(model, &texts[0].text, &texts[1].text, error))
    return false;
  if (*dm_model_card(model)) texts[2].text = g_strdup(dm_model_card(model));
  bool ok = save_folder_staged(model, path, exists, texts, error);
  for (int i = 0; i < N_TEXT_FILES; i++) g_free(texts[i].text);
  return ok;
}

bool dm_model_save(const DmModel *model, const char *path, GError **error) {
  if (!model || !path || !*path) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_model_save: no model or path");
    return false;
  }
  if (g_str_has_suffix(path, ".safetensors"))
    return save_single_file(model, path, error);
  /* "out/" and "out" are the same folder; staging goes beside it. */
  char *folder = g_strdup(path);
  for (size_t n = strlen(folder); n > 1 && folder[n - 1] == '/'; n--)
    folder[n - 1] = '\0';
  bool ok = save_folder(model, folder, error);
  g_free(folder);
  return ok;
}
