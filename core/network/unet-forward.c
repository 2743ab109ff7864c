/* gimp-diffusion core: UNet2DModel forward pass, for inference and for
 * training.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Activations are freed as soon as they are dead, so peak memory is a small
 * multiple of the largest activation (linear in the pixel count): the skip
 * tensors of the down path, the current hidden state and one block's
 * temporaries. A training forward runs the same code with a tape: each
 * layer saves its input there (save), and the tape keeps what the forward
 * would free (release); the two in-place group norms then write a new
 * buffer so that their inputs survive. */
#include <math.h>
#include <string.h>

#include "network/unet-tape.h"
#include "network/unet-train.h"

typedef DmActivation Activation;

typedef struct {
  const DmUnet *unet;
  DmPadding padding;
  const float *params; /* DmParams.data */
  int32_t n;           /* batch size */
  float *temb_silu;    /* (N, temb_dim): SiLU of the time embedding */
  DmUnetTape *tape;    /* NULL for inference */
  GError **error;
} ForwardContext;

#define PARAM(ctx, offset) ((ctx)->params + (offset))

float *dm_activation_new(int32_t n, int32_t c, int32_t h, int32_t w,
                         bool zeroed, GError **error) {
  size_t count = 0, bytes = 0;
  float *data = NULL;
  if (dm_mul_size((size_t)n * c, (size_t)h * w, &count) &&
      dm_mul_size(count, sizeof(float), &bytes))
    data = malloc(bytes);
  if (data != NULL && zeroed) { /* by all threads: training reuses memory */
    const size_t plane = count / (size_t)n;
#pragma omp parallel for schedule(static)
    for (int32_t i = 0; i < n; i++)
      memset(data + (size_t)i * plane, 0, plane * sizeof(float));
  }
  if (data == NULL && error && *error == NULL)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a (%d, %d, %d, %d) activation", n, c, h,
                w);
  return data;
}

static float *alloc_activation(ForwardContext *ctx, int32_t c, int32_t h,
                               int32_t w) {
  return dm_activation_new(ctx->n, c, h, w, false, ctx->error);
}

/* With a tape, records `data` (N, c, h, w), the input of a layer with
 * parameters, for the backward; the tape owns it from now on. */
static void save(ForwardContext *ctx, float *data, int32_t c, int32_t h,
                 int32_t w) {
  if (ctx->tape) dm_unet_tape_push(ctx->tape, data, c, h, w);
}

/* Frees an activation the forward is done with, unless the tape keeps it. */
static void release(ForwardContext *ctx, float *data) {
  if (ctx->tape == NULL || !dm_unet_tape_holds(ctx->tape, data)) free(data);
}

static bool out_of_memory(ForwardContext *ctx) {
  g_set_error(ctx->error, DM_ERROR, DM_ERROR_NO_MEMORY,
              "out of memory for layer scratch space");
  return false;
}

static void inspect(const ForwardContext *ctx, const char *stage,
                    const float *data, int32_t c, int32_t h, int32_t w) {
  if (ctx->unet->inspect == NULL) return;
  DmTensor view = {.data = (float *)data, .n = ctx->n, .c = c, .h = h, .w = w};
  ctx->unet->inspect(stage, &view, ctx->unet->inspect_data);
}

DmConvShape dm_unet_conv_shape(int32_t n, int32_t c_in, int32_t h_in,
                               int32_t w_in, int32_t c_out, int32_t kernel,
                               int32_t stride, int32_t pad_top) {
  const int32_t pad_total = kernel / 2 * 2; /* output = input / stride */
  DmConvShape shape = {
      .n = n, .c_in = c_in, .h_in = h_in, .w_in = w_in, .c_out = c_out,
      .h_out = (h_in + pad_total - kernel) / stride + 1,
      .w_out = (w_in + pad_total - kernel) / stride + 1,
      .kernel = kernel, .stride = stride, .pad_top = pad_top,
      .pad_left = pad_top};
  if (stride == 2) { /* both paddings give H / 2 rows for even H */
    shape.h_out = h_in / 2;
    shape.w_out = w_in / 2;
  }
  return shape;
}

/* in (N, C, h, w) with `top` rows and columns before and `bottom` after
 * taken from the opposite side, as if the image tiled the plane: the
 * padding of a seamless sample (a newly allocated (N, C, h + top + bottom,
 * w + top + bottom) array, or NULL). */
