"""Reference data for the CLIP text side of Stable Diffusion, from
transformers' own code: token ids from CLIPTokenizer, and the outputs of
CLIPTextModel with the random weights of tests/refgen/common.py.

Run in the build root (scripts/dev run), from the repository root:

    PYTHONPATH=REGEX python3 tests/refgen/make_clip.py TRANSFORMERS_SRC \\
        VOCAB_DIR [tokens] [tensors]

TRANSFORMERS_SRC is the src/ folder of a transformers source tree (these
files came from 4.45.0.dev0, commit d6751d91c8f58cdeb35af6adae182d7dc90aa883);
VOCAB_DIR holds CLIP's vocab.json and merges.txt (shared/clip-tokenizer);
REGEX is where the `regex` package can be imported from (Debian's
python3-regex, unpacked). tests/refgen/stubs stands in for huggingface_hub,
safetensors and tqdm, which transformers imports but nothing here calls.
ftfy is absent on purpose: without it CLIPTokenizer cleans text with
BasicTokenizer, which is what core/model/clip-tokenizer.c follows.

tokens  writes tests/data/sd/tokenizer/cases.json: the ids of every prompt
        below under the SD 1.x and SD 2.x tokenizer configs of
        tests/data/sd/tokenizer/{sd1,sd2}, encoded as diffusers' pipelines
        do (padding to model_max_length, truncation).
tensors writes tests/data/sd/clip/<case>.safetensors (see make_tensors).
"""

import json
import os
import random
import shutil
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "sd")


def import_transformers(src):
    """Makes transformers importable without its optional dependencies:
    the stubs, and two modules of its start-up that check installed
    versions and import gguf support (neither is on the compute path)."""
    sys.path[:0] = [src, os.path.join(HERE, "stubs")]
    checks = types.ModuleType("transformers.dependency_versions_check")
    checks.dep_version_check = lambda *args, **kwargs: None
    gguf = types.ModuleType("transformers.modeling_gguf_pytorch_utils")
    gguf.load_gguf_checkpoint = None
    sys.modules[checks.__name__] = checks
    sys.modules[gguf.__name__] = gguf
    # Without the `tokenizers` package, transformers falls back to its own
    # AddedToken, which CLIPTokenizer cannot use: a dataclass without
    # fields (unhashable, equal to every other AddedToken) and without
    # __setstate__. It gets the behaviour of tokenizers.AddedToken, which
    # transformers normally uses: equality and hash by content, and
    # __setstate__ setting the attributes of a dict.
    from transformers.tokenization_utils_base import AddedToken
    AddedToken.__eq__ = lambda a, b: (isinstance(b, AddedToken)
                                      and a.content == b.content)
    AddedToken.__hash__ = lambda self: hash(self.content)
    AddedToken.__setstate__ = lambda self, state: self.__dict__.update(state)


# ---- tokens -----------------------------------------------------------------

FIXED_PROMPTS = [
    "",
    "a photo of a cat",
    "A Photo Of A CAT",
    "  leading and trailing spaces  ",
    "repeated    spaces,\ttabs\t\tand\nnew\r\nlines",
    "punctuation: hello, world! (really?) [yes]; {no} -- \"quoted\" 'single'",
    "!!! wow!!! !",
    "! !! !!!",
    "hello!world",
    "it's, don't, we're, they've, I'm, you'll, he'd, IT'S, O'Reilly",
    "''s 's' s'",
    "numbers 1234567 3.14159 1,000,000 2nd 42nd",
    "café naïve résumé Zürich façade crème brûlée",
    "cafe\u0301 (combining acute) vs caf\u00e9",
    "ΟΔΟΣ Σ ΣΑΣ. Σίσυφος ΑΣ' Ὀδυσσεύς",
    "ªΣ ΣⅫ ⒶΣ Σ\u0308 ΑΣ\u0308 ΑΣ.Β ΑΣ'Β ΣΣ ΑΣΣ ʰΣ ΑʰΣ Ⅻ ⓐ \U0001F130",
    "İstanbul DİYARBAKIR ıi",
    "Straße STRASSE ẞ ﬁ ﬂ",
    "Москва, Россия",
    "中文字符 测试 日本語のテキスト 한국어 텍스트",
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 ❤️ ✨",
    "fullwidth ＡＢＣ１２３ and ｶﾀｶﾅ",
    "math ∑ ∫ √2 ≤ ≥ ≠ ½ ¾ ² ³ Ⅻ ⅷ",
    "Kelvin K and Ångström Å",
    "html entities &amp; &lt;b&gt; &#39; &quot;x&quot; &nbsp;",
    "non\u00a0breaking\u2003em\u3000ideographic spaces",
    "line\u2028separator and paragraph\u2029separator",
    "zero\u200bwidth\ufeffbom and soft\u00adhyphen",
    "controls\x01\x07\x1b\x7f\x85 and \ufffd replacement",
    "<|startoftext|>inside<|endoftext|>text<|endoftext|>",
    "<|ENDOFTEXT|> <|EndOfText|>",
    "a<|endoftext|>b!c",
    "private use \ue000\U000f0000 end",
    "a masterpiece, best quality, highly detailed, 8k, trending on "
    "artstation, by greg rutkowski and alphonse mucha",
    "word " * 80,
    "supercalifragilisticexpialidocious" * 4,
    "x" * 400,
    "red, " * 40 + "END",
]

