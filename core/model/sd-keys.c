/* gimp-diffusion core: the tensor names of a Stable Diffusion single-file
 * checkpoint (sd-keys.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A diffusers name is renamed by the first rule of its part whose `from`
 * prefix it starts with ('#' stands for a block number), then the rest by
 * the first of the rule's inner renames it starts with. */
#include <string.h>

#include "model/files.h"
#include "model/sd-keys.h"

/* The original block numbers from diffusers' (both lists in pattern
 * order). */
typedef void (*NumberFunc)(const DmSdBlocks *blocks, const int64_t *in,
                           int64_t *out);

/* A rename of the rest of a name inside a block. */
typedef struct {
  const char *from, *to;
  DmSdReshape reshape;
  int32_t part, parts;
} Rename;

typedef struct {
  const char *from, *to; /* prefixes; '#' a number */
  NumberFunc number;     /* NULL: the numbers stay */
  const Rename *inner;   /* ends with a NULL `from`; NULL: the rest stays */
} Rule;

/* ---- block numbers ------------------------------------------------------- */

/* input_blocks: conv_in is 0, then per level L resnets and a
 * downsampler. */
static void unet_input(const DmSdBlocks *b, const int64_t *in, int64_t *out) {
  out[0] = (b->layers_per_block + 1) * in[0] + in[1] + 1;
}

static void unet_downsampler(const DmSdBlocks *b, const int64_t *in,
                             int64_t *out) {
  out[0] = (b->layers_per_block + 1) * (in[0] + 1);
}

/* middle_block: resnet, transformer, resnet. */
static void unet_mid_resnet(const DmSdBlocks *b, const int64_t *in,
                            int64_t *out) {
  (void)b;
  out[0] = 2 * in[0];
}

/* output_blocks: L + 1 per level, the upsampler in the last one after its
 * resnet and transformer (if any). */
static void unet_output(const DmSdBlocks *b, const int64_t *in,
                        int64_t *out) {
  out[0] = (b->layers_per_block + 1) * in[0] + in[1];
}

static void unet_upsampler(const DmSdBlocks *b, const int64_t *in,
                           int64_t *out) {
  out[0] = (b->layers_per_block + 1) * in[0] + b->layers_per_block;
  out[1] = in[0] >= 0 && in[0] < DM_MAX_LEVELS && b->up_attention[in[0]]
               ? 2 : 1;
}

/* The VAE's decoder numbers its levels from the bottom. */
static void vae_up(const DmSdBlocks *b, const int64_t *in, int64_t *out) {
  out[0] = b->n_levels - 1 - in[0];
  out[1] = in[1];
}

static void plus_one(const DmSdBlocks *b, const int64_t *in, int64_t *out) {
  (void)b;
  out[0] = in[0] + 1;
}

/* ---- the tables ---------------------------------------------------------- */

/* Renames of the rest of a name: kept, as a 1x1 convolution, as block
 * `part` of three of rows. */
#define SAME(from, to) {from, to, DM_SD_RESHAPE_NONE, 0, 1}
#define CONV1X1(from, to) {from, to, DM_SD_RESHAPE_CONV1X1, 0, 1}
#define ROWS(from, to, part) {from, to, DM_SD_RESHAPE_ROWS, part, 3}

static const Rename UNET_RESNET[] = {
    SAME("norm1.", "in_layers.0."),      SAME("conv1.", "in_layers.2."),
    SAME("time_emb_proj.", "emb_layers.1."), SAME("norm2.", "out_layers.0."),
    SAME("conv2.", "out_layers.3."),
    SAME("conv_shortcut.", "skip_connection."), SAME(NULL, NULL)};

static const Rule UNET_RULES[] = {
    {"time_embedding.linear_1.", "time_embed.0.", NULL, NULL},
    {"time_embedding.linear_2.", "time_embed.2.", NULL, NULL},
    {"conv_in.", "input_blocks.0.0.", NULL, NULL},
    {"conv_norm_out.", "out.0.", NULL, NULL},
    {"conv_out.", "out.2.", NULL, NULL},
    {"down_blocks.#.resnets.#.", "input_blocks.#.0.", unet_input,
     UNET_RESNET},
    {"down_blocks.#.attentions.#.", "input_blocks.#.1.", unet_input, NULL},
    {"down_blocks.#.downsamplers.0.conv.", "input_blocks.#.0.op.",
     unet_downsampler, NULL},
    {"mid_block.resnets.#.", "middle_block.#.", unet_mid_resnet,
     UNET_RESNET},
    {"mid_block.attentions.0.", "middle_block.1.", NULL, NULL},
    {"up_blocks.#.resnets.#.", "output_blocks.#.0.", unet_output,
     UNET_RESNET},
    {"up_blocks.#.attentions.#.", "output_blocks.#.1.", unet_output, NULL},
    {"up_blocks.#.upsamplers.0.conv.", "output_blocks.#.#.conv.",
     unet_upsampler, NULL},
    {NULL, NULL, NULL, NULL}};

