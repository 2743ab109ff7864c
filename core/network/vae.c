/* gimp-diffusion core: AutoencoderKL — its config, its parameter table and
 * where each layer finds its tensors; the posterior (vae.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <string.h>

#include "network/vae-layout.h"
#include "tensor/rng.h"

/* Limit that keeps a hostile config from asking for absurd allocations. */
#define DM_VAE_MAX_CHANNELS 4096

/* ---- config ------------------------------------------------------------- */

void dm_vae_config_default(DmVaeConfig *config) {
  *config = (DmVaeConfig){.in_channels = 3, .out_channels = 3,
                          .latent_channels = 4, .n_levels = 1,
                          .block_out_channels = {64}, .layers_per_block = 1,
                          .norm_num_groups = 32, .scaling_factor = 0.18215f,
                          .use_quant_conv = true,
                          .use_post_quant_conv = true,
                          .mid_block_add_attention = true};
}

void dm_vae_config_sd(DmVaeConfig *config) {
  dm_vae_config_default(config);
  config->n_levels = 4;
  const int32_t channels[] = {128, 256, 512, 512};
  memcpy(config->block_out_channels, channels, sizeof channels);
  config->layers_per_block = 2;
}

static bool channels_ok(int32_t channels) {
  return channels >= 1 && channels <= DM_VAE_MAX_CHANNELS;
}

/* Sizes and numbers in range, before anything is built from them (the
 * layout then checks that the groups divide each norm's channels). */
static void check_values(DmParamsBuilder *b, const DmVaeConfig *c) {
  if (c->n_levels < 1 || c->n_levels > DM_MAX_LEVELS) {
    dm_params_builder_fail(b, "block_out_channels has %d entries (1 to %d)",
                           c->n_levels, DM_MAX_LEVELS);
    return;
  }
  if (!channels_ok(c->in_channels) || !channels_ok(c->out_channels) ||
      !channels_ok(c->latent_channels))
    dm_params_builder_fail(b, "in_channels=%d, out_channels=%d, "
                           "latent_channels=%d (1 to %d)", c->in_channels,
                           c->out_channels, c->latent_channels,
                           DM_VAE_MAX_CHANNELS);
  for (int32_t i = 0; i < c->n_levels; i++)
    if (!channels_ok(c->block_out_channels[i]))
      dm_params_builder_fail(b, "block_out_channels[%d]=%d (1 to %d)", i,
                             c->block_out_channels[i], DM_VAE_MAX_CHANNELS);
  if (c->layers_per_block < 1 ||
      c->layers_per_block > DM_VAE_MAX_LAYERS_PER_BLOCK)
    dm_params_builder_fail(b, "layers_per_block=%d (1 to %d)",
                           c->layers_per_block, DM_VAE_MAX_LAYERS_PER_BLOCK);
  if (!channels_ok(c->norm_num_groups))
    dm_params_builder_fail(b, "norm_num_groups=%d (1 to %d)",
                           c->norm_num_groups, DM_VAE_MAX_CHANNELS);
  if (!isfinite(c->scaling_factor) || c->scaling_factor == 0.0f ||
      !isfinite(c->shift_factor))
    dm_params_builder_fail(b, "scaling_factor=%g, shift_factor=%g (finite, "
                           "scaling non-zero)", c->scaling_factor,
                           c->shift_factor);
}

bool dm_vae_config_validate(const DmVaeConfig *config, GError **error) {
  DmVae vae;
  if (!dm_vae_describe(&vae, config, error)) return false;
  dm_vae_clear(&vae);
  return true;
}

int32_t dm_vae_scale(const DmVaeConfig *config) {
  return 1 << (config->n_levels - 1);
}

/* ---- parameter table ----------------------------------------------------- */

typedef struct {
  DmParamsBuilder b;
  DmVaeLayout *layout;
} Build;

/* Ends a module that started at `first` with `start_total` floats in the
 * table: the scratch must hold all of its tensors at once. */
static VaeModule end_module(Build *build, int32_t first, size_t start_total) {
  build->layout->scratch = MAX(build->layout->scratch,
                               build->b.total - start_total);
  return first;
}

static int32_t next_index(const Build *build) {
  return (int32_t)build->b.infos->len;
}

static VaeModule add_conv(Build *build, const char *name, int32_t c_out,
                          int32_t c_in, int32_t kernel) {
  const int32_t first = next_index(build);
  const size_t start = build->b.total;
  dm_params_add_conv(&build->b, name, c_out, c_in, kernel);
  return end_module(build, first, start);
}

