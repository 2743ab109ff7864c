/* gimp-diffusion core: UNet2DConditionModel's forward pass (unet-cond.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Images are (N, C, H, W) planes for the convolutions and group norms, and
 * (N, H W, C) token rows inside a transformer. Weights not stored in F32
 * are converted layer by layer into one scratch buffer, so a half-precision
 * network never exists whole in float32. Activations are freed as soon as
 * they are dead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "network/unet-cond.h"
#include "network/unet-train.h"
#include "tensor/layers.h"

/* The GroupNorm before a transformer and the LayerNorms inside it
 * (Transformer2DModel's fixed eps, and BasicTransformerBlock's default). */
#define TRANSFORMER_GROUP_EPS 1e-6f
#define LAYER_NORM_EPS 1e-5f
/* Floats of a feed-forward's chunk of rows: (rows, 8 C) and (rows, 4 C). */
#define FF_CHUNK_FLOATS ((size_t)1 << 22)

/* What one forward pass holds. */
typedef struct {
  const DmUnetCond *model;
  int32_t n;               /* images */
  const float *text;       /* (N, L, cross_attention_dim) */
  int32_t text_length;     /* L */
  float *temb_silu;        /* (N, time_embedding_dim): SiLU of the time
                              embedding, every resnet's input */
  float *scratch;          /* float32 copies of a step's weights; NULL when
                              they are stored in F32 */
  GError **error;
} Forward;

/* An activation and its shape. */
typedef struct {
  float *data; /* (N, c, h, w), owned */
  int32_t c, h, w;
} Planes;

static const DmParamInfo *tensor_info(const Forward *f, int32_t index) {
  return &f->model->weights.table.info[index];
}

/* Tensor `index` as float32: the storage itself, or converted into the
 * scratch at *used, which then moves past it. */
static const float *load(const Forward *f, int32_t index, size_t *used) {
  const DmParamInfo *info = tensor_info(f, index);
  float *at = f->scratch ? f->scratch + *used : NULL;
  *used += info->numel;
  return dm_weights_f32(&f->model->weights, info, at);
}

/* The most floats one step converts at once: a layer's weight and bias, or
 * a feed-forward's two linears with theirs, at most four consecutive
 * tensors of the table. */
static size_t scratch_floats(const DmWeights *weights) {
  const DmParams *table = &weights->table;
  size_t most = 0;
  for (int32_t i = 0; i < table->count; i++) {
    size_t window = 0;
    for (int32_t j = i; j < MIN(i + 4, table->count); j++)
      window += table->info[j].numel;
    most = MAX(most, window);
  }
  return most;
}

static bool out_of_memory(const Forward *f, const char *what) {
  if (f->error && *f->error == NULL)
    g_set_error(f->error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "unet: out of memory for %s", what);
  return false;
}

static float *planes_new(const Forward *f, int32_t c, int32_t h, int32_t w) {
  return dm_activation_new(f->n, c, h, w, false, f->error);
}

/* ---- layers on planes ---------------------------------------------------- */

/* out (N, C_out, H / stride, W / stride) = the conv at `index` (k x k,
 * padding k / 2, or pad_top for the downsampler) of in (N, c_in, h, w), or
 * += when `accumulate`. */
static bool conv(const Forward *f, int32_t index, float *out, const float *in,
                 int32_t c_in, int32_t h, int32_t w, int32_t stride,
                 int32_t pad_top, bool accumulate) {
  const DmParamInfo *info = tensor_info(f, index);
  size_t used = 0;
  const float *weight = load(f, index, &used);
  const float *bias = load(f, index + 1, &used);
  const int32_t kernel = (int32_t)info->shape[2];
  const DmConvShape shape =
      dm_unet_conv_shape(f->n, c_in, h, w, (int32_t)info->shape[0], kernel,
                         stride, kernel == 1 ? 0 : pad_top);
  return dm_conv2d_forward(out, in, weight, bias, &shape, accumulate) ||
         out_of_memory(f, info->name);
}

