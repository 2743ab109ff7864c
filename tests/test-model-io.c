/* Tests of model loading and saving: the diffusers reference folder, the
 * single file and folder round trips, a pipeline layout, config parsing, and
 * the errors for missing/extra/mis-shaped tensors and unsupported configs.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <inttypes.h>
#include <string.h>

#include <glib/gstdio.h>

#include "model/model.h"
#include "dm-test.h"
#include "model/model-files.h"
#include "model/safetensors.h"

static char *temp_folder;

static char *temp_path(const char *name) {
  return g_build_filename(temp_folder, name, NULL);
}

static void write_file(const char *path, const char *text) {
  GError *error = NULL;
  DM_CHECK_OK(g_file_set_contents(path, text, -1, &error), error);
}

/* Copies a file byte for byte. */
static void copy_file(const char *from, const char *to) {
  gchar *contents;
  gsize length;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(from, &contents, &length, &error), error);
  DM_CHECK_OK(g_file_set_contents(to, contents, (gssize)length, &error),
              error);
  g_free(contents);
}

/* rm -r of a folder this test made. */
static void remove_tree(const char *path) {
  if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
      !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
      char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
      g_free(child);
    }
    if (dir) g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static int count_entries(const char *folder) {
  GDir *dir = g_dir_open(folder, 0, NULL);
  int n = 0;
  while (dir && g_dir_read_name(dir)) n++;
  if (dir) g_dir_close(dir);
  return n;
}

/* ---- comparisons ------------------------------------------------------- */

/* Configs are equal when their config.json texts are (it writes every
 * field, floats in round-trip precision). */
static bool same_config(const DmUnetConfig *a, const DmUnetConfig *b) {
  char *ja = dm_unet_config_to_json(a), *jb = dm_unet_config_to_json(b);
  bool same = strcmp(ja, jb) == 0;
  g_free(ja);
  g_free(jb);
  return same;
}

static bool same_schedule(const DmScheduleConfig *a,
                          const DmScheduleConfig *b) {
  char *ja = dm_schedule_config_to_json(a), *jb = dm_schedule_config_to_json(b);
  bool same = ja && jb && strcmp(ja, jb) == 0;
  g_free(ja);
  g_free(jb);
  return same;
}

/* Same table, same bits. */
static bool same_params(const DmModel *a, const DmModel *b) {
  const DmParams *pa = &a->unet.params, *pb = &b->unet.params;
  if (pa->count != pb->count || pa->total != pb->total) return false;
  for (int32_t i = 0; i < pa->count; i++)
    if (strcmp(pa->info[i].name, pb->info[i].name) != 0) return false;
  return memcmp(pa->data, pb->data, pa->total * sizeof(float)) == 0;
}

static void check_same_model(const char *label, const DmModel *a,
                             const DmModel *b) {
  bool params = same_params(a, b);
  bool config = same_config(dm_model_config(a), dm_model_config(b));
  bool schedule = same_schedule(dm_model_schedule_config(a),
                                dm_model_schedule_config(b));
  bool card = strcmp(dm_model_card(a), dm_model_card(b)) == 0;
  DM_CHECK(params && config && schedule && card,
           "%s: params %d config %d schedule %d card %d", label, params,
           config, schedule, card);
  printf("%s %s: params bit-identical, configs and card equal\n",
         params && config && schedule && card ? "ok  " : "FAIL", label);
}

/* Loading must fail with `code` and a message holding every needle. */
static void check_load_fails(const char *label, const char *path, int code,
                             const char *needle1, const char *needle2) {
  GError *error = NULL;
  DmModel *model = dm_model_load(path, &error);
  bool ok = !model && error && error->domain == DM_ERROR &&
            error->code == code &&
            (!needle1 || strstr(error->message, needle1)) &&
            (!needle2 || strstr(error->message, needle2));
  DM_CHECK(ok, "%s: expected code %d naming '%s' '%s', got %s", label, code,
           needle1 ? needle1 : "", needle2 ? needle2 : "",
           error ? error->message : "a model");
  printf("%s %-28s -> %s\n", ok ? "ok  " : "FAIL", label,
         error ? error->message : "(loaded)");
  dm_model_free(model);
  g_clear_error(&error);
}

