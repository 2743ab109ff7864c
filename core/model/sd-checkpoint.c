/* gimp-diffusion core: what a Stable Diffusion single-file checkpoint is,
 * and its networks under diffusers' names (sd-checkpoint.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <string.h>

#include "model/files.h"
#include "model/sd-checkpoint.h"

/* ---- other families' marks ----------------------------------------------- */

typedef enum { AT_START, ANYWHERE } Where;

/* A name that only another kind of file has, and what that file is. The
 * first row with a match decides, so the rows go from the kinds whose
 * files also hold the others' names (a LoRA of an SDXL U-Net) to the
 * least specific. */
static const struct {
  const char *mark;
  Where where;
  const char *what;
} FOREIGN[] = {
    {"lora_", ANYWHERE, "a LoRA (low-rank weight changes to add to a model, "
                        "not a model)"},
    {".lora.", ANYWHERE, "a LoRA (low-rank weight changes to add to a "
                         "model, not a model)"},
    {"hada_", ANYWHERE, "a LyCORIS LoHa (weight changes, not a model)"},
    {"lokr_", ANYWHERE, "a LyCORIS LoKr (weight changes, not a model)"},
    {"emb_params", AT_START, "a textual inversion embedding"},
    {"string_to_param.", AT_START, "a textual inversion embedding"},
    {"clip_g", AT_START, "an SDXL textual inversion embedding"},
    {"control_model.", AT_START, "a ControlNet"},
    {"input_hint_block.", ANYWHERE, "a ControlNet"},
    {"controlnet_", ANYWHERE, "a ControlNet"},
    {"motion_modules.", ANYWHERE, "an AnimateDiff motion module"},
    {"conditioner.embedders.", AT_START,
     "an SDXL checkpoint (two text encoders under conditioner.embedders)"},
    {"model.diffusion_model.label_emb.", AT_START,
     "an SDXL, unCLIP or class-conditioned U-Net (label_emb)"},
    {"add_embedding.", AT_START, "a diffusers SDXL U-Net (add_embedding)"},
    {"joint_blocks.", ANYWHERE, "a Stable Diffusion 3 transformer"},
    {"double_blocks.", ANYWHERE, "a Flux transformer"},
    {"single_transformer_blocks.", ANYWHERE,
     "a diffusers transformer (Flux, SD3, ...)"},
    {"transformer_blocks.", AT_START,
     "a diffusers transformer (PixArt, SD3, ...)"},
    {"text_encoders.", AT_START, "a Stable Diffusion 3 checkpoint"},
    {"depth_model.", AT_START, "a depth-to-image checkpoint (MiDaS)"},
    {"down_blocks.", AT_START,
     "a diffusers U-Net weights file (diffusers' names): load the pipeline "
     "folder it belongs to"},
    {"encoder.down_blocks.", AT_START,
     "a diffusers VAE weights file (diffusers' names): load the pipeline "
     "folder it belongs to"},
    {"text_model.", AT_START,
     "a diffusers text encoder weights file: load the pipeline folder it "
     "belongs to"},
    {"encoder.down.", AT_START, "a VAE alone (an autoencoder, no U-Net)"},
};

static bool has_mark(const char *name, const char *mark, Where where) {
  return where == AT_START ? g_str_has_prefix(name, mark)
                           : strstr(name, mark) != NULL;
}

/* Refuses `st` when one of its names is another family's mark. */
static bool check_foreign(const DmSafetensors *st, const char *label,
                          GError **error) {
  for (size_t f = 0; f < G_N_ELEMENTS(FOREIGN); f++) {
    for (int32_t i = 0; i < dm_safetensors_count(st); i++) {
      const char *name = dm_safetensors_entry(st, i)->name;
      if (!has_mark(name, FOREIGN[f].mark, FOREIGN[f].where)) continue;
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "%s is %s (tensor '%s'), not a Stable Diffusion 1.x or "
                  "2.x checkpoint", label, FOREIGN[f].what, name);
      return false;
    }
  }
  return true;
}

/* ---- the U-Net ----------------------------------------------------------- */

