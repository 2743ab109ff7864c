/* gimp-diffusion sample: unconditional generation to an image file.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>

#include <gegl.h>

#include "commands.h"
#include "image-io.h"

static char *size_text;

const GOptionEntry dm_cli_sample_options[] = {
    DM_CLI_SAMPLING_OPTIONS,
    {"size", 0, 0, G_OPTION_ARG_STRING, &size_text,
     N_("Image size (default: the model's sample_size)"), "WxH"},
    {"seamless", 0, 0, G_OPTION_ARG_NONE, &dm_cli_seamless,
     N_("Make an image that tiles without a seam (sides a multiple of the "
        "model's, area within the pixel budget)"), NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};

static bool parse_size(const char *text, int32_t *width, int32_t *height) {
  char tail;
  return sscanf(text, "%dx%d%c", width, height, &tail) == 2 && *width > 0 &&
         *height > 0 && *width <= 16384 && *height <= 16384;
}

static int sample_to_file(DmModel *model, const DmSampleOptions *options,
                          int32_t width, int32_t height) {
  GError *error = NULL;
  DmTensor *image = dm_tensor_new(1, dm_model_config(model)->out_channels,
                                  height, width, &error);
  if (image == NULL) {
    int status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
    g_error_free(error);
    return status;
  }
  int status = dm_cli_run_model(model, options, image, NULL);
  if (status == EXIT_OK && !dm_cli_save_image(image, dm_cli_out_path, &error)) {
    status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
    g_error_free(error);
  }
  dm_tensor_free(image);
  return status;
}

int dm_cli_run_sample(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    return dm_cli_fail(EXIT_USAGE, _("sample takes no positional arguments"));
  DmSampleOptions options;
  DmModel *model = NULL;
  int status = dm_cli_prepare(&options, &model);
  if (status != EXIT_OK) return status;
  const DmUnetConfig *config = dm_model_config(model);
  int32_t width = config->sample_size > 0 ? config->sample_size : 64;
  int32_t height = width;
  GError *error = NULL;
  if (!dm_cli_output_check(dm_cli_out_path, &error))
    status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
  else if (size_text && !parse_size(size_text, &width, &height))
    status = dm_cli_fail(EXIT_USAGE, _("--size '%s' is not WxH (1 to 16384)"),
                         size_text);
  else if (dm_model_conditioning(model) == DM_CONDITIONING_COUNT ||
           (config->out_channels != 1 && config->out_channels != 3))
    status = dm_cli_fail(EXIT_USAGE, _("the model has %d input and %d output "
                                       "channels; an image needs 1 or 3 of "
                                       "each"),
                         config->in_channels, config->out_channels);
  else
    status = sample_to_file(model, &options, width, height);
  g_clear_error(&error);
  dm_model_free(model);
  gegl_exit();
  return status;
}
