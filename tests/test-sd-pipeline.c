/* Stable Diffusion's pipelines (dm_sd_inpaint, dm_sd_generate) on tiny
 * random SD-layout models (a 2-layer, 8-wide text encoder over CLIP's
 * vocabulary, a 2-level U-Net of 8 channels, a 4-level VAE of 4 channels:
 * latents of 8 x 8 and so): every route runs end to end, unselected pixels
 * come back bit-exact, a seed gives the same image twice and across
 * thread counts, guidance behaves as eq. 6 says, an inpainting
 * checkpoint's 9 input channels are laid out as diffusers lays them out,
 * long prompts are cut as CLIP cuts them, and bad input fails with a
 * message. CLIP's vocabulary comes from DM_TEST_SHARED
 * (../shared/clip-tokenizer); the test is skipped (77) without it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "model/sd-model.h"
#include "sampling/sd-pipeline.h"
#include "tensor/resample.h"
#include "sd-test.h"

#define SKIP 77

/* The work size of the tests: 64 pixels, an 8 x 8 latent. */
#define WORK 64

static char *vocabulary; /* CLIP's vocab.json and merges.txt */

/* A tiny model of `version`'s layout (SD 2.x: OpenCLIP's gelu, prompts
 * padded with "!", linear projections) with random weights (seeds
 * fixed). */
static DmSdModel *tiny_version(DmSdVersion version, bool inpainting,
                               DmPrediction prediction) {
  const bool open_clip = version == DM_SD_2;
  DmSdModel *model = g_new0(DmSdModel, 1);
  model->family = (DmSdFamily){version, inpainting, prediction,
                               DM_SD_FROM_OPTION, WORK,
                               DM_SD_PIPELINE_FOLDER};
  dm_sd_schedule_config(&model->schedule, prediction);
  DmClipTextConfig text;
  dm_clip_text_config_default(&text);
  text.vocab_size = 49408;
  text.hidden_size = 8;
  text.intermediate_size = 16;
  text.num_hidden_layers = 2;
  text.num_attention_heads = 2;
  text.hidden_act = open_clip ? DM_CLIP_ACT_GELU : DM_CLIP_ACT_QUICK_GELU;
  DmUnetCondConfig unet;
  dm_unet_cond_config_default(&unet);
  unet.in_channels = inpainting ? 9 : 4;
  unet.n_levels = 2;
  unet.layers_per_block = 1;
  unet.norm_num_groups = 2;
  unet.cross_attention_dim = 8;
  unet.time_embedding_dim = 32;
  unet.use_linear_projection = open_clip;
  for (int32_t i = 0; i < 2; i++) {
    unet.block_out_channels[i] = 8;
    unet.down_cross_attention[i] = i == 0;
    unet.up_cross_attention[i] = i == 1;
    unet.heads[i] = 2;
  }
  DmVaeConfig vae;
  dm_vae_config_default(&vae);
  vae.n_levels = 4;
  for (int32_t i = 0; i < 4; i++) vae.block_out_channels[i] = 4;
  vae.norm_num_groups = 2;
  vae.layers_per_block = 1;
  vae.latent_channels = 4;
  vae.scaling_factor = 0.18215f;
  const DmClipTokenizerConfig tokens = dm_sd_tokenizer_config(version);
  GError *error = NULL;
  DM_CHECK_OK(dm_clip_text_init_random(&model->text_encoder, &text,
                                       DM_DTYPE_F32, 1, &error) &&
                  dm_unet_cond_init_random(&model->unet, &unet, DM_DTYPE_F32,
                                           2, &error) &&
                  dm_vae_init(&model->vae, &vae, DM_DTYPE_F32, &error) &&
                  (model->tokenizer = dm_clip_tokenizer_load_vocabulary(
                       vocabulary, &tokens, &error)) != NULL,
              error);
  dm_weights_fill_random(&model->vae.weights, 3);
  return model;
}

/* A tiny SD 1.x-layout model. */
static DmSdModel *tiny_model(bool inpainting, DmPrediction prediction) {
  return tiny_version(DM_SD_1, inpainting, prediction);
}

/* ---- images -------------------------------------------------------------- */

