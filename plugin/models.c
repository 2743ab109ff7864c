/* gimp-diffusion plug-in: finding and loading models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "models.h"

#define MODEL_SUFFIX ".safetensors"

/* `name` or `name`.safetensors in DIR/gimp-diffusion/models, if there. */
static gchar *installed_model(const gchar *dir, const gchar *name) {
  gchar *path = g_build_filename(dir, "gimp-diffusion", "models", name, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    gchar *file = g_strconcat(path, MODEL_SUFFIX, NULL);
    g_free(path);
    path = file;
  }
  if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
  g_free(path);
  return NULL;
}

/* The path `model` stands for: itself when it exists or names a path, else
 * the first installed model of that name; else itself, so that the loader's
 * error names what was asked for. */
static gchar *model_path(const gchar *model) {
  if (g_file_test(model, G_FILE_TEST_EXISTS) || strchr(model, '/'))
    return g_strdup(model);
  gchar *path = installed_model(g_get_user_data_dir(), model);
  for (const gchar *const *dir = g_get_system_data_dirs(); !path && *dir;
       dir++)
    path = installed_model(*dir, model);
  return path ? path : g_strdup(model);
}

/* The models the plug-in runs: RGB or grey ones, unconditional (they read
 * x_t alone) or mask-conditioned (dm.h, DmConditioning). */
static gboolean check_model_channels(const DmModel *model, GError **error) {
  const DmUnetConfig *config = dm_model_config(model);
  const DmConditioning conditioning = dm_model_conditioning(model);
  if ((config->out_channels == 3 || config->out_channels == 1) &&
      (conditioning == DM_CONDITIONING_NONE ||
       conditioning == DM_CONDITIONING_MASK))
    return TRUE;
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              _("The model has %d input and %d output channels; the plug-in "
                "needs an RGB (3) or grey (1) model, unconditional (as many "
                "inputs as outputs) or mask-conditioned (2 × outputs + 1 "
                "inputs)"),
              config->in_channels, config->out_channels);
  return FALSE;
}

DmModel *dm_plug_model_load(const gchar *model, GError **error) {
  if (model == NULL || *model == '\0') {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        _("No model chosen: give a model file, a diffusers "
                          "folder or the name of an installed model"));
    return NULL;
  }
  gchar *path = model_path(model);
  DmModel *loaded = dm_model_load(path, error);
  g_free(path);
  if (loaded != NULL && !check_model_channels(loaded, error))
    g_clear_pointer(&loaded, dm_model_free);
  return loaded;
}

/* The model name of `entry` in `folder`: a folder's own name, a
 * .safetensors file's name without the suffix; NULL for anything else. */
static gchar *installed_name(const gchar *folder, const gchar *entry) {
  if (entry[0] == '.') return NULL; /* hidden */
  gchar *path = g_build_filename(folder, entry, NULL);
  const gsize length = strlen(entry), suffix = strlen(MODEL_SUFFIX);
  gchar *name = NULL;
  if (g_file_test(path, G_FILE_TEST_IS_DIR))
    name = g_strdup(entry);
  else if (length > suffix && g_str_has_suffix(entry, MODEL_SUFFIX))
    name = g_strndup(entry, length - suffix);
  g_free(path);
  return name;
}

/* Adds to `names` the models in DIR/gimp-diffusion/models not there yet. */
static void add_installed(GPtrArray *names, const gchar *dir) {
  gchar *folder = g_build_filename(dir, "gimp-diffusion", "models", NULL);
  GDir *listing = g_dir_open(folder, 0, NULL);
  for (const gchar *entry; listing && (entry = g_dir_read_name(listing));) {
    gchar *name = installed_name(folder, entry);
    if (name && !g_ptr_array_find_with_equal_func(names, name, g_str_equal,
                                                  NULL))
      g_ptr_array_add(names, name);
    else
      g_free(name);
  }
  if (listing) g_dir_close(listing);
  g_free(folder);
}

static gint compare_names(gconstpointer a, gconstpointer b) {
  return g_utf8_collate(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar **dm_plug_models_installed(void) {
  GPtrArray *names = g_ptr_array_new();
  add_installed(names, g_get_user_data_dir());
  for (const gchar *const *dir = g_get_system_data_dirs(); *dir; dir++)
    add_installed(names, *dir);
  g_ptr_array_sort(names, compare_names);
  g_ptr_array_add(names, NULL);
  return (gchar **)g_ptr_array_free(names, FALSE);
}

gchar *dm_plug_model_display_name(const gchar *model) {
  gchar *trimmed = g_strdup(model);
  gsize length = strlen(trimmed);
  while (length > 1 && trimmed[length - 1] == '/') trimmed[--length] = '\0';
  gchar *name = g_path_get_basename(trimmed);
  g_free(trimmed);
  if (g_str_has_suffix(name, MODEL_SUFFIX) &&
      strlen(name) > strlen(MODEL_SUFFIX))
    name[strlen(name) - strlen(MODEL_SUFFIX)] = '\0';
  return name;
}
