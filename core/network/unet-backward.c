/* gimp-diffusion core: UNet2DModel backward pass.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The backward walks the network in reverse (output, up path, mid block,
 * down path, conv_in, time MLP), popping from the tape the inputs that the
 * forward saved, in the reverse order of saving, and freeing each once its
 * layer is done. The skip tensors' gradients wait on a stack: the up path's
 * concatenations push them (the first skip's first), and the down path pops
 * each when it reaches the layer that produced that skip and adds the
 * gradient of the layer's input into the new top (the skip before). */
#include <string.h>

#include "network/unet-tape.h"
#include "network/unet-train.h"

/* ---- backward ---------------------------------------------------------- */

typedef struct {
  const DmUnet *unet;
  const float *params; /* DmParams.data */
  float *grads;        /* (params.total), the same layout */
  DmUnetTape *tape;
  int32_t n, height, width;
  float *temb_silu;  /* (N, temb_dim): the resnets' time input */
  float *dtemb_silu; /* (N, temb_dim): its gradient, summed over resnets */
  GError **error;
} BackwardContext;

#define PARAM(ctx, offset) ((ctx)->params + (offset))
#define GRAD(ctx, offset) ((ctx)->grads + (offset))

/* The skip tensors' gradients, owned (entries may be NULL after a failed
 * allocation). */
typedef struct {
  float *items[1 + DM_MAX_LEVELS * (DM_MAX_BLOCK_LAYERS + 1)];
  int32_t count;
} GradStack;

static float *pop(BackwardContext *ctx, int32_t c, int32_t h, int32_t w) {
  return dm_unet_tape_pop(ctx->tape, c, h, w);
}

static float *zeros(BackwardContext *ctx, int32_t c, int32_t h, int32_t w) {
  return dm_activation_new(ctx->n, c, h, w, true, ctx->error);
}

static bool out_of_memory(BackwardContext *ctx) {
  if (*ctx->error == NULL)
    g_set_error(ctx->error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for layer scratch space");
  return false;
}

DmAttentionGrads dm_unet_attention_grads(float *grads,
                                         const AttentionLayout *a) {
  return (DmAttentionGrads){
      grads + a->group_norm.weight, grads + a->group_norm.bias,
      grads + a->to_q.weight, grads + a->to_q.bias, grads + a->to_k.weight,
      grads + a->to_k.bias, grads + a->to_v.weight, grads + a->to_v.bias,
      grads + a->to_out.weight, grads + a->to_out.bias};
}

/* dm_conv2d_backward of the conv at `conv`, with the forward's geometry. */
static bool conv_backward(BackwardContext *ctx, float *din, const float *dout,
                          const float *in, ParamPair conv, int32_t c_in,
                          int32_t h_in, int32_t w_in, int32_t c_out,
                          int32_t kernel, int32_t stride, int32_t pad_top) {
  const DmConvShape shape = dm_unet_conv_shape(ctx->n, c_in, h_in, w_in,
                                               c_out, kernel, stride, pad_top);
  return dm_conv2d_backward(din, GRAD(ctx, conv.weight),
                            GRAD(ctx, conv.bias), dout, in,
                            PARAM(ctx, conv.weight), &shape) ||
         out_of_memory(ctx);
}

/* SiLU(GroupNorm(in)) (N, c, h, w) with the parameters at `norm`,
 * recomputed as the forward computed it; NULL when out of memory. */
static float *norm_recompute(BackwardContext *ctx, const float *in,
                             ParamPair norm, int32_t c, int32_t h, int32_t w,
                             int32_t groups, float eps) {
  float *out = dm_activation_new(ctx->n, c, h, w, false, ctx->error);
  if (out != NULL)
    dm_groupnorm_forward(out, in, PARAM(ctx, norm.weight),
                         PARAM(ctx, norm.bias), ctx->n, c, (size_t)h * w,
                         groups, eps, true);
  return out;
}

/* din += the gradient through SiLU(GroupNorm(in)) at `norm`. */
static bool norm_backward(BackwardContext *ctx, float *din, const float *dout,
                          const float *in, ParamPair norm, int32_t c,
                          size_t hw, int32_t groups, float eps) {
  return dm_groupnorm_backward(din, GRAD(ctx, norm.weight),
                               GRAD(ctx, norm.bias), dout, in,
                               PARAM(ctx, norm.weight),
                               PARAM(ctx, norm.bias), ctx->n, c, hw, groups,
                               eps, true) ||
         out_of_memory(ctx);
}

/* A resnet's second half, out = (shortcut(x) + conv2(SiLU(norm2(a)))) /
 * output_scale: dx += the shortcut's gradient, da += norm2's. dout is
 * scaled in place. */
static bool resnet_out_backward(BackwardContext *ctx, float *dx, float *da,
                                float *dout, const float *x, const float *a,
                                int32_t h, int32_t w, const ResnetLayout *r) {
  const size_t hw = (size_t)h * w, count = (size_t)ctx->n * r->c_out * hw;
  if (r->output_scale != 1.0f)
    for (size_t p = 0; p < count; p++) dout[p] /= r->output_scale;
  float *normed = norm_recompute(ctx, a, r->norm2, r->c_out, h, w, r->groups,
                                 r->eps);
  float *dnormed = zeros(ctx, r->c_out, h, w);
  bool ok = normed && dnormed &&
            conv_backward(ctx, dnormed, dout, normed, r->conv2, r->c_out, h,
                          w, r->c_out, 3, 1, 1);
  free(normed);
  if (ok && r->has_shortcut)
    ok = conv_backward(ctx, dx, dout, x, r->conv_shortcut, r->c_in, h, w,
                       r->c_out, 1, 1, 0);
  else if (ok) {
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < count; p++) dx[p] += dout[p];
  }
  ok = ok && norm_backward(ctx, da, dnormed, a, r->norm2, r->c_out, hw,
                           r->groups, r->eps);
  free(dnormed);
  return ok;
}

