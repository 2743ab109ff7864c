/* gimp-diffusion core: safetensors reading and writing.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Reader: the file is mapped (GMappedFile) and the header checked in full
 * before any tensor is touched: every size is computed with overflow
 * checks, every data range must lie inside the data section, and no two
 * ranges may overlap. Writer: header and data go to "<path>.tmp-XXXXXX" in
 * the same folder, which is fsynced and renamed over `path`; on any failure
 * the temporary file is removed and `path` is left untouched. */
#include "model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "model/json.h"
#include "tensor/base.h"

/* A header longer than this is refused (real headers are a few KB per
 * thousand tensors; this bounds the memory the JSON parser may take). */
#define DM_ST_MAX_HEADER ((uint64_t)100 * 1024 * 1024)

struct DmSafetensors {
  GMappedFile *mapping;   /* NULL when parsing caller-owned bytes */
  bool mapped;            /* the data is a file's mapping (a view's too) */
  DmStEntry *entries;     /* (count), in header order */
  int32_t count;
  GHashTable *by_name;    /* name -> DmStEntry*, borrowed from entries */
  GHashTable *metadata;   /* key -> value, both owned */
};

/* ---- dtypes ------------------------------------------------------------ */

static const char *const dtype_names[DM_DTYPE_COUNT] = {"F32", "F16", "BF16"};

/* The dtypes dm_safetensors_parse_any lists but never reads. */
static const struct {
  const char *name;
  size_t size;
} other_dtypes[] = {{"F64", 8},    {"I64", 8},     {"U64", 8},
                    {"I32", 4},    {"U32", 4},     {"I16", 2},
                    {"U16", 2},    {"I8", 1},      {"U8", 1},
                    {"BOOL", 1},   {"F8_E4M3", 1}, {"F8_E5M2", 1}};

/* Sets entry->dtype, ->dtype_name and *size from a dtype's name: false
 * for a name we do not know, or one of other_dtypes unless `any`. */
static bool dtype_from_name(const char *name, bool any, DmStEntry *entry,
                            size_t *size) {
  for (int i = 0; i < DM_DTYPE_COUNT; i++) {
    if (strcmp(name, dtype_names[i]) == 0) {
      entry->dtype = (DmDtype)i;
      entry->dtype_name = dtype_names[i];
      *size = dm_dtype_size(entry->dtype);
      return true;
    }
  }
  for (size_t i = 0; any && i < G_N_ELEMENTS(other_dtypes); i++) {
    if (strcmp(name, other_dtypes[i].name) == 0) {
      entry->dtype = DM_DTYPE_COUNT;
      entry->dtype_name = other_dtypes[i].name;
      *size = other_dtypes[i].size;
      return true;
    }
  }
  return false;
}

static uint16_t load_u16_le(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t load_u32_le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

void dm_safetensors_read_f32(const DmStEntry *entry, float *out) {
  const uint8_t *p = entry->data;
  switch (entry->dtype) {
  case DM_DTYPE_F32:
    for (size_t i = 0; i < entry->numel; i++) {
      uint32_t bits = load_u32_le(p + 4 * i);
      memcpy(&out[i], &bits, sizeof bits);
    }
    break;
  case DM_DTYPE_F16:
    for (size_t i = 0; i < entry->numel; i++)
      out[i] = dm_f16_to_f32(load_u16_le(p + 2 * i));
    break;
  case DM_DTYPE_BF16:
    for (size_t i = 0; i < entry->numel; i++)
      out[i] = dm_bf16_to_f32(load_u16_le(p + 2 * i));
    break;
  case DM_DTYPE_COUNT:
  default:
    g_assert_not_reached();
  }
}

/* ---- header parsing ---------------------------------------------------- */

/* What parse_entry needs about the whole input. */
typedef struct {
  const char *label;       /* the file, for messages */
  const uint8_t *data;     /* start of the data section */
  size_t data_size;        /* bytes in the data section */
  bool any_dtype;          /* list the dtypes of other_dtypes too */
} ParseContext;

/* A non-negative JSON integer, or false. */
static bool node_get_size(JsonNode *node, uint64_t *out) {
  if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
      json_node_get_value_type(node) != G_TYPE_INT64)
    return false;
  int64_t value = json_node_get_int(node);
  if (value < 0) return false;
  *out = (uint64_t)value;
  return true;
}

