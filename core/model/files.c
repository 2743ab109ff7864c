/* gimp-diffusion core: what the loaders of model files share (files.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "model/files.h"

char *dm_read_text_file(const char *path, size_t limit, bool optional,
                        GError **error) {
  GStatBuf info;
  if (g_stat(path, &info) != 0) {
    int saved = errno;
    if (!(optional && saved == ENOENT))
      g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot read '%s': %s", path,
                  g_strerror(saved));
    return NULL;
  }
  if (!S_ISREG(info.st_mode) || (uint64_t)info.st_size > limit) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "'%s' is not a regular file of at most %zu bytes", path,
                limit);
    return NULL;
  }
  char *text = NULL;
  gsize length = 0;
  GError *local = NULL;
  if (!g_file_get_contents(path, &text, &length, &local)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "cannot read '%s': %s", path,
                local->message);
    g_error_free(local);
    return NULL;
  }
  if (length > limit || strlen(text) != length) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "'%s' is too large or holds NUL bytes", path);
    g_free(text);
    return NULL;
  }
  return text;
}

void dm_shape_append(GString *out, int32_t rank, const int64_t *shape) {
  g_string_append_c(out, '[');
  for (int32_t d = 0; d < rank; d++)
    g_string_append_printf(out, "%s%" G_GINT64_FORMAT, d ? ", " : "",
                           shape[d]);
  g_string_append_c(out, ']');
}

/* Every tensor in the file must be in the table, unless `ignored`. */
static bool check_no_unexpected(const DmParams *table, const DmSafetensors *st,
                                DmTensorFilter ignored, const char *label,
                                GError **error) {
  GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
  for (int32_t i = 0; i < table->count; i++)
    g_hash_table_add(names, table->info[i].name);
  bool ok = true;
  for (int32_t i = 0; ok && i < dm_safetensors_count(st); i++) {
    const char *name = dm_safetensors_entry(st, i)->name;
    if (ignored && ignored(name, st)) continue;
    if (!g_hash_table_contains(names, name)) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "%s: unexpected tensor '%s' (not part of a network with "
                  "this config)", label, name);
      ok = false;
    }
  }
  g_hash_table_destroy(names);
  return ok;
}

bool dm_shape_equal(int32_t rank, const int64_t *shape,
                    const DmStEntry *entry) {
  if (rank != entry->rank) return false;
  for (int32_t d = 0; d < rank; d++)
    if (shape[d] != entry->shape[d]) return false;
  return true;
}

bool dm_entry_check(const DmStEntry *entry, const char *name, int32_t rank,
                    const int64_t *shape, const char *label,
                    GError **error) {
  if (entry && entry->dtype == DM_DTYPE_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: tensor '%s' has dtype %s; weights must be F32, F16 or "
                "BF16", label, name, entry->dtype_name);
    return false;
  }
  if (entry && dm_shape_equal(rank, shape, entry)) return true;
  GString *message = g_string_new(NULL);
  g_string_printf(message, "%s: tensor '%s' ", label, name);
  if (entry) {
    g_string_append(message, "has shape ");
    dm_shape_append(message, entry->rank, entry->shape);
    g_string_append(message, " but the config needs ");
  } else {
    g_string_append(message, "is missing (shape ");
  }
  dm_shape_append(message, rank, shape);
  if (!entry) g_string_append_c(message, ')');
  g_set_error_literal(error, DM_ERROR, DM_ERROR_FORMAT, message->str);
  g_string_free(message, TRUE);
  return false;
}

/* Every tensor in the table must be in the file with exactly its shape. */
static bool check_all_present(const DmParams *table, const DmSafetensors *st,
                              const char *label, GError **error) {
  for (int32_t i = 0; i < table->count; i++) {
    const DmParamInfo *info = &table->info[i];
    if (!dm_entry_check(dm_safetensors_find(st, info->name), info->name,
                        info->rank, info->shape, label, error))
      return false;
  }
  return true;
}

