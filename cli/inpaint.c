/* gimp-diffusion inpaint: fill the white part of a mask image.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <gegl.h>

#include "commands.h"
#include "image-io.h"

static DmCliSampling args = {.task = DM_TASK_INPAINT};

GOptionGroup *dm_cli_inpaint_options(void) {
  const GOptionEntry own[] = {
      {"image", 'i', 0, G_OPTION_ARG_FILENAME, &args.image_path,
       N_("The image to heal"), "FILE"},
      {"mask", 0, 0, G_OPTION_ARG_FILENAME, &args.mask_path,
       N_("Same size as the image: white = fill, black = keep, grey = "
          "blend"), "FILE"},
      {"max-pixels", 0, 0, G_OPTION_ARG_INT64, &args.max_pixels,
       N_("Refuse images of more pixels than this, told from their headers "
          "before decoding (default 67108864: 8192x8192)"), "N"},
      {NULL, 0, 0, 0, NULL, NULL, NULL}};
  args.max_pixels = DM_CLI_DEFAULT_MAX_PIXELS;
  return dm_cli_sampling_group(&args, own);
}

/* The grey level of each of `count` R'G'B'A pixels into `grey` (count):
 * the mean of R', G' and B'. */
static void grey_levels(float *grey, const float *rgba, size_t count) {
  for (size_t p = 0; p < count; p++)
    grey[p] = (rgba[4 * p] + rgba[4 * p + 1] + rgba[4 * p + 2]) / 3.0f;
}

/* The model's view of the image and mask: image (C, H, W) in [-1, 1] from
 * sRGB-encoded R'G'B' (a grey model sees the grey levels), mask (H, W) =
 * the mask's grey level. Returns the number of pixels the mask selects
 * (mask > 0). */
static size_t model_inputs(const DmCliImage *image, const DmCliImage *mask,
                           DmTensor *values, float *mask_values) {
  const size_t pixels = (size_t)image->width * image->height;
  grey_levels(mask_values, mask->rgba, pixels);
  size_t selected = 0;
  for (size_t p = 0; p < pixels; p++) selected += mask_values[p] > 0.0f;
  if (values->c == 3) {
    dm_pixels_to_planes(values->data, image->rgba, 3, 4, pixels);
  } else {
    grey_levels(values->data, image->rgba, pixels);
    dm_pixels_to_planes(values->data, values->data, 1, 1, pixels);
  }
  return selected;
}

/* Writes the sample (C, H, W) back into the image where the mask selects
 * (a grey sample into R', G' and B'); every other pixel, and all alpha,
 * stays as loaded. */
static void write_back(DmCliImage *image, const DmTensor *values,
                       const float *mask_values) {
  const size_t pixels = (size_t)image->width * image->height;
  if (values->c == 3) {
    dm_planes_to_pixels(image->rgba, values->data, 3, 4, pixels, mask_values);
    return;
  }
  for (int32_t c = 0; c < 3; c++)
    dm_planes_to_pixels(image->rgba + c, values->data, 1, 4, pixels,
                        mask_values);
}

static int inpaint_images(DmCliModel *model, DmCliImage *image,
                          const DmCliImage *mask) {
  GError *error = NULL;
  DmTensor *values = dm_tensor_new(1, dm_cli_model_channels(model),
                                   image->height, image->width, &error);
  float *mask_values =
      values ? g_new(float, (size_t)image->width * image->height) : NULL;
  int status = EXIT_OK;
  if (!values) {
    status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
  } else if (model_inputs(image, mask, values, mask_values) == 0) {
    status = dm_cli_fail(EXIT_USAGE, _("the mask '%s' selects nothing (white "
                                       "marks what to fill)"), args.mask_path);
  } else {
    status = dm_cli_run_model(model, &args, values, mask_values);
    if (status == EXIT_OK) write_back(image, values, mask_values);
    if (status == EXIT_OK && !dm_cli_image_save(image, args.out_path, &error))
      status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
  }
  g_clear_error(&error);
  g_free(mask_values);
  dm_tensor_free(values);
  return status;
}

/* Reads the image and the mask: their headers first, so that sizes that
 * differ are refused before either is decoded. Returns EXIT_OK or the
 * exit status of the error it printed. */
static int load_images(DmCliImage **image, DmCliImage **mask) {
  DmCliReadOptions read = {.max_pixels = args.max_pixels, .size_only = true};
  GError *error = NULL;
  int status = EXIT_OK;
  if (!(*image = dm_cli_image_load(args.image_path, &read, &error)) ||
      !(*mask = dm_cli_image_load(args.mask_path, &read, &error)))
    status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
  else if ((*mask)->width != (*image)->width ||
           (*mask)->height != (*image)->height)
    status = dm_cli_fail(EXIT_USAGE, _("the mask is %dx%d but the image is "
                                       "%dx%d"), (*mask)->width,
                         (*mask)->height, (*image)->width, (*image)->height);
  g_clear_pointer(image, dm_cli_image_free);
  g_clear_pointer(mask, dm_cli_image_free);
  read.size_only = false;
  if (status == EXIT_OK &&
      (!(*image = dm_cli_image_load(args.image_path, &read, &error)) ||
       !(*mask = dm_cli_image_load(args.mask_path, &read, &error))))
    status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
  g_clear_error(&error);
  return status;
}

int dm_cli_run_inpaint(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    return dm_cli_fail(EXIT_USAGE, _("inpaint takes no positional arguments"));
  if (!args.image_path || !args.mask_path)
    return dm_cli_fail(EXIT_USAGE, _("--image and --mask are required"));
  if (args.max_pixels < 1)
    return dm_cli_fail(EXIT_USAGE, _("--max-pixels must be positive"));
  DmCliModel model = {NULL, NULL};
  int status = dm_cli_prepare(&args, &model);
  if (status != EXIT_OK) return status;
  DmCliImage *image = NULL, *mask = NULL;
  if ((status = load_images(&image, &mask)) == EXIT_OK)
    status = inpaint_images(&model, image, mask);
  dm_cli_image_free(image);
  dm_cli_image_free(mask);
  dm_cli_model_clear(&model);
  dm_cli_sampling_clear(&args);
  gegl_exit();
  return status;
}
