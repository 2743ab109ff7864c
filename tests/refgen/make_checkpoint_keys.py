"""Reference key tables for Stable Diffusion single-file checkpoints, from
diffusers' own conversion code (tests/test-sd-keys.c checks
core/model/sd-keys.c against them).

Run in the build root (scripts/dev run), from the repository root:

    PYTHONPATH=REGEX python3 tests/refgen/make_checkpoint_keys.py \\
        DIFFUSERS_TREE TRANSFORMERS_SRC [OUT_DIR]

DIFFUSERS_TREE is a diffusers source tree (its src/ is imported, and
scripts/convert_diffusers_to_original_stable_diffusion.py run as a
module); TRANSFORMERS_SRC the src/ folder of a transformers tree (for
CLIPTextModel); REGEX where the `regex` package can be imported from (see
make_clip.py). OUT_DIR defaults to tests/data/sd/keys.

For each case below the script builds the pipeline's UNet2DConditionModel,
AutoencoderKL and CLIPTextModel from their diffusers configs on torch's
meta device, and gives every tensor a stand-in that costs almost no
memory: row r of tensor number k holds k * 2^17 + r in every element (an
expanded int32 column). The state dicts go through the two conversions a
user's files go through:

  forward   convert_diffusers_to_original_stable_diffusion.py's
            convert_unet_state_dict, convert_vae_state_dict and
            convert_text_enc_state_dict[_v20] with the prefixes its main
            adds: the single file's names and shapes;
  back      single_file_utils' convert_ldm_unet_checkpoint,
            convert_ldm_vae_checkpoint and convert_ldm_clip_checkpoint /
            convert_open_clip_checkpoint: the diffusers names again.

The way back must give every diffusers tensor exactly its own values (else
the script stops), and the stand-ins' values say where each one went. It
writes OUT_DIR/CASE.txt.gz, one line per diffusers tensor, sorted:

    ORIGINAL_NAME DIFFUSERS_NAME SHAPE RESHAPE

SHAPE is the diffusers tensor's shape ("320,9,3,3"); RESHAPE how the
single file holds it: "-" as it is, "conv1x1" with two more dimensions of
size 1 (a linear stored as a 1x1 convolution), "rows:K/N" as the K-th of N
equal blocks of rows of ORIGINAL_NAME (OpenCLIP's fused in_proj).
"""

import contextlib
import gzip
import importlib.util
import io
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_clip import import_transformers  # noqa: E402

TAG_ROWS = 1 << 17  # more than any tensor's rows (49408 tokens)

SD_VAE = dict(block_out_channels=[128, 256, 512, 512], layers_per_block=2,
              latent_channels=4, norm_num_groups=32,
              down_block_types=["DownEncoderBlock2D"] * 4,
              up_block_types=["UpDecoderBlock2D"] * 4)

SD1_UNET = dict(block_out_channels=[320, 640, 1280, 1280],
                down_block_types=["CrossAttnDownBlock2D"] * 3
                + ["DownBlock2D"],
                up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                layers_per_block=2, attention_head_dim=8,
                cross_attention_dim=768, out_channels=4)
SD2_UNET = dict(SD1_UNET, attention_head_dim=[5, 10, 20, 20],
                cross_attention_dim=1024, use_linear_projection=True)

# transformers' configs of the two text encoders (openai/clip-vit-large-
# patch14's text side; stabilityai/stable-diffusion-2's text_encoder)
SD1_TEXT = dict(hidden_size=768, intermediate_size=3072,
                num_attention_heads=12, num_hidden_layers=12,
                hidden_act="quick_gelu", projection_dim=768)
SD2_TEXT = dict(hidden_size=1024, intermediate_size=4096,
                num_attention_heads=16, num_hidden_layers=23,
                hidden_act="gelu", projection_dim=512)

CASES = {
    "sd15_inpainting": dict(unet=dict(SD1_UNET, in_channels=9),
                            text=SD1_TEXT),
    "sd2_inpainting": dict(unet=dict(SD2_UNET, in_channels=9),
                           text=SD2_TEXT),
    "sd2_v": dict(unet=dict(SD2_UNET, in_channels=4, sample_size=96),
                  text=SD2_TEXT),
}