typedef struct {
  int32_t width, height;
  float *pixels; /* (3, H, W) in [-1, 1] */
  float *mask;   /* (H, W) */
} Picture;

/* A smooth colour pattern, with a feathered rectangular hole at
 * (x, y, w, h) (mask 1 inside, ramping to 0 over 4 pixels outside). */
static Picture picture_new(int32_t width, int32_t height, DmRect hole) {
  Picture p = {width, height, g_new(float, 3 * (size_t)width * height),
               g_new0(float, (size_t)width * height)};
  const size_t plane = (size_t)width * height;
  for (int32_t y = 0; y < height; y++)
    for (int32_t x = 0; x < width; x++) {
      const size_t at = (size_t)y * width + x;
      for (int32_t c = 0; c < 3; c++)
        p.pixels[c * plane + at] = 0.8f * sinf(0.21f * x + 0.13f * y + c);
      const int32_t dx = MAX(MAX(hole.x - x, x - (hole.x + hole.width - 1)),
                             0);
      const int32_t dy = MAX(MAX(hole.y - y, y - (hole.y + hole.height - 1)),
                             0);
      p.mask[at] = MAX(0.0f, 1.0f - 0.25f * MAX(dx, dy));
    }
  return p;
}

static void picture_free(Picture *p) {
  g_free(p->pixels);
  g_free(p->mask);
}

static float *copy_floats(const float *values, size_t count) {
  return g_memdup2(values, count * sizeof(float));
}

/* Whether every pixel with mask 0 is bit-exact in `got`, and how many
 * values with mask > 0 changed. */
static bool unselected_exact(const Picture *p, const float *got,
                             size_t *changed) {
  const size_t plane = (size_t)p->width * p->height;
  bool exact = true;
  *changed = 0;
  for (int32_t c = 0; c < 3; c++)
    for (size_t i = 0; i < plane; i++) {
      const float a = p->pixels[c * plane + i], b = got[c * plane + i];
      if (p->mask[i] == 0.0f)
        exact &= memcmp(&a, &b, sizeof a) == 0;
      else
        *changed += a != b;
    }
  return exact;
}

static bool all_finite(const float *values, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(values[i])) return false;
  return true;
}

/* The options of a run. */
typedef struct {
  DmSdOptions sd;
  DmSampleOptions sample;
  DmAreaOptions area;
} Options;

/* Inpainting's defaults with a prompt, the tests' work size, 4 steps from
 * noise, guidance 3, no edge matching. */
static Options default_options(void) {
  Options o;
  dm_sd_options_default(&o.sd);
  o.sd.prompt = "a photo of a cat";
  o.sd.work_size = WORK;
  dm_options_default(DM_TASK_INPAINT, &o.sample, &o.area);
  o.sample.steps = 4;
  o.sample.seed = 7;
  o.sample.strength = 1.0f;
  o.sample.guidance_scale = 3.0f;
  o.area.match_edges = false;
  return o;
}

/* Inpaints a copy of p's pixels; returns it (g_free) or NULL on error. */
static float *inpaint(DmSdModel *model, const Picture *p,
                      const DmSdOptions *sd, const DmSampleOptions *sample,
                      const DmAreaOptions *area, GError **error) {
  float *image = copy_floats(p->pixels, 3 * (size_t)p->width * p->height);
  if (!dm_sd_inpaint(model, image, p->mask, p->width, p->height, sd, sample,
                     area, NULL, NULL, error))
    g_clear_pointer(&image, g_free);
  return image;
}

/* ---- resizing the work area ---------------------------------------------- */

/* dm_resize_float_planes, as the pipeline uses it: the same size is the
 * identity, shrinking by 8 averages 8 x 8 blocks (a plain checkpoint's
 * latent mask), growing interpolates, and a constant stays constant. */