/* A resnet's first half, a = conv1(SiLU(norm1(x))) + time_emb_proj(temb)
 * broadcast over the pixels: dx += norm1's gradient, dtemb_silu += the
 * time projection's. */
static bool resnet_in_backward(BackwardContext *ctx, float *dx,
                               const float *da, const float *x, int32_t h,
                               int32_t w, const ResnetLayout *r) {
  const size_t hw = (size_t)h * w;
  float *dshift = zeros(ctx, r->c_out, 1, 1);
  float *normed = norm_recompute(ctx, x, r->norm1, r->c_in, h, w, r->groups,
                                 r->eps);
  float *dnormed = zeros(ctx, r->c_in, h, w);
  bool ok = dshift && normed && dnormed;
  if (ok) {
    dm_channel_shift_backward(dshift, da, ctx->n, r->c_out, hw);
    dm_linear_backward(ctx->dtemb_silu, GRAD(ctx, r->time_emb_proj.weight),
                       GRAD(ctx, r->time_emb_proj.bias), dshift,
                       ctx->temb_silu, PARAM(ctx, r->time_emb_proj.weight),
                       ctx->n, ctx->unet->layout->temb_dim, r->c_out);
    ok = conv_backward(ctx, dnormed, da, normed, r->conv1, r->c_in, h, w,
                       r->c_out, 3, 1, 1) &&
         norm_backward(ctx, dx, dnormed, x, r->norm1, r->c_in, hw, r->groups,
                       r->eps);
  }
  free(dshift);
  free(normed);
  free(dnormed);
  return ok;
}

/* dx += the gradient of a resnet's input from dout (its output's, scaled
 * in place). Pops norm2's input a, then the resnet's input x. */
static bool resnet_backward(BackwardContext *ctx, float *dx, float *dout,
                            int32_t h, int32_t w, const ResnetLayout *r) {
  float *a = pop(ctx, r->c_out, h, w);
  float *x = pop(ctx, r->c_in, h, w);
  float *da = zeros(ctx, r->c_out, h, w);
  bool ok = da && resnet_out_backward(ctx, dx, da, dout, x, a, h, w, r);
  free(a);
  ok = ok && resnet_in_backward(ctx, dx, da, x, h, w, r);
  free(da);
  free(x);
  return ok;
}

/* dx += the gradient of an attention block's input. Pops that input. */
static bool attention_backward(BackwardContext *ctx, float *dx,
                               const float *dout, int32_t h, int32_t w,
                               const AttentionLayout *a) {
  float *x = pop(ctx, a->channels, h, w);
  const DmAttentionWeights weights =
      dm_unet_attention_weights(ctx->params, a);
  const DmAttentionGrads grads = dm_unet_attention_grads(ctx->grads, a);
  const bool ok = dm_attention_backward(dx, &grads, dout, x, &weights, ctx->n,
                                        a->channels, (size_t)h * w, a->heads,
                                        a->groups, a->eps, a->rescale);
  free(x);
  return ok || out_of_memory(ctx);
}

/* Resnet j of `block`, then attention j, backwards: dx (the resnet's input
 * gradient) += from dout (the layer's output gradient, which it may
 * scale). */
