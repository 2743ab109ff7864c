/* gimp-diffusion core: diffusers' UNet2DModel — its parameters, their
 * layout, and what the layout tells (receptive radius, FLOPs).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * The architecture is the DDPM U-Net (Ho et al. 2020, App. B) as diffusers'
 * UNet2DModel builds it: conv_in; per level, `layers_per_block` ResNet blocks
 * (optionally each followed by self-attention) and a stride-2 downsampler
 * except at the last level; a mid block (resnet, attention, resnet); per
 * level in reverse, layers_per_block + 1 ResNet blocks that each take one
 * skip tensor concatenated along channels, and a nearest x2 upsampler except
 * at the last up block; GroupNorm, SiLU, conv_out. */
#include <math.h>
#include <string.h>

#include "network/unet-layout.h"
#include "tensor/rng.h"

/* ---- parameter table --------------------------------------------------- */

/* diffusers ResnetBlock2D with time_embedding_norm "default". */
static ResnetLayout add_resnet(DmParamsBuilder *b, const char *prefix,
                               int32_t c_in, int32_t c_out, int32_t temb_dim,
                               const DmUnetConfig *config,
                               float output_scale) {
  ResnetLayout r = {.c_in = c_in, .c_out = c_out,
                    .groups = config->norm_num_groups,
                    .eps = config->norm_eps, .output_scale = output_scale,
                    .has_shortcut = c_in != c_out};
  char *name = g_strdup_printf("%s.norm1", prefix);
  r.norm1 = dm_params_add_norm(b, name, c_in, r.groups);
  g_free(name);
  name = g_strdup_printf("%s.conv1", prefix);
  r.conv1 = dm_params_add_conv(b, name, c_out, c_in, 3);
  g_free(name);
  name = g_strdup_printf("%s.time_emb_proj", prefix);
  r.time_emb_proj = dm_params_add_linear(b, name, c_out, temb_dim);
  g_free(name);
  name = g_strdup_printf("%s.norm2", prefix);
  r.norm2 = dm_params_add_norm(b, name, c_out, r.groups);
  g_free(name);
  name = g_strdup_printf("%s.conv2", prefix);
  r.conv2 = dm_params_add_conv(b, name, c_out, c_out, 3);
  g_free(name);
  if (r.has_shortcut) {
    name = g_strdup_printf("%s.conv_shortcut", prefix);
    r.conv_shortcut = dm_params_add_conv(b, name, c_out, c_in, 1);
    g_free(name);
  }
  return r;
}

/* diffusers Attention(residual_connection=True, bias=True) on an image. */
static AttentionLayout add_attention(DmParamsBuilder *b, const char *prefix,
                                     int32_t channels, int32_t head_dim,
                                     int32_t groups, float eps,
                                     float rescale) {
  AttentionLayout a = {.channels = channels,
                       .heads = head_dim > 0 ? channels / head_dim : 1,
                       .groups = groups, .eps = eps, .rescale = rescale};
  if (head_dim > 0 && channels % head_dim != 0)
    dm_params_builder_fail(b, "%s: %d channels are not divisible into heads of "
                 "attention_head_dim=%d", prefix, channels, head_dim);
  const char *parts[] = {"group_norm", "to_q", "to_k", "to_v", "to_out.0"};
  ParamPair *pairs[] = {&a.group_norm, &a.to_q, &a.to_k, &a.to_v, &a.to_out};
  for (int i = 0; i < 5; i++) {
    char *name = g_strdup_printf("%s.%s", prefix, parts[i]);
    *pairs[i] = i == 0 ? dm_params_add_norm(b, name, channels, groups)
                       : dm_params_add_linear(b, name, channels, channels);
    g_free(name);
  }
  return a;
}

