/* gimp-diffusion core: the training-image cache and the crops drawn from it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Storage, cache policy, sampling and the random-number layout are
 * documented in dm-dataset.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dm-dataset.h"
#include "tensor/base.h"
#include "tensor/rng.h"
#include "tensor/resample.h"

#define MAX_LEVELS 32                /* short sides up to 2^31, halved */
#define TAG_SAMPLE 0x64617461u       /* "data": top counter word, samples */
#define TAG_PERMUTE (TAG_SAMPLE + 1) /* "datb": the epoch shuffles */
#define CODE_SCALE 32767.5           /* code q stands for q / CODE_SCALE - 1 */

static const char *const augment_names[DM_AUGMENT_COUNT] = {
    [DM_AUGMENT_NONE] = "none",
    [DM_AUGMENT_FLIP] = "flip",
    [DM_AUGMENT_TEXTURES] = "textures",
};

const char *dm_augment_name(DmAugment augment) {
  return augment >= 0 && augment < DM_AUGMENT_COUNT ? augment_names[augment]
                                                    : NULL;
}

bool dm_augment_from_name(const char *name, DmAugment *out) {
  for (int i = 0; name && i < DM_AUGMENT_COUNT; i++)
    if (strcmp(name, augment_names[i]) == 0) {
      *out = (DmAugment)i;
      return true;
    }
  return false;
}

typedef struct {
  int32_t width, height;
  uint16_t *codes; /* (3, height, width); NULL when not stored */
} Level;

typedef struct {
  char *label;
  int32_t width, height; /* as added */
  int32_t n_levels;      /* levels of the whole pyramid */
  int32_t finest;        /* levels finest .. n_levels - 1 are stored */
  Level levels[MAX_LEVELS];
} Image;

struct DmDataset {
  int32_t crop; /* S */
  DmAugment augment;
  size_t budget;     /* bytes the stored levels may take */
  size_t used;       /* bytes of the stored levels */
  size_t floor;      /* bytes of every image's coarsest level */
  GPtrArray *images; /* (count) Image *, in the order added */
};

static size_t level_bytes(const Level *level) {
  return (size_t)level->width * (size_t)level->height * 3 * sizeof(uint16_t);
}

static int32_t short_side(const Level *level) {
  return MIN(level->width, level->height);
}

static size_t stored_bytes(const Image *image) {
  size_t bytes = 0;
  for (int32_t k = image->finest; k < image->n_levels; k++)
    bytes += level_bytes(&image->levels[k]);
  return bytes;
}

static void image_free(gpointer data) {
  Image *image = data;
  for (int32_t k = 0; k < image->n_levels; k++) free(image->levels[k].codes);
  g_free(image->label);
  g_free(image);
}

DmDataset *dm_dataset_new(int32_t crop_size, size_t cache_bytes,
                          DmAugment augment, GError **error) {
  if (crop_size < 1 || crop_size > DM_DATASET_MAX_CROP) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "crop size %d is outside 1 .. %d", crop_size,
                DM_DATASET_MAX_CROP);
    return NULL;
  }
  if (dm_augment_name(augment) == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "augmentation %d is not a DmAugment", (int)augment);
    return NULL;
  }
  const Level one_crop = {crop_size, crop_size, NULL};
  if (cache_bytes < level_bytes(&one_crop)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a cache of %zu bytes cannot hold even one %dx%d image "
                "(%zu bytes at 16 bits per channel)", cache_bytes, crop_size,
                crop_size, level_bytes(&one_crop));
    return NULL;
  }
  DmDataset *dataset = g_new0(DmDataset, 1);
  dataset->crop = crop_size;
  dataset->augment = augment;
  dataset->budget = cache_bytes;
  dataset->images = g_ptr_array_new_with_free_func(image_free);
  return dataset;
}

void dm_dataset_free(DmDataset *dataset) {
  if (dataset == NULL) return;
  g_ptr_array_free(dataset->images, TRUE);
  g_free(dataset);
}

