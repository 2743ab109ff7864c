/* Stable Diffusion checkpoints (dm.h, "Stable Diffusion checkpoints"):
 *  - families: full-size single files of every tensor the reference key
 *    tables list (tests/data/sd/keys, sparse files of zeros) plus the
 *    buffers real checkpoints carry, identified as SD 1.x / 2.x,
 *    inpainting or not, epsilon or v, by the rule, a scheduler config
 *    beside the file, or the option;
 *  - damaged checkpoints (a tensor missing, mis-shaped, of an integer
 *    dtype, an extra one, parts of two versions) and other kinds of files
 *    (SDXL, SD3, Flux, LoRA, textual inversion, ControlNet, a VAE alone,
 *    diffusers' own files, pickles, GGUF, ...) refused with a message
 *    naming what they are;
 *  - the tokenizer of a single file: beside it, installed in the user's or
 *    a system data folder (the version's special tokens), or missing with
 *    every place named. CLIP's vocabulary comes from DM_TEST_SHARED
 *    (../shared/clip-tokenizer); that part is skipped without it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "model/sd-checkpoint.h"
#include "model/sd-model.h"
#include "sd-test.h"

static char *temp_root;  /* removed at the end */
static char *vocabulary; /* CLIP's vocab.json and merges.txt, or NULL */

/* The buffers real checkpoints carry beside their weights. */
static void add_buffers(GPtrArray *specs, DmSdVersion version) {
  const int64_t steps[1] = {1000}, ids[2] = {1, 77}, none[1] = {0};
  spec_add(specs, "alphas_cumprod", "F32", 1, steps);
  spec_add(specs, "model_ema.decay", "F32", 0, none);
  spec_add(specs, "model_ema.num_updates", "I32", 0, none);
  spec_add(specs, "first_stage_model.loss.logvar", "F32", 0, none);
  if (version == DM_SD_1) {
    spec_add(specs, "cond_stage_model.transformer.text_model.embeddings"
             ".position_ids", "I64", 2, ids);
    return;
  }
  const int64_t projection[2] = {1024, 1024}, bias[1] = {1024};
  spec_add(specs, "cond_stage_model.model.text_projection", "F16", 2,
           projection);
  spec_add(specs, "cond_stage_model.model.logit_scale", "F16", 0, none);
  spec_add(specs, "cond_stage_model.model.transformer.resblocks.23.ln_1"
           ".bias", "F16", 1, bias);
}

/* ---- families ------------------------------------------------------------ */

static void check_family(const char *label, const DmSdFamily *family,
                         DmSdVersion version, bool inpainting,
                         DmPrediction prediction, DmSdSource source,
                         int32_t size) {
  const bool ok = family->version == version &&
                  family->inpainting == inpainting &&
                  family->prediction == prediction &&
                  family->prediction_source == source &&
                  family->image_size == size;
  char *text = dm_sd_family_describe(family);
  DM_CHECK(ok, "%s: identified as %s (prediction from %d)", label, text,
           (int)family->prediction_source);
  printf("%s %-28s %s\n", ok ? "ok  " : "FAIL", label, text);
  g_free(text);
}

/* A sparse full-size checkpoint of `name` with its buffers, in its own
 * folder (g_free the path). */
static char *write_reference_file(const char *name, DmSdVersion version,
                                  const char *dtype) {
  char *folder = temp_folder(temp_root, name);
  char *path = g_strdup_printf("%s/%s.safetensors", folder, name);
  GPtrArray *specs = reference_specs(name, dtype);
  add_buffers(specs, version);
  write_specs(path, specs);
  g_ptr_array_unref(specs);
  g_free(folder);
  return path;
}

static void identify(const char *path, const DmSdLoadOptions *options,
                     DmSdFamily *family) {
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_checkpoint_identify(path, options, family, &error),
              error);
}

