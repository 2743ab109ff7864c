/* gimp-diffusion core: UNet2DConditionModel's config, parameter table and
 * layout (unet-cond.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The table follows diffusers' module order (state_dict order): conv_in,
 * time_embedding, down_blocks, up_blocks, mid_block (registered after the
 * block lists), conv_norm_out, conv_out; in a block its attentions, then
 * its resnets, then its resampler. */
#include <math.h>
#include <string.h>

#include "network/unet-cond.h"

void dm_unet_cond_config_default(DmUnetCondConfig *config) {
  static const int32_t channels[4] = {320, 640, 1280, 1280};
  *config = (DmUnetCondConfig){.in_channels = 4,
                               .out_channels = 4,
                               .flip_sin_to_cos = true,
                               .time_embedding_dim = 4 * channels[0],
                               .n_levels = 4,
                               .layers_per_block = 2,
                               .transformer_layers_per_block = 1,
                               .downsample_padding = 1,
                               .mid_block_scale_factor = 1.0f,
                               .norm_num_groups = 32,
                               .norm_eps = 1e-5f,
                               .cross_attention_dim = 1280};
  for (int32_t i = 0; i < 4; i++) {
    config->block_out_channels[i] = channels[i];
    config->down_cross_attention[i] = i < 3;
    config->up_cross_attention[i] = i > 0;
    config->heads[i] = 8;
  }
}

/* ---- config checks ------------------------------------------------------- */

static bool in_range(int32_t value, int32_t low, int32_t high) {
  return value >= low && value <= high;
}

/* Sizes within the bounds, before anything divides by them. */
static void check_sizes(DmParamsBuilder *b, const DmUnetCondConfig *c) {
  const int32_t most = DM_UNET_COND_MAX_CHANNELS;
  const struct {
    const char *field;
    int32_t value, max;
  } sizes[] = {
      {"in_channels", c->in_channels, most},
      {"out_channels", c->out_channels, most},
      {"time_embedding_dim", c->time_embedding_dim, most},
      {"layers_per_block", c->layers_per_block, DM_UNET_COND_MAX_LAYERS},
      {"transformer_layers_per_block", c->transformer_layers_per_block,
       DM_UNET_COND_MAX_TRANSFORMER_LAYERS},
      {"norm_num_groups", c->norm_num_groups, most},
      {"cross_attention_dim", c->cross_attention_dim, most}};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    if (!in_range(sizes[i].value, 1, sizes[i].max))
      dm_params_builder_fail(b, "unet: %s = %d is outside [1, %d]",
                             sizes[i].field, sizes[i].value, sizes[i].max);
  if (!in_range(c->n_levels, 1, DM_MAX_LEVELS)) {
    dm_params_builder_fail(b, "unet: %d levels (block_out_channels) is "
                           "outside [1, %d]", c->n_levels, DM_MAX_LEVELS);
    return;
  }
  for (int32_t i = 0; i < c->n_levels; i++)
    if (!in_range(c->block_out_channels[i], 1, most))
      dm_params_builder_fail(b, "unet: block_out_channels[%d] = %d is "
                             "outside [1, %d]", i, c->block_out_channels[i],
                             most);
}

/* Whether level i has transformers: in its down block, in the up block
 * working at it, or (the last level) in the mid block. */
static bool level_has_transformers(const DmUnetCondConfig *c, int32_t i) {
  return c->down_cross_attention[i] ||
         c->up_cross_attention[c->n_levels - 1 - i] || i == c->n_levels - 1;
}

/* Heads that divide the channels of every level with transformers. */
static void check_heads(DmParamsBuilder *b, const DmUnetCondConfig *c) {
  for (int32_t i = 0; i < c->n_levels; i++) {
    const int32_t channels = c->block_out_channels[i], heads = c->heads[i];
    if (!level_has_transformers(c, i)) continue;
    if (!in_range(heads, 1, channels) || channels % heads != 0)
      dm_params_builder_fail(b, "unet: attention_head_dim (heads) = %d at "
                             "level %d does not divide its %d channels",
                             heads, i, channels);
  }
}

