/* gimp-diffusion core: loading an AutoencoderKL (vae-files.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "model/files.h"
#include "model/vae-files.h"

bool dm_vae_from_safetensors(DmVae *vae, const DmVaeConfig *config,
                             const DmSafetensors *st, const char *label,
                             GError **error) {
  if (!dm_vae_describe(vae, config, error)) {
    g_prefix_error(error, "%s: ", label);
    return false;
  }
  if (dm_weights_read(&vae->weights, st, NULL, label, error))
    return true;
  dm_vae_clear(vae);
  return false;
}

bool dm_vae_load_folder(DmVae *vae, const char *folder, GError **error) {
  memset(vae, 0, sizeof *vae);
  char *config_path = g_build_filename(folder, "config.json", NULL);
  char *text = dm_read_text_file(config_path, DM_MAX_CONFIG_BYTES, false,
                                 error);
  DmVaeConfig config;
  bool ok = text && dm_vae_config_from_json(&config, text, config_path,
                                            error);
  static const char *const names[] = {
      "diffusion_pytorch_model.safetensors",
      "diffusion_pytorch_model.fp16.safetensors", NULL};
  char *weights_path = ok ? dm_find_weights(folder, names,
                                            "diffusion_pytorch_model.bin",
                                            error)
                          : NULL;
  DmSafetensors *st = weights_path
                          ? dm_safetensors_open(weights_path, error) : NULL;
  ok = st && dm_vae_from_safetensors(vae, &config, st, weights_path, error);
  dm_safetensors_free(st);
  g_free(weights_path);
  g_free(text);
  g_free(config_path);
  return ok;
}