int32_t dm_dataset_count(const DmDataset *dataset) {
  return (int32_t)dataset->images->len;
}

/* ---- adding an image ----------------------------------------------------- */

/* Sizes of the pyramid: level 0 is the image as added, or scaled up to
 * short side `crop`; each next level halves both sides (rounding down)
 * while the short side stays >= crop. */
static bool plan_levels(Image *image, int32_t crop, GError **error) {
  int64_t width = image->width, height = image->height;
  const int64_t short_in = MIN(width, height);
  if (short_in < crop) {
    width = (width * crop + short_in / 2) / short_in;
    height = (height * crop + short_in / 2) / short_in;
    if (MAX(width, height) > INT32_MAX) {
      g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                  "image '%s' (%dx%d) is too elongated to enlarge to the "
                  "crop size %d", image->label, image->width, image->height,
                  crop);
      return false;
    }
  }
  image->levels[0] = (Level){(int32_t)width, (int32_t)height, NULL};
  image->n_levels = 1;
  for (Level *last = image->levels;
       image->n_levels < MAX_LEVELS && short_side(last) / 2 >= crop; last++)
    image->levels[image->n_levels++] =
        (Level){last->width / 2, last->height / 2, NULL};
  return true;
}

/* The image that gives up its finest level next (cache policy): the one
 * with the largest finest level that is not its coarsest, the earliest
 * added among equals, `added` (not yet in the list) last; NULL if none. A
 * linear scan: adding N images makes O(N * levels) scans. */
static Image *next_to_reduce(const DmDataset *dataset, Image *added) {
  Image *chosen = NULL;
  size_t chosen_bytes = 0;
  for (guint i = 0; i <= dataset->images->len; i++) {
    Image *image = i < dataset->images->len
                       ? g_ptr_array_index(dataset->images, i) : added;
    const size_t bytes = level_bytes(&image->levels[image->finest]);
    if (image->finest + 1 < image->n_levels &&
        (chosen == NULL || bytes > chosen_bytes)) {
      chosen = image;
      chosen_bytes = bytes;
    }
  }
  return chosen;
}

/* Gives up finest levels until `added` fits the budget; the caller has
 * checked that every image at its coarsest level fits. */
static void make_room(DmDataset *dataset, Image *added) {
  while (dataset->used + stored_bytes(added) > dataset->budget) {
    Image *image = next_to_reduce(dataset, added);
    Level *level = &image->levels[image->finest++];
    if (level->codes) dataset->used -= level_bytes(level);
    free(level->codes);
    level->codes = NULL;
  }
}

/* A code in 0 .. 65535 from a value in code units (NaN and below -> 0). */
static uint16_t round_code(float value) {
  if (!(value > 0.0f)) return 0;
  return value >= 65535.0f ? 65535 : (uint16_t)(value + 0.5f);
}

/* codes (count) of values (count) in [-1, 1], or NULL if out of memory. */
static uint16_t *encode_values(const float *values, size_t count) {
  uint16_t *codes = malloc(count * sizeof(uint16_t));
  if (codes == NULL) return NULL;
  for (size_t i = 0; i < count; i++)
    codes[i] = round_code((float)((values[i] + 1.0) * CODE_SCALE));
  return codes;
}

/* target's codes resampled from source's: bilinear when enlarging, else
 * area averaging. NULL if out of memory. */
