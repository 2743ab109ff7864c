/* gimp-diffusion core: CLIP's byte-level BPE tokenizer (clip-tokenizer.h).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * Symbols are vocabulary ids throughout: a merge is a pair of ids with a
 * rank and the id of the concatenation, checked at load, so that the
 * byte-pair loop never builds a string. */
#include <stdlib.h>
#include <string.h>

#include "model/clip-tokenizer.h"
#include "model/files.h"
#include "model/json.h"

/* The whole-run special tokens of CLIPTokenizer's pattern and cache. */
static const char *const RUN_TOKENS[2] = {"<|startoftext|>", "<|endoftext|>"};

/* A merge: (left, right) -> the id of left + right, by rank. */
typedef struct {
  uint64_t key; /* (left << 32 | right) + 1; 0: an empty slot */
  int32_t rank, merged;
} MergeSlot;

/* Open addressing, linear probing, at most half full. */
typedef struct {
  MergeSlot *slots;
  size_t mask;
} MergeTable;

struct DmClipTokenizer {
  GHashTable *vocab; /* token text (owned) -> GINT_TO_POINTER(id + 1) */
  MergeTable merges;
  int32_t byte_ids[256];     /* a byte's symbol inside a word */
  int32_t byte_end_ids[256]; /* the same ending a word: "...</w>" */
  int32_t run_ids[2];        /* RUN_TOKENS[k] as a run, or unk */
  char *added[4];            /* special texts split out first, longest first */
  int32_t added_ids[4], n_added;
  int32_t bos, eos, pad, unk;
  int32_t max_length;
};

DmClipTokenizerConfig dm_clip_tokenizer_config_default(void) {
  return (DmClipTokenizerConfig){RUN_TOKENS[0], RUN_TOKENS[1], RUN_TOKENS[1],
                                 RUN_TOKENS[1], 77};
}

/* ---- vocabulary and merges ---------------------------------------------- */

/* The id of `text`, or -1. */
static int32_t vocab_id(const DmClipTokenizer *t, const char *text) {
  return GPOINTER_TO_INT(g_hash_table_lookup(t->vocab, text)) - 1;
}

static uint64_t merge_key(int32_t left, int32_t right) {
  return ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1;
}

static size_t merge_slot(const MergeTable *table, uint64_t key) {
  size_t i = (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
             table->mask;
  while (table->slots[i].key != 0 && table->slots[i].key != key)
    i = (i + 1) & table->mask;
  return i;
}

/* The merge of (left, right), or NULL. */
static const MergeSlot *merge_find(const MergeTable *table, int32_t left,
                                   int32_t right) {
  const MergeSlot *slot =
      &table->slots[merge_slot(table, merge_key(left, right))];
  return slot->key != 0 ? slot : NULL;
}

/* vocab.json: an object of token text -> id, ids unique and below
 * DM_CLIP_MAX_TOKENS. */
static bool read_vocab(DmClipTokenizer *t, const char *text, size_t length,
                       GError **error) {
  JsonParser *parser = dm_json_parse_object(text, (gssize)length,
                                            "vocab.json", error);
  if (!parser) return false;
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  bool ok = json_object_get_size(object) <= DM_CLIP_MAX_TOKENS;
  if (!ok)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "vocab.json: more than %d tokens", DM_CLIP_MAX_TOKENS);
  bool *seen = g_new0(bool, DM_CLIP_MAX_TOKENS);
  JsonObjectIter iter;
  const char *token;
  JsonNode *node;
  json_object_iter_init(&iter, object);
  while (ok && json_object_iter_next(&iter, &token, &node)) {
    int32_t id = -1;
    ok = dm_json_to_int(node, "vocab.json", token, false, &id, error);
    if (ok && (id < 0 || id >= DM_CLIP_MAX_TOKENS || seen[id] ||
               !*token || strlen(token) > DM_CLIP_MAX_TOKEN_BYTES)) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "vocab.json: token '%.64s' has an empty or over-long text "
                  "or an id (%d) out of range or already taken", token, id);
      ok = false;
    }
    if (!ok) break;
    seen[id] = true;
    g_hash_table_insert(t->vocab, g_strdup(token), GINT_TO_POINTER(id + 1));
  }
  g_free(seen);
  g_object_unref(parser);
  return ok;
}

