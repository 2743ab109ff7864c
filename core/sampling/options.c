/* gimp-diffusion core: the table of sampling and area options that every
 * front end is built from (dm.h, "options").
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/sampling.h"

/* Marks the labels and help for the translators' catalogue (po/): core
 * keeps them in English, the front ends show them translated. */
#define N_(text) text

#define BOTH (DM_OPTION_FOR_INPAINT | DM_OPTION_FOR_GENERATE)
#define INPAINT DM_OPTION_FOR_INPAINT
#define GENERATE DM_OPTION_FOR_GENERATE
#define ADVANCED DM_OPTION_ADVANCED
#define EXPERT (DM_OPTION_ADVANCED | DM_OPTION_EXPERT)
#define TEXT DM_OPTION_TEXT_DEFAULT

/* DmOptionInfo.samplers: the samplers that read an option. */
#define ONLY(sampler) (1u << (sampler))
#define CORRECTORS (ONLY(DM_SAMPLER_PC) | ONLY(DM_SAMPLER_LANGEVIN))

/* Heal's defaults (chosen by the evaluation in docs/eval/README.md): start
 * halfway from a smooth fill and match the edges. */
#define HEAL_STRENGTH 0.5

/* Stable Diffusion checkpoints' defaults (docs/stable-diffusion.md): DPM++
 * 2M with Karras sigmas in 20 steps, as most SD front ends start; guidance
 * 7.5, diffusers' pipelines' default; inpainting from pure noise
 * (strength 1), as diffusers' inpainting pipeline. */
#define SD_STEPS 20
#define SD_GUIDANCE 7.5