static void test_families(void) {
  DmSdFamily family;
  char *sd15 = write_reference_file("sd15_inpainting", DM_SD_1, "F16");
  identify(sd15, NULL, &family);
  check_family("SD 1.5 inpainting, F16", &family, DM_SD_1, true,
               DM_PREDICT_EPSILON, DM_SD_FROM_RULE, 512);
  char *sd2i = write_reference_file("sd2_inpainting", DM_SD_2, "BF16");
  identify(sd2i, NULL, &family);
  check_family("SD 2 inpainting, BF16", &family, DM_SD_2, true,
               DM_PREDICT_EPSILON, DM_SD_FROM_RULE, 512);
  char *sd2v = write_reference_file("sd2_v", DM_SD_2, "F32");
  identify(sd2v, NULL, &family);
  check_family("SD 2 (v), F32", &family, DM_SD_2, false, DM_PREDICT_V,
               DM_SD_FROM_RULE, 768);
  DmSdLoadOptions options;
  dm_sd_load_options_default(&options);
  options.prediction = DM_PREDICT_EPSILON;
  identify(sd2v, &options, &family);
  check_family("SD 2 base by the option", &family, DM_SD_2, false,
               DM_PREDICT_EPSILON, DM_SD_FROM_OPTION, 512);
  char *folder = g_path_get_dirname(sd2v);
  write_text(folder, "scheduler/scheduler_config.json",
             "{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": "
             "\"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": "
             "0.012, \"prediction_type\": \"epsilon\"}");
  identify(sd2v, NULL, &family);
  check_family("SD 2 base by its scheduler", &family, DM_SD_2, false,
               DM_PREDICT_EPSILON, DM_SD_FROM_SCHEDULER, 512);
  g_free(folder);
  g_free(sd2v);
  g_free(sd2i);
  g_free(sd15);
}

/* ---- damaged checkpoints ------------------------------------------------- */

typedef void (*Damage)(GPtrArray *specs);

static void drop_vae_tensor(GPtrArray *specs) {
  g_ptr_array_remove(specs,
                     spec_find(specs, "first_stage_model.decoder.up.0.block"
                                      ".0.nin_shortcut.bias"));
}
static void reshape_vae_tensor(GPtrArray *specs) {
  spec_find(specs, "first_stage_model.encoder.mid.attn_1.q.weight")->rank = 2;
}
static void reshape_unet_tensor(GPtrArray *specs) {
  spec_find(specs, "model.diffusion_model.output_blocks.11.1.proj_out"
                   ".weight")->rank = 2;
}
static void integer_weight(GPtrArray *specs) {
  spec_find(specs, "first_stage_model.quant_conv.bias")->dtype = "I32";
}
static void extra_tensor(GPtrArray *specs) {
  const int64_t shape[1] = {3};
  spec_add(specs, "first_stage_model.encoder.extra.weight", "F16", 1, shape);
}
/* The text encoder of SD 2 in an SD 1.5 file. */
static void other_text_encoder(GPtrArray *specs) {
  for (guint i = specs->len; i-- > 0;)
    if (g_str_has_prefix(((Spec *)specs->pdata[i])->name, "cond_stage"))
      g_ptr_array_remove_index(specs, i);
  GPtrArray *sd2 = reference_specs("sd2_inpainting", "F16");
  for (guint i = 0; i < sd2->len; i++) {
    const Spec *spec = sd2->pdata[i];
    if (g_str_has_prefix(spec->name, "cond_stage"))
      spec_add(specs, spec->name, spec->dtype, spec->rank, spec->shape);
  }
  g_ptr_array_unref(sd2);
}

