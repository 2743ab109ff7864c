/* gimp-diffusion CLI: a folder of images into a training dataset.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Policies:
 *  - Order: DIR is walked depth first, each folder's entries in byte order
 *    of their names, so a folder gives the same dataset, and so the same
 *    batches, on every machine and in every locale.
 *  - Hidden entries (names starting with ".": .git, .DS_Store, editors'
 *    files) are passed over without a word.
 *  - Symbolic links are followed. A folder reached a second time (a link
 *    loop, or two links to one folder) and folders nested more than 64
 *    deep are skipped with a warning.
 *  - Any other entry that gives no usable image (not a regular file, not
 *    an image format read here, corrupt or truncated, fully transparent,
 *    above the pixel budget (told from its header, before decoding), too
 *    large for the whole cache on its own) is skipped with one warning
 *    line and counted. A full cache or a failed allocation stops loading.
 *  - Pixels: R'G'B' as the file stores them (sRGB-encoded), mapped from
 *    [0, 1] to [-1, 1] (values outside, from HDR formats, are clamped);
 *    alpha is composited over white on those encoded values, as GIMP
 *    flattens onto a white background.
 *  - Each file is decoded once; the dataset keeps its own reduced copies
 *    and the decoded image is freed before the next file is read.
 *  - Labels are the paths relative to DIR. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "commands.h"
#include "dataset-load.h"
#include "image-io.h"

#define MAX_DEPTH 64

typedef struct {
  DmDataset *dataset;
  DmCliDataSummary *summary;
  DmCliReadOptions read;   /* the pixel budget; whole images */
  const char *root;    /* DIR: labels are relative to it */
  GHashTable *folders; /* "device:inode" of every folder read */
} Walk;

static void skip(Walk *walk, const char *path, const char *reason) {
  dm_cli_warn(_("skipping %s: %s"), path, reason);
  walk->summary->skipped++;
}

/* (3, H, W) in [-1, 1] from `image`, alpha composited over white (in
 * image->rgba); NULL with the reason in *why when no pixel is visible or
 * memory is short. */
static float *flatten_over_white(DmCliImage *image, const char **why) {
  const size_t count = (size_t)image->width * image->height;
  bool visible = false;
  for (size_t p = 0; p < count; p++) {
    float *pixel = image->rgba + p * 4;
    const float alpha = pixel[3] > 0.0f ? fminf(pixel[3], 1.0f) : 0.0f;
    visible = visible || alpha > 0.0f;
    for (int c = 0; c < 3; c++)
      pixel[c] = alpha * fminf(fmaxf(pixel[c], 0.0f), 1.0f) + 1.0f - alpha;
  }
  float *rgb = visible ? g_try_new(float, count * 3) : NULL;
  if (rgb == NULL) {
    *why = visible ? _("out of memory") : _("fully transparent");
    return NULL;
  }
  dm_pixels_to_planes(rgb, image->rgba, 3, 4, count);
  return rgb;
}

/* `path` without the root folder in front. */
static const char *relative_to_root(const Walk *walk, const char *path) {
  if (!g_str_has_prefix(path, walk->root)) return path;
  path += strlen(walk->root);
  while (*path == G_DIR_SEPARATOR) path++;
  return path;
}

/* Decodes, flattens and adds one file; false only for a fatal error. */
static bool load_file(Walk *walk, const char *path, GError **error) {
  GError *problem = NULL;
  DmCliImage *image = dm_cli_image_decode(path, &walk->read, &problem);
  if (image == NULL) {
    skip(walk, path, problem->message);
    g_error_free(problem);
    return true;
  }
  const int32_t width = image->width, height = image->height;
  const char *why = NULL;
  float *rgb = flatten_over_white(image, &why);
  dm_cli_image_free(image);
  if (rgb == NULL) {
    skip(walk, path, why);
    return true;
  }
  const bool added = dm_dataset_add_image(walk->dataset, rgb, width, height,
                                          relative_to_root(walk, path),
                                          &problem);
  g_free(rgb);
  if (!added && problem->code == DM_ERROR_INVALID_ARGUMENT) {
    skip(walk, path, problem->message);
    g_error_free(problem);
    return true;
  }
  if (!added) {
    g_propagate_error(error, problem);
    return false;
  }
  walk->summary->loaded++;
  walk->summary->total_pixels += (int64_t)width * height;
  return true;
}