/* GPT-2's byte alphabet: the printable bytes stand for themselves, the
 * others (spaces, controls) for 256 + n in byte order. */
static gunichar byte_symbol(int byte) {
  int n = 0;
  for (int b = 0; b < byte; b++)
    n += !((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE);
  const bool printable = (byte >= '!' && byte <= '~') ||
                         (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
  return printable ? (gunichar)byte : (gunichar)(256 + n);
}

/* The ids of every byte's symbol, alone and ending a word. */
static bool read_byte_ids(DmClipTokenizer *t, GError **error) {
  for (int b = 0; b < 256; b++) {
    char symbol[16];
    const int n = g_unichar_to_utf8(byte_symbol(b), symbol);
    strcpy(symbol + n, "</w>");
    t->byte_end_ids[b] = vocab_id(t, symbol);
    symbol[n] = '\0';
    t->byte_ids[b] = vocab_id(t, symbol);
    if (t->byte_ids[b] < 0 || t->byte_end_ids[b] < 0) {
      g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                  "vocab.json lacks the symbol of byte 0x%02x ('%s' or "
                  "'%s</w>')", b, symbol, symbol);
      return false;
    }
  }
  return true;
}

/* One line of merges.txt, rank `rank`: two tokens whose concatenation is
 * a token too, a pair not seen before. */
static bool add_merge(DmClipTokenizer *t, const char *line, int32_t rank,
                      GError **error) {
  char **parts = g_strsplit_set(line, " \t\r\v\f", -1);
  char *words[3] = {NULL, NULL, NULL};
  int n = 0;
  for (char **p = parts; *p; p++)
    if (**p && n < 3) words[n++] = *p;
  char *joined = n == 2 ? g_strconcat(words[0], words[1], NULL) : NULL;
  const int32_t left = n == 2 ? vocab_id(t, words[0]) : -1;
  const int32_t right = n == 2 ? vocab_id(t, words[1]) : -1;
  const int32_t merged = n == 2 ? vocab_id(t, joined) : -1;
  size_t slot = 0;
  bool ok = left >= 0 && right >= 0 && merged >= 0;
  if (ok) {
    slot = merge_slot(&t->merges, merge_key(left, right));
    ok = t->merges.slots[slot].key == 0;
  }
  if (ok)
    t->merges.slots[slot] = (MergeSlot){merge_key(left, right), rank, merged};
  else
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "merges.txt line %d ('%.128s'): not two tokens of vocab.json "
                "whose concatenation is one, or a repeated pair", rank + 2,
                line);
  g_free(joined);
  g_strfreev(parts);
  return ok;
}

/* merges.txt: as CLIPTokenizer reads it, the text stripped, its first
 * line (the "#version" header) skipped, the next DM_CLIP_MAX_MERGES lines
 * ranked in order. */
static bool read_merges(DmClipTokenizer *t, const char *text, size_t length,
                        GError **error) {
  char *copy = g_strndup(text, length);
  char **lines = g_strsplit(g_strstrip(copy), "\n", DM_CLIP_MAX_MERGES + 2);
  const guint lines_count = g_strv_length(lines);
  const guint count = lines_count ? MIN(lines_count - 1, DM_CLIP_MAX_MERGES)
                                  : 0;
  size_t capacity = 16;
  while (capacity < 2 * (size_t)count) capacity *= 2;
  t->merges = (MergeTable){g_new0(MergeSlot, capacity), capacity - 1};
  bool ok = true;
  for (guint i = 0; ok && i < count; i++)
    ok = add_merge(t, lines[i + 1], (int32_t)i, error);
  g_strfreev(lines);
  g_free(copy);
  return ok;
}

