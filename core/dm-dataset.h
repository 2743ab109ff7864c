/* gimp-diffusion core: training images, cropped and augmented on demand.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A DmDataset keeps every training image in memory as a small pyramid and
 * draws square crops of side S (the crop size) from it: a batch is a pure
 * function of (seed, position), so a resumed training run draws exactly the
 * batches it would have drawn, whatever the thread count or batch split.
 *
 * STORAGE
 * -------
 * dm_dataset_add_image() copies the image into levels: level 0 is the
 * image as added (an image whose short side is below S is first scaled up,
 * bilinearly, to short side S so that it stays usable); each next level
 * halves both sides (rounded down) by area averaging, for as long as the
 * short side stays >= S. Pixels are stored as 16-bit codes: code q stands
 * for q / 32767.5 - 1, a step of 2 / 65535 over [-1, 1].
 *
 * CACHE POLICY
 * ------------
 * The pixel storage of all levels of all images never exceeds the budget
 * given to dm_dataset_new() (bookkeeping and labels are not counted). When
 * an image would not fit, finest levels are given up, one at a time, by
 * whichever image (the new one included) holds the largest finest level,
 * the earliest added first among equals: images end up sharing the budget
 * at similar resolutions and no image loses its coarsest level. An image
 * stored below the resolution it was added at is sampled only between its
 * finest stored level and its coarsest scale (see SAMPLING). Adding fails,
 * changing nothing, when even every image at its coarsest level would not
 * fit. Memory: the budget; while an image is added, transient buffers of
 * up to 1.4 times the size of its float input; while a batch is drawn,
 * O(batch size + image count).
 *
 * SAMPLING
 * --------
 * Sample number s = position + i (modulo 2^64) is element i of a batch:
 *  - image: epoch e = s / count, k = s % count; the image is pi_e(k), a
 *    permutation of [0, count) per epoch, so every image is drawn exactly
 *    once per epoch of `count` samples, whatever its size;
 *  - scale: the crop covers a square of S * z pixels of the finest stored
 *    level, z = (short / S)^u with u uniform in [0, 1) and `short` the short
 *    side of that level: log z is uniform between 1:1 pixels (z = 1) and
 *    the crop spanning the whole short side. The square is read from the
 *    coarsest stored level where it still spans >= S pixels and is reduced
 *    to S x S by area averaging (exact pixels at z = 1);
 *  - position: uniform over whole pixels of that level, inside the image;
 *  - transform t (see DmAugment): out(y, x) = crop(sy, sx) with
 *    (sy, sx) = (y, x), or (x, y) when bit 2 of t is set; then bit 0
 *    mirrors sx (sx -> S-1-sx) and bit 1 mirrors sy. t = 1 is the
 *    left-right mirror; the 8 values are the 8 symmetries of the square.
 *
 * RANDOM NUMBERS (Philox4x32-10 keyed by the seed, core/rng.h)
 *  - sample s: the 4 words of counter (s low, s high, 0, 0x64617461 "data")
 *    give u (word 0), the x position (word 1), the y position (word 2) and
 *    the transform (word 3: bit 0 for DM_AUGMENT_FLIP, bits 0-2 for
 *    DM_AUGMENT_TEXTURES), each as word / 2^32 scaled to its range;
 *  - pi_e: a Fisher-Yates shuffle of 0 .. count - 1: for i = count - 1
 *    down to 1, entry i swaps with entry r mod (i + 1), r the 64-bit
 *    number with words 0 (low) and 1 (high) of counter
 *    (i, e low, e high, 0x64617462).
 * The top counter word keeps these draws apart from the samplers' noise
 * (streams below 2^32) and the trainer's (top bit set, core/training/trainer.c). The same images added in
 * the same order give the same batches. */
#ifndef DM_DATASET_H
#define DM_DATASET_H

#include "dm.h"

G_BEGIN_DECLS

/* Which symmetries augment the crops; see SAMPLING above. */
typedef enum {
  DM_AUGMENT_NONE,     /* crops as they are (text, logos, layouts) */
  DM_AUGMENT_FLIP,     /* left-right mirror with p = 1/2 (photos) */
  DM_AUGMENT_TEXTURES, /* the 8 flips and quarter turns, p = 1/8 each */
  DM_AUGMENT_COUNT
} DmAugment;

/* "none", "flip", "textures" (NULL for a value outside the enum). */
DM_API const char *dm_augment_name(DmAugment augment);
DM_API bool dm_augment_from_name(const char *name, DmAugment *out);

/* Crop sizes accepted by dm_dataset_new(). */
#define DM_DATASET_MAX_CROP 8192

typedef struct DmDataset DmDataset;

/* An empty dataset for crops of crop_size x crop_size (1 ..
 * DM_DATASET_MAX_CROP) within `cache_bytes` of pixel storage. Fails when
 * the budget cannot hold even one crop-size image. */
DM_API DmDataset *dm_dataset_new(int32_t crop_size, size_t cache_bytes,
                                 DmAugment augment, GError **error);
DM_API void dm_dataset_free(DmDataset *dataset);

/* Adds a copy of `rgb` (3, height, width), R'G'B' in [-1, 1] (values
 * outside are clamped, NaN reads as -1), under `label` (copied; NULL: "image
 * N"); the caller may free `rgb` afterwards. Errors: DM_ERROR_INVALID_ARGUMENT
 * for a bad size or an image that alone needs more than the budget even at
 * its coarsest level; DM_ERROR_NO_MEMORY when the budget is full (every
 * image at its coarsest level) or an allocation fails. On error no image is
 * added. */
DM_API bool dm_dataset_add_image(DmDataset *dataset, const float *rgb,
                                 int32_t width, int32_t height,
                                 const char *label, GError **error);

DM_API int32_t dm_dataset_count(const DmDataset *dataset);

typedef struct {
  int32_t images;
  int32_t reduced;       /* images stored below their added resolution */
  int64_t stored_pixels; /* pixels of every stored level */
  size_t bytes_used;     /* pixel storage, <= cache_bytes */
  size_t cache_bytes;    /* the budget */
} DmDatasetSummary;

DM_API void dm_dataset_summary(const DmDataset *dataset,
                               DmDatasetSummary *summary);

typedef struct {
  const char *label;     /* borrowed from the dataset */
  int32_t width, height; /* as added */
  int32_t stored_width, stored_height; /* the finest stored level */
  int32_t levels;        /* stored levels, finest to coarsest */
} DmDatasetImageInfo;

/* Describes image `index` (0 .. count - 1, in the order added). */
DM_API bool dm_dataset_image_info(const DmDataset *dataset, int32_t index,
                                  DmDatasetImageInfo *info, GError **error);

/* Writes samples position .. position + n - 1 (see SAMPLING) to `out`
 * (n, 3, S, S), R'G'B' in [-1, 1]. n >= 0; fails on an empty dataset. */
DM_API bool dm_dataset_batch(const DmDataset *dataset, float *out, int32_t n,
                             uint64_t seed, uint64_t position,
                             GError **error);

G_END_DECLS

#endif /* DM_DATASET_H */