/* Floats finite, eps positive, the sinusoid's divisor half - shift not 0. */
static void check_numbers(DmParamsBuilder *b, const DmUnetCondConfig *c) {
  if (!(c->norm_eps > 0.0f && isfinite(c->norm_eps)))
    dm_params_builder_fail(b, "unet: norm_eps = %g is not a positive number",
                           (double)c->norm_eps);
  if (!isfinite(c->mid_block_scale_factor) || c->mid_block_scale_factor == 0)
    dm_params_builder_fail(b, "unet: mid_block_scale_factor = %g",
                           (double)c->mid_block_scale_factor);
  if (!in_range(c->downsample_padding, 0, 1))
    dm_params_builder_fail(b, "unet: downsample_padding = %d (0 or 1)",
                           c->downsample_padding);
  const int32_t half = c->n_levels >= 1 ? c->block_out_channels[0] / 2 : 0;
  if (!in_range(c->freq_shift, -DM_UNET_COND_MAX_CHANNELS,
                DM_UNET_COND_MAX_CHANNELS) || c->freq_shift == half)
    dm_params_builder_fail(b, "unet: freq_shift = %d (must differ from %d)",
                           c->freq_shift, half);
}

/* ---- parameter table ----------------------------------------------------- */

/* The kinds of layers, by how their tensors are shaped. */
typedef enum { NORM, LINEAR, CONV3, CONV1, WEIGHT_ONLY } LayerKind;

/* Adds "<prefix>.<part>.weight" (and ".bias" unless WEIGHT_ONLY; without
 * ".<part>" when part is NULL); returns the weight's index in the table.
 * Norms take `in` channels in `out` groups. */
static int32_t add_layer(DmParamsBuilder *b, const char *prefix,
                         const char *part, LayerKind kind, int32_t out,
                         int32_t in) {
  const int32_t index = (int32_t)b->infos->len;
  char *name = part ? g_strdup_printf("%s.%s", prefix, part)
                    : g_strdup(prefix);
  const int64_t shape[2] = {out, in};
  switch (kind) {
  case NORM:
    dm_params_add_norm(b, name, in, out);
    break;
  case LINEAR:
    dm_params_add_linear(b, name, out, in);
    break;
  case CONV3:
  case CONV1:
    dm_params_add_conv(b, name, out, in, kind == CONV3 ? 3 : 1);
    break;
  case WEIGHT_ONLY:
    dm_params_add(b, 2, shape, "%s.weight", name);
    break;
  }
  g_free(name);
  return index;
}

/* diffusers' ResnetBlock2D ("default" time embedding norm). */
static DmUnetCondResnet add_resnet(DmParamsBuilder *b, const char *prefix,
                                   int32_t c_in, int32_t c_out,
                                   const DmUnetCondConfig *c,
                                   float output_scale) {
  const int32_t groups = c->norm_num_groups;
  DmUnetCondResnet r = {.c_in = c_in, .c_out = c_out,
                        .output_scale = output_scale, .conv_shortcut = -1};
  r.norm1 = add_layer(b, prefix, "norm1", NORM, groups, c_in);
  r.conv1 = add_layer(b, prefix, "conv1", CONV3, c_out, c_in);
  r.time_emb_proj = add_layer(b, prefix, "time_emb_proj", LINEAR, c_out,
                              c->time_embedding_dim);
  r.norm2 = add_layer(b, prefix, "norm2", NORM, groups, c_out);
  r.conv2 = add_layer(b, prefix, "conv2", CONV3, c_out, c_out);
  if (c_in != c_out)
    r.conv_shortcut = add_layer(b, prefix, "conv_shortcut", CONV1, c_out,
                                c_in);
  return r;
}