def import_converter(tree):
    """diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py
    as a module (its command-line part does not run on import)."""
    path = os.path.join(tree, "scripts",
                        "convert_diffusers_to_original_stable_diffusion.py")
    spec = importlib.util.spec_from_file_location("sd_converter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tagged(state, tags):
    """Stand-ins for the meta tensors of `state`: row r of the k-th tensor
    (k counted across every call) holds k * TAG_ROWS + r."""
    out = {}
    for name, tensor in state.items():
        number = len(tags) + 1
        tags[number] = name
        rows = tensor.shape[0]
        column = torch.arange(rows, dtype=torch.int32) + number * TAG_ROWS
        column = column.reshape((rows,) + (1,) * (tensor.dim() - 1))
        out[name] = column.expand(tensor.shape)
    return out


def to_original(converter, unet, vae, text):
    """The single file's state dict, as the converter's main builds it."""
    with contextlib.redirect_stdout(io.StringIO()):  # its "Reshaping ..."
        vae = converter.convert_vae_state_dict(vae)
    state = {"model.diffusion_model." + k: v
             for k, v in converter.convert_unet_state_dict(unet).items()}
    state.update({"first_stage_model." + k: v for k, v in vae.items()})
    if "text_model.encoder.layers.22.layer_norm2.bias" in text:
        text = {"transformer." + k: v for k, v in text.items()}
        text = converter.convert_text_enc_state_dict_v20(text)
        prefix = "cond_stage_model.model."
    else:
        text = converter.convert_text_enc_state_dict(text)
        prefix = "cond_stage_model.transformer."
    state.update({prefix + k: v for k, v in text.items()})
    return state


def to_diffusers(sfu, checkpoint, unet_config, text_config):
    """single_file_utils' conversions back, one dict per component."""
    unet = sfu.convert_ldm_unet_checkpoint(checkpoint, unet_config)
    vae = sfu.convert_ldm_vae_checkpoint(checkpoint, SD_VAE)
    if sfu.is_open_clip_model(checkpoint):
        stub = types.SimpleNamespace(config=types.SimpleNamespace(
            hidden_size=text_config["hidden_size"]))
        text = sfu.convert_open_clip_checkpoint(stub, checkpoint)
    else:
        text = sfu.convert_ldm_clip_checkpoint(checkpoint)
    return unet, vae, text


def check_round_trip(label, before, after):
    """The way back gives every tensor, with exactly its values."""
    if set(before) != set(after):
        sys.exit(f"{label}: names differ after the round trip: "
                 f"{sorted(set(before) ^ set(after))[:5]}")
    for name, tensor in before.items():
        if not torch.equal(tensor, after[name]):
            sys.exit(f"{label}: {name} changed in the round trip")


def key_lines(checkpoint, tags, shapes):
    """One line per diffusers tensor: where the single file holds it."""
    lines = []
    for original, tensor in checkpoint.items():
        column = tensor[(slice(None),) + (0,) * (tensor.dim() - 1)].long()
        numbers = column // TAG_ROWS
        sources = list(dict.fromkeys(numbers.tolist()))
        for part, number in enumerate(sources):
            name = tags[number]
            shape = shapes[name]
            rows = column[numbers == number] % TAG_ROWS
            if not torch.equal(rows, torch.arange(shape[0])):
                sys.exit(f"{original}: rows of {name} out of order")
            if len(sources) > 1:
                if tensor.shape[1:] != shape[1:]:
                    sys.exit(f"{original}: parts of other shapes")
                reshape = f"rows:{part}/{len(sources)}"
            elif tensor.shape == shape:
                reshape = "-"
            elif tensor.shape == shape + (1, 1):
                reshape = "conv1x1"
            else:
                sys.exit(f"{original} {tuple(tensor.shape)} holds {name} "
                         f"{shape} in a way this script does not know")
            dims = ",".join(str(d) for d in shape)
            lines.append(f"{original} {name} {dims} {reshape}\n")
    if len(lines) != len(tags):
        sys.exit(f"{len(tags)} tensors, {len(lines)} found in the file")
    return sorted(lines)


def meta_state(module_class, **config):
    with torch.device("meta"):
        return module_class(**config).state_dict()


def make_case(name, case, classes, converter, sfu, out_dir):
    unet_class, vae_class, text_class, text_config_class = classes
    states = {
        "unet": meta_state(unet_class, **case["unet"]),
        "vae": meta_state(vae_class, **SD_VAE),
    }
    with torch.device("meta"):
        text_model = text_class(text_config_class(**case["text"]))
    states["text"] = text_model.state_dict()
    states["text"].pop("text_model.embeddings.position_ids", None)
    tags = {}
    shapes = {}
    values = {}
    for component, state in states.items():
        values[component] = tagged(state, tags)
        shapes.update({k: tuple(v.shape) for k, v in state.items()})
    checkpoint = to_original(converter, values["unet"], values["vae"],
                             values["text"])
    back = to_diffusers(sfu, checkpoint, case["unet"], case["text"])
    for component, after in zip(("unet", "vae", "text"), back):
        check_round_trip(f"{name} {component}", values[component], after)
    lines = key_lines(checkpoint, tags, shapes)
    path = os.path.join(out_dir, name + ".txt.gz")
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                           filename="") as out:
            out.write("".join(lines).encode("utf-8"))
    print(f"{name}: {len(lines)} tensors ({len(states['unet'])} U-Net, "
          f"{len(states['vae'])} VAE, {len(states['text'])} text) "
          f"-> {path}")


def main():
    tree, transformers_src = sys.argv[1], sys.argv[2]
    out_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        HERE, "..", "data", "sd", "keys")
    import_transformers(transformers_src)
    sys.path.insert(1, os.path.join(tree, "src"))
    from transformers import CLIPTextConfig, CLIPTextModel
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders import single_file_utils as sfu
    from diffusers.utils import logging
    logging.set_verbosity_error()
    converter = import_converter(tree)
    os.makedirs(out_dir, exist_ok=True)
    classes = (UNet2DConditionModel, AutoencoderKL, CLIPTextModel,
               CLIPTextConfig)
    for name, case in CASES.items():
        make_case(name, case, classes, converter, sfu, out_dir)


if __name__ == "__main__":
    main()