static bool block_layer_backward(BackwardContext *ctx, float *dx, float *dout,
                                 const BlockLayout *block, int32_t j,
                                 int32_t h, int32_t w) {
  const ResnetLayout *r = &block->resnets[j];
  if (!block->has_attention) return resnet_backward(ctx, dx, dout, h, w, r);
  float *dr = zeros(ctx, r->c_out, h, w);
  const bool ok =
      dr && attention_backward(ctx, dr, dout, h, w, &block->attentions[j]) &&
      resnet_backward(ctx, dx, dr, h, w, r);
  free(dr);
  return ok;
}

/* out = conv_out(SiLU(conv_norm_out(hidden))) backwards from dout; *g
 * becomes hidden's gradient. Pops hidden. */
static bool output_backward(BackwardContext *ctx, const float *dout,
                            DmActivation *g) {
  const DmUnetConfig *config = &ctx->unet->config;
  const DmUnetLayout *layout = ctx->unet->layout;
  const int32_t c = config->block_out_channels[0];
  const int32_t h = ctx->height, w = ctx->width;
  float *hidden = pop(ctx, c, h, w);
  float *normed = norm_recompute(ctx, hidden, layout->conv_norm_out, c, h, w,
                                 config->norm_num_groups, config->norm_eps);
  float *dnormed = zeros(ctx, c, h, w);
  *g = (DmActivation){zeros(ctx, c, h, w), c, h, w};
  const bool ok =
      normed && dnormed && g->data &&
      conv_backward(ctx, dnormed, dout, normed, layout->conv_out, c, h, w,
                    config->out_channels, 3, 1, 1) &&
      norm_backward(ctx, g->data, dnormed, hidden, layout->conv_norm_out, c,
                    (size_t)h * w, config->norm_num_groups, config->norm_eps);
  free(hidden);
  free(normed);
  free(dnormed);
  return ok;
}

/* out = conv(nearest(hidden)) backwards: *g goes from (c, 2h, 2w) to
 * hidden's gradient (c, h, w). Pops hidden. */
static bool upsample_backward(BackwardContext *ctx, DmActivation *g,
                              const BlockLayout *block) {
  const int32_t c = g->c, h = g->h / 2, w = g->w / 2;
  float *hidden = pop(ctx, c, h, w);
  float *nearest = dm_activation_new(ctx->n, c, g->h, g->w, false,
                                     ctx->error);
  float *dnearest = zeros(ctx, c, g->h, g->w);
  float *dhidden = zeros(ctx, c, h, w);
  bool ok = nearest && dnearest && dhidden;
  if (ok) {
    dm_upsample2x_forward(nearest, hidden, ctx->n, c, h, w);
    ok = conv_backward(ctx, dnearest, g->data, nearest, block->resample, c,
                       g->h, g->w, c, 3, 1, 1);
  }
  if (ok) dm_upsample2x_backward(dhidden, dnearest, ctx->n, c, h, w);
  free(hidden);
  free(nearest);
  free(dnearest);
  free(g->data);
  *g = (DmActivation){dhidden, c, h, w};
  return ok;
}

/* Up resnet j, out = layer([hidden | skip]), backwards: *g becomes
 * hidden's gradient, and skip's is pushed. */
static bool up_layer_backward(BackwardContext *ctx, GradStack *dskips,
                              DmActivation *g, const BlockLayout *block,
                              int32_t j) {
  const ResnetLayout *r = &block->resnets[j];
  const int32_t c_skip = block->skip_channels[j], c_hidden = r->c_in - c_skip;
  float *djoined = zeros(ctx, r->c_in, g->h, g->w);
  bool ok = djoined &&
            block_layer_backward(ctx, djoined, g->data, block, j, g->h, g->w);
  free(g->data);
  g->data = ok ? zeros(ctx, c_hidden, g->h, g->w) : NULL;
  g->c = c_hidden;
  float *dskip = ok ? zeros(ctx, c_skip, g->h, g->w) : NULL;
  dskips->items[dskips->count++] = dskip;
  ok = ok && g->data && dskip;
  if (ok)
    dm_concat_backward(g->data, dskip, djoined, ctx->n, c_hidden, c_skip,
                       (size_t)g->h * g->w);
  free(djoined);
  return ok;
}

/* The up blocks in reverse: *g goes from the up path's output gradient to
 * the mid block's output gradient. */
static bool up_path_backward(BackwardContext *ctx, GradStack *dskips,
                             DmActivation *g) {
  const DmUnetLayout *layout = ctx->unet->layout;
  for (int32_t i = ctx->unet->config.n_levels - 1; i >= 0; i--) {
    const BlockLayout *block = &layout->up[i];
    if (block->has_resample && !upsample_backward(ctx, g, block))
      return false;
    for (int32_t j = block->n_resnets - 1; j >= 0; j--)
      if (!up_layer_backward(ctx, dskips, g, block, j)) return false;
  }
  return true;
}

