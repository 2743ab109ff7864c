/* gimp-diffusion core: CLIPTextModel configs and weights from files
 * (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A diffusers pipeline's text_encoder/ folder holds config.json (written
 * by transformers' CLIPTextConfig) and model.safetensors, its tensors named
 * as in network/clip-text.h. A single-file checkpoint names them
 * differently ("cond_stage_model.transformer.text_model...."); its loader
 * builds the same table with dm_clip_text_init() and fills it from the
 * renamed tensors. */
#ifndef DM_MODEL_CLIP_TEXT_FILES_H
#define DM_MODEL_CLIP_TEXT_FILES_H

#include "network/clip-text.h"

/* Fills `config` from a config.json text: transformers' defaults for
 * absent fields, model_type "clip_text_model" and architectures
 * ["CLIPTextModel"] when present, hidden_act "quick_gelu" or "gelu";
 * other fields (dropouts, projection_dim, token ids) do not change the
 * text model's output and are not read. DM_ERROR_FORMAT or
 * DM_ERROR_UNSUPPORTED naming `label`, the field and the value. */
bool dm_clip_text_config_from_json(DmClipTextConfig *config, const char *text,
                                   const char *label, GError **error);

/* The text encoder of a text_encoder/ folder: config.json, then
 * model.safetensors (else model.fp16.safetensors) checked tensor by tensor
 * against the config's table (a missing, extra or mis-shaped tensor is an
 * error naming it) and kept in its dtype. Clear with dm_clip_text_clear(). */
bool dm_clip_text_load(DmClipText *model, const char *folder, GError **error);

#endif /* DM_MODEL_CLIP_TEXT_FILES_H */