/* The id of special token `text` (`field` names it), or -1 with the
 * error. */
static int32_t special_id(const DmClipTokenizer *t, const char *field,
                          const char *text, GError **error) {
  const int32_t id = text ? vocab_id(t, text) : -1;
  if (id < 0)
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "%s '%s' is not in vocab.json", field, text ? text : "(null)");
  return id;
}

/* The special tokens' ids, and their texts to split out, longest first. */
static bool read_specials(DmClipTokenizer *t,
                          const DmClipTokenizerConfig *config,
                          GError **error) {
  const char *texts[4] = {config->bos, config->eos, config->unk, config->pad};
  int32_t *ids[4] = {&t->bos, &t->eos, &t->unk, &t->pad};
  static const char *const fields[4] = {"bos_token", "eos_token", "unk_token",
                                        "pad_token"};
  for (int k = 0; k < 4; k++) {
    if ((*ids[k] = special_id(t, fields[k], texts[k], error)) < 0)
      return false;
    bool known = false;
    for (int j = 0; j < t->n_added; j++)
      known |= strcmp(t->added[j], texts[k]) == 0;
    if (known) continue;
    int j = t->n_added++;
    for (; j > 0 && strlen(t->added[j - 1]) < strlen(texts[k]); j--) {
      t->added[j] = t->added[j - 1];
      t->added_ids[j] = t->added_ids[j - 1];
    }
    t->added[j] = g_strdup(texts[k]);
    t->added_ids[j] = *ids[k];
  }
  for (int k = 0; k < 2; k++) {
    t->run_ids[k] = vocab_id(t, RUN_TOKENS[k]);
    if (t->run_ids[k] < 0) t->run_ids[k] = t->unk;
  }
  return true;
}

DmClipTokenizer *dm_clip_tokenizer_new(const char *vocab_json,
                                       size_t vocab_length,
                                       const char *merges_text,
                                       size_t merges_length,
                                       const DmClipTokenizerConfig *config,
                                       GError **error) {
  if (vocab_length > DM_CLIP_MAX_VOCAB_BYTES ||
      merges_length > DM_CLIP_MAX_MERGES_BYTES ||
      !g_utf8_validate(merges_text, (gssize)merges_length, NULL)) {
    g_set_error(error, DM_ERROR, DM_ERROR_FORMAT,
                "vocab.json (%zu bytes) or merges.txt (%zu bytes) is over "
                "%d MiB, or merges.txt is not UTF-8", vocab_length,
                merges_length, DM_CLIP_MAX_VOCAB_BYTES >> 20);
    return NULL;
  }
  if (config->max_length < 2 || config->max_length > DM_CLIP_MAX_LENGTH) {
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "model_max_length = %d is not supported (2 to %d)",
                config->max_length, DM_CLIP_MAX_LENGTH);
    return NULL;
  }
  DmClipTokenizer *t = g_new0(DmClipTokenizer, 1);
  t->vocab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  t->max_length = config->max_length;
  if (!read_vocab(t, vocab_json, vocab_length, error) ||
      !read_byte_ids(t, error) ||
      !read_merges(t, merges_text, merges_length, error) ||
      !read_specials(t, config, error))
    g_clear_pointer(&t, dm_clip_tokenizer_free);
  return t;
}

void dm_clip_tokenizer_free(DmClipTokenizer *t) {
  if (!t) return;
  g_hash_table_destroy(t->vocab);
  g_free(t->merges.slots);
  for (int k = 0; k < t->n_added; k++) g_free(t->added[k]);
  g_free(t);
}

int32_t dm_clip_tokenizer_max_length(const DmClipTokenizer *t) {
  return t->max_length;
}

/* ---- encoding: clean-up ------------------------------------------------- */

/* The ids found so far, up to `limit` (max_length - 2). */
typedef struct {
  int32_t *ids;
  int32_t count, limit;
} TokenList;

