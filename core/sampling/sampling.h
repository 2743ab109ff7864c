/* gimp-diffusion core: what the parts of sampling share inside the
 * library (the API is dm.h's).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_SAMPLING_SAMPLING_H
#define DM_SAMPLING_SAMPLING_H

#include "tensor/base.h"

/* Whether options->strength asks dm_sample() to start from the image that
 * x holds (0 < strength < 1) rather than from pure noise (1, or 0 counting
 * as 1). */
bool dm_sample_starts_from_image(const DmSampleOptions *options);

/* Checks `value` against the option's range in the table (options.c):
 * DM_ERROR_INVALID_ARGUMENT naming the option, the value and the range. */
bool dm_option_check(DmOption option, double value, GError **error);
/* Whether `sampler` reads `option` (DmOptionInfo.samplers). */
bool dm_option_read_by(DmOption option, DmSampler sampler);
/* Checks the area options against the table, and tile_overlap against
 * tile_size. */
bool dm_area_options_check(const DmAreaOptions *area, GError **error);

#endif /* DM_SAMPLING_SAMPLING_H */
