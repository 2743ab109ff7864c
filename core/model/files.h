/* gimp-diffusion core: what the loaders of model files share (internal):
 * bounded text files, and a network's tensors read from a safetensors
 * file against its parameter table.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_MODEL_FILES_H
#define DM_MODEL_FILES_H

#include "model/safetensors.h"
#include "network/params.h"

/* Config files larger than this are refused (they are a few KB). */
#define DM_MAX_CONFIG_BYTES (16 * 1024 * 1024)

/* Reads a whole text file of at most `limit` bytes (no NUL bytes). When
 * the file does not exist and `optional` is set, returns NULL without an
 * error. g_free() the result. */
char *dm_read_text_file(const char *path, size_t limit, bool optional,
                        GError **error);

/* The first of the weight files `names` (NULL-terminated, the plain one
 * first, then variants such as .fp16.) in `folder` (caller g_free()s);
 * else NULL with DM_ERROR_UNSUPPORTED when the folder holds the PyTorch
 * pickle `pickle` instead, or DM_ERROR_IO naming the folder and names[0]. */
char *dm_find_weights(const char *folder, const char *const *names,
                      const char *pickle, GError **error);

/* Appends "[d0, d1, ...]". */
void dm_shape_append(GString *out, int32_t rank, const int64_t *shape);
/* Whether `entry` has exactly the shape (rank) `shape`. */
bool dm_shape_equal(int32_t rank, const int64_t *shape,
                    const DmStEntry *entry);

/* `entry` (NULL when the file has none) must be the tensor `name` of
 * shape `shape` (rank), dtype F32, F16 or BF16: else DM_ERROR_FORMAT
 * (missing, other shape) or DM_ERROR_UNSUPPORTED (other dtype) naming
 * `label`, the tensor, its shape and the one needed. */
bool dm_entry_check(const DmStEntry *entry, const char *name, int32_t rank,
                    const int64_t *shape, const char *label, GError **error);

/* True for a tensor of `st` that is no parameter and that a loader passes
 * over (a training checkpoint's optimiser state, a buffer that old files
 * carry). */
typedef bool (*DmTensorFilter)(const char *name, const DmSafetensors *st);

/* Every tensor of `table` must be in `st` with exactly its shape (and
 * dtype F32, F16 or BF16), and every tensor of `st` in `table` unless
 * `ignored` (may be NULL) passes it over; DM_ERROR_FORMAT naming the first
 * offending tensor, its shape and the one the table needs (or
 * DM_ERROR_UNSUPPORTED its dtype), prefixed by `label`. */
bool dm_safetensors_check_table(const DmParams *table, const DmSafetensors *st,
                                DmTensorFilter ignored, const char *label,
                                GError **error);

/* Fills weights->data for weights->table (data NULL) from `st`: checks the
 * tensors (as above), then keeps them in the dtype all of them share in
 * the file, or F32 when they differ, converting each (and giving a mapped
 * file's pages back as it goes, dm_safetensors_release). False with the
 * error, weights->data NULL, when the check fails or memory runs out. */
bool dm_weights_read(DmWeights *weights, const DmSafetensors *st,
                     DmTensorFilter ignored, const char *label,
                     GError **error);

/* ---- a diffusers folder ----------------------------------------------- */

/* The path of the first of names[0 .. count - 1] that exists in `folder`
 * (g_free it), or NULL with DM_ERROR_IO naming the folder and `what` (the
 * part of the pipeline the folder holds, "text encoder", ...). */
char *dm_find_weights_file(const char *folder, const char *const *names,
                           size_t count, const char *what, GError **error);

/* dm_weights_read from the safetensors file at `path`, errors labelled by
 * it. */
bool dm_weights_read_path(DmWeights *weights, const char *path,
                          DmTensorFilter ignored, GError **error);

#endif /* DM_MODEL_FILES_H */
