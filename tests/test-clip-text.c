/* CLIPTextModel against transformers: every case of tests/data/sd/clip
 * (tests/refgen/make_clip.py: small configs with both activations, odd
 * head counts, short position tables, half-precision weights and clip
 * skip, and the full-size text encoders of SD 1.5 and SD 2.x on tokenized
 * prompts) runs with the random weights of dm_weights_fill_random and is
 * compared with transformers' float64 output. Then loading a text_encoder/
 * folder (F32 and F16 files), and the refusal of bad configs, files and
 * inputs.
 *
 * Tolerance: |got - want| <= 2e-5 + 1e-5 max|want| over each output.
 * transformers' own float32 run differs from its float64 run by at most
 * 6.6e-7 on the small cases and 2.6e-6 (SD 1.5) and 3.2e-6 (SD 2.x) on
 * outputs of magnitude about 5 (the metadata's torch_f32_max_abs_diff):
 * the bound leaves float32 a few times that, and a wrong mask, activation
 * or weight changes the output by orders of magnitude more.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "model/clip-text-files.h"
#include "model/files.h"

/* One reference case. */
typedef struct {
  DmClipTextConfig config;
  uint64_t seed;
  DmDtype dtype;
  int32_t skip, n, length;
  int32_t *ids;   /* (n, length) */
  float *want;    /* (n, length, hidden) */
  size_t count;   /* floats in want */
  char *config_text;
} ClipCase;

static void read_case(ClipCase *c, const char *name) {
  char *relative = g_strdup_printf("sd/clip/%s.safetensors", name);
  char *path = dm_test_data_path(relative);
  GError *error = NULL;
  DmSafetensors *st = dm_safetensors_open(path, &error);
  DM_CHECK_OK(st != NULL, error);
  c->config_text = g_strdup(dm_safetensors_metadata(st, "config"));
  DM_CHECK_OK(dm_clip_text_config_from_json(&c->config, c->config_text, path,
                                            &error), error);
  c->seed = g_ascii_strtoull(dm_safetensors_metadata(st, "seed"), NULL, 10);
  c->dtype = strcmp(dm_safetensors_metadata(st, "dtype"), "F16") == 0
                 ? DM_DTYPE_F16 : DM_DTYPE_F32;
  c->skip = atoi(dm_safetensors_metadata(st, "skip"));
  const DmStEntry *ids = dm_safetensors_find(st, "input_ids");
  c->n = (int32_t)ids->shape[0];
  c->length = (int32_t)ids->shape[1];
  float *values = dm_test_read_tensor(st, "input_ids", NULL);
  c->ids = g_new(int32_t, ids->numel);
  for (size_t i = 0; i < ids->numel; i++) c->ids[i] = (int32_t)values[i];
  g_free(values);
  c->want = dm_test_read_tensor(st, "last_hidden_state", &c->count);
  dm_safetensors_free(st);
  g_free(path);
  g_free(relative);
}

static void clear_case(ClipCase *c) {
  g_free(c->ids);
  g_free(c->want);
  g_free(c->config_text);
}

/* The model's output on the first n sequences of the case, compared;
 * returns the seconds the forward took. */
static double check_output(const char *label, const DmClipText *model,
                           const ClipCase *c, int32_t n) {
  const size_t count = c->count / c->n * n;
  float *got = g_new(float, count);
  GError *error = NULL;
  const gint64 start = g_get_monotonic_time();
  DM_CHECK_OK(dm_clip_text_forward(model, got, c->ids, n, c->length, c->skip,
                                   &error), error);
  const double seconds = (g_get_monotonic_time() - start) * 1e-6;
  dm_test_compare(label, got, c->want, count, 2e-5, 1e-5);
  g_free(got);
  return seconds;
}

static void test_case(const char *name) {
  ClipCase c;
  read_case(&c, name);
  GError *error = NULL;
  DmClipText model;
  const gint64 start = g_get_monotonic_time();
  DM_CHECK_OK(dm_clip_text_init_random(&model, &c.config, c.dtype, c.seed,
                                       &error), error);
  const double fill = (g_get_monotonic_time() - start) * 1e-6;
  const double seconds = check_output(name, &model, &c, c.n);
  char *label = g_strdup_printf("%s, first sequence alone", name);
  const double single = check_output(label, &model, &c, 1);
  printf("     %s: %zu parameters (%.2f s to fill); forward of %d x %d "
         "tokens %.3f s, of 1 x %d %.3f s\n", name,
         model.weights.table.total, fill, c.n, c.length, seconds, c.length,
         single);
  g_free(label);
  dm_clip_text_clear(&model);
  clear_case(&c);
}

/* ---- text_encoder/ folders ---------------------------------------------- */

/* Writes `model`'s tensors to folder/model.safetensors (see
 * dm_test_write_weights). */
static void write_weights(const char *folder, const DmClipText *model,
                          DmDtype dtype, const char *omit,
                          DmTestTensorChange change, const char *extra) {
  char *path = g_build_filename(folder, "model.safetensors", NULL);
  dm_test_write_weights(path, &model->weights, dtype, omit, change, extra);
  g_free(path);
}

/* A folder written in `dtype` loads, keeps that dtype, and gives the
 * reference output. */
