/* gimp-diffusion core: declarations shared inside the library (not installed).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PRIVATE_H
#define DM_PRIVATE_H

#include <string.h>

#include "dm.h"

/* One parameter tensor of the network, in diffusers' state-dict naming. */
typedef struct {
  char *name;       /* e.g. "down_blocks.0.resnets.0.conv1.weight" */
  int32_t rank;     /* 1, 2 or 4 */
  int64_t shape[4]; /* conv (O, I, kh, kw); linear (out, in); norm (C) */
  size_t offset;    /* index of the first float in DmParams.data */
  size_t numel;
} DmParamInfo;

/* All parameters in one allocation (llm.c style); gradients and optimiser
 * moments reuse the same layout. */
typedef struct {
  DmParamInfo *info; /* (count), in a fixed order */
  int32_t count;
  size_t total;      /* floats in data */
  float *data;       /* (total), owned */
} DmParams;

/* Largest layers_per_block accepted (up blocks hold one more). */
#define DM_MAX_LAYERS_PER_BLOCK 15

/* Ranges and numbers of a config (no layout): what the layout builder
 * needs before it can derive channel counts. */
bool dm_unet_config_check_values(const DmUnetConfig *config, GError **error);

/* Builds the table for `config` and allocates zeroed data. */
bool dm_params_init(DmParams *params, const DmUnetConfig *config,
                    GError **error);
/* Builds only the table (data stays NULL, total is set): lets a loader check
 * a file against the config before allocating anything. */
bool dm_params_describe(DmParams *params, const DmUnetConfig *config,
                        GError **error);
void dm_params_clear(DmParams *params);
/* The entry named `name`, or NULL. */
const DmParamInfo *dm_params_find(const DmParams *params, const char *name);

typedef struct DmUnetLayout DmUnetLayout; /* offsets of each layer, unet.c */

struct DmModel {
  DmUnetConfig config;
  DmScheduleConfig schedule;
  char *card;            /* owned, never NULL */
  DmParams params;
  DmUnetLayout *layout;  /* owned */
  DmInspectFunc inspect;
  void *inspect_data;
  double network_seconds; /* spent in dm_model_inpaint/generate's network */
  double network_pixels;  /* pixels those evaluations covered */
  bool circular_padding;  /* inference convs wrap around (seamless); set
                           * only for the duration of a dm_model_generate */
};

/* A model with zeroed parameters for `config` (validated here);
 * `schedule` NULL means DDPM's defaults. */
DmModel *dm_model_new_empty(const DmUnetConfig *config,
                            const DmScheduleConfig *schedule, GError **error);

/* Completes the conditioning planes (C + 1, plane) of a mask-conditioned
 * model's input (dm.h, DmConditioning) whose first plane holds the mask:
 * the next C become image (C, plane) times (1 - mask). With image NULL
 * they are the dropout mode's instead, mask 1 and known image 0. */
void dm_fill_condition(float *planes, const float *image, int32_t channels,
                       size_t plane);

/* Whether options->strength asks dm_sample() to start from the image that
 * x holds (0 < strength < 1) rather than from pure noise (1, or 0 counting
 * as 1). */
bool dm_sample_starts_from_image(const DmSampleOptions *options);

/* Makes OpenBLAS single-threaded once, for callers that never called
 * dm_set_num_threads(); our loops bring the parallelism. */
void dm_threads_init(void);

/* n * size with overflow check; false when it would overflow. */
static inline bool dm_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return false;
  *out = a * b;
  return true;
}

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

#endif /* DM_PRIVATE_H */