static const Rename VAE_RESNET[] = {SAME("conv_shortcut.", "nin_shortcut."),
                                    SAME("", ""), SAME(NULL, NULL)};

static const Rename VAE_ATTENTION[] = {
    SAME("group_norm.", "norm."),
    CONV1X1("to_q.weight", "q.weight"),
    CONV1X1("to_k.weight", "k.weight"),
    CONV1X1("to_v.weight", "v.weight"),
    CONV1X1("to_out.0.weight", "proj_out.weight"),
    SAME("to_q.", "q."),
    SAME("to_k.", "k."),
    SAME("to_v.", "v."),
    SAME("to_out.0.", "proj_out."),
    SAME(NULL, NULL)};

static const Rule VAE_RULES[] = {
    {"encoder.down_blocks.#.resnets.#.", "encoder.down.#.block.#.", NULL,
     VAE_RESNET},
    {"encoder.down_blocks.#.downsamplers.0.", "encoder.down.#.downsample.",
     NULL, NULL},
    {"decoder.up_blocks.#.resnets.#.", "decoder.up.#.block.#.", vae_up,
     VAE_RESNET},
    {"decoder.up_blocks.#.upsamplers.0.", "decoder.up.#.upsample.", vae_up,
     NULL},
    {"encoder.mid_block.resnets.#.", "encoder.mid.block_#.", plus_one,
     VAE_RESNET},
    {"decoder.mid_block.resnets.#.", "decoder.mid.block_#.", plus_one,
     VAE_RESNET},
    {"encoder.mid_block.attentions.0.", "encoder.mid.attn_1.", NULL,
     VAE_ATTENTION},
    {"decoder.mid_block.attentions.0.", "decoder.mid.attn_1.", NULL,
     VAE_ATTENTION},
    {"encoder.conv_norm_out.", "encoder.norm_out.", NULL, NULL},
    {"decoder.conv_norm_out.", "decoder.norm_out.", NULL, NULL},
    {"", "", NULL, NULL}, /* conv_in, conv_out, (post_)quant_conv */
    {NULL, NULL, NULL, NULL}};

static const Rule CLIP_RULES[] = {{"", "", NULL, NULL},
                                  {NULL, NULL, NULL, NULL}};

static const Rule CLIP_LEGACY_RULES[] = {{"text_model.", "", NULL, NULL},
                                         {NULL, NULL, NULL, NULL}};

static const Rename OPEN_CLIP_LAYER[] = {
    ROWS("self_attn.q_proj.weight", "attn.in_proj_weight", 0),
    ROWS("self_attn.k_proj.weight", "attn.in_proj_weight", 1),
    ROWS("self_attn.v_proj.weight", "attn.in_proj_weight", 2),
    ROWS("self_attn.q_proj.bias", "attn.in_proj_bias", 0),
    ROWS("self_attn.k_proj.bias", "attn.in_proj_bias", 1),
    ROWS("self_attn.v_proj.bias", "attn.in_proj_bias", 2),
    SAME("self_attn.out_proj.", "attn.out_proj."),
    SAME("layer_norm1.", "ln_1."),
    SAME("layer_norm2.", "ln_2."),
    SAME("mlp.fc1.", "mlp.c_fc."),
    SAME("mlp.fc2.", "mlp.c_proj."),
    SAME(NULL, NULL)};

static const Rule OPEN_CLIP_RULES[] = {
    {"text_model.embeddings.token_embedding.weight", "token_embedding.weight",
     NULL, NULL},
    {"text_model.embeddings.position_embedding.weight",
     "positional_embedding", NULL, NULL},
    {"text_model.final_layer_norm.", "ln_final.", NULL, NULL},
    {"text_model.encoder.layers.#.", "transformer.resblocks.#.", NULL,
     OPEN_CLIP_LAYER},
    {NULL, NULL, NULL, NULL}};

/* Names under a part's prefix that no network tensor has: buffers of the
 * original code (prefixes of the rest, '#' a number). */