static float *wrap_pad(const float *in, int32_t n, int32_t c, int32_t h,
                       int32_t w, int32_t top, int32_t bottom) {
  const int32_t h_pad = h + top + bottom, w_pad = w + top + bottom;
  float *out = dm_activation_new(n, c, h_pad, w_pad, false, NULL);
  if (out == NULL) return NULL;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++)
    for (int32_t y = 0; y < h_pad; y++) {
      const float *row = in + ((size_t)plane * h + (y - top + h) % h) * w;
      float *dst = out + ((size_t)plane * h_pad + y) * w_pad;
      for (int32_t x = 0; x < w_pad; x++) dst[x] = row[(x - top + w) % w];
    }
  return out;
}

/* A conv of the U-Net: zero padding as diffusers has it, or, for a
 * seamless sample (DM_PADDING_CIRCULAR), the same amount of padding
 * wrapped around the image, so that the network sees a torus. */
static bool conv_forward(ForwardContext *ctx, float *out, const float *in,
                         ParamPair conv, int32_t c_in, int32_t h_in,
                         int32_t w_in, int32_t c_out, int32_t kernel,
                         int32_t stride, int32_t pad_top, bool accumulate) {
  DmConvShape shape = dm_unet_conv_shape(ctx->n, c_in, h_in, w_in, c_out,
                                         kernel, stride, pad_top);
  float *wrapped = NULL;
  if (ctx->padding == DM_PADDING_CIRCULAR && kernel > 1) {
    const int32_t pad_total = kernel / 2 * 2;
    wrapped = wrap_pad(in, ctx->n, c_in, h_in, w_in, pad_top,
                       pad_total - pad_top);
    if (wrapped == NULL) return out_of_memory(ctx);
    shape.h_in += pad_total, shape.w_in += pad_total;
    shape.pad_top = shape.pad_left = 0;
    in = wrapped;
  }
  const bool ok = dm_conv2d_forward(out, in, PARAM(ctx, conv.weight),
                                    PARAM(ctx, conv.bias), &shape, accumulate);
  free(wrapped);
  return ok || out_of_memory(ctx);
}

/* out = (shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + proj(temb)))))
 *       / output_scale   — diffusers ResnetBlock2D, "default" time norm.
 * Saves x, then norm2's input. */
static float *resnet_forward(ForwardContext *ctx, float *x, int32_t h,
                             int32_t w, const ResnetLayout *r) {
  const size_t hw = (size_t)h * w;
  const int32_t n = ctx->n;
  save(ctx, x, r->c_in, h, w);
  float *normed = alloc_activation(ctx, r->c_in, h, w);
  float *hidden = alloc_activation(ctx, r->c_out, h, w);
  float *normed2 = NULL, *out = NULL;
  float *temb_proj = malloc((size_t)n * r->c_out * sizeof(float));
  if (!normed || !hidden || !temb_proj) goto fail;

  dm_groupnorm_forward(normed, x, PARAM(ctx, r->norm1.weight),
                       PARAM(ctx, r->norm1.bias), n, r->c_in, hw, r->groups,
                       r->eps, true);
  if (!conv_forward(ctx, hidden, normed, r->conv1, r->c_in, h, w, r->c_out, 3,
                    1, 1, false))
    goto fail;
  free(normed);
  normed = NULL;
  dm_linear_forward(temb_proj, ctx->temb_silu,
                    PARAM(ctx, r->time_emb_proj.weight),
                    PARAM(ctx, r->time_emb_proj.bias), n,
                    ctx->unet->layout->temb_dim, r->c_out);
  dm_channel_shift_forward(hidden, temb_proj, n, r->c_out, hw);
  normed2 = hidden; /* in place, unless the tape keeps norm2's input */
  if (ctx->tape) {
    save(ctx, hidden, r->c_out, h, w);
    normed2 = alloc_activation(ctx, r->c_out, h, w);
    if (normed2 == NULL) goto fail;
  }
  dm_groupnorm_forward(normed2, hidden, PARAM(ctx, r->norm2.weight),
                       PARAM(ctx, r->norm2.bias), n, r->c_out, hw, r->groups,
                       r->eps, true);

  out = alloc_activation(ctx, r->c_out, h, w);
  if (out == NULL) goto fail;
  if (r->has_shortcut) {
    if (!conv_forward(ctx, out, x, r->conv_shortcut, r->c_in, h, w, r->c_out,
                      1, 1, 0, false))
      goto fail;
  } else {
    const size_t plane = (size_t)r->c_out * hw;
#pragma omp parallel for schedule(static)
    for (int32_t i = 0; i < n; i++)
      memcpy(out + (size_t)i * plane, x + (size_t)i * plane,
             plane * sizeof(float));
  }
  if (!conv_forward(ctx, out, normed2, r->conv2, r->c_out, h, w, r->c_out, 3,
                    1, 1, true))
    goto fail;
  if (r->output_scale != 1.0f) {
    const size_t count = (size_t)n * r->c_out * hw;
    for (size_t p = 0; p < count; p++) out[p] /= r->output_scale;
  }
  if (normed2 != hidden) free(normed2);
  release(ctx, hidden);
  free(temb_proj);
  return out;

fail:
  if (normed2 != hidden) free(normed2);
  free(normed);
  release(ctx, hidden);
  free(temb_proj);
  free(out);
  return NULL;
}

