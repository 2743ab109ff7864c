/* gimp-diffusion plug-in: the procedures' dialog.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_UI_DIALOG_H
#define DM_UI_DIALOG_H

#include <libgimp/gimp.h>

#include "target.h"

/* Shows the dialog built from the procedure's arguments, for a run on
 * `target`; the settings go into `config`. FALSE when the user cancels. */
gboolean dm_ui_dialog_run(GimpProcedure *procedure,
                          GimpProcedureConfig *config,
                          const DmPlugTarget *target);

#endif /* DM_UI_DIALOG_H */
