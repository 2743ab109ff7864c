/* Shared helpers for the test programs (llm.c test_gpt2.c style: compare,
 * print label, first values and max difference).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_TEST_H
#define DM_TEST_H

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>

#include "dm.h"
#include "dm-train.h"
#include "tensor/rng.h"
#include "model/safetensors.h"
#include "network/params.h"

static int dm_test_failures = 0;

#define DM_CHECK(cond, ...)                                                   \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
      fprintf(stderr, __VA_ARGS__);                                           \
      fprintf(stderr, "\n");                                                  \
      dm_test_failures++;                                                     \
    }                                                                         \
  } while (0)

/* Aborts the test program when a GError is set (for set-up steps). */
#define DM_CHECK_OK(ok, error)                                                \
  do {                                                                        \
    if (!(ok)) {                                                              \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__,                 \
              (error) ? (error)->message : "(no message)");                   \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

/* Compares `n` floats; |got - want| <= atol + rtol * max|want|. Prints one
 * line either way and counts a failure. Returns the max abs difference. */
static inline double dm_test_compare(const char *label, const float *got,
                                     const float *want, size_t n, double atol,
                                     double rtol) {
  double max_diff = 0.0, max_want = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= max_diff)) max_diff = d; /* NaN propagates as a failure */
    if (fabs(want[i]) > max_want) max_want = fabs(want[i]);
  }
  double tol = atol + rtol * max_want;
  bool ok = max_diff <= tol;
  printf("%s %-48s n=%-7zu max|d|=%.3g tol=%.3g first=[%.6f %.6f] want=[%.6f %.6f]\n",
         ok ? "ok  " : "FAIL", label, n, max_diff, tol, n > 0 ? got[0] : 0.0,
         n > 1 ? got[1] : 0.0, n > 0 ? want[0] : 0.0, n > 1 ? want[1] : 0.0);
  if (!ok) dm_test_failures++;
  return max_diff;
}

/* The trainer's defaults with this batch size, seed, peak learning rate,
 * warm-up and run length: the small training runs of the tests. */
static inline DmTrainOptions dm_test_train_options(int32_t batch,
                                                   uint64_t seed, float lr,
                                                   int64_t warmup,
                                                   int64_t total) {
  DmTrainOptions options;
  dm_train_options_default(&options);
  options.batch_size = batch;
  options.seed = seed;
  options.lr.lr = lr;
  options.lr.warmup_steps = warmup;
  options.lr.total_steps = total;
  return options;
}

/* count normal values times `scale`, from the test seed's stream `stream`
 * (g_free the result). */
static inline float *dm_test_random_floats(size_t count, float scale,
                                           uint64_t stream) {
  float *data = g_new(float, count);
  dm_rng_normal_fill(data, count, 1234, stream, 0);
  for (size_t i = 0; i < count; i++) data[i] *= scale;
  return data;
}

/* The float32 tensor `name` of `st` (g_free it), its element count in
 * *numel unless NULL; NULL when there is no such tensor. */
static inline float *dm_test_read_tensor(const DmSafetensors *st,
                                         const char *name, size_t *numel) {
  const DmStEntry *entry = dm_safetensors_find(st, name);
  if (entry == NULL) return NULL;
  float *data = g_new(float, entry->numel);
  dm_safetensors_read_f32(entry, data);
  if (numel) *numel = entry->numel;
  return data;
}

/* The lines of a gzip-compressed text file (g_ptr_array_unref it). */
static inline GPtrArray *dm_test_read_gz_lines(const char *path) {
  GFile *file = g_file_new_for_path(path);
  GError *error = NULL;
  GFileInputStream *raw = g_file_read(file, NULL, &error);
  DM_CHECK_OK(raw != NULL, error);
  GZlibDecompressor *gunzip =
      g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *text = g_converter_input_stream_new(G_INPUT_STREAM(raw),
                                                    G_CONVERTER(gunzip));
  GDataInputStream *lines = g_data_input_stream_new(text);
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  char *line;
  while ((line = g_data_input_stream_read_line(lines, NULL, NULL, &error)))
    g_ptr_array_add(out, line);
  DM_CHECK_OK(error == NULL, error);
  g_object_unref(lines);
  g_object_unref(text);
  g_object_unref(gunzip);
  g_object_unref(raw);
  g_object_unref(file);
  return out;
}

/* Path of a file under tests/data (DM_TEST_DATA is set by meson). */
static inline char *dm_test_data_path(const char *relative) {
  const char *dir = g_getenv("DM_TEST_DATA");
  return g_build_filename(dir ? dir : "tests/data", relative, NULL);
}

