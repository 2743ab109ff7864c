/* gimp-diffusion train: train a model on a folder of images.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A run keeps its state in a work folder (default MODEL.work): the
 * checkpoint (checkpoint.safetensors, rewritten atomically every
 * --checkpoint-every steps, at the end and on Ctrl-C), the loss of every
 * step (loss.tsv) and preview grids (preview-STEP.png). --resume continues
 * from the checkpoint with its own options, drawing the same batches and
 * noise as an uninterrupted run: the loss trajectory is identical. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gegl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "commands.h"
#include "dataset-load.h"
#include "dm-dataset.h"
#include "dm-train.h"
#include "image-io.h"

/* What `train` was told. The trainer's own options (batch size, seed,
 * learning rate, warm-up, weight decay, clipping, EMA, min-SNR gamma,
 * conditioning dropout) start at core's defaults, dm_train_options_default,
 * when the options are made; the rest at the CLI's. */
typedef struct {
  char *data_dir, *model_out, *preset, *config_path, *init_path, *work_dir,
      *time_text, *sde_name, *prediction_name, *augment_name,
      *lr_schedule_name, *conditioning_name;
  gint image_size, batch_size, warmup_steps, checkpoint_every, preview_every,
      stop_after, cache_mb;
  gint64 total_steps, seed, max_pixels;
  gdouble learning_rate, ema_decay, min_snr_gamma, max_grad_norm,
      weight_decay, p_uncond;
  gboolean resume, quiet;
  GPtrArray *texts; /* help texts the options point to */
} TrainArgs;

static TrainArgs args = {
    .preset = "tiny", .sde_name = "vp", .prediction_name = "epsilon",
    .augment_name = "flip", .lr_schedule_name = "constant",
    .conditioning_name = "none", .image_size = 64, .checkpoint_every = 500,
    .preview_every = 1000, .cache_mb = 1024,
    .max_pixels = DM_CLI_DEFAULT_MAX_PIXELS};

/* core's defaults of the trainer's options into `args`. */
static void take_core_defaults(TrainArgs *a) {
  DmTrainOptions defaults;
  dm_train_options_default(&defaults);
  a->batch_size = defaults.batch_size;
  a->seed = (gint64)defaults.seed;
  a->learning_rate = defaults.lr.lr;
  a->warmup_steps = (gint)defaults.lr.warmup_steps;
  a->weight_decay = defaults.adamw.weight_decay;
  a->max_grad_norm = defaults.max_grad_norm;
  a->ema_decay = defaults.ema_decay;
  a->min_snr_gamma = defaults.min_snr_gamma;
  a->p_uncond = defaults.p_uncond;
}

/* `help` followed by " (default VALUE)", kept until the command ends. */
static const char *with_default(const char *help, double value) {
  char *text = g_strdup_printf(_("%s (default %g)"), _(help), value);
  g_ptr_array_add(args.texts, text);
  return text;
}