static VaeModule add_norm(Build *build, const char *name, int32_t channels,
                          int32_t groups) {
  const int32_t first = next_index(build);
  const size_t start = build->b.total;
  dm_params_add_norm(&build->b, name, channels, groups);
  return end_module(build, first, start);
}

/* "<prefix>.<part>" names for the parts of a module. */
static char *part_name(const char *prefix, const char *part) {
  return g_strdup_printf("%s.%s", prefix, part);
}

static VaeResnet add_resnet(Build *build, const char *prefix, int32_t c_in,
                            int32_t c_out, int32_t groups) {
  VaeResnet r = {.c_in = c_in, .c_out = c_out, .conv_shortcut = -1};
  const char *parts[] = {"norm1", "conv1", "norm2", "conv2",
                         "conv_shortcut"};
  char *names[5];
  for (int i = 0; i < 5; i++) names[i] = part_name(prefix, parts[i]);
  r.norm1 = add_norm(build, names[0], c_in, groups);
  r.conv1 = add_conv(build, names[1], c_out, c_in, 3);
  r.norm2 = add_norm(build, names[2], c_out, groups);
  r.conv2 = add_conv(build, names[3], c_out, c_out, 3);
  if (c_in != c_out)
    r.conv_shortcut = add_conv(build, names[4], c_out, c_in, 1);
  for (int i = 0; i < 5; i++) g_free(names[i]);
  return r;
}

/* group_norm and four linear maps, as one module. */
static VaeModule add_attention(Build *build, const char *prefix,
                               int32_t channels, int32_t groups) {
  const int32_t first = next_index(build);
  const size_t start = build->b.total;
  const char *parts[] = {"group_norm", "to_q", "to_k", "to_v", "to_out.0"};
  for (int i = 0; i < 5; i++) {
    char *name = part_name(prefix, parts[i]);
    if (i == 0)
      dm_params_add_norm(&build->b, name, channels, groups);
    else
      dm_params_add_linear(&build->b, name, channels, channels);
    g_free(name);
  }
  return end_module(build, first, start);
}

/* "<coder>.mid_block": resnet, attention (optional), resnet. */
static void add_mid_block(Build *build, VaeCoder *coder, const char *name,
                          const DmVaeConfig *config) {
  const int32_t c = config->block_out_channels[config->n_levels - 1];
  const int32_t groups = config->norm_num_groups;
  char *prefix = g_strdup_printf("%s.mid_block.resnets.0", name);
  coder->mid_channels = c;
  coder->mid[0] = add_resnet(build, prefix, c, c, groups);
  g_free(prefix);
  coder->mid_attention = -1;
  if (config->mid_block_add_attention) {
    prefix = g_strdup_printf("%s.mid_block.attentions.0", name);
    coder->mid_attention = add_attention(build, prefix, c, groups);
    g_free(prefix);
  }
  prefix = g_strdup_printf("%s.mid_block.resnets.1", name);
  coder->mid[1] = add_resnet(build, prefix, c, c, groups);
  g_free(prefix);
}

/* A block of `n_resnets` resnets from c_in to c_out channels, then the
 * resampling conv "<prefix>.<resampler>.0.conv" unless `last`. */
static void add_block(Build *build, VaeBlock *block, const char *prefix,
                      int32_t n_resnets, int32_t c_in, int32_t c_out,
                      int32_t groups, const char *resampler, bool last) {
  block->n_resnets = n_resnets;
  for (int32_t j = 0; j < n_resnets; j++) {
    char *name = g_strdup_printf("%s.resnets.%d", prefix, j);
    block->resnets[j] = add_resnet(build, name, j == 0 ? c_in : c_out,
                                   c_out, groups);
    g_free(name);
  }
  block->resample = -1;
  if (!last) {
    char *name = g_strdup_printf("%s.%s.0.conv", prefix, resampler);
    block->resample = add_conv(build, name, c_out, c_out, 3);
    g_free(name);
  }
}

/* diffusers' Encoder with double_z: conv_out gives 2 latent_channels. */
static void add_encoder(Build *build, VaeCoder *e, const DmVaeConfig *c) {
  const int32_t *channels = c->block_out_channels, levels = c->n_levels;
  *e = (VaeCoder){.is_decoder = false, .c_in = c->in_channels,
                  .c_out = 2 * c->latent_channels, .c_first = channels[0],
                  .c_last = channels[levels - 1]};
  e->conv_in = add_conv(build, "encoder.conv_in", channels[0],
                        c->in_channels, 3);
  for (int32_t i = 0; i < levels; i++) {
    char *prefix = g_strdup_printf("encoder.down_blocks.%d", i);
    add_block(build, &e->blocks[i], prefix, c->layers_per_block,
              channels[i > 0 ? i - 1 : 0], channels[i], c->norm_num_groups,
              "downsamplers", i == levels - 1);
    g_free(prefix);
  }
  add_mid_block(build, e, "encoder", c);
  e->norm_out = add_norm(build, "encoder.conv_norm_out", e->c_last,
                         c->norm_num_groups);
  e->conv_out = add_conv(build, "encoder.conv_out", e->c_out, e->c_last, 3);
}