static void test_resize(void) {
  const int32_t w = 24, h = 16;
  float *in = dm_test_random_floats(2 * (size_t)w * h, 1.0f, 9);
  float *out = g_new(float, 2 * (size_t)(3 * w) * (3 * h));
  float *want = g_new(float, 2 * (size_t)w * h);
  GError *none = NULL; /* dm_resize_float_planes fails only out of memory */
  DM_CHECK_OK(dm_resize_float_planes(out, w, h, in, 2, w, h), none);
  dm_test_compare("resize to the same size", out, in, 2 * (size_t)w * h,
                  0.0, 0.0);
  DM_CHECK_OK(dm_resize_float_planes(out, w / 8, h / 8, in, 2, w, h), none);
  for (int32_t c = 0; c < 2; c++)
    for (int32_t i = 0; i < h / 8; i++)
      for (int32_t j = 0; j < w / 8; j++) {
        double sum = 0.0;
        for (int32_t y = 0; y < 8; y++)
          for (int32_t x = 0; x < 8; x++)
            sum += in[((size_t)c * h + 8 * i + y) * w + 8 * j + x];
        want[((size_t)c * (h / 8) + i) * (w / 8) + j] = (float)(sum / 64);
      }
  dm_test_compare("shrink by 8: block means", out, want,
                  2 * (size_t)(w / 8) * (h / 8), 1e-6, 0.0);
  for (size_t i = 0; i < 2 * (size_t)w * h; i++) in[i] = 0.375f;
  DM_CHECK_OK(dm_resize_float_planes(out, 3 * w, 3 * h - 5, in, 2, w, h),
              none);
  float *constant = g_new(float, 2 * (size_t)(3 * w) * (3 * h - 5));
  for (size_t i = 0; i < 2 * (size_t)(3 * w) * (3 * h - 5); i++)
    constant[i] = 0.375f;
  dm_test_compare("grow a constant", out, constant,
                  2 * (size_t)(3 * w) * (3 * h - 5), 1e-6, 0.0);
  g_free(constant);
  g_free(want);
  g_free(out);
  g_free(in);
}

/* ---- routes ---------------------------------------------------------- */

/* One inpainting run that must succeed, keep the unselected pixels and
 * change the selected ones. */
static void check_inpaint_route(const char *label, DmSdModel *model,
                                const Picture *p, const DmSdOptions *sd,
                                const DmSampleOptions *sample,
                                const DmAreaOptions *area) {
  GError *error = NULL;
  float *got = inpaint(model, p, sd, sample, area, &error);
  DM_CHECK_OK(got != NULL, error);
  size_t changed = 0;
  const size_t count = 3 * (size_t)p->width * p->height;
  const bool exact = unselected_exact(p, got, &changed);
  const bool finite = all_finite(got, count);
  const bool ok = exact && finite && changed > 0;
  DM_CHECK(ok, "%s: unselected exact %d, finite %d, %zu changed", label,
           exact, finite, changed);
  printf("%s %-44s unselected bit-exact, %zu selected values changed\n",
         ok ? "ok  " : "FAIL", label, changed);
  g_free(got);
}

static void check_generate_route(const char *label, DmSdModel *model,
                                 int32_t width, int32_t height,
                                 const DmSdOptions *sd,
                                 const DmSampleOptions *sample,
                                 const DmAreaOptions *area) {
  Picture p = picture_new(width, height, (DmRect){0, 0, 1, 1});
  const size_t count = 3 * (size_t)width * height;
  float *image = copy_floats(p.pixels, count);
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_generate(model, image, width, height, sd, sample, area,
                             NULL, NULL, &error), error);
  size_t changed = 0;
  for (size_t i = 0; i < count; i++) changed += image[i] != p.pixels[i];
  const bool ok = all_finite(image, count) && changed > count / 2;
  DM_CHECK(ok, "%s: %zu of %zu values changed", label, changed, count);
  printf("%s %-44s %dx%d, %zu of %zu values new\n", ok ? "ok  " : "FAIL",
         label, width, height, changed, count);
  g_free(image);
  picture_free(&p);
}

/* Every route on the plain (epsilon and v), the inpainting and an SD 2.x
 * checkpoint. */