static void push(TokenList *list, int32_t id) {
  if (list->count < list->limit) list->ids[list->count++] = id;
}

static bool full(const TokenList *list) { return list->count >= list->limit; }

/* transformers' _is_control: categories C*, but tab, LF and CR. */
static bool is_control(gunichar c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (g_unichar_type(c)) {
  case G_UNICODE_CONTROL:
  case G_UNICODE_FORMAT:
  case G_UNICODE_UNASSIGNED:
  case G_UNICODE_PRIVATE_USE:
  case G_UNICODE_SURROGATE:
    return true;
  default:
    return false;
  }
}

/* transformers' _is_whitespace: space, tab, LF, CR and category Zs. */
static bool is_whitespace(gunichar c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         g_unichar_type(c) == G_UNICODE_SPACE_SEPARATOR;
}

/* BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks. */
static bool is_cjk(gunichar c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BasicTokenizer's _clean_text and _tokenize_chinese_chars, then NFC: a
 * newly allocated UCS-4 string of *count characters. */
static gunichar *clean_text(const char *text, size_t length, glong *count) {
  glong n = 0;
  gunichar *in = g_utf8_to_ucs4_fast(text, (glong)length, &n);
  gunichar *out = g_new(gunichar, 3 * (size_t)n + 1);
  glong m = 0;
  for (glong i = 0; i < n; i++) {
    const gunichar c = in[i];
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      out[m++] = ' ';
    } else if (is_cjk(c)) {
      out[m++] = ' ';
      out[m++] = c;
      out[m++] = ' ';
    } else {
      out[m++] = c;
    }
  }
  char *utf8 = g_ucs4_to_utf8(out, m, NULL, NULL, NULL);
  char *nfc = g_utf8_normalize(utf8, -1, G_NORMALIZE_NFC);
  gunichar *result = g_utf8_to_ucs4_fast(nfc, -1, count);
  g_free(nfc);
  g_free(utf8);
  g_free(out);
  g_free(in);
  return result;
}

/* Unicode's Cased: the categories Lu, Ll and Lt, and the characters with
 * Other_Lowercase or Other_Uppercase that are not also case-ignorable
 * (the others are skipped before this question is asked). */
static bool is_cased(gunichar c) {
  const GUnicodeType type = g_unichar_type(c);
  return type == G_UNICODE_UPPERCASE_LETTER ||
         type == G_UNICODE_LOWERCASE_LETTER ||
         type == G_UNICODE_TITLECASE_LETTER || c == 0xAA || c == 0xBA ||
         (c >= 0x2160 && c <= 0x217F) || (c >= 0x24B6 && c <= 0x24E9) ||
         (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
         (c >= 0x1F170 && c <= 0x1F189);
}

/* Unicode's Case_Ignorable: categories Mn, Me, Cf, Lm, Sk and the word
 * break classes MidLetter, MidNumLet and Single_Quote. */
static bool is_case_ignorable(gunichar c) {
  static const gunichar mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,
                                 0x55F,  0x5F4,  0x2018, 0x2019, 0x2024,
                                 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07,
                                 0xFF0E, 0xFF1A};
  switch (g_unichar_type(c)) {
  case G_UNICODE_NON_SPACING_MARK:
  case G_UNICODE_ENCLOSING_MARK:
  case G_UNICODE_FORMAT:
  case G_UNICODE_MODIFIER_LETTER:
  case G_UNICODE_MODIFIER_SYMBOL:
    return true;
  default:
    for (size_t i = 0; i < G_N_ELEMENTS(mid); i++)
      if (c == mid[i]) return true;
    return false;
  }
}

/* Whether the capital sigma at word[i] is final (Unicode's Final_Sigma,
 * as Python applies it): a cased letter before it and none after it,
 * case-ignorable characters skipped. */
static bool final_sigma(const gunichar *word, glong length, glong i) {
  glong j = i - 1;
  while (j >= 0 && is_case_ignorable(word[j])) j--;
  if (j < 0 || !is_cased(word[j])) return false;
  j = i + 1;
  while (j < length && is_case_ignorable(word[j])) j++;
  return j == length || !is_cased(word[j]);
}

