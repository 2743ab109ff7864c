/* gimp-diffusion core: a network's parameters in one block (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * llm.c's scheme: a table names and shapes every parameter tensor, in
 * diffusers' state-dict naming, and all of them live in one allocation;
 * gradients and optimiser moments reuse the same offsets. */
#ifndef DM_NETWORK_PARAMS_H
#define DM_NETWORK_PARAMS_H

#include "tensor/base.h"

/* One parameter tensor of a network. */
typedef struct {
  char *name;       /* e.g. "down_blocks.0.resnets.0.conv1.weight" */
  int32_t rank;     /* 1, 2 or 4 */
  int64_t shape[4]; /* conv (O, I, kh, kw); linear (out, in); norm (C) */
  size_t offset;    /* index of the first float in DmParams.data */
  size_t numel;
} DmParamInfo;

/* All parameters in one allocation; gradients and optimiser moments reuse
 * the same layout. */
typedef struct {
  DmParamInfo *info; /* (count), in a fixed order */
  int32_t count;
  size_t total;      /* floats in data */
  float *data;       /* (total), owned; NULL for a table only */
} DmParams;

void dm_params_clear(DmParams *params);
/* The entry named `name`, or NULL. */
const DmParamInfo *dm_params_find(const DmParams *params, const char *name);

#endif /* DM_NETWORK_PARAMS_H */
