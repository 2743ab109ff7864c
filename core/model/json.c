/* gimp-diffusion core: bounded JSON parsing and typed readers for the
 * texts of model files (json.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/json.h"

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

/* ---- messages ------------------------------------------------------------ */

/* The JSON text of a value for messages, shortened (caller g_free()s). */
static char *node_text(JsonNode *node) {
  char *text = json_to_string(node, FALSE);
  if (text && strlen(text) > 48) {
    text[44] = '\0';
    char *shortened = g_strconcat(text, " ...", NULL);
    g_free(text);
    text = shortened;
  }
  return text ? text : g_strdup("?");
}

static const char *node_type_name(JsonNode *node) {
  if (JSON_NODE_HOLDS_NULL(node)) return "null";
  if (JSON_NODE_HOLDS_OBJECT(node)) return "an object";
  if (JSON_NODE_HOLDS_ARRAY(node)) return "an array";
  GType type = json_node_get_value_type(node);
  if (type == G_TYPE_STRING) return "a string";
  if (type == G_TYPE_BOOLEAN) return "a boolean";
  if (type == G_TYPE_INT64) return "an integer";
  if (type == G_TYPE_DOUBLE) return "a number";
  return "a value of unknown type";
}

bool dm_json_type_error(JsonNode *node, const char *label, const char *field,
                       const char *wanted, GError **error) {
  char *text = node_text(node);
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "%s: %s must be %s, not %s (%s)", label, field, wanted,
              node_type_name(node), text);
  g_free(text);
  return false;
}

bool dm_json_unsupported(JsonNode *node, const char *label, const char *field,
                         const char *why, GError **error) {
  char *text = node_text(node);
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "%s: %s = %s is not supported%s%s", label, field, text,
              why ? ": " : "", why ? why : "");
  g_free(text);
  return false;
}

/* ---- one value ------------------------------------------------------------ */

static bool holds(JsonNode *node, GType type) {
  return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

bool dm_json_to_int(JsonNode *node, const char *label, const char *field,
                    bool nullable, int32_t *out, GError **error) {
  if (nullable && JSON_NODE_HOLDS_NULL(node)) {
    *out = 0;
    return true;
  }
  double value;
  if (holds(node, G_TYPE_INT64))
    value = (double)json_node_get_int(node);
  else if (holds(node, G_TYPE_DOUBLE))
    value = json_node_get_double(node);
  else
    value = NAN;
  if (!(value >= INT32_MIN && value <= INT32_MAX) || value != floor(value))
    return dm_json_type_error(node, label, field,
                      nullable ? "an integer or null" : "an integer", error);
  *out = (int32_t)value;
  return true;
}

bool dm_json_to_double(JsonNode *node, const char *label, const char *field,
                       double *out, GError **error) {
  if (!holds(node, G_TYPE_INT64) && !holds(node, G_TYPE_DOUBLE))
    return dm_json_type_error(node, label, field, "a number", error);
  *out = json_node_get_double(node); /* converts integers too */
  return true;
}

bool dm_json_to_float(JsonNode *node, const char *label, const char *field,
                      float *out, GError **error) {
  double value;
  if (!dm_json_to_double(node, label, field, &value, error)) return false;
  if (fabs(value) > FLT_MAX)
    *out = value > 0 ? INFINITY : -INFINITY;
  else
    *out = (float)value;
  return true;
}

bool dm_json_to_bool(JsonNode *node, const char *label, const char *field,
                     bool *out, GError **error) {
  if (!holds(node, G_TYPE_BOOLEAN))
    return dm_json_type_error(node, label, field, "true or false", error);
  *out = json_node_get_boolean(node);
  return true;
}

bool dm_json_to_choice(JsonNode *node, const char *label, const char *field,
                       const char *const *names, int count, int *index,
                       GError **error) {
  const char *value = "null";
  int null_index;
  const bool takes_null = dm_table_find(names, count, value, &null_index);
  if (!JSON_NODE_HOLDS_NULL(node) || !takes_null) {
    if (!holds(node, G_TYPE_STRING))
      return dm_json_type_error(node, label, field,
                                takes_null ? "a string or null" : "a string",
                                error);
    value = json_node_get_string(node);
  }
  if (dm_table_find(names, count, value, index)) return true;
  GString *list = g_string_new("supported: ");
  for (int i = 0; i < count; i++)
    g_string_append_printf(list, "%s%s", i ? ", " : "", names[i]);
  dm_json_unsupported(node, label, field, list->str, error);
  g_string_free(list, TRUE);
  return false;
}

/* ---- one member of an object ---------------------------------------------- */

bool dm_json_read_int(JsonObject *object, const char *label,
                      const char *field, bool nullable, int32_t *out,
                      GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  return !node || dm_json_to_int(node, label, field, nullable, out, error);
}

bool dm_json_read_float(JsonObject *object, const char *label,
                        const char *field, float *out, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  return !node || dm_json_to_float(node, label, field, out, error);
}

bool dm_json_read_bool(JsonObject *object, const char *label,
                       const char *field, bool *out, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  return !node || dm_json_to_bool(node, label, field, out, error);
}

bool dm_json_read_choice(JsonObject *object, const char *label,
                         const char *field, const char *const *names,
                         int count, int *index, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  return !node ||
         dm_json_to_choice(node, label, field, names, count, index, error);
}

bool dm_json_read_null(JsonObject *object, const char *label,
                       const char *field, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  return !node || JSON_NODE_HOLDS_NULL(node) ||
         dm_json_unsupported(node, label, field, "only null is", error);
}

bool dm_json_read_int_list(JsonObject *object, const char *label,
                           const char *field, int32_t max_count,
                           int32_t *out, int32_t *count, GError **error) {
  JsonNode *node = json_object_get_member(object, field);
  if (!node) return true;
  JsonArray *array = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node)
                                                 : NULL;
  const guint n = array ? json_array_get_length(array) : 0;
  bool ok = n >= 1 && n <= (guint)max_count;
  for (guint i = 0; ok && i < n; i++)
    ok = dm_json_to_int(json_array_get_element(array, i), label, field,
                        false, &out[i], NULL);
  if (!ok) {
    char *wanted = g_strdup_printf("a list of 1 to %d integers", max_count);
    dm_json_type_error(node, label, field, wanted, error);
    g_free(wanted);
    return false;
  }
  *count = (int32_t)n;
  return true;
}

bool dm_json_check_known(JsonObject *object, const char *label,
                         const char *const *known, const char *class_name,
                         GError **error) {
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  json_object_iter_init(&iter, object);
  while (json_object_iter_next(&iter, &key, &node)) {
    if (key[0] == '_' || JSON_NODE_HOLDS_NULL(node) ||
        g_strv_contains(known, key))
      continue;
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: unsupported field \"%s\" (not a %s field)", label, key,
                class_name);
    return false;
  }
  return true;
}

/* ---- writing -------------------------------------------------------------- */

void dm_json_float_text(float value, char *buffer, size_t size) {
  for (int digits = 1; digits <= 9; digits++) {
    char format[8];
    snprintf(format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd(buffer, (int)size, format, (double)value);
    if ((float)g_ascii_strtod(buffer, NULL) == value) return;
  }
}

void dm_json_append_float(GString *out, float value) {
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  dm_json_float_text(value, buffer, sizeof buffer);
  g_string_append(out, buffer);
  if (strpbrk(buffer, ".eEn") == NULL) g_string_append(out, ".0");
}