static void add_down_block(DmParamsBuilder *b, BlockLayout *block, int32_t level,
                           const DmUnetConfig *config, int32_t temb_dim) {
  const int32_t c_out = config->block_out_channels[level];
  int32_t c_in = level == 0 ? config->block_out_channels[0]
                            : config->block_out_channels[level - 1];
  const int32_t head_dim = config->attention_head_dim > 0
                               ? config->attention_head_dim : c_out;
  block->n_resnets = config->layers_per_block;
  block->has_attention = config->down_attention[level];
  for (int32_t j = 0; j < block->n_resnets; j++) {
    char *name = g_strdup_printf("down_blocks.%d.resnets.%d", level, j);
    block->resnets[j] = add_resnet(b, name, c_in, c_out, temb_dim, config, 1.0f);
    g_free(name);
    if (block->has_attention) {
      name = g_strdup_printf("down_blocks.%d.attentions.%d", level, j);
      block->attentions[j] = add_attention(b, name, c_out, head_dim,
                                           config->norm_num_groups,
                                           config->norm_eps, 1.0f);
      g_free(name);
    }
    c_in = c_out;
  }
  block->has_resample = level < config->n_levels - 1;
  if (block->has_resample) {
    char *name = g_strdup_printf("down_blocks.%d.downsamplers.0.conv", level);
    block->resample = dm_params_add_conv(b, name, c_out, c_out, 3);
    g_free(name);
  }
}

/* Up block i works at level n-1-i. Its resnet j takes the running hidden
 * state plus one skip: the skip of the same level, except the last, which
 * comes from the level below (diffusers' res_skip_channels). */
static void add_up_block(DmParamsBuilder *b, BlockLayout *block, int32_t index,
                         const DmUnetConfig *config, int32_t temb_dim) {
  const int32_t n = config->n_levels, level = n - 1 - index;
  const int32_t c_out = config->block_out_channels[level];
  const int32_t c_prev = config->block_out_channels[index == 0 ? n - 1 : level + 1];
  const int32_t c_below = config->block_out_channels[level > 0 ? level - 1 : 0];
  const int32_t head_dim = config->attention_head_dim > 0
                               ? config->attention_head_dim : c_out;
  block->n_resnets = config->layers_per_block + 1;
  block->has_attention = config->up_attention[index];
  for (int32_t j = 0; j < block->n_resnets; j++) {
    const int32_t skip = j == block->n_resnets - 1 ? c_below : c_out;
    const int32_t hidden = j == 0 ? c_prev : c_out;
    block->skip_channels[j] = skip;
    char *name = g_strdup_printf("up_blocks.%d.resnets.%d", index, j);
    block->resnets[j] = add_resnet(b, name, hidden + skip, c_out, temb_dim,
                                   config, 1.0f);
    g_free(name);
    if (block->has_attention) {
      name = g_strdup_printf("up_blocks.%d.attentions.%d", index, j);
      block->attentions[j] = add_attention(b, name, c_out, head_dim,
                                           config->norm_num_groups,
                                           config->norm_eps, 1.0f);
      g_free(name);
    }
  }
  block->has_resample = index < n - 1;
  if (block->has_resample) {
    char *name = g_strdup_printf("up_blocks.%d.upsamplers.0.conv", index);
    block->resample = dm_params_add_conv(b, name, c_out, c_out, 3);
    g_free(name);
  }
}

static void add_mid_block(DmParamsBuilder *b, DmUnetLayout *layout,
                          const DmUnetConfig *config) {
  const int32_t c = config->block_out_channels[config->n_levels - 1];
  const float scale = config->mid_block_scale_factor;
  layout->mid_resnets[0] = add_resnet(b, "mid_block.resnets.0", c, c,
                                      layout->temb_dim, config, scale);
  layout->mid_has_attention = config->add_attention;
  if (config->add_attention) {
    const int32_t groups = config->attn_norm_num_groups > 0
                               ? config->attn_norm_num_groups
                               : config->norm_num_groups;
    const int32_t head_dim = config->attention_head_dim > 0
                                 ? config->attention_head_dim : c;
    layout->mid_attention = add_attention(b, "mid_block.attentions.0", c,
                                          head_dim, groups, config->norm_eps,
                                          scale);
  }
  layout->mid_resnets[1] = add_resnet(b, "mid_block.resnets.1", c, c,
                                      layout->temb_dim, config, scale);
}