GOptionGroup *dm_cli_train_options(void) {
  take_core_defaults(&args);
  args.texts = g_ptr_array_new_with_free_func(g_free);
  const GOptionEntry entries[] = {
    {"data", 'd', 0, G_OPTION_ARG_FILENAME, &args.data_dir,
     N_("Folder of training images (searched recursively)"), "DIR"},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &args.model_out,
     N_("The model to write: a folder, or a file ending in .safetensors"),
     "MODEL"},
    {"preset", 0, 0, G_OPTION_ARG_STRING, &args.preset,
     N_("Network layout: tiny, small or base (default tiny)"), "NAME"},
    {"config", 0, 0, G_OPTION_ARG_FILENAME, &args.config_path,
     N_("A diffusers UNet2DModel config.json instead of a preset"), "FILE"},
    {"init", 0, 0, G_OPTION_ARG_FILENAME, &args.init_path,
     N_("Fine-tune this model instead of starting from random weights"),
     "MODEL"},
    {"size", 0, 0, G_OPTION_ARG_INT, &args.image_size,
     with_default(N_("Crop size"), args.image_size), "PX"},
    {"batch", 0, 0, G_OPTION_ARG_INT, &args.batch_size,
     with_default(N_("Images per step"), args.batch_size), "N"},
    {"steps", 0, 0, G_OPTION_ARG_INT64, &args.total_steps,
     N_("Steps to train"), "N"},
    {"time", 0, 0, G_OPTION_ARG_STRING, &args.time_text,
     N_("Train for this long (e.g. 90m, 2h; with or without --steps)"), "T"},
    {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &args.learning_rate,
     with_default(N_("Peak learning rate"), args.learning_rate), "LR"},
    {"lr-schedule", 0, 0, G_OPTION_ARG_STRING, &args.lr_schedule_name,
     N_("After warm-up: constant, cosine or linear (cosine and linear need "
        "--steps)"), "NAME"},
    {"warmup", 0, 0, G_OPTION_ARG_INT, &args.warmup_steps,
     with_default(N_("Learning-rate warm-up steps"), args.warmup_steps), "N"},
    {"weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &args.weight_decay,
     with_default(N_("AdamW weight decay"), args.weight_decay), "W"},
    {"grad-clip", 0, 0, G_OPTION_ARG_DOUBLE, &args.max_grad_norm,
     with_default(N_("Clip the gradient norm to this (0 = off)"),
                  args.max_grad_norm), "N"},
    {"ema", 0, 0, G_OPTION_ARG_DOUBLE, &args.ema_decay,
     with_default(N_("EMA decay of the exported weights (0 = none)"),
                  args.ema_decay), "D"},
    {"min-snr-gamma", 0, 0, G_OPTION_ARG_DOUBLE, &args.min_snr_gamma,
     with_default(N_("VP: min-SNR loss weighting with this gamma, e.g. 5 "
                     "(0 = off)"), args.min_snr_gamma), "G"},
    {"sde", 0, 0, G_OPTION_ARG_STRING, &args.sde_name,
     N_("Noise process: vp or ve (default vp)"), "KIND"},
    {"prediction", 0, 0, G_OPTION_ARG_STRING, &args.prediction_name,
     N_("VP: what the network predicts: epsilon, v_prediction or sample"), "P"},
    {"conditioning", 0, 0, G_OPTION_ARG_STRING, &args.conditioning_name,
     N_("none (default), or mask: the network also reads a random hole's "
        "mask and the image around it (an inpainting model)"), "KIND"},
    {"p-uncond", 0, 0, G_OPTION_ARG_DOUBLE, &args.p_uncond,
     with_default(N_("With --conditioning mask: how often a sample is shown "
                     "without its conditioning"), args.p_uncond), "P"},
    {"augment", 0, 0, G_OPTION_ARG_STRING, &args.augment_name,
     N_("none, flip (photos, default) or textures (all flips and turns)"), "A"},
    {"cache-mb", 0, 0, G_OPTION_ARG_INT, &args.cache_mb,
     with_default(N_("Memory for the decoded images"), args.cache_mb), "MB"},
    {"max-pixels", 0, 0, G_OPTION_ARG_INT64, &args.max_pixels,
     N_("Skip images of more pixels than this, told from their headers "
        "before decoding (default 67108864: 8192x8192)"), "N"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &args.seed,
     with_default(N_("Random seed"), (double)args.seed), "K"},
    {"work-dir", 0, 0, G_OPTION_ARG_FILENAME, &args.work_dir,
     N_("Checkpoint, loss log and previews (default MODEL.work)"), "DIR"},
    {"checkpoint-every", 0, 0, G_OPTION_ARG_INT, &args.checkpoint_every,
     with_default(N_("Steps between checkpoints"), args.checkpoint_every),
     "N"},
    {"preview-every", 0, 0, G_OPTION_ARG_INT, &args.preview_every,
     with_default(N_("Steps between preview grids (0 = none)"),
                  args.preview_every), "N"},
    {"stop-after", 0, 0, G_OPTION_ARG_INT, &args.stop_after,
     N_("Stop (with a checkpoint) after this many steps in this session"), "N"},
    {"resume", 0, 0, G_OPTION_ARG_NONE, &args.resume,
     N_("Continue the run whose checkpoint is in the work folder"), NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &args.quiet, N_("No progress bar"),
     NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionGroup *group = g_option_group_new(NULL, NULL, NULL, NULL, NULL);
  g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
  g_option_group_add_entries(group, entries);
  return group;
}

/* "90s", "30m", "2h" or a plain number of seconds; false if malformed. */
static bool parse_duration(const char *text, double *seconds) {
  char *end;
  const double value = g_ascii_strtod(text, &end);
  const double unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
  if (*end == 'h' || *end == 'm' || *end == 's') end++;
  *seconds = value * unit;
  return end != text && *end == '\0' && value > 0 && value < 1e7;
}

/* What a run carries from session to session in the trainer's notes. */
typedef struct {
  double elapsed;      /* seconds of training so far */
  int64_t images;      /* images in the data */
  int64_t skipped;     /* files skipped as unreadable */
  int32_t size, batch; /* crop size and batch size */
  int64_t steps;       /* --steps of the run (0: none) */
  char *data;          /* the data folder */
  char *command;       /* the first session's command line */
  double last_loss;    /* loss of the last step taken */
  double smoothed_loss; /* its exponential moving average (0.98) */
} RunNotes;

static void add_double_member(JsonBuilder *builder, const char *name,
                              double value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_double_value(builder, value);
}

static void add_int_member(JsonBuilder *builder, const char *name,
                           int64_t value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_int_value(builder, value);
}

static void add_string_member(JsonBuilder *builder, const char *name,
                              const char *value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_string_value(builder, value);
}

static char *notes_to_json(const RunNotes *notes) {
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  add_double_member(builder, "elapsed_seconds", notes->elapsed);
  add_int_member(builder, "images", notes->images);
  add_int_member(builder, "skipped_files", notes->skipped);
  add_int_member(builder, "size", notes->size);
  add_int_member(builder, "batch", notes->batch);
  add_int_member(builder, "steps", notes->steps);
  add_string_member(builder, "data", notes->data);
  add_string_member(builder, "command", notes->command);
  add_double_member(builder, "last_loss", notes->last_loss);
  add_double_member(builder, "smoothed_loss", notes->smoothed_loss);
  json_builder_end_object(builder);
  JsonGenerator *generator = json_generator_new();
  JsonNode *root = json_builder_get_root(builder);
  json_generator_set_root(generator, root);
  char *text = json_generator_to_data(generator, NULL);
  json_node_unref(root);
  g_object_unref(generator);
  g_object_unref(builder);
  return text;
}

static void notes_from_json(RunNotes *notes, const char *json) {
  JsonParser *parser = json_parser_new();
  if (json_parser_load_from_data(parser, json, -1, NULL) &&
      JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    notes->elapsed = json_object_get_double_member_with_default(
        o, "elapsed_seconds", 0.0);
    notes->images = json_object_get_int_member_with_default(o, "images", 0);
    notes->skipped = json_object_get_int_member_with_default(o, "skipped_files", 0);
    notes->size = (int32_t)json_object_get_int_member_with_default(o, "size", 0);
    notes->batch = (int32_t)json_object_get_int_member_with_default(o, "batch", 0);
    notes->steps = json_object_get_int_member_with_default(o, "steps", 0);
    notes->data = g_strdup(
        json_object_get_string_member_with_default(o, "data", ""));
    notes->command = g_strdup(
        json_object_get_string_member_with_default(o, "command", ""));
    notes->last_loss =
        json_object_get_double_member_with_default(o, "last_loss", 0.0);
    notes->smoothed_loss =
        json_object_get_double_member_with_default(o, "smoothed_loss", 0.0);
  }
  g_object_unref(parser);
}

/* --init's model; with --conditioning mask, an unconditional one is
 * widened into a mask-conditioned one that starts from its weights. */
static DmModel *init_model(DmConditioning conditioning, GError **error) {
  DmModel *model = dm_model_load(args.init_path, error);
  if (model == NULL || conditioning != DM_CONDITIONING_MASK ||
      dm_model_conditioning(model) == DM_CONDITIONING_MASK)
    return model;
  DmModel *widened = dm_model_new_mask_conditioned(model, error);
  dm_model_free(model);
  return widened;
}

/* The network to train: --init, --config or --args.preset, on the --sde and
 * --prediction schedule (fine-tuning keeps the model's own schedule). */
static DmModel *new_model(GError **error) {
  DmConditioning conditioning;
  if (!dm_conditioning_from_name(args.conditioning_name, &conditioning)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("--conditioning must be none or mask (got %s)"),
                args.conditioning_name);
    return NULL;
  }
  if (args.init_path) return init_model(conditioning, error);
  DmUnetConfig config;
  if (args.config_path) {
    char *text = NULL;
    if (!g_file_get_contents(args.config_path, &text, NULL, error)) return NULL;
    const bool ok = dm_unet_config_from_json(&config, text, error);
    g_free(text);
    if (!ok) return NULL;
  } else if (!dm_unet_config_preset(args.preset, args.image_size, &config)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("unknown preset '%s' (tiny, small or base)"), args.preset);
    return NULL;
  }
  if (conditioning == DM_CONDITIONING_MASK)
    config.in_channels = 2 * config.out_channels + 1;
  DmScheduleConfig schedule;
  dm_schedule_config_default(&schedule);
  if (!dm_sde_from_name(args.sde_name, &schedule.sde) ||
      !dm_prediction_from_name(args.prediction_name, &schedule.prediction_type)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("--sde must be vp or ve and --prediction epsilon, "
                  "v_prediction or sample (got %s, %s)"), args.sde_name,
                args.prediction_name);
    return NULL;
  }
  schedule.timestep_spacing = DM_SPACING_TRAILING;
  return dm_model_new_random(&config, &schedule, (uint64_t)args.seed, error);
}