static const DmOptionInfo options[DM_OPTION_COUNT] = {
    [DM_OPTION_SAMPLER] = {"sampler", N_("Sam_pler"),
        N_("How the model is stepped from noise to image"),
        DM_OPTION_CHOICE, BOTH | TEXT, 0, DM_SAMPLER_COUNT - 1,
        DM_SAMPLER_COUNT, {DM_SAMPLER_DDIM, DM_SAMPLER_DDIM}, 0,
        {DM_SAMPLER_DPMPP_2M_KARRAS, DM_SAMPLER_DPMPP_2M_KARRAS}},
    /* Up to the longest schedule a model may have (scheduler_config.json);
     * dm_sample() refuses more steps than the model's own. */
    [DM_OPTION_STEPS] = {"steps", N_("S_teps"),
        N_("Sampling steps: more is slower and usually better; at most the "
           "model's training timesteps (1000 for most)"),
        DM_OPTION_INT, BOTH | TEXT, 1, 100000, 0, {50, 50}, 0,
        {SD_STEPS, SD_STEPS}},
    /* GIMP's integer arguments are 32-bit: one range for both front ends. */
    [DM_OPTION_SEED] = {"seed", N_("See_d"),
        N_("Random seed: the same seed and settings give the same result"),
        DM_OPTION_INT, BOTH, 0, 2147483647, 0, {0, 0}},
    [DM_OPTION_STRENGTH] = {"strength", N_("Stren_gth"),
        N_("Where sampling starts: 1 from pure noise; below 1 from the hole "
           "smoothly filled from its surroundings (or its own pixels) and "
           "noised this far, which keeps the fill's tones closer to its "
           "surroundings and runs only that fraction of the steps; 0 counts "
           "as 1"),
        DM_OPTION_FLOAT, INPAINT | TEXT, 0, 1, 0, {HEAL_STRENGTH, 1}, 0,
        {1, 1}},
    [DM_OPTION_FROM_PIXELS] = {"from-pixels", N_("Start from the la_yer's "
                                                 "pixels"),
        N_("With a strength below 1, start from what the hole holds instead "
           "of a smooth fill: paint rough colours and shapes into it, and the "
           "model turns them into a picture (turn off matching the edges to "
           "keep the painted tones)"),
        DM_OPTION_BOOL, INPAINT, 0, 1, 0, {0, 0}},
    [DM_OPTION_GUIDANCE_SCALE] = {"guidance-scale", N_("Guidance scale "
                                                       "(C_FG)"),
        N_("Classifier-free guidance: Stable Diffusion checkpoints, how "
           "closely the image follows the prompt (7.5 is usual); "
           "mask-conditioned models, how strongly the fill follows the "
           "pixels around it (1: as trained, 0: not at all, above 1: "
           "more). Values other than 1 take two network passes per "
           "evaluation, about twice the time. Unconditional models ignore "
           "it."),
        DM_OPTION_FLOAT, BOTH | TEXT, 0, 20, 0, {1, 1}, 0,
        {SD_GUIDANCE, SD_GUIDANCE}},
    [DM_OPTION_MATCH_EDGES] = {"match-edges", N_("Matc_h the edges"),
        N_("Shift the fill so that it meets the pixels around it without a "
           "step in tone, keeping its texture"),
        DM_OPTION_BOOL, INPAINT, 0, 1, 0, {1, 0}},
    [DM_OPTION_SEAMLESS] = {"seamless", N_("_Seamless"),
        N_("Make a result that tiles without a seam (the network wraps "
           "around the area; its sides must be multiples of the model's, "
           "and it is made in one piece, at most 1024 × 1024 or the pixel "
           "budget)"),
        DM_OPTION_BOOL, GENERATE, 0, 1, 0, {0, 0}},
    [DM_OPTION_ETA] = {"eta", N_("_Eta"),
        N_("DDIM: 0 is deterministic, 1 is as noisy as DDPM"),
        DM_OPTION_FLOAT, BOTH | ADVANCED, 0, 1, 0, {0, 0},
        ONLY(DM_SAMPLER_DDIM)},
    [DM_OPTION_CORRECTOR_STEPS] = {"corrector-steps",
        N_("Lange_vin corrector steps"),
        N_("pc, langevin: Langevin steps per noise level"),
        DM_OPTION_INT, BOTH | ADVANCED, 1, 100, 0, {1, 1}, CORRECTORS},
    [DM_OPTION_SNR] = {"snr", N_("S_ignal-to-noise ratio"),
        N_("pc, langevin: signal-to-noise ratio r of the Langevin steps "
           "(Song et al. 2021)"),
        DM_OPTION_FLOAT, BOTH | ADVANCED, 0.001, 10, 0, {0.16, 0.16},
        CORRECTORS},
    [DM_OPTION_JUMP_LENGTH] = {"jump-length", N_("_Jump length"),
        N_("RePaint resampling: steps to jump back (0: off)"),
        DM_OPTION_INT, BOTH | ADVANCED, 0, 1000, 0, {0, 0}},
    [DM_OPTION_JUMP_REPEATS] = {"jump-repeats", N_("J_ump repeats"),
        N_("RePaint resampling: times each stretch is sampled (0, 1: off)"),
        DM_OPTION_INT, BOTH | ADVANCED, 0, 1000, 0, {0, 0}},
    [DM_OPTION_CONTEXT_MARGIN] = {"context-margin", N_("Conte_xt margin"),
        N_("Pixels around the selection the model sees (-1: its receptive "
           "radius, every pixel its convolutions could use)"),
        DM_OPTION_INT, INPAINT | ADVANCED, -1, 65536, 0, {-1, -1}},
    /* Measured on tiny64 (bench-sampler --tiles, docs/performance.md): a
     * forward costs least per pixel on 256 x 256 tiles (~100 MiB peak);
     * with 64 pixels shared between tiles, tiling costs ~1.8x per pixel,
     * as much as one untiled 512 x 512 forward (~290 MiB), so areas up to
     * 512 x 512 run untiled. */
    [DM_OPTION_PIXEL_BUDGET] = {"pixel-budget", N_("Pixel budget"),
        N_("Largest area, in pixels, the network runs on whole; larger "
           "ones go in tiles"),
        DM_OPTION_INT, BOTH | EXPERT, 1024, 268435456, 0,
        {512 * 512, 512 * 512}},
    [DM_OPTION_TILE_SIZE] = {"tile-size", N_("Tile size"),
        N_("Side of the tiles the network runs on for large areas"),
        DM_OPTION_INT, BOTH | EXPERT, 32, 4096, 0, {256, 256}},
    /* At most half the tile size: checked with the tile size. */
    [DM_OPTION_TILE_OVERLAP] = {"tile-overlap", N_("Tile overlap"),
        N_("Pixels neighbouring tiles share and blend (at most half the "
           "tile size)"),
        DM_OPTION_INT, BOTH | EXPERT, 0, 2048, 0, {64, 64}},
};