static void test_routes(void) {
  Picture p = picture_new(96, 64, (DmRect){40, 20, 16, 16});
  Options o;
  const struct {
    const char *name;
    DmSdVersion version;
    bool inpainting;
    DmPrediction prediction;
  } models[] = {{"plain, epsilon", DM_SD_1, false, DM_PREDICT_EPSILON},
                {"plain, v", DM_SD_1, false, DM_PREDICT_V},
                {"inpainting, epsilon", DM_SD_1, true, DM_PREDICT_EPSILON},
                {"SD 2.x layout, v", DM_SD_2, false, DM_PREDICT_V}};
  for (size_t m = 0; m < G_N_ELEMENTS(models); m++) {
    DmSdModel *model = tiny_version(models[m].version, models[m].inpainting,
                                    models[m].prediction);
    char *label;
    o = default_options();
    label = g_strdup_printf("%s: inpaint", models[m].name);
    check_inpaint_route(label, model, &p, &o.sd, &o.sample, &o.area);
    g_free(label);
    o.sample.strength = 0.5f;
    label = g_strdup_printf("%s: inpaint from smooth fill", models[m].name);
    check_inpaint_route(label, model, &p, &o.sd, &o.sample, &o.area);
    g_free(label);
    o.area.hole_start = DM_HOLE_START_PIXELS;
    o.area.match_edges = true;
    label = g_strdup_printf("%s: from pixels, edges", models[m].name);
    check_inpaint_route(label, model, &p, &o.sd, &o.sample, &o.area);
    g_free(label);
    o = default_options();
    o.sample.jump_length = 1;
    o.sample.jump_repeats = 2;
    o.sample.sampler = DM_SAMPLER_DDPM;
    label = g_strdup_printf("%s: DDPM, RePaint jumps", models[m].name);
    check_inpaint_route(label, model, &p, &o.sd, &o.sample, &o.area);
    g_free(label);
    o = default_options();
    label = g_strdup_printf("%s: text to image", models[m].name);
    check_generate_route(label, model, 40, 24, &o.sd, &o.sample, &o.area);
    g_free(label);
    o.sample.strength = 0.5f;
    label = g_strdup_printf("%s: image to image", models[m].name);
    check_generate_route(label, model, 40, 24, &o.sd, &o.sample, &o.area);
    g_free(label);
    dm_sd_model_free(model);
  }
  picture_free(&p);
}

/* Every sampler of the table runs a plain checkpoint's inpainting (with
 * guidance: a batch of two) through dm_sample(). */
static void test_every_sampler(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  Picture p = picture_new(96, 64, (DmRect){40, 20, 16, 16});
  Options o = default_options();
  for (int32_t s = 0; s < DM_SAMPLER_COUNT; s++) {
    o.sample.sampler = (DmSampler)s;
    char *label = g_strdup_printf("sampler %s", dm_sampler_name(s));
    check_inpaint_route(label, model, &p, &o.sd, &o.sample, &o.area);
    g_free(label);
  }
  picture_free(&p);
  dm_sd_model_free(model);
}

/* ---- reproducibility and guidance ------------------------------------ */

static void test_seeds_and_threads(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  Picture p = picture_new(96, 64, (DmRect){40, 20, 16, 16});
  Options o = default_options();
  const size_t count = 3 * (size_t)p.width * p.height;
  GError *error = NULL;
  const int32_t threads = dm_get_num_threads();
  dm_set_num_threads(1);
  float *one = inpaint(model, &p, &o.sd, &o.sample, &o.area, &error);
  float *again = one ? inpaint(model, &p, &o.sd, &o.sample, &o.area, &error)
                     : NULL;
  dm_set_num_threads(2);
  float *two = again ? inpaint(model, &p, &o.sd, &o.sample, &o.area, &error)
                     : NULL;
  o.sample.seed = 8;
  float *other = two ? inpaint(model, &p, &o.sd, &o.sample, &o.area, &error)
                     : NULL;
  dm_set_num_threads(threads);
  DM_CHECK_OK(other != NULL, error);
  const bool same = memcmp(one, again, count * sizeof(float)) == 0;
  DM_CHECK(same, "the same seed gave another image");
  printf("%s %-44s bit-identical\n", same ? "ok  " : "FAIL",
         "same seed, one thread, twice");
  dm_test_compare("same seed, one thread and two", two, one, count, 1e-4,
                  0.0);
  size_t differ = 0;
  for (size_t i = 0; i < count; i++) differ += other[i] != one[i];
  DM_CHECK(differ > 0, "another seed gave the same image");
  printf("%s %-44s %zu values differ\n", differ ? "ok  " : "FAIL",
         "another seed", differ);
  g_free(other);
  g_free(two);
  g_free(again);
  g_free(one);
  picture_free(&p);
  dm_sd_model_free(model);
}