/* The mid block (resnet 0, attention, resnet 1) backwards from g, its
 * output's gradient: dtop (the last skip's gradient, the mid block's input)
 * += its input's gradient; without a mid block, g itself. */
static bool mid_backward(BackwardContext *ctx, float *dtop,
                         const DmActivation *g) {
  const DmUnetLayout *layout = ctx->unet->layout;
  const size_t count = (size_t)ctx->n * g->c * g->h * g->w;
  if (!ctx->unet->config.has_mid_block) {
    for (size_t p = 0; p < count; p++) dtop[p] += g->data[p];
    return true;
  }
  float *dhidden = zeros(ctx, g->c, g->h, g->w);
  bool ok = dhidden && resnet_backward(ctx, dhidden, g->data, g->h, g->w,
                                       &layout->mid_resnets[1]);
  if (ok && layout->mid_has_attention) {
    float *dresnet = zeros(ctx, g->c, g->h, g->w);
    ok = dresnet && attention_backward(ctx, dresnet, dhidden, g->h, g->w,
                                       &layout->mid_attention);
    free(dhidden);
    dhidden = dresnet;
  }
  ok = ok && resnet_backward(ctx, dtop, dhidden, g->h, g->w,
                             &layout->mid_resnets[0]);
  free(dhidden);
  return ok;
}

/* Pops the top gradient (a layer's output) for `backward` to add its
 * input's gradient into the new top. */
static float *pop_output_grad(GradStack *dskips) {
  return dskips->items[--dskips->count];
}

/* The stride-2 downsampler of a level (c channels, h x w before it). Pops
 * its input. */
static bool downsample_backward(BackwardContext *ctx, GradStack *dskips,
                                const BlockLayout *block, int32_t c,
                                int32_t h, int32_t w) {
  float *dout = pop_output_grad(dskips);
  float *in = pop(ctx, c, h, w);
  const bool ok = conv_backward(ctx, dskips->items[dskips->count - 1], dout,
                                in, block->resample, c, h, w, c, 3, 2,
                                ctx->unet->config.downsample_padding);
  free(in);
  free(dout);
  return ok;
}

/* The down blocks in reverse, from the skips' gradients to the first
 * skip's (conv_in's output), left alone on the stack. */
static bool down_path_backward(BackwardContext *ctx, GradStack *dskips) {
  const DmUnetConfig *config = &ctx->unet->config;
  for (int32_t level = config->n_levels - 1; level >= 0; level--) {
    const BlockLayout *block = &ctx->unet->layout->down[level];
    const int32_t h = ctx->height >> level, w = ctx->width >> level;
    if (block->has_resample &&
        !downsample_backward(ctx, dskips, block,
                             config->block_out_channels[level], h, w))
      return false;
    for (int32_t j = block->n_resnets - 1; j >= 0; j--) {
      float *dout = pop_output_grad(dskips);
      const bool ok = block_layer_backward(
          ctx, dskips->items[dskips->count - 1], dout, block, j, h, w);
      free(dout);
      if (!ok) return false;
    }
  }
  return true;
}

/* conv_in backwards from dout, its output's gradient; dx += dL/dx unless
 * NULL (twice conv_in's input gradient when center_input_sample, as the
 * input is 2x - 1). Pops conv_in's input. */
static bool input_backward(BackwardContext *ctx, float *dx,
                           const float *dout) {
  const DmUnetConfig *config = &ctx->unet->config;
  const int32_t c = config->in_channels, h = ctx->height, w = ctx->width;
  float *in = pop(ctx, c, h, w);
  float *din = dx && config->center_input_sample ? zeros(ctx, c, h, w) : dx;
  const bool ok = (din || !dx) &&
                  conv_backward(ctx, din, dout, in, ctx->unet->layout->conv_in,
                                c, h, w, config->block_out_channels[0], 3, 1,
                                1);
  if (din != dx) {
    const size_t count = (size_t)ctx->n * c * h * w;
    for (size_t p = 0; ok && p < count; p++) dx[p] += 2.0f * din[p];
    free(din);
  }
  free(in);
  return ok;
}

/* temb_silu = SiLU(linear_2(SiLU(linear_1(sinusoid(t))))) backwards from
 * dtemb_silu into both linear layers' parameters. The sinusoid has no
 * parameters and t is not differentiated, so it stops there. Pops the
 * linear outputs and the sinusoid. */
