/* gimp-diffusion core: a model — a UNet2DModel with its noise schedule and
 * card: making, copying and describing one, and running its network.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include "model/model.h"

/* ---- making ------------------------------------------------------------- */

DmModel *dm_model_new_empty(const DmUnetConfig *config,
                            const DmScheduleConfig *schedule, GError **error) {
  DmModel *model = g_new0(DmModel, 1);
  if (schedule)
    model->schedule = *schedule;
  else
    dm_schedule_config_default(&model->schedule);
  model->card = g_strdup("");
  if (!dm_unet_init(&model->unet, config, error)) {
    dm_model_free(model);
    return NULL;
  }
  return model;
}

void dm_model_free(DmModel *model) {
  if (model == NULL) return;
  dm_unet_clear(&model->unet);
  g_free(model->card);
  g_free(model);
}

DmModel *dm_model_new_random(const DmUnetConfig *config,
                             const DmScheduleConfig *schedule, uint64_t seed,
                             GError **error) {
  DmModel *model = dm_model_new_empty(config, schedule, error);
  if (model != NULL) dm_unet_randomize(&model->unet, seed);
  return model;
}

/* Copies conv_in's weight (O, I, 3, 3) of `from` into the first I input
 * channels of `to`'s (O, I', 3, 3), I' >= I; the rest stays as it is. */
static void copy_widened_conv_in(DmParams *to, const DmParams *from) {
  const DmParamInfo *source = dm_params_find(from, "conv_in.weight");
  const DmParamInfo *target = dm_params_find(to, "conv_in.weight");
  const size_t old_row = (size_t)source->shape[1] * 9;
  const size_t new_row = (size_t)target->shape[1] * 9;
  for (int64_t o = 0; o < source->shape[0]; o++)
    memcpy(to->data + target->offset + o * new_row,
           from->data + source->offset + o * old_row,
           old_row * sizeof(float));
}

DmModel *dm_model_new_mask_conditioned(const DmModel *model, GError **error) {
  if (dm_model_conditioning(model) != DM_CONDITIONING_NONE) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "only an unconditional model (as many input channels as "
                "output channels) can be given mask conditioning");
    return NULL;
  }
  DmUnetConfig config = model->unet.config;
  config.in_channels = 2 * config.out_channels + 1;
  DmModel *widened = dm_model_new_empty(&config, &model->schedule, error);
  if (widened == NULL) return NULL;
  const DmParams *params = &widened->unet.params;
  const DmParams *source = &model->unet.params;
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    if (strcmp(info->name, "conv_in.weight") == 0) continue;
    memcpy(params->data + info->offset,
           source->data + dm_params_find(source, info->name)->offset,
           info->numel * sizeof(float));
  }
  copy_widened_conv_in(&widened->unet.params, source);
  dm_model_set_card(widened, model->card);
  return widened;
}

/* ---- describing ------------------------------------------------------------ */

const DmUnetConfig *dm_model_config(const DmModel *model) {
  return &model->unet.config;
}

DmConditioning dm_model_conditioning(const DmModel *model) {
  return dm_unet_config_conditioning(&model->unet.config);
}

const DmScheduleConfig *dm_model_schedule_config(const DmModel *model) {
  return &model->schedule;
}

const char *dm_model_card(const DmModel *model) {
  return model->card ? model->card : "";
}

void dm_model_set_card(DmModel *model, const char *card) {
  char *copy = g_utf8_make_valid(card ? card : "", -1);
  g_free(model->card);
  model->card = copy;
}

int64_t dm_model_param_count(const DmModel *model) {
  return (int64_t)model->unet.params.total;
}

double dm_model_flops(const DmModel *model, int32_t height, int32_t width) {
  return dm_unet_flops(&model->unet, height, width);
}

int32_t dm_model_size_multiple(const DmModel *model) {
  return dm_unet_size_multiple(&model->unet.config);
}

int32_t dm_model_receptive_radius(const DmModel *model) {
  return dm_unet_receptive_radius(&model->unet.config);
}

void dm_model_set_inspect(DmModel *model, DmInspectFunc func,
                          void *user_data) {
  model->unet.inspect = func;
  model->unet.inspect_data = user_data;
}

/* ---- running ---------------------------------------------------------------- */

bool dm_model_forward(DmModel *model, DmTensor *out, const DmTensor *x,
                      const float *timesteps, GError **error) {
  return dm_unet_forward(&model->unet, out, x, timesteps, DM_PADDING_ZEROS,
                         error);
}

bool dm_model_run(DmModel *model, DmTensor *out, const DmTensor *x,
                  const float *timesteps, DmPadding padding, GError **error) {
  const int32_t multiple = dm_model_size_multiple(model);
  if (x->h % multiple == 0 && x->w % multiple == 0)
    return dm_unet_forward(&model->unet, out, x, timesteps, padding, error);
  DmTensor *padded = dm_tensor_pad_reflect(x, multiple, error);
  if (padded == NULL) return false;
  DmTensor *padded_out = dm_tensor_new(x->n, out->c, padded->h, padded->w,
                                       error);
  bool ok = padded_out != NULL &&
            dm_unet_forward(&model->unet, padded_out, padded, timesteps,
                            padding, error);
  if (ok) {
    DmTensor *cropped = dm_tensor_crop(padded_out, out->h, out->w, error);
    ok = cropped != NULL;
    if (ok) memcpy(out->data, cropped->data, dm_tensor_numel(out) * sizeof(float));
    dm_tensor_free(cropped);
  }
  dm_tensor_free(padded);
  dm_tensor_free(padded_out);
  return ok;
}

bool dm_model_forward_any_size(DmModel *model, DmTensor *out,
                               const DmTensor *x, const float *timesteps,
                               GError **error) {
  return dm_model_run(model, out, x, timesteps, DM_PADDING_ZEROS, error);
}