/* A front end that hands over only the work area, placed with image_x and
 * image_y, gets the same pixels there as one that hands over everything. */
static void test_work_area_crop(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  Picture p = picture_new(160, 120, (DmRect){70, 50, 12, 10});
  Options o = default_options();
  DmRect hole;
  DmSdWork work;
  GError *error = NULL;
  DM_CHECK_OK(dm_mask_bounds(p.mask, p.width, p.height, &hole, &error) &&
                  dm_sd_work_area(model, &o.sd, &o.area, &hole, p.width,
                                  p.height, &work, &error), error);
  const DmRect *a = &work.area;
  const bool inside = a->x >= 0 && a->y >= 0 && a->x + a->width <= 160 &&
                      a->y + a->height <= 120 && a->width < 160;
  const bool sizes = work.width % dm_sd_size_multiple(model) == 0 &&
                     work.height % dm_sd_size_multiple(model) == 0 &&
                     abs(work.width * work.height - WORK * WORK) <=
                         WORK * WORK / 2;
  DM_CHECK(inside && sizes, "work area %dx%d at (%d, %d), work %dx%d",
           a->width, a->height, a->x, a->y, work.width, work.height);
  printf("%s %-44s %dx%d at (%d, %d) sampled at %dx%d\n",
         inside && sizes ? "ok  " : "FAIL", "work area of a small hole",
         a->width, a->height, a->x, a->y, work.width, work.height);
  float *whole = inpaint(model, &p, &o.sd, &o.sample, &o.area, &error);
  DM_CHECK_OK(whole != NULL, error);
  Picture crop = picture_new(a->width, a->height, (DmRect){0, 0, 1, 1});
  const size_t plane = (size_t)p.width * p.height;
  const size_t crop_plane = (size_t)a->width * a->height;
  for (int32_t y = 0; y < a->height; y++)
    for (int32_t x = 0; x < a->width; x++) {
      const size_t from = (size_t)(a->y + y) * p.width + a->x + x;
      const size_t to = (size_t)y * a->width + x;
      crop.mask[to] = p.mask[from];
      for (int32_t c = 0; c < 3; c++)
        crop.pixels[c * crop_plane + to] = p.pixels[c * plane + from];
    }
  o.area.image_x = a->x;
  o.area.image_y = a->y;
  float *part = inpaint(model, &crop, &o.sd, &o.sample, &o.area, &error);
  DM_CHECK_OK(part != NULL, error);
  bool same = true;
  for (int32_t c = 0; c < 3; c++)
    for (int32_t y = 0; y < a->height; y++)
      for (int32_t x = 0; x < a->width; x++)
        same &= part[c * crop_plane + (size_t)y * a->width + x] ==
                whole[c * plane + (size_t)(a->y + y) * p.width + a->x + x];
  DM_CHECK(same, "the work area alone gave other pixels");
  printf("%s %-44s the same pixels\n", same ? "ok  " : "FAIL",
         "work area handed over alone");
  double seconds = 0.0;
  DM_CHECK_OK(dm_sd_measure_evaluation(model, &work, &o.sample, &seconds,
                                       &error), error);
  DM_CHECK(seconds > 0.0 && dm_sd_evaluation_batch(&o.sample) == 2,
           "measured %g s, batch %d", seconds,
           dm_sd_evaluation_batch(&o.sample));
  printf("ok   %-44s %.4f s a batch of %d\n", "one U-Net evaluation",
         seconds, dm_sd_evaluation_batch(&o.sample));
  g_free(part);
  g_free(whole);
  picture_free(&crop);
  picture_free(&p);
  dm_sd_model_free(model);
}

/* Guidance 1 runs the prompt alone; another scale differs from it; with
 * the prompt as the negative prompt, o_u = o_c and any scale gives guidance
 * 1's image. */
