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

/* A procedure's settings, read from its GimpProcedureConfig. */
typedef struct {
  gchar *model; /* as given: a path, or the name of an installed model */
  gchar *prompts[DM_TEXT_OPTION_COUNT]; /* core's text options */
  DmSampleOptions sample;
  DmAreaOptions area;
  gboolean new_layer;
} DmPlugSettings;

/* Adds the procedure's arguments: model, core's text options (prompt,
 * negative-prompt), every option of core's table that applies to `task`
 * (name, label, help, range and the task's default from the table; the
 * pixel-space models' defaults, which batch callers of a Stable Diffusion
 * checkpoint set themselves), new-layer. */
void dm_plug_add_arguments(GimpProcedure *procedure, DmTask task);
/* The model setting (caller frees) and core's options from `config` of a
 * procedure for `task`, each value checked against the table (a
 * DmUiReadFunc, for the dialog's estimate). */
gboolean dm_plug_read_options(GimpProcedureConfig *config, DmTask task,
                              gchar **model, DmSampleOptions *sample,
                              DmAreaOptions *area, GError **error);
/* Fills `settings` from `config` of a procedure for `task`, each value
 * checked against the table; clear with dm_plug_settings_clear(). */
gboolean dm_plug_settings_read(GimpProcedureConfig *config, DmTask task,
                               DmPlugSettings *settings, GError **error);
void dm_plug_settings_clear(DmPlugSettings *settings);

#endif /* DM_PLUG_SETTINGS_H */