static const char *const CLIP_UNUSED[] = {
    "text_model.embeddings.position_ids", NULL};
static const char *const CLIP_LEGACY_UNUSED[] = {"embeddings.position_ids",
                                                 NULL};
/* The projection to CLIP's joint space, and the last layer (SD 2.x's
 * text states are the penultimate layer's: FrozenOpenCLIPEmbedder's
 * layer = "penultimate", diffusers' 23-layer text encoder). */
static const char *const OPEN_CLIP_UNUSED[] = {
    "text_projection", "logit_scale", "transformer.resblocks.23.", NULL};
/* A training configuration's loss (LPIPS and a discriminator) saved with
 * the autoencoder. */
static const char *const VAE_UNUSED[] = {"loss.", NULL};
static const char *const NONE_UNUSED[] = {NULL};

static const struct {
  const char *prefix;
  const Rule *rules;
  const char *const *unused;
} PARTS[DM_SD_PART_COUNT] = {
    [DM_SD_PART_UNET] = {"model.diffusion_model.", UNET_RULES, NONE_UNUSED},
    [DM_SD_PART_VAE] = {"first_stage_model.", VAE_RULES, VAE_UNUSED},
    [DM_SD_PART_CLIP] = {"cond_stage_model.transformer.", CLIP_RULES,
                         CLIP_UNUSED},
    [DM_SD_PART_CLIP_LEGACY] = {"cond_stage_model.transformer.",
                                CLIP_LEGACY_RULES, CLIP_LEGACY_UNUSED},
    [DM_SD_PART_OPEN_CLIP] = {"cond_stage_model.model.", OPEN_CLIP_RULES,
                              OPEN_CLIP_UNUSED},
};

static const char *const RESHAPE_NAMES[DM_SD_RESHAPE_COUNT] = {
    [DM_SD_RESHAPE_NONE] = "-",
    [DM_SD_RESHAPE_CONV1X1] = "conv1x1",
    [DM_SD_RESHAPE_ROWS] = "rows",
};

const char *dm_sd_part_prefix(DmSdPart part) { return PARTS[part].prefix; }

const char *dm_sd_reshape_name(DmSdReshape reshape) {
  return RESHAPE_NAMES[reshape];
}

/* ---- patterns ------------------------------------------------------------ */

/* Up to this many numbers in a pattern; digits in one. */
#define MAX_NUMBERS 2
#define MAX_DIGITS 9

/* Whether `name` starts with `pattern`, each '#' matching a number
 * (numbers[], at most MAX_NUMBERS); *rest = what follows. */
static bool match(const char *pattern, const char *name, int64_t *numbers,
                  const char **rest) {
  int32_t count = 0;
  for (; *pattern; pattern++) {
    if (*pattern != '#') {
      if (*name++ != *pattern) return false;
      continue;
    }
    int64_t value = 0;
    int32_t digits = 0;
    for (; g_ascii_isdigit(*name) && digits < MAX_DIGITS; name++, digits++)
      value = 10 * value + (*name - '0');
    if (digits == 0 || count == MAX_NUMBERS) return false;
    numbers[count++] = value;
  }
  *rest = name;
  return true;
}

/* Appends `pattern` with its '#'s replaced by numbers[] in order. */
static void expand(GString *out, const char *pattern, const int64_t *numbers) {
  int32_t count = 0;
  for (; *pattern; pattern++) {
    if (*pattern == '#')
      g_string_append_printf(out, "%" G_GINT64_FORMAT, numbers[count++]);
    else
      g_string_append_c(out, *pattern);
  }
}

/* The original shape of `info` held as `key` says. */
static void original_shape(DmSdKey *key, const DmParamInfo *info) {
  key->rank = info->rank;
  memcpy(key->shape, info->shape, sizeof info->shape);
  if (key->reshape == DM_SD_RESHAPE_CONV1X1) {
    key->shape[key->rank++] = 1;
    key->shape[key->rank++] = 1;
  } else if (key->reshape == DM_SD_RESHAPE_ROWS) {
    key->shape[0] *= key->parts;
  }
}

/* Renames `rest` (a name inside a block) by the first of `inner` it starts
 * with; false when none does. */
static bool rename_inner(GString *out, const Rename *inner, const char *rest,
                         DmSdKey *key) {
  for (; inner->from; inner++) {
    if (!g_str_has_prefix(rest, inner->from)) continue;
    g_string_append(out, inner->to);
    g_string_append(out, rest + strlen(inner->from));
    key->reshape = inner->reshape;
    key->part = inner->part;
    key->parts = inner->parts;
    return true;
  }
  return false;
}