static uint16_t *resample_level(const Level *source, const Level *target) {
  const bool enlarge = target->width > source->width;
  DmAxis x = {0}, y = {0};
  const size_t count = (size_t)target->width * target->height * 3;
  float *values = malloc(count * sizeof(float)); /* (3, h, w) code units */
  uint16_t *codes = malloc(count * sizeof(uint16_t));
  bool ok = values && codes &&
            (enlarge ? dm_axis_bilinear(&x, target->width, source->width) &&
                           dm_axis_bilinear(&y, target->height, source->height)
                     : dm_axis_area(&x, target->width, 0.0, source->width,
                                    source->width) &&
                           dm_axis_area(&y, target->height, 0.0,
                                        source->height, source->height)) &&
            dm_resample_planes(values, source->codes, source->width,
                               source->height, &x, &y);
  for (size_t i = 0; ok && i < count; i++) codes[i] = round_code(values[i]);
  dm_axis_clear(&x);
  dm_axis_clear(&y);
  free(values);
  if (!ok) {
    free(codes);
    return NULL;
  }
  return codes;
}

/* Computes the stored levels from `input` (the added image's codes, taken
 * over); levels finer than image->finest are made only to derive the next
 * one and freed. */
static bool build_levels(Image *image, uint16_t *input) {
  const Level added = {image->width, image->height, input};
  Level *levels = image->levels;
  if (levels[0].width == added.width && levels[0].height == added.height) {
    levels[0].codes = input;
  } else {
    levels[0].codes = resample_level(&added, &levels[0]);
    free(input);
    if (levels[0].codes == NULL) return false;
  }
  for (int32_t k = 1; k < image->n_levels; k++) {
    levels[k].codes = resample_level(&levels[k - 1], &levels[k]);
    if (levels[k].codes == NULL) return false;
    if (k - 1 < image->finest) {
      free(levels[k - 1].codes);
      levels[k - 1].codes = NULL;
    }
  }
  return true;
}

/* Refuses an image whose coarsest level does not fit beside every other
 * image's coarsest level. */
static bool check_fits(const DmDataset *dataset, const Image *image,
                       GError **error) {
  const Level *coarsest = &image->levels[image->n_levels - 1];
  const size_t bytes = level_bytes(coarsest);
  if (bytes > dataset->budget) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "image '%s' (%dx%d) needs %zu bytes even at its smallest "
                "(%dx%d), more than the whole cache of %zu bytes",
                image->label, image->width, image->height, bytes,
                coarsest->width, coarsest->height, dataset->budget);
    return false;
  }
  if (dataset->floor + bytes > dataset->budget) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "the cache of %zu bytes is full: its %u images take %zu "
                "bytes at their smallest and image '%s' needs %zu more",
                dataset->budget, dataset->images->len, dataset->floor,
                image->label, bytes);
    return false;
  }
  return true;
}

bool dm_dataset_add_image(DmDataset *dataset, const float *rgb,
                          int32_t width, int32_t height, const char *label,
                          GError **error) {
  size_t count = 0, bytes = 0;
  if (width < 1 || height < 1 ||
      !dm_mul_size((size_t)width * (size_t)height, 3, &count) ||
      !dm_mul_size(count, sizeof(float), &bytes)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "image '%s' has an invalid size %dx%d",
                label ? label : "(unnamed)", width, height);
    return false;
  }
  if (dataset->images->len >= INT32_MAX) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "a dataset holds at most %d images", INT32_MAX);
    return false;
  }
  Image *image = g_new0(Image, 1);
  image->label = label ? g_strdup(label)
                       : g_strdup_printf("image %u", dataset->images->len);
  image->width = width;
  image->height = height;
  if (!plan_levels(image, dataset->crop, error) ||
      !check_fits(dataset, image, error)) {
    image_free(image);
    return false;
  }
  uint16_t *input = encode_values(rgb, count);
  if (input != NULL) make_room(dataset, image);
  if (input == NULL || !build_levels(image, input)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory storing image '%s' (%dx%d)", image->label,
                width, height);
    image_free(image);
    return false;
  }
  dataset->used += stored_bytes(image);
  dataset->floor += level_bytes(&image->levels[image->n_levels - 1]);
  g_ptr_array_add(dataset->images, image);
  return true;
}

/* ---- describing it ------------------------------------------------------- */