/* ---- the reference folder ---------------------------------------------- */

static DmModel *load_reference(void) {
  char *path = dm_test_data_path("tiny_attn");
  GError *error = NULL;
  DmModel *model = dm_model_load(path, &error);
  DM_CHECK_OK(model, error);
  const DmUnetConfig *c = dm_model_config(model);
  DM_CHECK(dm_model_param_count(model) == 702499, "param count %" PRId64,
           dm_model_param_count(model));
  DM_CHECK(c->n_levels == 2 && c->block_out_channels[0] == 32 &&
               c->block_out_channels[1] == 64 && !c->down_attention[0] &&
               c->down_attention[1] && c->up_attention[0] &&
               !c->up_attention[1] && c->layers_per_block == 1 &&
               c->norm_num_groups == 8 && c->attention_head_dim == 8 &&
               c->attn_norm_num_groups == 0 && c->has_mid_block &&
               c->add_attention && c->sample_size == 16 &&
               c->flip_sin_to_cos && c->freq_shift == 0 &&
               c->norm_eps == 1e-5f && c->downsample_padding == 1,
           "tiny_attn config read wrongly");
  DM_CHECK(strcmp(dm_model_card(model), "") == 0, "tiny_attn has no card");
  /* Every value equals the file's, which the reader converts exactly. */
  char *weights = g_build_filename(path, "diffusion_pytorch_model.safetensors",
                                   NULL);
  DmSafetensors *st = dm_safetensors_open(weights, &error);
  DM_CHECK_OK(st, error);
  const DmStEntry *entry = dm_safetensors_find(st, "conv_in.weight");
  const DmParamInfo *info = dm_params_find(&model->unet.params, "conv_in.weight");
  DM_CHECK(entry && info && entry->numel == info->numel &&
               memcmp(entry->data, model->unet.params.data + info->offset,
                      info->numel * 4) == 0,
           "conv_in.weight differs from the file");
  dm_safetensors_free(st);
  g_free(weights);
  printf("ok   tiny_attn folder: 702499 params, config as in config.json\n");

  /* The weights file named directly loads with the config.json beside it. */
  weights = g_build_filename(path, "diffusion_pytorch_model.safetensors",
                             NULL);
  DmModel *direct = dm_model_load(weights, &error);
  DM_CHECK_OK(direct, error);
  DM_CHECK(same_params(direct, model), "weights file alone differs");
  dm_model_free(direct);
  g_free(weights);
  printf("ok   bare weights file loads with its sibling config.json\n");
  g_free(path);
  return model;
}

/* The other reference folders load with diffusers' parameter counts
 * (unet_report.json); ddpm_like has a null attention_head_dim, freq_shift 1
 * and downsample_padding 0. */
static void test_other_references(void) {
  const struct {
    const char *name;
    int64_t params;
  } cases[] = {{"tiny_plain", 635427}, {"ddpm_like", 1624323}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *path = dm_test_data_path(cases[i].name);
    GError *error = NULL;
    DmModel *model = dm_model_load(path, &error);
    DM_CHECK_OK(model, error);
    int64_t count = dm_model_param_count(model);
    DM_CHECK(count == cases[i].params,
             "%s: %" PRId64 " params, want %" PRId64, cases[i].name, count,
             cases[i].params);
    printf("ok   %s folder: %" PRId64 " params\n", cases[i].name, count);
    dm_model_free(model);
    g_free(path);
  }
}

/* ---- round trips ------------------------------------------------------- */