/* Reads "dtype" into the entry and its element size into *size. */
static bool parse_dtype(const ParseContext *ctx, const char *name,
                        JsonObject *obj, DmStEntry *entry, size_t *size,
                        GError **error) {
  JsonNode *node = json_object_get_member(obj, "dtype");
  if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
      json_node_get_value_type(node) != G_TYPE_STRING) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s' has no \"dtype\" string", ctx->label, name);
    return false;
  }
  const char *dtype = json_node_get_string(node);
  if (!dtype_from_name(dtype, ctx->any_dtype, entry, size)) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: tensor '%s' has dtype %s; only F32, F16 and BF16 are "
                "supported", ctx->label, name, dtype);
    return false;
  }
  return true;
}

/* Reads "shape" and sets rank and numel (overflow-checked). */
static bool parse_shape(const ParseContext *ctx, const char *name,
                        JsonObject *obj, DmStEntry *entry, GError **error) {
  JsonNode *node = json_object_get_member(obj, "shape");
  if (!node || !JSON_NODE_HOLDS_ARRAY(node)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s' has no \"shape\" array", ctx->label, name);
    return false;
  }
  JsonArray *shape = json_node_get_array(node);
  guint rank = json_array_get_length(shape);
  if (rank > DM_ST_MAX_RANK) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s' has rank %u (at most %d)", ctx->label, name,
                rank, DM_ST_MAX_RANK);
    return false;
  }
  size_t numel = 1;
  for (guint i = 0; i < rank; i++) {
    uint64_t dim;
    if (!node_get_size(json_array_get_element(shape, i), &dim) ||
        dim > INT64_MAX || dim > SIZE_MAX) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: tensor '%s': shape[%u] is not a non-negative integer",
                  ctx->label, name, i);
      return false;
    }
    if (!dm_mul_size(numel, (size_t)dim, &numel)) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: tensor '%s': element count overflows", ctx->label,
                  name);
      return false;
    }
    entry->shape[i] = (int64_t)dim;
  }
  entry->rank = (int32_t)rank;
  entry->numel = numel;
  return true;
}

/* Reads "data_offsets", checks them against the data section and the
 * tensor's byte size, and points entry->data at the bytes. */
static bool parse_offsets(const ParseContext *ctx, const char *name,
                          JsonObject *obj, DmStEntry *entry, size_t element,
                          size_t *begin_out, size_t *end_out,
                          GError **error) {
  JsonNode *node = json_object_get_member(obj, "data_offsets");
  uint64_t begin, end;
  if (!node || !JSON_NODE_HOLDS_ARRAY(node) ||
      json_array_get_length(json_node_get_array(node)) != 2 ||
      !node_get_size(json_array_get_element(json_node_get_array(node), 0),
                     &begin) ||
      !node_get_size(json_array_get_element(json_node_get_array(node), 1),
                     &end)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s': \"data_offsets\" is not [begin, end] of "
                "non-negative integers", ctx->label, name);
    return false;
  }
  if (begin > end || end > ctx->data_size) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s': data_offsets [%" G_GUINT64_FORMAT
                ", %" G_GUINT64_FORMAT "] are reversed or outside the data "
                "section of %zu bytes", ctx->label, name, begin, end,
                ctx->data_size);
    return false;
  }
  size_t bytes;
  if (!dm_mul_size(entry->numel, element, &bytes)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s': byte size overflows", ctx->label, name);
    return false;
  }
  if (bytes != end - begin) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s': %" G_GUINT64_FORMAT " bytes of data do not "
                "match its shape and dtype %s (%zu bytes)", ctx->label, name,
                end - begin, entry->dtype_name, bytes);
    return false;
  }
  entry->data = ctx->data + begin;
  *begin_out = (size_t)begin;
  *end_out = (size_t)end;
  return true;
}

