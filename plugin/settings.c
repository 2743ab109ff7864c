/* gimp-diffusion plug-in: the procedures' arguments.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <glib/gi18n-lib.h>

#include "settings.h"

/* The sampler argument's choices: one per core sampler, labelled with its
 * name and one-line description from core's table (translated here). */
static GimpChoice *sampler_choice(void) {
  GimpChoice *choice = gimp_choice_new();
  for (int i = 0; i < DM_SAMPLER_COUNT; i++) {
    const DmSampler sampler = (DmSampler)i;
    const gchar *description = _(dm_sampler_description(sampler));
    gchar *label = g_strdup_printf("%s: %s", dm_sampler_name(sampler),
                                   description);
    gimp_choice_add(choice, dm_sampler_name(sampler), i, label, description);
    g_free(label);
  }
  return choice;
}

static void add_sampling_arguments(GimpProcedure *procedure,
                                   const DmSampleOptions *defaults) {
  gimp_procedure_add_choice_argument(procedure, "sampler", _("Sam_pler"),
      _("How the model is stepped from noise to image"), sampler_choice(),
      dm_sampler_name(defaults->sampler), G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "steps", _("S_teps"),
      _("Sampling steps: more is slower and usually better"), 1, 1000,
      defaults->steps, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "seed", _("See_d"),
      _("Random seed: the same seed and settings give the same result"), 0,
      G_MAXINT, (gint)defaults->seed, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument(procedure, "eta", _("_Eta"),
      _("DDIM: 0 is deterministic, 1 is as noisy as DDPM"), 0.0, 1.0,
      defaults->eta, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "corrector-steps",
      _("Lan_gevin corrector steps"),
      _("pc, langevin: Langevin steps per noise level"), 1, 100,
      defaults->corrector_steps, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument(procedure, "snr",
      _("S_ignal-to-noise ratio"),
      _("pc, langevin: signal-to-noise ratio of the Langevin steps"), 0.001,
      1.0, defaults->snr, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "jump-length",
      _("_Jump length"),
      _("RePaint resampling: steps to jump back (0: off)"), 0, 1000,
      defaults->jump_length, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "jump-repeats",
      _("J_ump repeats"),
      _("RePaint resampling: times each stretch is sampled (0, 1: off)"), 0,
      1000, defaults->jump_repeats, G_PARAM_READWRITE);
}

void dm_plug_add_arguments(GimpProcedure *procedure, gboolean inpaint) {
  DmSampleOptions defaults;
  dm_sample_options_default(&defaults);
  gimp_procedure_add_string_argument(procedure, "model", _("_Model"),
      _("A model file or diffusers folder, or the name of a model installed "
        "in gimp-diffusion/models of the user's or the system's data folder"),
      "", G_PARAM_READWRITE);
  add_sampling_arguments(procedure, &defaults);
  if (inpaint) {
    gimp_procedure_add_double_argument(procedure, "strength",
        _("St_rength"),
        _("Where sampling starts: 1 from pure noise; below 1 from the "
          "selection smoothly filled from its surroundings and noised this "
          "far, which keeps the fill's tones closer to its surroundings and "
          "runs only that fraction of the steps"),
        0.05, 1.0, DM_PLUG_HEAL_STRENGTH, G_PARAM_READWRITE);
    gimp_procedure_add_boolean_argument(procedure, "from-pixels",
        _("Start from the la_yer's pixels"),
        _("With a strength below 1, start from what the selection holds "
          "instead of a smooth fill: paint rough colours and shapes into "
          "the selection, and the model turns them into a picture (turn "
          "off matching the edges to keep the painted tones)"),
        FALSE, G_PARAM_READWRITE);
    gimp_procedure_add_double_argument(procedure, "guidance-scale",
        _("Guidance scale (C_FG)"),
        _("Mask-conditioned models: how strongly the fill follows the "
          "pixels around it (classifier-free guidance; 1: as trained, 0: "
          "not at all, above 1: more). Values other than 1 take two network "
          "passes per evaluation, about twice the time. Unconditional "
          "models ignore it."),
        0.0, 20.0, defaults.guidance_scale, G_PARAM_READWRITE);
    gimp_procedure_add_boolean_argument(procedure, "match-edges",
        _("Matc_h the edges"),
        _("Shift the fill so that it meets the pixels around the selection "
          "without a step in tone, keeping its texture"),
        TRUE, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(procedure, "context-margin",
        _("Conte_xt margin"),
        _("Pixels around the selection the model sees (-1: its receptive "
          "radius)"), -1, 4096, -1, G_PARAM_READWRITE);
  } else
    gimp_procedure_add_boolean_argument(procedure, "seamless",
        _("_Seamless"),
        _("Make a result that tiles without a seam (the network wraps "
          "around the area; its sides must be multiples of the model's, "
          "and it must be at most 1024 × 1024)"),
        FALSE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument(procedure, "new-layer",
      _("Output to a ne_w layer"),
      _("Put the result in a new layer above the source (else change the "
        "layer itself)"), TRUE, G_PARAM_READWRITE);
}

/* Whether the procedure of `config` has the argument `name` (some are
 * inpainting's or generating's only). */
static gboolean has_argument(GimpProcedureConfig *config, const gchar *name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(config), name) !=
         NULL;
}

void dm_plug_settings_read(GimpProcedureConfig *config,
                           DmPlugSettings *settings) {
  gchar *sampler = NULL;
  gint seed = 0;
  gdouble eta = 0.0, snr = 0.0;
  dm_sample_options_default(&settings->sample);
  gdouble guidance_scale = settings->sample.guidance_scale;
  gdouble strength = settings->sample.strength;
  /* gboolean, not bool */
  gboolean match_edges = FALSE, seamless = FALSE, from_pixels = FALSE;
  dm_area_options_default(&settings->area);
  g_object_get(config, "model", &settings->model, "sampler", &sampler,
               "steps", &settings->sample.steps, "seed", &seed, "eta", &eta,
               "corrector-steps", &settings->sample.corrector_steps,
               "snr", &snr, "jump-length", &settings->sample.jump_length,
               "jump-repeats", &settings->sample.jump_repeats,
               "new-layer", &settings->new_layer, NULL);
  if (has_argument(config, "guidance-scale"))
    g_object_get(config, "guidance-scale", &guidance_scale, NULL);
  if (has_argument(config, "strength"))
    g_object_get(config, "strength", &strength, NULL);
  if (has_argument(config, "match-edges"))
    g_object_get(config, "match-edges", &match_edges, NULL);
  if (has_argument(config, "from-pixels"))
    g_object_get(config, "from-pixels", &from_pixels, NULL);
  if (has_argument(config, "context-margin"))
    g_object_get(config, "context-margin",
                 &settings->area.context_margin, NULL);
  if (has_argument(config, "seamless"))
    g_object_get(config, "seamless", &seamless, NULL);
  settings->area.match_edges = match_edges;
  settings->area.hole_start =
      from_pixels ? DM_HOLE_START_PIXELS : DM_HOLE_START_SMOOTH;
  settings->area.seamless = seamless;
  if (seamless) /* made in one piece: allow up to 1024² */
    settings->area.pixel_budget = MAX(settings->area.pixel_budget,
                                      DM_PLUG_SEAMLESS_BUDGET);
  dm_sampler_from_name(sampler, &settings->sample.sampler);
  settings->sample.seed = (uint64_t)seed;
  settings->sample.eta = (float)eta;
  settings->sample.snr = (float)snr;
  settings->sample.guidance_scale = (float)guidance_scale;
  settings->sample.strength = (float)strength;
  g_free(sampler);
}

void dm_plug_settings_clear(DmPlugSettings *settings) {
  g_clear_pointer(&settings->model, g_free);
}
