/* The CLIP tokenizer against transformers' CLIPTokenizer: the ids of the
 * prompts in tests/data/sd/tokenizer/cases.json (punctuation, accents, CJK,
 * emoji, whitespace, HTML entities, special-token texts, truncation, random
 * mixtures; made by tests/refgen/make_clip.py) under the SD 1.x config (pad
 * "<|endoftext|>") and the SD 2.x one (pad "!"), then the refusal of bad
 * files and prompts. CLIP's vocabulary is not in the repository: the test
 * reads it from DM_CLIP_TOKENIZER_DIR, else from DM_TEST_SHARED
 * (../shared beside the source tree)/clip-tokenizer, and is skipped (77)
 * without it.
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later. */
#include <unistd.h>

#include <glib/gstdio.h>

#include "dm-test.h"
#include "model/clip-tokenizer.h"
#include "model/json.h"

#define SKIP 77

static char *vocab_dir(void) {
  const char *dir = g_getenv("DM_CLIP_TOKENIZER_DIR");
  if (dir) return g_strdup(dir);
  const char *shared = g_getenv("DM_TEST_SHARED");
  return g_build_filename(shared ? shared : "../shared", "clip-tokenizer",
                          NULL);
}

/* A temporary tokenizer folder: links to the vocabulary's two files and
 * the `configs` (name, text pairs, NULL-terminated). */
static char *make_folder(const char *vocab, const char *const *configs) {
  GError *error = NULL;
  char *folder = g_dir_make_tmp("dm-clip-XXXXXX", &error);
  DM_CHECK_OK(folder != NULL, error);
  const char *files[2] = {"vocab.json", "merges.txt"};
  for (int i = 0; i < 2; i++) {
    char *target = g_build_filename(vocab, files[i], NULL);
    char *link = g_build_filename(folder, files[i], NULL);
    DM_CHECK(symlink(target, link) == 0, "cannot link %s", link);
    g_free(target);
    g_free(link);
  }
  for (int i = 0; configs && configs[i]; i += 2) {
    char *path = g_build_filename(folder, configs[i], NULL);
    DM_CHECK_OK(g_file_set_contents(path, configs[i + 1], -1, &error), error);
    g_free(path);
  }
  return folder;
}

static void remove_folder(char *folder) {
  GDir *dir = g_dir_open(folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir)) != NULL) {
    char *path = g_build_filename(folder, name, NULL);
    g_unlink(path);
    g_free(path);
  }
  if (dir) g_dir_close(dir);
  g_rmdir(folder);
  g_free(folder);
}

/* The configs of tests/data/sd/tokenizer/<name> as (name, text) pairs. */
static char **read_configs(const char *name) {
  const char *files[2] = {"tokenizer_config.json", "special_tokens_map.json"};
  char **configs = g_new0(char *, 5);
  for (int i = 0; i < 2; i++) {
    char *relative = g_build_filename("sd", "tokenizer", name, files[i], NULL);
    char *path = dm_test_data_path(relative);
    GError *error = NULL;
    configs[2 * i] = g_strdup(files[i]);
    DM_CHECK_OK(g_file_get_contents(path, &configs[2 * i + 1], NULL, &error),
                error);
    g_free(path);
    g_free(relative);
  }
  return configs;
}

static DmClipTokenizer *load_config(const char *vocab, const char *name) {
  char **configs = read_configs(name);
  char *folder = make_folder(vocab, (const char *const *)configs);
  GError *error = NULL;
  DmClipTokenizer *tokenizer = dm_clip_tokenizer_load(folder, &error);
  DM_CHECK_OK(tokenizer != NULL, error);
  remove_folder(folder);
  g_strfreev(configs);
  return tokenizer;
}

/* Compares one prompt's ids with transformers'; prints the first
 * difference. */
static bool check_prompt(const DmClipTokenizer *tokenizer, const char *name,
                         const char *prompt, JsonArray *want) {
  const int32_t n = dm_clip_tokenizer_max_length(tokenizer);
  int32_t *ids = g_new(int32_t, n);
  GError *error = NULL;
  bool ok = dm_clip_tokenizer_encode(tokenizer, prompt, ids, NULL, &error) &&
            json_array_get_length(want) == (guint)n;
  for (int32_t i = 0; ok && i < n; i++) {
    const int32_t expected = (int32_t)json_array_get_int_element(want, i);
    if (ids[i] != expected) {
      char *shown = g_strescape(prompt, NULL);
      printf("FAIL %s \"%.80s\": id %d is %d, transformers %d\n", name, shown,
             i, ids[i], expected);
      g_free(shown);
      ok = false;
    }
  }
  if (error) printf("FAIL %s: %s\n", name, error->message);
  g_clear_error(&error);
  g_free(ids);
  return ok;
}

