/* gimp-diffusion CLI: a folder of images into a training dataset.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_DATASET_LOAD_H
#define DM_CLI_DATASET_LOAD_H

#include "dm-dataset.h"

typedef struct {
  int32_t loaded;       /* images added to the dataset */
  int32_t skipped;      /* entries skipped, one warning line each */
  int64_t total_pixels; /* pixels of the loaded images, as decoded */
} DmCliDataSummary;

/* Reads every image under `dir` (see dataset-load.c for the policies) into
 * a new dataset of crop_size crops within cache_bytes (dm_dataset_new()),
 * skipping images of more than max_pixels (told from their headers).
 * Files that are not usable images are skipped with one line
 * "gimp-diffusion: warning: skipping FILE: REASON" on stderr each. Fails
 * when `dir` cannot be read, when no usable image is found, or when the
 * cache is full (dm_dataset_add_image()). `summary` may be NULL. GEGL must
 * be initialised. */
DmDataset *dm_cli_dataset_load(const char *dir, int32_t crop_size,
                               size_t cache_bytes, int64_t max_pixels,
                               DmAugment augment, DmCliDataSummary *summary,
                               GError **error);

#endif /* DM_CLI_DATASET_LOAD_H */
