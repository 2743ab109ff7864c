/* gimp-diffusion plug-in: the dialog's estimate of the work a run takes.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_UI_ESTIMATE_H
#define DM_UI_ESTIMATE_H

#include <gtk/gtk.h>
#include <libgimp/gimp.h>

#include "work.h"

typedef struct DmUiEstimate DmUiEstimate;

/* Told the model the settings name (borrowed for the call), or NULL when
 * it does not load. */
typedef void (*DmUiModelFunc)(const DmUiModel *model, gpointer user_data);

/* Keeps `label` showing the work a run with the settings in `config` (read
 * by `read`) on `work` takes: "≈ N network evaluations, ≈ T", T from the
 * model's speed measured on this machine on the run's work area (twice as
 * long with guidance on a mask-conditioned model,
 * dm_model_evaluation_batch, or on a Stable Diffusion checkpoint, whose
 * text encoder and VAE add about two evaluations). When the model setting
 * or the work area's size changes, the model is loaded and timed in a
 * worker thread ("≈ …" meanwhile); a model that does not load shows the
 * loader's message instead. Each time the label shows a measurement,
 * `model_func` (may be NULL) is told the model. `config`, `work` and
 * `label` must outlive the estimate. */
DmUiEstimate *dm_ui_estimate_new(GimpProcedureConfig *config,
                                 const DmUiWork *work, DmUiReadFunc read,
                                 GtkLabel *label, DmUiModelFunc model_func,
                                 gpointer model_data);
/* Waits for a measurement under way (at most one forward pass of the
 * model), then frees the estimate. */
void dm_ui_estimate_free(DmUiEstimate *estimate);

#endif /* DM_UI_ESTIMATE_H */