static const struct {
  const char *label;
  Damage damage;
  DmErrorCode code;
  const char *needle;
} DAMAGES[] = {
    {"a VAE tensor missing", drop_vae_tensor, DM_ERROR_FORMAT,
     "'first_stage_model.decoder.up.0.block.0.nin_shortcut.bias' is "
     "missing"},
    {"a 1x1 conv as a linear", reshape_vae_tensor, DM_ERROR_FORMAT,
     "'first_stage_model.encoder.mid.attn_1.q.weight' has shape [512, 512]"},
    {"a linear proj_out in SD 1", reshape_unet_tensor, DM_ERROR_FORMAT,
     "'model.diffusion_model.output_blocks.11.1.proj_out.weight' has shape "
     "[320, 320]"},
    {"an I32 weight", integer_weight, DM_ERROR_UNSUPPORTED,
     "'first_stage_model.quant_conv.bias' has dtype I32"},
    {"an extra tensor", extra_tensor, DM_ERROR_FORMAT,
     "unexpected tensor 'first_stage_model.encoder.extra.weight'"},
    {"SD 2 text encoder, SD 1 U-Net", other_text_encoder, DM_ERROR_FORMAT,
     "attends to text states 768 wide"},
};

static void check_refused(const char *label, const char *path,
                          DmErrorCode code, const char *needle) {
  GError *error = NULL;
  DmSdFamily family;
  const bool loaded = dm_sd_checkpoint_identify(path, NULL, &family, &error);
  const bool ok = !loaded && error && error->code == (int)code &&
                  strstr(error->message, needle) &&
                  strstr(error->message, path);
  DM_CHECK(ok, "%s: %s", label, error ? error->message : "accepted");
  printf("%s %-28s %s\n", ok ? "ok  " : "FAIL", label,
         error ? error->message + strlen(path) : "(accepted)");
  g_clear_error(&error);
}

static void test_damaged(void) {
  char *folder = temp_folder(temp_root, "damaged");
  char *path = g_build_filename(folder, "damaged.safetensors", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(DAMAGES); i++) {
    GPtrArray *specs = reference_specs("sd15_inpainting", "F16");
    DAMAGES[i].damage(specs);
    write_specs(path, specs);
    check_refused(DAMAGES[i].label, path, DAMAGES[i].code,
                  DAMAGES[i].needle);
    g_ptr_array_unref(specs);
  }
  g_free(path);
  g_free(folder);
}

/* Files saved with older transformers: no "text_model." in the text
 * encoder's names. */
static void test_legacy_text_layout(void) {
  GPtrArray *specs = reference_specs("sd15_inpainting", "F16");
  const char *prefix = "cond_stage_model.transformer.text_model.";
  for (guint i = 0; i < specs->len; i++) {
    Spec *spec = specs->pdata[i];
    if (!g_str_has_prefix(spec->name, prefix)) continue;
    char *name = g_strconcat("cond_stage_model.transformer.",
                             spec->name + strlen(prefix), NULL);
    g_free(spec->name);
    spec->name = name;
  }
  char *folder = temp_folder(temp_root, "legacy");
  char *path = g_build_filename(folder, "legacy.safetensors", NULL);
  write_specs(path, specs);
  DmSdFamily family;
  identify(path, NULL, &family);
  check_family("SD 1.x, legacy text names", &family, DM_SD_1, true,
               DM_PREDICT_EPSILON, DM_SD_FROM_RULE, 512);
  g_ptr_array_unref(specs);
  g_free(path);
  g_free(folder);
}

/* ---- other kinds of files ------------------------------------------------ */