static void test_folder(const char *name, DmDtype dtype) {
  ClipCase c;
  read_case(&c, name);
  GError *error = NULL;
  DmClipText random, loaded;
  DM_CHECK_OK(dm_clip_text_init_random(&random, &c.config, c.dtype, c.seed,
                                       &error), error);
  char *folder = dm_test_make_folder(c.config_text);
  write_weights(folder, &random, dtype, NULL, NULL, NULL);
  DM_CHECK_OK(dm_clip_text_load(&loaded, folder, &error), error);
  DM_CHECK(loaded.weights.dtype == dtype, "%s: loaded as dtype %d, not %d",
           name, loaded.weights.dtype, dtype);
  char *label = g_strdup_printf("%s loaded from a %s folder", name,
                                dtype == DM_DTYPE_F16 ? "F16" : "F32");
  check_output(label, &loaded, &c, c.n);
  g_free(label);
  dm_clip_text_clear(&loaded);
  dm_clip_text_clear(&random);
  dm_test_remove_folder(folder);
  clear_case(&c);
}

static void shrink_fc1(DmStTensor *tensor, int64_t *shape) {
  if (strcmp(tensor->name, "text_model.encoder.layers.1.mlp.fc1.weight") == 0)
    shape[0] -= 1;
}

/* A file missing a tensor, with an extra one, or with one mis-shaped. */
static void test_bad_files(void) {
  ClipCase c;
  read_case(&c, "tiny_quick_gelu");
  GError *error = NULL;
  DmClipText random, loaded;
  DM_CHECK_OK(dm_clip_text_init_random(&random, &c.config, DM_DTYPE_F32, 1,
                                       &error), error);
  char *folder = dm_test_make_folder(c.config_text);
  write_weights(folder, &random, DM_DTYPE_F32,
                "text_model.encoder.layers.1.self_attn.v_proj.bias", NULL,
                NULL);
  dm_test_expect_error("a missing tensor", dm_clip_text_load(&loaded, folder, &error),
               &error, "'text_model.encoder.layers.1.self_attn.v_proj.bias' "
               "is missing");
  write_weights(folder, &random, DM_DTYPE_F32, NULL, NULL,
                "text_projection.weight");
  dm_test_expect_error("an extra tensor", dm_clip_text_load(&loaded, folder, &error),
               &error, "unexpected tensor 'text_projection.weight'");
  write_weights(folder, &random, DM_DTYPE_F32, NULL, shrink_fc1, NULL);
  dm_test_expect_error("a mis-shaped tensor",
               dm_clip_text_load(&loaded, folder, &error), &error,
               "'text_model.encoder.layers.1.mlp.fc1.weight' has shape "
               "[36, 32]");
  dm_test_remove_folder(folder);
  folder = dm_test_make_folder(c.config_text);
  dm_test_expect_error("no weights file", dm_clip_text_load(&loaded, folder, &error),
               &error, "no model.safetensors");
  dm_test_remove_folder(folder);
  dm_clip_text_clear(&random);
  clear_case(&c);
}

static void check_config_refused(const char *label, const char *text,
                                 const char *expect) {
  DmClipTextConfig config;
  DmParams table = {0};
  GError *error = NULL;
  const bool ok =
      dm_clip_text_config_from_json(&config, text, "config.json", &error) &&
      dm_clip_text_params_describe(&table, &config, &error);
  dm_params_clear(&table);
  dm_test_expect_error(label, ok, &error, expect);
}

static void test_bad_configs(void) {
  check_config_refused("hidden_act relu", "{\"hidden_act\": \"relu\"}",
                       "hidden_act = \"relu\" is not supported");
  check_config_refused("a projection model",
                       "{\"architectures\": [\"CLIPTextModelWithProjection\"]}",
                       "architectures");
  check_config_refused("a vision config",
                       "{\"model_type\": \"clip_vision_model\"}",
                       "model_type");
  check_config_refused("heads that do not divide",
                       "{\"hidden_size\": 30, \"num_attention_heads\": 4}",
                       "hidden_size = 30 is not divisible");
  check_config_refused("no layers", "{\"num_hidden_layers\": 0}",
                       "num_hidden_layers = 0");
  check_config_refused("a huge vocabulary", "{\"vocab_size\": 2000000000}",
                       "vocab_size = 2000000000");
  check_config_refused("a string size", "{\"hidden_size\": \"768\"}",
                       "hidden_size must be an integer");
  check_config_refused("zero eps", "{\"layer_norm_eps\": 0}",
                       "layer_norm_eps = 0");
}

/* Ids outside the vocabulary, sequences longer than the position table
 * and skips of every layer are refused. */
static void test_bad_inputs(void) {
  ClipCase c;
  read_case(&c, "tiny_quick_gelu");
  GError *error = NULL;
  DmClipText model;
  DM_CHECK_OK(dm_clip_text_init_random(&model, &c.config, DM_DTYPE_F32, 1,
                                       &error), error);
  float *out = g_new(float, c.count + c.config.hidden_size);
  int32_t ids[17] = {0};
  ids[5] = c.config.vocab_size;
  dm_test_expect_error("an id outside the vocabulary",
               dm_clip_text_forward(&model, out, ids, 1, 16, 0, &error),
               &error, "token id 120 at position 5");
  ids[5] = 0;
  dm_test_expect_error("17 tokens for 16 positions",
               dm_clip_text_forward(&model, out, ids, 1, 17, 0, &error),
               &error, "17 tokens");
  dm_test_expect_error("skipping every layer",
               dm_clip_text_forward(&model, out, ids, 1, 16, 2, &error),
               &error, "skipping 2 layers");
  g_free(out);
  dm_clip_text_clear(&model);
  clear_case(&c);
}

int main(void) {
  dm_set_num_threads(2);
  const char *cases[] = {"tiny_quick_gelu", "tiny_gelu_5_heads", "tiny_f16",
                         "tiny_skip_1", "sd15_full", "sd2_full"};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) test_case(cases[i]);
  test_folder("tiny_quick_gelu", DM_DTYPE_F32);
  test_folder("tiny_f16", DM_DTYPE_F16);
  test_bad_files();
  test_bad_configs();
  test_bad_inputs();
  return dm_test_finish();
}
