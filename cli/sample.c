/* gimp-diffusion sample: unconditional generation to an image file.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <gegl.h>

#include "commands.h"
#include "dm.h"
#include "image-io.h"

static char *model_path, *size_text, *sampler_name, *out_path;
static gint steps = 50;
static gint64 seed = 0;
static gdouble eta = 0.0;
static gboolean quiet = FALSE;

const GOptionEntry dm_cli_sample_options[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The model (file or folder)", "MODEL"},
    {"size", 0, 0, G_OPTION_ARG_STRING, &size_text, "Image size (default: the model's sample_size)", "WxH"},
    {"sampler", 0, 0, G_OPTION_ARG_STRING, &sampler_name, "Sampler: ddpm or ddim (default ddim)", "NAME"},
    {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default 50)", "N"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 0)", "K"},
    {"eta", 0, 0, G_OPTION_ARG_DOUBLE, &eta, "DDIM eta, 0 to 1 (default 0)", "E"},
    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Output image (png, jpg, tif, webp)", "FILE"},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress bar", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};

static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int signal_number) { (void)signal_number; interrupted = 1; }

typedef struct {
  DmModel *model;
  DmTensor *x;     /* (1, C, H, W) view of the sampler's array */
  DmTensor *out;   /* (1, C, H, W) */
} Network;

/* DmDenoiseFunc: the network on one image. */
static bool denoise(float *model_output, const float *x_t, float t,
                    void *user_data, GError **error) {
  Network *net = user_data;
  memcpy(net->x->data, x_t, dm_tensor_numel(net->x) * sizeof(float));
  if (!dm_model_forward_any_size(net->model, net->out, net->x, &t, error))
    return false;
  memcpy(model_output, net->out->data, dm_tensor_numel(net->out) * sizeof(float));
  return true;
}

/* Progress on stderr when it is a terminal; Ctrl-C cancels. */
static bool report(int32_t done, int32_t total, void *user_data) {
  const gint64 *start = user_data;
  if (!quiet && isatty(STDERR_FILENO)) {
    const double seconds = (g_get_monotonic_time() - *start) / 1e6;
    const double rate = done / (seconds > 0 ? seconds : 1e-9);
    fprintf(stderr, "\rstep %d/%d  %.2f it/s  ETA %.0f s   ", done, total,
            rate, (total - done) / rate);
    if (done == total) fprintf(stderr, "\n");
  }
  return !interrupted;
}

static bool parse_size(const char *text, int32_t *width, int32_t *height) {
  char tail;
  return sscanf(text, "%dx%d%c", width, height, &tail) == 2 && *width > 0 &&
         *height > 0 && *width <= 16384 && *height <= 16384;
}

static int sample_with(DmModel *model, const DmSampleOptions *options,
                       int32_t width, int32_t height) {
  const DmUnetConfig *config = dm_model_config(model);
  GError *error = NULL;
  Network net = {model, dm_tensor_new(1, config->in_channels, height, width, &error),
                 dm_tensor_new(1, config->out_channels, height, width, &error)};
  DmTensor *image = dm_tensor_new(1, config->in_channels, height, width, &error);
  gint64 start = g_get_monotonic_time();
  signal(SIGINT, on_interrupt);
  bool ok = net.x && net.out && image &&
            dm_sample(image->data, dm_tensor_numel(image),
                      dm_model_schedule_config(model), options, denoise, &net,
                      NULL, report, &start, &error) &&
            dm_cli_save_image(image, out_path, &error);
  signal(SIGINT, SIG_DFL);
  int status = EXIT_OK;
  if (!ok)
    status = dm_cli_fail(error && error->code == DM_ERROR_INVALID_ARGUMENT
                             ? EXIT_USAGE : EXIT_RUNTIME,
                         "%s", error ? error->message : "out of memory");
  g_clear_error(&error);
  dm_tensor_free(net.x);
  dm_tensor_free(net.out);
  dm_tensor_free(image);
  return status;
}

int dm_cli_run_sample(int argc, char **argv) {
  (void)argv;
  if (argc > 1) return dm_cli_fail(EXIT_USAGE, "sample takes no positional arguments");
  if (!model_path || !out_path)
    return dm_cli_fail(EXIT_USAGE, "sample needs --model and --out");
  DmSampleOptions options;
  dm_sample_options_default(&options);
  if (sampler_name && !dm_sampler_from_name(sampler_name, &options.sampler))
    return dm_cli_fail(EXIT_USAGE, "unknown sampler '%s' (ddpm, ddim)", sampler_name);
  options.steps = steps;
  options.seed = (uint64_t)seed;
  options.eta = (float)eta;
  GError *error = NULL;
  DmModel *model = dm_model_load(model_path, &error);
  if (!model) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  const DmUnetConfig *config = dm_model_config(model);
  int32_t width = config->sample_size > 0 ? config->sample_size : 64, height = width;
  int status = EXIT_OK;
  if (size_text && !parse_size(size_text, &width, &height))
    status = dm_cli_fail(EXIT_USAGE, "--size '%s' is not WxH (1 to 16384)", size_text);
  else if (config->in_channels != config->out_channels ||
           (config->in_channels != 1 && config->in_channels != 3))
    status = dm_cli_fail(EXIT_USAGE, "the model has %d input and %d output "
                         "channels; sampling an image needs 1 or 3 of each",
                         config->in_channels, config->out_channels);
  else {
    gegl_init(NULL, NULL);
    status = sample_with(model, &options, width, height);
  }
  dm_model_free(model);
  return status;
}
