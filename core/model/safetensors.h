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
  DmDtype dtype;          /* DM_DTYPE_COUNT: another dtype (below) */
  const char *dtype_name; /* as the header names it: "F16", "I64", ... */
  int32_t rank;
  int64_t shape[DM_ST_MAX_RANK];
  size_t numel;
  const uint8_t *data; /* (numel) elements of dtype, inside the mapping */
} DmStEntry;

typedef struct DmSafetensors DmSafetensors;

/* Maps and parses `path`; the result borrows nothing from the caller.
 * A tensor of a dtype other than F32, F16 and BF16 refuses the file
 * (DM_ERROR_UNSUPPORTED naming the tensor). */
DmSafetensors *dm_safetensors_open(const char *path, GError **error);
/* Parses `length` bytes that the caller keeps alive while the result lives
 * (the fuzz target's entry point). `label` names the input in messages. */
DmSafetensors *dm_safetensors_parse(const uint8_t *bytes, size_t length,
                                    const char *label, GError **error);
/* The same, also listing the buffers that training checkpoints carry (I64
 * position ids, an I32 step count, ...: F64, I64, U64, I32, U32, I16, U16,
 * I8, U8, BOOL, F8_E4M3, F8_E5M2) with dtype DM_DTYPE_COUNT, their bytes
 * checked as any tensor's. Such an entry is never read: the parameter
 * table checks of model/files.h refuse it by name. */
DmSafetensors *dm_safetensors_open_any(const char *path, GError **error);
DmSafetensors *dm_safetensors_parse_any(const uint8_t *bytes, size_t length,
                                        const char *label, GError **error);
/* A file's tensors under other names: `count` entries whose data lies in
 * the tensors of `base` (names copied, data borrowed: `base` must outlive
 * the view), each name once. What a loader builds to read a file whose
 * names and shapes differ from its network's table (model/sd-keys.h). */
DmSafetensors *dm_safetensors_view(const DmSafetensors *base,
                                   const DmStEntry *entries, int32_t count);
void dm_safetensors_free(DmSafetensors *st);

int32_t dm_safetensors_count(const DmSafetensors *st);
const DmStEntry *dm_safetensors_entry(const DmSafetensors *st, int32_t index);
const DmStEntry *dm_safetensors_find(const DmSafetensors *st, const char *name);
/* A "__metadata__" value, or NULL. */
const char *dm_safetensors_metadata(const DmSafetensors *st, const char *key);

/* Converts the entry (F32, F16 or BF16) to float32 into `out`
 * (entry->numel floats). */
void dm_safetensors_read_f32(const DmStEntry *entry, float *out);
/* Gives the memory of the whole pages inside a mapped file's entry back
 * to the system once it has been read (they are read from the file again
 * if it is touched later), so that loading a file does not hold it in
 * memory twice; nothing for bytes the caller owns. */
void dm_safetensors_release(const DmSafetensors *st, const DmStEntry *entry);

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
