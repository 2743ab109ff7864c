/* gimp-diffusion: the command-line tool.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 *   gimp-diffusion [--help | --version] COMMAND [OPTIONS] ARGUMENTS
 *
 * Each command is one row of `commands` below (name, one-line summary,
 * argument synopsis, help text, GOptionEntry list, handler); main() looks
 * the command up, parses its options with its own GOptionContext and hands
 * the handler the positional arguments. Commands other than info live in
 * their own files (commands.h).
 *
 * Exit status: 0 success; 1 a runtime failure; 2 bad usage or bad input
 * (unknown command or option, missing argument, a model that fails to
 * load); 130 interrupted by Ctrl-C. Errors are one line on stderr:
 * "gimp-diffusion: error: MESSAGE".
 *
 * Messages and help are translated (gettext domain "gimp-diffusion", po/),
 * from the catalogues in LOCALEDIR or, when set, $DM_LOCALEDIR. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gi18n-lib.h>

#include "commands.h"
#include "dm.h"

#ifndef DM_VERSION
#define DM_VERSION "0.1.0"
#endif

#define PROGRAM "gimp-diffusion"

/* One subcommand. `run` gets argv[0] = "gimp-diffusion NAME" followed by
 * the positional arguments left after option parsing. */
typedef struct {
  const char *name;
  const char *summary;     /* one line, for the command list (N_) */
  const char *arguments;   /* synopsis of the positional arguments */
  const char *description; /* text after the options in --help (N_) */
  GOptionGroup *(*options)(void); /* made when the command runs */
  int (*run)(int argc, char **argv);
} Command;

/* ---- info -------------------------------------------------------------- */

static gint info_card_lines = 8;

