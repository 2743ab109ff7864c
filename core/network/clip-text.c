/* gimp-diffusion core: transformers' CLIPTextModel (clip-text.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "network/clip-text.h"
#include "tensor/layers.h"

void dm_clip_text_config_default(DmClipTextConfig *config) {
  *config = (DmClipTextConfig){.vocab_size = 49408,
                               .hidden_size = 512,
                               .intermediate_size = 2048,
                               .num_hidden_layers = 12,
                               .num_attention_heads = 8,
                               .max_position_embeddings = 77,
                               .hidden_act = DM_CLIP_ACT_QUICK_GELU,
                               .layer_norm_eps = 1e-5f};
}

/* ---- parameter table ----------------------------------------------------- */

/* The first inconsistency of a config, recorded in the builder. */
static void check_config(DmParamsBuilder *b, const DmClipTextConfig *c) {
  const struct {
    const char *field;
    int32_t value, max;
  } sizes[] = {{"vocab_size", c->vocab_size, DM_CLIP_TEXT_MAX_VOCAB},
               {"hidden_size", c->hidden_size, DM_CLIP_TEXT_MAX_WIDTH},
               {"intermediate_size", c->intermediate_size,
                DM_CLIP_TEXT_MAX_WIDTH},
               {"num_hidden_layers", c->num_hidden_layers,
                DM_CLIP_TEXT_MAX_LAYERS},
               {"num_attention_heads", c->num_attention_heads,
                DM_CLIP_TEXT_MAX_WIDTH},
               {"max_position_embeddings", c->max_position_embeddings,
                DM_CLIP_TEXT_MAX_POSITIONS}};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    if (sizes[i].value < 1 || sizes[i].value > sizes[i].max)
      dm_params_builder_fail(b, "text encoder: %s = %d is outside [1, %d]",
                             sizes[i].field, sizes[i].value, sizes[i].max);
  if (c->hidden_size % MAX(c->num_attention_heads, 1) != 0)
    dm_params_builder_fail(b, "text encoder: hidden_size = %d is not "
                           "divisible into num_attention_heads = %d",
                           c->hidden_size, c->num_attention_heads);
  if (!(c->layer_norm_eps > 0.0f && isfinite(c->layer_norm_eps)))
    dm_params_builder_fail(b, "text encoder: layer_norm_eps = %g is not a "
                           "positive number", (double)c->layer_norm_eps);
  if ((int)c->hidden_act < 0 || c->hidden_act >= DM_CLIP_ACT_COUNT)
    dm_params_builder_fail(b, "text encoder: unknown hidden_act %d",
                           (int)c->hidden_act);
}

/* Adds "<prefix>.<part>.weight" and ".bias" (a norm when out == 0);
 * returns the weight's index in the table. */
static int32_t add_pair(DmParamsBuilder *b, const char *prefix,
                        const char *part, int32_t out, int32_t in) {
  const int32_t index = (int32_t)b->infos->len;
  char *name = g_strdup_printf("%s.%s", prefix, part);
  if (out == 0)
    dm_params_add_norm(b, name, in, 1);
  else
    dm_params_add_linear(b, name, out, in);
  g_free(name);
  return index;
}

/* One CLIPEncoderLayer, in transformers' module order. */
static DmClipTextLayer add_layer(DmParamsBuilder *b, int32_t index,
                                 const DmClipTextConfig *c) {
  const int32_t width = c->hidden_size, inner = c->intermediate_size;
  char *prefix = g_strdup_printf("text_model.encoder.layers.%d", index);
  DmClipTextLayer layer;
  layer.k_proj = add_pair(b, prefix, "self_attn.k_proj", width, width);
  layer.v_proj = add_pair(b, prefix, "self_attn.v_proj", width, width);
  layer.q_proj = add_pair(b, prefix, "self_attn.q_proj", width, width);
  layer.out_proj = add_pair(b, prefix, "self_attn.out_proj", width, width);
  layer.layer_norm1 = add_pair(b, prefix, "layer_norm1", 0, width);
  layer.fc1 = add_pair(b, prefix, "mlp.fc1", inner, width);
  layer.fc2 = add_pair(b, prefix, "mlp.fc2", width, inner);
  layer.layer_norm2 = add_pair(b, prefix, "layer_norm2", 0, width);
  g_free(prefix);
  return layer;
}