static void test_round_trips(const DmModel *reference) {
  GError *error = NULL;
  char *reference_path = dm_test_data_path("tiny_attn");
  DmModel *model = dm_model_load(reference_path, &error);
  g_free(reference_path);
  DM_CHECK_OK(model, error);
  dm_model_set_card(model, "bad \xff utf-8");
  DM_CHECK(g_utf8_validate(dm_model_card(model), -1, NULL),
           "set_card must store valid UTF-8");
  dm_model_set_card(model, "# tiny \"attn\"\n\nA card with ünïcode ✓.\n");
  char *single = temp_path("model.safetensors");
  DM_CHECK_OK(dm_model_save(model, single, &error), error);
  DmModel *from_single = dm_model_load(single, &error);
  DM_CHECK_OK(from_single, error);
  check_same_model("single file", model, from_single);
  DM_CHECK(same_params(reference, from_single),
           "single file params differ from the reference folder's");
  DM_CHECK(strcmp(dm_model_card(reference), dm_model_card(from_single)) != 0,
           "card must have been saved");

  char *folder = temp_path("folder");
  DM_CHECK_OK(dm_model_save(model, folder, &error), error);
  DmModel *from_folder = dm_model_load(folder, &error);
  DM_CHECK_OK(from_folder, error);
  check_same_model("folder", model, from_folder);
  DM_CHECK(count_entries(temp_folder) == 2, "staging left behind");

  /* Saving again over the folder, without a card, removes README.md. */
  dm_model_set_card(model, "");
  char *with_slash = g_strconcat(folder, "/", NULL);
  DM_CHECK_OK(dm_model_save(model, with_slash, &error), error);
  DmModel *overwritten = dm_model_load(folder, &error);
  DM_CHECK_OK(overwritten, error);
  check_same_model("folder overwritten", model, overwritten);
  DM_CHECK(count_entries(folder) == 3, "folder holds %d files, want 3",
           count_entries(folder));

  dm_model_free(overwritten);
  dm_model_free(from_folder);
  dm_model_free(from_single);
  dm_model_free(model);
  g_free(with_slash);
  g_free(folder);
  g_free(single);
}

/* model_index.json + unet/ + scheduler/ + README.md. */
static void test_pipeline(const DmModel *reference) {
  char *pipe = temp_path("pipeline");
  char *unet = g_build_filename(pipe, "unet", NULL);
  char *scheduler = g_build_filename(pipe, "scheduler", NULL);
  g_mkdir_with_parents(unet, 0755);
  g_mkdir_with_parents(scheduler, 0755);
  char *ref = dm_test_data_path("tiny_attn");
  const char *files[] = {"config.json", "diffusion_pytorch_model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *from = g_build_filename(ref, files[i], NULL);
    char *to = g_build_filename(unet, files[i], NULL);
    copy_file(from, to);
    g_free(from);
    g_free(to);
  }
  char *index = g_build_filename(pipe, "model_index.json", NULL);
  write_file(index, "{\"_class_name\": \"DDPMPipeline\", \"_diffusers_version\":"
                    " \"0.31.0\", \"scheduler\": [\"diffusers\", "
                    "\"DDIMScheduler\"], \"unet\": [\"diffusers\", "
                    "\"UNet2DModel\"]}");
  char *sched = g_build_filename(scheduler, "scheduler_config.json", NULL);
  write_file(sched, "{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": "
                    "\"squaredcos_cap_v2\", \"num_train_timesteps\": 500}");
  char *card = g_build_filename(pipe, "README.md", NULL);
  write_file(card, "pipeline card\n");

  GError *error = NULL;
  DmModel *model = dm_model_load(pipe, &error);
  DM_CHECK_OK(model, error);
  const DmScheduleConfig *s = dm_model_schedule_config(model);
  DM_CHECK(s->num_train_timesteps == 500 &&
               s->beta_schedule == DM_BETA_SQUAREDCOS_CAP_V2,
           "pipeline scheduler config not read");
  DM_CHECK(strcmp(dm_model_card(model), "pipeline card\n") == 0,
           "pipeline card not read");
  DM_CHECK(same_params(model, reference), "pipeline params differ");
  printf("ok   pipeline folder: unet, scheduler and card loaded\n");
  dm_model_free(model);

  /* The unet/ folder alone finds ../scheduler/ of its pipeline. */
  model = dm_model_load(unet, &error);
  DM_CHECK_OK(model, error);
  DM_CHECK(dm_model_schedule_config(model)->num_train_timesteps == 500,
           "unet/ alone did not find ../scheduler/");
  dm_model_free(model);

  write_file(index, "{\"unet\": [\"diffusers\", \"UNet2DModel\"], "
                    "\"vqvae\": [\"diffusers\", \"VQModel\"]}");
  check_load_fails("pipeline with a VAE", pipe, DM_ERROR_UNSUPPORTED,
                   "vqvae", "VQModel");
  write_file(index, "{\"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}");
  check_load_fails("conditional unet", pipe, DM_ERROR_UNSUPPORTED,
                   "UNet2DConditionModel", NULL);
  write_file(index, "{\"scheduler\": [\"diffusers\", \"DDPMScheduler\"]}");
  check_load_fails("pipeline without unet", pipe, DM_ERROR_FORMAT, "unet",
                   NULL);
  remove_tree(pipe);
  g_free(card);
  g_free(sched);
  g_free(index);
  g_free(ref);
  g_free(scheduler);
  g_free(unet);
  g_free(pipe);
}