static bool new_options(DmTrainOptions *options, GError **error) {
  dm_train_options_default(options);
  options->batch_size = args.batch_size;
  options->seed = (uint64_t)args.seed;
  options->adamw.weight_decay = (float)args.weight_decay;
  options->max_grad_norm = (float)args.max_grad_norm;
  options->ema_decay = (float)args.ema_decay;
  options->min_snr_gamma = (float)args.min_snr_gamma;
  options->p_uncond = (float)args.p_uncond;
  options->lr = (DmLrSchedule){.lr = (float)args.learning_rate, .lr_min = 0.0f,
                               .warmup_steps = args.total_steps > 0
                                                   ? MIN(args.warmup_steps, args.total_steps)
                                                   : args.warmup_steps,
                               .total_steps = args.total_steps > 0 ? args.total_steps
                                                              : G_MAXINT32};
  if (!dm_lr_schedule_from_name(args.lr_schedule_name, &options->lr.type) ||
      (options->lr.type != DM_LR_CONSTANT && args.total_steps <= 0)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                _("--lr-schedule '%s': use constant, or cosine / linear "
                  "with --steps"), args.lr_schedule_name);
    return false;
  }
  return true;
}

static bool encode_text(DmCliSink *sink, const void *data, GError **error) {
  (void)error;
  const GString *text = data;
  return dm_cli_sink_write(sink, text->str, text->len);
}