/* Python's lower case of c where it is one character: the simple case
 * mapping, which GLib applies to Lu and Lt only, so also to the Roman
 * numerals (Nl) and circled letters (So) that have one. */
static gunichar lower_char(gunichar c) {
  if (c >= 0x2160 && c <= 0x216F) return c + 0x10;
  if (c >= 0x24B6 && c <= 0x24CF) return c + 0x1A;
  return g_unichar_tolower(c);
}

/* out += Python's str.lower() of word (length): at most 2 per character. */
static glong lower_word(gunichar *out, const gunichar *word, glong length) {
  glong m = 0;
  for (glong i = 0; i < length; i++) {
    if (word[i] == 0x130) { /* SpecialCasing: I with dot above */
      out[m++] = 'i';
      out[m++] = 0x307;
    } else if (word[i] == 0x3A3) {
      out[m++] = final_sigma(word, length, i) ? 0x3C2 : 0x3C3;
    } else {
      out[m++] = lower_char(word[i]);
    }
  }
  return m;
}

/* The cleaned text's words, lower-cased and joined by single spaces
 * (whitespace_tokenize, str.lower, " ".join): *count characters. */
static gunichar *lower_words(const gunichar *text, glong n, glong *count) {
  gunichar *out = g_new(gunichar, 2 * (size_t)n + 1);
  glong m = 0;
  for (glong i = 0; i < n;) {
    if (g_unichar_isspace(text[i])) {
      i++;
      continue;
    }
    glong end = i;
    while (end < n && !g_unichar_isspace(text[end])) end++;
    if (m > 0) out[m++] = ' ';
    m += lower_word(out + m, text + i, end - i);
    i = end;
  }
  *count = m;
  return out;
}

/* ---- encoding: pre-tokenisation and byte-pair merges --------------------- */

static bool is_letter(gunichar c) {
  switch (g_unichar_type(c)) {
  case G_UNICODE_UPPERCASE_LETTER:
  case G_UNICODE_LOWERCASE_LETTER:
  case G_UNICODE_TITLECASE_LETTER:
  case G_UNICODE_MODIFIER_LETTER:
  case G_UNICODE_OTHER_LETTER:
    return true;
  default:
    return false;
  }
}

static bool is_number(gunichar c) {
  const GUnicodeType type = g_unichar_type(c);
  return type == G_UNICODE_DECIMAL_NUMBER ||
         type == G_UNICODE_LETTER_NUMBER || type == G_UNICODE_OTHER_NUMBER;
}

/* Whether s[0 .. n) starts with the ASCII `word`, case-insensitively as
 * the regex module folds it (long s U+017F matches 's'). */
static bool starts_with(const gunichar *s, glong n, const char *word) {
  glong i = 0;
  for (; word[i]; i++) {
    if (i >= n) return false;
    gunichar c = s[i] == 0x17F ? 's' : s[i];
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c != (gunichar)word[i]) return false;
  }
  return true;
}

/* The length of the pattern's match at s[0 .. n), 0 for a space (no
 * match): its alternatives in order, leftmost-first. */
static glong match_length(const gunichar *s, glong n) {
  static const char *const fixed[] = {"<|startoftext|>", "<|endoftext|>",
                                      "'s", "'t", "'re", "'ve", "'m", "'ll",
                                      "'d"};
  for (size_t k = 0; k < G_N_ELEMENTS(fixed); k++)
    if (starts_with(s, n, fixed[k])) return (glong)strlen(fixed[k]);
  glong i = 1;
  if (is_letter(s[0])) {
    while (i < n && is_letter(s[i])) i++;
    return i;
  }
  if (is_number(s[0])) return 1;
  if (g_unichar_isspace(s[0])) return 0;
  while (i < n && !g_unichar_isspace(s[i]) && !is_letter(s[i]) &&
         !is_number(s[i]))
    i++;
  return i;
}

