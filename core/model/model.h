/* gimp-diffusion core: a model — a network with its noise schedule and its
 * card (internal; the public API is dm.h's DmModel).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_MODEL_MODEL_H
#define DM_MODEL_MODEL_H

#include "network/unet.h"

struct DmModel {
  DmUnet unet;
  DmScheduleConfig schedule;
  char *card;             /* owned, never NULL */
  double network_seconds; /* spent in dm_model_inpaint/generate's network */
  double network_pixels;  /* pixels those evaluations covered */
};

/* A model with zeroed parameters for `config` (validated here);
 * `schedule` NULL means DDPM's defaults. */
DmModel *dm_model_new_empty(const DmUnetConfig *config,
                            const DmScheduleConfig *schedule, GError **error);

/* dm_model_forward_any_size() with the convolutions padding as `padding`
 * says (inside the image: a side that is not a multiple of the network's
 * is first padded by reflection, and the output cropped back). */
bool dm_model_run(DmModel *model, DmTensor *out, const DmTensor *x,
                  const float *timesteps, DmPadding padding, GError **error);

#endif /* DM_MODEL_MODEL_H */