/* out (N, c, hw) = the GroupNorm at `index` of in (may be `out`), then
 * SiLU when `with_silu`. */
static void group_norm(const Forward *f, int32_t index, float *out,
                       const float *in, int32_t c, size_t hw, float eps,
                       bool with_silu) {
  size_t used = 0;
  const float *weight = load(f, index, &used);
  const float *bias = load(f, index + 1, &used);
  dm_groupnorm_forward(out, in, weight, bias, f->n, c, hw,
                       f->model->config.norm_num_groups, eps, with_silu);
}

/* out (rows, out_features) = in (rows, in_features) W^T (+ b), W the
 * linear at `index`; `has_bias` false for the attentions' q, k, v. */
static void linear(const Forward *f, int32_t index, bool has_bias, float *out,
                   const float *in, size_t rows) {
  const DmParamInfo *info = tensor_info(f, index);
  size_t used = 0;
  const float *weight = load(f, index, &used);
  const float *bias = has_bias ? load(f, index + 1, &used) : NULL;
  dm_linear_forward(out, in, weight, bias, (int32_t)rows,
                    (int32_t)info->shape[1], (int32_t)info->shape[0]);
}

/* diffusers' ResnetBlock2D: a new (N, c_out, h, w) activation
 *   (shortcut(x) + conv2(SiLU(GN2(conv1(SiLU(GN1 x)) + proj(temb)))))
 *   / output_scale,
 * shortcut a 1x1 conv where the channels change, else x. */
static float *resnet(const Forward *f, const DmUnetCondResnet *r,
                     const float *x, int32_t h, int32_t w) {
  const size_t hw = (size_t)h * w;
  const float eps = f->model->config.norm_eps;
  float *normed = planes_new(f, r->c_in, h, w);
  float *hidden = planes_new(f, r->c_out, h, w);
  float *shift = g_try_new(float, (size_t)f->n * r->c_out);
  float *out = NULL;
  bool ok = normed && hidden && (shift || out_of_memory(f, "a resnet"));
  if (ok) {
    group_norm(f, r->norm1, normed, x, r->c_in, hw, eps, true);
    ok = conv(f, r->conv1, hidden, normed, r->c_in, h, w, 1, 1, false);
  }
  free(normed);
  if (ok) {
    linear(f, r->time_emb_proj, true, shift, f->temb_silu, (size_t)f->n);
    dm_channel_shift_forward(hidden, shift, f->n, r->c_out, hw);
    group_norm(f, r->norm2, hidden, hidden, r->c_out, hw, eps, true);
    ok = (out = planes_new(f, r->c_out, h, w)) != NULL;
  }
  if (ok && r->conv_shortcut >= 0)
    ok = conv(f, r->conv_shortcut, out, x, r->c_in, h, w, 1, 0, false);
  else if (ok)
    memcpy(out, x, (size_t)f->n * r->c_out * hw * sizeof(float));
  ok = ok && conv(f, r->conv2, out, hidden, r->c_out, h, w, 1, 1, true);
  if (ok && r->output_scale != 1.0f) {
    const size_t count = (size_t)f->n * r->c_out * hw;
    for (size_t i = 0; i < count; i++) out[i] /= r->output_scale;
  }
  free(hidden);
  g_free(shift);
  if (!ok) g_clear_pointer(&out, free);
  return out;
}

/* ---- transformers on token rows ------------------------------------------ */

/* A transformer's buffers; rows = N H W tokens of C channels. */
typedef struct {
  float *hidden, *normed, *q; /* (rows, C); q also holds the GroupNorm's
                                 planes and the outputs to add */
  float *k, *v;               /* (max(rows, N L), C): keys and values */
  float *ff;                  /* (chunk, 12 C): ff.net.0.proj's output and
                                 GEGLU's */
  size_t rows, chunk;
} Tokens;