static void test_reference_prompts(const char *vocab) {
  DmClipTokenizer *sd1 = load_config(vocab, "sd1");
  DmClipTokenizer *sd2 = load_config(vocab, "sd2");
  char *path = dm_test_data_path("sd/tokenizer/cases.json");
  char *text = NULL;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(path, &text, NULL, &error), error);
  JsonParser *parser = json_parser_new();
  DM_CHECK_OK(json_parser_load_from_data(parser, text, -1, &error), error);
  JsonArray *cases = json_node_get_array(json_parser_get_root(parser));
  int passed[2] = {0, 0};
  const guint count = json_array_get_length(cases);
  for (guint i = 0; i < count; i++) {
    JsonObject *c = json_array_get_object_element(cases, i);
    const char *prompt = json_object_get_string_member(c, "prompt");
    passed[0] += check_prompt(sd1, "sd1", prompt,
                              json_object_get_array_member(c, "sd1"));
    passed[1] += check_prompt(sd2, "sd2", prompt,
                              json_object_get_array_member(c, "sd2"));
  }
  for (int k = 0; k < 2; k++) {
    printf("%s sd%d: %d of %u prompts give transformers' ids\n",
           passed[k] == (int)count ? "ok  " : "FAIL", k + 1, passed[k],
           count);
    if (passed[k] != (int)count) dm_test_failures++;
  }
  g_object_unref(parser);
  g_free(text);
  g_free(path);
  dm_clip_tokenizer_free(sd1);
  dm_clip_tokenizer_free(sd2);
}

/* ---- refusals ------------------------------------------------------------ */

/* The tokenizer `t` must be NULL, with *error containing `expect`
 * (cleared). */
static void expect_refusal(const char *label, DmClipTokenizer *t,
                           GError **error, const char *expect) {
  const char *message = *error ? (*error)->message : "none";
  DM_CHECK(t == NULL && *error && strstr(message, expect),
           "%s: want an error with '%s', got %s", label, expect, message);
  printf("ok   refused: %s: %s\n", label, message);
  dm_clip_tokenizer_free(t);
  g_clear_error(error);
}

/* dm_clip_tokenizer_new on the files with `from` replaced by `to` in one of
 * them must fail with a message containing `expect`. */
static void check_edit_refused(const char *label, const char *vocab_text,
                               const char *merges_text, bool in_vocab,
                               const char *from, const char *to,
                               const char *expect) {
  const char *original = in_vocab ? vocab_text : merges_text;
  const char *at = strstr(original, from);
  DM_CHECK(at != NULL, "%s: '%s' not found", label, from);
  if (!at) return;
  char *edited = g_strdup_printf("%.*s%s%s", (int)(at - original), original,
                                 to, at + strlen(from));
  const char *v = in_vocab ? edited : vocab_text;
  const char *m = in_vocab ? merges_text : edited;
  const DmClipTokenizerConfig config = dm_clip_tokenizer_config_default();
  GError *error = NULL;
  DmClipTokenizer *t =
      dm_clip_tokenizer_new(v, strlen(v), m, strlen(m), &config, &error);
  expect_refusal(label, t, &error, expect);
  g_free(edited);
}

/* dm_clip_tokenizer_load on a folder with `configs` must fail naming
 * `expect`. */
static void check_folder_refused(const char *label, const char *vocab,
                                 const char *const *configs,
                                 const char *expect) {
  char *folder = make_folder(vocab, configs);
  GError *error = NULL;
  expect_refusal(label, dm_clip_tokenizer_load(folder, &error), &error,
                 expect);
  remove_folder(folder);
}

