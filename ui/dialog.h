/* gimp-diffusion plug-in: the procedures' dialog.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_UI_DIALOG_H
#define DM_UI_DIALOG_H

#include <libgimp/gimp.h>

#include "work.h"

/* Shows the dialog built from the procedure's arguments (the options of
 * core's table for work->task, in the table's order, the advanced ones in
 * an expander), for a run on `work`; `read` reads the settings for the
 * estimate. The settings go into `config`. FALSE when the user cancels. */
gboolean dm_ui_dialog_run(GimpProcedure *procedure,
                          GimpProcedureConfig *config, const DmUiWork *work,
                          DmUiReadFunc read);

#endif /* DM_UI_DIALOG_H */