/* diffusers' Attention without bias on q, k, v: to_q, to_k, to_v,
 * to_out.0; keys and values from `context` features. Returns to_q's
 * index (to_k, to_v, to_out.0 follow). */
static int32_t add_attention(DmParamsBuilder *b, const char *prefix,
                             int32_t channels, int32_t context) {
  char *name = g_strdup_printf("%s.to_out.0", prefix);
  const int32_t q = add_layer(b, prefix, "to_q", WEIGHT_ONLY, channels,
                              channels);
  add_layer(b, prefix, "to_k", WEIGHT_ONLY, channels, context);
  add_layer(b, prefix, "to_v", WEIGHT_ONLY, channels, context);
  dm_params_add_linear(b, name, channels, channels);
  g_free(name);
  return q;
}

/* One BasicTransformerBlock (layer_norm, GEGLU feed-forward of 4 C). */
static DmUnetCondBlock add_block(DmParamsBuilder *b, const char *prefix,
                                 int32_t channels,
                                 const DmUnetCondConfig *c) {
  char *attn1 = g_strdup_printf("%s.attn1", prefix);
  char *attn2 = g_strdup_printf("%s.attn2", prefix);
  DmUnetCondBlock k;
  k.norm1 = add_layer(b, prefix, "norm1", NORM, 1, channels);
  k.attn1 = add_attention(b, attn1, channels, channels);
  k.norm2 = add_layer(b, prefix, "norm2", NORM, 1, channels);
  k.attn2 = add_attention(b, attn2, channels, c->cross_attention_dim);
  k.norm3 = add_layer(b, prefix, "norm3", NORM, 1, channels);
  k.ff_in = add_layer(b, prefix, "ff.net.0.proj", LINEAR, 8 * channels,
                      channels);
  k.ff_out = add_layer(b, prefix, "ff.net.2", LINEAR, channels,
                       4 * channels);
  g_free(attn1);
  g_free(attn2);
  return k;
}

/* Hands out the blocks of the transformers in build order. */
typedef struct {
  DmUnetCondBlock *blocks; /* NULL: a table only */
  int32_t used;
} BlockPool;

/* A Transformer2DModel on `channels` with `heads` heads; proj_in and
 * proj_out 1x1 convs, or linears with use_linear_projection. */
static DmUnetCondTransformer add_transformer(DmParamsBuilder *b,
                                             BlockPool *pool,
                                             const char *prefix,
                                             int32_t channels, int32_t heads,
                                             const DmUnetCondConfig *c) {
  const LayerKind projection = c->use_linear_projection ? LINEAR : CONV1;
  const int32_t count = c->transformer_layers_per_block;
  DmUnetCondTransformer t = {.channels = channels, .heads = heads};
  t.norm = add_layer(b, prefix, "norm", NORM, c->norm_num_groups, channels);
  t.proj_in = add_layer(b, prefix, "proj_in", projection, channels, channels);
  DmUnetCondBlock *blocks = pool->blocks ? pool->blocks + pool->used : NULL;
  for (int32_t i = 0; i < count; i++) {
    char *name = g_strdup_printf("%s.transformer_blocks.%d", prefix, i);
    const DmUnetCondBlock block = add_block(b, name, channels, c);
    if (blocks) blocks[i] = block;
    g_free(name);
  }
  pool->used += count;
  t.blocks = blocks;
  t.proj_out = add_layer(b, prefix, "proj_out", projection, channels,
                         channels);
  return t;
}

/* The transformers of a block, "<prefix>.attentions.j", j < n_layers. */
static void add_block_transformers(DmParamsBuilder *b, BlockPool *pool,
                                   DmUnetCondStage *stage, const char *prefix,
                                   int32_t channels, int32_t heads,
                                   const DmUnetCondConfig *c) {
  for (int32_t j = 0; j < stage->n_layers; j++) {
    char *name = g_strdup_printf("%s.attentions.%d", prefix, j);
    stage->layers[j].transformer = add_transformer(b, pool, name, channels,
                                                   heads, c);
    g_free(name);
  }
}