/* The loss log with only the steps before `step` (those a resumed run
 * repeats are dropped, and a line cut short by a kill), rewritten
 * atomically and opened for appending; NULL with *error set when it cannot
 * be written. */
static FILE *open_loss_log(const char *path, int64_t step, GError **error) {
  char *text = NULL;
  GString *kept = g_string_new(NULL);
  if (g_file_get_contents(path, &text, NULL, NULL)) {
    char **lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line && line[1]; line++)
      if (**line && g_ascii_strtoll(*line, NULL, 10) < step)
        g_string_append_printf(kept, "%s\n", *line);
    g_strfreev(lines);
  }
  FILE *log = NULL;
  if (dm_cli_replace_file(path, encode_text, kept, error) &&
      (log = fopen(path, "a")) == NULL)
    g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': %s"),
                path, g_strerror(errno));
  g_string_free(kept, TRUE);
  g_free(text);
  return log;
}

/* A 2x2 grid of EMA samples (DDIM 25 steps, seeds 0..3) at PATH. */
static bool write_preview(const DmTrainer *trainer, int32_t size,
                          const char *path, GError **error) {
  DmModel *model = dm_trainer_export(trainer, true, error);
  if (model == NULL) return false;
  const int32_t channels = dm_model_config(model)->out_channels;
  DmTensor *grid = dm_tensor_new(1, channels, 2 * size, 2 * size, error);
  float *sample = g_new(float, (size_t)channels * size * size);
  DmSampleOptions options;
  dm_sample_options_default(&options);
  options.steps = 25;
  DmAreaOptions area;
  dm_area_options_default(&area);
  bool ok = grid != NULL;
  for (int32_t k = 0; ok && k < 4; k++) {
    options.seed = (uint64_t)k;
    ok = dm_model_generate(model, sample, size, size, &options, &area, NULL,
                           NULL, error);
    for (int32_t c = 0; ok && c < channels; c++)
      for (int32_t y = 0; y < size; y++)
        memcpy(grid->data + ((size_t)c * 2 * size + (k / 2) * size + y) * 2 * size +
                   (k % 2) * size,
               sample + ((size_t)c * size + y) * size, size * sizeof(float));
  }
  ok = ok && dm_cli_save_image(grid, path, error);
  g_free(sample);
  dm_tensor_free(grid);
  dm_model_free(model);
  return ok;
}

