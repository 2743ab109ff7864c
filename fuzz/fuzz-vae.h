/* The VAE config fuzz-loader builds from a file's tensors, and make-seeds
 * writes a seed file for.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_FUZZ_VAE_H
#define DM_FUZZ_VAE_H

#include "network/vae.h"

/* diffusers' defaults at 4 channels, 2 groups: 92 tensors, 3135 values. */
static inline void fuzz_vae_config(DmVaeConfig *config) {
  dm_vae_config_default(config);
  config->block_out_channels[0] = 4;
  config->norm_num_groups = 2;
}

#endif /* DM_FUZZ_VAE_H */
