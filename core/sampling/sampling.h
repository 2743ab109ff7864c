/* gimp-diffusion core: what sampling whole images needs of the sampler
 * (internal; the sampler's API is dm.h's dm_sample()).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_SAMPLING_SAMPLING_H
#define DM_SAMPLING_SAMPLING_H

#include "tensor/base.h"

/* Whether options->strength asks dm_sample() to start from the image that
 * x holds (0 < strength < 1) rather than from pure noise (1, or 0 counting
 * as 1). */
bool dm_sample_starts_from_image(const DmSampleOptions *options);

#endif /* DM_SAMPLING_SAMPLING_H */