/* Pushes the BPE tokens of one run of `length` bytes. */
static void encode_run(const DmClipTokenizer *t, const char *bytes,
                       size_t length, TokenList *list) {
  for (int k = 0; k < 2; k++)
    if (length == strlen(RUN_TOKENS[k]) &&
        !memcmp(bytes, RUN_TOKENS[k], length)) {
      push(list, t->run_ids[k]);
      return;
    }
  int32_t *symbols = g_new(int32_t, length);
  size_t count = length;
  for (size_t i = 0; i < length; i++)
    symbols[i] = (i + 1 < length ? t->byte_ids
                                 : t->byte_end_ids)[(uint8_t)bytes[i]];
  while (count > 1) {
    const MergeSlot *best = NULL;
    for (size_t i = 0; i + 1 < count; i++) {
      const MergeSlot *slot = merge_find(&t->merges, symbols[i],
                                         symbols[i + 1]);
      if (slot && (!best || slot->rank < best->rank)) best = slot;
    }
    if (!best) break;
    /* every occurrence of the pair, left to right */
    const uint64_t pair = best->key - 1;
    size_t out = 0;
    for (size_t i = 0; i < count; out++) {
      const bool match = i + 1 < count &&
                         merge_key(symbols[i], symbols[i + 1]) - 1 == pair;
      symbols[out] = match ? best->merged : symbols[i];
      i += match ? 2 : 1;
    }
    count = out;
  }
  for (size_t i = 0; i < count; i++) push(list, symbols[i]);
  g_free(symbols);
}

/* Pushes the tokens of a piece of the prompt between special tokens. */
static void encode_piece(const DmClipTokenizer *t, const char *text,
                         size_t length, TokenList *list) {
  glong cleaned_count = 0, count = 0;
  gunichar *cleaned = clean_text(text, length, &cleaned_count);
  gunichar *words = lower_words(cleaned, cleaned_count, &count);
  for (glong i = 0; i < count && !full(list);) {
    const glong run = match_length(words + i, count - i);
    if (run == 0) {
      i++;
      continue;
    }
    glong bytes = 0;
    char *utf8 = g_ucs4_to_utf8(words + i, run, NULL, &bytes, NULL);
    encode_run(t, utf8, (size_t)bytes, list);
    g_free(utf8);
    i += run;
  }
  g_free(words);
  g_free(cleaned);
}

/* The special token whose text starts at `text`, or -1. */
static int added_at(const DmClipTokenizer *t, const char *text) {
  for (int k = 0; k < t->n_added; k++)
    if (g_str_has_prefix(text, t->added[k])) return k;
  return -1;
}

bool dm_clip_tokenizer_encode(const DmClipTokenizer *t, const char *text,
                              int32_t *ids, int32_t *length, GError **error) {
  if (!g_utf8_validate(text, -1, NULL)) {
    g_set_error(error, DM_ERROR, DM_ERROR_INVALID_ARGUMENT,
                "the prompt is not valid UTF-8");
    return false;
  }
  TokenList list = {ids + 1, 0, t->max_length - 2};
  const char *piece = text;
  for (const char *p = text; *p && !full(&list);) {
    const int k = added_at(t, p);
    if (k < 0) {
      p++;
      continue;
    }
    encode_piece(t, piece, (size_t)(p - piece), &list);
    push(&list, t->added_ids[k]);
    p += strlen(t->added[k]);
    piece = p;
  }
  if (!full(&list)) encode_piece(t, piece, strlen(piece), &list);
  ids[0] = t->bos;
  ids[list.count + 1] = t->eos;
  for (int32_t i = list.count + 2; i < t->max_length; i++) ids[i] = t->pad;
  if (length) *length = list.count + 2;
  return true;
}

/* ---- a tokenizer folder -------------------------------------------------- */