/* Tensor names (shape [1], F32) or, for conv_in, the channel count. */
static const struct {
  const char *label;
  const char *names[3];
  int64_t conv_in_channels;
  const char *needle;
} OTHERS[] = {
    {"SDXL", {"conditioner.embedders.0.transformer.text_model.x",
              "model.diffusion_model.input_blocks.0.0.weight"}, 0, "SDXL"},
    {"class-conditioned U-Net", {"model.diffusion_model.label_emb.0.0.weight"},
     0, "label_emb"},
    {"SD3", {"model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight"},
     0, "Stable Diffusion 3"},
    {"Flux", {"double_blocks.0.img_attn.norm.key_norm.scale"}, 0, "Flux"},
    {"LoRA (kohya)", {"lora_unet_down_blocks_0_attentions_0_proj_in"
                      ".lora_down.weight"}, 0, "LoRA"},
    {"LoRA (diffusers)", {"unet.down_blocks.0.attentions.0.proj_in"
                          ".lora.down.weight"}, 0, "LoRA"},
    {"textual inversion", {"emb_params"}, 0, "textual inversion"},
    {"ControlNet", {"control_model.input_blocks.0.0.weight"}, 0,
     "ControlNet"},
    {"VAE alone", {"encoder.down.0.block.0.conv1.weight",
                   "decoder.up.0.block.0.conv1.weight"}, 0, "a VAE alone"},
    {"first stage alone", {"first_stage_model.encoder.conv_in.weight"}, 0,
     "a VAE alone"},
    {"diffusers U-Net file", {"down_blocks.0.resnets.0.conv1.weight"}, 0,
     "diffusers U-Net"},
    {"diffusers text encoder", {"text_model.embeddings.position_ids"}, 0,
     "text encoder"},
    {"no U-Net", {"something.else"}, 0, "no U-Net"},
    {"InstructPix2Pix", {NULL}, 8, "InstructPix2Pix"},
    {"7 input channels", {NULL}, 7, "upscaler"},
    {"6 input channels", {NULL}, 6, "6 input channels"},
    {"no text encoder", {NULL}, 4, "no text encoder"},
};

static void test_other_kinds(void) {
  char *folder = temp_folder(temp_root, "others");
  char *path = g_build_filename(folder, "other.safetensors", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(OTHERS); i++) {
    GPtrArray *specs = specs_new();
    const int64_t one[1] = {1};
    for (int k = 0; k < 3 && OTHERS[i].names[k]; k++)
      spec_add(specs, OTHERS[i].names[k], "F32", 1, one);
    const int64_t conv_in[4] = {320, OTHERS[i].conv_in_channels, 3, 3};
    if (OTHERS[i].conv_in_channels)
      spec_add(specs, "model.diffusion_model.input_blocks.0.0.weight", "F16",
               4, conv_in);
    write_specs(path, specs);
    check_refused(OTHERS[i].label, path, DM_ERROR_UNSUPPORTED,
                  OTHERS[i].needle);
    g_ptr_array_unref(specs);
  }
  g_free(path);
  g_free(folder);
}

/* Pickles, GGUF and other files are named before any parsing. */
static void test_not_safetensors(void) {
  static const struct {
    const char *label, *name, *bytes, *needle;
    DmErrorCode code;
  } cases[] = {
      {"torch zip checkpoint", "model.ckpt", "PK\x03\x04rest",
       "convert it to .safetensors", DM_ERROR_UNSUPPORTED},
      {"pickle named .safetensors", "model.safetensors",
       "\x80\x02}q\x00(X", "PyTorch pickle", DM_ERROR_UNSUPPORTED},
      {".bin by its name", "pytorch_model.bin", "anything",
       "PyTorch pickle", DM_ERROR_UNSUPPORTED},
      {"GGUF", "model.gguf", "GGUF\x03\x00\x00\x00", "GGUF",
       DM_ERROR_UNSUPPORTED},
      {"a text file", "notes.safetensors", "hello, world", "header length",
       DM_ERROR_FORMAT},
      {"an empty file", "empty.safetensors", "", "too short",
       DM_ERROR_FORMAT},
  };
  char *folder = temp_folder(temp_root, "not-safetensors");
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    write_text(folder, cases[i].name, cases[i].bytes);
    char *path = g_build_filename(folder, cases[i].name, NULL);
    check_refused(cases[i].label, path, cases[i].code, cases[i].needle);
    g_free(path);
  }
  char *missing = g_build_filename(folder, "missing.safetensors", NULL);
  check_refused("a missing file", missing, DM_ERROR_IO, "cannot open");
  g_free(missing);
  g_free(folder);
}

/* ---- pipeline folders ---------------------------------------------------- */

