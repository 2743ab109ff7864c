/* UNet2DConditionModel against diffusers: every case of tests/data/sd/unet
 * (tests/refgen/make_unet.py: small configs with conv and linear
 * projections, heads given once or per level, 4 and 9 input channels, two
 * transformer blocks, mixed block types, the options that change the
 * arithmetic, non-square latents, batches of different timesteps and text
 * states, F16 and BF16 weights; and the full-size SD 1.5 and SD 2
 * inpainting networks at a 16x16 latent, batch 2, F16) runs with the
 * random weights of dm_weights_fill_random, its config read from the
 * config.json text diffusers wrote, and is compared with diffusers'
 * float64 output; the small configs' first image is also run alone. Then
 * loading a unet/ folder (F32 and the F16 variant's file), the arithmetic
 * count against PyTorch's, and the refusal of bad configs, files and
 * inputs.
 *
 * Tolerance: |got - want| <= 1e-5 over each output (of magnitude 1 to
 * 1.5). diffusers' own float32 run differs from its float64 run by 5.7e-7
 * to 1.2e-6 (the metadata's torch_f32_max_abs_diff; printed beside ours):
 * the bound leaves float32 about eight times that, for other summation
 * orders (Winograd and direct convolutions, blocked attention), and a
 * wrong weight, head split or norm changes the output by orders of
 * magnitude more.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "model/files.h"
#include "model/sd-checkpoint.h"
#include "model/unet-cond-files.h"

#define TOLERANCE_ABS 1e-5
#define TOLERANCE_REL 0.0

/* One reference case. */
typedef struct {
  DmUnetCondConfig config;
  uint64_t seed;
  DmDtype dtype;
  int32_t n, height, width, length;
  float *sample;    /* (n, in_channels, height, width) */
  float *timesteps; /* (n) */
  float *text;      /* (n, length, cross_attention_dim) */
  float *want;      /* (n, out_channels, height, width) */
  size_t count;     /* floats in want */
  char *config_text;
  double torch_error; /* diffusers' float32 run against its float64 one */
} UnetCase;

static DmDtype dtype_from_name(const char *name) {
  if (strcmp(name, "F16") == 0) return DM_DTYPE_F16;
  if (strcmp(name, "BF16") == 0) return DM_DTYPE_BF16;
  return DM_DTYPE_F32;
}

static void read_case(UnetCase *c, const char *name) {
  char *relative = g_strdup_printf("sd/unet/%s.safetensors", name);
  char *path = dm_test_data_path(relative);
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_open(path, &error);
  DM_CHECK_OK(st != NULL, error);
  c->config_text = g_strdup(dm_safetensors_metadata(st, "config"));
  DM_CHECK_OK(dm_unet_cond_config_from_json(&c->config, c->config_text, path,
                                            &error), error);
  c->seed = g_ascii_strtoull(dm_safetensors_metadata(st, "seed"), NULL, 10);
  c->dtype = dtype_from_name(dm_safetensors_metadata(st, "dtype"));
  c->torch_error = g_ascii_strtod(
      dm_safetensors_metadata(st, "torch_f32_max_abs_diff"), NULL);
  const DmStEntry *sample = dm_safetensors_find(st, "sample");
  const DmStEntry *text = dm_safetensors_find(st, "encoder_hidden_states");
  c->n = (int32_t)sample->shape[0];
  c->height = (int32_t)sample->shape[2];
  c->width = (int32_t)sample->shape[3];
  c->length = (int32_t)text->shape[1];
  c->sample = dm_test_read_tensor(st, "sample", NULL);
  c->timesteps = dm_test_read_tensor(st, "timesteps", NULL);
  c->text = dm_test_read_tensor(st, "encoder_hidden_states", NULL);
  c->want = dm_test_read_tensor(st, "out", &c->count);
  dm_safetensors_free(st);
  g_free(path);
  g_free(relative);
}

static void clear_case(UnetCase *c) {
  g_free(c->sample);
  g_free(c->timesteps);
  g_free(c->text);
  g_free(c->want);
  g_free(c->config_text);
}

/* The model's output on the first n images of the case, compared; returns
 * the seconds the forward took. */