/* The table of `config`, and the layout when `model` is not NULL. */
static bool build_table(DmParams *params, DmClipText *model,
                        const DmClipTextConfig *c, GError **error) {
  DmParamsBuilder b;
  dm_params_builder_init(&b);
  check_config(&b, c);
  if (b.error != NULL) return dm_params_builder_finish(&b, params, error);
  const int64_t tokens[2] = {c->vocab_size, c->hidden_size};
  const int64_t positions[2] = {c->max_position_embeddings, c->hidden_size};
  const int32_t token_embedding = (int32_t)b.infos->len;
  dm_params_add(&b, 2, tokens, "text_model.embeddings.token_embedding.weight");
  dm_params_add(&b, 2, positions,
                "text_model.embeddings.position_embedding.weight");
  DmClipTextLayer *layers = g_new(DmClipTextLayer, c->num_hidden_layers);
  for (int32_t i = 0; i < c->num_hidden_layers; i++)
    layers[i] = add_layer(&b, i, c);
  const int32_t final_norm = add_pair(&b, "text_model", "final_layer_norm", 0,
                                      c->hidden_size);
  if (!dm_params_builder_finish(&b, params, error) || model == NULL) {
    g_free(layers);
    return params->count > 0;
  }
  model->token_embedding = token_embedding;
  model->position_embedding = token_embedding + 1;
  model->final_layer_norm = final_norm;
  model->layers = layers;
  return true;
}

bool dm_clip_text_params_describe(DmParams *params,
                                  const DmClipTextConfig *config,
                                  GError **error) {
  return build_table(params, NULL, config, error);
}

bool dm_clip_text_init(DmClipText *model, const DmClipTextConfig *config,
                       GError **error) {
  memset(model, 0, sizeof *model);
  model->config = *config;
  return build_table(&model->weights.table, model, config, error);
}

bool dm_clip_text_init_random(DmClipText *model,
                              const DmClipTextConfig *config, DmDtype dtype,
                              uint64_t seed, GError **error) {
  if (!dm_clip_text_init(model, config, error)) return false;
  if (!dm_weights_alloc(&model->weights, dtype, error)) {
    dm_clip_text_clear(model);
    return false;
  }
  dm_weights_fill_random(&model->weights, seed);
  return true;
}

void dm_clip_text_clear(DmClipText *model) {
  dm_weights_clear(&model->weights);
  g_free(model->layers);
  memset(model, 0, sizeof *model);
}

/* ---- forward ------------------------------------------------------------- */

/* The activations of one forward: rows = N L tokens. */
typedef struct {
  float *hidden, *normed, *q, *k, *v, *context; /* (rows, hidden) */
  float *inner;                                 /* (rows, intermediate) */
  float *scratch; /* a layer tensor and its bias as float32; NULL for F32
                     weights */
  size_t rows;
} ClipWork;

/* A weight and its bias as float32. */
typedef struct {
  const float *weight, *bias;
} ClipPair;

/* Entry `index` of the table and the one after it (its bias), converted
 * into the work's scratch when the weights are not F32. */
static ClipPair pair_f32(const DmClipText *model, const ClipWork *w,
                         int32_t index) {
  const DmParamInfo *info = &model->weights.table.info[index];
  float *bias_scratch = w->scratch ? w->scratch + info->numel : NULL;
  return (ClipPair){dm_weights_f32(&model->weights, info, w->scratch),
                    dm_weights_f32(&model->weights, info + 1, bias_scratch)};
}

/* out (rows, out_features) = in (rows, in_features) W^T + b, W the
 * linear at `index`. */
static void linear(const DmClipText *model, const ClipWork *w, int32_t index,
                   float *out, const float *in) {
  const DmParamInfo *info = &model->weights.table.info[index];
  const ClipPair p = pair_f32(model, w, index);
  dm_linear_forward(out, in, p.weight, p.bias, (int32_t)w->rows,
                    (int32_t)info->shape[1], (int32_t)info->shape[0]);
}

/* out (rows, hidden) = the LayerNorm at `index` of in. */
static void layer_norm(const DmClipText *model, const ClipWork *w,
                       int32_t index, float *out, const float *in) {
  const ClipPair p = pair_f32(model, w, index);
  dm_layernorm_forward(out, in, p.weight, p.bias, w->rows,
                       model->config.hidden_size,
                       model->config.layer_norm_eps);
}

/* One CLIPEncoderLayer on w->hidden (N, L, hidden), in place. */
static bool encoder_layer(const DmClipText *model, const ClipWork *w,
                          const DmClipTextLayer *layer, int32_t n,
                          int32_t length) {
  const DmClipTextConfig *c = &model->config;
  const size_t count = w->rows * (size_t)c->hidden_size;
  layer_norm(model, w, layer->layer_norm1, w->normed, w->hidden);
  linear(model, w, layer->q_proj, w->q, w->normed);
  linear(model, w, layer->k_proj, w->k, w->normed);
  linear(model, w, layer->v_proj, w->v, w->normed);
  if (!dm_multihead_attention_forward(w->context, w->q, w->k, w->v, n,
                                      (size_t)length, (size_t)length,
                                      c->hidden_size, c->num_attention_heads,
                                      true))
    return false;
  linear(model, w, layer->out_proj, w->q, w->context);
  dm_add_forward(w->hidden, w->q, count);
  layer_norm(model, w, layer->layer_norm2, w->normed, w->hidden);
  linear(model, w, layer->fc1, w->inner, w->normed);
  const size_t inner = w->rows * (size_t)c->intermediate_size;
  if (c->hidden_act == DM_CLIP_ACT_GELU)
    dm_gelu_forward(w->inner, w->inner, inner);
  else
    dm_quick_gelu_forward(w->inner, w->inner, inner);
  linear(model, w, layer->fc2, w->normed, w->inner);
  dm_add_forward(w->hidden, w->normed, count);
  return true;
}