static void test_guidance(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  Options o = default_options();
  const int32_t width = 32, height = 32;
  const size_t count = 3 * (size_t)width * height;
  float *images[3];
  const float scales[3] = {1.0f, 5.0f, 5.0f};
  const char *negatives[3] = {"", "", "a photo of a cat"};
  GError *error = NULL;
  for (int i = 0; i < 3; i++) {
    images[i] = g_new0(float, count);
    o.sample.guidance_scale = scales[i];
    o.sd.negative_prompt = negatives[i];
    DM_CHECK_OK(dm_sd_generate(model, images[i], width, height, &o.sd,
                               &o.sample, &o.area, NULL, NULL, &error),
                error);
  }
  size_t differ = 0;
  for (size_t i = 0; i < count; i++) differ += images[1][i] != images[0][i];
  DM_CHECK(differ > count / 2, "guidance 5 changed only %zu values", differ);
  printf("%s %-44s %zu of %zu values differ\n",
         differ > count / 2 ? "ok  " : "FAIL", "guidance 5 against 1", differ,
         count);
  dm_test_compare("guidance 5, negative = prompt, against 1", images[2],
                  images[0], count, 1e-5, 0.0);
  for (int i = 0; i < 3; i++) g_free(images[i]);
  dm_sd_model_free(model);
}

/* ---- an inpainting checkpoint's input ------------------------------------ */

/* The condition against a hand computation: the mask binarised at 0.5 and
 * read at (8 i, 8 j), the masked image (0 where the mask is >= 0.5)
 * encoded by the VAE itself; the U-Net input [x_t, mask, masked latent]
 * for each image of a guided batch. */
static void test_inpainting_input(void) {
  DmSdModel *model = tiny_model(true, DM_PREDICT_EPSILON);
  const int32_t width = 64, height = 48, s = 8;
  const int32_t lw = width / s, lh = height / s;
  const size_t plane = (size_t)width * height, lplane = (size_t)lw * lh;
  Picture p = picture_new(width, height, (DmRect){20, 10, 17, 21});
  /* The hole's soft edge: values 0.75, 0.5, 0.25 next to it. */
  float *condition = g_new(float, 5 * lplane);
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_inpaint_condition(model, condition, p.pixels, p.mask,
                                      width, height, &error), error);
  float *want = g_new(float, 5 * lplane);
  float *masked = copy_floats(p.pixels, 3 * plane);
  for (size_t i = 0; i < plane; i++)
    if (p.mask[i] >= 0.5f)
      for (int32_t c = 0; c < 3; c++) masked[c * plane + i] = 0.0f;
  int32_t ones = 0;
  for (int32_t i = 0; i < lh; i++)
    for (int32_t j = 0; j < lw; j++) {
      want[i * lw + j] = p.mask[(size_t)i * s * width + j * s] >= 0.5f;
      ones += want[i * lw + j] == 1.0f;
    }
  DmTensor *image = dm_tensor_new(1, 3, height, width, &error);
  DmTensor *moments = dm_tensor_new(1, 8, lh, lw, &error);
  DM_CHECK_OK(image && moments, error);
  memcpy(image->data, masked, 3 * plane * sizeof(float));
  DM_CHECK_OK(dm_vae_encode_moments(&model->vae, moments, image, &error),
              error);
  DmTensor mean = {want + lplane, 1, 4, lh, lw};
  dm_vae_posterior(&model->vae, &mean, NULL, moments);
  dm_test_compare("inpainting mask at latent size", condition, want, lplane,
                  0.0, 0.0);
  dm_test_compare("masked image's latent", condition + lplane,
                  want + lplane, 4 * lplane, 1e-6, 1e-6);
  DM_CHECK(ones > 0 && ones < lh * lw, "the latent mask has %d ones", ones);
  float *x = dm_test_random_floats(4 * lplane, 1.0f, 5);
  float *input = g_new(float, 2 * 9 * lplane);
  dm_sd_unet_input(input, x, condition, 2, 9, 4, lplane);
  bool laid_out = true;
  for (int32_t b = 0; b < 2; b++)
    laid_out &= memcmp(input + b * 9 * lplane, x, 4 * lplane * 4) == 0 &&
                memcmp(input + (b * 9 + 4) * lplane, condition,
                       5 * lplane * 4) == 0;
  DM_CHECK(laid_out, "the U-Net input is not [x_t, mask, masked latent]");
  printf("%s %-44s [x_t, mask, masked latent] in both images\n",
         laid_out ? "ok  " : "FAIL", "9-channel U-Net input");
  g_free(input);
  g_free(x);
  dm_tensor_free(moments);
  dm_tensor_free(image);
  g_free(masked);
  g_free(want);
  g_free(condition);
  picture_free(&p);
  dm_sd_model_free(model);
}

