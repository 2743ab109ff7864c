/* gimp-diffusion CLI: the commands other than info, and what the sampling
 * commands share (sampling.c).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_COMMANDS_H
#define DM_CLI_COMMANDS_H

#include <signal.h>

#include <glib.h>
#include <glib/gi18n-lib.h>

#include "dm.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Prints "gimp-diffusion: error: MESSAGE" on one line, returns `status`.
 * Callers pass a translated format: dm_cli_fail(2, _("..."), ...). */
int dm_cli_fail(int status, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Prints "gimp-diffusion: warning: MESSAGE" on one line. */
void dm_cli_warn(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Set by Ctrl-C once dm_cli_catch_interrupt() has run: long commands then
 * stop at their next step, write nothing half-done and exit. */
extern volatile sig_atomic_t dm_cli_interrupted;
void dm_cli_catch_interrupt(void);

/* Options of every sampling command, stored in sampling.c. */
extern char *dm_cli_model_path, *dm_cli_sampler_name, *dm_cli_out_path;
extern gint dm_cli_steps;
extern gint64 dm_cli_seed;
extern gdouble dm_cli_eta;
extern gint dm_cli_jump_length, dm_cli_jump_repeats, dm_cli_corrector_steps;
extern gdouble dm_cli_snr, dm_cli_guidance_scale;
extern gint dm_cli_context_margin, dm_cli_tile_size, dm_cli_tile_overlap;
extern gint64 dm_cli_pixel_budget;
extern gboolean dm_cli_seamless;    /* sample --seamless */
extern gboolean dm_cli_match_edges; /* inpaint --match-edges */
extern gboolean dm_cli_from_pixels; /* inpaint --from-pixels */
extern gboolean dm_cli_quiet;

/* The sampling commands' options; descriptions marked N_(), translated by
 * GOption through the command's translation domain. */
#define DM_CLI_SAMPLING_OPTIONS                                               \
  {"model", 'm', 0, G_OPTION_ARG_FILENAME, &dm_cli_model_path,                \
   N_("The model (file or folder)"), "MODEL"},                                \
  {"sampler", 0, 0, G_OPTION_ARG_STRING, &dm_cli_sampler_name,                \
   N_("Sampler: ddpm, ddim, sde, pc, ode or langevin (default ddim)"),       \
   "NAME"},                                                                   \
  {"steps", 0, 0, G_OPTION_ARG_INT, &dm_cli_steps,                            \
   N_("Sampling steps (default 50)"), "N"},                                   \
  {"seed", 0, 0, G_OPTION_ARG_INT64, &dm_cli_seed,                            \
   N_("Random seed (default 0)"), "K"},                                       \
  {"eta", 0, 0, G_OPTION_ARG_DOUBLE, &dm_cli_eta,                             \
   N_("DDIM eta, 0 to 1 (default 0)"), "E"},                                  \
  {"snr", 0, 0, G_OPTION_ARG_DOUBLE, &dm_cli_snr,                             \
   N_("pc, langevin: signal-to-noise ratio of the Langevin steps (0.16)"),   \
   "R"},                                                                      \
  {"corrector-steps", 0, 0, G_OPTION_ARG_INT, &dm_cli_corrector_steps,        \
   N_("pc, langevin: Langevin steps per noise level (default 1)"), "M"},     \
  {"jump-length", 0, 0, G_OPTION_ARG_INT, &dm_cli_jump_length,               \
   N_("RePaint resampling: jump back this many steps (default 0: off)"),     \
   "J"},                                                                      \
  {"jump-repeats", 0, 0, G_OPTION_ARG_INT, &dm_cli_jump_repeats,             \
   N_("RePaint resampling: sample each stretch this many times"), "R"},      \
  {"guidance-scale", 0, 0, G_OPTION_ARG_DOUBLE, &dm_cli_guidance_scale,     \
   N_("Mask-conditioned models: classifier-free guidance, 0 to 20 (default " \
      "1: none)"), "W"},                                                     \
  {"pixel-budget", 0, 0, G_OPTION_ARG_INT64, &dm_cli_pixel_budget,          \
   N_("Largest area the network runs on whole; larger ones go in tiles "     \
      "(262144)"), "N"},                                                     \
  {"tile-size", 0, 0, G_OPTION_ARG_INT, &dm_cli_tile_size,                   \
   N_("Run the network on tiles of this side for large areas (256)"), "PX"}, \
  {"tile-overlap", 0, 0, G_OPTION_ARG_INT, &dm_cli_tile_overlap,             \
   N_("Pixels neighbouring tiles share and blend (64)"), "PX"},              \
  {"out", 'o', 0, G_OPTION_ARG_FILENAME, &dm_cli_out_path,                    \
   N_("Output image (png, jpg, tif, webp)"), "FILE"},                         \
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &dm_cli_quiet, N_("No progress bar"),  \
   NULL}

/* Checks --model, --out and the sampler options; loads the model into
 * *model and starts GEGL (the caller ends with gegl_exit()). Returns
 * EXIT_OK or the exit status of the error it printed. */
int dm_cli_prepare(DmSampleOptions *options, DmModel **model);

/* Inpaints image (1, C, H, W) where mask (H, W) is above 0, or with a NULL
 * mask fills it with a sample; a progress bar on a terminal (unless
 * --quiet) and Ctrl-C as cancel. Returns EXIT_OK or the exit status of the
 * error it printed. */
int dm_cli_run_model(DmModel *model, const DmSampleOptions *options,
                     DmTensor *image, const float *mask);

extern const GOptionEntry dm_cli_sample_options[];
int dm_cli_run_sample(int argc, char **argv);
extern const GOptionEntry dm_cli_inpaint_options[];
int dm_cli_run_inpaint(int argc, char **argv);
extern const GOptionEntry dm_cli_train_options[];
int dm_cli_run_train(int argc, char **argv);

#endif /* DM_CLI_COMMANDS_H */
