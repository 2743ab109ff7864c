/* gimp-diffusion core: checks of a noise schedule's configuration
 * (internal; the rest of its API is in dm.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_MODEL_SCHEDULER_CONFIG_H
#define DM_MODEL_SCHEDULER_CONFIG_H

#include "tensor/base.h"

/* Checks every field's range; `code` is DM_ERROR_FORMAT for a parsed file,
 * DM_ERROR_INVALID_ARGUMENT for a caller's struct. */
bool dm_schedule_config_check(const DmScheduleConfig *config,
                              DmErrorCode code, GError **error);

#endif /* DM_MODEL_SCHEDULER_CONFIG_H */