/* Fills `layout` and appends every parameter, in diffusers' module order. */
static void build_layout(DmParamsBuilder *b, DmUnetLayout *layout,
                         const DmUnetConfig *config) {
  const int32_t c0 = config->block_out_channels[0];
  layout->time_dim = c0;
  layout->temb_dim = 4 * c0;
  layout->conv_in = dm_params_add_conv(b, "conv_in", c0, config->in_channels, 3);
  layout->time_linear_1 = dm_params_add_linear(b, "time_embedding.linear_1",
                                     layout->temb_dim, c0);
  layout->time_linear_2 = dm_params_add_linear(b, "time_embedding.linear_2",
                                     layout->temb_dim, layout->temb_dim);
  for (int32_t i = 0; i < config->n_levels; i++)
    add_down_block(b, &layout->down[i], i, config, layout->temb_dim);
  if (config->has_mid_block) add_mid_block(b, layout, config);
  for (int32_t i = 0; i < config->n_levels; i++)
    add_up_block(b, &layout->up[i], i, config, layout->temb_dim);
  layout->conv_norm_out = dm_params_add_norm(b, "conv_norm_out", c0,
                                   config->norm_num_groups);
  layout->conv_out = dm_params_add_conv(b, "conv_out", config->out_channels, c0, 3);
}

static bool params_build(DmParams *params, DmUnetLayout *layout,
                         const DmUnetConfig *config, bool allocate,
                         GError **error) {
  memset(params, 0, sizeof *params);
  if (!dm_unet_config_check_values(config, error)) return false;
  DmParamsBuilder builder;
  dm_params_builder_init(&builder);
  build_layout(&builder, layout, config);
  if (!dm_params_builder_finish(&builder, params, error)) return false;
  if (!allocate) return true;
  params->data = calloc(params->total, sizeof(float));
  if (params->data == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory allocating %zu parameters", params->total);
    dm_params_clear(params);
    return false;
  }
  return true;
}

bool dm_unet_params_describe(DmParams *params, const DmUnetConfig *config,
                             GError **error) {
  DmUnetLayout *layout = g_new0(DmUnetLayout, 1);
  bool ok = params_build(params, layout, config, false, error);
  g_free(layout);
  return ok;
}

/* ---- the network -------------------------------------------------------- */

bool dm_unet_init(DmUnet *unet, const DmUnetConfig *config, GError **error) {
  memset(unet, 0, sizeof *unet);
  unet->config = *config;
  unet->layout = g_new0(DmUnetLayout, 1);
  if (!params_build(&unet->params, unet->layout, config, true, error)) {
    dm_unet_clear(unet);
    return false;
  }
  return true;
}

void dm_unet_clear(DmUnet *unet) {
  dm_params_clear(&unet->params);
  g_clear_pointer(&unet->layout, g_free);
}

/* PyTorch's default initialisation of Conv2d and Linear (kaiming_uniform
 * with a = sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 * GroupNorm weight 1, bias 0. Each tensor draws from its own stream. */
void dm_unet_randomize(DmUnet *unet, uint64_t seed) {
  const DmParams *params = &unet->params;
  int64_t fan_in = 1;
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    float *data = params->data + info->offset;
    if (info->rank > 1) {
      fan_in = 1;
      for (int32_t d = 1; d < info->rank; d++) fan_in *= info->shape[d];
    }
    if (strstr(info->name, "norm") != NULL && info->rank == 1) {
      const bool is_weight = g_str_has_suffix(info->name, ".weight");
      for (size_t j = 0; j < info->numel; j++) data[j] = is_weight ? 1.0f : 0.0f;
      continue;
    }
    /* a bias follows its weight, whose fan_in is still in `fan_in` */
    const float bound = 1.0f / sqrtf((float)fan_in);
    dm_rng_uniform_fill(data, info->numel, -bound, bound, seed, (uint64_t)i, 0);
  }
}