void dm_dataset_summary(const DmDataset *dataset, DmDatasetSummary *summary) {
  *summary = (DmDatasetSummary){.images = dm_dataset_count(dataset),
                                .bytes_used = dataset->used,
                                .cache_bytes = dataset->budget};
  for (guint i = 0; i < dataset->images->len; i++) {
    const Image *image = g_ptr_array_index(dataset->images, i);
    const Level *finest = &image->levels[image->finest];
    if ((int64_t)finest->width * finest->height <
        (int64_t)image->width * image->height)
      summary->reduced++;
    for (int32_t k = image->finest; k < image->n_levels; k++)
      summary->stored_pixels +=
          (int64_t)image->levels[k].width * image->levels[k].height;
  }
}

bool dm_dataset_image_info(const DmDataset *dataset, int32_t index,
                           DmDatasetImageInfo *info, GError **error) {
  if (index < 0 || index >= dm_dataset_count(dataset)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "image index %d is outside 0 .. %d", index,
                dm_dataset_count(dataset) - 1);
    return false;
  }
  const Image *image = g_ptr_array_index(dataset->images, index);
  const Level *finest = &image->levels[image->finest];
  *info = (DmDatasetImageInfo){
      .label = image->label, .width = image->width, .height = image->height,
      .stored_width = finest->width, .stored_height = finest->height,
      .levels = image->n_levels - image->finest};
  return true;
}

/* ---- drawing crops ------------------------------------------------------- */

/* A random word as a uniform in [0, 1). */
static double unit_interval(uint32_t word) {
  return word * (1.0 / 4294967296.0);
}

/* order (count) = pi_e of SAMPLING: a Fisher-Yates shuffle of
 * 0 .. count - 1 with the random numbers of epoch `epoch`. */
static void shuffle_epoch(int32_t *order, int32_t count, uint64_t seed,
                          uint64_t epoch) {
  for (int32_t i = 0; i < count; i++) order[i] = i;
  for (int32_t i = count - 1; i > 0; i--) {
    const uint32_t counter[4] = {(uint32_t)i, (uint32_t)epoch,
                                 (uint32_t)(epoch >> 32), TAG_PERMUTE};
    uint32_t words[4];
    dm_philox4x32_10(words, counter, seed);
    const uint64_t r = (uint64_t)words[1] << 32 | words[0];
    const int32_t j = (int32_t)(r % (uint64_t)(i + 1));
    const int32_t swapped = order[i];
    order[i] = order[j];
    order[j] = swapped;
  }
}

/* images (n) = the image of each sample position .. position + n - 1:
 * one shuffle per epoch the batch meets, O(n + 2 count) work. False if
 * out of memory. */
static bool batch_images(int32_t *images, int32_t n, int32_t count,
                         uint64_t seed, uint64_t position) {
  int32_t *order = malloc(sizeof(int32_t) * (size_t)count);
  if (order == NULL) return false;
  for (int32_t i = 0; i < n; i++) {
    const uint64_t sample = position + (uint64_t)i;
    const uint64_t epoch = sample / (uint64_t)count;
    if (i == 0 || sample % (uint64_t)count == 0)
      shuffle_epoch(order, count, seed, epoch);
    images[i] = order[sample % (uint64_t)count];
  }
  free(order);
  return true;
}

/* Where a crop is read: a window of the stored level `level`, origin
 * (x, y), width x height of its pixels (>= S each). */
typedef struct {
  const Level *level;
  int32_t x, y;
  double width, height;
} Window;

