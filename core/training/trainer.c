/* gimp-diffusion core: the training step (objectives, optimiser, EMA) and
 * checkpoints that resume a run exactly.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Randomness: step s draws its timesteps from Philox(seed, stream
 * DM_TRAIN_STREAM | 2 s) (uniform, index = sample) and its noise from stream
 * DM_TRAIN_STREAM | (2 s + 1) (normal, index = element of the batch). So a
 * run's state is its weights, EMA, Adam moments and step count, and a
 * resumed run repeats an uninterrupted one exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dm-train.h"
#include "model/json.h"
#include "model/model-files.h"
#include "network/unet-train.h"
#include "sampling/discrete.h"
#include "tensor/rng.h"

/* Streams with the top bit set belong to training (samplers use small
 * stream numbers, the dataset its own seed offset). */
#define DM_TRAIN_STREAM ((uint64_t)1 << 63)

void dm_train_options_default(DmTrainOptions *options) {
  *options = (DmTrainOptions){.batch_size = 16, .seed = 0,
                              .max_grad_norm = 1.0f, .ema_decay = 0.999f,
                              .min_snr_gamma = 0.0f, .p_uncond = 0.15f};
  dm_adamw_options_default(&options->adamw);
  options->adamw.weight_decay = 0.0f;
  options->lr = (DmLrSchedule){.type = DM_LR_CONSTANT, .lr = 2e-4f,
                               .lr_min = 0.0f, .warmup_steps = 200,
                               .total_steps = 10000};
}

static bool check_train_options(const DmTrainOptions *o, GError **error) {
  if (!dm_adamw_options_check(&o->adamw, error) ||
      !dm_lr_schedule_check(&o->lr, error))
    return false;
  const char *problem =
      o->batch_size < 1 || o->batch_size > 4096 ? "batch size must be 1 .. 4096"
      : !(o->max_grad_norm >= 0.0f && isfinite(o->max_grad_norm))
          ? "the gradient-norm limit must be a number >= 0 (0 = off)"
      : !(o->ema_decay >= 0.0f && o->ema_decay < 1.0f)
          ? "the EMA decay must be in [0, 1)"
      : !(o->min_snr_gamma >= 0.0f && o->min_snr_gamma <= 1e6f)
          ? "min-SNR gamma must be in [0, 1e6] (0 = off)"
      : !(o->p_uncond >= 0.0f && o->p_uncond <= 1.0f)
          ? "the conditioning dropout probability must be in [0, 1]"
          : NULL;
  if (problem == NULL) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT, "%s", problem);
  return false;
}

struct DmTrainer {
  DmModel *model; /* borrowed: trained in place */
  DmTrainOptions options;
  DmSchedule *schedule;
  DmAdamWState *adam;
  float *grads;   /* (params) */
  float *ema;     /* (params), or NULL without EMA */
  int64_t skipped; /* steps whose gradient was not finite */
  char *notes;    /* the caller's JSON, kept in checkpoints; never NULL */
  /* per image size, made on the first step */
  DmUnetTape *tape;
  DmTensor *x_t;              /* (batch, in_channels, S, S): the input */
  DmTensor *out, *dout;       /* (batch, C, S, S) */
  float *noise;               /* (batch * C * S * S) */
  float *timesteps;           /* (batch) */
  float *keep_condition;      /* (batch): uniforms deciding the dropout */
};

DmTrainer *dm_trainer_new(DmModel *model, const DmTrainOptions *options,
                          GError **error) {
  if (!check_train_options(options, error)) return NULL;
  DmTrainer *trainer = g_new0(DmTrainer, 1);
  const size_t count = model->unet.params.total;
  trainer->model = model;
  trainer->options = *options;
  trainer->notes = g_strdup("{}");
  trainer->schedule = dm_schedule_new(&model->schedule, error);
  trainer->adam = trainer->schedule ? dm_adamw_state_new(count, error) : NULL;
  trainer->grads = malloc(count * sizeof(float));
  if (options->ema_decay > 0.0f) trainer->ema = malloc(count * sizeof(float));
  if (trainer->adam && trainer->grads &&
      (options->ema_decay == 0.0f || trainer->ema)) {
    if (trainer->ema)
      memcpy(trainer->ema, model->unet.params.data, count * sizeof(float));
    return trainer;
  }
  if (trainer->adam)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for the gradients of %zu parameters", count);
  dm_trainer_free(trainer);
  return NULL;
}

