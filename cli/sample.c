/* gimp-diffusion sample: unconditional generation to an image file.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <stdio.h>

#include <gegl.h>

#include "commands.h"
#include "image-io.h"

static DmCliSampling args = {.task = DM_TASK_GENERATE};

GOptionGroup *dm_cli_sample_options(void) {
  const GOptionEntry own[] = {
      {"size", 0, 0, G_OPTION_ARG_STRING, &args.size_text,
       N_("Image size (default: the model's sample_size, or a Stable "
          "Diffusion checkpoint's native size)"), "WxH"},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  return dm_cli_sampling_group(&args, own);
}

static bool parse_size(const char *text, int32_t *width, int32_t *height) {
  char tail;
  return sscanf(text, "%dx%d%c", width, height, &tail) == 2 && *width > 0 &&
         *height > 0 && *width <= DM_MAX_IMAGE_SIDE &&
         *height <= DM_MAX_IMAGE_SIDE;
}

static int sample_to_file(DmCliModel *model, int32_t width,
                          int32_t height) {
  GError *error = NULL;
  DmTensor *image = dm_tensor_new(1, dm_cli_model_channels(model), height,
                                  width, &error);
  if (image == NULL) {
    int status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
    g_error_free(error);
    return status;
  }
  int status = dm_cli_run_model(model, &args, image, NULL);
  if (status == EXIT_OK && !dm_cli_save_image(image, args.out_path, &error)) {
    status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
    g_error_free(error);
  }
  dm_tensor_free(image);
  return status;
}

/* The side of the default size: the model's sample_size (64 if it has
 * none), or the checkpoint's native size. */
static int32_t default_side(const DmCliModel *model) {
  if (model->sd) return dm_sd_model_family(model->sd)->image_size;
  const int32_t side = dm_model_config(model->pixel)->sample_size;
  return side > 0 ? side : 64;
}

int dm_cli_run_sample(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    return dm_cli_fail(EXIT_USAGE, _("sample takes no positional arguments"));
  DmCliModel model = {NULL, NULL};
  int status = dm_cli_prepare(&args, &model);
  if (status != EXIT_OK) return status;
  int32_t width = default_side(&model), height = width;
  if (args.size_text && !parse_size(args.size_text, &width, &height))
    status = dm_cli_fail(EXIT_USAGE, _("--size '%s' is not WxH (1 to %d)"),
                         args.size_text, DM_MAX_IMAGE_SIDE);
  else if ((status = dm_cli_check_cost(&model, &args, width, height)) ==
           EXIT_OK)
    status = sample_to_file(&model, width, height);
  dm_cli_model_clear(&model);
  dm_cli_sampling_clear(&args);
  gegl_exit();
  return status;
}
