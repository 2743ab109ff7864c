/* gimp-diffusion core: CLIP's byte-level BPE tokenizer, as transformers'
 * CLIPTokenizer encodes a prompt for Stable Diffusion 1.x/2.x (internal).
 * Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
 *
 * What it reproduces: CLIPTokenizer (the Python one, tokenization_clip.py)
 * without the optional ftfy package, called as diffusers' pipelines call it
 * (padding="max_length", truncation=True):
 *  1. The text is split at every occurrence of a special token's text
 *     (bos, eos, unk, pad: "<|startoftext|>", "<|endoftext|>", and "!"
 *     where the pad token is "!"), leftmost and longest first; those
 *     become their ids.
 *  2. Each piece in between is cleaned as BasicTokenizer(strip_accents=
 *     False, do_split_on_punc=False) does: U+0000, U+FFFD and control
 *     characters (categories C*, but tab, CR and LF) removed; tab, CR, LF
 *     and space separators (Zs) become spaces; spaces around CJK
 *     ideographs; NFC; split at whitespace; each word lower-cased as
 *     Python's str.lower (simple case mapping, U+0130 to "i\u0307", and
 *     capital sigma to final sigma by Unicode's Final_Sigma rule); words
 *     joined by single spaces. No HTML unescaping: that is ftfy's and
 *     OpenAI CLIP's, not transformers' without ftfy. A prompt is a C
 *     string, so it holds no U+0000 (which this step would remove).
 *  3. Pre-tokenisation, leftmost-first like the regex
 *     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|
 *     [^\s\p{L}\p{N}]+ (case-insensitive): runs of letters, single digits,
 *     the contractions, runs of anything else but spaces.
 *  4. Each run as UTF-8 bytes, mapped to GPT-2's byte alphabet, the last
 *     one carrying "</w>", merged by byte-pair encoding (Sennrich et al.
 *     2016): the adjacent pair of lowest rank in merges.txt, every
 *     occurrence left to right, until no pair has a rank (quadratic in
 *     the run's length, as in transformers). A run that is exactly
 *     "<|startoftext|>" or "<|endoftext|>" is that token.
 *  5. ids = bos, the first max_length - 2 tokens, eos, then the pad id up
 *     to max_length.
 * Unicode tables are GLib's, not Python's: characters new in GLib's
 * Unicode version (16.0 in GLib 2.84; Python 3.13 has 15.1) are letters
 * or symbols here but unassigned, so removed, there.
 *
 * Files (a diffusers pipeline's tokenizer/ folder): vocab.json (token text
 * -> id), merges.txt (a header line, then one "left right" pair per line
 * in rank order; as transformers, only the first 48894 count), and
 * optionally tokenizer_config.json and special_tokens_map.json, whose
 * bos_token, eos_token, unk_token and pad_token (a string or an object
 * with "content") override in that order, and model_max_length. */
#ifndef DM_MODEL_CLIP_TOKENIZER_H
#define DM_MODEL_CLIP_TOKENIZER_H

#include "tensor/base.h"

/* Limits on untrusted vocabulary files. */
#define DM_CLIP_MAX_VOCAB_BYTES (16 * 1024 * 1024)
#define DM_CLIP_MAX_MERGES_BYTES (16 * 1024 * 1024)
#define DM_CLIP_MAX_TOKENS 1000000   /* entries of vocab.json */
#define DM_CLIP_MAX_TOKEN_BYTES 1024 /* UTF-8 bytes of one token's text */
#define DM_CLIP_MAX_MERGES 48894     /* CLIPTokenizer's 49152 - 256 - 2 */
#define DM_CLIP_MAX_LENGTH 4096      /* the longest model_max_length */

/* The special tokens and the length of a tokenizer config. */
typedef struct {
  const char *bos, *eos, *unk, *pad; /* token texts in the vocabulary */
  int32_t max_length;                /* ids per prompt, >= 2 */
} DmClipTokenizerConfig;

/* CLIPTokenizer's defaults: "<|startoftext|>", then "<|endoftext|>" for
 * eos, unk and pad; 77 ids (CLIP's context length). */
DmClipTokenizerConfig dm_clip_tokenizer_config_default(void);

typedef struct DmClipTokenizer DmClipTokenizer;

/* A tokenizer from the texts of vocab.json and merges.txt (lengths in
 * bytes); the special tokens must be in the vocabulary, every merge's two
 * tokens and their concatenation too. DM_ERROR_FORMAT naming the file and
 * what is wrong. Free with dm_clip_tokenizer_free(). */
DmClipTokenizer *dm_clip_tokenizer_new(const char *vocab_json,
                                       size_t vocab_length,
                                       const char *merges_text,
                                       size_t merges_length,
                                       const DmClipTokenizerConfig *config,
                                       GError **error);

/* The tokenizer of a folder (the files above). */
DmClipTokenizer *dm_clip_tokenizer_load(const char *folder, GError **error);
/* The vocab.json and merges.txt of a folder with the special tokens and
 * length of `config` (its config files, if any, are not read): CLIP's
 * vocabulary installed once, used for checkpoints of either config. */
DmClipTokenizer *dm_clip_tokenizer_load_vocabulary(
    const char *folder, const DmClipTokenizerConfig *config, GError **error);

void dm_clip_tokenizer_free(DmClipTokenizer *tokenizer);

/* Ids per prompt (model_max_length). */
int32_t dm_clip_tokenizer_max_length(const DmClipTokenizer *tokenizer);

/* ids (max_length) = the prompt `text` (UTF-8) encoded as above; *length
 * (may be NULL) = the ids before padding (bos and eos included).
 * DM_ERROR_INVALID_ARGUMENT when the text is not valid UTF-8. */
bool dm_clip_tokenizer_encode(const DmClipTokenizer *tokenizer,
                              const char *text, int32_t *ids, int32_t *length,
                              GError **error);

#endif /* DM_MODEL_CLIP_TOKENIZER_H */