static bool tokens_alloc(Tokens *t, const Forward *f, size_t rows,
                         int32_t channels) {
  const size_t c = (size_t)channels;
  const size_t keys = MAX(rows, (size_t)f->n * f->text_length);
  t->rows = rows;
  t->chunk = MIN(rows, MAX(FF_CHUNK_FLOATS / (12 * c), (size_t)16));
  size_t total = 0;
  if (!dm_mul_size(3 * rows + 2 * keys + 12 * t->chunk, c, &total) ||
      (t->hidden = dm_alloc_floats(total)) == NULL)
    return out_of_memory(f, "a transformer's tokens");
  t->normed = t->hidden + rows * c;
  t->q = t->normed + rows * c;
  t->k = t->q + rows * c;
  t->v = t->k + keys * c;
  t->ff = t->v + keys * c;
  return true;
}

/* t->normed (rows, C) = the LayerNorm at `index` of t->hidden. */
static void layer_norm(const Forward *f, int32_t index, const Tokens *t,
                       int32_t channels) {
  size_t used = 0;
  const float *weight = load(f, index, &used);
  const float *bias = load(f, index + 1, &used);
  dm_layernorm_forward(t->normed, t->hidden, weight, bias, t->rows, channels,
                       LAYER_NORM_EPS);
}

/* t->hidden += to_out(MHA(to_q(t->normed), to_k(ctx), to_v(ctx))) for the
 * attention whose to_q is at `q`: over the tokens themselves (ctx NULL) or
 * the text states. */
static bool attention(const Forward *f, const Tokens *t, int32_t q,
                      const float *context, int32_t heads, int32_t channels) {
  const int32_t n = f->n;
  const size_t keys = context ? (size_t)f->text_length : t->rows / n;
  const float *source = context ? context : t->normed;
  linear(f, q, false, t->q, t->normed, t->rows);
  linear(f, q + 1, false, t->k, source, (size_t)n * keys);
  linear(f, q + 2, false, t->v, source, (size_t)n * keys);
  /* the context goes where the normed tokens were, dead now */
  if (!dm_multihead_attention_forward(t->normed, t->q, t->k, t->v, n,
                                      t->rows / n, keys, channels, heads,
                                      false))
    return out_of_memory(f, "attention scores");
  linear(f, q + 3, true, t->q, t->normed, t->rows);
  dm_add_forward(t->hidden, t->q, t->rows * (size_t)channels);
  return true;
}

/* t->hidden += ff.net.2(GEGLU(ff.net.0.proj(t->normed))), by chunks of
 * rows. */
static void feed_forward(const Forward *f, const DmUnetCondBlock *block,
                         const Tokens *t, int32_t channels) {
  const size_t c = (size_t)channels;
  size_t used = 0;
  const float *w_in = load(f, block->ff_in, &used);
  const float *b_in = load(f, block->ff_in + 1, &used);
  const float *w_out = load(f, block->ff_out, &used);
  const float *b_out = load(f, block->ff_out + 1, &used);
  float *gated = t->ff + t->chunk * 8 * c;
  for (size_t r0 = 0; r0 < t->rows; r0 += t->chunk) {
    const int32_t rows = (int32_t)MIN(t->chunk, t->rows - r0);
    dm_linear_forward(t->ff, t->normed + r0 * c, w_in, b_in, rows, channels,
                      8 * channels);
    dm_geglu_forward(gated, t->ff, (size_t)rows, 4 * channels);
    dm_linear_forward(t->q + r0 * c, gated, w_out, b_out, rows, 4 * channels,
                      channels);
  }
  dm_add_forward(t->hidden, t->q, t->rows * c);
}

/* One BasicTransformerBlock on t->hidden. */
static bool transformer_block(const Forward *f, const DmUnetCondBlock *block,
                              const Tokens *t, int32_t heads,
                              int32_t channels) {
  layer_norm(f, block->norm1, t, channels);
  if (!attention(f, t, block->attn1, NULL, heads, channels)) return false;
  layer_norm(f, block->norm2, t, channels);
  if (!attention(f, t, block->attn2, f->text, heads, channels))
    return false;
  layer_norm(f, block->norm3, t, channels);
  feed_forward(f, block, t, channels);
  return true;
}

