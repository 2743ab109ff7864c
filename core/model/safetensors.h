/* gimp-diffusion core: safetensors reading and writing (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The container format is described in dm.h. Every size and offset read from
 * a file is checked (overflow-safe) before use; the data is mmapped. */
#ifndef DM_SAFETENSORS_H
#define DM_SAFETENSORS_H

#include "tensor/dtype.h"

#define DM_ST_MAX_RANK 8

typedef struct {
  char *name;
  DmDtype dtype;
  int32_t rank;
  int64_t shape[DM_ST_MAX_RANK];
  size_t numel;
  const uint8_t *data; /* (numel) elements of dtype, inside the mapping */
} DmStEntry;

typedef struct DmSafetensors DmSafetensors;

/* Maps and parses `path`; the result borrows nothing from the caller. */
DmSafetensors *dm_safetensors_open(const char *path, GError **error);
/* Parses `length` bytes that the caller keeps alive while the result lives
 * (the fuzz target's entry point). `label` names the input in messages. */
DmSafetensors *dm_safetensors_parse(const uint8_t *bytes, size_t length,
                                    const char *label, GError **error);
void dm_safetensors_free(DmSafetensors *st);

int32_t dm_safetensors_count(const DmSafetensors *st);
const DmStEntry *dm_safetensors_entry(const DmSafetensors *st, int32_t index);
const DmStEntry *dm_safetensors_find(const DmSafetensors *st, const char *name);
/* A "__metadata__" value, or NULL. */
const char *dm_safetensors_metadata(const DmSafetensors *st, const char *key);

/* Converts the entry to float32 into `out` (entry->numel floats). */
void dm_safetensors_read_f32(const DmStEntry *entry, float *out);

/* One tensor to write: float32 data converted to the file's dtype. */
typedef struct {
  const char *name;
  int32_t rank;
  const int64_t *shape;
  const float *data;
} DmStTensor;

/* Writes `count` tensors and the NULL-terminated key/value list `metadata`
 * (may be NULL) to `path` atomically (temporary file, fsync, rename). */
bool dm_safetensors_write(const char *path, const DmStTensor *tensors,
                          int32_t count, const char *const *metadata,
                          DmDtype dtype, GError **error);

#endif /* DM_SAFETENSORS_H */
