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
gdouble dm_cli_snr = 0.16;
gboolean dm_cli_quiet = FALSE;

int dm_cli_prepare(DmSampleOptions *options, DmModel **model) {
  if (!dm_cli_model_path || !dm_cli_out_path)
    return dm_cli_fail(EXIT_USAGE, "--model and --out are required");
  dm_sample_options_default(options);
  if (dm_cli_sampler_name &&
      !dm_sampler_from_name(dm_cli_sampler_name, &options->sampler)) {
    GString *names = g_string_new(NULL);
    for (int i = 0; i < DM_SAMPLER_COUNT; i++)
      g_string_append_printf(names, "%s%s", i ? ", " : "",
                             dm_sampler_name((DmSampler)i));
    int status = dm_cli_fail(EXIT_USAGE, "unknown sampler '%s' (%s)",
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
  GError *error = NULL;
  *model = dm_model_load(dm_cli_model_path, &error);
  if (*model == NULL) {
    int status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
    g_error_free(error);
    return status;
  }
  gegl_init(NULL, NULL);
  return EXIT_OK;
}

static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int signal_number) {
  (void)signal_number;
  interrupted = 1;
}

typedef struct {
  DmModel *model;
  DmTensor *input, *output; /* (1, C, H, W) */
  gint64 start;             /* monotonic microseconds */
} Network;

/* DmDenoiseFunc: the network on one image. */
static bool denoise(float *model_output, const float *x_t, float t,
                    void *user_data, GError **error) {
  Network *net = user_data;
  memcpy(net->input->data, x_t, dm_tensor_numel(net->input) * sizeof(float));
  if (!dm_model_forward_any_size(net->model, net->output, net->input, &t, error))
    return false;
  memcpy(model_output, net->output->data,
         dm_tensor_numel(net->output) * sizeof(float));
  return true;
}

/* DmProgressFunc: a bar on stderr when it is a terminal; Ctrl-C cancels. */
static bool report(int32_t done, int32_t total, void *user_data) {
  const Network *net = user_data;
  if (!dm_cli_quiet && isatty(STDERR_FILENO)) {
    const double seconds = (g_get_monotonic_time() - net->start) / 1e6;
    const double rate = done / (seconds > 0 ? seconds : 1e-9);
    fprintf(stderr, "\rstep %d/%d  %.2f it/s  ETA %.0f s   ", done, total,
            rate, (total - done) / rate);
    if (done == total) fprintf(stderr, "\n");
  }
  return !interrupted;
}

int dm_cli_run_sampler(DmModel *model, const DmSampleOptions *options,
                       DmTensor *x, const DmInpaint *inpaint) {
  GError *error = NULL;
  Network net = {model, dm_tensor_new(1, x->c, x->h, x->w, &error),
                 dm_tensor_new(1, dm_model_config(model)->out_channels, x->h,
                               x->w, &error),
                 g_get_monotonic_time()};
  signal(SIGINT, on_interrupt);
  bool ok = net.input && net.output &&
            dm_sample(x->data, dm_tensor_numel(x),
                      dm_model_schedule_config(model), options, denoise, &net,
                      inpaint, report, &net, &error);
  signal(SIGINT, SIG_DFL);
  int status = EXIT_OK;
  if (!ok)
    status = dm_cli_fail(error && error->code == DM_ERROR_INVALID_ARGUMENT
                             ? EXIT_USAGE : EXIT_RUNTIME,
                         "%s", error ? error->message : "out of memory");
  g_clear_error(&error);
  dm_tensor_free(net.input);
  dm_tensor_free(net.output);
  return status;
}
