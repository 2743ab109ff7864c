/* gimp-diffusion core: Stable Diffusion's pipelines, text-to-image,
 * image-to-image and inpainting in latent space (dm.h, "Stable Diffusion
 * pipelines", which lists the steps).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * A run works on one "work image": the work area of the caller's image
 * scaled to about the checkpoint's native size (3, height, width) in
 * [-1, 1], its mask (height, width), and the latent grid (4, height / 8,
 * width / 8) the sampler runs on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/sd-model.h"
#include "sampling/fill.h"
#include "sampling/sampling.h"
#include "sampling/sd-pipeline.h"
#include "tensor/resample.h"

/* Largest work_size, and aspect ratio of a work area. */
#define SD_MAX_WORK_SIZE 2048
#define SD_MAX_ASPECT 16
/* The VAE runs in one piece up to this many latent pixels a side (768
 * image pixels), in tiles beyond. */
#define SD_VAE_MAX_TILE 96

void dm_sd_options_default(DmSdOptions *options) {
  *options = (DmSdOptions){0};
}

static int32_t vae_scale(const DmSdModel *model) {
  return dm_vae_scale(&model->vae.config);
}

int32_t dm_sd_size_multiple(const DmSdModel *model) {
  return vae_scale(model) * dm_unet_cond_size_multiple(&model->unet.config);
}

int32_t dm_sd_evaluation_batch(const DmSampleOptions *options) {
  return options->guidance_scale != 1.0f ? 2 : 1;
}

/* ---- checks -------------------------------------------------------------- */

/* The parts of the model must fit together (a loaded checkpoint's do;
 * one put together by hand may not). */
static bool check_model(const DmSdModel *model, GError **error) {
  const DmVaeConfig *vae = &model->vae.config;
  const DmUnetCondConfig *unet = &model->unet.config;
  const int32_t latent = vae->latent_channels;
  const int32_t in = model->family.inpainting ? 2 * latent + 1 : latent;
  const char *problem =
      vae->in_channels != 3 || vae->out_channels != 3
          ? "its VAE does not take and give RGB images"
      : unet->in_channels != in || unet->out_channels != latent
          ? "its U-Net's channels do not fit its VAE's latent (and the "
            "family's inpainting)"
      : unet->cross_attention_dim != model->text_encoder.config.hidden_size
          ? "its U-Net attends to text states of another width than its "
            "text encoder's"
      : model->tokenizer == NULL ||
                dm_clip_tokenizer_max_length(model->tokenizer) >
                    model->text_encoder.config.max_position_embeddings
          ? "its tokenizer is missing or makes prompts longer than its "
            "text encoder's positions"
          : NULL;
  if (problem)
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "the Stable Diffusion model cannot run: %s", problem);
  return problem == NULL;
}

/* The side of the square whose area a work area is scaled to: the
 * option's, or the checkpoint's native size. */
static bool work_size(const DmSdModel *model, const DmSdOptions *options,
                      int32_t *size, GError **error) {
  const int32_t multiple = dm_sd_size_multiple(model);
  *size = options->work_size ? options->work_size
                             : model->family.image_size;
  if (*size >= multiple && *size <= SD_MAX_WORK_SIZE) return true;
  g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
              "work size %d is outside %d .. %d pixels", *size, multiple,
              SD_MAX_WORK_SIZE);
  return false;
}

/* ---- the work area --------------------------------------------------- */

/* The context kept around a hole: the option, or a quarter of the hole's
 * larger side and at least 32 pixels. */
static int64_t context_margin(const DmAreaOptions *options,
                              const DmRect *hole) {
  if (options->context_margin >= 0) return options->context_margin;
  return MAX(32, MAX(hole->width, hole->height) / 4);
}

/* `side` scaled by `scale`, rounded to a multiple of `multiple` (at least
 * one). */
static int32_t scaled_side(int32_t side, double scale, int32_t multiple) {
  const double rounded = round(side * scale / multiple) * multiple;
  return (int32_t)MAX(rounded, (double)multiple);
}