CHAR_POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" " * 12 + "\t\n\r")
    + list(".,;:!?'\"-_()[]{}<>/\\|@#$%^&*+=~`")
    + ["'s", "'t", "'ll", "<|endoftext|>", "<|startoftext|>", "&amp;", "!!"]
    + list("éüñåøçßàèìòùâêîôûäöÿÉÜÑÅ\u0301\u0308")
    + list("ΣσςΩωαβγΑΒΓ")
    + list("жэюяЖЭЮЯ")
    + list("中文字日本語")
    + list("ひらがなカタカナ한국")
    + ["😀", "👍", "🏽", "\u200d", "🇫", "🇷", "❤", "\ufe0f"]
    + list("€™©½²Ⅻⅷⓐⓩ\U0001F130ªﬁ\u212aẞİı")
    + list("\x01\x07\x7f\ufffd\u200b\ufeff\u00a0\u3000\u2028\u00ad")
)


def random_prompts(count, seed):
    """Deterministic prompts drawn from CHAR_POOL, 1 to 60 picks each.
    None holds U+0000: the C side takes prompts as C strings."""
    generator = random.Random(seed)
    return ["".join(generator.choice(CHAR_POOL)
                    for _ in range(generator.randint(1, 60)))
            for _ in range(count)]


def load_tokenizer(vocab_dir, config_dir):
    """CLIPTokenizer.from_pretrained on a folder with the vocabulary and
    the configs of config_dir."""
    from transformers.models.clip.tokenization_clip import CLIPTokenizer
    folder = tempfile.mkdtemp()
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(vocab_dir, name), folder)
    for name in os.listdir(config_dir):
        shutil.copy(os.path.join(config_dir, name), folder)
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    shutil.rmtree(folder)
    assert tokenizer.fix_text is None, "ftfy is installed: remove it"
    return tokenizer


def encode(tokenizer, prompt):
    """As StableDiffusionPipeline.encode_prompt calls the tokenizer."""
    return tokenizer(prompt, padding="max_length",
                     max_length=tokenizer.model_max_length,
                     truncation=True).input_ids


def make_tokens(vocab_dir):
    configs = ("sd1", "sd2")
    tokenizers = {name: load_tokenizer(vocab_dir, os.path.join(
        DATA, "tokenizer", name)) for name in configs}
    for name, tokenizer in tokenizers.items():
        print(name, "pad", tokenizer.pad_token, tokenizer.pad_token_id,
              "max length", tokenizer.model_max_length)
    cases = []
    for prompt in FIXED_PROMPTS + random_prompts(80, 18):
        case = {"prompt": prompt}
        for name, tokenizer in tokenizers.items():
            case[name] = encode(tokenizer, prompt)
        cases.append(case)
    path = os.path.join(DATA, "tokenizer", "cases.json")
    with open(path, "w", encoding="utf-8") as out:
        out.write("[\n")
        for i, case in enumerate(cases):
            text = json.dumps(case, ensure_ascii=True, separators=(",", ":"))
            out.write(text + (",\n" if i + 1 < len(cases) else "\n"))
        out.write("]\n")
    print(f"{path}: {len(cases)} prompts")


# ---- tensors ------------------------------------------------------------------

# (name, CLIPTextConfig fields, token ids or a prompt list, seed, weights
# rounded to half, layers skipped at the end). Small configs cover both
# activations, odd head and MLP widths, short position tables and sequences
# shorter than them; the full-size ones are SD 1.5's text encoder (OpenAI
# CLIP ViT-L/14) and SD 2.x's (OpenCLIP ViT-H/14 as diffusers configures
# it: 23 layers, gelu) on prompts through the SD 1.x and SD 2.x tokenizers.
SD15 = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
            num_attention_heads=12, hidden_act="quick_gelu")
SD2 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
           num_attention_heads=16, hidden_act="gelu", projection_dim=1024)