/* Transformer2DModel: x (N, C, h, w) += proj_out(blocks(proj_in(GN x))),
 * in place. */
static bool transformer(const Forward *f, const DmUnetCondTransformer *tr,
                        float *x, int32_t h, int32_t w) {
  const size_t hw = (size_t)h * w;
  const int32_t c = tr->channels;
  Tokens t;
  if (!tokens_alloc(&t, f, (size_t)f->n * hw, c)) return false;
  group_norm(f, tr->norm, t.q, x, c, hw, TRANSFORMER_GROUP_EPS, false);
  size_t used = 0;
  const float *weight = load(f, tr->proj_in, &used);
  const float *bias = load(f, tr->proj_in + 1, &used);
  dm_linear_from_planes_forward(t.hidden, t.q, weight, bias, f->n, hw, c, c);
  bool ok = true;
  for (int32_t i = 0;
       ok && i < f->model->config.transformer_layers_per_block; i++)
    ok = transformer_block(f, &tr->blocks[i], &t, tr->heads, c);
  if (ok) {
    used = 0;
    weight = load(f, tr->proj_out, &used);
    bias = load(f, tr->proj_out + 1, &used);
    dm_linear_to_planes_forward(x, t.hidden, weight, bias, f->n, hw, c, c,
                                true);
  }
  dm_free_floats(t.hidden);
  return ok;
}

/* ---- the U --------------------------------------------------------------- */

/* The skip tensors of the down path, in order; the last one is also the
 * hidden state the next layer takes. */
typedef struct {
  Planes items[1 + DM_MAX_LEVELS * (DM_UNET_COND_MAX_LAYERS + 1)];
  int32_t count;
} Skips;

static void skips_clear(Skips *skips) {
  for (int32_t i = 0; i < skips->count; i++) free(skips->items[i].data);
  skips->count = 0;
}

/* The resnet, then the transformer when there is one, of `layer` on `in`:
 * a new activation, or NULL. */
static float *layer_forward(const Forward *f, const DmUnetCondLayer *layer,
                            const float *in, int32_t h, int32_t w) {
  float *out = resnet(f, &layer->resnet, in, h, w);
  if (out && layer->transformer.blocks &&
      !transformer(f, &layer->transformer, out, h, w))
    g_clear_pointer(&out, free);
  return out;
}

static bool down_path(const Forward *f, Skips *skips) {
  const DmUnetCond *m = f->model;
  for (int32_t level = 0; level < m->config.n_levels; level++) {
    const DmUnetCondStage *stage = &m->down[level];
    for (int32_t j = 0; j < stage->n_layers; j++) {
      const Planes top = skips->items[skips->count - 1];
      float *out = layer_forward(f, &stage->layers[j], top.data, top.h, top.w);
      if (out == NULL) return false;
      skips->items[skips->count++] =
          (Planes){out, stage->layers[j].resnet.c_out, top.h, top.w};
    }
    if (stage->resample < 0) continue;
    const Planes top = skips->items[skips->count - 1];
    float *down = planes_new(f, top.c, top.h / 2, top.w / 2);
    if (down == NULL) return false;
    skips->items[skips->count++] = (Planes){down, top.c, top.h / 2, top.w / 2};
    if (!conv(f, stage->resample, down, top.data, top.c, top.h, top.w, 2,
              m->config.downsample_padding, false))
      return false;
  }
  return true;
}