bool dm_sd_work_area(const DmSdModel *model, const DmSdOptions *sd_options,
                     const DmAreaOptions *area_options, const DmRect *hole,
                     int32_t width, int32_t height, DmSdWork *work,
                     GError **error) {
  int32_t native;
  if (!dm_image_check_size(width, height, error) ||
      !work_size(model, sd_options, &native, error))
    return false;
  if (hole && (hole->x < 0 || hole->y < 0 || hole->width < 1 ||
               hole->height < 1 || (int64_t)hole->x + hole->width > width ||
               (int64_t)hole->y + hole->height > height)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the hole (%d, %d, %dx%d) is not inside the %dx%d image",
                hole->x, hole->y, hole->width, hole->height, width, height);
    return false;
  }
  DmRect area = {0, 0, width, height};
  if (hole) {
    const int64_t margin = context_margin(area_options, hole);
    const int64_t x0 = MAX(hole->x - margin, 0);
    const int64_t y0 = MAX(hole->y - margin, 0);
    const int64_t x1 = MIN(hole->x + hole->width + margin, width);
    const int64_t y1 = MIN(hole->y + hole->height + margin, height);
    area = (DmRect){(int32_t)x0, (int32_t)y0, (int32_t)(x1 - x0),
                    (int32_t)(y1 - y0)};
  }
  const int32_t longer = MAX(area.width, area.height);
  const int32_t shorter = MIN(area.width, area.height);
  if ((int64_t)shorter * SD_MAX_ASPECT < longer) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the work area %dx%d is more than %d times as long as it is "
                "wide; select a less elongated part", area.width,
                area.height, SD_MAX_ASPECT);
    return false;
  }
  /* The scale that gives the area native^2 pixels, aspect kept. */
  const double scale =
      native / sqrt((double)area.width * (double)area.height);
  const int32_t multiple = dm_sd_size_multiple(model);
  *work = (DmSdWork){area, scaled_side(area.width, scale, multiple),
                     scaled_side(area.height, scale, multiple)};
  return true;
}

/* ---- text ---------------------------------------------------------------- */

float *dm_sd_encode_prompts(const DmSdModel *model, const char *prompt,
                            const char *negative_prompt, int32_t n,
                            GError **error) {
  const int32_t L = dm_clip_tokenizer_max_length(model->tokenizer);
  const int32_t D = model->text_encoder.config.hidden_size;
  const char *texts[2] = {negative_prompt, prompt};
  int32_t *ids = g_new(int32_t, 2 * (size_t)L);
  float *text = malloc(sizeof(float) * n * (size_t)L * D);
  bool ok = text != NULL;
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for the text states");
  for (int32_t i = 0; ok && i < n; i++) {
    const char *words = texts[2 - n + i];
    ok = dm_clip_tokenizer_encode(model->tokenizer, words ? words : "",
                                  ids + (size_t)i * L, NULL, error);
  }
  ok = ok && dm_clip_text_forward(&model->text_encoder, text, ids, n, L, 0,
                                  error);
  g_free(ids);
  if (!ok) g_clear_pointer(&text, free);
  return text;
}

/* ---- the U-Net as the sampler's network ------------------------------ */

typedef struct {
  const DmUnetCond *unet;
  int32_t batch;       /* 1, or 2 with guidance */
  float guidance;      /* w */
  int32_t height, width; /* latent pixels */
  const float *text;   /* (batch, L, D) */
  int32_t text_length; /* L */
  const float *condition; /* (in - out, h, w): an inpainting checkpoint's
                           * mask and masked image's latent; else NULL */
  float *input;        /* (batch, in_channels, h, w) */
  float *output;       /* (batch, out_channels, h, w) */
} Denoiser;

/* Classifier-free guidance (Ho & Salimans 2022, eq. 6): out = o_u + w
 * (o_c - o_u) from the batch's negative (first) and prompt (second)
 * outputs. */
static void guide(float *out, const float *unconditional,
                  const float *conditional, size_t count, float w) {
  for (size_t i = 0; i < count; i++)
    out[i] = unconditional[i] + w * (conditional[i] - unconditional[i]);
}

