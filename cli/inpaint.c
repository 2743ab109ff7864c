/* gimp-diffusion inpaint: fill the white part of a mask image.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <gegl.h>

#include "commands.h"
#include "image-io.h"

static char *image_path, *mask_path;
static gdouble strength = 1.0;
static gint64 max_pixels = DM_CLI_DEFAULT_MAX_PIXELS;

const GOptionEntry dm_cli_inpaint_options[] = {
    DM_CLI_SAMPLING_OPTIONS,
    {"image", 'i', 0, G_OPTION_ARG_FILENAME, &image_path,
     N_("The image to heal"), "FILE"},
    {"mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path,
     N_("Same size as the image: white = fill, black = keep, grey = blend"),
     "FILE"},
    {"strength", 0, 0, G_OPTION_ARG_DOUBLE, &strength,
     N_("Start from the hole smoothly filled and noised this far, 0 to 1 "
        "(default 1: from pure noise)"), "S"},
    {"from-pixels", 0, 0, G_OPTION_ARG_NONE, &dm_cli_from_pixels,
     N_("With a strength below 1, start from the image's own pixels in the "
        "hole instead of a smooth fill: a rough painting there guides the "
        "result"), NULL},
    {"match-edges", 0, 0, G_OPTION_ARG_NONE, &dm_cli_match_edges,
     N_("Shift the fill so that it meets the pixels around it without a step "
        "in tone"), NULL},
    {"context-margin", 0, 0, G_OPTION_ARG_INT, &dm_cli_context_margin,
     N_("Context pixels around the mask's bounding box (default: the model's "
        "receptive radius)"), "PX"},
    {"max-pixels", 0, 0, G_OPTION_ARG_INT64, &max_pixels,
     N_("Refuse images of more pixels than this, told from their headers "
        "before decoding (default 67108864: 8192x8192)"), "N"},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};

/* The model's view of the image and mask: image (3, H, W) in [-1, 1] from
 * sRGB-encoded R'G'B', mask (H, W) = the mask's grey level. Returns the
 * number of pixels the mask selects (mask > 0). */
static size_t model_inputs(const DmCliImage *image, const DmCliImage *mask,
                           DmTensor *values, float *mask_values) {
  const size_t pixels = (size_t)image->width * image->height;
  size_t selected = 0;
  for (size_t p = 0; p < pixels; p++) {
    const float *m = mask->rgba + 4 * p;
    mask_values[p] = (m[0] + m[1] + m[2]) / 3.0f;
    selected += mask_values[p] > 0.0f;
    for (int c = 0; c < 3; c++)
      values->data[c * pixels + p] = 2.0f * image->rgba[4 * p + c] - 1.0f;
  }
  return selected;
}

/* Writes the sample back into the image where the mask selects; every
 * other pixel (and all alpha) stays as loaded. */
static void write_back(DmCliImage *image, const DmTensor *values,
                       const float *mask_values) {
  const size_t pixels = (size_t)image->width * image->height;
  for (size_t p = 0; p < pixels; p++) {
    if (mask_values[p] <= 0.0f) continue;
    for (int c = 0; c < 3; c++) {
      const float v = (values->data[c * pixels + p] + 1.0f) * 0.5f;
      image->rgba[4 * p + c] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
  }
}

static int inpaint_images(DmModel *model, const DmSampleOptions *options,
                          DmCliImage *image, const DmCliImage *mask) {
  GError *error = NULL;
  DmTensor *values = dm_tensor_new(1, 3, image->height, image->width, &error);
  float *mask_values =
      values ? g_new(float, (size_t)image->width * image->height) : NULL;
  int status = EXIT_OK;
  if (!values) {
    status = dm_cli_fail(EXIT_RUNTIME, "%s", error->message);
  } else if (model_inputs(image, mask, values, mask_values) == 0) {
    status = dm_cli_fail(EXIT_USAGE, _("the mask '%s' selects nothing (white "
                                       "marks what to fill)"), mask_path);
  } else {
    status = dm_cli_run_model(model, options, values, mask_values);
    if (status == EXIT_OK) write_back(image, values, mask_values);
    if (status == EXIT_OK && !dm_cli_image_save(image, dm_cli_out_path, &error))
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
  DmCliReadOptions read = {.max_pixels = max_pixels, .size_only = true};
  GError *error = NULL;
  int status = EXIT_OK;
  if (!(*image = dm_cli_image_load(image_path, &read, &error)) ||
      !(*mask = dm_cli_image_load(mask_path, &read, &error)))
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
      (!(*image = dm_cli_image_load(image_path, &read, &error)) ||
       !(*mask = dm_cli_image_load(mask_path, &read, &error))))
    status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
  g_clear_error(&error);
  return status;
}

int dm_cli_run_inpaint(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    return dm_cli_fail(EXIT_USAGE, _("inpaint takes no positional arguments"));
  if (!image_path || !mask_path)
    return dm_cli_fail(EXIT_USAGE, _("--image and --mask are required"));
  if (max_pixels < 1)
    return dm_cli_fail(EXIT_USAGE, _("--max-pixels must be positive"));
  DmSampleOptions options;
  DmModel *model = NULL;
  int status = dm_cli_prepare(&options, &model);
  if (status != EXIT_OK) return status;
  options.strength = (float)strength;
  const DmUnetConfig *config = dm_model_config(model);
  GError *error = NULL;
  DmCliImage *image = NULL, *mask = NULL;
  if (!dm_cli_output_check(dm_cli_out_path, &error))
    status = dm_cli_fail(EXIT_USAGE, "%s", error->message);
  else if (config->out_channels != 3 ||
      dm_model_conditioning(model) == DM_CONDITIONING_COUNT)
    status = dm_cli_fail(EXIT_USAGE, _("inpaint needs an RGB model; this one "
                                       "has %d input and %d output channels"),
                         config->in_channels, config->out_channels);
  else if ((status = load_images(&image, &mask)) == EXIT_OK)
    status = inpaint_images(model, &options, image, mask);
  g_clear_error(&error);
  dm_cli_image_free(image);
  dm_cli_image_free(mask);
  dm_model_free(model);
  gegl_exit();
  return status;
}