/* What a folder's configs say (texts owned; NULL: the default). */
typedef struct {
  char *texts[4]; /* bos, eos, unk, pad */
  int32_t max_length;
  GHashTable *decoder; /* added_tokens_decoder: id text -> content (owned) */
} FolderConfig;

static const char *const TOKEN_FIELDS[4] = {"bos_token", "eos_token",
                                            "unk_token", "pad_token"};

/* Refuses an AddedToken flag we do not implement. */
static bool check_token_flags(JsonObject *token, const char *label,
                              const char *field, GError **error) {
  static const char *const flags[] = {"lstrip", "rstrip", "single_word"};
  for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
    char *name = g_strdup_printf("%s.%s", field, flags[i]);
    bool on = false;
    bool ok = dm_json_read_bool(token, label, flags[i], &on, error);
    if (ok && on)
      ok = dm_json_unsupported(json_object_get_member(token, flags[i]), label,
                               name, NULL, error);
    g_free(name);
    if (!ok) return false;
  }
  return true;
}

/* A token's text: a string, or an AddedToken object's "content". */
static bool read_token_text(JsonNode *node, const char *label,
                            const char *field, char **text, GError **error) {
  JsonNode *content = node;
  if (JSON_NODE_HOLDS_OBJECT(node)) {
    JsonObject *token = json_node_get_object(node);
    if (!check_token_flags(token, label, field, error)) return false;
    content = json_object_get_member(token, "content");
  }
  if (!content || !JSON_NODE_HOLDS_VALUE(content) ||
      json_node_get_value_type(content) != G_TYPE_STRING)
    return dm_json_type_error(node, label, field,
                              "a string or an object with a \"content\" "
                              "string", error);
  g_free(*text);
  *text = g_strdup(json_node_get_string(content));
  return true;
}

/* added_tokens_decoder: id -> token; kept to check against the vocabulary
 * once the special tokens are known. */
static bool read_decoder(JsonObject *object, const char *label,
                         FolderConfig *config, GError **error) {
  JsonNode *node = json_object_get_member(object, "added_tokens_decoder");
  if (!node || JSON_NODE_HOLDS_NULL(node)) return true;
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return dm_json_type_error(node, label, "added_tokens_decoder",
                              "an object", error);
  JsonObjectIter iter;
  const char *id;
  JsonNode *token;
  json_object_iter_init(&iter, json_node_get_object(node));
  while (json_object_iter_next(&iter, &id, &token)) {
    char *text = NULL;
    if (!read_token_text(token, label, "added_tokens_decoder", &text, error))
      return false;
    g_hash_table_insert(config->decoder, g_strdup(id), text);
  }
  return true;
}

/* tokenizer_config.json or special_tokens_map.json, when the folder has
 * it: the special tokens (overriding what an earlier file said), and
 * from the former model_max_length and added_tokens_decoder. */
static bool read_config_file(const char *folder, const char *name,
                             FolderConfig *config, GError **error) {
  char *path = g_build_filename(folder, name, NULL);
  GError *missing_or_bad = NULL;
  char *text = dm_read_text_file(path, DM_MAX_CONFIG_BYTES, true,
                                 &missing_or_bad);
  JsonParser *parser = text ? dm_json_parse_object(text, -1, path, error)
                            : NULL;
  bool ok = parser != NULL || (!text && !missing_or_bad);
  if (missing_or_bad) g_propagate_error(error, missing_or_bad);
  JsonObject *object =
      parser ? json_node_get_object(json_parser_get_root(parser)) : NULL;
  for (int k = 0; object && ok && k < 4; k++) {
    JsonNode *node = json_object_get_member(object, TOKEN_FIELDS[k]);
    if (node && !JSON_NODE_HOLDS_NULL(node))
      ok = read_token_text(node, path, TOKEN_FIELDS[k], &config->texts[k],
                           error);
  }
  if (object && ok && strcmp(name, "tokenizer_config.json") == 0)
    ok = dm_json_read_int(object, path, "model_max_length", false,
                          &config->max_length, error) &&
         read_decoder(object, path, config, error);
  g_clear_object(&parser);
  g_free(text);
  g_free(path);
  return ok;
}