/* The model card of the exported model. */
static char *model_card(const DmTrainer *trainer, const RunNotes *notes) {
  const int64_t steps = dm_trainer_step_count(trainer);
  return g_strdup_printf(
      "# gimp-diffusion model\n\n"
      "Trained with `gimp-diffusion train` on %" G_GINT64_FORMAT
      " images from `%s` (%" G_GINT64_FORMAT " files skipped).\n\n"
      "- steps: %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
      " skipped for a non-finite gradient), batch %d, crops of %d px\n"
      "- training time: %.1f min (%.1f images/s)\n"
      "- final loss: %.5f (last step), %.5f (smoothed)\n"
      "- command: `%s`\n\n"
      "The weights are the exponential moving average of the training "
      "weights.\n",
      notes->images, notes->data, notes->skipped, steps,
      dm_trainer_skipped_steps(trainer), notes->batch, notes->size,
      notes->elapsed / 60.0,
      steps * (double)notes->batch / (notes->elapsed > 0 ? notes->elapsed : 1),
      notes->last_loss, notes->smoothed_loss, notes->command);
}

/* Everything one session of a run holds. */
typedef struct {
  DmModel *model;
  DmTrainer *trainer;
  DmDataset *data;
  RunNotes notes;
  char *checkpoint; /* WORK/checkpoint.safetensors */
  char *loss_path;  /* WORK/loss.tsv */
  FILE *loss_log;   /* loss_path, appended to */
  double budget;    /* seconds this session may train; 0 = no limit */
} Run;

static void run_clear(Run *run) {
  if (run->loss_log) fclose(run->loss_log);
  dm_trainer_free(run->trainer);
  dm_model_free(run->model);
  dm_dataset_free(run->data);
  g_free(run->notes.data);
  g_free(run->notes.command);
  g_free(run->checkpoint);
  g_free(run->loss_path);
}

/* The run's settings as a command line (for the model card). */
static char *command_line(void) {
  GString *c = g_string_new("gimp-diffusion train");
  g_string_append_printf(c, " --data %s", args.data_dir);
  if (args.init_path) g_string_append_printf(c, " --init %s", args.init_path);
  else if (args.config_path) g_string_append_printf(c, " --config %s", args.config_path);
  else g_string_append_printf(c, " --preset %s", args.preset);
  g_string_append_printf(c, " --size %d --batch %d", args.image_size, args.batch_size);
  if (args.total_steps > 0)
    g_string_append_printf(c, " --steps %" G_GINT64_FORMAT, args.total_steps);
  if (args.time_text) g_string_append_printf(c, " --time %s", args.time_text);
  g_string_append_printf(c, " --lr %g --lr-schedule %s --warmup %d --ema %g "
                         "--sde %s --prediction %s --augment %s --seed %"
                         G_GINT64_FORMAT, args.learning_rate, args.lr_schedule_name,
                         args.warmup_steps, args.ema_decay, args.sde_name, args.prediction_name,
                         args.augment_name, args.seed);
  if (args.min_snr_gamma > 0)
    g_string_append_printf(c, " --min-snr-gamma %g", args.min_snr_gamma);
  if (g_strcmp0(args.conditioning_name, "none") != 0)
    g_string_append_printf(c, " --conditioning %s --p-uncond %g",
                           args.conditioning_name, args.p_uncond);
  return g_string_free(c, FALSE);
}