/* UNetMidBlock2DCrossAttn on the last skip: a new activation in *hidden. */
static bool mid_path(const Forward *f, const Skips *skips, Planes *hidden) {
  const DmUnetCond *m = f->model;
  const Planes top = skips->items[skips->count - 1];
  *hidden = top;
  hidden->data = resnet(f, &m->mid_resnets[0], top.data, top.h, top.w);
  if (hidden->data == NULL ||
      !transformer(f, &m->mid_transformer, hidden->data, top.h, top.w))
    return false;
  float *out = resnet(f, &m->mid_resnets[1], hidden->data, top.h, top.w);
  free(hidden->data);
  hidden->data = out;
  return out != NULL;
}

/* hidden = [hidden | the last skip] along channels, both consumed. */
static bool concat_skip(const Forward *f, Planes *hidden, Skips *skips) {
  const Planes skip = skips->items[--skips->count];
  float *joined = planes_new(f, hidden->c + skip.c, hidden->h, hidden->w);
  if (joined)
    dm_concat_forward(joined, hidden->data, skip.data, f->n, hidden->c,
                      skip.c, (size_t)hidden->h * hidden->w);
  free(hidden->data);
  free(skip.data);
  hidden->data = joined;
  hidden->c += skip.c;
  return joined != NULL;
}

/* hidden = the conv at `index` of hidden upsampled x2 (nearest). */
static bool upsample(const Forward *f, Planes *hidden, int32_t index) {
  const int32_t c = hidden->c, h = 2 * hidden->h, w = 2 * hidden->w;
  float *nearest = planes_new(f, c, h, w);
  if (nearest)
    dm_upsample2x_forward(nearest, hidden->data, f->n, c, hidden->h,
                          hidden->w);
  g_clear_pointer(&hidden->data, free);
  float *out = nearest ? planes_new(f, c, h, w) : NULL;
  const bool ok = out && conv(f, index, out, nearest, c, h, w, 1, 1, false);
  free(nearest);
  if (!ok) free(out);
  *hidden = (Planes){ok ? out : NULL, c, h, w};
  return ok;
}

static bool up_path(const Forward *f, Skips *skips, Planes *hidden) {
  const DmUnetCond *m = f->model;
  for (int32_t i = 0; i < m->config.n_levels; i++) {
    const DmUnetCondStage *stage = &m->up[i];
    for (int32_t j = 0; j < stage->n_layers; j++) {
      if (!concat_skip(f, hidden, skips)) return false;
      float *out = layer_forward(f, &stage->layers[j], hidden->data,
                                 hidden->h, hidden->w);
      free(hidden->data);
      hidden->data = out;
      hidden->c = stage->layers[j].resnet.c_out;
      if (out == NULL) return false;
    }
    if (stage->resample >= 0 && !upsample(f, hidden, stage->resample))
      return false;
  }
  return true;
}

/* ---- ends ---------------------------------------------------------------- */

/* f->temb_silu = SiLU(linear_2(SiLU(linear_1(sinusoid(timesteps))))). */
static bool time_embedding(Forward *f, const float *timesteps) {
  const DmUnetCondConfig *c = &f->model->config;
  const int32_t dim = c->block_out_channels[0], temb = c->time_embedding_dim;
  float *sinusoid = g_try_new(float, (size_t)f->n * dim);
  float *hidden = g_try_new(float, (size_t)f->n * temb);
  f->temb_silu = g_try_new(float, (size_t)f->n * temb);
  const bool ok = sinusoid && hidden && f->temb_silu;
  if (ok) {
    dm_timestep_embedding_forward(sinusoid, timesteps, f->n, dim,
                                  c->flip_sin_to_cos, c->freq_shift);
    linear(f, f->model->time_linear_1, true, hidden, sinusoid, (size_t)f->n);
    dm_silu_forward(hidden, hidden, (size_t)f->n * temb);
    linear(f, f->model->time_linear_2, true, f->temb_silu, hidden,
           (size_t)f->n);
    dm_silu_forward(f->temb_silu, f->temb_silu, (size_t)f->n * temb);
  }
  g_free(sinusoid);
  g_free(hidden);
  return ok || out_of_memory(f, "the time embedding");
}

