/* gimp-diffusion core: the error domain.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm.h"

G_DEFINE_QUARK(dm-error-quark, dm_error)