const DmOptionInfo *dm_option_info(DmOption option) {
  return option >= 0 && option < DM_OPTION_COUNT ? &options[option] : NULL;
}

bool dm_option_from_name(const char *name, DmOption *out) {
  for (int i = 0; name && i < DM_OPTION_COUNT; i++)
    if (strcmp(name, options[i].name) == 0) {
      *out = (DmOption)i;
      return true;
    }
  return false;
}

bool dm_option_read_by(DmOption option, DmSampler sampler) {
  const uint32_t readers = options[option].samplers;
  return readers == 0 || (readers & ONLY(sampler)) != 0;
}

const char *dm_option_choice_name(DmOption option, int32_t index) {
  return option == DM_OPTION_SAMPLER ? dm_sampler_name((DmSampler)index)
                                     : NULL;
}

const char *dm_option_choice_description(DmOption option, int32_t index) {
  return option == DM_OPTION_SAMPLER
             ? dm_sampler_description((DmSampler)index) : NULL;
}

/* ---- values ---------------------------------------------------------------- */

double dm_option_get(DmOption option, const DmSampleOptions *s,
                     const DmAreaOptions *a) {
  switch (option) {
  case DM_OPTION_SAMPLER: return s->sampler;
  case DM_OPTION_STEPS: return s->steps;
  case DM_OPTION_SEED: return (double)s->seed;
  case DM_OPTION_STRENGTH: return s->strength;
  case DM_OPTION_FROM_PIXELS: return a->hole_start == DM_HOLE_START_PIXELS;
  case DM_OPTION_GUIDANCE_SCALE: return s->guidance_scale;
  case DM_OPTION_MATCH_EDGES: return a->match_edges;
  case DM_OPTION_SEAMLESS: return a->seamless;
  case DM_OPTION_ETA: return s->eta;
  case DM_OPTION_CORRECTOR_STEPS: return s->corrector_steps;
  case DM_OPTION_SNR: return s->snr;
  case DM_OPTION_JUMP_LENGTH: return s->jump_length;
  case DM_OPTION_JUMP_REPEATS: return s->jump_repeats;
  case DM_OPTION_CONTEXT_MARGIN: return a->context_margin;
  case DM_OPTION_PIXEL_BUDGET: return (double)a->pixel_budget;
  case DM_OPTION_TILE_SIZE: return a->tile_size;
  case DM_OPTION_TILE_OVERLAP: return a->tile_overlap;
  case DM_OPTION_COUNT:
  default: g_return_val_if_reached(NAN);
  }
}

/* Stores a value already checked against the table. */
static void store(DmOption option, double v, DmSampleOptions *s,
                  DmAreaOptions *a) {
  switch (option) {
  case DM_OPTION_SAMPLER: s->sampler = (DmSampler)v; break;
  case DM_OPTION_STEPS: s->steps = (int32_t)v; break;
  case DM_OPTION_SEED: s->seed = (uint64_t)v; break;
  case DM_OPTION_STRENGTH: s->strength = (float)v; break;
  case DM_OPTION_FROM_PIXELS:
    a->hole_start = v != 0 ? DM_HOLE_START_PIXELS : DM_HOLE_START_SMOOTH;
    break;
  case DM_OPTION_GUIDANCE_SCALE: s->guidance_scale = (float)v; break;
  case DM_OPTION_MATCH_EDGES: a->match_edges = v != 0; break;
  case DM_OPTION_SEAMLESS: a->seamless = v != 0; break;
  case DM_OPTION_ETA: s->eta = (float)v; break;
  case DM_OPTION_CORRECTOR_STEPS: s->corrector_steps = (int32_t)v; break;
  case DM_OPTION_SNR: s->snr = (float)v; break;
  case DM_OPTION_JUMP_LENGTH: s->jump_length = (int32_t)v; break;
  case DM_OPTION_JUMP_REPEATS: s->jump_repeats = (int32_t)v; break;
  case DM_OPTION_CONTEXT_MARGIN: a->context_margin = (int32_t)v; break;
  case DM_OPTION_PIXEL_BUDGET: a->pixel_budget = (int64_t)v; break;
  case DM_OPTION_TILE_SIZE: a->tile_size = (int32_t)v; break;
  case DM_OPTION_TILE_OVERLAP: a->tile_overlap = (int32_t)v; break;
  case DM_OPTION_COUNT:
  default: g_return_if_reached();
  }
}