static void free_batch_buffers(DmTrainer *trainer) {
  dm_unet_tape_free(trainer->tape);
  dm_tensor_free(trainer->x_t);
  dm_tensor_free(trainer->out);
  dm_tensor_free(trainer->dout);
  free(trainer->noise);
  free(trainer->timesteps);
  free(trainer->keep_condition);
  trainer->tape = NULL, trainer->x_t = trainer->out = trainer->dout = NULL;
  trainer->noise = NULL, trainer->timesteps = NULL;
  trainer->keep_condition = NULL;
}

void dm_trainer_free(DmTrainer *trainer) {
  if (trainer == NULL) return;
  free_batch_buffers(trainer);
  dm_schedule_free(trainer->schedule);
  dm_adamw_state_free(trainer->adam);
  free(trainer->grads);
  free(trainer->ema);
  g_free(trainer->notes);
  g_free(trainer);
}

int64_t dm_trainer_step_count(const DmTrainer *trainer) {
  return trainer->adam->step + trainer->skipped;
}

int64_t dm_trainer_skipped_steps(const DmTrainer *trainer) {
  return trainer->skipped;
}

const char *dm_trainer_notes(const DmTrainer *trainer) {
  return trainer->notes;
}

void dm_trainer_set_notes(DmTrainer *trainer, const char *json) {
  g_free(trainer->notes);
  trainer->notes = g_strdup(json ? json : "{}");
}

/* Buffers for batches of size x size images, made when the size changes. */
static bool ensure_batch_buffers(DmTrainer *trainer, int32_t size,
                                 GError **error) {
  if (trainer->x_t && trainer->x_t->h == size) return true;
  free_batch_buffers(trainer);
  const int32_t n = trainer->options.batch_size;
  const DmUnetConfig *config = &trainer->model->unet.config;
  trainer->tape = dm_unet_tape_new(&trainer->model->unet, n, size, size, error);
  trainer->x_t = trainer->tape ? dm_tensor_new(n, config->in_channels, size,
                                               size, error) : NULL;
  trainer->out = trainer->x_t ? dm_tensor_new(n, config->out_channels, size,
                                              size, error) : NULL;
  trainer->dout = trainer->out ? dm_tensor_new(n, config->out_channels, size,
                                               size, error) : NULL;
  if (trainer->dout == NULL) {
    free_batch_buffers(trainer);
    return false;
  }
  trainer->noise = malloc(dm_tensor_numel(trainer->out) * sizeof(float));
  trainer->timesteps = malloc(sizeof(float) * (size_t)n);
  trainer->keep_condition = malloc(sizeof(float) * (size_t)n);
  if (trainer->noise && trainer->timesteps && trainer->keep_condition)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
              "out of memory for a batch of %d images of %dx%d", n, size, size);
  free_batch_buffers(trainer);
  return false;
}

/* Loss weight of a sample at alpha_bar: min-SNR-gamma (Hang et al. 2023,
 * eq. 9 and §3.4), SNR = ab / (1 - ab): min(SNR, gamma) / SNR for epsilon,
 * min(SNR, gamma) / (SNR + 1) for v, min(SNR, gamma) for x0; 1 when off or
 * for VE models (whose epsilon loss is already lambda(sigma) = sigma^2
 * weighted denoising score matching, Song & Ermon 2019 eq. 6). */
static float loss_weight(const DmTrainer *trainer, float alpha_bar) {
  const float gamma = trainer->options.min_snr_gamma;
  if (gamma == 0.0f || trainer->model->schedule.sde == DM_SDE_VE) return 1.0f;
  const float snr = alpha_bar / (1.0f - alpha_bar);
  const float clipped = fminf(snr, gamma);
  switch (trainer->model->schedule.prediction_type) {
  case DM_PREDICT_V: return clipped / (snr + 1.0f);
  case DM_PREDICT_SAMPLE: return clipped;
  default: return clipped / snr;
  }
}

