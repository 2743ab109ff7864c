/* gimp-diffusion core: the network configuration (diffusers UNet2DModel's
 * fields): consistency, conditioning and the named layouts. Reading and
 * writing config.json is model/unet-config-json.c's.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "network/unet.h"

/* Limits that keep a hostile config from asking for absurd allocations. */
#define DM_MAX_CHANNELS 4096
#define DM_MAX_SAMPLE_SIZE 65536

/* ---- consistency ------------------------------------------------------- */

static bool invalid(GError **error, const char *format, ...)
    G_GNUC_PRINTF(2, 3);
static bool invalid(GError **error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT, "%s", message);
  g_free(message);
  return false;
}

static bool in_range(int32_t value, int32_t low, int32_t high) {
  return value >= low && value <= high;
}

/* Sizes in range, before anything divides by them. */
static bool check_ranges(const DmUnetConfig *c, GError **error) {
  if (!in_range(c->n_levels, 1, DM_MAX_LEVELS))
    return invalid(error, "n_levels=%d (1 to %d)", c->n_levels,
                   DM_MAX_LEVELS);
  if (!in_range(c->in_channels, 1, DM_MAX_CHANNELS) ||
      !in_range(c->out_channels, 1, DM_MAX_CHANNELS))
    return invalid(error, "in_channels=%d, out_channels=%d (1 to %d)",
                   c->in_channels, c->out_channels, DM_MAX_CHANNELS);
  for (int32_t i = 0; i < c->n_levels; i++) {
    if (!in_range(c->block_out_channels[i], 1, DM_MAX_CHANNELS))
      return invalid(error, "block_out_channels[%d]=%d (1 to %d)", i,
                     c->block_out_channels[i], DM_MAX_CHANNELS);
  }
  if (!in_range(c->layers_per_block, 1, DM_MAX_LAYERS_PER_BLOCK))
    return invalid(error, "layers_per_block=%d (1 to %d)",
                   c->layers_per_block, DM_MAX_LAYERS_PER_BLOCK);
  if (!in_range(c->sample_size, 0, DM_MAX_SAMPLE_SIZE))
    return invalid(error, "sample_size=%d", c->sample_size);
  if (!in_range(c->downsample_padding, 0, 1))
    return invalid(error, "downsample_padding=%d (0 or 1)",
                   c->downsample_padding);
  if (!in_range(c->norm_num_groups, 1, DM_MAX_CHANNELS) ||
      !in_range(c->attn_norm_num_groups, 0, DM_MAX_CHANNELS) ||
      !in_range(c->attention_head_dim, 0, DM_MAX_CHANNELS))
    return invalid(error, "norm_num_groups=%d, attn_norm_num_groups=%d, "
                   "attention_head_dim=%d out of range", c->norm_num_groups,
                   c->attn_norm_num_groups, c->attention_head_dim);
  return true;
}

/* Floats finite; eps positive; the sinusoid's divisor half - shift != 0. */
static bool check_numbers(const DmUnetConfig *c, GError **error) {
  if (!(c->norm_eps > 0.0f) || !isfinite(c->norm_eps))
    return invalid(error, "norm_eps=%g must be positive", c->norm_eps);
  if (!isfinite(c->mid_block_scale_factor) || c->mid_block_scale_factor == 0)
    return invalid(error, "mid_block_scale_factor=%g",
                   c->mid_block_scale_factor);
  if (!(c->dropout >= 0.0f && c->dropout <= 1.0f))
    return invalid(error, "dropout=%g (0 to 1)", c->dropout);
  int32_t half = c->block_out_channels[0] / 2;
  if (!in_range(c->freq_shift, -DM_MAX_CHANNELS, DM_MAX_CHANNELS) ||
      c->freq_shift == half)
    return invalid(error, "freq_shift=%d (must differ from %d)",
                   c->freq_shift, half);
  return true;
}

bool dm_unet_config_check_values(const DmUnetConfig *c, GError **error) {
  return check_ranges(c, error) && check_numbers(c, error);
}

/* Values first; then group and head divisibility and the parameter limit,
 * which the layout builder checks where each layer's channels are known. */
bool dm_unet_config_validate(const DmUnetConfig *c, GError **error) {
  g_return_val_if_fail(c, false);
  DmParams table;
  if (!dm_unet_params_describe(&table, c, error)) return false;
  dm_params_clear(&table);
  return true;
}

/* ---- conditioning ---------------------------------------------------------- */

static const char *const conditioning_names[] = {"none", "mask"};
DM_DEFINE_NAME_HELPERS(dm_conditioning, DmConditioning, conditioning_names,
                       DM_CONDITIONING_COUNT)

DmConditioning dm_unet_config_conditioning(const DmUnetConfig *c) {
  if (c->in_channels == c->out_channels) return DM_CONDITIONING_NONE;
  if (c->in_channels == 2 * c->out_channels + 1) return DM_CONDITIONING_MASK;
  return DM_CONDITIONING_COUNT;
}

void dm_fill_condition(float *planes, const float *image, int32_t channels,
                       size_t plane) {
  float *mask = planes, *known = planes + plane;
  if (image == NULL) {
    for (size_t p = 0; p < plane; p++) mask[p] = 1.0f;
    memset(known, 0, channels * plane * sizeof(float));
    return;
  }
  for (int32_t c = 0; c < channels; c++)
    for (size_t p = 0; p < plane; p++)
      known[c * plane + p] = image[c * plane + p] * (1.0f - mask[p]);
}

/* ---- named layouts ------------------------------------------------------- */

/* tiny: 32/64/128 channels, one layer per block, attention (one head) at
 * the lowest level and in the mid block, 8 groups (~1.9 M parameters);
 * small: the same shape at 64/128/256 with two layers per block and 32
 * groups; base: google/ddpm-cifar10-32's layout (128/256/256/256). */
static const struct {
  const char *name;
  DmUnetConfig config;
} presets[] = {
    {"tiny",
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {32, 64, 128},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 1, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 8, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"small",
     {.in_channels = 3, .out_channels = 3, .flip_sin_to_cos = true,
      .n_levels = 3, .block_out_channels = {64, 128, 256},
      .down_attention = {false, false, true}, .up_attention = {true, false, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 1,
      .norm_num_groups = 32, .norm_eps = 1e-5f, .has_mid_block = true,
      .add_attention = true}},
    {"base",
     {.in_channels = 3, .out_channels = 3, .freq_shift = 1, .n_levels = 4,
      .block_out_channels = {128, 256, 256, 256},
      .down_attention = {false, true, false, false},
      .up_attention = {false, false, true, false},
      .layers_per_block = 2, .mid_block_scale_factor = 1, .downsample_padding = 0,
      .norm_num_groups = 32, .norm_eps = 1e-6f, .has_mid_block = true,
      .add_attention = true}},
};

const char *dm_unet_preset_name(int32_t index) {
  return index >= 0 && index < (int32_t)G_N_ELEMENTS(presets)
             ? presets[index].name : NULL;
}

bool dm_unet_config_preset(const char *name, int32_t sample_size,
                           DmUnetConfig *config) {
  for (size_t i = 0; name && i < G_N_ELEMENTS(presets); i++)
    if (strcmp(name, presets[i].name) == 0) {
      *config = presets[i].config;
      config->sample_size = sample_size;
      return true;
    }
  return false;
}
