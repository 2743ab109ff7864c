/* gimp-diffusion core: small helpers every part of the library uses
 * (internal, not installed): threads, overflow-safe sizes, enum names.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_TENSOR_BASE_H
#define DM_TENSOR_BASE_H

#include <string.h>

#include "dm.h"

/* Makes OpenBLAS single-threaded once, for callers that never called
 * dm_set_num_threads(); our loops bring the parallelism. */
void dm_threads_init(void);

/* Elementwise loops get one build per vector width, chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DM_VECTOR_CLONES
#endif

/* n * size with overflow check; false when it would overflow. */
static inline bool dm_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return false;
  *out = a * b;
  return true;
}

/* `count` floats on a 64-byte boundary, or NULL (also when the size
 * overflows); free them with dm_free_floats(). Blocks of 4 MiB and more go
 * on transparent huge pages where the kernel offers them (madvise), and
 * once freed are kept for the next such request (at most 512 MiB of them,
 * for the life of the process): a network's large scratch is fresh memory
 * at every call otherwise (glibc maps blocks over 32 MiB afresh), and the
 * faults and the kernel's zeroing cost more than some layers (a Winograd
 * conv of 640 channels at 32x32, batch 2, 5x). */
float *dm_alloc_floats(size_t count);
void dm_free_floats(float *data);
/* Gives the kept blocks back to the system: for the end of a run of one
 * network's calls (a sampling run), so that the next phase (a VAE decode)
 * does not carry them in its peak. */
void dm_free_floats_pool(void);

/* ---- enum names ---------------------------------------------------------
 * One table of spellings per enum, indexed by the enum value. */

/* The name at `index`, or NULL when `index` is not a member of the enum (a
 * programmer error). */
static inline const char *dm_table_name(const char *const *table, int count,
                                        int index) {
  return index >= 0 && index < count ? table[index] : NULL;
}

static inline bool dm_table_find(const char *const *table, int count,
                                 const char *name, int *out) {
  if (name == NULL) return false;
  for (int i = 0; i < count; i++) {
    if (strcmp(table[i], name) == 0) {
      *out = i;
      return true;
    }
  }
  return false;
}

/* Defines the public prefix_name() and prefix_from_name() over `table`. */
#define DM_DEFINE_NAME_HELPERS(prefix, Type, table, COUNT)                   \
  const char *prefix##_name(Type value) {                                    \
    return dm_table_name(table, COUNT, (int)value);                          \
  }                                                                          \
  bool prefix##_from_name(const char *name, Type *out) {                     \
    int index;                                                               \
    if (!dm_table_find(table, COUNT, name, &index)) return false;            \
    if (out) *out = (Type)index;                                             \
    return true;                                                             \
  }

#endif /* DM_TENSOR_BASE_H */