int32_t dm_unet_size_multiple(const DmUnetConfig *config) {
  return 1 << (config->n_levels - 1);
}

/* The reach of the convolution path through the deepest level: a 3x3 conv
 * at a level where one pixel spans `scale` input pixels reaches `scale`
 * further (a stride-2 downsampler with right/bottom-only padding reaches
 * 2 scale on one side; nearest upsampling adds at most half a coarse
 * pixel, i.e. scale). Group norms and attention are global and not counted. */
int32_t dm_unet_receptive_radius(const DmUnetConfig *config) {
  const int32_t convs_down = 2 * config->layers_per_block;
  const int32_t convs_up = 2 * (config->layers_per_block + 1);
  const int32_t down_reach = config->downsample_padding == 0 ? 2 : 1;
  int32_t radius = 2; /* conv_in and conv_out */
  for (int32_t i = 0; i < config->n_levels; i++) {
    const int32_t scale = 1 << i;
    radius += scale * (convs_down + convs_up);
    if (i < config->n_levels - 1) /* downsampler; nearest + conv going up */
      radius += scale * (down_reach + 2);
  }
  if (config->has_mid_block)
    radius += 4 << (config->n_levels - 1); /* two resnets, two convs each */
  return radius;
}

/* ---- FLOPs ------------------------------------------------------------- */

static double conv_flops(int32_t c_out, int32_t c_in, int32_t kernel,
                         double pixels) {
  return 2.0 * c_out * c_in * kernel * kernel * pixels;
}

static double resnet_flops(const ResnetLayout *r, double pixels) {
  double flops = conv_flops(r->c_out, r->c_in, 3, pixels) +
                 conv_flops(r->c_out, r->c_out, 3, pixels);
  if (r->has_shortcut) flops += conv_flops(r->c_out, r->c_in, 1, pixels);
  return flops;
}

/* Four C x C projections plus q k^T and the weighted sum of v. */
static double attention_flops(const AttentionLayout *a, double pixels) {
  return 4.0 * 2.0 * a->channels * a->channels * pixels +
         2.0 * 2.0 * pixels * pixels * a->channels;
}

static double block_flops(const BlockLayout *block, double pixels,
                          double resample_pixels, int32_t channels) {
  double flops = 0.0;
  for (int32_t j = 0; j < block->n_resnets; j++) {
    flops += resnet_flops(&block->resnets[j], pixels);
    if (block->has_attention)
      flops += attention_flops(&block->attentions[j], pixels);
  }
  if (block->has_resample)
    flops += conv_flops(channels, channels, 3, resample_pixels);
  return flops;
}

double dm_unet_flops(const DmUnet *unet, int32_t height, int32_t width) {
  const DmUnetConfig *config = &unet->config;
  const DmUnetLayout *layout = unet->layout;
  const int32_t levels = config->n_levels;
  const double full = (double)height * width;
  double flops = conv_flops(layout->time_dim, config->in_channels, 3, full) +
                 conv_flops(config->out_channels, layout->time_dim, 3, full);
  for (int32_t i = 0; i < levels; i++) {
    const double pixels = full / (double)(1 << (2 * i));
    const int32_t c = config->block_out_channels[i];
    flops += block_flops(&layout->down[i], pixels, pixels / 4.0, c);
    const int32_t level = levels - 1 - i;
    const double up_pixels = full / (double)(1 << (2 * level));
    flops += block_flops(&layout->up[i], up_pixels, up_pixels * 4.0,
                         config->block_out_channels[level]);
  }
  if (config->has_mid_block) {
    const double pixels = full / (double)(1 << (2 * (levels - 1)));
    flops += resnet_flops(&layout->mid_resnets[0], pixels) +
             resnet_flops(&layout->mid_resnets[1], pixels);
    if (layout->mid_has_attention)
      flops += attention_flops(&layout->mid_attention, pixels);
  }
  return flops;
}