/* conv_in of the sample (of 2 sample - 1 with center_input_sample). */
static float *input_forward(const Forward *f, const float *sample,
                            int32_t h, int32_t w) {
  const DmUnetCondConfig *c = &f->model->config;
  float *out = planes_new(f, c->block_out_channels[0], h, w);
  float *centred = NULL;
  if (out && c->center_input_sample) {
    const size_t count = (size_t)f->n * c->in_channels * h * w;
    if ((centred = g_try_new(float, count)) == NULL) {
      free(out);
      out_of_memory(f, "the centred sample");
      return NULL;
    }
    for (size_t i = 0; i < count; i++) centred[i] = 2.0f * sample[i] - 1.0f;
    sample = centred;
  }
  if (out && !conv(f, f->model->conv_in, out, sample, c->in_channels, h, w,
                   1, 1, false))
    g_clear_pointer(&out, free);
  g_free(centred);
  return out;
}

/* out = conv_out(SiLU(conv_norm_out(hidden))), hidden normed in place. */
static bool output_forward(const Forward *f, float *out,
                           const Planes *hidden) {
  const DmUnetCondConfig *c = &f->model->config;
  group_norm(f, f->model->conv_norm_out, hidden->data, hidden->data,
             hidden->c, (size_t)hidden->h * hidden->w, c->norm_eps, true);
  return conv(f, f->model->conv_out, out, hidden->data, hidden->c, hidden->h,
              hidden->w, 1, 1, false);
}

/* Tokens of a whole batch are counted in int (BLAS). */
#define MAX_TOKENS ((size_t)1 << 24)

static bool check_inputs(const DmUnetCond *model, int32_t n, int32_t height,
                         int32_t width, const float *timesteps,
                         int32_t text_length, GError **error) {
  const int32_t multiple = dm_unet_cond_size_multiple(&model->config);
  if (n < 1 || height < 1 || width < 1 || text_length < 1 ||
      height % multiple || width % multiple ||
      (size_t)n * height * width > MAX_TOKENS ||
      (size_t)n * text_length > MAX_TOKENS) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "unet: %d samples of %dx%d with %d text tokens (sizes must "
                "be positive multiples of %d, at most %zu pixels and "
                "tokens in all)", n, width, height, text_length, multiple,
                MAX_TOKENS);
    return false;
  }
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(timesteps[i])) {
      g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                  "unet: timestep %d (%g) is not finite", i,
                  (double)timesteps[i]);
      return false;
    }
  return true;
}

bool dm_unet_cond_forward(const DmUnetCond *model, float *out,
                          const float *sample, int32_t n, int32_t height,
                          int32_t width, const float *timesteps,
                          const float *text, int32_t text_length,
                          GError **error) {
  if (!check_inputs(model, n, height, width, timesteps, text_length, error))
    return false;
  dm_threads_init();
  Forward f = {.model = model, .n = n, .text = text,
               .text_length = text_length, .error = error};
  const bool convert = model->weights.dtype != DM_DTYPE_F32;
  if (convert &&
      (f.scratch = dm_alloc_floats(scratch_floats(&model->weights))) == NULL)
    return out_of_memory(&f, "the weights' float32 scratch");
  Skips *skips = g_new0(Skips, 1);
  Planes hidden = {0};
  bool ok = time_embedding(&f, timesteps);
  float *first = ok ? input_forward(&f, sample, height, width) : NULL;
  if ((ok = first != NULL)) {
    skips->items[skips->count++] =
        (Planes){first, model->config.block_out_channels[0], height, width};
    ok = down_path(&f, skips) && mid_path(&f, skips, &hidden) &&
         up_path(&f, skips, &hidden) && output_forward(&f, out, &hidden);
  }
  free(hidden.data);
  skips_clear(skips);
  g_free(skips);
  g_free(f.temb_silu);
  dm_free_floats(f.scratch);
  return ok;
}