static gint compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in `folder` that do not start with ".", in byte order. */
static GPtrArray *list_names(const char *folder, GError **error) {
  GDir *dir = g_dir_open(folder, 0, error);
  if (dir == NULL) return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL)
    if (name[0] != '.') g_ptr_array_add(names, g_strdup(name));
  g_dir_close(dir);
  g_ptr_array_sort(names, compare_names);
  return names;
}

static bool walk_folder(Walk *walk, const char *folder, const GStatBuf *info,
                        int depth, GError **error);

static bool visit(Walk *walk, const char *path, int depth, GError **error) {
  GStatBuf info;
  if (g_stat(path, &info) != 0) {
    skip(walk, path, g_strerror(errno));
    return true;
  }
  if (S_ISDIR(info.st_mode))
    return walk_folder(walk, path, &info, depth + 1, error);
  if (!S_ISREG(info.st_mode)) {
    skip(walk, path, _("not a regular file"));
    return true;
  }
  return load_file(walk, path, error);
}

/* Visits the entries of `folder` (`depth` below DIR); an unreadable DIR
 * itself is an error, an unreadable folder below it is skipped. */
static bool walk_folder(Walk *walk, const char *folder, const GStatBuf *info,
                        int depth, GError **error) {
  char *key = g_strdup_printf("%ju:%ju", (uintmax_t)info->st_dev,
                              (uintmax_t)info->st_ino);
  if (!g_hash_table_add(walk->folders, key)) {
    skip(walk, folder, _("folder already read (a link loop?)"));
    return true;
  }
  if (depth > MAX_DEPTH) {
    skip(walk, folder, _("folders nested more than 64 deep"));
    return true;
  }
  GError *problem = NULL;
  GPtrArray *names = list_names(folder, &problem);
  if (names == NULL && depth == 0) {
    g_propagate_error(error, problem);
    return false;
  }
  if (names == NULL) {
    skip(walk, folder, problem->message);
    g_error_free(problem);
    return true;
  }
  bool ok = true;
  for (guint i = 0; ok && i < names->len; i++) {
    char *path = g_build_filename(folder, g_ptr_array_index(names, i), NULL);
    ok = visit(walk, path, depth, error);
    g_free(path);
  }
  g_ptr_array_free(names, TRUE);
  return ok;
}

DmDataset *dm_cli_dataset_load(const char *dir, int32_t crop_size,
                               size_t cache_bytes, int64_t max_pixels,
                               DmAugment augment, DmCliDataSummary *summary,
                               GError **error) {
  DmCliDataSummary ignored;
  if (summary == NULL) summary = &ignored;
  *summary = (DmCliDataSummary){0};
  GStatBuf info;
  const bool exists = g_stat(dir, &info) == 0;
  if (!exists || !S_ISDIR(info.st_mode)) {
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot read the folder "
                "'%s': %s"), dir, exists ? _("not a folder") : g_strerror(errno));
    return NULL;
  }
  DmDataset *dataset = dm_dataset_new(crop_size, cache_bytes, augment, error);
  if (dataset == NULL) return NULL;
  Walk walk = {dataset, summary, {.max_pixels = max_pixels}, dir,
               g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
  bool ok = walk_folder(&walk, dir, &info, 0, error);
  g_hash_table_destroy(walk.folders);
  if (ok && summary->loaded == 0) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                g_dngettext(GETTEXT_PACKAGE,
                            "no usable image under %s (%d file skipped)",
                            "no usable image under %s (%d files skipped)",
                            summary->skipped),
                dir, summary->skipped);
    ok = false;
  }
  if (!ok) {
    dm_dataset_free(dataset);
    return NULL;
  }
  return dataset;
}