static double check_output(const char *label, const DmUnetCond *model,
                           const UnetCase *c, int32_t n) {
  const size_t count = c->count / c->n * n;
  float *got = g_new(float, count);
  GError *error = NULL;
  const gint64 start = g_get_monotonic_time();
  DM_CHECK_OK(dm_unet_cond_forward(model, got, c->sample, n, c->height,
                                   c->width, c->timesteps, c->text,
                                   c->length, &error), error);
  const double seconds = (g_get_monotonic_time() - start) * 1e-6;
  const double diff = dm_test_compare(label, got, c->want, count,
                                      TOLERANCE_ABS, TOLERANCE_REL);
  printf("     %s: max|d| %.3g, %.1f times diffusers' own float32 error "
         "%.3g\n", label, diff, diff / c->torch_error, c->torch_error);
  g_free(got);
  return seconds;
}

/* The case's batch, and with `alone` its first image by itself (the
 * images of a batch must not see each other). */
static void test_case(const char *name, bool alone) {
  UnetCase c;
  read_case(&c, name);
  GError *error = NULL;
  DmUnetCond model;
  const gint64 start = g_get_monotonic_time();
  DM_CHECK_OK(dm_unet_cond_init_random(&model, &c.config, c.dtype, c.seed,
                                       &error), error);
  const double fill = (g_get_monotonic_time() - start) * 1e-6;
  const double seconds = check_output(name, &model, &c, c.n);
  printf("     %s: %zu parameters (%.2f s to fill); forward of %d x %dx%d "
         "%.3f s\n", name, model.weights.table.total, fill, c.n, c.width,
         c.height, seconds);
  if (alone) {
    char *label = g_strdup_printf("%s, first image alone", name);
    check_output(label, &model, &c, 1);
    g_free(label);
  }
  dm_unet_cond_clear(&model);
  clear_case(&c);
}

/* ---- unet/ folders ------------------------------------------------------- */

/* A folder whose weights file `file` is written in `dtype` loads, keeps
 * that dtype, and gives the reference output. */
static void test_folder(const char *name, const char *file, DmDtype dtype) {
  UnetCase c;
  read_case(&c, name);
  GError *error = NULL;
  DmUnetCond random, loaded;
  DM_CHECK_OK(dm_unet_cond_init_random(&random, &c.config, c.dtype, c.seed,
                                       &error), error);
  char *folder = dm_test_make_folder(c.config_text);
  char *path = g_build_filename(folder, file, NULL);
  dm_test_write_weights(path, &random.weights, dtype, NULL, NULL, NULL);
  DM_CHECK_OK(dm_unet_cond_load(&loaded, folder, &error), error);
  DM_CHECK(loaded.weights.dtype == dtype, "%s: loaded as dtype %d, not %d",
           name, loaded.weights.dtype, dtype);
  char *label = g_strdup_printf("%s loaded from %s", name, file);
  check_output(label, &loaded, &c, c.n);
  g_free(label);
  g_free(path);
  dm_unet_cond_clear(&loaded);
  dm_unet_cond_clear(&random);
  dm_test_remove_folder(folder);
  clear_case(&c);
}

static void shrink_proj_in(DmStTensor *tensor, int64_t *shape) {
  if (strcmp(tensor->name, "down_blocks.0.attentions.0.proj_in.weight") == 0)
    shape[1] -= 1;
}

