/* gimp-diffusion core: internal helpers of config.c, safetensors.c and
 * model-io.c that other parts of the library (and the fuzz target) reach.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_MODEL_IO_H
#define DM_MODEL_IO_H

#include <json-glib/json-glib.h>

#include "dm-private.h"
#include "safetensors.h"

/* Deepest nesting of arrays/objects accepted in any JSON text we read.
 * json-glib parses recursively and overflows the stack on deep input. */
#define DM_JSON_MAX_DEPTH 64

/* Parses `length` bytes of untrusted JSON (length < 0: NUL-terminated)
 * after checking that they are valid UTF-8 and nest no deeper than
 * DM_JSON_MAX_DEPTH. Returns a parser whose root is an object, or NULL with
 * a DM_ERROR_FORMAT naming `label`. Free with g_object_unref(). */
JsonParser *dm_json_parse_object(const char *text, gssize length,
                                 const char *label, GError **error);

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

#endif /* DM_MODEL_IO_H */
