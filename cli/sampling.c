/* gimp-diffusion CLI: what the sampling commands share.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gegl.h>

#include "commands.h"

char *dm_cli_model_path, *dm_cli_sampler_name, *dm_cli_out_path;
gint dm_cli_steps = 50;
gint64 dm_cli_seed = 0;
gdouble dm_cli_eta = 0.0;
gint dm_cli_jump_length = 0, dm_cli_jump_repeats = 0, dm_cli_corrector_steps = 1;
gdouble dm_cli_snr = 0.16, dm_cli_guidance_scale = 1.0;
gint64 dm_cli_pixel_budget = DM_DEFAULT_PIXEL_BUDGET;
gboolean dm_cli_seamless, dm_cli_match_edges, dm_cli_from_pixels;
gint dm_cli_context_margin = -1, dm_cli_tile_size = DM_DEFAULT_TILE_SIZE,
     dm_cli_tile_overlap = DM_DEFAULT_TILE_OVERLAP;
gboolean dm_cli_quiet = FALSE;

int dm_cli_prepare(DmSampleOptions *options, DmModel **model) {
  if (!dm_cli_model_path || !dm_cli_out_path)
    return dm_cli_fail(EXIT_USAGE, _("--model and --out are required"));
  dm_cli_catch_interrupt(); /* from here on, Ctrl-C cancels cleanly */
  dm_sample_options_default(options);
  if (dm_cli_sampler_name &&
      !dm_sampler_from_name(dm_cli_sampler_name, &options->sampler)) {
    GString *names = g_string_new(NULL);
    for (int i = 0; i < DM_SAMPLER_COUNT; i++)
      g_string_append_printf(names, "%s%s", i ? ", " : "",
                             dm_sampler_name((DmSampler)i));
    int status = dm_cli_fail(EXIT_USAGE, _("unknown sampler '%s' (%s)"),
                             dm_cli_sampler_name, names->str);
    g_string_free(names, TRUE);
    return status;
  }
  options->steps = dm_cli_steps;
  options->seed = (uint64_t)dm_cli_seed;
  options->eta = (float)dm_cli_eta;
  options->snr = (float)dm_cli_snr;
  options->corrector_steps = dm_cli_corrector_steps;
  options->jump_length = dm_cli_jump_length;
  options->jump_repeats = dm_cli_jump_repeats;
  options->guidance_scale = (float)dm_cli_guidance_scale;
  GError *error = NULL;
  *model = dm_model_load(dm_cli_model_path, &error);
  if (*model == NULL) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  if (options->guidance_scale != 1.0f &&
      dm_model_conditioning(*model) != DM_CONDITIONING_MASK)
    dm_cli_warn(_("--guidance-scale applies to mask-conditioned models "
                  "only; this one is unconditional, so it is ignored"));
  gegl_init(NULL, NULL);
  return EXIT_OK;
}

volatile sig_atomic_t dm_cli_interrupted = 0;

static void on_interrupt(int signal_number) {
  (void)signal_number;
  dm_cli_interrupted = 1;
}

void dm_cli_catch_interrupt(void) { signal(SIGINT, on_interrupt); }

/* DmProgressFunc: a bar on stderr when it is a terminal; Ctrl-C cancels.
 * user_data: the start time (monotonic microseconds). */
static bool report(int32_t done, int32_t total, void *user_data) {
  const gint64 *start = user_data;
  if (!dm_cli_quiet && isatty(STDERR_FILENO)) {
    const double seconds = (g_get_monotonic_time() - *start) / 1e6;
    const double rate = done / (seconds > 0 ? seconds : 1e-9);
    fputc('\r', stderr);
    fprintf(stderr, _("step %d/%d  %.2f it/s  ETA %.0f s   "), done, total,
            rate, (total - done) / rate);
    if (done == total) fprintf(stderr, "\n");
  }
  return !dm_cli_interrupted;
}

int dm_cli_run_model(DmModel *model, const DmSampleOptions *options,
                     DmTensor *image, const float *mask) {
  GError *error = NULL;
  DmAreaOptions area;
  dm_area_options_default(&area);
  area.context_margin = dm_cli_context_margin;
  area.pixel_budget = dm_cli_pixel_budget;
  area.tile_size = dm_cli_tile_size;
  area.tile_overlap = dm_cli_tile_overlap;
  area.seamless = dm_cli_seamless;
  area.match_edges = dm_cli_match_edges;
  area.hole_start =
      dm_cli_from_pixels ? DM_HOLE_START_PIXELS : DM_HOLE_START_SMOOTH;
  gint64 start = g_get_monotonic_time();
  const bool ok =
      mask ? dm_model_inpaint(model, image->data, mask, image->w, image->h,
                              options, &area, report, &start, &error)
           : dm_model_generate(model, image->data, image->w, image->h, options,
                               &area, report, &start, &error);
  int status = EXIT_OK;
  if (!ok)
    status = dm_cli_fail(error->code == DM_ERROR_INVALID_ARGUMENT ||
                                 error->code == DM_ERROR_UNSUPPORTED
                             ? EXIT_USAGE : EXIT_RUNTIME,
                         "%s", error->message);
  g_clear_error(&error);
  return status;
}
