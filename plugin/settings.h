/* gimp-diffusion plug-in: the procedures' arguments and what they mean to
 * the core.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PLUG_SETTINGS_H
#define DM_PLUG_SETTINGS_H

#include <libgimp/gimp.h>

#include "dm.h"

#define DM_PLUG_BINARY "gimp-diffusion-plugin"
#define DM_PLUG_INPAINT_PROC "plug-in-diffusion-inpaint"
#define DM_PLUG_GENERATE_PROC "plug-in-diffusion-generate"
/* A seamless image is made untiled (DmAreaOptions.seamless): its largest
 * area, about 1 GiB of memory with the tiny layout. */
#define DM_PLUG_SEAMLESS_BUDGET (1024 * 1024)
/* Heal's default strength (DmSampleOptions.strength), chosen by the
 * evaluation in docs/eval/README.md. */
#define DM_PLUG_HEAL_STRENGTH 0.5

/* A procedure's settings, read from its GimpProcedureConfig. */
typedef struct {
  gchar *model; /* as given: a path, or the name of an installed model */
  DmSampleOptions sample;
  DmAreaOptions area;
  gboolean new_layer;
} DmPlugSettings;

/* Adds the sampling arguments every procedure has (model, sampler, steps,
 * seed, eta, corrector-steps, snr, jump-length, jump-repeats, new-layer)
 * and strength, from-pixels, guidance-scale, match-edges and context-margin
 * for inpainting, seamless for generating. */
void dm_plug_add_arguments(GimpProcedure *procedure, gboolean inpaint);
/* Fills `settings` from `config`; clear with dm_plug_settings_clear(). */
void dm_plug_settings_read(GimpProcedureConfig *config,
                           DmPlugSettings *settings);
void dm_plug_settings_clear(DmPlugSettings *settings);

#endif /* DM_PLUG_SETTINGS_H */
