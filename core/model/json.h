/* gimp-diffusion core: reading and writing the JSON of model files
 * (internal): config.json, scheduler_config.json, model_index.json and
 * safetensors metadata, all untrusted input.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Every reader takes a `label` naming the text in messages ("config",
 * "scheduler config", ...). A wrong JSON type is DM_ERROR_FORMAT, a value
 * of the right type that we cannot run DM_ERROR_UNSUPPORTED; both name the
 * field and show the value. */
#ifndef DM_MODEL_JSON_H
#define DM_MODEL_JSON_H

#include <json-glib/json-glib.h>

#include "tensor/base.h"

/* Deepest nesting of arrays/objects accepted in any JSON text we read.
 * json-glib parses recursively and overflows the stack on deep input. */
#define DM_JSON_MAX_DEPTH 64

/* Parses `length` bytes of untrusted JSON (length < 0: NUL-terminated)
 * after checking that they are valid UTF-8, strict JSON, free of duplicate
 * keys and nested no deeper than DM_JSON_MAX_DEPTH. Returns a parser whose
 * root is an object, or NULL with a DM_ERROR_FORMAT naming `label`. Free
 * with g_object_unref(). */
JsonParser *dm_json_parse_object(const char *text, gssize length,
                                 const char *label, GError **error);

/* ---- one value ----------------------------------------------------------
 * Each sets *out from `node` (the value of `field`), or fails naming it. */

/* An integer, or an integral number such as 1000.0, in int32 range;
 * `nullable`: a JSON null reads as 0. */
bool dm_json_to_int(JsonNode *node, const char *label, const char *field,
                    bool nullable, int32_t *out, GError **error);
/* Any number; beyond float's range reads as an infinity (never undefined
 * behaviour; range checks refuse it later). */
bool dm_json_to_float(JsonNode *node, const char *label, const char *field,
                      float *out, GError **error);
bool dm_json_to_double(JsonNode *node, const char *label, const char *field,
                       double *out, GError **error);
bool dm_json_to_bool(JsonNode *node, const char *label, const char *field,
                     bool *out, GError **error);
/* A string that must be one of names[0 .. count - 1] (a JSON null counts
 * as "null", accepted when listed); *index = its position. */
bool dm_json_to_choice(JsonNode *node, const char *label, const char *field,
                       const char *const *names, int count, int *index,
                       GError **error);

/* ---- one member of an object --------------------------------------------
 * The same, by name; an absent member leaves *out alone (the default
 * stays). */

bool dm_json_read_int(JsonObject *object, const char *label,
                      const char *field, bool nullable, int32_t *out,
                      GError **error);
bool dm_json_read_float(JsonObject *object, const char *label,
                        const char *field, float *out, GError **error);
bool dm_json_read_bool(JsonObject *object, const char *label,
                       const char *field, bool *out, GError **error);
bool dm_json_read_choice(JsonObject *object, const char *label,
                         const char *field, const char *const *names,
                         int count, int *index, GError **error);
/* A member that must be absent or null (a feature we do not implement). */
bool dm_json_read_null(JsonObject *object, const char *label,
                       const char *field, GError **error);
/* A list of 1 .. max_count integers (no nulls) into out[0 .. *count - 1];
 * an absent member leaves out and *count alone. */
bool dm_json_read_int_list(JsonObject *object, const char *label,
                           const char *field, int32_t max_count,
                           int32_t *out, int32_t *count, GError **error);

/* Refuses (DM_ERROR_UNSUPPORTED) the first member whose name is not in the
 * NULL-terminated `known`, unless it starts with "_" or is null: a field
 * of another model class (`class_name` in the message) or of a newer
 * diffusers. */
bool dm_json_check_known(JsonObject *object, const char *label,
                         const char *const *known, const char *class_name,
                         GError **error);

/* Fails with DM_ERROR_FORMAT: "LABEL: FIELD must be WANTED, not TYPE
 * (VALUE)". Returns false. */
bool dm_json_type_error(JsonNode *node, const char *label, const char *field,
                        const char *wanted, GError **error);
/* Fails with DM_ERROR_UNSUPPORTED: "LABEL: FIELD = VALUE is not
 * supported[: WHY]". Returns false. */
bool dm_json_unsupported(JsonNode *node, const char *label, const char *field,
                         const char *why, GError **error);

/* ---- writing ------------------------------------------------------------ */

/* The shortest decimal (at most 9 significant digits, locale-independent)
 * that reads back as `value`: configs write their floats as short decimals
 * (0.00085), so this recovers the text a value came from. */
void dm_json_float_text(float value, char *buffer, size_t size);
/* Appends a float as Python's json.dumps writes the double it came from:
 * the shortest form, always with a '.' or an exponent ("1.0", "1e-05"). */
void dm_json_append_float(GString *out, float value);

#endif /* DM_MODEL_JSON_H */