/* A fresh run, or the one in the work folder with --args.resume. */
static bool start_run(Run *run, GError **error) {
  if (args.resume) {
    run->trainer = dm_trainer_load(run->checkpoint, &run->model, error);
    if (run->trainer == NULL) return false;
    notes_from_json(&run->notes, dm_trainer_notes(run->trainer));
    args.image_size = run->notes.size;
    args.batch_size = run->notes.batch;
    if (!args.data_dir) args.data_dir = run->notes.data;
    if (args.total_steps <= 0) args.total_steps = run->notes.steps;
    run->notes.steps = args.total_steps;
    return true;
  }
  DmTrainOptions options;
  if (!new_options(&options, error) || !(run->model = new_model(error)))
    return false;
  run->trainer = dm_trainer_new(run->model, &options, error);
  run->notes = (RunNotes){.size = args.image_size, .batch = args.batch_size,
                          .steps = args.total_steps,
                          .data = g_strdup(args.data_dir),
                          .command = command_line()};
  return run->trainer != NULL;
}

/* Flushes the loss log to disk; false with *error set when a write of it
 * failed. */
static bool sync_loss_log(const Run *run, GError **error) {
  if (fflush(run->loss_log) == 0 && fsync(fileno(run->loss_log)) == 0)
    return true;
  g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': %s"),
              run->loss_path, g_strerror(errno));
  return false;
}

static bool save_checkpoint(Run *run, double session_seconds, GError **error) {
  /* the log first, so that it covers every step the checkpoint has taken
   * even when the process is killed later */
  if (!sync_loss_log(run, error)) return false;
  RunNotes notes = run->notes;
  notes.elapsed += session_seconds;
  char *json = notes_to_json(&notes);
  dm_trainer_set_notes(run->trainer, json);
  g_free(json);
  return dm_trainer_save(run->trainer, run->checkpoint, error);
}

/* The progress line: step, smoothed loss, images per second, ETA. */
static void report(const Run *run, int64_t step, double smoothed, double rate,
                   double session) {
  if (args.quiet || !isatty(STDERR_FILENO)) return;
  double left = args.total_steps > 0 ? (args.total_steps - step) / rate * args.batch_size : 0;
  if (run->budget > 0) left = left > 0 ? MIN(left, run->budget - session)
                                       : run->budget - session;
  fputc('\r', stderr);
  fprintf(stderr, _("step %lld  loss %.4f  %.1f img/s  ETA %.0f s   "),
          (long long)step, smoothed, rate, left);
}

/* Refuses a --batch and --size whose training cannot fit in this
 * machine's memory: a lower bound of what the trainer takes, plus the
 * batch of crops and the image cache, against the physical memory. */
static bool memory_fits(Run *run, GError **error) {
  double bytes = 0;
  if (!dm_trainer_memory_bound(run->trainer, args.image_size, &bytes, error))
    return false;
  bytes += sizeof(float) * 3.0 * args.batch_size * args.image_size * args.image_size +
           (double)args.cache_mb * (1 << 20);
  const double physical =
      (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  if (physical <= 0 || bytes <= physical) return true;
  const double gib = 1 << 30;
  g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY, _("training on %d crops "
              "of %dx%d per step needs at least %.1f GiB of memory (the "
              "network's activations, weights and optimiser state, the image "
              "cache); this machine has %.1f GiB: lower --batch or --size"),
              args.batch_size, args.image_size, args.image_size, bytes / gib,
              physical / gib);
  return false;
}

/* False when a resumed run has already taken its --steps: the model is
 * then written from the checkpoint, without reading the data. */
static bool steps_left(const Run *run) {
  return args.total_steps <= 0 ||
         dm_trainer_step_count(run->trainer) < args.total_steps;
}

/* Whether this session should take another step. */
static bool keep_going(const Run *run, int64_t step, int64_t first,
                       double session) {
  return !dm_cli_interrupted && (args.total_steps <= 0 || step < args.total_steps) &&
         (run->budget <= 0 || session < run->budget) &&
         (args.stop_after <= 0 || step - first < args.stop_after);
}

/* Trains until --steps, --time, --stop-after or Ctrl-C; checkpoints and
 * previews on the way. */