static void test_refusals(const char *vocab) {
  char *vocab_path = g_build_filename(vocab, "vocab.json", NULL);
  char *merges_path = g_build_filename(vocab, "merges.txt", NULL);
  char *v = NULL, *m = NULL;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(vocab_path, &v, NULL, &error), error);
  DM_CHECK_OK(g_file_get_contents(merges_path, &m, NULL, &error), error);
  check_edit_refused("a byte symbol missing", v, m, true, "{\"!\": 0, ",
                     "{", "byte 0x21");
  check_edit_refused("an id taken twice", v, m, true, "\"\\\"\": 1,",
                     "\"\\\"\": 0,", "already taken");
  check_edit_refused("an id out of range", v, m, true, "\"\\\"\": 1,",
                     "\"\\\"\": -5,", "out of range");
  check_edit_refused("a merge of unknown tokens", v, m, false, "\ni n\n",
                     "\ni nowhere-token\n", "merges.txt line 2");
  check_edit_refused("a merge of three tokens", v, m, false, "\ni n\n",
                     "\ni n x\n", "merges.txt line 2");
  check_edit_refused("a repeated merge", v, m, false, "\nt h\n", "\ni n\n",
                     "repeated pair");
  check_edit_refused("a duplicate key", v, m, true, "{\"!\": 0, ",
                     "{\"!\": 0, \"!\": 0, ", "vocab.json");
  const DmClipTokenizerConfig config = dm_clip_tokenizer_config_default();
  char *huge = g_malloc0(DM_CLIP_MAX_VOCAB_BYTES + 2);
  expect_refusal("an over-long vocab.json",
                 dm_clip_tokenizer_new(huge, DM_CLIP_MAX_VOCAB_BYTES + 1, m,
                                       strlen(m), &config, &error),
                 &error, "over 16 MiB");
  g_free(huge);
  DmClipTokenizerConfig no_pad = config;
  no_pad.pad = "<|padding|>";
  expect_refusal("a pad token outside the vocabulary",
                 dm_clip_tokenizer_new(v, strlen(v), m, strlen(m), &no_pad,
                                       &error),
                 &error, "pad_token '<|padding|>'");

  const char *lstrip[] = {"special_tokens_map.json",
                          "{\"pad_token\": {\"content\": \"!\", \"lstrip\": "
                          "true}}", NULL};
  check_folder_refused("lstrip", vocab, lstrip, "pad_token.lstrip");
  const char *added[] = {"added_tokens.json", "{\"<cat-toy>\": 49408}", NULL};
  check_folder_refused("added_tokens.json", vocab, added, "added tokens");
  const char *decoder[] = {"tokenizer_config.json",
                           "{\"added_tokens_decoder\": {\"49408\": "
                           "{\"content\": \"<cat-toy>\"}}}", NULL};
  check_folder_refused("an added word", vocab, decoder, "<cat-toy>");
  const char *length[] = {"tokenizer_config.json",
                          "{\"model_max_length\": "
                          "1000000000000000019884624838656}",
                          NULL};
  check_folder_refused("an unbounded length", vocab, length,
                       "model_max_length");
  const char *short_length[] = {"tokenizer_config.json",
                                "{\"model_max_length\": 1}", NULL};
  check_folder_refused("a length of 1", vocab, short_length,
                       "model_max_length");
  g_free(v);
  g_free(m);
  g_free(vocab_path);
  g_free(merges_path);
}

/* Without merges (an empty merges.txt, or its header alone) every byte is
 * a token. */
static void test_no_merges(const char *vocab) {
  char *path = g_build_filename(vocab, "vocab.json", NULL);
  char *v = NULL;
  GError *error = NULL;
  DM_CHECK_OK(g_file_get_contents(path, &v, NULL, &error), error);
  const DmClipTokenizerConfig config = dm_clip_tokenizer_config_default();
  const char *merges[2] = {"", "#version: 0.2\n"};
  for (int i = 0; i < 2; i++) {
    DmClipTokenizer *t = dm_clip_tokenizer_new(v, strlen(v), merges[i],
                                               strlen(merges[i]), &config,
                                               &error);
    DM_CHECK_OK(t != NULL, error);
    int32_t ids[77], length = 0;
    DM_CHECK_OK(dm_clip_tokenizer_encode(t, "ab c", ids, &length, &error),
                error);
    /* a, b</w>, c</w> */
    DM_CHECK(length == 5 && ids[1] == 64 && ids[2] == 321 && ids[3] == 322,
             "merges '%s': got length %d, ids %d %d %d", merges[i], length,
             ids[1], ids[2], ids[3]);
    dm_clip_tokenizer_free(t);
  }
  printf("ok   no merges: bytes as tokens\n");
  g_free(v);
  g_free(path);
}

/* Invalid UTF-8 is refused; a length of 2 leaves bos and eos. */
static void test_prompt_edges(const char *vocab) {
  const char *two[] = {"tokenizer_config.json", "{\"model_max_length\": 2}",
                       NULL};
  char *folder = make_folder(vocab, two);
  GError *error = NULL;
  DmClipTokenizer *t = dm_clip_tokenizer_load(folder, &error);
  DM_CHECK_OK(t != NULL, error);
  int32_t ids[2], length = 0;
  DM_CHECK(dm_clip_tokenizer_encode(t, "a long prompt", ids, &length, &error) &&
               ids[0] == 49406 && ids[1] == 49407 && length == 2,
           "model_max_length 2: got %d %d (length %d)", ids[0], ids[1],
           length);
  DM_CHECK(!dm_clip_tokenizer_encode(t, "bad \xff byte", ids, NULL, &error) &&
               error && error->code == DM_ERROR_INVALID_ARGUMENT,
           "a prompt that is not UTF-8 was accepted");
  g_clear_error(&error);
  dm_clip_tokenizer_free(t);
  remove_folder(folder);
}

int main(void) {
  char *vocab = vocab_dir();
  char *file = g_build_filename(vocab, "vocab.json", NULL);
  if (!g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
    printf("SKIP: no CLIP vocabulary at %s (set DM_CLIP_TOKENIZER_DIR to a "
           "folder with CLIP's vocab.json and merges.txt)\n", vocab);
    return SKIP;
  }
  g_free(file);
  test_reference_prompts(vocab);
  test_refusals(vocab);
  test_no_merges(vocab);
  test_prompt_edges(vocab);
  g_free(vocab);
  return dm_test_finish();
}