/* Down block i: resnet j takes the level's input (the level above's
 * channels) first, then its own; a stride-2 conv except at the last
 * level. */
static void add_down_block(DmParamsBuilder *b, BlockPool *pool,
                           DmUnetCondStage *stage, int32_t level,
                           const DmUnetCondConfig *c) {
  const int32_t c_out = c->block_out_channels[level];
  char *prefix = g_strdup_printf("down_blocks.%d", level);
  stage->n_layers = c->layers_per_block;
  if (c->down_cross_attention[level])
    add_block_transformers(b, pool, stage, prefix, c_out, c->heads[level], c);
  for (int32_t j = 0; j < stage->n_layers; j++) {
    const int32_t c_in = j > 0 ? c_out
                               : c->block_out_channels[MAX(level - 1, 0)];
    char *name = g_strdup_printf("%s.resnets.%d", prefix, j);
    stage->layers[j].resnet = add_resnet(b, name, c_in, c_out, c, 1.0f);
    g_free(name);
  }
  stage->resample = level < c->n_levels - 1
                        ? add_layer(b, prefix, "downsamplers.0.conv", CONV3,
                                    c_out, c_out)
                        : -1;
  g_free(prefix);
}

/* Up block i works at level n-1-i. Resnet j takes the hidden state (the
 * level below's channels first) and one skip: the same level's, except the
 * last, which comes from the level above (diffusers' res_skip_channels). */
static void add_up_block(DmParamsBuilder *b, BlockPool *pool,
                         DmUnetCondStage *stage, int32_t index,
                         const DmUnetCondConfig *c) {
  const int32_t n = c->n_levels, level = n - 1 - index;
  const int32_t c_out = c->block_out_channels[level];
  const int32_t c_below = c->block_out_channels[MIN(level + 1, n - 1)];
  const int32_t c_above = c->block_out_channels[MAX(level - 1, 0)];
  char *prefix = g_strdup_printf("up_blocks.%d", index);
  stage->n_layers = c->layers_per_block + 1;
  if (c->up_cross_attention[index])
    add_block_transformers(b, pool, stage, prefix, c_out, c->heads[level], c);
  for (int32_t j = 0; j < stage->n_layers; j++) {
    const int32_t hidden = j == 0 ? c_below : c_out;
    const int32_t skip = j == stage->n_layers - 1 ? c_above : c_out;
    char *name = g_strdup_printf("%s.resnets.%d", prefix, j);
    stage->layers[j].resnet = add_resnet(b, name, hidden + skip, c_out, c,
                                         1.0f);
    g_free(name);
  }
  stage->resample = index < n - 1
                        ? add_layer(b, prefix, "upsamplers.0.conv", CONV3,
                                    c_out, c_out)
                        : -1;
  g_free(prefix);
}

/* UNetMidBlock2DCrossAttn: resnet, transformer, resnet at the last level. */
static void add_mid_block(DmParamsBuilder *b, BlockPool *pool, DmUnetCond *m,
                          const DmUnetCondConfig *c) {
  const int32_t channels = c->block_out_channels[c->n_levels - 1];
  const float scale = c->mid_block_scale_factor;
  m->mid_transformer = add_transformer(b, pool, "mid_block.attentions.0",
                                       channels, c->heads[c->n_levels - 1],
                                       c);
  m->mid_resnets[0] = add_resnet(b, "mid_block.resnets.0", channels, channels,
                                 c, scale);
  m->mid_resnets[1] = add_resnet(b, "mid_block.resnets.1", channels, channels,
                                 c, scale);
}

/* Every parameter of a valid config, in diffusers' order, and the layout
 * into `m`. */