/* ---- broken tensors ---------------------------------------------------- */

/* Writes the model as a single file with the tensor list edited: `drop`
 * left out, `extra` added, `reshape` given shape [3, 3] instead. */
static char *write_edited(const DmModel *model, const char *name,
                          const char *drop, const char *extra,
                          const char *reshape, DmDtype dtype) {
  const DmParams *params = &model->unet.params;
  DmStTensor *tensors = g_new0(DmStTensor, params->count + 1);
  static const int64_t odd_shape[2] = {3, 3};
  int32_t n = 0;
  for (int32_t i = 0; i < params->count; i++) {
    const DmParamInfo *info = &params->info[i];
    if (drop && strcmp(info->name, drop) == 0) continue;
    bool odd = reshape && strcmp(info->name, reshape) == 0;
    tensors[n++] = (DmStTensor){info->name, odd ? 2 : info->rank,
                                odd ? odd_shape : info->shape,
                                params->data + info->offset};
  }
  if (extra)
    tensors[n++] = (DmStTensor){extra, 2, odd_shape, params->data};
  char *config = dm_unet_config_to_json(dm_model_config(model));
  const char *metadata[] = {"format", "pt", "dm.config", config, NULL};
  char *path = temp_path(name);
  GError *error = NULL;
  DM_CHECK_OK(dm_safetensors_write(path, tensors, n, metadata, dtype, &error),
              error);
  g_free(config);
  g_free(tensors);
  return path;
}

static void test_broken_tensors(const DmModel *model) {
  char *path = write_edited(model, "missing.safetensors",
                            "mid_block.attentions.0.to_k.bias", NULL, NULL,
                            DM_DTYPE_F32);
  check_load_fails("missing tensor", path, DM_ERROR_FORMAT,
                   "'mid_block.attentions.0.to_k.bias' is missing", "[64]");
  g_free(path);
  path = write_edited(model, "extra.safetensors", NULL, "extra.weight", NULL,
                      DM_DTYPE_F32);
  check_load_fails("extra tensor", path, DM_ERROR_FORMAT, "'extra.weight'",
                   "unexpected");
  g_free(path);
  path = write_edited(model, "shape.safetensors", NULL, NULL,
                      "conv_out.weight", DM_DTYPE_F32);
  check_load_fails("mis-shaped tensor", path, DM_ERROR_FORMAT,
                   "'conv_out.weight' has shape [3, 3]", "[3, 32, 3, 3]");
  g_free(path);

  /* F16 weights load, rounded to F16. */
  GError *error = NULL;
  path = write_edited(model, "half.safetensors", NULL, NULL, NULL,
                      DM_DTYPE_F16);
  DmModel *half = dm_model_load(path, &error);
  DM_CHECK_OK(half, error);
  dm_test_compare("F16 weights vs F32", half->unet.params.data, model->unet.params.data,
                  model->unet.params.total, 0.0, 1e-3);
  dm_model_free(half);
  g_free(path);

  /* A single file without "dm.config" and no config.json beside it. */
  const float value = 0;
  const int64_t shape[1] = {1};
  DmStTensor lone = {"conv_in.bias", 1, shape, &value};
  char *sub = temp_path("bare");
  g_mkdir(sub, 0755);
  path = g_build_filename(sub, "weights.safetensors", NULL);
  DM_CHECK_OK(dm_safetensors_write(path, &lone, 1, NULL, DM_DTYPE_F32, &error),
              error);
  check_load_fails("no dm.config", path, DM_ERROR_FORMAT, "dm.config", NULL);
  remove_tree(sub);
  g_free(sub);
  g_free(path);
}

/* ---- configs ----------------------------------------------------------- */

/* The reference config.json with `from` replaced by `to`, as a folder
 * beside the reference weights. */
