/* gimp-diffusion core: model files — what the trainer and the fuzz target
 * reach beyond dm.h's dm_model_load() and dm_model_save() (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_MODEL_MODEL_FILES_H
#define DM_MODEL_MODEL_FILES_H

#include "model/model.h"
#include "model/safetensors.h"

/* Builds a model from a parsed single-file model: config and scheduler from
 * "__metadata__" ("dm.config", "dm.scheduler_config", "dm.model_card"),
 * parameters from the tensors. `label` names the input in messages. */
DmModel *dm_model_from_safetensors(const DmSafetensors *st, const char *label,
                                   GError **error);

/* Metadata key that marks a training checkpoint (dm-train.h): its value is
 * the training options as JSON. */
#define DM_CHECKPOINT_KEY "dm.checkpoint"

/* Writes the model's tensors plus, for each k < n_extras, an array in its
 * parameter layout (extras[k], params.total floats) under the names
 * "<prefixes[k]>/<tensor name>", with `metadata` (a NULL-terminated
 * key/value list), atomically. */
bool dm_model_write_with_extras(const DmModel *model, const char *path,
                                const char *const *prefixes,
                                const float *const *extras, int32_t n_extras,
                                const char *const *metadata, GError **error);

/* Both config texts of a model (caller g_free()s), or false when its
 * configs cannot be written. */
bool dm_model_config_texts(const DmModel *model, char **config_text,
                           char **schedule_text, GError **error);

/* ---- what every network's files share ---------------------------------- */

/* Text files larger than this are refused (configs are a few KB). */
#define DM_MAX_CONFIG_BYTES (16 * 1024 * 1024)

/* Reads a whole text file of at most `limit` bytes (caller g_free()s).
 * When the file does not exist and `optional` is set, returns NULL without
 * an error. */
char *dm_read_text_file(const char *path, size_t limit, bool optional,
                        GError **error);
/* The weights of a diffusers model folder: diffusion_pytorch_model
 * .safetensors, else its .fp16 variant (caller g_free()s); NULL with an
 * error naming the folder (and a .bin it holds) when there is none. */
char *dm_find_weights(const char *folder, GError **error);
/* Every tensor of `table` is in `st` with exactly its shape, and `st` has no
 * other tensor (but a training checkpoint's, whose names hold a "/");
 * else DM_ERROR_FORMAT naming the tensor, its shape and the one wanted. */
bool dm_params_check_safetensors(const DmParams *table,
                                 const DmSafetensors *st, const char *label,
                                 GError **error);

/* Allocates and fills weights->data from the tensors of `st` named as in
 * weights->table, checked first as dm_params_check_safetensors does. The
 * weights keep the dtype the file's tensors share (F32 when they differ).
 * Networks whose tables are DmWeights load through here. */
bool dm_weights_read_safetensors(DmWeights *weights, const DmSafetensors *st,
                                 const char *label, GError **error);

#endif /* DM_MODEL_MODEL_FILES_H */