/* The condition of diffusers' StableDiffusionInpaintPipeline for the same
 * VAE weights (tests/refgen/make_sd_inpaint.py): the mask plane exactly,
 * the latent within 10 times torch's own float32 error + 1e-5. */
static void test_inpainting_reference(void) {
  char *path = dm_test_data_path("sd/pipeline/inpaint-condition.safetensors");
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_open(path, &error);
  DM_CHECK_OK(st != NULL, error);
  size_t count = 0;
  float *image = dm_test_read_tensor(st, "image", NULL);
  float *mask = dm_test_read_tensor(st, "mask", NULL);
  float *want = dm_test_read_tensor(st, "condition", &count);
  float *torch_error = dm_test_read_tensor(st, "error.condition", NULL);
  DM_CHECK_OK(image && mask && want && torch_error && count == 5 * 48,
              error);
  DmSdModel *model = tiny_model(true, DM_PREDICT_EPSILON);
  float *got = g_new(float, count);
  DM_CHECK_OK(dm_sd_inpaint_condition(model, got, image, mask, 64, 48,
                                      &error), error);
  dm_test_compare("diffusers' inpainting mask", got, want, 48, 0.0, 0.0);
  dm_test_compare("diffusers' masked image latent", got + 48, want + 48,
                  4 * 48, 10.0 * torch_error[0] + 1e-5, 0.0);
  dm_sd_model_free(model);
  g_free(got);
  g_free(torch_error);
  g_free(want);
  g_free(mask);
  g_free(image);
  dm_safetensors_free(st);
  g_free(path);
}

/* ---- prompts and bad input ------------------------------------------- */

/* A prompt of 200 words gives the text states of its first 75 (77 ids
 * with bos and eos), as CLIP's tokenizer cuts it. */
static void test_long_prompt(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  GString *long_prompt = g_string_new(NULL), *cut = g_string_new(NULL);
  for (int i = 0; i < 200; i++) {
    g_string_append(long_prompt, i % 2 ? "dog " : "cat ");
    if (i < 75) g_string_append(cut, i % 2 ? "dog " : "cat ");
  }
  GError *error = NULL;
  float *a = dm_sd_encode_prompts(model, long_prompt->str, NULL, 1, &error);
  float *b = a ? dm_sd_encode_prompts(model, cut->str, NULL, 1, &error)
               : NULL;
  float *c = b ? dm_sd_encode_prompts(model, "cat", NULL, 1, &error) : NULL;
  DM_CHECK_OK(c != NULL, error);
  const size_t count = 77 * 8;
  const bool same = memcmp(a, b, count * sizeof(float)) == 0;
  const bool other = memcmp(a, c, count * sizeof(float)) != 0;
  DM_CHECK(same && other, "long prompt: cut %d, differs from short %d", same,
           other);
  printf("%s %-44s the first 75 words' states\n",
         same && other ? "ok  " : "FAIL", "a prompt of 200 words");
  g_free(c);
  g_free(b);
  g_free(a);
  g_string_free(cut, TRUE);
  g_string_free(long_prompt, TRUE);
  dm_sd_model_free(model);
}

/* Cancels at the second evaluation. */
static bool cancel_second(int32_t done, int32_t total, void *data) {
  (void)total;
  (void)data;
  return done < 2;
}

/* The call fails with `code` and a message containing `named`, and leaves
 * the image as it was. */
static void check_fails(const char *label, bool ok, GError *error,
                        int code, const char *named, const Picture *p,
                        const float *image) {
  const size_t count = 3 * (size_t)p->width * p->height;
  const bool pass = !ok && error && error->code == code &&
                    strstr(error->message, named) &&
                    memcmp(image, p->pixels, count * sizeof(float)) == 0;
  DM_CHECK(pass, "%s: %s", label, error ? error->message : "no error");
  printf("%s %-44s %s\n", pass ? "ok  " : "FAIL", label,
         error ? error->message : "(no error)");
  g_clear_error(&error);
}