#define CONV_IN "model.diffusion_model.input_blocks.0.0.weight"
/* The first cross-attention's key projection: (C, text width). */
#define FIRST_TO_K \
  "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k" \
  ".weight"

/* Whether any tensor's name starts with `prefix`; its name in *first. */
static bool any_with_prefix(const DmSafetensors *st, const char *prefix,
                            const char **first) {
  for (int32_t i = 0; i < dm_safetensors_count(st); i++) {
    const char *name = dm_safetensors_entry(st, i)->name;
    if (!g_str_has_prefix(name, prefix)) continue;
    if (first) *first = name;
    return true;
  }
  return false;
}

/* Input channels of U-Nets of the same layout that are other models. */
static const struct {
  int64_t channels;
  const char *what;
} OTHER_INPUTS[] = {
    {5, "a depth-to-image U-Net (5 input channels)"},
    {7, "an upscaler U-Net (7 input channels)"},
    {8, "an InstructPix2Pix U-Net (8 input channels)"},
};

/* The U-Net must be there, with 4 or 9 input channels. */
static bool read_conv_in(DmSdCheckpoint *checkpoint, const DmSafetensors *st,
                         const char *label, GError **error) {
  const char *first = NULL;
  const DmStEntry *conv_in = dm_safetensors_find(st, CONV_IN);
  if (!conv_in) {
    const bool vae = !any_with_prefix(st, "model.diffusion_model.", NULL) &&
                     any_with_prefix(st, "first_stage_model.", &first);
    if (!vae && !any_with_prefix(st, "", &first)) first = "(none)";
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                vae ? "%s is a VAE alone (tensor '%s'), not a Stable "
                      "Diffusion 1.x or 2.x checkpoint"
                    : "%s is not a Stable Diffusion 1.x or 2.x checkpoint: "
                      "no U-Net (" CONV_IN "; first tensor '%s')",
                label, first);
    return false;
  }
  const int64_t channels = conv_in->rank == 4 ? conv_in->shape[1] : -1;
  checkpoint->inpainting = channels == 9;
  if (channels == 4 || channels == 9) return true;
  for (size_t i = 0; i < G_N_ELEMENTS(OTHER_INPUTS); i++)
    if (OTHER_INPUTS[i].channels == channels) {
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "%s is %s (tensor '" CONV_IN "'), not a Stable Diffusion "
                  "1.x or 2.x checkpoint", label, OTHER_INPUTS[i].what);
      return false;
    }
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "%s: tensor '" CONV_IN "' of rank %d and %" G_GINT64_FORMAT
              " input channels; Stable Diffusion's U-Net reads 4 (9 when "
              "inpainting)", label, conv_in->rank, channels);
  return false;
}

/* ---- the text encoder ---------------------------------------------------- */

/* A text encoder's layout, told by its token table. */
static const struct {
  const char *token_table;
  DmSdPart part;
  DmSdVersion version;
} TEXT_LAYOUTS[] = {
    {"cond_stage_model.transformer.text_model.embeddings.token_embedding"
     ".weight", DM_SD_PART_CLIP, DM_SD_1},
    {"cond_stage_model.transformer.embeddings.token_embedding.weight",
     DM_SD_PART_CLIP_LEGACY, DM_SD_1},
    {"cond_stage_model.model.token_embedding.weight", DM_SD_PART_OPEN_CLIP,
     DM_SD_2},
};

/* The width of the text states each version's U-Net attends to. */
static const int64_t TEXT_WIDTHS[DM_SD_VERSION_COUNT] = {768, 1024};

static bool read_text_layout(DmSdCheckpoint *checkpoint,
                             const DmSafetensors *st, const char *label,
                             GError **error) {
  for (size_t i = 0; i < G_N_ELEMENTS(TEXT_LAYOUTS); i++) {
    if (!dm_safetensors_find(st, TEXT_LAYOUTS[i].token_table)) continue;
    checkpoint->text_part = TEXT_LAYOUTS[i].part;
    checkpoint->version = TEXT_LAYOUTS[i].version;
    return true;
  }
  g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
              "%s has no text encoder of Stable Diffusion 1.x or 2.x "
              "(cond_stage_model.transformer.* or cond_stage_model.model.*)",
              label);
  return false;
}

