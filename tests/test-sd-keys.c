/* The names of Stable Diffusion single-file checkpoints (model/sd-keys.h)
 * against diffusers' own conversion scripts: tests/data/sd/keys/CASE.txt.gz
 * (tests/refgen/make_checkpoint_keys.py) lists, for every tensor of the
 * SD 1.5-inpainting, SD 2-inpainting and SD 2 (v) pipelines, its name in
 * the single file, its diffusers name and shape, and how the file holds
 * it; our networks' tables for the family's configs (sd-checkpoint.h),
 * mapped by our rules, must give exactly those lines.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include "dm-test.h"
#include "model/sd-checkpoint.h"

/* "320,9,3,3". */
static void append_dims(GString *out, const DmParamInfo *info) {
  for (int32_t d = 0; d < info->rank; d++)
    g_string_append_printf(out, "%s%" G_GINT64_FORMAT, d ? "," : "",
                           info->shape[d]);
}

/* One reference line for table entry `info` and its key. */
static char *key_line(const DmParamInfo *info, const DmSdKey *key) {
  GString *line = g_string_new(NULL);
  g_string_printf(line, "%s %s ", key->original, info->name);
  append_dims(line, info);
  g_string_append_printf(line, " %s", dm_sd_reshape_name(key->reshape));
  if (key->reshape == DM_SD_RESHAPE_ROWS)
    g_string_append_printf(line, ":%d/%d", key->part, key->parts);
  return g_string_free(line, FALSE);
}

/* Adds the lines our mapping gives for `table` as `part`. */
static void add_lines(GPtrArray *lines, const DmParams *table, DmSdPart part,
                      const DmSdBlocks *blocks) {
  DmSdKey *keys = NULL;
  GError *error = NULL;
  DM_CHECK_OK(dm_sd_keys_map(&keys, table, part, blocks, &error), error);
  for (int32_t i = 0; i < table->count; i++)
    g_ptr_array_add(lines, key_line(&table->info[i], &keys[i]));
  dm_sd_keys_free(keys, table->count);
}

static int compare_lines(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compares our lines with the reference's, printing the first
 * differences. */
static void compare(const char *label, GPtrArray *ours, GPtrArray *theirs) {
  g_ptr_array_sort(ours, compare_lines);
  g_ptr_array_sort(theirs, compare_lines);
  int32_t differences = 0;
  for (guint i = 0; i < MAX(ours->len, theirs->len); i++) {
    const char *a = i < ours->len ? ours->pdata[i] : "(none)";
    const char *b = i < theirs->len ? theirs->pdata[i] : "(none)";
    if (strcmp(a, b) == 0) continue;
    if (differences++ < 5)
      fprintf(stderr, "  line %u: ours   %s\n           theirs %s\n", i, a, b);
  }
  DM_CHECK(differences == 0, "%s: %d of %u lines differ", label, differences,
           theirs->len);
  printf("%s %-16s %u tensors\n", differences ? "FAIL" : "ok  ", label,
         theirs->len);
}

static void test_case(const char *name, DmSdVersion version,
                      bool inpainting) {
  char *relative = g_strdup_printf("sd/keys/%s.txt.gz", name);
  char *path = dm_test_data_path(relative);
  GPtrArray *reference = dm_test_read_gz_lines(path);
  GPtrArray *ours = g_ptr_array_new_with_free_func(g_free);
  GError *error = NULL;

  DmClipTextConfig text_config;
  dm_sd_text_config(&text_config, version);
  DmParams text;
  DM_CHECK_OK(dm_clip_text_params_describe(&text, &text_config, &error),
              error);
  add_lines(ours, &text, version == DM_SD_2 ? DM_SD_PART_OPEN_CLIP
                                            : DM_SD_PART_CLIP, NULL);

  DmVaeConfig vae_config;
  dm_vae_config_sd(&vae_config);
  DmVae vae;
  DM_CHECK_OK(dm_vae_describe(&vae, &vae_config, &error), error);
  DmSdBlocks blocks;
  dm_sd_vae_blocks(&blocks, &vae_config);
  add_lines(ours, &vae.weights.table, DM_SD_PART_VAE, &blocks);

  DmUnetCondConfig unet_config;
  dm_sd_unet_config(&unet_config, version, inpainting);
  DmParams unet;
  DM_CHECK_OK(dm_unet_cond_params_describe(&unet, &unet_config, &error),
              error);
  dm_sd_unet_blocks(&blocks, &unet_config);
  add_lines(ours, &unet, DM_SD_PART_UNET, &blocks);

  compare(name, ours, reference);
  dm_params_clear(&unet);
  dm_vae_clear(&vae);
  dm_params_clear(&text);
  g_ptr_array_unref(ours);
  g_ptr_array_unref(reference);
  g_free(path);
  g_free(relative);
}

/* A table entry no rule names is an error naming it. */
static void test_unnamed(void) {
  DmParamsBuilder b;
  dm_params_builder_init(&b);
  const int64_t shape[1] = {4};
  dm_params_add(&b, 1, shape, "add_embedding.linear_1.bias");
  DmParams table;
  GError *error = NULL;
  DM_CHECK_OK(dm_params_builder_finish(&b, &table, &error), error);
  DmUnetCondConfig config;
  dm_sd_unet_config(&config, DM_SD_1, false);
  DmSdBlocks blocks;
  dm_sd_unet_blocks(&blocks, &config);
  DmSdKey *keys = NULL;
  const bool ok = dm_sd_keys_map(&keys, &table, DM_SD_PART_UNET, &blocks,
                                 &error);
  DM_CHECK(!ok && error && strstr(error->message,
                                  "'add_embedding.linear_1.bias'"),
           "unnamed tensor: %s", error ? error->message : "accepted");
  g_clear_error(&error);
  dm_params_clear(&table);
}

int main(void) {
  test_case("sd15_inpainting", DM_SD_1, true);
  test_case("sd2_inpainting", DM_SD_2, true);
  test_case("sd2_v", DM_SD_2, false);
  test_unnamed();
  return dm_test_finish();
}