static bool parse_metadata(const ParseContext *ctx, JsonNode *node,
                           GHashTable *metadata, GError **error) {
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: \"__metadata__\" is not an object", ctx->label);
    return false;
  }
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  json_object_iter_init(&iter, json_node_get_object(node));
  while (json_object_iter_next(&iter, &key, &value)) {
    if (!JSON_NODE_HOLDS_VALUE(value) ||
        json_node_get_value_type(value) != G_TYPE_STRING) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: metadata \"%s\" is not a string", ctx->label, key);
      return false;
    }
    g_hash_table_insert(metadata, g_strdup(key),
                        g_strdup(json_node_get_string(value)));
  }
  return true;
}

/* A tensor's byte range, for the overlap check. */
typedef struct {
  size_t begin, end;
  const char *name;
} Range;

static int compare_ranges(const void *a, const void *b) {
  const Range *ra = a, *rb = b;
  if (ra->begin != rb->begin) return ra->begin < rb->begin ? -1 : 1;
  if (ra->end != rb->end) return ra->end < rb->end ? -1 : 1;
  return 0;
}

/* Sorts the ranges by start; each must start at or after the previous end. */
static bool check_no_overlap(const ParseContext *ctx, Range *ranges,
                             int32_t count, GError **error) {
  qsort(ranges, (size_t)count, sizeof *ranges, compare_ranges);
  for (int32_t i = 1; i < count; i++) {
    if (ranges[i].begin < ranges[i - 1].end) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: tensors '%s' and '%s' overlap in the data section",
                  ctx->label, ranges[i - 1].name, ranges[i].name);
      return false;
    }
  }
  return true;
}

static bool parse_entry(const ParseContext *ctx, const char *name,
                        JsonNode *node, DmStEntry *entry, Range *range,
                        GError **error) {
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: tensor '%s': entry is not an object", ctx->label, name);
    return false;
  }
  JsonObject *obj = json_node_get_object(node);
  entry->name = g_strdup(name);
  size_t element = 0;
  if (!parse_dtype(ctx, name, obj, entry, &element, error) ||
      !parse_shape(ctx, name, obj, entry, error) ||
      !parse_offsets(ctx, name, obj, entry, element, &range->begin,
                     &range->end, error))
    return false;
  range->name = entry->name;
  return true;
}

/* Fills st's entries, index and metadata from the header's root object. */
static bool parse_header_object(const ParseContext *ctx, JsonObject *root,
                                DmSafetensors *st, GError **error) {
  guint members = json_object_get_size(root);
  if (members > INT32_MAX / 2) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT, "%s: too many tensors",
                ctx->label);
    return false;
  }
  st->entries = g_new0(DmStEntry, members);
  Range *ranges = g_new0(Range, members);
  bool ok = true;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  json_object_iter_init(&iter, root);
  while (ok && json_object_iter_next(&iter, &name, &node)) {
    if (strcmp(name, "__metadata__") == 0) {
      ok = parse_metadata(ctx, node, st->metadata, error);
      continue;
    }
    DmStEntry *entry = &st->entries[st->count];
    ok = parse_entry(ctx, name, node, entry, &ranges[st->count], error);
    st->count++; /* counted even on failure so that free releases name */
    if (ok) g_hash_table_insert(st->by_name, entry->name, entry);
  }
  ok = ok && check_no_overlap(ctx, ranges, st->count, error);
  g_free(ranges);
  return ok;
}

static DmSafetensors *parse(const uint8_t *bytes, size_t length,
                            const char *label, bool any_dtype,
                            GError **error) {
  if (!label) label = "safetensors data";
  if (length < 8) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: %zu bytes is too short for a safetensors file", label,
                length);
    return NULL;
  }
  uint64_t header_length = (uint64_t)load_u32_le(bytes) |
                           ((uint64_t)load_u32_le(bytes + 4) << 32);
  if (header_length > length - 8 || header_length > DM_ST_MAX_HEADER ||
      header_length < 2) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: header length %" G_GUINT64_FORMAT " is impossible for a "
                "file of %zu bytes (limit %" G_GUINT64_FORMAT ")", label,
                header_length, length, DM_ST_MAX_HEADER);
    return NULL;
  }
  JsonParser *parser = dm_json_parse_object((const char *)bytes + 8,
                                            (gssize)header_length, label,
                                            error);
  if (!parser) return NULL;

  ParseContext ctx = {
    .label = label,
    .data = bytes + 8 + header_length,
    .data_size = length - 8 - (size_t)header_length,
    .any_dtype = any_dtype,
  };
  DmSafetensors *st = g_new0(DmSafetensors, 1);
  st->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       g_free);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  bool ok = parse_header_object(&ctx, root, st, error);
  g_object_unref(parser);
  if (!ok) {
    dm_safetensors_free(st);
    return NULL;
  }
  return st;
}