/* The scale and position of SAMPLING, from words 0 (scale), 1 and 2. */
static Window choose_window(const Image *image, int32_t crop,
                            const uint32_t words[4]) {
  const Level *finest = &image->levels[image->finest];
  const double zoom =
      pow((double)short_side(finest) / crop, unit_interval(words[0]));
  const double side = crop * zoom; /* in pixels of the finest level */
  Window window = {0};
  for (int32_t k = image->n_levels - 1; k >= image->finest; k--) {
    const Level *level = &image->levels[k];
    window.level = level;
    window.width = fmin(side * level->width / finest->width, level->width);
    window.height =
        fmin(side * level->height / finest->height, level->height);
    if (window.width >= crop && window.height >= crop) break;
  }
  const Level *level = window.level;
  window.x = (int32_t)(unit_interval(words[1]) *
                       (floor(level->width - window.width) + 1.0));
  window.y = (int32_t)(unit_interval(words[2]) *
                       (floor(level->height - window.height) + 1.0));
  return window;
}

static int32_t choose_transform(DmAugment augment, uint32_t word) {
  switch (augment) {
  case DM_AUGMENT_TEXTURES: return (int32_t)(word & 7);
  case DM_AUGMENT_FLIP: return (int32_t)(word & 1);
  default: return 0;
  }
}

/* out (3, S, S) in [-1, 1] = transform t (SAMPLING) of crop (3, S, S) in
 * code units. */
static void transform_decode(float *out, const float *crop, int32_t side,
                             int32_t t) {
  for (int32_t c = 0; c < 3; c++)
    for (int32_t y = 0; y < side; y++)
      for (int32_t x = 0; x < side; x++) {
        int32_t sy = t & 4 ? x : y, sx = t & 4 ? y : x;
        if (t & 1) sx = side - 1 - sx;
        if (t & 2) sy = side - 1 - sy;
        const double code = crop[((size_t)c * side + sy) * side + sx];
        out[((size_t)c * side + y) * side + x] =
            (float)fmin(fmax(code / CODE_SCALE - 1.0, -1.0), 1.0);
      }
}

/* out (3, S, S) = sample number `sample`, a crop of image `index`. False
 * if out of memory. */
static bool draw_sample(float *out, const DmDataset *dataset, int32_t index,
                        uint64_t seed, uint64_t sample) {
  const uint32_t counter[4] = {(uint32_t)sample, (uint32_t)(sample >> 32), 0,
                               TAG_SAMPLE};
  uint32_t words[4];
  dm_philox4x32_10(words, counter, seed);
  const int32_t crop = dataset->crop;
  const Image *image = g_ptr_array_index(dataset->images, index);
  const Window window = choose_window(image, crop, words);
  const Level *level = window.level;
  DmAxis x = {0}, y = {0};
  float *values = malloc(sizeof(float) * 3 * (size_t)crop * crop); /* (3, S, S) */
  const bool ok =
      values &&
      dm_axis_area(&x, crop, window.x, window.width, level->width) &&
      dm_axis_area(&y, crop, window.y, window.height, level->height) &&
      dm_resample_planes(values, level->codes, level->width, level->height,
                         &x, &y);
  if (ok)
    transform_decode(out, values, crop,
                     choose_transform(dataset->augment, words[3]));
  dm_axis_clear(&x);
  dm_axis_clear(&y);
  free(values);
  return ok;
}

bool dm_dataset_batch(const DmDataset *dataset, float *out, int32_t n,
                      uint64_t seed, uint64_t position, GError **error) {
  if (n < 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "batch size %d is negative", n);
    return false;
  }
  if (dm_dataset_count(dataset) == 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the dataset holds no image to draw crops from");
    return false;
  }
  const size_t sample_floats = 3 * (size_t)dataset->crop * dataset->crop;
  int32_t *images = malloc(sizeof(int32_t) * (size_t)MAX(n, 1));
  bool failed = images == NULL ||
                !batch_images(images, n, dm_dataset_count(dataset), seed,
                              position);
#pragma omp parallel for schedule(dynamic) reduction(|| : failed)
  for (int32_t i = 0; i < n; i++)
    if (!failed && !draw_sample(out + (size_t)i * sample_floats, dataset,
                                images[i], seed, position + (uint64_t)i))
      failed = true;
  free(images);
  if (failed)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory drawing a batch of %d crops", n);
  return !failed;
}
