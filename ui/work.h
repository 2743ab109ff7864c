/* gimp-diffusion plug-in: what a run works on, as plain numbers, and the
 * part of it the model reads (the dialog's estimate and the run share it).
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

/* The rectangle the model reads, in drawable coordinates: for inpainting
 * the selection's bounds plus the context margin (core's
 * dm_model_work_area), else the selected part. */
GeglRectangle dm_ui_work_area(const DmUiWork *work, const DmAreaOptions *area,
                              const DmModel *model);

/* Reads the settings of a procedure for `task` from `config`: the model
 * setting (caller frees) and core's options, each checked against core's
 * table. The plug-in's reader (plugin/settings.c) is handed to the dialog,
 * which knows nothing of the plug-in's own files. */
typedef gboolean (*DmUiReadFunc)(GimpProcedureConfig *config, DmTask task,
                                 gchar **model, DmSampleOptions *sample,
                                 DmAreaOptions *area, GError **error);

#endif /* DM_UI_WORK_H */