static void test_pipeline_families(void) {
  for (int v = 0; v < DM_SD_VERSION_COUNT; v++) {
    char *name = g_strdup_printf("pipeline-sd%d", v + 1);
    char *folder = temp_folder(temp_root, name);
    write_pipeline_configs(folder, (DmSdVersion)v);
    DmSdFamily family;
    identify(folder, NULL, &family);
    char *label = g_strdup_printf("SD %d inpainting pipeline", v + 1);
    check_family(label, &family, (DmSdVersion)v, true, DM_PREDICT_EPSILON,
                 DM_SD_FROM_SCHEDULER, 512);
    DM_CHECK(family.layout == DM_SD_PIPELINE_FOLDER &&
                 dm_sd_checkpoint_probe(folder),
             "%s: a pipeline folder for the SD loader", label);
    g_free(label);
    g_free(folder);
    g_free(name);
  }
}

/* An SD 1.5 pipeline's configs with one file replaced. */
static const struct {
  const char *label, *file, *text, *needle;
} PIPELINE_CHANGES[] = {
    {"SDXL pipeline", "model_index.json",
     "{\"unet\": [\"diffusers\", \"UNet2DConditionModel\"], "
     "\"text_encoder_2\": [\"transformers\", "
     "\"CLIPTextModelWithProjection\"]}", "SDXL"},
    {"transformer pipeline", "model_index.json",
     "{\"transformer\": [\"diffusers\", \"SD3Transformer2DModel\"]}",
     "transformer pipeline"},
    {"other U-Net class", "model_index.json",
     "{\"unet\": [\"diffusers\", \"UNet2DModel\"]}",
     "unet = \"UNet2DModel\""},
    {"no VAE", "model_index.json",
     "{\"unet\": [\"diffusers\", \"UNet2DConditionModel\"], "
     "\"text_encoder\": [\"transformers\", \"CLIPTextModel\"], "
     "\"tokenizer\": [\"transformers\", \"CLIPTokenizer\"]}",
     "no \"vae\" component"},
    {"text encoder of SD 2", "text_encoder/config.json",
     "{\"hidden_size\": 1024, \"num_attention_heads\": 16}",
     "text encoder's width"},
    {"8 input channels", "unet/config.json",
     "{\"in_channels\": 8, \"cross_attention_dim\": 768}",
     "neither 4 nor 9"},
    {"SDXL U-Net width", "unet/config.json",
     "{\"cross_attention_dim\": 2048}", "neither 768"},
};

static void test_pipeline_refusals(void) {
  for (size_t i = 0; i < G_N_ELEMENTS(PIPELINE_CHANGES); i++) {
    char *name = g_strdup_printf("pipeline-change-%zu", i);
    char *folder = temp_folder(temp_root, name);
    write_pipeline_configs(folder, DM_SD_1);
    write_text(folder, PIPELINE_CHANGES[i].file, PIPELINE_CHANGES[i].text);
    GError *error = NULL;
    DmSdFamily family;
    const bool loaded = dm_sd_checkpoint_identify(folder, NULL, &family,
                                                  &error);
    const bool ok = !loaded && error &&
                    strstr(error->message, PIPELINE_CHANGES[i].needle);
    DM_CHECK(ok, "%s: %s", PIPELINE_CHANGES[i].label,
             error ? error->message : "accepted");
    printf("%s %-28s %s\n", ok ? "ok  " : "FAIL", PIPELINE_CHANGES[i].label,
           error ? error->message : "(accepted)");
    g_clear_error(&error);
    g_free(folder);
    g_free(name);
  }
}

/* ---- a single file's tokenizer ------------------------------------------- */

/* Installs CLIP's vocabulary in DIR/gimp-diffusion/tokenizers/clip. */
static void install_vocabulary(const char *dir) {
  char *clip = g_build_filename(dir, "gimp-diffusion", "tokenizers", "clip",
                                NULL);
  link_vocabulary(clip, vocabulary);
  g_free(clip);
}

/* The tokenizer of the single file `path` of `version`: where it came
 * from and its padding id (SD 1.x pads with <|endoftext|>, 2.x with "!",
 * id 0). */
