/* gimp-diffusion plug-in: finding and loading models.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_PLUG_MODELS_H
#define DM_PLUG_MODELS_H

#include <glib.h>

#include "dm.h"

/* Loads `model`: a path to a model file or diffusers folder, or the name of
 * one in gimp-diffusion/models under $XDG_DATA_HOME or a system data folder
 * (with or without ".safetensors"). NULL with the loader's message in
 * *error, or a message saying the model is neither RGB nor grey, or
 * reads something other than the image or the image and a mask. */
DmModel *dm_plug_model_load(const gchar *model, GError **error);
/* The names of the installed models (folders and .safetensors files in
 * gimp-diffusion/models of the user's and the system's data folders), each
 * once, sorted; free with g_strfreev(). */
gchar **dm_plug_models_installed(void);
/* The name the result layer gets for `model`: its file name without
 * ".safetensors" (caller frees). */
gchar *dm_plug_model_display_name(const gchar *model);

#endif /* DM_PLUG_MODELS_H */