/* The largest tensor of the encoder layers: the scratch a weight needs
 * (its bias, at most max(hidden, intermediate), goes after it). */
static size_t largest_layer_tensor(const DmClipText *model) {
  size_t largest = 0;
  for (int32_t i = model->position_embedding + 1;
       i < model->weights.table.count; i++)
    largest = MAX(largest, model->weights.table.info[i].numel);
  return largest;
}

static bool work_alloc(ClipWork *w, const DmClipText *model, size_t rows) {
  const size_t width = (size_t)model->config.hidden_size;
  const size_t inner = (size_t)model->config.intermediate_size;
  const bool convert = model->weights.dtype != DM_DTYPE_F32;
  size_t total = 0;
  const size_t scratch =
      convert ? largest_layer_tensor(model) + MAX(width, inner) : 0;
  if (!dm_mul_size(rows, 6 * width + inner, &total) ||
      total > SIZE_MAX / sizeof(float) - scratch)
    return false;
  w->rows = rows;
  w->hidden = malloc((total + scratch) * sizeof(float));
  if (!w->hidden) return false;
  float **planes[] = {&w->normed, &w->q, &w->k, &w->v, &w->context};
  for (size_t i = 0; i < G_N_ELEMENTS(planes); i++)
    *planes[i] = w->hidden + (i + 1) * rows * width;
  w->inner = w->hidden + 6 * rows * width;
  w->scratch = convert ? w->hidden + total : NULL;
  return true;
}

/* Fails naming the first id outside the vocabulary. */
static bool check_ids(const int32_t *ids, size_t count, int32_t vocab_size,
                      GError **error) {
  for (size_t i = 0; i < count; i++)
    if (ids[i] < 0 || ids[i] >= vocab_size) {
      g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                  "text encoder: token id %d at position %zu is outside the "
                  "vocabulary of %d tokens", ids[i], i, vocab_size);
      return false;
    }
  return true;
}

/* hidden (N, L, hidden) = token_embedding[ids] + position_embedding[0..L). */
static void embed(const DmClipText *model, float *hidden, const int32_t *ids,
                  int32_t n, int32_t length) {
  const DmClipTextConfig *c = &model->config;
  const DmParamInfo *tokens =
      &model->weights.table.info[model->token_embedding];
  const DmParamInfo *positions =
      &model->weights.table.info[model->position_embedding];
  int32_t *steps = g_new(int32_t, length);
  for (int32_t i = 0; i < length; i++) steps[i] = i;
  dm_embedding_forward(hidden, ids, (size_t)n * length,
                       dm_weights_data(&model->weights, tokens),
                       model->weights.dtype, c->vocab_size, c->hidden_size,
                       false);
  for (int32_t i = 0; i < n; i++)
    dm_embedding_forward(hidden + (size_t)i * length * c->hidden_size, steps,
                         (size_t)length,
                         dm_weights_data(&model->weights, positions),
                         model->weights.dtype, c->max_position_embeddings,
                         c->hidden_size, true);
  g_free(steps);
}

bool dm_clip_text_forward(const DmClipText *model, float *out,
                          const int32_t *ids, int32_t n, int32_t length,
                          int32_t skip, GError **error) {
  const DmClipTextConfig *c = &model->config;
  if (n < 1 || length < 1 || length > c->max_position_embeddings || skip < 0 ||
      skip >= c->num_hidden_layers) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "text encoder: %d sequences of %d tokens, skipping %d layers "
                "(at most %d tokens, fewer than %d layers)", n, length, skip,
                c->max_position_embeddings, c->num_hidden_layers);
    return false;
  }
  const size_t rows = (size_t)n * length;
  if (!check_ids(ids, rows, c->vocab_size, error)) return false;
  ClipWork w;
  if (!work_alloc(&w, model, rows)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "text encoder: out of memory for %zu tokens", rows);
    return false;
  }
  embed(model, w.hidden, ids, n, length);
  bool ok = true;
  for (int32_t i = 0; ok && i < c->num_hidden_layers - skip; i++)
    ok = encoder_layer(model, &w, &model->layers[i], n, length);
  if (ok) layer_norm(model, &w, model->final_layer_norm, out, w.hidden);
  else
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "text encoder: out of memory for the attention scores");
  free(w.hidden);
  return ok;
}