/* A mask-conditioned model's input planes after x_t (dm.h,
 * DmConditioning) for clean image x0 (C, S, S): a random mask
 * (dm_mask_draw, mask number `index` of the run) and x0 * (1 - mask), or
 * with probability p_uncond the dropout mode, mask 1 and known image 0
 * (classifier-free guidance training, Ho & Salimans 2022, Alg. 1). */
static void condition_sample(const DmTrainer *trainer, float *planes,
                             const float *x0, int32_t size, int32_t channels,
                             uint64_t index, float keep) {
  const bool dropout = keep < trainer->options.p_uncond;
  if (!dropout) dm_mask_draw(planes, size, size, trainer->options.seed, index);
  dm_fill_condition(planes, dropout ? NULL : x0, channels,
                    (size_t)size * size);
}

/* Draws t and noise, makes x_t from the clean images; for VE models the
 * network's own variable x0 + sigma z (Song & Ermon 2019 §4.2), else
 * sqrt(ab) x0 + sqrt(1 - ab) z (Ho et al. 2020, eq. 4). A mask-conditioned
 * model's input also gets its conditioning planes; the uniforms that decide
 * their dropout follow the timesteps' in the same stream. */
static void noise_batch(DmTrainer *trainer, const float *images, int64_t step) {
  const int32_t n = trainer->options.batch_size;
  const int32_t T = trainer->schedule->num_train_timesteps;
  const int32_t size = trainer->x_t->h, channels = trainer->out->c;
  const size_t per_image = dm_tensor_numel(trainer->out) / n;
  const size_t input_per_image = dm_tensor_numel(trainer->x_t) / n;
  const uint64_t seed = trainer->options.seed;
  const uint64_t time_stream = DM_TRAIN_STREAM | (uint64_t)(2 * step);
  const bool conditioned =
      dm_model_conditioning(trainer->model) == DM_CONDITIONING_MASK;
  dm_rng_uniform_fill(trainer->timesteps, n, 0.0f, (float)T, seed,
                      time_stream, 0);
  if (conditioned)
    dm_rng_uniform_fill(trainer->keep_condition, n, 0.0f, 1.0f, seed,
                        time_stream, (uint64_t)n);
  dm_rng_normal_fill(trainer->noise, n * per_image, seed,
                     DM_TRAIN_STREAM | (uint64_t)(2 * step + 1), 0);
  const bool ve = trainer->model->schedule.sde == DM_SDE_VE;
  for (int32_t i = 0; i < n; i++) {
    const int32_t t = MIN((int32_t)trainer->timesteps[i], T - 1);
    trainer->timesteps[i] = (float)t;
    const float alpha_bar = trainer->schedule->alphas_cumprod[t];
    const float *x0 = images + i * per_image, *z = trainer->noise + i * per_image;
    float *x = trainer->x_t->data + i * input_per_image;
    if (conditioned)
      condition_sample(trainer, x + per_image, x0, size, channels,
                       (uint64_t)step * n + i, trainer->keep_condition[i]);
    if (!ve) {
      dm_add_noise(x, x0, z, per_image, alpha_bar);
      continue;
    }
    const float sigma = sqrtf(1.0f / alpha_bar - 1.0f);
    for (size_t j = 0; j < per_image; j++) x[j] = x0[j] + sigma * z[j];
  }
}

/* The mean weighted squared error of the network's output against what it
 * should predict (epsilon = z; v = sqrt(ab) z - sqrt(1 - ab) x0, Salimans &
 * Ho 2022; x0), and dout = its gradient. */
static double loss_and_gradient(DmTrainer *trainer, const float *images) {
  const int32_t n = trainer->options.batch_size;
  const size_t per_image = dm_tensor_numel(trainer->out) / n;
  const double scale = 1.0 / ((double)n * per_image);
  const DmPrediction prediction = trainer->model->schedule.prediction_type;
  double loss = 0.0;
  for (int32_t i = 0; i < n; i++) {
    const float alpha_bar =
        trainer->schedule->alphas_cumprod[(int32_t)trainer->timesteps[i]];
    const float a = sqrtf(alpha_bar), b = sqrtf(1.0f - alpha_bar);
    const float weight = loss_weight(trainer, alpha_bar);
    const float *x0 = images + i * per_image, *z = trainer->noise + i * per_image;
    const float *out = trainer->out->data + i * per_image;
    float *dout = trainer->dout->data + i * per_image;
    double sum = 0.0;
    for (size_t j = 0; j < per_image; j++) {
      const float target = prediction == DM_PREDICT_V ? a * z[j] - b * x0[j]
                           : prediction == DM_PREDICT_SAMPLE ? x0[j] : z[j];
      const float diff = out[j] - target;
      sum += (double)diff * diff;
      dout[j] = (float)(2.0 * scale * weight * diff);
    }
    loss += weight * sum * scale;
  }
  return loss;
}