void dm_sd_unet_input(float *input, const float *x_t, const float *condition,
                      int32_t batch, int32_t in_channels,
                      int32_t out_channels, size_t plane) {
  const size_t latent = out_channels * plane, image = in_channels * plane;
  for (int32_t b = 0; b < batch; b++) {
    memcpy(input + b * image, x_t, latent * sizeof(float));
    if (condition)
      memcpy(input + b * image + latent, condition,
             (image - latent) * sizeof(float));
  }
}

static bool denoise(float *model_output, const float *x_t, float t,
                    void *user_data, GError **error) {
  Denoiser *d = user_data;
  const DmUnetCondConfig *config = &d->unet->config;
  const size_t plane = (size_t)d->height * d->width;
  const size_t latent = config->out_channels * plane;
  dm_sd_unet_input(d->input, x_t, d->condition, d->batch,
                   config->in_channels, config->out_channels, plane);
  const float timesteps[2] = {t, t};
  if (!dm_unet_cond_forward(d->unet, d->output, d->input, d->batch,
                            d->height, d->width, timesteps, d->text,
                            d->text_length, error))
    return false;
  if (d->batch == 2)
    guide(model_output, d->output, d->output + latent, latent, d->guidance);
  else
    memcpy(model_output, d->output, latent * sizeof(float));
  return true;
}

/* ---- latents -------------------------------------------------------- */

static DmVaeTiling vae_tiling(int32_t latent_width, int32_t latent_height) {
  DmVaeTiling tiling;
  dm_vae_tiling_default(&tiling);
  tiling.tile_size = MIN(MAX(tiling.tile_size,
                             MAX(latent_width, latent_height)),
                         SD_VAE_MAX_TILE);
  return tiling;
}

/* latent (4, h, w) = the VAE posterior's mean of pixels (3, H, W), in the
 * diffusion model's scale. */
static bool encode(const DmVae *vae, float *latent, const float *pixels,
                   int32_t width, int32_t height, GError **error) {
  const int32_t s = dm_vae_scale(&vae->config);
  const int32_t c = vae->config.latent_channels;
  DmTensor *image = dm_tensor_new(1, 3, height, width, error);
  DmTensor *moments = image ? dm_tensor_new(1, 2 * c, height / s, width / s,
                                            error)
                            : NULL;
  const DmVaeTiling tiling = vae_tiling(width / s, height / s);
  bool ok = moments != NULL;
  if (ok) {
    memcpy(image->data, pixels, dm_tensor_numel(image) * sizeof(float));
    ok = dm_vae_encode_tiled(vae, moments, image, &tiling, error);
  }
  if (ok) {
    DmTensor mean = {latent, 1, c, height / s, width / s};
    dm_vae_posterior(vae, &mean, NULL, moments);
  }
  dm_tensor_free(moments);
  dm_tensor_free(image);
  return ok;
}

/* pixels (3, H, W) = the decoding of latent (4, h, w). */
static bool decode(const DmVae *vae, float *pixels, const float *latent,
                   int32_t width, int32_t height, GError **error) {
  const int32_t s = dm_vae_scale(&vae->config);
  const int32_t c = vae->config.latent_channels;
  DmTensor *z = dm_tensor_new(1, c, height / s, width / s, error);
  DmTensor *image = z ? dm_tensor_new(1, 3, height, width, error) : NULL;
  const DmVaeTiling tiling = vae_tiling(width / s, height / s);
  bool ok = image != NULL;
  if (ok) {
    memcpy(z->data, latent, dm_tensor_numel(z) * sizeof(float));
    ok = dm_vae_decode_tiled(vae, image, z, &tiling, error);
  }
  if (ok)
    memcpy(pixels, image->data, dm_tensor_numel(image) * sizeof(float));
  dm_tensor_free(image);
  dm_tensor_free(z);
  return ok;
}

/* ---- one run on the work image --------------------------------------- */