static DmSafetensors *open_file(const char *path, bool any_dtype,
                                GError **error) {
  /* A FIFO or device would block or never end; only map regular files. */
  if (g_file_test(path, G_FILE_TEST_EXISTS) &&
      !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO,
                "cannot open '%s': not a regular file", path);
    return NULL;
  }
  GError *local = NULL;
  GMappedFile *mapping = g_mapped_file_new(path, FALSE, &local);
  if (!mapping) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot open '%s': %s", path,
                local->message);
    g_error_free(local);
    return NULL;
  }
  /* An empty file maps to NULL contents; parse reports it as too short. */
  const uint8_t *bytes = (const uint8_t *)g_mapped_file_get_contents(mapping);
  size_t length = g_mapped_file_get_length(mapping);
  DmSafetensors *st = parse(bytes ? bytes : (const uint8_t *)"",
                            bytes ? length : 0, path, any_dtype, error);
  if (!st) {
    g_mapped_file_unref(mapping);
    return NULL;
  }
  st->mapping = mapping;
  st->mapped = true;
  return st;
}

DmSafetensors *dm_safetensors_parse(const uint8_t *bytes, size_t length,
                                    const char *label, GError **error) {
  return parse(bytes, length, label, false, error);
}

DmSafetensors *dm_safetensors_parse_any(const uint8_t *bytes, size_t length,
                                        const char *label, GError **error) {
  return parse(bytes, length, label, true, error);
}

DmSafetensors *dm_safetensors_open(const char *path, GError **error) {
  return open_file(path, false, error);
}

DmSafetensors *dm_safetensors_open_any(const char *path, GError **error) {
  return open_file(path, true, error);
}

DmSafetensors *dm_safetensors_view(const DmSafetensors *base,
                                   const DmStEntry *entries, int32_t count) {
  DmSafetensors *view = g_new0(DmSafetensors, 1);
  view->mapped = base->mapped;
  view->entries = g_new0(DmStEntry, MAX(count, 1));
  view->count = count;
  view->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  view->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         g_free);
  for (int32_t i = 0; i < count; i++) {
    view->entries[i] = entries[i];
    view->entries[i].name = g_strdup(entries[i].name);
    g_hash_table_insert(view->by_name, view->entries[i].name,
                        &view->entries[i]);
  }
  return view;
}

void dm_safetensors_free(DmSafetensors *st) {
  if (!st) return;
  for (int32_t i = 0; i < st->count; i++) g_free(st->entries[i].name);
  g_free(st->entries);
  if (st->by_name) g_hash_table_destroy(st->by_name);
  if (st->metadata) g_hash_table_destroy(st->metadata);
  if (st->mapping) g_mapped_file_unref(st->mapping);
  g_free(st);
}

int32_t dm_safetensors_count(const DmSafetensors *st) { return st->count; }

const DmStEntry *dm_safetensors_entry(const DmSafetensors *st, int32_t index) {
  if (index < 0 || index >= st->count) return NULL;
  return &st->entries[index];
}

const DmStEntry *dm_safetensors_find(const DmSafetensors *st,
                                     const char *name) {
  return g_hash_table_lookup(st->by_name, name);
}

const char *dm_safetensors_metadata(const DmSafetensors *st, const char *key) {
  return g_hash_table_lookup(st->metadata, key);
}

