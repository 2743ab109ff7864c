/* gimp-diffusion core: transformers' CLIPTextModel, the text encoder of
 * Stable Diffusion 1.x (OpenAI CLIP ViT-L/14) and 2.x (OpenCLIP ViT-H/14,
 * as diffusers stores it: its first 23 of 24 layers) (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The network (Radford et al. 2021, sec. 2.4; the GPT-2 layout of Radford
 * et al. 2019): token plus position embeddings; per layer, pre-norm
 * causal self-attention and a two-layer MLP, each added to the residual
 * stream:
 *   h = h + out_proj(MHA(q_proj(LN1 h), k_proj(LN1 h), v_proj(LN1 h)))
 *   h = h + fc2(act(fc1(LN2 h)))
 * with act quick_gelu or gelu; then final_layer_norm. Parameters carry
 * transformers' state-dict names ("text_model.embeddings.token_embedding
 * .weight", "text_model.encoder.layers.N.self_attn.q_proj.weight", ...,
 * "text_model.final_layer_norm.bias") and live in a DmWeights, in the
 * file's precision; arithmetic is float32. */
#ifndef DM_NETWORK_CLIP_TEXT_H
#define DM_NETWORK_CLIP_TEXT_H

#include "network/params.h"

/* Bounds on a config (a text encoder from a file is untrusted). */
#define DM_CLIP_TEXT_MAX_WIDTH 16384     /* hidden_size, intermediate_size */
#define DM_CLIP_TEXT_MAX_LAYERS 256
#define DM_CLIP_TEXT_MAX_VOCAB 1048576
#define DM_CLIP_TEXT_MAX_POSITIONS 4096

typedef enum {
  DM_CLIP_ACT_QUICK_GELU, /* x sigmoid(1.702 x): OpenAI CLIP */
  DM_CLIP_ACT_GELU,       /* exact GELU: OpenCLIP */
  DM_CLIP_ACT_COUNT
} DmClipActivation;

/* The fields of transformers' CLIPTextConfig that the network uses. */
typedef struct {
  int32_t vocab_size;
  int32_t hidden_size;
  int32_t intermediate_size;
  int32_t num_hidden_layers;
  int32_t num_attention_heads;
  int32_t max_position_embeddings;
  DmClipActivation hidden_act;
  float layer_norm_eps;
} DmClipTextConfig;

/* transformers' CLIPTextConfig defaults (512 wide, 12 layers, 8 heads,
 * 2048, 77 positions, quick_gelu, 1e-5, 49408 tokens). */
void dm_clip_text_config_default(DmClipTextConfig *config);

/* Indices into the weights' table of one encoder layer's weights (each
 * bias follows its weight). */
typedef struct {
  int32_t layer_norm1, q_proj, k_proj, v_proj, out_proj;
  int32_t layer_norm2, fc1, fc2;
} DmClipTextLayer;

typedef struct {
  DmClipTextConfig config;
  DmWeights weights;
  int32_t token_embedding, position_embedding, final_layer_norm;
  DmClipTextLayer *layers; /* (num_hidden_layers), owned */
} DmClipText;

/* Builds only the parameter table of `config` (validated here: sizes
 * within the bounds above, heads dividing hidden_size): what a loader
 * checks a file against before it allocates anything. */
bool dm_clip_text_params_describe(DmParams *params,
                                  const DmClipTextConfig *config,
                                  GError **error);

/* A network for `config` whose weights' table is built and whose data is
 * NULL: fill it with dm_weights_alloc() and values, dm_weights_read()
 * from a file, or dm_clip_text_init_random(). Clear with
 * dm_clip_text_clear(). */
bool dm_clip_text_init(DmClipText *model, const DmClipTextConfig *config,
                       GError **error);
/* The same with the weights allocated in `dtype` and filled by
 * dm_weights_fill_random(seed): tests and benchmarks. */
bool dm_clip_text_init_random(DmClipText *model,
                              const DmClipTextConfig *config, DmDtype dtype,
                              uint64_t seed, GError **error);
void dm_clip_text_clear(DmClipText *model);

/* out (N, L, hidden_size) = the hidden state of ids (N, L) after the first
 * num_hidden_layers - skip layers, through final_layer_norm: with skip 0
 * transformers' last_hidden_state, what Stable Diffusion's pipelines use;
 * diffusers' clip_skip k is skip k. 1 <= L <= max_position_embeddings
 * (ids padded by the tokenizer: 77); the causal mask lets token i see
 * tokens 0..i only. DM_ERROR_INVALID_ARGUMENT naming an id outside the
 * vocabulary or a bad length or skip; DM_ERROR_NO_MEMORY for the scratch
 * (about (6 hidden + intermediate) N L floats, and the largest layer
 * tensor when the weights are not F32). */
bool dm_clip_text_forward(const DmClipText *model, float *out,
                          const int32_t *ids, int32_t n, int32_t length,
                          int32_t skip, GError **error);

#endif /* DM_NETWORK_CLIP_TEXT_H */
