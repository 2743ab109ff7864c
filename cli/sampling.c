/* gimp-diffusion CLI: what the sampling commands share — their options,
 * built from core's option table, the model, the cost of a run, and the
 * run itself.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gegl.h>

#include "commands.h"
#include "image-io.h"

/* ---- options ------------------------------------------------------------ */

/* A string the group's entries point to, kept until the command ends. */
static const char *keep(DmCliSampling *args, char *text) {
  g_ptr_array_add(args->texts, text);
  return text;
}

/* A choice's name or a number, as the help shows a default (caller
 * frees). */
static char *default_text(DmOption option, double value) {
  if (dm_option_info(option)->type == DM_OPTION_CHOICE)
    return g_strdup(dm_option_choice_name(option, (int32_t)value));
  return g_strdup_printf("%.10g", value);
}

/* What range_text() adds for an option with a Stable Diffusion default:
 * "; Stable Diffusion checkpoints: 7.5" (caller frees); "" otherwise. */
static char *text_default_text(DmOption option, DmTask task) {
  const DmOptionInfo *info = dm_option_info(option);
  if (!(info->flags & DM_OPTION_TEXT_DEFAULT)) return g_strdup("");
  char *value = default_text(option, info->text_defaults[task]);
  char *text = g_strdup_printf(_("; Stable Diffusion checkpoints: %s"),
                               value);
  g_free(value);
  return text;
}

/* " (0 to 1; default 0.5)", " (default true)", or for a choice its names
 * (caller frees). */
static char *range_text(DmOption option, DmTask task) {
  const DmOptionInfo *info = dm_option_info(option);
  const double value = info->defaults[task];
  if (info->type == DM_OPTION_BOOL)
    return g_strdup_printf(_(" (default %s)"), value != 0 ? "on" : "off");
  if (info->type == DM_OPTION_CHOICE) {
    GString *text = g_string_new(": ");
    for (int32_t i = 0; i < info->choices; i++)
      g_string_append_printf(text, "%s%s", i ? ", " : "",
                             dm_option_choice_name(option, i));
    g_string_append_printf(text, _(" (default %s)"),
                           dm_option_choice_name(option, (int32_t)value));
    return g_string_free(text, FALSE);
  }
  return g_strdup_printf(_(" (%.10g to %.10g; default %.10g)"), info->min, info->max,
                         value);
}

/* GOptionArgFunc for the table's options: "--NAME VALUE", "--NAME" and
 * "--no-NAME" for a bool. */
static gboolean parse_option(const gchar *option_name, const gchar *value,
                             gpointer data, GError **error) {
  DmCliSampling *args = data;
  const char *name = option_name + strspn(option_name, "-");
  const bool negated = g_str_has_prefix(name, "no-");
  DmOption option;
  if (!dm_option_from_name(negated ? name + 3 : name, &option))
    g_return_val_if_reached(FALSE);
  GError *problem = NULL;
  const bool ok =
      dm_option_info(option)->type == DM_OPTION_BOOL
          ? dm_option_set(option, negated ? 0 : 1, &args->sample, &args->area,
                          &problem)
          : dm_option_set_text(option, value, &args->sample, &args->area,
                               &problem);
  if (!ok) {
    g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        problem->message);
    g_error_free(problem);
  }
  args->chosen |= 1u << option;
  return ok;
}

/* The entries of `option`: --NAME, and --no-NAME for a bool. */
static void add_table_option(GArray *entries, DmCliSampling *args,
                             DmOption option) {
  const DmOptionInfo *info = dm_option_info(option);
  const bool is_bool = info->type == DM_OPTION_BOOL;
  char *range = range_text(option, args->task);
  char *text_default = text_default_text(option, args->task);
  const GOptionEntry entry = {
      info->name, 0, is_bool ? G_OPTION_FLAG_NO_ARG : 0,
      G_OPTION_ARG_CALLBACK, (gpointer)parse_option,
      keep(args, g_strconcat(_(info->help), range, text_default, NULL)),
      info->type == DM_OPTION_CHOICE ? "NAME"
      : info->type == DM_OPTION_INT  ? "N"
                                     : is_bool ? NULL : "X"};
  g_free(text_default);
  g_free(range);
  g_array_append_val(entries, entry);
  if (!is_bool) return;
  const GOptionEntry negation = {
      keep(args, g_strconcat("no-", info->name, NULL)), 0,
      G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer)parse_option,
      keep(args, g_strdup_printf(_("Turn --%s off"), info->name)), NULL};
  g_array_append_val(entries, negation);
}