void dm_safetensors_release(const DmSafetensors *st, const DmStEntry *entry) {
  if (!st->mapped || entry->dtype == DM_DTYPE_COUNT) return;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t start = (uintptr_t)entry->data;
  const uintptr_t end = start + entry->numel * dm_dtype_size(entry->dtype);
  const uintptr_t first = (start + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  if (last > first) (void)madvise((void *)first, last - first, MADV_DONTNEED);
}

/* ---- writing ----------------------------------------------------------- */

/* Appends `text` as a JSON string literal. */
static void append_json_string(GString *out, const char *text) {
  g_string_append_c(out, '"');
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    switch (*p) {
    case '"': g_string_append(out, "\\\""); break;
    case '\\': g_string_append(out, "\\\\"); break;
    case '\n': g_string_append(out, "\\n"); break;
    case '\r': g_string_append(out, "\\r"); break;
    case '\t': g_string_append(out, "\\t"); break;
    default:
      if (*p < 0x20)
        g_string_append_printf(out, "\\u%04x", *p);
      else
        g_string_append_c(out, (char)*p);
    }
  }
  g_string_append_c(out, '"');
}

/* Checks the caller's tensors (names unique and valid UTF-8, sizes that
 * fit, 4 bytes per element in total included) and stores each one's
 * element count in numels (count). */
static bool check_tensors(const char *path, const DmStTensor *tensors,
                          int32_t count, size_t *numels, GError **error) {
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  size_t total_bytes = 0;
  bool ok = true;
  for (int32_t i = 0; ok && i < count; i++) {
    const DmStTensor *t = &tensors[i];
    size_t numel = 1, bytes = 0;
    ok = t->name && g_utf8_validate(t->name, -1, NULL) &&
         strcmp(t->name, "__metadata__") != 0 && t->rank >= 0 &&
         t->rank <= DM_ST_MAX_RANK && (t->rank == 0 || t->shape) &&
         !g_hash_table_contains(seen, t->name);
    for (int32_t d = 0; ok && d < t->rank; d++)
      ok = t->shape[d] >= 0 && dm_mul_size(numel, (size_t)t->shape[d], &numel);
    ok = ok && (numel == 0 || t->data) &&
         dm_mul_size(numel, sizeof(float), &bytes) &&
         bytes <= SIZE_MAX - total_bytes;
    total_bytes += ok ? bytes : 0;
    if (!ok) {
      g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                  "cannot write '%s': tensor '%s' has a bad or duplicate "
                  "name, shape or data", path, t->name ? t->name : "(null)");
      break;
    }
    g_hash_table_add(seen, (gpointer)t->name);
    numels[i] = numel;
  }
  g_hash_table_destroy(seen);
  return ok;
}

/* The JSON header, padded with spaces so that the data section starts at a
 * multiple of 8 bytes. NULL with *error when the metadata is not UTF-8. */
static GString *build_header(const char *path, const DmStTensor *tensors,
                             int32_t count, const size_t *numels,
                             const char *const *metadata, DmDtype dtype,
                             GError **error) {
  GString *header = g_string_new("{");
  if (metadata && metadata[0]) {
    g_string_append(header, "\"__metadata__\":{");
    for (size_t i = 0; metadata[i]; i += 2) {
      if (!metadata[i + 1] || !g_utf8_validate(metadata[i], -1, NULL) ||
          !g_utf8_validate(metadata[i + 1], -1, NULL)) {
        g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                    "cannot write '%s': metadata \"%s\" is missing a value or "
                    "is not UTF-8", path, metadata[i]);
        g_string_free(header, TRUE);
        return NULL;
      }
      if (i > 0) g_string_append_c(header, ',');
      append_json_string(header, metadata[i]);
      g_string_append_c(header, ':');
      append_json_string(header, metadata[i + 1]);
    }
    g_string_append(header, "}");
  }
  size_t offset = 0;
  for (int32_t i = 0; i < count; i++) {
    if (header->len > 1) g_string_append_c(header, ',');
    append_json_string(header, tensors[i].name);
    g_string_append_printf(header, ":{\"dtype\":\"%s\",\"shape\":[",
                           dtype_names[dtype]);
    for (int32_t d = 0; d < tensors[i].rank; d++)
      g_string_append_printf(header, "%s%" G_GINT64_FORMAT, d ? "," : "",
                             tensors[i].shape[d]);
    size_t bytes = numels[i] * dm_dtype_size(dtype);
    g_string_append_printf(header, "],\"data_offsets\":[%zu,%zu]}", offset,
                           offset + bytes);
    offset += bytes;
  }
  g_string_append_c(header, '}');
  while ((8 + header->len) % 8 != 0) g_string_append_c(header, ' ');
  return header;
}