/* Clips, then AdamW and EMA; a non-finite gradient skips the update. */
static void apply_update(DmTrainer *trainer) {
  const size_t count = trainer->model->unet.params.total;
  const DmTrainOptions *o = &trainer->options;
  if (!dm_clip_grad_norm(trainer->grads, count, o->max_grad_norm, NULL)) {
    trainer->skipped++;
    return;
  }
  const float lr = dm_lr_at(&o->lr, trainer->adam->step);
  dm_adamw_step(trainer->adam, trainer->model->unet.params.data,
                trainer->grads, lr, &o->adamw);
  if (trainer->ema)
    dm_ema_update(trainer->ema, trainer->model->unet.params.data, count,
                  dm_ema_decay(o->ema_decay, trainer->adam->step));
}

static bool check_size(const DmTrainer *trainer, int32_t size,
                       GError **error) {
  if (size >= 1 && size % dm_model_size_multiple(trainer->model) == 0)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "training size %d is not a multiple of %d", size,
              dm_model_size_multiple(trainer->model));
  return false;
}

/* Bytes the recording forward of one image of size x size saves. */
static bool tape_bytes(DmTrainer *trainer, int32_t size, size_t *bytes,
                       GError **error) {
  DmUnet *unet = &trainer->model->unet;
  DmUnetTape *tape = dm_unet_tape_new(unet, 1, size, size, error);
  DmTensor *x = tape ? dm_tensor_new(1, unet->config.in_channels, size, size,
                                     error) : NULL;
  DmTensor *out = x ? dm_tensor_new(1, unet->config.out_channels, size, size,
                                    error) : NULL;
  const float timestep = 0.0f;
  const bool ok = out && dm_unet_forward_train(unet, tape, out, x, &timestep,
                                               error);
  if (ok) *bytes = dm_unet_tape_bytes(tape);
  dm_tensor_free(out);
  dm_tensor_free(x);
  dm_unet_tape_free(tape);
  return ok;
}

bool dm_trainer_memory_bound(DmTrainer *trainer, int32_t size, double *bytes,
                             GError **error) {
  const int32_t multiple = dm_model_size_multiple(trainer->model);
  size_t recorded = 0;
  if (!check_size(trainer, size, error) ||
      !tape_bytes(trainer, multiple, &recorded, error))
    return false;
  const DmUnetConfig *config = &trainer->model->unet.config;
  const double images = trainer->options.batch_size;
  const double area = (double)size * size;
  const double copies = 4 + (trainer->ema != NULL); /* weights, grads, m, v */
  *bytes = sizeof(float) * (copies * trainer->model->unet.params.total +
                            images * area * (config->in_channels +
                                             3.0 * config->out_channels)) +
           recorded * images * (area / ((double)multiple * multiple));
  return true;
}

bool dm_trainer_step(DmTrainer *trainer, const float *images, int32_t size,
                     float *loss, GError **error) {
  if (!check_size(trainer, size, error) ||
      !ensure_batch_buffers(trainer, size, error))
    return false;
  const int64_t step = dm_trainer_step_count(trainer);
  noise_batch(trainer, images, step);
  if (!dm_unet_forward_train(&trainer->model->unet, trainer->tape, trainer->out,
                             trainer->x_t, trainer->timesteps, error))
    return false;
  const double batch_loss = loss_and_gradient(trainer, images);
  memset(trainer->grads, 0, trainer->model->unet.params.total * sizeof(float));
  if (!dm_unet_backward(&trainer->model->unet, trainer->tape, trainer->grads, NULL,
                        trainer->dout, error))
    return false;
  apply_update(trainer);
  if (loss) *loss = (float)batch_loss;
  return true;
}