/* The U-Net must attend to the text encoder's width. */
static bool check_text_width(const DmSdCheckpoint *checkpoint,
                             const DmSafetensors *st, const char *label,
                             GError **error) {
  const DmStEntry *to_k = dm_safetensors_find(st, FIRST_TO_K);
  const int64_t width = TEXT_WIDTHS[checkpoint->version];
  if (to_k && to_k->rank == 2 && to_k->shape[1] == width) return true;
  if (to_k && to_k->rank == 2)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s: the U-Net attends to text states %" G_GINT64_FORMAT
                " wide (tensor '" FIRST_TO_K "'), but its text encoder is "
                "Stable Diffusion %s's, %" G_GINT64_FORMAT " wide", label,
                to_k->shape[1], dm_sd_version_name(checkpoint->version),
                width);
  else
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: the U-Net is not Stable Diffusion 1.x or 2.x's (no "
                "cross-attention '" FIRST_TO_K "' of rank 2)", label);
  return false;
}

bool dm_sd_checkpoint_recognise(DmSdCheckpoint *checkpoint,
                                const DmSafetensors *st, const char *label,
                                GError **error) {
  return check_foreign(st, label, error) &&
         read_conv_in(checkpoint, st, label, error) &&
         read_text_layout(checkpoint, st, label, error) &&
         check_text_width(checkpoint, st, label, error);
}

/* ---- configs ------------------------------------------------------------- */

void dm_sd_text_config(DmClipTextConfig *config, DmSdVersion version) {
  dm_clip_text_config_default(config);
  const bool open_clip = version == DM_SD_2;
  config->hidden_size = open_clip ? 1024 : 768;
  config->intermediate_size = 4 * config->hidden_size;
  config->num_hidden_layers = open_clip ? 23 : 12;
  config->num_attention_heads = open_clip ? 16 : 12;
  config->hidden_act = open_clip ? DM_CLIP_ACT_GELU : DM_CLIP_ACT_QUICK_GELU;
}

void dm_sd_unet_config(DmUnetCondConfig *config, DmSdVersion version,
                       bool inpainting) {
  dm_unet_cond_config_default(config);
  const bool open_clip = version == DM_SD_2;
  config->in_channels = inpainting ? 9 : 4;
  config->cross_attention_dim = (int32_t)TEXT_WIDTHS[version];
  config->use_linear_projection = open_clip;
  for (int32_t i = 0; open_clip && i < config->n_levels; i++)
    config->heads[i] = config->block_out_channels[i] / 64;
}

void dm_sd_unet_blocks(DmSdBlocks *blocks, const DmUnetCondConfig *config) {
  *blocks = (DmSdBlocks){.n_levels = config->n_levels,
                         .layers_per_block = config->layers_per_block};
  for (int32_t i = 0; i < config->n_levels; i++)
    blocks->up_attention[i] = config->up_cross_attention[i];
}

void dm_sd_vae_blocks(DmSdBlocks *blocks, const DmVaeConfig *config) {
  *blocks = (DmSdBlocks){.n_levels = config->n_levels,
                         .layers_per_block = config->layers_per_block};
}

/* ---- reading a part ------------------------------------------------------ */

bool dm_sd_part_load(DmWeights *weights, const DmSafetensors *st,
                     DmSdPart part, const DmSdBlocks *blocks, bool read,
                     const char *label, GError **error) {
  DmSdKey *keys = NULL;
  const DmParams *table = &weights->table;
  if (!dm_sd_keys_map(&keys, table, part, blocks, error)) return false;
  DmSafetensors *view = NULL;
  bool ok = dm_sd_keys_check_unused(st, part, keys, table->count, label,
                                    error) &&
            (view = dm_sd_keys_view(st, table, keys, label, error)) != NULL;
  if (ok && read) ok = dm_weights_read(weights, view, NULL, label, error);
  dm_safetensors_free(view);
  dm_sd_keys_free(keys, table->count);
  return ok;
}