static bool train_loop(Run *run, double *session, GError **error) {
  const size_t per_batch = (size_t)args.batch_size * 3 * args.image_size * args.image_size;
  float *images = g_try_new(float, per_batch);
  if (images == NULL) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY, _("out of memory for a "
                "batch of %d crops of %dx%d"), args.batch_size, args.image_size,
                args.image_size);
    return false;
  }
  const int64_t first = dm_trainer_step_count(run->trainer);
  const gint64 start = g_get_monotonic_time();
  bool ok = true;
  for (int64_t step = first; ok && keep_going(run, step, first, *session);) {
    float loss = 0.0f;
    ok = dm_dataset_batch(run->data, images, args.batch_size, (uint64_t)args.seed,
                          (uint64_t)step * args.batch_size, error) &&
         dm_trainer_step(run->trainer, images, args.image_size, &loss, error);
    if (!ok) break;
    step++;
    if (fprintf(run->loss_log, "%" G_GINT64_FORMAT "\t%.9g\n", step - 1,
                loss) < 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_IO, _("cannot write '%s': %s"),
                  run->loss_path, g_strerror(errno));
      ok = false;
      break;
    }
    RunNotes *notes = &run->notes;
    notes->smoothed_loss = step == 1 ? loss
                           : 0.98 * notes->smoothed_loss + 0.02 * loss;
    notes->last_loss = loss;
    *session = (g_get_monotonic_time() - start) / 1e6;
    report(run, step, notes->smoothed_loss, (step - first) * args.batch_size / *session,
           *session);
    if (args.checkpoint_every > 0 && step % args.checkpoint_every == 0)
      ok = save_checkpoint(run, *session, error);
    if (ok && args.preview_every > 0 && step % args.preview_every == 0) {
      char *name = g_strdup_printf("preview-%06" G_GINT64_FORMAT ".png", step);
      char *path = g_build_filename(args.work_dir, name, NULL);
      ok = write_preview(run->trainer, args.image_size, path, error);
      g_free(name);
      g_free(path);
    }
  }
  if (!args.quiet && isatty(STDERR_FILENO)) fprintf(stderr, "\n");
  g_free(images);
  return ok && save_checkpoint(run, *session, error);
}

/* Writes the EMA model with its card to --out. */
static bool export_model(Run *run, double session, GError **error) {
  DmModel *model = dm_trainer_export(run->trainer, true, error);
  if (model == NULL) return false;
  run->notes.elapsed += session;
  char *card = model_card(run->trainer, &run->notes);
  dm_model_set_card(model, card);
  const bool ok = dm_model_save(model, args.model_out, error);
  g_free(card);
  dm_model_free(model);
  return ok;
}

static int check_arguments(int argc) {
  if (argc > 1)
    return dm_cli_fail(EXIT_USAGE, _("train takes no positional arguments"));
  if (!args.model_out)
    return dm_cli_fail(EXIT_USAGE, _("--out MODEL is required"));
  if (!args.resume && !args.data_dir)
    return dm_cli_fail(EXIT_USAGE, _("--data DIR is required (or --resume)"));
  if (!args.resume && args.total_steps <= 0 && !args.time_text)
    return dm_cli_fail(EXIT_USAGE, _("give --steps N, --time T or both"));
  if (args.image_size < 8 || args.image_size > 1024 || args.batch_size < 1 ||
      args.batch_size > 4096 || args.cache_mb < 1 || args.checkpoint_every < 0 ||
      args.preview_every < 0 || args.stop_after < 0)
    return dm_cli_fail(EXIT_USAGE, _("--size must be 8 .. 1024, --batch 1 .. "
                                     "4096, --cache-mb positive, step counts "
                                     "not negative"));
  if (args.max_pixels < 1)
    return dm_cli_fail(EXIT_USAGE, _("--max-pixels must be positive"));
  return EXIT_OK;
}

/* Whether `name` is the temporary file of a write a run makes in the work
 * folder (checkpoint.safetensors.tmp-XXXXXX by the trainer,
 * .loss.tsv.tmp-XXXXXX and .preview-STEP.png.tmp-XXXXXX through
 * dm_cli_replace_file), which a killed run leaves behind. */
static bool run_temporary(const char *name) {
  return g_regex_match_simple("^(checkpoint\\.safetensors|\\.loss\\.tsv|"
                              "\\.preview-[0-9]+\\.png)\\.tmp-[A-Za-z0-9]{6}$",
                              name, 0, 0);
}

