"""Reference data for Stable Diffusion's UNet2DConditionModel, from
diffusers' own code, with the random weights of tests/refgen/common.py.

Run in the build root (scripts/dev run), from the repository root:

    python3 tests/refgen/make_unet.py DIFFUSERS_SRC [CASE...]

DIFFUSERS_SRC is the src/ folder of a diffusers source tree (these files
came from 0.40.0.dev0, commit 58eb52c0803ea9af3abec60841c2a093bdf1f951)
inside the repository tree (e.g. under _build/, which git ignores), since
the build root sees only that. tests/refgen/stubs stands in for
huggingface_hub, safetensors, tqdm and Pillow, which diffusers imports but
nothing here calls. Without CASE names every case is written.

Each case writes tests/data/sd/unet/<case>.safetensors: the inputs (sample,
timesteps, encoder_hidden_states) and diffusers' output for them in
float64 (model.double(); the sinusoid stays float32, as diffusers always
computes it), stored as float32, with the config (the config.json diffusers
writes), the seed, the weights' dtype (F16/BF16: the random weights rounded
to it before both runs), and the error of diffusers' own float32 run
against the float64 one (torch_f32_max_abs_diff) in the metadata.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "sd", "unet")

# The unet/config.json fields of runwayml/stable-diffusion-inpainting (SD
# 1.5 inpainting) and stabilityai/stable-diffusion-2-inpainting: 9 input
# channels ([latent, mask, masked image's latent]), 8 heads everywhere or
# heads of 64 channels ("attention_head_dim" [5, 10, 20, 20]), conv or
# linear projections, 768- or 1024-wide text states.
SD_BLOCKS = dict(
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                      "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                    "CrossAttnUpBlock2D"],
    block_out_channels=[320, 640, 1280, 1280], layers_per_block=2,
    act_fn="silu", center_input_sample=False, downsample_padding=1,
    flip_sin_to_cos=True, freq_shift=0, mid_block_scale_factor=1,
    norm_eps=1e-05, norm_num_groups=32, in_channels=9, out_channels=4,
    sample_size=64)
SD15_INPAINT = dict(SD_BLOCKS, attention_head_dim=8, cross_attention_dim=768)
SD2_INPAINT = dict(SD_BLOCKS, attention_head_dim=[5, 10, 20, 20],
                   cross_attention_dim=1024, dual_cross_attention=False,
                   num_class_embeds=None, only_cross_attention=False,
                   use_linear_projection=True)

# name: (config fields, (N, H, W) of the sample, text tokens, seed, dtype of
# the weights, timesteps). The small configs cover both projections, heads
# given once or per level, 4 and 9 input channels, several transformer
# blocks, DownBlock2D/CrossAttnUpBlock2D at the same level and the other
# way round, the options that change the arithmetic (centred input,
# [sin | cos], freq_shift, right/bottom downsampling padding, mid block
# scale, time_embedding_dim), non-square latents, batches with different
# timesteps and text states per image, and F16 and BF16 weights.
CASES = {
    "tiny_conv_proj": (dict(
        block_out_channels=[32, 64], layers_per_block=1,
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=2, cross_attention_dim=24, norm_num_groups=8),
        (2, 8, 24), 5, 31, "F32", [999.0, 1.0]),
    "tiny_linear_heads": (dict(
        block_out_channels=[32, 64, 64], layers_per_block=2,
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                          "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D",
                        "CrossAttnUpBlock2D"],
        attention_head_dim=[2, 4, 8], cross_attention_dim=40,
        norm_num_groups=16, use_linear_projection=True, in_channels=9),
        (2, 24, 16), 7, 32, "F32", [437.25, 20.0]),
    "tiny_f16": (dict(
        block_out_channels=[32, 32, 64, 64], layers_per_block=1,
        transformer_layers_per_block=2, attention_head_dim=[1, 2, 2, 4],
        cross_attention_dim=16, norm_num_groups=8, in_channels=9),
        (2, 16, 8), 4, 33, "F16", [500.0, 499.0]),
    "tiny_options_bf16": (dict(
        block_out_channels=[16, 32], layers_per_block=2,
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
        attention_head_dim=4, cross_attention_dim=8, norm_num_groups=4,
        out_channels=3, center_input_sample=True, flip_sin_to_cos=False,
        freq_shift=1, downsample_padding=0, mid_block_scale_factor=0.75,
        norm_eps=1e-6, time_embedding_dim=40, upcast_attention=True),
        (3, 8, 8), 3, 34, "BF16", [0.0, 250.5, 980.0]),
    "sd15_inpaint": (SD15_INPAINT, (2, 16, 16), 77, 15, "F16",
                     [981.0, 981.0]),
    "sd2_inpaint": (SD2_INPAINT, (2, 16, 16), 77, 2, "F16", [1.0, 501.0]),
}


def import_diffusers(src):
    """diffusers from its source tree, with the stubs for the packages the
    build root lacks."""
    sys.path[:0] = [src, os.path.join(HERE, "stubs"), HERE]


def reference_model(fields, seed, dtype):
    """UNet2DConditionModel(**fields) with the random weights of common.py,
    rounded to `dtype`, in float32."""
    import torch
    from common import random_tensor
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    model = UNet2DConditionModel(**fields)
    state = {}
    for name, tensor in model.state_dict().items():
        values = torch.from_numpy(random_tensor(name, tuple(tensor.shape),
                                                seed))
        if dtype == "F16":
            values = values.half().float()
        elif dtype == "BF16":
            values = values.bfloat16().float()
        state[name] = values
    model.load_state_dict(state, strict=True)
    return model.eval()


def run(model, sample, timesteps, text):
    """The network's output in the model's dtype, as float64."""
    import torch
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        out = model(torch.from_numpy(sample).to(dtype),
                    torch.from_numpy(timesteps),
                    torch.from_numpy(text).to(dtype)).sample
    return out.double()


def make_case(name):
    import numpy as np
    from common import write_safetensors
    fields, (n, h, w), length, seed, dtype, steps = CASES[name]
    model = reference_model(fields, seed, dtype)
    config = model.config
    rng = np.random.default_rng(seed)
    sample = rng.standard_normal((n, config.in_channels, h, w)).astype(
        np.float32)
    text = rng.standard_normal((n, length, config.cross_attention_dim)
                               ).astype(np.float32)
    timesteps = np.array(steps, dtype=np.float32)
    torch_f32 = run(model, sample, timesteps, text)
    want = run(model.double(), sample, timesteps, text)
    f32_error = float((torch_f32 - want).abs().max())
    params = sum(p.numel() for p in model.parameters())
    metadata = {
        "config": model.to_json_string(),
        "seed": str(seed),
        "dtype": dtype,
        "parameters": str(params),
        "torch_f32_max_abs_diff": repr(f32_error),
        "out_absmax": repr(float(want.abs().max())),
        "source": "diffusers 0.40.0.dev0 58eb52c0803e UNet2DConditionModel, "
                  "float64",
    }
    os.makedirs(DATA, exist_ok=True)
    write_safetensors(os.path.join(DATA, name + ".safetensors"),
                      {"sample": sample, "timesteps": timesteps,
                       "encoder_hidden_states": text,
                       "out": want.float().numpy()}, metadata)
    print(f"{name}: {params} parameters ({dtype}), sample {sample.shape}, "
          f"text {text.shape}: out absmax {metadata['out_absmax']}, torch "
          f"float32 vs float64 max |d| {f32_error:.3g}", flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    import_diffusers(sys.argv[1])
    for name in sys.argv[2:] or list(CASES):
        make_case(name)


if __name__ == "__main__":
    main()