/* diffusers' Decoder: up block i works at level levels - 1 - i. */
static void add_decoder(Build *build, VaeCoder *d, const DmVaeConfig *c) {
  const int32_t *channels = c->block_out_channels, levels = c->n_levels;
  *d = (VaeCoder){.is_decoder = true, .c_in = c->latent_channels,
                  .c_out = c->out_channels, .c_first = channels[levels - 1],
                  .c_last = channels[0]};
  d->conv_in = add_conv(build, "decoder.conv_in", d->c_first,
                        c->latent_channels, 3);
  add_mid_block(build, d, "decoder", c);
  for (int32_t i = 0; i < levels; i++) {
    const int32_t level = levels - 1 - i;
    char *prefix = g_strdup_printf("decoder.up_blocks.%d", i);
    add_block(build, &d->blocks[i], prefix, c->layers_per_block + 1,
              channels[MIN(level + 1, levels - 1)], channels[level],
              c->norm_num_groups, "upsamplers", i == levels - 1);
    g_free(prefix);
  }
  d->norm_out = add_norm(build, "decoder.conv_norm_out", d->c_last,
                         c->norm_num_groups);
  d->conv_out = add_conv(build, "decoder.conv_out", c->out_channels,
                         d->c_last, 3);
}

/* Every tensor in data-flow order (the encoder, the two 1x1 convs, the
 * decoder), under diffusers' state-dict names. */
static void build_layout(Build *build, const DmVaeConfig *c) {
  DmVaeLayout *layout = build->layout;
  const int32_t moments = 2 * c->latent_channels;
  add_encoder(build, &layout->encoder, c);
  layout->quant_conv = c->use_quant_conv
      ? add_conv(build, "quant_conv", moments, moments, 1) : -1;
  layout->post_quant_conv = c->use_post_quant_conv
      ? add_conv(build, "post_quant_conv", c->latent_channels,
                 c->latent_channels, 1) : -1;
  add_decoder(build, &layout->decoder, c);
}

bool dm_vae_describe(DmVae *vae, const DmVaeConfig *config, GError **error) {
  memset(vae, 0, sizeof *vae);
  vae->config = *config;
  vae->layout = g_new0(DmVaeLayout, 1);
  Build build = {.layout = vae->layout};
  dm_params_builder_init(&build.b);
  check_values(&build.b, config);
  if (build.b.error == NULL) build_layout(&build, config);
  if (!dm_params_builder_finish(&build.b, &vae->weights.table, error)) {
    dm_vae_clear(vae);
    return false;
  }
  return true;
}

bool dm_vae_init(DmVae *vae, const DmVaeConfig *config, DmDtype dtype,
                 GError **error) {
  if (!dm_vae_describe(vae, config, error)) return false;
  if (dm_weights_alloc(&vae->weights, dtype, error)) return true;
  dm_vae_clear(vae);
  return false;
}

void dm_vae_clear(DmVae *vae) {
  dm_weights_clear(&vae->weights);
  g_clear_pointer(&vae->layout, g_free);
}

/* ---- the posterior ------------------------------------------------------- */

void dm_vae_posterior(const DmVae *vae, DmTensor *mean, DmTensor *logvar,
                      const DmTensor *moments) {
  const float scale = vae->config.scaling_factor;
  const float shift = vae->config.shift_factor;
  const float log_scale2 = 2.0f * logf(fabsf(scale));
  const size_t plane = (size_t)moments->h * moments->w;
  const size_t half = (size_t)vae->config.latent_channels * plane;
  for (int32_t i = 0; i < moments->n; i++) {
    const float *m = moments->data + 2 * half * i;
    for (size_t p = 0; p < half; p++)
      mean->data[half * i + p] = (m[p] - shift) * scale;
    if (logvar == NULL) continue;
    for (size_t p = 0; p < half; p++)
      logvar->data[half * i + p] =
          CLAMP(m[half + p], -30.0f, 20.0f) + log_scale2;
  }
}

void dm_vae_sample(float *z, const float *mean, const float *logvar,
                   size_t count, uint64_t seed) {
  dm_rng_normal_fill(z, count, seed, 0, 0);
  for (size_t i = 0; i < count; i++)
    z[i] = mean[i] + expf(0.5f * logvar[i]) * z[i];
}