static GOptionGroup *info_options(void) {
  static const GOptionEntry entries[] = {
      {"card-lines", 'n', 0, G_OPTION_ARG_INT, &info_card_lines,
       N_("Show at most N lines of the model card (default 8; 0: none)"),
       "N"},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  GOptionGroup *group = g_option_group_new(NULL, NULL, NULL, NULL, NULL);
  g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
  g_option_group_add_entries(group, entries);
  return group;
}

/* What kind of model `path` is, as dm_model_load() will read it. */
static const char *model_kind(const char *path) {
  if (!g_file_test(path, G_FILE_TEST_IS_DIR))
    return _("single-file model (.safetensors with dm.config metadata)");
  char *index = g_build_filename(path, "model_index.json", NULL);
  bool pipeline = g_file_test(index, G_FILE_TEST_EXISTS);
  g_free(index);
  return pipeline ? _("diffusers pipeline folder (model_index.json, unet/, "
                      "scheduler/)")
                  : _("diffusers model folder (config.json + "
                      "diffusion_pytorch_model.safetensors)");
}

static const char *yes_no(bool value) { return value ? "true" : "false"; }

static void print_levels(const char *label, const DmUnetConfig *c,
                         const bool *attention, const char *plain,
                         const char *attn) {
  printf("  %-24s", label);
  for (int32_t i = 0; i < c->n_levels; i++) {
    const char *sep = i ? ", " : "";
    if (attention)
      printf("%s%s", sep, attention[i] ? attn : plain);
    else
      printf("%s%d", sep, c->block_out_channels[i]);
  }
  printf("\n");
}

static void print_int_or_null(const char *label, int32_t value) {
  if (value)
    printf("  %-24s%d\n", label, value);
  else
    printf("  %-24snull\n", label);
}

/* What the network reads besides x_t (dm.h, DmConditioning). */
static const char *conditioning_text(const DmModel *model) {
  switch (dm_model_conditioning(model)) {
  case DM_CONDITIONING_NONE: return _("none (unconditional)");
  case DM_CONDITIONING_MASK:
    return _("mask (an inpainting model: x_t, the mask and the known image)");
  default: return _("none that sampling supports (channel counts)");
  }
}

/* Every field of the network config, under diffusers' names. */
static void print_unet_config(const DmUnetConfig *c) {
  printf("%s\n", _("network (UNet2DModel):"));
  print_int_or_null("sample_size", c->sample_size);
  printf("  %-24s%d\n", "in_channels", c->in_channels);
  printf("  %-24s%d\n", "out_channels", c->out_channels);
  printf("  %-24s%s\n", "center_input_sample",
         yes_no(c->center_input_sample));
  printf("  %-24s%s\n", "time_embedding_type", "positional");
  printf("  %-24s%d\n", "freq_shift", c->freq_shift);
  printf("  %-24s%s\n", "flip_sin_to_cos", yes_no(c->flip_sin_to_cos));
  print_levels("block_out_channels", c, NULL, NULL, NULL);
  print_levels("down_block_types", c, c->down_attention, "DownBlock2D",
               "AttnDownBlock2D");
  print_levels("up_block_types", c, c->up_attention, "UpBlock2D",
               "AttnUpBlock2D");
  printf("  %-24s%s\n", "mid_block_type",
         c->has_mid_block ? "UNetMidBlock2D" : "null");
  printf("  %-24s%d\n", "layers_per_block", c->layers_per_block);
  printf("  %-24s%g\n", "mid_block_scale_factor",
         (double)c->mid_block_scale_factor);
  printf("  %-24s%d\n", "downsample_padding", c->downsample_padding);
  print_int_or_null("attention_head_dim", c->attention_head_dim);
  printf("  %-24s%d\n", "norm_num_groups", c->norm_num_groups);
  print_int_or_null("attn_norm_num_groups", c->attn_norm_num_groups);
  printf("  %-24s%g\n", "norm_eps", (double)c->norm_eps);
  printf("  %-24s%s\n", "add_attention", yes_no(c->add_attention));
  printf("  %-24s%g\n", "dropout", (double)c->dropout);
}

static void print_schedule_config(const DmScheduleConfig *s) {
  printf("%s\n", _("scheduler:"));
  printf("  %-24s%s\n", "sde", dm_sde_name(s->sde));
  printf("  %-24s%d\n", "num_train_timesteps", s->num_train_timesteps);
  if (s->sde == DM_SDE_VE) {
    printf("  %-24s%g\n", "sigma_min", (double)s->sigma_min);
    printf("  %-24s%g\n", "sigma_max", (double)s->sigma_max);
  } else {
    printf("  %-24s%g\n", "beta_start", (double)s->beta_start);
    printf("  %-24s%g\n", "beta_end", (double)s->beta_end);
    printf("  %-24s%s\n", "beta_schedule",
           dm_beta_schedule_name(s->beta_schedule));
  }
  printf("  %-24s%s\n", "prediction_type",
         dm_prediction_name(s->prediction_type));
  printf("  %-24s%s\n", "clip_sample", yes_no(s->clip_sample));
  printf("  %-24s%g\n", "clip_sample_range", (double)s->clip_sample_range);
  printf("  %-24s%s\n", "variance_type",
         dm_variance_type_name(s->variance_type));
  printf("  %-24s%s\n", "timestep_spacing",
         dm_spacing_name(s->timestep_spacing));
  printf("  %-24s%d\n", "steps_offset", s->steps_offset);
  printf("  %-24s%s\n", "set_alpha_to_one", yes_no(s->set_alpha_to_one));
}

/* The first `max_lines` lines of the card, and how many more there are. */
static void print_card(const char *card, int max_lines) {
  if (!*card) {
    printf("%s\n", _("model card: (none)"));
    return;
  }
  char **lines = g_strsplit(card, "\n", -1);
  guint total = g_strv_length(lines);
  if (total > 0 && lines[total - 1][0] == '\0') total--; /* final newline */
  printf(g_dngettext(GETTEXT_PACKAGE, "model card (%u line):\n",
                     "model card (%u lines):\n", total), total);
  guint shown = MIN(total, (guint)MAX(max_lines, 0));
  for (guint i = 0; i < shown; i++) printf("  | %s\n", lines[i]);
  if (shown < total)
    printf(g_dngettext(GETTEXT_PACKAGE, "  | ... (%u more line)\n",
                       "  | ... (%u more lines)\n", total - shown),
           total - shown);
  g_strfreev(lines);
}

/* Where a Stable Diffusion family's prediction type came from. */
static const char *prediction_source_text(DmSdSource source) {
  switch (source) {
  case DM_SD_FROM_OPTION: return _("the option");
  case DM_SD_FROM_SCHEDULER: return _("its scheduler config");
  default:
    return _("the rule for single files: SD 2.x text-to-image predicts v "
             "at 768 x 768, the others epsilon at 512 x 512");
  }
}

/* info's section for a Stable Diffusion checkpoint: its family, from its
 * configs and tensor names and shapes (no weights are read). */
static int run_info_sd(const char *path) {
  DmSdFamily family;
  GError *error = NULL;
  if (!dm_sd_checkpoint_identify(path, NULL, &family, &error)) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  printf(_("model:      %s\n"), path);
  printf(_("kind:       %s\n"),
         family.layout == DM_SD_SINGLE_FILE
             ? _("Stable Diffusion single-file checkpoint (.safetensors)")
             : _("Stable Diffusion pipeline folder (model_index.json, "
                 "unet/, vae/, text_encoder/, tokenizer/, scheduler/)"));
  printf(_("version:    Stable Diffusion %s\n"),
         dm_sd_version_name(family.version));
  printf(_("task:       %s\n"),
         family.inpainting
             ? _("inpainting (the U-Net reads the latent, the mask and "
                 "the masked image)")
             : _("text to image"));
  printf(_("prediction: %s (from %s)\n"),
         dm_prediction_name(family.prediction),
         prediction_source_text(family.prediction_source));
  printf(_("image size: %d x %d\n"), family.image_size, family.image_size);
  return EXIT_OK;
}

static int run_info(int argc, char **argv) {
  if (argc != 2)
    return dm_cli_fail(EXIT_USAGE, _("info: expected one MODEL, got %d "
                                     "arguments (see 'gimp-diffusion info "
                                     "--help')"), argc - 1);
  const char *path = argv[1];
  if (dm_sd_checkpoint_probe(path)) return run_info_sd(path);
  GError *error = NULL;
  DmModel *model = dm_model_load(path, &error);
  if (!model) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  const DmUnetConfig *config = dm_model_config(model);
  int64_t params = dm_model_param_count(model);
  printf(_("model:      %s\n"), path);
  printf(_("kind:       %s\n"), model_kind(path));
  printf(_("parameters: %lld (%.1f MiB as float32)\n"), (long long)params,
         (double)params * 4.0 / (1024.0 * 1024.0));
  printf(_("compute:    %.3f GFLOP per 64x64 forward pass\n"),
         dm_model_flops(model, 64, 64) / 1e9);
  printf(_("size multiple: height and width must be multiples of %d\n"),
         dm_model_size_multiple(model));
  printf(_("conditioning: %s\n"), conditioning_text(model));
  print_unet_config(config);
  print_schedule_config(dm_model_schedule_config(model));
  print_card(dm_model_card(model), info_card_lines);
  dm_model_free(model);
  return EXIT_OK;
}

/* ---- the command table ------------------------------------------------- */

static const Command commands[] = {
    {"info", N_("Show a model's configuration, size and model card"), "MODEL",
     N_("MODEL is a diffusers model folder (config.json +\n"
        "diffusion_pytorch_model.safetensors), a diffusers pipeline folder\n"
        "(model_index.json, unet/, scheduler/) or a single .safetensors file\n"
        "written by gimp-diffusion; or a Stable Diffusion 1.x/2.x checkpoint,\n"
        "a diffusers pipeline folder or a single .safetensors file, whose\n"
        "family is shown (version, task, prediction, image size)."),
     info_options, run_info},
    {"sample", N_("Generate an image from noise"), "",
     N_("Draws one image from the model with the chosen sampler and writes it\n"
        "to --out (written to a temporary file, then renamed). Ctrl-C stops\n"
        "within one step and writes nothing."),
     dm_cli_sample_options, dm_cli_run_sample},
    {"inpaint", N_("Fill the white part of a mask with the model"), "",
     N_("Fills the pixels that --mask marks white (grey blends) by sampling\n"
        "with replacement guidance; every other pixel, and alpha, is written\n"
        "back exactly as read, in the image's own format and bit depth."),
     dm_cli_inpaint_options, dm_cli_run_inpaint},
    {"train", N_("Train a model on a folder of images"), "",
     N_("Trains a new model (--preset, --config) or fine-tunes one (--init) on\n"
        "random crops of the images under --data, and writes the EMA weights\n"
        "with a model card to --out. The work folder (default MODEL.work) keeps\n"
        "the checkpoint, the loss of every step (loss.tsv) and preview grids;\n"
        "Ctrl-C saves the checkpoint, and --resume continues the run exactly."),
     dm_cli_train_options, dm_cli_run_train},
};

static const Command *find_command(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static void print_program_help(void) {
  FILE *out = stdout;
  fputs(_("Usage: gimp-diffusion [--help] [--version] COMMAND [OPTIONS] "
          "ARGUMENTS\n\n"
          "Diffusion models (diffusers UNet2DModel) on the CPU.\n\n"
          "Commands:\n"), out);
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  fprintf(out, "  %-10s %s\n", "help", _("Show help for a command"));
  fputs(_("\nRun 'gimp-diffusion COMMAND --help' for a command's options.\n"
          "Exit status: 0 success, 1 runtime failure, 2 bad usage or "
          "input, 130 interrupted.\n"), out);
}

/* A GOptionContext for `command` (caller frees). */
static GOptionContext *command_context(const Command *command) {
  GOptionContext *context = g_option_context_new(command->arguments);
  g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
  g_option_context_set_summary(context, command->summary);
  g_option_context_set_description(context, command->description);
  g_option_context_set_main_group(context, command->options());
  return context;
}

/* Parses the command's options (its --help prints and exits 0 inside
 * GLib) and runs it on the remaining arguments. */
static int run_command(const Command *command, int argc, char **argv) {
  char *prgname = g_strdup_printf(PROGRAM " %s", command->name);
  g_set_prgname(prgname);
  GOptionContext *context = command_context(command);
  GError *error = NULL;
  argv[0] = prgname;
  int status;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    status = dm_cli_fail(EXIT_USAGE,
                         _("%s: %s (see 'gimp-diffusion %s --help')"),
                         command->name, error->message, command->name);
    g_error_free(error);
  } else {
    status = command->run(argc, argv);
  }
  g_option_context_free(context);
  g_free(prgname);
  return status;
}

/* "help" and "help COMMAND". */
static int run_help(int argc, char **argv) {
  if (argc < 3) {
    print_program_help();
    return EXIT_OK;
  }
  const Command *command = find_command(argv[2]);
  if (!command)
    return dm_cli_fail(EXIT_USAGE,
                       _("unknown command '%s' (see 'gimp-diffusion --help')"),
                       argv[2]);
  char *prgname = g_strdup_printf(PROGRAM " %s", command->name);
  g_set_prgname(prgname);
  GOptionContext *context = command_context(command);
  char *help = g_option_context_get_help(context, TRUE, NULL);
  fputs(help, stdout);
  g_free(help);
  g_option_context_free(context);
  g_free(prgname);
  return EXIT_OK;
}

/* The user's language for messages and the terminal's character set;
 * numbers stay in the C locale ("0.0001", never "0,0001"). */
static void init_i18n(void) {
  setlocale(LC_CTYPE, "");
  setlocale(LC_MESSAGES, "");
  const char *localedir = g_getenv("DM_LOCALEDIR");
  bindtextdomain(GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
}

int main(int argc, char **argv) {
  init_i18n();
  /* A write past the file size limit (ulimit -f) then fails with EFBIG,
   * which the writers report, instead of killing the process mid-file. */
  signal(SIGXFSZ, SIG_IGN);
  if (argc < 2)
    return dm_cli_fail(EXIT_USAGE,
                       _("no command given (see 'gimp-diffusion --help')"));
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    print_program_help();
    return EXIT_OK;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf(PROGRAM " " DM_VERSION "\n");
    return EXIT_OK;
  }
  if (strcmp(name, "help") == 0) return run_help(argc, argv);
  const Command *command = find_command(name);
  if (!command)
    return dm_cli_fail(EXIT_USAGE,
                       _("unknown command '%s' (see 'gimp-diffusion --help')"),
                       name);
  /* The command sees "gimp-diffusion NAME" as argv[0]. */
  return run_command(command, argc - 1, argv + 1);
}