static int dm_test_compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sub-folders of `dir` that hold a scheduler_config.json, sorted by
 * name (the reference schedulers under tests/data/schedulers). Free with
 * g_ptr_array_free(folders, TRUE). */
static inline GPtrArray *dm_test_scheduler_folders(const char *dir) {
  GError *error = NULL;
  GDir *listing = g_dir_open(dir, 0, &error);
  DM_CHECK_OK(listing != NULL, error);
  GPtrArray *folders = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(listing)) != NULL) {
    char *path = g_build_filename(dir, name, "scheduler_config.json", NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add(folders, g_strdup(name));
    g_free(path);
  }
  g_dir_close(listing);
  qsort(folders->pdata, folders->len, sizeof(char *), dm_test_compare_strings);
  return folders;
}

/* Checks that a call failed with an error whose message holds `expect`,
 * prints the message, and clears the error. */
static inline void dm_test_expect_error(const char *label, bool ok,
                                        GError **error, const char *expect) {
  const char *message = *error ? (*error)->message : "none";
  DM_CHECK(!ok && *error && strstr(message, expect),
           "%s: want an error with '%s', got %s", label, expect, message);
  printf("ok   refused: %s: %s\n", label, message);
  g_clear_error(error);
}

/* ---- model folders ------------------------------------------------------ */

/* Renames or reshapes a tensor on its way into a file (shape: its copy). */
typedef void (*DmTestTensorChange)(DmStTensor *tensor, int64_t *shape);

/* Writes the tensors of `weights` to the safetensors file `path` in
 * `dtype`, leaving out the tensor `omit`, changing each by `change`, and
 * adding a 1-element tensor named `extra` (each may be NULL). */
static inline void dm_test_write_weights(const char *path,
                                         const DmWeights *weights,
                                         DmDtype dtype, const char *omit,
                                         DmTestTensorChange change,
                                         const char *extra) {
  const DmParams *table = &weights->table;
  DmStTensor *tensors = g_new0(DmStTensor, table->count + 1);
  int64_t *shapes = g_new(int64_t, 4 * ((size_t)table->count + 1));
  float **values = g_new0(float *, table->count + 1);
  int32_t count = 0;
  for (int32_t i = 0; i < table->count; i++) {
    const DmParamInfo *info = &table->info[i];
    if (omit && strcmp(info->name, omit) == 0) continue;
    values[count] = g_new(float, info->numel);
    int64_t *shape = shapes + 4 * count;
    memcpy(shape, info->shape, sizeof info->shape);
    tensors[count] = (DmStTensor){info->name, info->rank, shape,
                                  dm_weights_f32(weights, info,
                                                 values[count])};
    if (change) change(&tensors[count], shape);
    count++;
  }
  const int64_t one[1] = {1};
  if (extra) tensors[count++] = (DmStTensor){extra, 1, one, values[0]};
  GError *error = NULL;
  DM_CHECK_OK(dm_safetensors_write(path, tensors, count, NULL, dtype, &error),
              error);
  for (int32_t i = 0; i <= table->count; i++) g_free(values[i]);
  g_free(values);
  g_free(shapes);
  g_free(tensors);
}

/* A new temporary folder holding config.json with `config_text`. */
static inline char *dm_test_make_folder(const char *config_text) {
  GError *error = NULL;
  char *folder = g_dir_make_tmp("dm-test-model-XXXXXX", &error);
  DM_CHECK_OK(folder != NULL, error);
  char *path = g_build_filename(folder, "config.json", NULL);
  DM_CHECK_OK(g_file_set_contents(path, config_text, -1, &error), error);
  g_free(path);
  return folder;
}

/* Removes a folder of dm_test_make_folder() and the files in it, and frees
 * its name. */
static inline void dm_test_remove_folder(char *folder) {
  GDir *listing = g_dir_open(folder, 0, NULL);
  const char *name;
  while (listing && (name = g_dir_read_name(listing)) != NULL) {
    char *path = g_build_filename(folder, name, NULL);
    g_remove(path);
    g_free(path);
  }
  if (listing) g_dir_close(listing);
  g_rmdir(folder);
  g_free(folder);
}

/* Ends a test program: prints the plain closing line and returns the exit
 * status. */
static inline int dm_test_finish(void) {
  printf("%s\n", dm_test_failures ? "FAILED" : "all checks passed");
  return dm_test_failures ? 1 : 0;
}

#endif /* DM_TEST_H */
