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
  return loaded;
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