/* Removes what killed runs left half-written in the work folder. */
static void remove_stale_temporaries(void) {
  GDir *dir = g_dir_open(args.work_dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir)) != NULL)
    if (run_temporary(name)) {
      char *path = g_build_filename(args.work_dir, name, NULL);
      g_unlink(path);
      g_free(path);
    }
  if (dir) g_dir_close(dir);
}

/* After a failed run: the work folder it made goes when the run wrote
 * nothing there (an empty loss log at most). */
static void remove_unused_work_dir(void) {
  char *log = g_build_filename(args.work_dir, "loss.tsv", NULL);
  GStatBuf info;
  if (g_lstat(log, &info) == 0 && S_ISREG(info.st_mode) && info.st_size == 0)
    g_unlink(log);
  g_free(log);
  g_rmdir(args.work_dir); /* fails, keeping it, unless it is empty now */
}

static int fail_with(GError *error, int status) {
  status = dm_cli_fail(status, "%s", error ? error->message : _("failed"));
  g_clear_error(&error);
  return status;
}

int dm_cli_run_train(int argc, char **argv) {
  (void)argv; /* no positional arguments */
  int status = check_arguments(argc);
  if (status != EXIT_OK) return status;
  dm_cli_catch_interrupt();
  Run run = {0};
  if (args.time_text && !parse_duration(args.time_text, &run.budget))
    return dm_cli_fail(EXIT_USAGE, _("--time '%s' is not a duration like 90m "
                                     "or 2h"), args.time_text);
  if (!args.work_dir) args.work_dir = g_strdup_printf("%s.work", args.model_out);
  const bool made_work_dir = !g_file_test(args.work_dir, G_FILE_TEST_EXISTS);
  if (g_mkdir_with_parents(args.work_dir, 0755) != 0)
    return dm_cli_fail(EXIT_RUNTIME, _("cannot create '%s': %s"), args.work_dir,
                       g_strerror(errno));
  remove_stale_temporaries();
  run.checkpoint = g_build_filename(args.work_dir, "checkpoint.safetensors", NULL);
  GError *error = NULL;
  gegl_init(NULL, NULL);
  DmAugment augment;
  DmCliDataSummary summary;
  if (!dm_augment_from_name(args.augment_name, &augment))
    status = dm_cli_fail(EXIT_USAGE, _("--augment must be none, flip or "
                                       "textures"));
  else if (!start_run(&run, &error) || !memory_fits(&run, &error))
    status = fail_with(error, EXIT_USAGE);
  else if (steps_left(&run) &&
           !(run.data = dm_cli_dataset_load(args.data_dir, args.image_size,
                                            (size_t)args.cache_mb << 20,
                                            args.max_pixels, augment, &summary,
                                            &error)))
    status = fail_with(error, EXIT_USAGE);
  else if (run.data) {
    run.notes.images = summary.loaded;
    run.notes.skipped = summary.skipped;
  }
  if (status == EXIT_OK) {
    run.loss_path = g_build_filename(args.work_dir, "loss.tsv", NULL);
    run.loss_log = open_loss_log(run.loss_path,
                                 dm_trainer_step_count(run.trainer), &error);
    if (run.loss_log == NULL) status = fail_with(error, EXIT_RUNTIME);
  }
  if (status == EXIT_OK) {
    double session = 0;
    const bool ok = train_loop(&run, &session, &error);
    const bool finished = !dm_cli_interrupted && args.stop_after <= 0;
    if (!ok)
      status = fail_with(error, EXIT_RUNTIME);
    else if (finished && !export_model(&run, session, &error))
      status = fail_with(error, EXIT_RUNTIME);
    else if (!finished)
      fprintf(stderr, _("gimp-diffusion: stopped at step %lld; the "
                        "checkpoint is in %s: continue with --resume\n"),
              (long long)dm_trainer_step_count(run.trainer), args.work_dir);
    if (dm_cli_interrupted && status == EXIT_OK) status = EXIT_INTERRUPTED;
  }
  run_clear(&run);
  if (status != EXIT_OK && made_work_dir) remove_unused_work_dir();
  g_clear_pointer(&args.texts, g_ptr_array_unref);
  gegl_exit();
  return status;
}