GOptionGroup *dm_cli_sampling_group(DmCliSampling *args,
                                    const GOptionEntry *extra) {
  dm_options_default(args->task, &args->sample, &args->area);
  args->texts = g_ptr_array_new_with_free_func(g_free);
  const GOptionEntry common[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &args->model_path,
       N_("The model: a file, a folder, or the name of an installed model"),
       "MODEL"},
      {"out", 'o', 0, G_OPTION_ARG_FILENAME, &args->out_path,
       N_("Output image (png, jpg, tif, webp, ppm, pgm)"), "FILE"},
      {"force", 0, 0, G_OPTION_ARG_NONE, &args->force,
       N_("Run even when the estimate says it takes over 12 hours"), NULL},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &args->quiet,
       N_("No progress bar"), NULL}};
  GArray *entries = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));
  g_array_append_vals(entries, common, 2);
  for (const GOptionEntry *e = extra; e && e->long_name; e++)
    g_array_append_val(entries, *e);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++) {
    const DmTextOptionInfo *info = dm_text_option_info((DmTextOption)i);
    const GOptionEntry entry = {info->name, 0, 0, G_OPTION_ARG_STRING,
                                &args->prompts[i], info->help, "TEXT"};
    g_array_append_val(entries, entry);
  }
  const uint32_t task_flag = 1u << args->task;
  for (int i = 0; i < DM_OPTION_COUNT; i++)
    if (dm_option_info((DmOption)i)->flags & task_flag)
      add_table_option(entries, args, (DmOption)i);
  g_array_append_vals(entries, common + 2, 2);
  GOptionGroup *group = g_option_group_new(NULL, NULL, NULL, args, NULL);
  g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
  g_option_group_add_entries(group, (GOptionEntry *)entries->data);
  g_array_free(entries, TRUE); /* GOption copied them */
  return group;
}

void dm_cli_sampling_clear(DmCliSampling *args) {
  g_clear_pointer(&args->texts, g_ptr_array_unref);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    g_clear_pointer(&args->prompts[i], g_free);
}

/* ---- the model ------------------------------------------------------------ */

void dm_cli_model_clear(DmCliModel *model) {
  g_clear_pointer(&model->pixel, dm_model_free);
  g_clear_pointer(&model->sd, dm_sd_model_free);
}

int32_t dm_cli_model_channels(const DmCliModel *model) {
  return model->sd ? 3 : dm_model_config(model->pixel)->out_channels;
}

/* The first text option given, or NULL. */
static const char *given_text_option(const DmCliSampling *args) {
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    if (args->prompts[i] != NULL)
      return dm_text_option_info((DmTextOption)i)->name;
  return NULL;
}

/* Refuses text options for a pixel-space model, which cannot read them,
 * and warns that it ignores a guidance scale it does not read. */
static bool check_pixel_model(const DmCliSampling *args, DmModel *model,
                              GError **error) {
  const char *text_option = given_text_option(args);
  if (text_option != NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("--%s needs a Stable Diffusion checkpoint, but '%s' is a "
                  "pixel-space model, which takes no prompt"), text_option,
                args->model_path);
    return false;
  }
  if (args->sample.guidance_scale != 1.0f &&
      (args->task != DM_TASK_INPAINT ||
       dm_model_conditioning(model) != DM_CONDITIONING_MASK))
    dm_cli_warn(_("--guidance-scale applies to Stable Diffusion "
                  "checkpoints and to inpainting with mask-conditioned "
                  "models; this run does neither, so it is ignored"));
  return true;
}

/* Loads --model; a checkpoint's options the user did not choose move to
 * its defaults. */
static bool load_model(DmCliSampling *args, DmCliModel *model,
                       GError **error) {
  if (!dm_model_load_any(args->model_path, &model->pixel, &model->sd,
                         error))
    return false;
  if (model->sd)
    dm_options_default_text(args->task, args->chosen, &args->sample,
                            &args->area);
  else if (!check_pixel_model(args, model->pixel, error))
    g_clear_pointer(&model->pixel, dm_model_free);
  return model->sd != NULL || model->pixel != NULL;
}