DmAttentionWeights dm_unet_attention_weights(const float *params,
                                             const AttentionLayout *a) {
  return (DmAttentionWeights){
      params + a->group_norm.weight, params + a->group_norm.bias,
      params + a->to_q.weight,       params + a->to_q.bias,
      params + a->to_k.weight,       params + a->to_k.bias,
      params + a->to_v.weight,       params + a->to_v.bias,
      params + a->to_out.weight,     params + a->to_out.bias};
}

/* Saves x. */
static float *attention_forward(ForwardContext *ctx, float *x, int32_t h,
                                int32_t w, const AttentionLayout *a) {
  save(ctx, x, a->channels, h, w);
  float *out = alloc_activation(ctx, a->channels, h, w);
  if (out == NULL) return NULL;
  const DmAttentionWeights weights =
      dm_unet_attention_weights(ctx->params, a);
  if (!dm_attention_forward(out, x, &weights, ctx->n, a->channels,
                            (size_t)h * w, a->heads, a->groups, a->eps,
                            a->rescale)) {
    free(out);
    out_of_memory(ctx);
    return NULL;
  }
  return out;
}

/* The skip tensors of the down path; the last one pushed is also the
 * running hidden state until the mid block takes over. */
typedef struct {
  Activation items[1 + DM_MAX_LEVELS * (DM_MAX_BLOCK_LAYERS + 1)];
  int32_t count;
} SkipStack;

static void skips_push(SkipStack *skips, float *data, int32_t c, int32_t h,
                       int32_t w) {
  skips->items[skips->count++] = (Activation){data, c, h, w};
}

static void skips_clear(ForwardContext *ctx, SkipStack *skips) {
  for (int32_t i = 0; i < skips->count; i++)
    release(ctx, skips->items[i].data);
  skips->count = 0;
}

/* Runs resnet j (then attention j) of `block`, replacing *hidden. The old
 * hidden state is freed when `owned`. */
static bool block_layer_forward(ForwardContext *ctx, Activation *hidden,
                                bool owned, const BlockLayout *block,
                                int32_t j) {
  const ResnetLayout *r = &block->resnets[j];
  float *next = resnet_forward(ctx, hidden->data, hidden->h, hidden->w, r);
  if (owned) release(ctx, hidden->data);
  hidden->data = next;
  hidden->c = r->c_out;
  if (next == NULL) return false;
  if (block->has_attention) {
    float *attended = attention_forward(ctx, next, hidden->h, hidden->w,
                                        &block->attentions[j]);
    release(ctx, next);
    hidden->data = attended;
    if (attended == NULL) return false;
  }
  return true;
}

static bool down_path(ForwardContext *ctx, SkipStack *skips,
                      const DmUnetConfig *config) {
  const DmUnetLayout *layout = ctx->unet->layout;
  for (int32_t level = 0; level < config->n_levels; level++) {
    const BlockLayout *block = &layout->down[level];
    for (int32_t j = 0; j < block->n_resnets; j++) {
      Activation hidden = skips->items[skips->count - 1];
      if (!block_layer_forward(ctx, &hidden, false, block, j)) return false;
      skips_push(skips, hidden.data, hidden.c, hidden.h, hidden.w);
    }
    Activation top = skips->items[skips->count - 1];
    if (block->has_resample) {
      float *down = alloc_activation(ctx, top.c, top.h / 2, top.w / 2);
      if (down == NULL) return false;
      skips_push(skips, down, top.c, top.h / 2, top.w / 2);
      const int32_t pad = config->downsample_padding;
      save(ctx, top.data, top.c, top.h, top.w);
      if (!conv_forward(ctx, down, top.data, block->resample, top.c, top.h,
                        top.w, top.c, 3, 2, pad, false))
        return false;
      top = skips->items[skips->count - 1];
    }
    char *stage = g_strdup_printf("down_blocks.%d", level);
    inspect(ctx, stage, top.data, top.c, top.h, top.w);
    g_free(stage);
  }
  return true;
}