/* A file missing a tensor, with an extra one, or with one mis-shaped. */
static void test_bad_files(void) {
  UnetCase c;
  read_case(&c, "tiny_conv_proj");
  GError *error = NULL;
  DmUnetCond random, loaded;
  DM_CHECK_OK(dm_unet_cond_init_random(&random, &c.config, DM_DTYPE_F32, 1,
                                       &error), error);
  char *folder = dm_test_make_folder(c.config_text);
  char *path = g_build_filename(folder, "diffusion_pytorch_model.safetensors",
                                NULL);
  const char *missing = "up_blocks.1.attentions.1.transformer_blocks.0.attn2"
                        ".to_k.weight";
  dm_test_write_weights(path, &random.weights, DM_DTYPE_F32, missing, NULL,
                        NULL);
  char *expect = g_strdup_printf("'%s' is missing", missing);
  dm_test_expect_error("a missing tensor",
                       dm_unet_cond_load(&loaded, folder, &error), &error,
                       expect);
  g_free(expect);
  dm_test_write_weights(path, &random.weights, DM_DTYPE_F32, NULL, NULL,
                        "class_embedding.linear_1.weight");
  dm_test_expect_error("an extra tensor",
                       dm_unet_cond_load(&loaded, folder, &error), &error,
                       "unexpected tensor 'class_embedding.linear_1.weight'");
  dm_test_write_weights(path, &random.weights, DM_DTYPE_F32, NULL,
                        shrink_proj_in, NULL);
  dm_test_expect_error("a mis-shaped tensor",
                       dm_unet_cond_load(&loaded, folder, &error), &error,
                       "'down_blocks.0.attentions.0.proj_in.weight' has "
                       "shape [32, 31, 1, 1]");
  g_remove(path);
  dm_test_expect_error("no weights file",
                       dm_unet_cond_load(&loaded, folder, &error), &error,
                       "no diffusion_pytorch_model.safetensors");
  g_free(path);
  dm_test_remove_folder(folder);
  dm_unet_cond_clear(&random);
  clear_case(&c);
}

static void check_config_refused(const char *label, const char *text,
                                 const char *expect) {
  DmUnetCondConfig config;
  DmParams table = {0};
  GError *error = NULL;
  const bool ok =
      dm_unet_cond_config_from_json(&config, text, "config.json", &error) &&
      dm_unet_cond_params_describe(&table, &config, &error);
  dm_params_clear(&table);
  dm_test_expect_error(label, ok, &error, expect);
}

