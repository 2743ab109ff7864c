/* gimp-diffusion plug-in: what a run works on, as plain numbers, the model
 * it runs, and the part of the drawable the model reads (the dialog's
 * estimate and the run share them).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_UI_WORK_H
#define DM_UI_WORK_H

#include <libgimp/gimp.h>

#include "dm.h"

typedef struct {
  DmTask task;
  GeglRectangle selected; /* drawable coordinates; all of it when nothing
                             is selected and generating */
  gint width, height;     /* the drawable's */
} DmUiWork;

/* The model a setting names: a pixel-space model that makes images
 * (dm_model_load) or a Stable Diffusion checkpoint (dm_sd_model_load,
 * told by dm_sd_checkpoint_probe); one of them is NULL. */
typedef struct {
  DmModel *pixel;
  DmSdModel *sd;
} DmUiModel;

/* Loads the model `name` stands for into `model` (dm_model_load_any). */
gboolean dm_ui_model_load(DmUiModel *model, const gchar *name,
                          GError **error);
void dm_ui_model_clear(DmUiModel *model);
/* Whether the model reads the guidance scale on `task`: a Stable
 * Diffusion checkpoint, or a mask-conditioned model inpainting. */
gboolean dm_ui_model_guided(const DmUiModel *model, DmTask task);

/* The rectangle the model reads into *rect, in drawable coordinates: for
 * inpainting the selection's bounds plus the context margin (core's
 * dm_model_work_area, dm_sd_work_area), else the selected part; with a
 * Stable Diffusion checkpoint also the work it samples (sd_work may be
 * NULL). FALSE with *error when core refuses the area. */
gboolean dm_ui_work_area(const DmUiWork *work, const DmAreaOptions *area,
                         const DmUiModel *model, GeglRectangle *rect,
                         DmSdWork *sd_work, GError **error);

/* Reads the settings of a procedure for `task` from `config`: the model
 * setting (caller frees) and core's options, each checked against core's
 * table. The plug-in's reader (plugin/settings.c) is handed to the dialog,
 * which knows nothing of the plug-in's own files. */
typedef gboolean (*DmUiReadFunc)(GimpProcedureConfig *config, DmTask task,
                                 gchar **model, DmSampleOptions *sample,
                                 DmAreaOptions *area, GError **error);

#endif /* DM_UI_WORK_H */