/* A run's inputs at the work size, and what it allocates. */
typedef struct {
  DmSdModel *model;
  int32_t width, height;    /* work pixels */
  int32_t latent_width, latent_height, channels; /* the latent grid */
  const float *pixels;      /* (3, H, W) the work image */
  const float *mask;        /* (H, W) in [0, 1]; NULL: all ones */
  const float *start;       /* (3, H, W) where strength < 1 starts */
  float *known;             /* (C, h, w) a plain checkpoint's latent */
  float *latent_mask;       /* (C, h, w) a plain checkpoint's mask */
  float *condition;         /* (C + 1, h, w) an inpainting checkpoint's */
  float *x;                 /* (C, h, w) the sampler's state */
} Run;

static void run_clear(Run *run) {
  free(run->known);
  free(run->latent_mask);
  free(run->condition);
  free(run->x);
}

static size_t latent_plane(const Run *run) {
  return (size_t)run->latent_width * run->latent_height;
}

static float *new_floats(size_t count, GError **error) {
  float *values = malloc(count * sizeof(float));
  if (!values)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for %zu values of a Stable Diffusion run",
                count);
  return values;
}

bool dm_sd_inpaint_condition(const DmSdModel *model, float *condition,
                             const float *pixels, const float *mask,
                             int32_t width, int32_t height, GError **error) {
  const size_t plane = (size_t)width * height;
  const int32_t s = vae_scale(model);
  const int32_t latent_width = width / s, latent_height = height / s;
  float *masked = new_floats(3 * plane, error);
  for (size_t p = 0; masked && p < plane; p++) {
    const bool fill = mask == NULL || mask[p] >= 0.5f;
    for (int32_t c = 0; c < 3; c++)
      masked[c * plane + p] = fill ? 0.0f : pixels[c * plane + p];
  }
  for (int32_t i = 0; i < latent_height; i++)
    for (int32_t j = 0; j < latent_width; j++) {
      const size_t at = (size_t)i * s * width + (size_t)j * s;
      condition[(size_t)i * latent_width + j] =
          mask == NULL || mask[at] >= 0.5f ? 1.0f : 0.0f;
    }
  const bool ok = masked &&
                  encode(&model->vae,
                         condition + (size_t)latent_width * latent_height,
                         masked, width, height, error);
  free(masked);
  return ok;
}

/* An inpainting checkpoint's extra input (diffusers' prepare_mask_latents,
 * dm_sd_inpaint_condition). */
static bool prepare_condition(Run *run, GError **error) {
  run->condition = new_floats((run->channels + 1) * latent_plane(run),
                              error);
  return run->condition &&
         dm_sd_inpaint_condition(run->model, run->condition, run->pixels,
                                 run->mask, run->width, run->height, error);
}

/* A plain checkpoint's replacement: the image's latent and the mask
 * averaged over each latent pixel's block, in every channel. */
static bool prepare_replacement(Run *run, GError **error) {
  const size_t plane = latent_plane(run);
  run->known = new_floats(run->channels * plane, error);
  run->latent_mask = run->known ? new_floats(run->channels * plane, error)
                                : NULL;
  bool ok = run->latent_mask &&
            encode(&run->model->vae, run->known, run->pixels, run->width,
                   run->height, error);
  if (ok && !dm_resize_float_planes(run->latent_mask, run->latent_width,
                                    run->latent_height, run->mask, 1,
                                    run->width, run->height)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for the latent mask");
    ok = false;
  }
  for (int32_t c = 1; ok && c < run->channels; c++)
    memcpy(run->latent_mask + c * plane, run->latent_mask,
           plane * sizeof(float));
  return ok;
}

/* x = where sampling starts: with strength below 1 the start image's
 * latent (the known latent when that is the same image). */
static bool prepare_start(Run *run, const DmSampleOptions *options,
                          GError **error) {
  const size_t count = run->channels * latent_plane(run);
  run->x = new_floats(count, error);
  if (run->x == NULL) return false;
  if (!dm_sample_starts_from_image(options)) return true;
  if (run->known && run->start == run->pixels) {
    memcpy(run->x, run->known, count * sizeof(float));
    return true;
  }
  return encode(&run->model->vae, run->x, run->start, run->width,
                run->height, error);
}