int dm_cli_prepare(DmCliSampling *args, DmCliModel *model) {
  if (!args->model_path || !args->out_path)
    return dm_cli_fail(EXIT_USAGE, _("--model and --out are required"));
  GError *error = NULL;
  if (!dm_cli_output_check(args->out_path, &error)) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  dm_cli_catch_interrupt(); /* from here on, Ctrl-C cancels cleanly */
  if (!load_model(args, model, &error)) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  gegl_init(NULL, NULL);
  return EXIT_OK;
}

/* ---- the cost of a run ----------------------------------------------------- */

/* "2.5 s", "7 min", "3.2 h", "4.1 days" (caller frees). */
static char *duration_text(double seconds) {
  if (seconds < 120) return g_strdup_printf(_("%.1f s"), seconds);
  if (seconds < 7200) return g_strdup_printf(_("%.0f min"), seconds / 60);
  if (seconds < 172800) return g_strdup_printf(_("%.1f h"), seconds / 3600);
  return g_strdup_printf(_("%.1f days"), seconds / 86400);
}

/* Runs whose network evaluations times tiles stay below this are not
 * timed before they start: at most a few minutes with any bundled model. */
#define CHEAP_TILE_EVALUATIONS 200

/* Announces a run of `evaluations` network evaluations on a width x
 * height area estimated at `total` seconds, or refuses it when that is
 * over DM_CLI_MAX_HOURS (unless --force). */
static int judge_cost(const DmCliSampling *args, int64_t evaluations,
                      double total, int32_t width, int32_t height) {
  char *duration = duration_text(total);
  int status = EXIT_OK;
  if (total > DM_CLI_MAX_HOURS * 3600.0 && !args->force)
    status = dm_cli_fail(EXIT_USAGE,
                         _("this run takes %lld network evaluations on a "
                           "%dx%d area, about %s on this machine: more than "
                           "%d hours (--force runs it anyway)"),
                         (long long)evaluations, width, height, duration,
                         DM_CLI_MAX_HOURS);
  else if (total > DM_CLI_ANNOUNCE_SECONDS && !args->quiet)
    fprintf(stderr, _("gimp-diffusion: this run takes %lld network "
                      "evaluations on a %dx%d area, about %s on this "
                      "machine\n"),
            (long long)evaluations, width, height, duration);
  g_free(duration);
  return status;
}

static int check_pixel_cost(DmModel *model, const DmCliSampling *args,
                            int32_t width, int32_t height) {
  const int64_t evaluations =
      (int64_t)dm_sample_evaluations(&args->sample) *
      dm_model_evaluation_batch(model, &args->sample);
  const int32_t tiles = dm_area_tiles(width, height, &args->area, NULL);
  if (evaluations * tiles < CHEAP_TILE_EVALUATIONS) return EXIT_OK;
  double seconds = 0;
  GError *error = NULL;
  if (!dm_model_measure_evaluation(model, width, height, &args->area,
                                   &seconds, &error)) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  return judge_cost(args, evaluations, seconds * (double)evaluations, width,
                    height);
}

/* A Stable Diffusion run's cost besides its U-Net evaluations: the text
 * encoder and one or two VAE passes, together about two evaluations at
 * SD 1.5's size (bench-sd-pipeline, docs/performance.md). */
#define SD_OVERHEAD_EVALUATIONS 2

/* The prompts of args as core's options; they point into args. */
static DmSdOptions sd_options(const DmCliSampling *args) {
  DmSdOptions sd;
  dm_sd_options_default(&sd);
  for (int i = 0; i < DM_TEXT_OPTION_COUNT; i++)
    dm_text_option_set((DmTextOption)i, args->prompts[i], &sd);
  return sd;
}

/* The cost of filling `hole` (NULL: generating) in a width x height
 * image with a Stable Diffusion checkpoint, always measured: one
 * evaluation is a small part of any run. */
static int check_sd_cost(DmSdModel *model, const DmCliSampling *args,
                         const DmRect *hole, int32_t width, int32_t height) {
  const DmSdOptions sd = sd_options(args);
  DmSdWork work;
  double seconds = 0;
  GError *error = NULL;
  if (!dm_sd_work_area(model, &sd, &args->area, hole, width, height, &work,
                       &error) ||
      !dm_sd_measure_evaluation(model, &work, &args->sample, &seconds,
                                &error)) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  const int64_t steps = dm_sample_evaluations(&args->sample);
  return judge_cost(args, steps * dm_sd_evaluation_batch(&args->sample),
                    seconds * (double)(steps + SD_OVERHEAD_EVALUATIONS),
                    work.width, work.height);
}