bool dm_safetensors_check_table(const DmParams *table, const DmSafetensors *st,
                                DmTensorFilter ignored, const char *label,
                                GError **error) {
  return check_no_unexpected(table, st, ignored, label, error) &&
         check_all_present(table, st, label, error);
}

/* The dtype every tensor of the table has in `st`, or F32 when they
 * differ. */
static DmDtype common_dtype(const DmParams *table, const DmSafetensors *st) {
  DmDtype dtype = DM_DTYPE_COUNT;
  for (int32_t i = 0; i < table->count; i++) {
    const DmDtype own = dm_safetensors_find(st, table->info[i].name)->dtype;
    if (dtype != DM_DTYPE_COUNT && own != dtype) return DM_DTYPE_F32;
    dtype = own;
  }
  return dtype == DM_DTYPE_COUNT ? DM_DTYPE_F32 : dtype;
}

/* dst (entry->numel elements of `dtype`) = the entry's values, copied
 * when the dtypes are the same (the file is little-endian, as the hosts
 * we build for), else converted through float32 in chunks. */
static void read_entry(void *dst, DmDtype dtype, const DmStEntry *entry) {
  if (dtype == entry->dtype && G_BYTE_ORDER == G_LITTLE_ENDIAN) {
    memcpy(dst, entry->data, entry->numel * dm_dtype_size(dtype));
    return;
  }
  enum { CHUNK = 4096 };
  float buffer[CHUNK];
  DmStEntry part = *entry;
  for (size_t i = 0; i < entry->numel; i += CHUNK) {
    part.numel = MIN((size_t)CHUNK, entry->numel - i);
    part.data = entry->data + i * dm_dtype_size(entry->dtype);
    dm_safetensors_read_f32(&part, buffer);
    dm_f32_to_dtype((char *)dst + i * dm_dtype_size(dtype), buffer, dtype,
                    part.numel);
  }
}

bool dm_weights_read(DmWeights *weights, const DmSafetensors *st,
                     DmTensorFilter ignored, const char *label,
                     GError **error) {
  const DmParams *table = &weights->table;
  if (!dm_safetensors_check_table(table, st, ignored, label, error) ||
      !dm_weights_alloc(weights, common_dtype(table, st), error))
    return false;
  const size_t element = dm_dtype_size(weights->dtype);
#pragma omp parallel for schedule(dynamic)
  for (int32_t i = 0; i < table->count; i++) {
    const DmStEntry *entry = dm_safetensors_find(st, table->info[i].name);
    read_entry((char *)weights->data + table->info[i].offset * element,
               weights->dtype, entry);
    dm_safetensors_release(st, entry);
  }
  return true;
}

char *dm_find_weights(const char *folder, const char *const *names,
                      const char *pickle, GError **error) {
  for (size_t i = 0; names[i]; i++) {
    char *path = g_build_filename(folder, names[i], NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
    g_free(path);
  }
  char *pickle_path = g_build_filename(folder, pickle, NULL);
  const bool pickled = g_file_test(pickle_path, G_FILE_TEST_EXISTS);
  g_free(pickle_path);
  if (pickled)
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "'%s': PyTorch pickle weights (%s) are not supported; "
                "convert them to %s", folder, pickle, names[0]);
  else
    g_set_error(error, DM_ERROR, DM_ERROR_IO, "'%s': no %s in the folder",
                folder, names[0]);
  return NULL;
}

char *dm_find_weights_file(const char *folder, const char *const *names,
                           size_t count, const char *what, GError **error) {
  for (size_t i = 0; i < count; i++) {
    char *path = g_build_filename(folder, names[i], NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
    g_free(path);
  }
  g_set_error(error, DM_ERROR, DM_ERROR_IO,
              "'%s': no %s in the %s folder (PyTorch pickles, .bin files, "
              "are not supported)", folder, names[0], what);
  return NULL;
}

bool dm_weights_read_path(DmWeights *weights, const char *path,
                          DmTensorFilter ignored, GError **error) {
  DmSafetensors *st = dm_safetensors_open(path, error);
  const bool ok = st && dm_weights_read(weights, st, ignored, path, error);
  if (st) dm_safetensors_free(st);
  return ok;
}
