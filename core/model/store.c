/* gimp-diffusion core: installed models, found by name (dm.h, "models").
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Installed models live in gimp-diffusion/models of the user's data folder
 * ($XDG_DATA_HOME, else ~/.local/share) and of the system's ($XDG_DATA_DIRS,
 * where meson installs the bundled ones), as folders or .safetensors
 * files; the user's shadow the system's of the same name. */
#include <string.h>

#include "tensor/base.h"

#define MODEL_SUFFIX ".safetensors"

/* `name` or `name`.safetensors in DIR/gimp-diffusion/models, if there. */
static char *installed_model(const char *dir, const char *name) {
  char *path = g_build_filename(dir, "gimp-diffusion", "models", name, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    char *file = g_strconcat(path, MODEL_SUFFIX, NULL);
    g_free(path);
    path = file;
  }
  if (g_file_test(path, G_FILE_TEST_EXISTS)) return path;
  g_free(path);
  return NULL;
}

char *dm_model_find(const char *model) {
  if (g_file_test(model, G_FILE_TEST_EXISTS) || strchr(model, '/'))
    return g_strdup(model);
  char *path = installed_model(g_get_user_data_dir(), model);
  for (const char *const *dir = g_get_system_data_dirs(); !path && *dir;
       dir++)
    path = installed_model(*dir, model);
  return path ? path : g_strdup(model);
}

DmModel *dm_model_load_named(const char *model, GError **error) {
  if (model == NULL || *model == '\0') {
    g_set_error_literal(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                        "no model chosen: give a model file, a diffusers "
                        "folder or the name of an installed model");
    return NULL;
  }
  char *path = dm_model_find(model);
  DmModel *loaded = dm_model_load(path, error);
  g_free(path);
  return loaded;
}

char *dm_model_describe(const char *name) {
  char *path = dm_model_find(name);
  DmSdFamily family;
  char *line = dm_sd_checkpoint_probe(path) &&
                       dm_sd_checkpoint_identify(path, NULL, &family, NULL)
                   ? dm_sd_family_describe(&family) : NULL;
  g_free(path);
  return line;
}

bool dm_model_load_any(const char *model, DmModel **pixel, DmSdModel **sd,
                       GError **error) {
  *pixel = NULL;
  *sd = NULL;
  if (model == NULL || *model == '\0')
    return dm_model_load_named(model, error) != NULL; /* its message */
  char *path = dm_model_find(model);
  if (dm_sd_checkpoint_probe(path)) {
    *sd = dm_sd_model_load(path, NULL, error);
  } else {
    *pixel = dm_model_load(path, error);
    if (*pixel && !dm_model_check_image(*pixel, error))
      g_clear_pointer(pixel, dm_model_free);
  }
  g_free(path);
  return *sd != NULL || *pixel != NULL;
}

/* The model name of `entry` in `folder`: a folder's own name, a
 * .safetensors file's name without the suffix; NULL for anything else. */
static char *installed_name(const char *folder, const char *entry) {
  if (entry[0] == '.') return NULL; /* hidden */
  char *path = g_build_filename(folder, entry, NULL);
  const size_t length = strlen(entry), suffix = strlen(MODEL_SUFFIX);
  char *name = NULL;
  if (g_file_test(path, G_FILE_TEST_IS_DIR))
    name = g_strdup(entry);
  else if (length > suffix && g_str_has_suffix(entry, MODEL_SUFFIX))
    name = g_strndup(entry, length - suffix);
  g_free(path);
  return name;
}

/* Adds to `names` the models in DIR/gimp-diffusion/models not there yet. */
static void add_installed(GPtrArray *names, const char *dir) {
  char *folder = g_build_filename(dir, "gimp-diffusion", "models", NULL);
  GDir *listing = g_dir_open(folder, 0, NULL);
  for (const char *entry; listing && (entry = g_dir_read_name(listing));) {
    char *name = installed_name(folder, entry);
    if (name && !g_ptr_array_find_with_equal_func(names, name, g_str_equal,
                                                  NULL))
      g_ptr_array_add(names, name);
    else
      g_free(name);
  }
  if (listing) g_dir_close(listing);
  g_free(folder);
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return g_utf8_collate(*(const char *const *)a, *(const char *const *)b);
}

char **dm_models_installed(void) {
  GPtrArray *names = g_ptr_array_new();
  add_installed(names, g_get_user_data_dir());
  for (const char *const *dir = g_get_system_data_dirs(); *dir; dir++)
    add_installed(names, *dir);
  g_ptr_array_sort(names, compare_names);
  g_ptr_array_add(names, NULL);
  return (char **)g_ptr_array_free(names, FALSE);
}