/* out (3, H, W) = the run's decoded sample. `origin` is the latent grid's
 * corner in the whole picture. */
static bool run_work(Run *run, float *out, const DmSdOptions *sd_options,
                     const DmSampleOptions *options, const int32_t origin[2],
                     DmProgressFunc progress, void *progress_data,
                     GError **error) {
  DmSdModel *model = run->model;
  const int32_t s = vae_scale(model);
  run->latent_width = run->width / s;
  run->latent_height = run->height / s;
  run->channels = model->vae.config.latent_channels;
  const bool inpainting = model->family.inpainting;
  bool ok = inpainting ? prepare_condition(run, error)
          : run->mask ? prepare_replacement(run, error) : true;
  ok = ok && prepare_start(run, options, error);
  Denoiser denoiser = {.unet = &model->unet,
                       .batch = dm_sd_evaluation_batch(options),
                       .guidance = options->guidance_scale,
                       .height = run->latent_height,
                       .width = run->latent_width,
                       .condition = run->condition};
  float *text = ok ? dm_sd_encode_prompts(model, sd_options->prompt,
                                          sd_options->negative_prompt,
                                          denoiser.batch, error)
                   : NULL;
  denoiser.text = text;
  denoiser.text_length = dm_clip_tokenizer_max_length(model->tokenizer);
  const size_t plane = latent_plane(run);
  const DmUnetCondConfig *config = &model->unet.config;
  denoiser.input = text ? new_floats(denoiser.batch * config->in_channels *
                                         plane, error)
                        : NULL;
  denoiser.output = denoiser.input
                        ? new_floats(denoiser.batch * config->out_channels *
                                         plane, error)
                        : NULL;
  ok = denoiser.output != NULL;
  const DmSampleGrid grid = {run->channels, run->latent_height,
                             run->latent_width, origin[0], origin[1]};
  const DmInpaint inpaint = {run->known, run->latent_mask};
  ok = ok && dm_sample(run->x, &grid, &model->schedule, options, denoise,
                       &denoiser, run->known ? &inpaint : NULL, progress,
                       progress_data, error);
  free(denoiser.output);
  free(denoiser.input);
  free(text);
  /* The U-Net's kept scratch blocks would add to the decode's peak. */
  dm_free_floats_pool();
  return ok && decode(&model->vae, out, run->x, run->width, run->height,
                      error);
}

/* ---- inpainting and generation ------------------------------------------ */

/* The common checks of both entry points: before any network runs, the
 * options that choose what runs (dm_sample() checks them all again). */
static bool check_inputs(const DmSdModel *model, int32_t width,
                         int32_t height, const DmSampleOptions *options,
                         const DmAreaOptions *area_options, GError **error) {
  return check_model(model, error) &&
         dm_option_check(DM_OPTION_GUIDANCE_SCALE, options->guidance_scale,
                         error) &&
         dm_option_check(DM_OPTION_STRENGTH, options->strength, error) &&
         dm_option_check(DM_OPTION_STEPS, options->steps, error) &&
         dm_image_check_size(width, height, error) &&
         dm_area_options_check(area_options, error) &&
         dm_image_check_origin(area_options, width, height, error);
}

/* The latent grid's corner in the whole picture. */
static void grid_origin(int32_t origin[2], const DmSdModel *model,
                        const DmAreaOptions *area_options,
                        const DmRect *area) {
  origin[0] = (area_options->image_x + area->x) / vae_scale(model);
  origin[1] = (area_options->image_y + area->y) / vae_scale(model);
}

/* The work image: pixels and mask (its first plane) resized, and where a
 * strength below 1 starts: the pixels, or their smooth fill. */
typedef struct {
  float *pixels; /* (3, H, W) */
  float *mask;   /* (H, W) */
  float *start;  /* (3, H, W), or pixels */
  float *result; /* (3, H, W) */
} WorkImage;

static void work_image_clear(WorkImage *image) {
  if (image->start != image->pixels) free(image->start);
  free(image->pixels);
  free(image->mask);
  free(image->result);
}