static void test_bad_configs(void) {
  static const struct {
    const char *label, *text, *expect;
  } cases[] = {
      {"SDXL's added time embedding",
       "{\"addition_embed_type\": \"text_time\"}",
       "addition_embed_type = \"text_time\" is not supported"},
      {"class embeddings", "{\"class_embed_type\": \"timestep\"}",
       "class_embed_type = \"timestep\""},
      {"num_class_embeds", "{\"num_class_embeds\": 10}",
       "num_class_embeds = 10"},
      {"a self-attention block",
       "{\"down_block_types\": [\"AttnDownBlock2D\", \"CrossAttnDownBlock2D\", "
       "\"CrossAttnDownBlock2D\", \"DownBlock2D\"]}",
       "down_block_types[0] = \"AttnDownBlock2D\""},
      {"a simple cross-attention mid block",
       "{\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"}",
       "mid_block_type"},
      {"no mid block", "{\"mid_block_type\": null}", "mid_block_type"},
      {"gated attention", "{\"attention_type\": \"gated\"}", "attention_type"},
      {"num_attention_heads", "{\"num_attention_heads\": 8}",
       "num_attention_heads = 8"},
      {"cross-attention only", "{\"only_cross_attention\": [false, true, "
       "false, false]}", "only_cross_attention"},
      {"dual cross-attention", "{\"dual_cross_attention\": true}",
       "dual_cross_attention = true"},
      {"fourier time embedding", "{\"time_embedding_type\": \"fourier\"}",
       "time_embedding_type"},
      {"an LCM condition projection", "{\"time_cond_proj_dim\": 256}",
       "time_cond_proj_dim"},
      {"a 1x1 conv_in", "{\"conv_in_kernel\": 1}", "conv_in_kernel = 1"},
      {"gelu resnets", "{\"act_fn\": \"gelu\"}", "act_fn = \"gelu\""},
      {"layers per level", "{\"layers_per_block\": [1, 2, 2, 2]}",
       "layers_per_block = [1,2,2,2] is not supported"},
      {"SDXL's transformer depths",
       "{\"transformer_layers_per_block\": [1, 2, 10, 10]}",
       "transformer_layers_per_block"},
      {"an unknown field", "{\"freeu\": 1}", "unsupported field \"freeu\""},
      {"another model class", "{\"_class_name\": \"UNet2DModel\"}",
       "_class_name"},
      {"3 block types for 4 levels",
       "{\"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", "
       "\"CrossAttnUpBlock2D\"]}", "up_block_types has 3 entries"},
      {"heads per level, too few", "{\"attention_head_dim\": [5, 10]}",
       "attention_head_dim has 2 entries"},
      {"heads that do not divide", "{\"attention_head_dim\": 7}",
       "attention_head_dim (heads) = 7 at level 0"},
      {"groups that do not divide", "{\"norm_num_groups\": 30}",
       "not divisible into 30 groups"},
      {"huge channels", "{\"block_out_channels\": [320, 640, 1280, 100000]}",
       "block_out_channels[3] = 100000"},
      {"a string size", "{\"in_channels\": \"9\"}",
       "in_channels must be an integer"},
      {"zero eps", "{\"norm_eps\": 0}", "norm_eps = 0"},
      {"a text width per level", "{\"cross_attention_dim\": [768, 768, 768, "
       "768]}", "cross_attention_dim"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    check_config_refused(cases[i].label, cases[i].text, cases[i].expect);
}

/* Sizes that are no multiple of 2^(levels - 1), empty texts and
 * non-finite timesteps are refused. */
static void test_bad_inputs(void) {
  UnetCase c;
  read_case(&c, "tiny_conv_proj");
  GError *error = NULL;
  DmUnetCond model;
  DM_CHECK_OK(dm_unet_cond_init_random(&model, &c.config, DM_DTYPE_F32, 1,
                                       &error), error);
  float *out = g_new(float, c.count);
  dm_test_expect_error("an odd height",
                       dm_unet_cond_forward(&model, out, c.sample, 1, 7, 8,
                                            c.timesteps, c.text, c.length,
                                            &error), &error, "of 8x7");
  dm_test_expect_error("no text tokens",
                       dm_unet_cond_forward(&model, out, c.sample, 1, 8, 8,
                                            c.timesteps, c.text, 0, &error),
                       &error, "0 text tokens");
  const float steps[2] = {1.0f, NAN};
  dm_test_expect_error("a NaN timestep",
                       dm_unet_cond_forward(&model, out, c.sample, 2, 8, 8,
                                            steps, c.text, c.length, &error),
                       &error, "timestep 1 (nan)");
  g_free(out);
  dm_unet_cond_clear(&model);
  clear_case(&c);
}

/* dm_unet_cond_flops() of the full-size networks at a 64x64 latent with
 * 77 tokens against PyTorch's FlopCounterMode on diffusers' own network
 * (tests/refgen/count_unet_flops.py): the same count, to the FLOP. */
static void test_flops(void) {
  static const struct {
    const char *name;
    DmSdVersion version;
    double flops;
  } counts[] = {{"sd15_inpaint", DM_SD_1, 803391406080.0},
                {"sd2_inpaint", DM_SD_2, 804375429120.0}};
  for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
    DmUnetCondConfig config;
    dm_sd_unet_config(&config, counts[i].version, true);
    DmUnetCond model;
    GError *error = NULL;
    DM_CHECK_OK(dm_unet_cond_init(&model, &config, &error), error);
    const double flops = dm_unet_cond_flops(&model, 64, 64, 77);
    DM_CHECK(flops == counts[i].flops, "%s: %.0f FLOPs, PyTorch counts %.0f",
             counts[i].name, flops, counts[i].flops);
    printf("%s %-18s %.0f FLOPs at 64x64 (PyTorch: %.0f)\n",
           flops == counts[i].flops ? "ok  " : "FAIL", counts[i].name, flops,
           counts[i].flops);
    dm_unet_cond_clear(&model);
  }
}

int main(int argc, char **argv) {
  dm_set_num_threads(2);
  /* The full-size networks run their batch only, for time. */
  static const struct {
    const char *name;
    bool alone;
  } cases[] = {{"tiny_conv_proj", true}, {"tiny_linear_heads", true},
               {"tiny_f16", true},       {"tiny_options_bf16", true},
               {"sd15_inpaint", false},  {"sd2_inpaint", false}};
  if (argc > 1) { /* named cases only */
    for (int i = 1; i < argc; i++) test_case(argv[i], true);
    return dm_test_finish();
  }
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    test_case(cases[i].name, cases[i].alone);
  test_folder("tiny_linear_heads", "diffusion_pytorch_model.safetensors",
              DM_DTYPE_F32);
  test_folder("tiny_f16", "diffusion_pytorch_model.fp16.safetensors",
              DM_DTYPE_F16);
  test_flops();
  test_bad_files();
  test_bad_configs();
  test_bad_inputs();
  return dm_test_finish();
}