PROMPTS = ["a photo of an astronaut riding a horse on mars", ""]
CASES = [
    ("tiny_quick_gelu", dict(vocab_size=120, hidden_size=32,
                             intermediate_size=37, num_hidden_layers=2,
                             num_attention_heads=4,
                             max_position_embeddings=16), (2, 16), 11, False,
     0),
    ("tiny_gelu_5_heads", dict(vocab_size=64, hidden_size=30,
                               intermediate_size=50, num_hidden_layers=3,
                               num_attention_heads=5,
                               max_position_embeddings=9, hidden_act="gelu",
                               layer_norm_eps=1e-6), (3, 7), 12, False, 0),
    ("tiny_f16", dict(vocab_size=100, hidden_size=48, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=3,
                      max_position_embeddings=12), (2, 12), 13, True, 0),
    ("tiny_skip_1", dict(vocab_size=100, hidden_size=24, intermediate_size=40,
                         num_hidden_layers=3, num_attention_heads=2,
                         max_position_embeddings=10, hidden_act="gelu"),
     (1, 10), 14, False, 1),
    ("sd15_full", SD15, ("sd1", PROMPTS), 15, False, 0),
    ("sd2_full", SD2, ("sd2", PROMPTS), 2, False, 0),
]


def case_ids(spec, vocab_size, seed, vocab_dir):
    """Token ids (N, L): random ids for a shape, or prompts encoded by a
    tokenizer config."""
    import numpy as np
    if isinstance(spec[1], list):
        tokenizer = load_tokenizer(vocab_dir, os.path.join(
            DATA, "tokenizer", spec[0]))
        return np.array([encode(tokenizer, p) for p in spec[1]])
    return np.random.default_rng(seed).integers(0, vocab_size, size=spec)


def reference_model(config, seed, half):
    """CLIPTextModel with the random weights of common.py (rounded to half
    when `half`), as float64."""
    import torch
    from common import random_tensor
    from transformers import CLIPTextModel
    model = CLIPTextModel(config)
    state = {}
    for name, tensor in model.state_dict().items():
        values = torch.from_numpy(random_tensor(name, tuple(tensor.shape),
                                                seed))
        state[name] = values.half().float() if half else values
    model.load_state_dict(state, strict=True)
    return model.double().eval()


def run(model, ids, skip):
    """The encoder's output after all but `skip` layers, through
    final_layer_norm (diffusers' clip_skip). The default dtype follows the
    model's: transformers builds the causal mask with torch.full(...,
    finfo(dtype).min) in the default dtype, which float64's minimum
    overflows when that is float32."""
    import torch
    torch.set_default_dtype(next(model.parameters()).dtype)
    with torch.no_grad():
        out = model(torch.from_numpy(ids), output_hidden_states=True)
        if skip == 0:
            return out.last_hidden_state
        hidden = out.hidden_states[-(skip + 1)]
        return model.text_model.final_layer_norm(hidden)


def make_case(name, fields, spec, seed, half, skip, vocab_dir):
    import numpy as np
    import torch
    from common import write_safetensors
    from transformers import CLIPTextConfig
    config = CLIPTextConfig(**fields)
    config.architectures = ["CLIPTextModel"]
    ids = case_ids(spec, config.vocab_size, seed, vocab_dir)
    model = reference_model(config, seed, half)
    want = run(model, ids, skip)
    torch_f32 = run(model.float(), ids, skip).double()
    f32_error = float((torch_f32 - want).abs().max())
    metadata = {
        "config": config.to_json_string(),
        "seed": str(seed),
        "dtype": "F16" if half else "F32",
        "skip": str(skip),
        "torch_f32_max_abs_diff": repr(f32_error),
        "out_absmax": repr(float(want.abs().max())),
        "source": "transformers 4.45.0.dev0 d6751d91c8f5 CLIPTextModel, "
                  "float64",
    }
    os.makedirs(os.path.join(DATA, "clip"), exist_ok=True)
    path = os.path.join(DATA, "clip", name + ".safetensors")
    write_safetensors(path, {"input_ids": ids.astype(np.float32),
                             "last_hidden_state": want.numpy()}, metadata)
    print(f"{name}: ids {ids.shape} out absmax {metadata['out_absmax']}, "
          f"torch float32 vs float64 max |d| {f32_error:.3g}")


def make_tensors(vocab_dir):
    sys.path.insert(0, HERE)
    for case in CASES:
        make_case(*case, vocab_dir)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    import_transformers(sys.argv[1])
    parts = sys.argv[3:] or ["tokens", "tensors"]
    if "tokens" in parts:
        make_tokens(sys.argv[2])
    if "tensors" in parts:
        make_tensors(sys.argv[2])


if __name__ == "__main__":
    main()