static void check_tokenizer(const char *label, const char *path,
                            DmSdVersion version, const char *tokenizer,
                            const char *folder, int32_t pad) {
  DmSdLoadOptions options;
  dm_sd_load_options_default(&options);
  options.tokenizer = tokenizer;
  GError *error = NULL;
  char *found = NULL;
  DmClipTokenizer *t = dm_sd_tokenizer_load(path, &options, version, &found,
                                            &error);
  DM_CHECK_OK(t != NULL, error);
  int32_t ids[77], length = 0;
  DM_CHECK_OK(dm_clip_tokenizer_encode(t, "a photo", ids, &length, &error),
              error);
  const bool ok = g_str_has_prefix(found, folder) && length == 4 &&
                  ids[4] == pad && ids[76] == pad;
  DM_CHECK(ok, "%s: tokenizer from %s, padding %d", label, found, ids[4]);
  printf("%s %-28s %s, padding %d\n", ok ? "ok  " : "FAIL", label, found,
         ids[4]);
  dm_clip_tokenizer_free(t);
  g_free(found);
}

/* XDG_DATA_HOME is temp_root/home, XDG_DATA_DIRS temp_root/sys1:sys2
 * (set before GLib reads them). A missing tokenizer fails the load before
 * any weight is read. */
static void test_tokenizer_search(void) {
  char *sd1 = write_reference_file("sd15_inpainting", DM_SD_1, "F16");
  char *home = g_build_filename(temp_root, "home", NULL);
  char *system = g_build_filename(temp_root, "sys2", NULL);
  GError *error = NULL;
  DmSdModel *model = dm_sd_model_load(sd1, NULL, &error);
  const bool named = !model && error && error->code == DM_ERROR_IO &&
                     strstr(error->message, "sd15_inpainting/tokenizer'") &&
                     strstr(error->message, "home/gimp-diffusion/tokenizers"
                                            "/clip'") &&
                     strstr(error->message, "sys1/gimp-diffusion") &&
                     strstr(error->message, "sys2/gimp-diffusion");
  DM_CHECK(named, "missing tokenizer: %s", error ? error->message : "loaded");
  printf("%s %-28s %s\n", named ? "ok  " : "FAIL", "no tokenizer anywhere",
         error ? error->message : "(loaded)");
  g_clear_error(&error);
  install_vocabulary(system);
  check_tokenizer("installed for the system", sd1, DM_SD_1, NULL, system,
                  49407);
  install_vocabulary(home);
  check_tokenizer("installed for the user", sd1, DM_SD_1, NULL, home, 49407);
  check_tokenizer("SD 2.x with it", sd1, DM_SD_2, NULL, home, 0);
  check_tokenizer("SD 2.x with the option", sd1, DM_SD_2, vocabulary,
                  vocabulary, 0);
  g_free(system);
  g_free(home);
  g_free(sd1);
}

int main(void) {
  GError *error = NULL;
  temp_root = g_dir_make_tmp("dm-test-sd-XXXXXX", &error);
  DM_CHECK_OK(temp_root != NULL, error);
  char *home = g_build_filename(temp_root, "home", NULL);
  char *dirs = g_strdup_printf("%s/sys1:%s/sys2", temp_root, temp_root);
  g_setenv("XDG_DATA_HOME", home, TRUE);
  g_setenv("XDG_DATA_DIRS", dirs, TRUE);
  vocabulary = find_vocabulary();
  test_families();
  test_damaged();
  test_legacy_text_layout();
  test_other_kinds();
  test_not_safetensors();
  test_pipeline_families();
  test_pipeline_refusals();
  if (vocabulary)
    test_tokenizer_search();
  else
    printf("skip the tokenizer search: no CLIP vocabulary in "
           "DM_TEST_SHARED/clip-tokenizer\n");
  g_free(vocabulary);
  g_free(dirs);
  g_free(home);
  remove_tree(temp_root);
  g_free(temp_root);
  return dm_test_finish();
}
