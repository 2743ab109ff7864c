"""Reference tensors for the AutoencoderKL tests (tests/test-vae-refvec.c).

    python3 tests/refgen/make_vae.py DIFFUSERS_SRC [OUT_DIR]

DIFFUSERS_SRC is the src/ folder of a diffusers source tree (imported from
there; the packages it imports but these runs never use are stubbed by
tests/refgen/stubs). OUT_DIR defaults to tests/data/sd/vae. For every case
it writes OUT_DIR/CASE/config.json (what save_config writes) and
OUT_DIR/CASE/cases.safetensors (float32):

  image      (N, 3, H, W) input of the encoder, uniform in [-1, 1]
  moments    (N, 2 L, H/s, W/s) = encode(image).latent_dist.parameters
  mean       (N, L, H/s, W/s)  = (latent_dist.mean - shift) * scaling_factor
  logvar     (N, L, H/s, W/s)  = latent_dist.logvar + 2 ln(scaling_factor)
  latent     (N, L, h, w) input of the decoder (the diffusion model's scale)
  decoded    (N, 3, h s, w s) = decode(latent / scaling_factor + shift)
  error.NAME the largest |float32 run - reference| of output NAME, torch's
             own float32 error, from which the C test sets its tolerances

The weights are the random-weight rule of common.py with seed SEED, rounded
to float16 for the f16 case; the references come from a float64 run of those
weights (model.to(torch.float64)). Nothing of the weights is written: the C
side draws the same values with dm_weights_fill_random().
"""

import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

SEED = 18

CASES = {
    # two levels, mid attention, one layer per block, a batch of two
    "small_attn": dict(
        config=dict(block_out_channels=[32, 64], layers_per_block=1,
                    norm_num_groups=8),
        image=(2, 3, 24, 40), latent=(2, 4, 6, 10)),
    # three levels, no mid attention, no 1x1 convs, other latent scale
    "small_plain": dict(
        config=dict(block_out_channels=[16, 32, 32], layers_per_block=2,
                    norm_num_groups=8, latent_channels=3,
                    mid_block_add_attention=False, use_quant_conv=False,
                    use_post_quant_conv=False, scaling_factor=0.5,
                    shift_factor=0.25),
        image=(1, 3, 40, 24), latent=(1, 3, 3, 5)),
    # Stable Diffusion 1.x / 2.x's vae/config.json
    "sd": dict(
        config=dict(block_out_channels=[128, 256, 512, 512],
                    layers_per_block=2, norm_num_groups=32,
                    sample_size=512),
        image=(1, 3, 64, 64), latent=(1, 4, 16, 16)),
    # the same with float16 weights
    "sd_f16": dict(
        config=dict(block_out_channels=[128, 256, 512, 512],
                    layers_per_block=2, norm_num_groups=32,
                    sample_size=512),
        image=None, latent=(1, 4, 8, 8), half=True),
}


def make_model(AutoencoderKL, config, half):
    """An AutoencoderKL with common.py's random weights, in float64."""
    levels = len(config["block_out_channels"])
    model = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * levels,
                          up_block_types=["UpDecoderBlock2D"] * levels,
                          **config)
    state = {}
    for name, tensor in model.state_dict().items():
        values = torch.from_numpy(
            common.random_tensor(name, tuple(tensor.shape), SEED))
        state[name] = values.half().float() if half else values
    model.load_state_dict(state)
    return model.eval().to(torch.float64)


def encode(model, image):
    """moments, scaled mean and scaled logvar of the posterior of `image`."""
    scale, shift = model.config.scaling_factor, model.config.shift_factor or 0
    dist = model.encode(image).latent_dist
    return {"moments": dist.parameters,
            "mean": (dist.mean - shift) * scale,
            "logvar": dist.logvar + 2 * math.log(scale)}


def decode(model, latent):
    scale, shift = model.config.scaling_factor, model.config.shift_factor or 0
    return {"decoded": model.decode(latent / scale + shift).sample}


def run(model, inputs, dtype):
    """The outputs for `inputs` with model and inputs in `dtype`."""
    model = model.to(dtype)
    outputs = {}
    with torch.no_grad():
        if "image" in inputs:
            outputs.update(encode(model, inputs["image"].to(dtype)))
        outputs.update(decode(model, inputs["latent"].to(dtype)))
    return outputs


def make_case(AutoencoderKL, name, case, out_dir):
    rng = np.random.default_rng(SEED)
    inputs = {}
    if case["image"]:
        inputs["image"] = torch.from_numpy(
            rng.uniform(-1, 1, case["image"]).astype(np.float32))
    inputs["latent"] = torch.from_numpy(
        rng.standard_normal(case["latent"]).astype(np.float32))
    model = make_model(AutoencoderKL, case["config"], case.get("half", False))
    reference = run(model, inputs, torch.float64)
    single = run(model, inputs, torch.float32)
    tensors = {key: value.numpy() for key, value in inputs.items()}
    for key, value in reference.items():
        tensors[key] = value.float().numpy()
        error = (single[key].double() - value).abs().max().item()
        tensors["error." + key] = np.array([error], dtype=np.float32)
        print(f"{name:12s} {key:8s} {tuple(value.shape)} max|ref| "
              f"{value.abs().max().item():.4g}  torch f32 error {error:.3g}")
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    config = {key: value for key, value in model.config.items()
              if not key.startswith("_")}
    config["_class_name"] = type(model).__name__
    with open(os.path.join(folder, "config.json"), "w") as out:
        json.dump(config, out, indent=2, sort_keys=True)
        out.write("\n")
    common.write_safetensors(os.path.join(folder, "cases.safetensors"),
                             tensors, {"seed": str(SEED)})


def main():
    sys.path.insert(0, os.path.join(HERE, "stubs"))
    sys.path.insert(0, sys.argv[1])
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.utils import logging
    logging.set_verbosity_error()  # model.to(float64)'s advice on upcasting
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, "..", "data", "sd", "vae")
    torch.manual_seed(SEED)
    for name, case in CASES.items():
        make_case(AutoencoderKL, name, case, out_dir)


if __name__ == "__main__":
    main()