static bool work_image_init(WorkImage *image, const DmSdWork *work,
                            const float *known, const float *mask_area,
                            bool smooth_start, GError **error) {
  const size_t plane = (size_t)work->width * work->height;
  const DmRect *area = &work->area;
  *image = (WorkImage){.pixels = malloc(3 * plane * sizeof(float)),
                       .mask = malloc(plane * sizeof(float)),
                       .result = malloc(3 * plane * sizeof(float))};
  image->start = smooth_start ? malloc(3 * plane * sizeof(float))
                              : image->pixels;
  bool ok = image->pixels && image->mask && image->result && image->start &&
            dm_resize_float_planes(image->pixels, work->width, work->height,
                                   known, 3, area->width, area->height) &&
            dm_resize_float_planes(image->mask, work->width, work->height,
                                   mask_area, 1, area->width, area->height);
  if (ok && smooth_start) {
    memcpy(image->start, image->pixels, 3 * plane * sizeof(float));
    ok = dm_fill_smooth(image->start, image->mask, 3, work->width,
                        work->height);
  }
  if (!ok) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a %dx%d work image", work->width,
                work->height);
    work_image_clear(image);
  }
  return ok;
}

/* sample (3, area) = the work result scaled back to the area, its edges
 * matched if asked, blended once with known by the soft mask. */
static bool compose(float *sample, const WorkImage *image,
                    const DmSdWork *work, const float *known,
                    const float *mask_area, bool match_edges,
                    GError **error) {
  const DmRect *area = &work->area;
  const size_t count = 3 * (size_t)area->width * area->height;
  bool ok = dm_resize_float_planes(sample, area->width, area->height,
                                   image->result, 3, work->width,
                                   work->height);
  if (ok && match_edges)
    ok = dm_fill_match_edges(sample, known, mask_area, 3, area->width,
                             area->height);
  if (!ok) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a %dx%d work area", area->width,
                area->height);
    return false;
  }
  for (size_t i = 0; i < count; i++)
    sample[i] = mask_area[i] * sample[i] + (1.0f - mask_area[i]) * known[i];
  return true;
}

/* Runs on the work area of image (3, H, W) with mask_area as cropped
 * (3, area), writing sample (3, area). */
static bool inpaint_area(DmSdModel *model, float *sample, const float *known,
                         const float *mask_area, const DmSdWork *work,
                         const DmSdOptions *sd_options,
                         const DmSampleOptions *options,
                         const DmAreaOptions *area_options,
                         DmProgressFunc progress, void *progress_data,
                         GError **error) {
  const bool smooth_start = dm_sample_starts_from_image(options) &&
                            area_options->hole_start == DM_HOLE_START_SMOOTH;
  WorkImage image;
  if (!work_image_init(&image, work, known, mask_area, smooth_start, error))
    return false;
  Run run = {.model = model, .width = work->width, .height = work->height,
             .pixels = image.pixels, .mask = image.mask,
             .start = image.start};
  int32_t origin[2];
  grid_origin(origin, model, area_options, &work->area);
  bool ok = run_work(&run, image.result, sd_options, options, origin,
                     progress, progress_data, error) &&
            compose(sample, &image, work, known, mask_area,
                    area_options->match_edges, error);
  run_clear(&run);
  work_image_clear(&image);
  return ok;
}

bool dm_sd_inpaint(DmSdModel *model, float *image, const float *mask,
                   int32_t width, int32_t height,
                   const DmSdOptions *sd_options,
                   const DmSampleOptions *options,
                   const DmAreaOptions *area_options,
                   DmProgressFunc progress, void *progress_data,
                   GError **error) {
  DmRect hole;
  DmSdWork work;
  if (!check_inputs(model, width, height, options, area_options, error) ||
      !dm_mask_bounds(mask, width, height, &hole, error) ||
      !dm_sd_work_area(model, sd_options, area_options, &hole, width,
                       height, &work, error))
    return false;
  const size_t count = 3 * (size_t)work.area.width * work.area.height;
  float *known = new_floats(count, error);
  float *mask_area = known ? new_floats(count, error) : NULL;
  float *sample = mask_area ? new_floats(count, error) : NULL;
  bool ok = sample != NULL;
  if (ok) {
    dm_area_crop(known, mask_area, image, mask, 3, width, height,
                 &work.area);
    ok = inpaint_area(model, sample, known, mask_area, &work, sd_options,
                      options, area_options, progress, progress_data,
                      error);
  }
  if (ok)
    dm_area_paste(image, sample, mask_area, 3, width, height, &work.area);
  free(sample);
  free(mask_area);
  free(known);
  return ok;
}