static void add_network(DmParamsBuilder *b, BlockPool *pool, DmUnetCond *m,
                        const DmUnetCondConfig *c) {
  const int32_t c0 = c->block_out_channels[0], temb = c->time_embedding_dim;
  m->conv_in = add_layer(b, "conv_in", NULL, CONV3, c0, c->in_channels);
  m->time_linear_1 = add_layer(b, "time_embedding", "linear_1", LINEAR, temb,
                               c0);
  m->time_linear_2 = add_layer(b, "time_embedding", "linear_2", LINEAR, temb,
                               temb);
  for (int32_t i = 0; i < c->n_levels; i++)
    add_down_block(b, pool, &m->down[i], i, c);
  for (int32_t i = 0; i < c->n_levels; i++)
    add_up_block(b, pool, &m->up[i], i, c);
  add_mid_block(b, pool, m, c);
  m->conv_norm_out = add_layer(b, "conv_norm_out", NULL, NORM,
                               c->norm_num_groups, c0);
  m->conv_out = add_layer(b, "conv_out", NULL, CONV3, c->out_channels, c0);
}

/* Transformers of a valid config: layers of the cross-attention blocks,
 * and the mid block's. */
static int32_t count_transformers(const DmUnetCondConfig *c) {
  int32_t count = 1;
  for (int32_t i = 0; i < c->n_levels; i++)
    count += (c->down_cross_attention[i] ? c->layers_per_block : 0) +
             (c->up_cross_attention[i] ? c->layers_per_block + 1 : 0);
  return count;
}

/* The table of `config`, and the layout into `model` (its blocks NULL for
 * a table only). */
static bool build_table(DmParams *params, DmUnetCond *model,
                        const DmUnetCondConfig *c, bool layout,
                        GError **error) {
  DmParamsBuilder b;
  dm_params_builder_init(&b);
  check_sizes(&b, c);
  if (b.error == NULL) check_heads(&b, c);
  check_numbers(&b, c);
  if (b.error != NULL) return dm_params_builder_finish(&b, params, error);
  const int32_t count = count_transformers(c) * c->transformer_layers_per_block;
  BlockPool pool = {layout ? g_new0(DmUnetCondBlock, count) : NULL, 0};
  add_network(&b, &pool, model, c);
  if (!dm_params_builder_finish(&b, params, error)) {
    g_free(pool.blocks);
    return false;
  }
  model->blocks = pool.blocks;
  return true;
}

bool dm_unet_cond_params_describe(DmParams *params,
                                  const DmUnetCondConfig *config,
                                  GError **error) {
  DmUnetCond *scratch = g_new0(DmUnetCond, 1);
  const bool ok = build_table(params, scratch, config, false, error);
  g_free(scratch);
  return ok;
}

bool dm_unet_cond_init(DmUnetCond *model, const DmUnetCondConfig *config,
                       GError **error) {
  memset(model, 0, sizeof *model);
  model->config = *config;
  return build_table(&model->weights.table, model, config, true, error);
}

bool dm_unet_cond_init_random(DmUnetCond *model,
                              const DmUnetCondConfig *config, DmDtype dtype,
                              uint64_t seed, GError **error) {
  if (!dm_unet_cond_init(model, config, error)) return false;
  if (!dm_weights_alloc(&model->weights, dtype, error)) {
    dm_unet_cond_clear(model);
    return false;
  }
  dm_weights_fill_random(&model->weights, seed);
  return true;
}

void dm_unet_cond_clear(DmUnetCond *model) {
  dm_weights_clear(&model->weights);
  g_free(model->blocks);
  memset(model, 0, sizeof *model);
}

int32_t dm_unet_cond_size_multiple(const DmUnetCondConfig *config) {
  return 1 << (config->n_levels - 1);
}

/* ---- arithmetic count ---------------------------------------------------- */

/* Multiply-adds count 2: a k x k convolution from c_in to c_out channels
 * on `pixels` outputs (a linear is k = 1). */