/* Returns the mid block's output (owned), or a copy-free borrow of the top
 * skip when there is no mid block (*owned = false). */
static bool mid_path(ForwardContext *ctx, const SkipStack *skips,
                     Activation *hidden, bool *owned) {
  const DmUnetLayout *layout = ctx->unet->layout;
  *hidden = skips->items[skips->count - 1];
  *owned = false;
  if (!ctx->unet->config.has_mid_block) return true;
  BlockLayout mid = {.n_resnets = 2, .has_attention = false};
  mid.resnets[0] = layout->mid_resnets[0];
  mid.resnets[1] = layout->mid_resnets[1];
  if (!block_layer_forward(ctx, hidden, false, &mid, 0)) return false;
  *owned = true;
  if (layout->mid_has_attention) {
    float *attended = attention_forward(ctx, hidden->data, hidden->h,
                                        hidden->w, &layout->mid_attention);
    release(ctx, hidden->data);
    hidden->data = attended;
    if (attended == NULL) return false;
  }
  if (!block_layer_forward(ctx, hidden, true, &mid, 1)) return false;
  inspect(ctx, "mid_block", hidden->data, hidden->c, hidden->h, hidden->w);
  return true;
}

/* Concatenates [hidden | last skip] (freeing both) into *hidden. */
static bool concat_skip(ForwardContext *ctx, Activation *hidden, bool owned,
                        SkipStack *skips) {
  Activation skip = skips->items[--skips->count];
  float *joined = alloc_activation(ctx, hidden->c + skip.c, hidden->h,
                                   hidden->w);
  if (joined != NULL)
    dm_concat_forward(joined, hidden->data, skip.data, ctx->n, hidden->c,
                      skip.c, (size_t)hidden->h * hidden->w);
  if (owned) release(ctx, hidden->data);
  release(ctx, skip.data);
  hidden->data = joined;
  hidden->c += skip.c;
  return joined != NULL;
}

/* Saves the hidden state (not the upsampled one: that is recomputed). */
static bool upsample(ForwardContext *ctx, Activation *hidden,
                     const BlockLayout *block) {
  const int32_t c = hidden->c, h = hidden->h, w = hidden->w;
  save(ctx, hidden->data, c, h, w);
  float *nearest = alloc_activation(ctx, c, 2 * h, 2 * w);
  float *out = alloc_activation(ctx, c, 2 * h, 2 * w);
  bool ok = nearest && out;
  if (ok) {
    dm_upsample2x_forward(nearest, hidden->data, ctx->n, c, h, w);
    release(ctx, hidden->data);
    hidden->data = NULL;
    ok = conv_forward(ctx, out, nearest, block->resample, c, 2 * h, 2 * w, c,
                      3, 1, 1, false);
  }
  free(nearest);
  release(ctx, hidden->data);
  hidden->data = ok ? out : NULL;
  if (!ok) free(out);
  hidden->h = 2 * h;
  hidden->w = 2 * w;
  return ok;
}

static bool up_path(ForwardContext *ctx, SkipStack *skips, Activation *hidden,
                    bool owned, const DmUnetConfig *config) {
  const DmUnetLayout *layout = ctx->unet->layout;
  for (int32_t i = 0; i < config->n_levels; i++) {
    const BlockLayout *block = &layout->up[i];
    for (int32_t j = 0; j < block->n_resnets; j++) {
      if (!concat_skip(ctx, hidden, owned, skips)) return false;
      owned = true;
      if (!block_layer_forward(ctx, hidden, true, block, j)) return false;
    }
    if (block->has_resample && !upsample(ctx, hidden, block)) return false;
    char *stage = g_strdup_printf("up_blocks.%d", i);
    inspect(ctx, stage, hidden->data, hidden->c, hidden->h, hidden->w);
    g_free(stage);
  }
  return true;
}