int dm_cli_check_cost(DmCliModel *model, const DmCliSampling *args,
                      int32_t width, int32_t height) {
  return model->sd ? check_sd_cost(model->sd, args, NULL, width, height)
                   : check_pixel_cost(model->pixel, args, width, height);
}

/* ---- the run ---------------------------------------------------------------- */

volatile sig_atomic_t dm_cli_interrupted = 0;

static void on_interrupt(int signal_number) {
  (void)signal_number;
  dm_cli_interrupted = 1;
}

void dm_cli_catch_interrupt(void) { signal(SIGINT, on_interrupt); }

typedef struct {
  gint64 start; /* monotonic microseconds */
  bool quiet;
} Progress;

/* DmProgressFunc: a bar on stderr when it is a terminal; Ctrl-C cancels. */
static bool report(int32_t done, int32_t total, void *user_data) {
  const Progress *progress = user_data;
  if (!progress->quiet && isatty(STDERR_FILENO)) {
    const double seconds = (g_get_monotonic_time() - progress->start) / 1e6;
    const double rate = done / (seconds > 0 ? seconds : 1e-9);
    fputc('\r', stderr);
    fprintf(stderr, _("step %d/%d  %.2f it/s  ETA %.0f s   "), done, total,
            rate, (total - done) / rate);
    if (done == total) fprintf(stderr, "\n");
  }
  return !dm_cli_interrupted;
}

/* The area the network runs on: the work area around the mask. */
static DmRect run_area(const DmModel *model, const DmCliSampling *args,
                       const DmTensor *image, const float *mask) {
  DmRect hole = {0, 0, image->w, image->h};
  if (!dm_mask_bounds(mask, image->w, image->h, &hole, NULL)) return hole;
  return dm_model_work_area(model, &args->area, hole, image->w, image->h);
}

static int status_of(const GError *error) {
  if (error->code == DM_ERROR_CANCELLED) return EXIT_INTERRUPTED;
  return error->code == DM_ERROR_INVALID_ARGUMENT ||
                 error->code == DM_ERROR_UNSUPPORTED
             ? EXIT_USAGE : EXIT_RUNTIME;
}

static bool run_pixel_model(DmModel *model, const DmCliSampling *args,
                            DmTensor *image, const float *mask,
                            Progress *progress, int *status,
                            GError **error) {
  if (mask != NULL) {
    const DmRect area = run_area(model, args, image, mask);
    *status = check_pixel_cost(model, args, area.width, area.height);
    if (*status != EXIT_OK) return true;
  }
  return mask ? dm_model_inpaint(model, image->data, mask, image->w,
                                 image->h, &args->sample, &args->area,
                                 report, progress, error)
              : dm_model_generate(model, image->data, image->w, image->h,
                                  &args->sample, &args->area, report,
                                  progress, error);
}

static bool run_sd_model(DmSdModel *model, const DmCliSampling *args,
                         DmTensor *image, const float *mask,
                         Progress *progress, int *status, GError **error) {
  const DmSdOptions sd = sd_options(args);
  DmRect hole;
  if (mask != NULL && dm_mask_bounds(mask, image->w, image->h, &hole, NULL)) {
    *status = check_sd_cost(model, args, &hole, image->w, image->h);
    if (*status != EXIT_OK) return true;
  }
  return mask ? dm_sd_inpaint(model, image->data, mask, image->w, image->h,
                              &sd, &args->sample, &args->area, report,
                              progress, error)
              : dm_sd_generate(model, image->data, image->w, image->h, &sd,
                               &args->sample, &args->area, report, progress,
                               error);
}

int dm_cli_run_model(DmCliModel *model, const DmCliSampling *args,
                     DmTensor *image, const float *mask) {
  int status = EXIT_OK;
  GError *error = NULL;
  Progress progress = {g_get_monotonic_time(), args->quiet};
  const bool ok =
      model->sd ? run_sd_model(model->sd, args, image, mask, &progress,
                               &status, &error)
                : run_pixel_model(model->pixel, args, image, mask, &progress,
                                  &status, &error);
  if (!ok) {
    status = status_of(error);
    dm_cli_fail(status, "%s", status == EXIT_INTERRUPTED
                                  ? _("interrupted: nothing was written")
                                  : error->message);
  }
  g_clear_error(&error);
  return status;
}