/* dm_sd_inpaint of image with p's height and mask (or `mask`) at
 * `width`. */
static bool inpaint_into(DmSdModel *model, float *image, const float *mask,
                         int32_t width, const Picture *p, const Options *o,
                         DmProgressFunc progress, GError **error) {
  return dm_sd_inpaint(model, image, mask ? mask : p->mask, width, p->height,
                       &o->sd, &o->sample, &o->area, progress, NULL, error);
}

static void test_bad_input(void) {
  DmSdModel *model = tiny_model(false, DM_PREDICT_EPSILON);
  Picture p = picture_new(48, 40, (DmRect){10, 10, 8, 8});
  Options o = default_options();
  float *image = copy_floats(p.pixels, 3 * (size_t)p.width * p.height);
  float *empty = g_new0(float, (size_t)p.width * p.height);
  const int32_t W = p.width;
  GError *error = NULL;
  bool ok = inpaint_into(model, image, empty, W, &p, &o, NULL, &error);
  check_fails("empty mask", ok, error, DM_ERROR_INVALID_ARGUMENT,
              "selects nothing", &p, image);
  error = NULL;
  ok = inpaint_into(model, image, NULL, 0, &p, &o, NULL, &error);
  check_fails("width 0", ok, error, DM_ERROR_INVALID_ARGUMENT, "0x40", &p,
              image);
  error = NULL;
  ok = dm_sd_generate(model, image, DM_MAX_IMAGE_SIDE + 1, 4, &o.sd,
                      &o.sample, &o.area, NULL, NULL, &error);
  check_fails("an absurd width", ok, error, DM_ERROR_INVALID_ARGUMENT,
              "pixels a side", &p, image);
  error = NULL;
  ok = dm_sd_generate(model, image, 48, 2, &o.sd, &o.sample, &o.area, NULL,
                      NULL, &error);
  check_fails("aspect 24:1", ok, error, DM_ERROR_INVALID_ARGUMENT,
              "elongated", &p, image);
  error = NULL;
  DmSdWork work;
  const DmRect outside = {60, 10, 8, 8};
  ok = dm_sd_work_area(model, &o.sd, &o.area, &outside, W, p.height, &work,
                       &error);
  check_fails("a hole outside the image", ok, error,
              DM_ERROR_INVALID_ARGUMENT, "not inside", &p, image);
  error = NULL;
  o.sd.work_size = 10;
  ok = inpaint_into(model, image, NULL, W, &p, &o, NULL, &error);
  check_fails("work size 10", ok, error, DM_ERROR_INVALID_ARGUMENT,
              "work size 10", &p, image);
  error = NULL;
  o.sd.work_size = WORK;
  o.sd.prompt = "\xff\xfe not UTF-8";
  ok = inpaint_into(model, image, NULL, W, &p, &o, NULL, &error);
  check_fails("a prompt that is not UTF-8", ok, error,
              DM_ERROR_INVALID_ARGUMENT, "UTF-8", &p, image);
  error = NULL;
  o.sd.prompt = "a cat";
  o.sample.guidance_scale = 50.0f;
  ok = inpaint_into(model, image, NULL, W, &p, &o, NULL, &error);
  check_fails("guidance 50", ok, error, DM_ERROR_INVALID_ARGUMENT,
              "guidance", &p, image);
  error = NULL;
  o.sample.guidance_scale = 3.0f;
  ok = inpaint_into(model, image, NULL, W, &p, &o, cancel_second, &error);
  check_fails("cancelled", ok, error, DM_ERROR_CANCELLED, "cancelled", &p,
              image);
  g_free(empty);
  g_free(image);
  picture_free(&p);
  dm_sd_model_free(model);
}

int main(void) {
  vocabulary = find_vocabulary();
  if (!vocabulary) {
    printf("SKIP: no CLIP vocabulary in DM_TEST_SHARED/clip-tokenizer\n");
    return SKIP;
  }
  test_resize();
  test_routes();
  test_every_sampler();
  test_seeds_and_threads();
  test_work_area_crop();
  test_guidance();
  test_inpainting_input();
  test_inpainting_reference();
  test_long_prompt();
  test_bad_input();
  g_free(vocabulary);
  return dm_test_finish();
}