/* Every added token must be a special token at its vocabulary id: others
 * (textual inversion's words) would need embeddings we do not load. */
static bool check_decoder(const DmClipTokenizer *t,
                          const FolderConfig *config, const char *folder,
                          GError **error) {
  GHashTableIter iter;
  gpointer id, text;
  g_hash_table_iter_init(&iter, config->decoder);
  while (g_hash_table_iter_next(&iter, &id, &text)) {
    bool special = false;
    for (int k = 0; k < t->n_added; k++)
      special |= strcmp(t->added[k], text) == 0;
    char *end = NULL;
    const long value = strtol(id, &end, 10);
    if (!special || *end || value != vocab_id(t, text)) {
      g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                  "%s: added token %s '%s' is not a special token at its "
                  "vocabulary id (added words are not supported)", folder,
                  (const char *)id, (const char *)text);
      return false;
    }
  }
  return true;
}

static char *read_folder_file(const char *folder, const char *name,
                              size_t limit, GError **error) {
  char *path = g_build_filename(folder, name, NULL);
  char *text = dm_read_text_file(path, limit, false, error);
  g_free(path);
  return text;
}

DmClipTokenizer *dm_clip_tokenizer_load(const char *folder, GError **error) {
  FolderConfig config = {
      .max_length = 77,
      .decoder = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       g_free)};
  char *added = g_build_filename(folder, "added_tokens.json", NULL);
  char *vocab = NULL, *merges = NULL;
  DmClipTokenizer *t = NULL;
  if (g_file_test(added, G_FILE_TEST_EXISTS))
    g_set_error(error, DM_ERROR, DM_ERROR_UNSUPPORTED,
                "%s: added tokens are not supported", added);
  else if (read_config_file(folder, "tokenizer_config.json", &config,
                            error) &&
           read_config_file(folder, "special_tokens_map.json", &config,
                            error) &&
           (vocab = read_folder_file(folder, "vocab.json",
                                     DM_CLIP_MAX_VOCAB_BYTES, error)) &&
           (merges = read_folder_file(folder, "merges.txt",
                                      DM_CLIP_MAX_MERGES_BYTES, error))) {
    DmClipTokenizerConfig settings = dm_clip_tokenizer_config_default();
    const char **texts[4] = {&settings.bos, &settings.eos, &settings.unk,
                             &settings.pad};
    for (int k = 0; k < 4; k++)
      if (config.texts[k]) *texts[k] = config.texts[k];
    settings.max_length = config.max_length;
    t = dm_clip_tokenizer_new(vocab, strlen(vocab), merges, strlen(merges),
                              &settings, error);
    if (!t) g_prefix_error(error, "%s: ", folder);
    if (t && !check_decoder(t, &config, folder, error))
      g_clear_pointer(&t, dm_clip_tokenizer_free);
  }
  for (int k = 0; k < 4; k++) g_free(config.texts[k]);
  g_hash_table_destroy(config.decoder);
  g_free(added);
  g_free(vocab);
  g_free(merges);
  return t;
}

DmClipTokenizer *dm_clip_tokenizer_load_vocabulary(
    const char *folder, const DmClipTokenizerConfig *config, GError **error) {
  char *vocab = read_folder_file(folder, "vocab.json",
                                 DM_CLIP_MAX_VOCAB_BYTES, error);
  char *merges = vocab ? read_folder_file(folder, "merges.txt",
                                          DM_CLIP_MAX_MERGES_BYTES, error)
                       : NULL;
  DmClipTokenizer *t = merges ? dm_clip_tokenizer_new(vocab, strlen(vocab),
                                                      merges, strlen(merges),
                                                      config, error)
                              : NULL;
  if (merges && !t) g_prefix_error(error, "%s: ", folder);
  g_free(vocab);
  g_free(merges);
  return t;
}