DmModel *dm_trainer_export(const DmTrainer *trainer, bool ema, GError **error) {
  DmModel *copy = dm_model_new_empty(&trainer->model->unet.config,
                                     &trainer->model->schedule, error);
  if (copy == NULL) return NULL;
  const float *weights = ema && trainer->ema ? trainer->ema
                                             : trainer->model->unet.params.data;
  memcpy(copy->unet.params.data, weights,
         copy->unet.params.total * sizeof(float));
  dm_model_set_card(copy, trainer->model->card);
  return copy;
}

/* ---- checkpoints --------------------------------------------------------- */

/* The options as the JSON stored under DM_CHECKPOINT_KEY. */
static char *options_to_json(const DmTrainOptions *o) {
  return g_strdup_printf(
      "{\"batch_size\": %d, \"seed\": %" G_GUINT64_FORMAT ", "
      "\"beta1\": %.9g, \"beta2\": %.9g, \"eps\": %.9g, "
      "\"weight_decay\": %.9g, \"lr_schedule\": \"%s\", \"lr\": %.9g, "
      "\"lr_min\": %.9g, \"warmup_steps\": %" G_GINT64_FORMAT ", "
      "\"total_steps\": %" G_GINT64_FORMAT ", \"max_grad_norm\": %.9g, "
      "\"ema_decay\": %.9g, \"min_snr_gamma\": %.9g, \"p_uncond\": %.9g}",
      o->batch_size, o->seed, o->adamw.beta1, o->adamw.beta2, o->adamw.eps,
      o->adamw.weight_decay, dm_lr_schedule_name(o->lr.type), o->lr.lr,
      o->lr.lr_min, o->lr.warmup_steps, o->lr.total_steps, o->max_grad_norm,
      o->ema_decay, o->min_snr_gamma, o->p_uncond);
}

bool dm_trainer_save(const DmTrainer *trainer, const char *path,
                     GError **error) {
  char *config_text, *schedule_text;
  if (!dm_model_config_texts(trainer->model, &config_text, &schedule_text,
                             error))
    return false;
  char *options = options_to_json(&trainer->options);
  char *adam_step = g_strdup_printf("%" G_GINT64_FORMAT, trainer->adam->step);
  char *skipped = g_strdup_printf("%" G_GINT64_FORMAT, trainer->skipped);
  const char *metadata[] = {"format", "pt",
                            "dm.config", config_text,
                            "dm.scheduler_config", schedule_text,
                            DM_CHECKPOINT_KEY, options,
                            "dm.adam_step", adam_step,
                            "dm.skipped_steps", skipped,
                            "dm.train_notes", trainer->notes,
                            NULL};
  const char *prefixes[] = {"adam_m", "adam_v", "ema"};
  const float *extras[] = {trainer->adam->m, trainer->adam->v, trainer->ema};
  const bool ok = dm_model_write_with_extras(trainer->model, path, prefixes,
                                             extras, trainer->ema ? 3 : 2,
                                             metadata, error);
  g_free(config_text);
  g_free(schedule_text);
  g_free(options);
  g_free(adam_step);
  g_free(skipped);
  return ok;
}

/* Reads a number member of the options object into *out. */
static bool read_number(JsonObject *object, const char *key, double *out,
                        GError **error) {
  JsonNode *node = json_object_get_member(object, key);
  if (node == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "checkpoint: training option '%s' is missing", key);
    return false;
  }
  return dm_json_to_double(node, "checkpoint", key, out, error);
}