static bool time_backward(BackwardContext *ctx) {
  const DmUnetLayout *layout = ctx->unet->layout;
  const int32_t n = ctx->n, dim = layout->time_dim, temb = layout->temb_dim;
  const size_t count = (size_t)n * temb;
  float *linear_2 = pop(ctx, temb, 1, 1), *linear_1 = pop(ctx, temb, 1, 1);
  float *sinusoid = pop(ctx, dim, 1, 1);
  float *dlinear_2 = zeros(ctx, temb, 1, 1);
  float *dlinear_1 = zeros(ctx, temb, 1, 1);
  float *hidden = dm_activation_new(n, temb, 1, 1, false, ctx->error);
  float *dhidden = zeros(ctx, temb, 1, 1);
  const bool ok = dlinear_2 && dlinear_1 && hidden && dhidden;
  if (ok) {
    dm_silu_backward(dlinear_2, ctx->dtemb_silu, linear_2, count);
    dm_silu_forward(hidden, linear_1, count);
    dm_linear_backward(dhidden, GRAD(ctx, layout->time_linear_2.weight),
                       GRAD(ctx, layout->time_linear_2.bias), dlinear_2,
                       hidden, PARAM(ctx, layout->time_linear_2.weight), n,
                       temb, temb);
    dm_silu_backward(dlinear_1, dhidden, linear_1, count);
    dm_linear_backward(NULL, GRAD(ctx, layout->time_linear_1.weight),
                       GRAD(ctx, layout->time_linear_1.bias), dlinear_1,
                       sinusoid, PARAM(ctx, layout->time_linear_1.weight), n,
                       dim, temb);
  }
  float *buffers[] = {linear_2, linear_1, sinusoid, dlinear_2, dlinear_1,
                      hidden, dhidden};
  for (size_t i = 0; i < G_N_ELEMENTS(buffers); i++) free(buffers[i]);
  return ok;
}

static bool check_backward(const DmUnet *unet, const DmUnetTape *tape,
                           const DmTensor *dout, GError **error) {
  if (!dm_unet_tape_recorded(tape, unet)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the tape holds no forward of this network: run "
                "dm_unet_forward_train first");
    return false;
  }
  int32_t n, height, width;
  dm_unet_tape_batch(tape, &n, &height, &width);
  if (dout->n != n || dout->c != unet->config.out_channels ||
      dout->h != height || dout->w != width) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "output gradient (%d, %d, %d, %d) does not match the "
                "recorded output (%d, %d, %d, %d)", dout->n, dout->c,
                dout->h, dout->w, n, unet->config.out_channels, height,
                width);
    return false;
  }
  return true;
}

/* The backward from the output to the first skip's gradient, left on
 * `dskips`. */
static bool network_backward(BackwardContext *ctx, GradStack *dskips,
                             const float *dout) {
  DmActivation g = {0};
  bool ok = output_backward(ctx, dout, &g) &&
            up_path_backward(ctx, dskips, &g) &&
            mid_backward(ctx, dskips->items[dskips->count - 1], &g);
  free(g.data);
  return ok && down_path_backward(ctx, dskips);
}

bool dm_unet_backward(DmUnet *unet, DmUnetTape *tape, float *grads,
                      float *dx, const DmTensor *dout, GError **error) {
  if (!check_backward(unet, tape, dout, error)) return false;
  dm_threads_init();
  GError *local_error = NULL;
  BackwardContext ctx = {.unet = unet, .params = unet->params.data,
                         .grads = grads, .tape = tape,
                         .error = &local_error};
  dm_unet_tape_batch(tape, &ctx.n, &ctx.height, &ctx.width);
  const int32_t temb = unet->layout->temb_dim;
  ctx.temb_silu = pop(&ctx, temb, 1, 1); /* saved last */
  ctx.dtemb_silu = zeros(&ctx, temb, 1, 1);
  GradStack *dskips = g_new0(GradStack, 1);
  const bool ok = ctx.dtemb_silu &&
                  network_backward(&ctx, dskips, dout->data) &&
                  input_backward(&ctx, dx, dskips->items[0]) &&
                  time_backward(&ctx);
  for (int32_t i = 0; i < dskips->count; i++) free(dskips->items[i]);
  g_free(dskips);
  free(ctx.temb_silu);
  free(ctx.dtemb_silu);
  dm_unet_tape_clear(tape);
  if (!ok)
    g_propagate_error(error, local_error ? local_error
                                         : g_error_new(DM_ERROR,
                                                       DM_ERROR_NO_MEMORY,
                                                       "out of memory"));
  return ok;
}
