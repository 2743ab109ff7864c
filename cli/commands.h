/* gimp-diffusion CLI: the commands other than info, and what the sampling
 * commands share (sampling.c).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#ifndef DM_CLI_COMMANDS_H
#define DM_CLI_COMMANDS_H

#include <signal.h>

#include <glib.h>
#include <glib/gi18n-lib.h>

#include "dm.h"

/* Exit statuses; Ctrl-C ends a command with 128 + SIGINT, as shells
 * expect. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* Prints "gimp-diffusion: error: MESSAGE" on one line, returns `status`.
 * Callers pass a translated format: dm_cli_fail(2, _("..."), ...). */
int dm_cli_fail(int status, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Prints "gimp-diffusion: warning: MESSAGE" on one line. */
void dm_cli_warn(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Set by Ctrl-C once dm_cli_catch_interrupt() has run: long commands then
 * stop at their next step, write nothing half-done and exit. */
extern volatile sig_atomic_t dm_cli_interrupted;
void dm_cli_catch_interrupt(void);

/* What a sampling command (inpaint, sample) was told. */
typedef struct {
  DmTask task;
  char *model_path, *out_path;
  DmSampleOptions sample; /* the option table's options (core, dm.h), */
  DmAreaOptions area;     /* from the task's defaults */
  gboolean quiet;         /* no progress bar */
  gboolean force;         /* run whatever the estimate says */
  char *image_path, *mask_path; /* inpaint */
  gint64 max_pixels;            /* inpaint: images larger are refused */
  char *size_text;              /* sample */
  char *prompts[DM_TEXT_OPTION_COUNT]; /* the text options; NULL: not
                                        * given */
  uint32_t chosen;        /* bit (1 << DmOption) of each table option
                           * given: a Stable Diffusion checkpoint's
                           * defaults (dm_options_default_text) leave it */
  GPtrArray *texts;       /* option names and help the entries point to */
} DmCliSampling;

/* The model a sampling command runs: a pixel-space model (dm_model_load)
 * or a Stable Diffusion checkpoint (dm_sd_model_load); one is NULL. */
typedef struct {
  DmModel *pixel;
  DmSdModel *sd;
} DmCliModel;

void dm_cli_model_clear(DmCliModel *model);
/* The channels of the images it makes: 3 for Stable Diffusion. */
int32_t dm_cli_model_channels(const DmCliModel *model);

/* The options of a sampling command: --model and --out, `extra` (the
 * command's own entries, pointing into args), core's text options
 * (--prompt, --negative-prompt), every option of core's table that
 * applies to args->task (each --NAME VALUE, a bool as --NAME and
 * --no-NAME; checked against the table's range as it is parsed), --force
 * and --quiet. args->sample and args->area start at the task's
 * defaults. The group refers to args, which must outlive it. */
GOptionGroup *dm_cli_sampling_group(DmCliSampling *args,
                                    const GOptionEntry *extra);
/* Frees what the group made (the texts). */
void dm_cli_sampling_clear(DmCliSampling *args);

/* Checks --model and --out (dm_cli_output_check), loads the model into
 * *model: a Stable Diffusion checkpoint (dm_sd_checkpoint_probe), whose
 * table options the user did not choose move to its defaults, or a
 * pixel-space model, which must make images (dm_model_check_image) and
 * takes no prompt; starts GEGL (the caller ends with gegl_exit()); from
 * here on Ctrl-C cancels. Returns EXIT_OK or the exit status of the error
 * it printed. */
int dm_cli_prepare(DmCliSampling *args, DmCliModel *model);

/* Says what a run on a width x height area will cost when that is long
 * (network evaluations, and the time one takes on this machine, measured
 * first when the run is not obviously short), and refuses one estimated
 * over DM_CLI_MAX_HOURS unless --force. Returns EXIT_OK or the exit
 * status of the error it printed. */
int dm_cli_check_cost(DmCliModel *model, const DmCliSampling *args,
                      int32_t width, int32_t height);

/* Inpaints image (1, C, H, W) where mask (H, W) is above 0 (checking the
 * cost on the work area first), or with a NULL mask fills it with a
 * sample (the caller checked the cost); a progress bar on a terminal
 * (unless --quiet); Ctrl-C cancels (EXIT_INTERRUPTED). Returns EXIT_OK or
 * the exit status of the error it printed. */
int dm_cli_run_model(DmCliModel *model, const DmCliSampling *args,
                     DmTensor *image, const float *mask);

/* A run estimated to take longer than this is refused unless --force. */
#define DM_CLI_MAX_HOURS 12
/* A run estimated to take longer than this many seconds is announced. */
#define DM_CLI_ANNOUNCE_SECONDS 60

/* Each command's options, made when the command runs. */
GOptionGroup *dm_cli_sample_options(void);
int dm_cli_run_sample(int argc, char **argv);
GOptionGroup *dm_cli_inpaint_options(void);
int dm_cli_run_inpaint(int argc, char **argv);
GOptionGroup *dm_cli_train_options(void);
int dm_cli_run_train(int argc, char **argv);

#endif /* DM_CLI_COMMANDS_H */