/* The value shown in messages: a choice by its name. */
static char *value_text(DmOption option, double value) {
  const DmOptionInfo *info = &options[option];
  if (info->type == DM_OPTION_CHOICE && value >= 0 && value < info->choices)
    return g_strdup(dm_option_choice_name(option, (int32_t)value));
  if (info->type == DM_OPTION_BOOL && (value == 0 || value == 1))
    return g_strdup(value != 0 ? "true" : "false");
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup(g_ascii_formatd(buffer, sizeof buffer, "%.9g", value));
}

static bool in_range(const DmOptionInfo *info, double value) {
  if (!(value >= info->min && value <= info->max)) return false; /* NaN */
  return info->type == DM_OPTION_FLOAT || value == floor(value);
}

static bool out_of_range(DmOption option, double value, GError **error) {
  const DmOptionInfo *info = &options[option];
  char *text = value_text(option, value);
  char low[G_ASCII_DTOSTR_BUF_SIZE], high[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(low, sizeof low, "%.9g", info->min);
  g_ascii_formatd(high, sizeof high, "%.9g", info->max);
  const char *kind = info->type == DM_OPTION_FLOAT ? "a number"
                     : info->type == DM_OPTION_BOOL ? "0 or 1"
                                                    : "a whole number";
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "%s %s is out of range: it must be %s from %s to %s",
              info->name, text, kind, low, high);
  g_free(text);
  return false;
}

bool dm_option_check(DmOption option, double value, GError **error) {
  return in_range(&options[option], value) ||
         out_of_range(option, value, error);
}

bool dm_option_set(DmOption option, double value, DmSampleOptions *sample,
                   DmAreaOptions *area, GError **error) {
  g_return_val_if_fail(option >= 0 && option < DM_OPTION_COUNT, false);
  if (!dm_option_check(option, value, error)) return false;
  store(option, value, sample, area);
  return true;
}

/* A bool's spellings: false ones first, then true ones, in pairs. */
static bool parse_bool(const char *text, double *value) {
  static const char *const words[][2] = {
      {"false", "true"}, {"off", "on"}, {"no", "yes"}, {"0", "1"}};
  for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
    for (int truth = 0; truth < 2; truth++)
      if (g_ascii_strcasecmp(text, words[i][truth]) == 0) {
        *value = truth;
        return true;
      }
  return false;
}

static bool parse_choice(DmOption option, const char *text, double *value) {
  for (int32_t i = 0; i < options[option].choices; i++)
    if (strcmp(text, dm_option_choice_name(option, i)) == 0) {
      *value = i;
      return true;
    }
  return false;
}

static bool parse_number(const char *text, double *value) {
  char *end = NULL;
  *value = g_ascii_strtod(text, &end);
  return end != text && *end == '\0';
}

/* What a choice option accepts, for messages (caller g_free()s). */
static char *choice_list(DmOption option) {
  GString *list = g_string_new(NULL);
  for (int32_t i = 0; i < options[option].choices; i++)
    g_string_append_printf(list, "%s%s", i ? ", " : "",
                           dm_option_choice_name(option, i));
  return g_string_free(list, FALSE);
}

bool dm_option_set_text(DmOption option, const char *text,
                        DmSampleOptions *sample, DmAreaOptions *area,
                        GError **error) {
  g_return_val_if_fail(option >= 0 && option < DM_OPTION_COUNT, false);
  const DmOptionInfo *info = &options[option];
  double value = 0;
  bool parsed = text != NULL &&
                (info->type == DM_OPTION_CHOICE ? parse_choice(option, text,
                                                               &value)
                 : info->type == DM_OPTION_BOOL ? parse_bool(text, &value)
                                                : parse_number(text, &value));
  if (parsed) return dm_option_set(option, value, sample, area, error);
  char *wanted = info->type == DM_OPTION_CHOICE ? choice_list(option)
                 : info->type == DM_OPTION_BOOL ? g_strdup("true or false")
                                                : g_strdup("a number");
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "%s '%s' is not valid: it must be %s%s", info->name,
              text ? text : "", info->type == DM_OPTION_CHOICE ? "one of " : "",
              wanted);
  g_free(wanted);
  return false;
}