static char *folder_with_config(const char *from, const char *to) {
  char *ref = dm_test_data_path("tiny_attn");
  char *config_path = g_build_filename(ref, "config.json", NULL);
  gchar *text;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(config_path, &text, NULL, &error), error);
  DM_CHECK(strstr(text, from) != NULL, "'%s' not in config.json", from);
  GString *edited = g_string_new(NULL);
  const char *at = strstr(text, from);
  if (at) {
    g_string_append_len(edited, text, at - text);
    g_string_append(edited, to);
    g_string_append(edited, at + strlen(from));
  }
  char *folder = temp_path("edited");
  remove_tree(folder);
  g_mkdir(folder, 0755);
  char *weights_from = g_build_filename(ref, "diffusion_pytorch_model.safetensors",
                                        NULL);
  char *weights_to = g_build_filename(folder,
                                      "diffusion_pytorch_model.safetensors",
                                      NULL);
  copy_file(weights_from, weights_to);
  char *edited_path = g_build_filename(folder, "config.json", NULL);
  write_file(edited_path, edited->str);
  g_free(edited_path);
  g_free(weights_to);
  g_free(weights_from);
  g_string_free(edited, TRUE);
  g_free(text);
  g_free(config_path);
  g_free(ref);
  return folder;
}

typedef struct {
  const char *label, *from, *to;
  int code;
  const char *needle;
} ConfigCase;

static const ConfigCase config_cases[] = {
    {"fourier time embedding", "\"positional\"", "\"fourier\"",
     DM_ERROR_UNSUPPORTED, "time_embedding_type = \"fourier\""},
    {"class embeddings", "\"num_class_embeds\": null",
     "\"num_class_embeds\": 10", DM_ERROR_UNSUPPORTED, "num_class_embeds"},
    {"cross attention block", "\"AttnDownBlock2D\"",
     "\"CrossAttnDownBlock2D\"", DM_ERROR_UNSUPPORTED, "CrossAttnDownBlock2D"},
    {"unknown field", "\"act_fn\"", "\"cross_attention_dim\": 768, \"act_fn\"",
     DM_ERROR_UNSUPPORTED, "cross_attention_dim"},
    {"gelu activation", "\"silu\"", "\"gelu\"", DM_ERROR_UNSUPPORTED,
     "act_fn = \"gelu\""},
    {"scale_shift norm", "\"resnet_time_scale_shift\": \"default\"",
     "\"resnet_time_scale_shift\": \"scale_shift\"", DM_ERROR_UNSUPPORTED,
     "resnet_time_scale_shift"},
    {"string channel count", "\"in_channels\": 3", "\"in_channels\": \"3\"",
     DM_ERROR_FORMAT, "in_channels"},
    {"groups not dividing", "\"norm_num_groups\": 8",
     "\"norm_num_groups\": 5", DM_ERROR_FORMAT, "groups"},
    {"head dim not dividing", "\"attention_head_dim\": 8",
     "\"attention_head_dim\": 7", DM_ERROR_FORMAT, "attention_head_dim"},
    {"negative eps", "\"norm_eps\": 1e-05", "\"norm_eps\": -1",
     DM_ERROR_FORMAT, "norm_eps"},
    {"block count mismatch", "\"UpBlock2D\"\n", "\"UpBlock2D\", \"UpBlock2D\"\n",
     DM_ERROR_FORMAT, "up_block_types"},
    {"odd time_embedding_dim", "\"time_embedding_dim\": null",
     "\"time_embedding_dim\": 100", DM_ERROR_UNSUPPORTED,
     "time_embedding_dim"},
    {"other shape in config", "\"out_channels\": 3", "\"out_channels\": 4",
     DM_ERROR_FORMAT, "conv_out.weight"},
};

static void test_config_errors(void) {
  for (size_t i = 0; i < G_N_ELEMENTS(config_cases); i++) {
    const ConfigCase *c = &config_cases[i];
    char *folder = folder_with_config(c->from, c->to);
    check_load_fails(c->label, folder, c->code, c->needle, NULL);
    remove_tree(folder);
    g_free(folder);
  }
}