static double conv_flops(int32_t c_out, int32_t c_in, int32_t kernel,
                         double pixels) {
  return 2.0 * c_out * c_in * kernel * kernel * pixels;
}

/* With the projection of the time embedding (time_dim wide) to c_out. */
static double resnet_flops(const DmUnetCondResnet *r, int32_t time_dim,
                           double pixels) {
  double flops = conv_flops(r->c_out, r->c_in, 3, pixels) +
                 conv_flops(r->c_out, r->c_out, 3, pixels) +
                 conv_flops(r->c_out, time_dim, 1, 1);
  if (r->conv_shortcut >= 0) flops += conv_flops(r->c_out, r->c_in, 1, pixels);
  return flops;
}

/* proj_in and proj_out; per block self-attention (q, k, v, out over the
 * pixels, q k^T and the weighted sum of v: 2 P^2 C each), cross-attention
 * (q and out over the pixels, k and v over the text, 2 P L C twice) and
 * GEGLU's C -> 8 C and 4 C -> C. */
static double transformer_flops(const DmUnetCondTransformer *t,
                                int32_t layers, double pixels, double text,
                                int32_t text_width) {
  if (!t->blocks) return 0;
  const int32_t c = t->channels;
  const double self = conv_flops(4 * c, c, 1, pixels) +
                      2.0 * 2.0 * pixels * pixels * c;
  const double cross = conv_flops(2 * c, c, 1, pixels) +
                       conv_flops(2 * c, text_width, 1, text) +
                       2.0 * 2.0 * pixels * text * c;
  const double ff = conv_flops(12 * c, c, 1, pixels);
  return conv_flops(2 * c, c, 1, pixels) + layers * (self + cross + ff);
}

static double stage_flops(const DmUnetCond *m, const DmUnetCondStage *s,
                          double pixels, double text) {
  const DmUnetCondConfig *c = &m->config;
  double flops = 0;
  for (int32_t j = 0; j < s->n_layers; j++)
    flops += resnet_flops(&s->layers[j].resnet, c->time_embedding_dim,
                          pixels) +
             transformer_flops(&s->layers[j].transformer,
                               c->transformer_layers_per_block, pixels, text,
                               c->cross_attention_dim);
  return flops;
}

double dm_unet_cond_flops(const DmUnetCond *model, int32_t height,
                          int32_t width, int32_t text_length) {
  const DmUnetCondConfig *c = &model->config;
  const int32_t levels = c->n_levels;
  const double full = (double)height * width, text = text_length;
  const int32_t time_dim = c->time_embedding_dim;
  double flops = conv_flops(c->block_out_channels[0], c->in_channels, 3,
                            full) +
                 conv_flops(c->out_channels, c->block_out_channels[0], 3,
                            full) +
                 conv_flops(time_dim, c->block_out_channels[0], 1, 1) +
                 conv_flops(time_dim, time_dim, 1, 1);
  for (int32_t i = 0; i < levels; i++) {
    const double down = full / (double)(1 << (2 * i));
    const int32_t channels = c->block_out_channels[i];
    flops += stage_flops(model, &model->down[i], down, text);
    if (model->down[i].resample >= 0)
      flops += conv_flops(channels, channels, 3, down / 4.0);
    const int32_t level = levels - 1 - i;
    const double up = full / (double)(1 << (2 * level));
    flops += stage_flops(model, &model->up[i], up, text);
    if (model->up[i].resample >= 0)
      flops += conv_flops(c->block_out_channels[level],
                          c->block_out_channels[level], 3, up * 4.0);
  }
  const double bottom = full / (double)(1 << (2 * (levels - 1)));
  return flops + resnet_flops(&model->mid_resnets[0], time_dim, bottom) +
         resnet_flops(&model->mid_resnets[1], time_dim, bottom) +
         transformer_flops(&model->mid_transformer,
                           c->transformer_layers_per_block, bottom, text,
                           c->cross_attention_dim);
}