bool dm_area_options_check(const DmAreaOptions *area, GError **error) {
  static const DmOption area_options[] = {
      DM_OPTION_FROM_PIXELS, DM_OPTION_MATCH_EDGES, DM_OPTION_SEAMLESS,
      DM_OPTION_CONTEXT_MARGIN, DM_OPTION_PIXEL_BUDGET, DM_OPTION_TILE_SIZE,
      DM_OPTION_TILE_OVERLAP};
  for (size_t i = 0; i < G_N_ELEMENTS(area_options); i++)
    if (!dm_option_check(area_options[i],
                         dm_option_get(area_options[i], NULL, area), error))
      return false;
  if (area->tile_overlap > area->tile_size / 2) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "tile-overlap %d is more than half the tile-size %d",
                area->tile_overlap, area->tile_size);
    return false;
  }
  if (area->hole_start < 0 || area->hole_start >= DM_HOLE_START_COUNT) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "from-pixels: hole_start %d is not a DmHoleStart value",
                (int)area->hole_start);
    return false;
  }
  return true;
}

bool dm_options_check(const DmSampleOptions *sample,
                      const DmAreaOptions *area, GError **error) {
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    if (!dm_option_check((DmOption)i, dm_option_get((DmOption)i, sample, area),
                         error))
      return false;
  return dm_area_options_check(area, error);
}

void dm_options_default(DmTask task, DmSampleOptions *sample,
                        DmAreaOptions *area) {
  g_return_if_fail(task >= 0 && task < DM_TASK_COUNT);
  *sample = (DmSampleOptions){0};
  *area = (DmAreaOptions){0};
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    store((DmOption)i, options[i].defaults[task], sample, area);
}

void dm_options_default_text(DmTask task, uint32_t chosen,
                             DmSampleOptions *sample, DmAreaOptions *area) {
  g_return_if_fail(task >= 0 && task < DM_TASK_COUNT);
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    if ((options[i].flags & DM_OPTION_TEXT_DEFAULT) &&
        !(chosen & (1u << i)))
      store((DmOption)i, options[i].text_defaults[task], sample, area);
}

void dm_sample_options_default(DmSampleOptions *options) {
  DmAreaOptions area;
  dm_options_default(DM_TASK_GENERATE, options, &area);
}

void dm_area_options_default(DmAreaOptions *options) {
  DmSampleOptions sample;
  dm_options_default(DM_TASK_GENERATE, &sample, options);
}

/* ---- text options --------------------------------------------------- */

/* Every letter of "Prompt" is taken in the dialogs (Sam_pler, S_teps,
 * _Reset, _OK, ...): its mnemonic shares P with the sampler's; the
 * negative prompt's V is Lange_vin's, folded away under Advanced. */

static const DmTextOptionInfo text_options[DM_TEXT_OPTION_COUNT] = {
    [DM_TEXT_OPTION_PROMPT] = {"prompt", N_("_Prompt"),
        N_("Stable Diffusion checkpoints: what the image shows, in words "
           "(up to 75 tokens, about 60 words, are read; more are cut). "
           "Other models take no prompt.")},
    [DM_TEXT_OPTION_NEGATIVE_PROMPT] = {"negative-prompt",
        N_("Negati_ve prompt"),
        N_("Stable Diffusion checkpoints: what the image should not show "
           "(read with a guidance scale other than 1). Other models take "
           "no prompt.")},
};

const DmTextOptionInfo *dm_text_option_info(DmTextOption option) {
  return option >= 0 && option < DM_TEXT_OPTION_COUNT ? &text_options[option]
                                                      : NULL;
}

void dm_text_option_set(DmTextOption option, const char *text,
                        DmSdOptions *sd) {
  g_return_if_fail(option >= 0 && option < DM_TEXT_OPTION_COUNT);
  if (option == DM_TEXT_OPTION_PROMPT)
    sd->prompt = text;
  else
    sd->negative_prompt = text;
}