static bool options_from_json(DmTrainOptions *o, const char *json,
                              GError **error) {
  JsonParser *parser = dm_json_parse_object(json, -1, "checkpoint options",
                                            error);
  if (parser == NULL) return false;
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  double v[13];
  static const char *const keys[13] = {
      "batch_size", "seed", "beta1", "beta2", "eps", "weight_decay", "lr",
      "lr_min", "warmup_steps", "total_steps", "max_grad_norm", "ema_decay",
      "min_snr_gamma"};
  bool ok = true;
  for (int i = 0; ok && i < 13; i++) ok = read_number(object, keys[i], &v[i], error);
  const char *schedule = json_object_get_string_member_with_default(
      object, "lr_schedule", "");
  dm_train_options_default(o);
  if (ok && !dm_lr_schedule_from_name(schedule, &o->lr.type)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "checkpoint: unknown learning-rate schedule '%s'", schedule);
    ok = false;
  }
  if (ok) {
    /* the seed is written as an integer; doubles hold it exactly to 2^53 */
    JsonNode *seed = json_object_get_member(object, "seed");
    o->batch_size = (int32_t)v[0];
    o->seed = (uint64_t)json_node_get_int(seed);
    o->adamw = (DmAdamWOptions){(float)v[2], (float)v[3], (float)v[4],
                                (float)v[5]};
    o->lr.lr = (float)v[6], o->lr.lr_min = (float)v[7];
    o->lr.warmup_steps = (int64_t)v[8], o->lr.total_steps = (int64_t)v[9];
    o->max_grad_norm = (float)v[10], o->ema_decay = (float)v[11];
    o->min_snr_gamma = (float)v[12];
    /* absent from checkpoints of unconditional runs before it existed */
    o->p_uncond = (float)json_object_get_double_member_with_default(
        object, "p_uncond", o->p_uncond);
    ok = check_train_options(o, error);
  }
  g_object_unref(parser);
  return ok;
}

/* Copies the array stored under "<prefix>/<name>" for every parameter. */
static bool read_extra(const DmSafetensors *st, const DmParams *params,
                       const char *prefix, float *out, GError **error) {
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    char *name = g_strdup_printf("%s/%s", prefix, info->name);
    const DmStEntry *entry = dm_safetensors_find(st, name);
    const bool ok = entry && entry->numel == info->numel;
    if (ok) dm_safetensors_read_f32(entry, out + info->offset);
    else
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "checkpoint: tensor '%s' is missing or mis-shaped", name);
    g_free(name);
    if (!ok) return false;
  }
  return true;
}

/* Parses a step count stored as decimal text. */
static bool read_count(const DmSafetensors *st, const char *key, int64_t *out,
                       GError **error) {
  const char *text = dm_safetensors_metadata(st, key);
  gint64 value = 0;
  if (text && g_ascii_string_to_signed(text, 10, 0, G_MAXINT64, &value, NULL)) {
    *out = value;
    return true;
  }
  g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
              "checkpoint: '%s' is missing or not a count", key);
  return false;
}

static DmTrainer *trainer_from_checkpoint(const DmSafetensors *st,
                                          DmModel *model, GError **error) {
  DmTrainOptions options;
  if (!options_from_json(&options,
                         dm_safetensors_metadata(st, DM_CHECKPOINT_KEY), error))
    return NULL;
  DmTrainer *trainer = dm_trainer_new(model, &options, error);
  const bool ok =
      trainer && read_count(st, "dm.adam_step", &trainer->adam->step, error) &&
      read_count(st, "dm.skipped_steps", &trainer->skipped, error) &&
      read_extra(st, &model->unet.params, "adam_m", trainer->adam->m, error) &&
      read_extra(st, &model->unet.params, "adam_v", trainer->adam->v, error) &&
      (!trainer->ema ||
       read_extra(st, &model->unet.params, "ema", trainer->ema, error));
  if (!ok) {
    dm_trainer_free(trainer);
    return NULL;
  }
  const char *notes = dm_safetensors_metadata(st, "dm.train_notes");
  dm_trainer_set_notes(trainer, notes);
  return trainer;
}

DmTrainer *dm_trainer_load(const char *path, DmModel **model, GError **error) {
  DmSafetensors *st = dm_safetensors_open(path, error);
  if (st == NULL) return NULL;
  DmTrainer *trainer = NULL;
  *model = NULL;
  if (dm_safetensors_metadata(st, DM_CHECKPOINT_KEY) == NULL)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "'%s' is not a training checkpoint (no \"%s\" metadata)",
                path, DM_CHECKPOINT_KEY);
  else if ((*model = dm_model_from_safetensors(st, path, error)))
    trainer = trainer_from_checkpoint(st, *model, error);
  if (trainer == NULL) g_clear_pointer(model, dm_model_free);
  dm_safetensors_free(st);
  return trainer;
}