static void test_config_json(const DmModel *reference) {
  GError *error = NULL;
  DmUnetConfig c;
  DM_CHECK_OK(dm_unet_config_from_json(&c, "{}", &error), error);
  DM_CHECK(c.n_levels == 4 && c.block_out_channels[3] == 896 &&
               c.down_attention[1] && !c.down_attention[0] &&
               c.up_attention[0] && !c.up_attention[3] &&
               c.norm_num_groups == 32 && c.layers_per_block == 2 &&
               c.attention_head_dim == 8 && c.sample_size == 0 &&
               c.in_channels == 3 && c.has_mid_block,
           "defaults differ from UNet2DModel's");
  DM_CHECK_OK(dm_unet_config_from_json(
                  &c, "{\"block_out_channels\": [32, 64], \"down_block_types\":"
                      " [\"DownBlock2D\", \"DownBlock2D\"], \"up_block_types\":"
                      " [\"UpBlock2D\", \"UpBlock2D\"], \"mid_block_type\": "
                      "null, \"attention_head_dim\": null, \"norm_num_groups\":"
                      " 16, \"sample_size\": [32, 32], \"_anything\": {}}",
                  &error),
              error);
  DM_CHECK(!c.has_mid_block && c.attention_head_dim == 0 &&
               c.sample_size == 32, "null fields read wrongly");
  /* to_json -> from_json is the identity. */
  char *text = dm_unet_config_to_json(dm_model_config(reference));
  DM_CHECK_OK(dm_unet_config_from_json(&c, text, &error), error);
  DM_CHECK(same_config(&c, dm_model_config(reference)),
           "config.json round trip changed the config");
  DM_CHECK(strstr(text, "\"_class_name\": \"UNet2DModel\"") &&
               strstr(text, "\"norm_eps\": 1e-05"),
           "config.json text: %s", text);
  g_free(text);
  DM_CHECK(!dm_unet_config_from_json(&c, "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[["
                                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                         "[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]"
                                         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                                         "]]]]]]]]]]]]]]]]}", &error),
           "deep JSON must be refused");
  g_clear_error(&error);
  DM_CHECK(!dm_unet_config_from_json(&c, " \n", &error) &&
               g_error_matches(error, DM_ERROR, DM_ERROR_FORMAT),
           "a blank config.json must be refused");
  g_clear_error(&error);
  printf("ok   config.json defaults, nulls and round trip\n");
}

/* ---- failed saves ------------------------------------------------------ */

static void test_failed_saves(const DmModel *model) {
  int before = count_entries(temp_folder);
  const char *targets[] = {"nope/model.safetensors", "nope/folder"};
  for (int i = 0; i < 2; i++) {
    char *path = temp_path(targets[i]);
    GError *error = NULL;
    bool saved = dm_model_save(model, path, &error);
    DM_CHECK(!saved && g_error_matches(error, DM_ERROR, DM_ERROR_IO),
             "saving to %s must fail with DM_ERROR_IO", path);
    printf("ok   failed save: %s\n", error ? error->message : "(saved)");
    g_clear_error(&error);
    g_free(path);
  }
  char *nope = temp_path("nope");
  DM_CHECK(!g_file_test(nope, G_FILE_TEST_EXISTS) &&
               count_entries(temp_folder) == before,
           "a failed save left files behind");
  g_free(nope);
  /* A file in the way of a folder save. */
  char *file = temp_path("a-file");
  write_file(file, "x");
  GError *error = NULL;
  DM_CHECK(!dm_model_save(model, file, &error), "saved over a plain file");
  g_clear_error(&error);
  g_unlink(file);
  g_free(file);
}

int main(void) {
  GError *error = NULL;
  temp_folder = g_dir_make_tmp("dm-test-model-io-XXXXXX", &error);
  DM_CHECK_OK(temp_folder, error);
  DmModel *reference = load_reference();
  test_other_references();
  test_round_trips(reference);
  test_pipeline(reference);
  test_broken_tensors(reference);
  test_config_errors();
  test_config_json(reference);
  test_failed_saves(reference);
  check_load_fails("missing path", "/nonexistent/model", DM_ERROR_IO,
                   "/nonexistent/model", NULL);
  dm_model_free(reference);
  remove_tree(temp_folder);
  g_free(temp_folder);
  return dm_test_finish();
}