bool dm_sd_generate(DmSdModel *model, float *image, int32_t width,
                    int32_t height, const DmSdOptions *sd_options,
                    const DmSampleOptions *options,
                    const DmAreaOptions *area_options,
                    DmProgressFunc progress, void *progress_data,
                    GError **error) {
  DmSdWork work;
  if (!check_inputs(model, width, height, options, area_options, error) ||
      !dm_sd_work_area(model, sd_options, area_options, NULL, width, height,
                       &work, error))
    return false;
  const size_t plane = (size_t)work.width * work.height;
  float *pixels = new_floats(3 * plane, error);
  float *result = pixels ? new_floats(3 * plane, error) : NULL;
  bool ok = result != NULL;
  /* From pure noise the image is not read (an inpainting checkpoint's
   * masked image is blank anyway). */
  const bool read = dm_sample_starts_from_image(options);
  if (ok && !read) memset(pixels, 0, 3 * plane * sizeof(float));
  if (ok && read &&
      !dm_resize_float_planes(pixels, work.width, work.height, image, 3,
                              width, height)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for a %dx%d work image", work.width,
                work.height);
    ok = false;
  }
  Run run = {.model = model, .width = work.width, .height = work.height,
             .pixels = pixels, .start = pixels};
  int32_t origin[2];
  grid_origin(origin, model, area_options, &work.area);
  ok = ok && run_work(&run, result, sd_options, options, origin, progress,
                      progress_data, error);
  if (ok && !dm_resize_float_planes(image, width, height, result, 3,
                                    work.width, work.height)) {
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for resizing a %dx%d image", width, height);
    ok = false;
  }
  run_clear(&run);
  free(result);
  free(pixels);
  return ok;
}

/* ---- cost ---------------------------------------------------------------- */

bool dm_sd_measure_evaluation(DmSdModel *model, const DmSdWork *work,
                              const DmSampleOptions *options,
                              double *seconds, GError **error) {
  const int32_t multiple = dm_sd_size_multiple(model);
  if (!check_model(model, error)) return false;
  if (work->width < multiple || work->height < multiple ||
      work->width % multiple || work->height % multiple ||
      work->width > 4 * SD_MAX_WORK_SIZE ||
      work->height > 4 * SD_MAX_WORK_SIZE) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "work size %dx%d is not a multiple of %d in range",
                work->width, work->height, multiple);
    return false;
  }
  const DmUnetCondConfig *config = &model->unet.config;
  const int32_t s = vae_scale(model);
  const int32_t n = dm_sd_evaluation_batch(options);
  const int32_t h = work->height / s, w = work->width / s;
  const int32_t L = dm_clip_tokenizer_max_length(model->tokenizer);
  const size_t plane = (size_t)h * w;
  float *input = calloc(n * config->in_channels * plane, sizeof(float));
  float *output = malloc(n * config->out_channels * plane * sizeof(float));
  float *text = calloc((size_t)n * L * config->cross_attention_dim,
                       sizeof(float));
  const float timesteps[2] = {500.0f, 500.0f}; /* any: the cost is one */
  bool ok = input && output && text;
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_NO_MEMORY,
                "out of memory for measuring a %dx%d evaluation",
                work->width, work->height);
  const gint64 start = g_get_monotonic_time();
  ok = ok && dm_unet_cond_forward(&model->unet, output, input, n, h, w,
                                  timesteps, text, L, error);
  *seconds = (g_get_monotonic_time() - start) / 1e6;
  free(text);
  free(output);
  free(input);
  return ok;
}