static bool write_all(FILE *file, const void *data, size_t size) {
  return size == 0 || fwrite(data, 1, size, file) == size;
}

/* Converts one tensor to `dtype` in chunks and writes it. */
static bool write_tensor_data(FILE *file, const float *data, size_t numel,
                              DmDtype dtype) {
  enum { CHUNK = 16384 };
  uint8_t buffer[CHUNK * 4];
  for (size_t start = 0; start < numel; start += CHUNK) {
    size_t n = MIN((size_t)CHUNK, numel - start);
    for (size_t i = 0; i < n; i++) {
      float value = data[start + i];
      uint32_t bits;
      memcpy(&bits, &value, sizeof bits);
      if (dtype == DM_DTYPE_F16) bits = dm_f32_to_f16(value);
      if (dtype == DM_DTYPE_BF16) bits = dm_f32_to_bf16(value);
      for (size_t b = 0; b < dm_dtype_size(dtype); b++)
        buffer[i * dm_dtype_size(dtype) + b] = (uint8_t)(bits >> (8 * b));
    }
    if (!write_all(file, buffer, n * dm_dtype_size(dtype))) return false;
  }
  return true;
}

/* Writes header and data to `file`, flushes and fsyncs. */
static bool write_contents(FILE *file, const GString *header,
                           const DmStTensor *tensors, int32_t count,
                           const size_t *numels, DmDtype dtype) {
  uint8_t length_le[8];
  for (int b = 0; b < 8; b++)
    length_le[b] = (uint8_t)((uint64_t)header->len >> (8 * b));
  bool ok = write_all(file, length_le, 8) &&
            write_all(file, header->str, header->len);
  for (int32_t i = 0; ok && i < count; i++)
    ok = write_tensor_data(file, tensors[i].data, numels[i], dtype);
  return ok && fflush(file) == 0 && fsync(fileno(file)) == 0;
}

/* Makes a renamed file durable: fsync of its folder (best effort). */
static void sync_parent_folder(const char *path) {
  char *folder = g_path_get_dirname(path);
  int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  g_free(folder);
}

/* Writes to a fresh temporary file beside `path` and renames it. */
static bool write_atomically(const char *path, const GString *header,
                             const DmStTensor *tensors, int32_t count,
                             const size_t *numels, DmDtype dtype,
                             GError **error) {
  char *temp = g_strdup_printf("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp_full(temp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    int saved = errno;
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot create '%s': %s", path,
                g_strerror(saved));
    g_free(temp);
    return false;
  }
  FILE *file = fdopen(fd, "wb");
  bool ok = file && write_contents(file, header, tensors, count, numels,
                                   dtype);
  int saved = errno;
  if (file) {
    if (fclose(file) != 0 && ok) {
      ok = false;
      saved = errno;
    }
  } else {
    close(fd);
  }
  if (ok && rename(temp, path) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    g_unlink(temp);
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot write '%s': %s", path,
                g_strerror(saved));
  } else {
    sync_parent_folder(path);
  }
  g_free(temp);
  return ok;
}

bool dm_safetensors_write(const char *path, const DmStTensor *tensors,
                          int32_t count, const char *const *metadata,
                          DmDtype dtype, GError **error) {
  if (!path || count < 0 || (count > 0 && !tensors) || (int)dtype < 0 ||
      (int)dtype >= DM_DTYPE_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "dm_safetensors_write: bad arguments for '%s'",
                path ? path : "(null)");
    return false;
  }
  size_t *numels = g_new0(size_t, count > 0 ? count : 1);
  GString *header = NULL;
  bool ok = check_tensors(path, tensors, count, numels, error) &&
            (header = build_header(path, tensors, count, numels, metadata,
                                   dtype, error)) != NULL &&
            write_atomically(path, header, tensors, count, numels, dtype,
                             error);
  if (header) g_string_free(header, TRUE);
  g_free(numels);
  return ok;
}