/* key = where part's file holds `info`; false when no rule names it. */
static bool map_one(DmSdKey *key, const DmParamInfo *info, DmSdPart part,
                    const DmSdBlocks *blocks) {
  for (const Rule *rule = PARTS[part].rules; rule->from; rule++) {
    int64_t numbers[MAX_NUMBERS] = {0}, original[MAX_NUMBERS] = {0};
    const char *rest;
    if (!match(rule->from, info->name, numbers, &rest)) continue;
    if (rule->number) rule->number(blocks, numbers, original);
    GString *name = g_string_new(PARTS[part].prefix);
    expand(name, rule->to, rule->number ? original : numbers);
    *key = (DmSdKey){.parts = 1};
    bool ok = true;
    if (rule->inner)
      ok = rename_inner(name, rule->inner, rest, key);
    else
      g_string_append(name, rest);
    key->original = g_string_free(name, !ok);
    if (ok) original_shape(key, info);
    return ok;
  }
  return false;
}

bool dm_sd_keys_map(DmSdKey **keys, const DmParams *table, DmSdPart part,
                    const DmSdBlocks *blocks, GError **error) {
  *keys = g_new0(DmSdKey, MAX(table->count, 1));
  for (int32_t i = 0; i < table->count; i++) {
    if (map_one(&(*keys)[i], &table->info[i], part, blocks)) continue;
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "tensor '%s' has no name in a single-file checkpoint's %s",
                table->info[i].name, PARTS[part].prefix);
    dm_sd_keys_free(*keys, i);
    *keys = NULL;
    return false;
  }
  return true;
}

void dm_sd_keys_free(DmSdKey *keys, int32_t count) {
  for (int32_t i = 0; keys && i < count; i++) g_free(keys[i].original);
  g_free(keys);
}

/* ---- a file's tensors under the table's names ---------------------------- */

DmSafetensors *dm_sd_keys_view(const DmSafetensors *st, const DmParams *table,
                               const DmSdKey *keys, const char *label,
                               GError **error) {
  DmStEntry *entries = g_new0(DmStEntry, MAX(table->count, 1));
  bool ok = true;
  for (int32_t i = 0; ok && i < table->count; i++) {
    const DmParamInfo *info = &table->info[i];
    const DmStEntry *entry = dm_safetensors_find(st, keys[i].original);
    ok = dm_entry_check(entry, keys[i].original, keys[i].rank, keys[i].shape,
                        label, error);
    if (!ok) break;
    entries[i] = *entry;
    entries[i].name = info->name;
    entries[i].rank = info->rank;
    memset(entries[i].shape, 0, sizeof entries[i].shape);
    memcpy(entries[i].shape, info->shape, sizeof info->shape);
    entries[i].numel = info->numel;
    entries[i].data = entry->data + (size_t)keys[i].part * info->numel *
                                        dm_dtype_size(entry->dtype);
  }
  DmSafetensors *view = ok ? dm_safetensors_view(st, entries, table->count)
                           : NULL;
  g_free(entries);
  return view;
}

/* Whether `rest` (a name without the part's prefix) is a buffer the part
 * carries. */
static bool unused_buffer(DmSdPart part, const char *rest) {
  for (const char *const *name = PARTS[part].unused; *name; name++)
    if (g_str_has_prefix(rest, *name)) return true;
  return false;
}

bool dm_sd_keys_check_unused(const DmSafetensors *st, DmSdPart part,
                             const DmSdKey *keys, int32_t count,
                             const char *label, GError **error) {
  GHashTable *mapped = g_hash_table_new(g_str_hash, g_str_equal);
  for (int32_t i = 0; i < count; i++)
    g_hash_table_add(mapped, keys[i].original);
  const char *prefix = PARTS[part].prefix;
  bool ok = true;
  for (int32_t i = 0; ok && i < dm_safetensors_count(st); i++) {
    const char *name = dm_safetensors_entry(st, i)->name;
    if (!g_str_has_prefix(name, prefix) ||
        g_hash_table_contains(mapped, name) ||
        unused_buffer(part, name + strlen(prefix)))
      continue;
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: unexpected tensor '%s' (not part of a Stable Diffusion "
                "network of this layout)", label, name);
    ok = false;
  }
  g_hash_table_destroy(mapped);
  return ok;
}