/* temb_silu (N, 4 C0) = SiLU(linear_2(SiLU(linear_1(sinusoid(t))))).
 * Saves the sinusoid and both linear outputs (SiLU then writes new
 * buffers instead of working in place). */
static bool time_embedding(ForwardContext *ctx, const float *timesteps) {
  const DmUnet *unet = ctx->unet;
  const DmUnetLayout *layout = unet->layout;
  const int32_t n = ctx->n, dim = layout->time_dim, temb = layout->temb_dim;
  const size_t count = (size_t)n * temb;
  float *sinusoid = malloc((size_t)n * dim * sizeof(float));
  float *linear_1 = malloc(count * sizeof(float));
  float *linear_2 = malloc(count * sizeof(float));
  float *hidden = ctx->tape ? malloc(count * sizeof(float)) : linear_1;
  ctx->temb_silu = ctx->tape ? malloc(count * sizeof(float)) : linear_2;
  bool ok = sinusoid && linear_1 && linear_2 && hidden && ctx->temb_silu;
  if (ok) {
    dm_timestep_embedding_forward(sinusoid, timesteps, n, dim,
                                  unet->config.flip_sin_to_cos,
                                  unet->config.freq_shift);
    inspect(ctx, "time_proj", sinusoid, dim, 1, 1);
    dm_linear_forward(linear_1, sinusoid,
                      PARAM(ctx, layout->time_linear_1.weight),
                      PARAM(ctx, layout->time_linear_1.bias), n, dim, temb);
    dm_silu_forward(hidden, linear_1, count);
    dm_linear_forward(linear_2, hidden,
                      PARAM(ctx, layout->time_linear_2.weight),
                      PARAM(ctx, layout->time_linear_2.bias), n, temb, temb);
    inspect(ctx, "time_embedding", linear_2, temb, 1, 1);
    dm_silu_forward(ctx->temb_silu, linear_2, count);
    save(ctx, sinusoid, dim, 1, 1);
    save(ctx, linear_1, temb, 1, 1);
    save(ctx, linear_2, temb, 1, 1);
  } else {
    out_of_memory(ctx);
  }
  release(ctx, sinusoid);
  if (hidden != linear_1) free(hidden);
  release(ctx, linear_1);
  if (linear_2 != ctx->temb_silu) release(ctx, linear_2);
  return ok;
}

/* conv_in of x (or of 2x - 1 when center_input_sample). Saves a copy of
 * conv_in's input. */
static float *input_forward(ForwardContext *ctx, const DmTensor *x) {
  const DmUnetConfig *config = &ctx->unet->config;
  const int32_t c0 = config->block_out_channels[0];
  float *out = alloc_activation(ctx, c0, x->h, x->w);
  if (out == NULL) return NULL;
  const float *input = x->data;
  float *copy = NULL;
  if (config->center_input_sample || ctx->tape) {
    const size_t count = dm_tensor_numel(x);
    const float scale = config->center_input_sample ? 2.0f : 1.0f;
    const float shift = config->center_input_sample ? -1.0f : 0.0f;
    copy = malloc(count * sizeof(float));
    if (copy == NULL) {
      free(out);
      out_of_memory(ctx);
      return NULL;
    }
    for (size_t i = 0; i < count; i++) copy[i] = scale * x->data[i] + shift;
    save(ctx, copy, x->c, x->h, x->w);
    input = copy;
  }
  bool ok = conv_forward(ctx, out, input, ctx->unet->layout->conv_in,
                         x->c, x->h, x->w, c0, 3, 1, 1, false);
  release(ctx, copy);
  if (!ok) {
    free(out);
    return NULL;
  }
  inspect(ctx, "conv_in", out, c0, x->h, x->w);
  return out;
}

/* out = conv_out(SiLU(conv_norm_out(hidden))); consumes hidden (in place,
 * unless the tape saves it). */
