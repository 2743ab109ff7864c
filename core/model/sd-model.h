/* gimp-diffusion core: a Stable Diffusion checkpoint in memory (internal;
 * the public API is dm.h's DmSdModel).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * What the pipelines that sample with it (core/sampling) reach: the
 * networks, each with its weights in the file's dtype, and the
 * tokenizer. */
#ifndef DM_MODEL_SD_MODEL_H
#define DM_MODEL_SD_MODEL_H

#include "model/clip-tokenizer.h"
#include "network/clip-text.h"
#include "network/unet-cond.h"
#include "network/vae.h"

struct DmSdModel {
  DmSdFamily family;
  DmScheduleConfig schedule;
  DmClipText text_encoder;
  DmClipTokenizer *tokenizer; /* owned */
  char *tokenizer_folder;     /* owned: where the tokenizer came from */
  DmUnetCond unet;
  DmVae vae;
};

/* The schedule Stable Diffusion was trained with (its v1/v2 inference
 * configs: scaled linear betas 0.00085 .. 0.012 over 1000 steps) with
 * diffusers' settings for its pipelines (no clipping, final alpha from
 * the schedule, steps offset 1), predicting `prediction`. */
void dm_sd_schedule_config(DmScheduleConfig *schedule,
                           DmPrediction prediction);

/* The special tokens of `version`'s tokenizer (SD 2.x pads with "!"). */
DmClipTokenizerConfig dm_sd_tokenizer_config(DmSdVersion version);

/* The tokenizer of the single file `checkpoint` (dm.h): options->tokenizer
 * when set, else the first of a tokenizer/ folder beside it (with its own
 * configs) and gimp-diffusion/tokenizers/clip in the user's and the
 * system's data folders (with `version`'s special tokens). *folder = where
 * it came from (g_free it). DM_ERROR_IO naming every place when there is
 * none, or the error of the folder that fails. */
DmClipTokenizer *dm_sd_tokenizer_load(const char *checkpoint,
                                      const DmSdLoadOptions *options,
                                      DmSdVersion version, char **folder,
                                      GError **error);

/* A pipeline's model_index.json text must name a UNet2DConditionModel
 * unet, an AutoencoderKL vae, a CLIPTextModel text_encoder and a
 * CLIPTokenizer tokenizer; a scheduler, safety_checker, feature_extractor
 * and image_encoder are passed over, any other component refused naming
 * it (text_encoder_2: SDXL, transformer: SD3, Flux, ...). `label` names
 * the text in messages. */
bool dm_sd_model_index_check(const char *text, const char *label,
                             GError **error);

#endif /* DM_MODEL_SD_MODEL_H */