static bool output_forward(ForwardContext *ctx, DmTensor *out,
                           Activation *hidden) {
  const DmUnetLayout *layout = ctx->unet->layout;
  const size_t hw = (size_t)hidden->h * hidden->w;
  float *normed = hidden->data;
  if (ctx->tape) {
    save(ctx, hidden->data, hidden->c, hidden->h, hidden->w);
    normed = alloc_activation(ctx, hidden->c, hidden->h, hidden->w);
    if (normed == NULL) return false;
  }
  dm_groupnorm_forward(normed, hidden->data,
                       PARAM(ctx, layout->conv_norm_out.weight),
                       PARAM(ctx, layout->conv_norm_out.bias), ctx->n,
                       hidden->c, hw, ctx->unet->config.norm_num_groups,
                       ctx->unet->config.norm_eps, false);
  inspect(ctx, "conv_norm_out", normed, hidden->c, hidden->h, hidden->w);
  dm_silu_forward(normed, normed, (size_t)ctx->n * hidden->c * hw);
  const bool ok = conv_forward(ctx, out->data, normed, layout->conv_out,
                               hidden->c, hidden->h, hidden->w, out->c, 3, 1,
                               1, false);
  if (normed != hidden->data) free(normed);
  return ok;
}

static bool check_shapes(const DmUnet *unet, const DmTensor *out,
                         const DmTensor *x, const float *timesteps,
                         GError **error) {
  const DmUnetConfig *config = &unet->config;
  const int32_t multiple = dm_unet_size_multiple(config);
  if (x->c != config->in_channels || out->c != config->out_channels) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the model takes %d and gives %d channels; got input with %d "
                "and output with %d", config->in_channels,
                config->out_channels, x->c, out->c);
    return false;
  }
  if (x->h % multiple || x->w % multiple) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "input size %dx%d is not a multiple of %d (use "
                "dm_model_forward_any_size)", x->w, x->h, multiple);
    return false;
  }
  if (out->n != x->n || out->h != x->h || out->w != x->w) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "output tensor (%d, %d, %d, %d) does not match input "
                "(%d, %d, %d, %d)", out->n, out->c, out->h, out->w, x->n,
                x->c, x->h, x->w);
    return false;
  }
  for (int32_t i = 0; i < x->n; i++)
    if (!isfinite(timesteps[i])) {
      g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                  "timestep %d is not finite", i);
      return false;
    }
  return true;
}

/* The forward for inference (tape NULL) or training. The last thing it
 * saves is the time embedding's SiLU, which every resnet's backward reads. */
static bool unet_forward(DmUnet *unet, DmUnetTape *tape, DmTensor *out,
                         const DmTensor *x, const float *timesteps,
                         DmPadding padding, GError **error) {
  if (!check_shapes(unet, out, x, timesteps, error)) return false;
  dm_threads_init();
  GError *local_error = NULL;
  ForwardContext ctx = {.unet = unet, .padding = padding,
                        .params = unet->params.data, .n = x->n, .tape = tape,
                        .error = &local_error};
  SkipStack *skips = g_new0(SkipStack, 1);
  Activation hidden = {0};
  bool owned = false;
  bool ok = time_embedding(&ctx, timesteps);
  float *first = ok ? input_forward(&ctx, x) : NULL;
  ok = first != NULL;
  if (ok) {
    skips_push(skips, first, unet->config.block_out_channels[0], x->h, x->w);
    ok = down_path(&ctx, skips, &unet->config) &&
         mid_path(&ctx, skips, &hidden, &owned);
  }
  if (ok) {
    ok = up_path(&ctx, skips, &hidden, owned, &unet->config);
    owned = true; /* from the first concatenation on, hidden is ours */
  }
  ok = ok && output_forward(&ctx, out, &hidden);
  if (owned) release(&ctx, hidden.data);
  skips_clear(&ctx, skips);
  g_free(skips);
  if (ok) save(&ctx, ctx.temb_silu, unet->layout->temb_dim, 1, 1);
  release(&ctx, ctx.temb_silu);
  if (!ok) g_propagate_error(error, local_error ? local_error
                                   : g_error_new(DM_ERROR, DM_ERROR_NO_MEMORY,
                                                 "out of memory"));
  return ok;
}

bool dm_unet_forward(DmUnet *unet, DmTensor *out, const DmTensor *x,
                     const float *timesteps, DmPadding padding,
                     GError **error) {
  return unet_forward(unet, NULL, out, x, timesteps, padding, error);
}

bool dm_unet_forward_train(DmUnet *unet, DmUnetTape *tape, DmTensor *out,
                           const DmTensor *x, const float *timesteps,
                           GError **error) {
  dm_unet_tape_clear(tape);
  if (!dm_unet_tape_fits(tape, unet, x, error)) return false;
  const bool ok = unet_forward(unet, tape, out, x, timesteps,
                               DM_PADDING_ZEROS, error);
  if (!ok) dm_unet_tape_clear(tape);
  return ok;
}
