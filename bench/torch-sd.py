#!/usr/bin/env python3
"""diffusers + PyTorch's side of the Stable Diffusion speed comparison
(issue 18 section 4; bench/sd-peers runs it beside ours and
stable-diffusion.cpp's).

    torch-sd.py FOLDER DIFFUSERS_SRC [--threads 2] [--repeat 3]
                [--latent 64] [--batch 2]

FOLDER is a diffusers pipeline folder (tests/make-sd-checkpoint writes one
with random weights); DIFFUSERS_SRC the src/ folder of a diffusers source
tree (diffusers is not packaged for Debian; python3-torch is), imported
with tests/refgen/stubs for the packages the root lacks. Builds diffusers'
own UNet2DConditionModel and AutoencoderKL from the folder's config.json
files, loads the folder's weights (F16 files computed in float32, as
diffusers runs on a CPU), and times, after a warm-up, one U-Net evaluation
on a --latent square latent of --batch images with 77 text tokens (the
guided step of a 512 x 512 heal at the defaults) and one VAE decode of
such a latent; the last line, "result ...", is what bench/sd-peers reads.
No file is written.
"""

import argparse
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFGEN = os.path.join(HERE, "..", "tests", "refgen")


def load(cls, folder, weights):
    """cls from FOLDER/config.json with the weights of FOLDER/WEIGHTS."""
    import torch
    from common import read_safetensors
    with open(os.path.join(folder, "config.json")) as file:
        config = {k: v for k, v in json.load(file).items()
                  if not k.startswith("_")}
    model = cls(**config)
    state = {name: torch.from_numpy(array) for name, array in
             read_safetensors(os.path.join(folder, weights)).items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def time_runs(label, repeat, step):
    times, cpus = [], []
    for r in range(-1, repeat):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        seconds = time.perf_counter() - start
        used = time.process_time() - cpu
        print(f"{label:8s} {'warm-up' if r < 0 else 'timed  '} "
              f"{seconds:.3f} s (CPU {used:.3f} s)", flush=True)
        if r >= 0:
            times.append(seconds)
            cpus.append(used)
    return sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("diffusers_src")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latent", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    sys.path[:0] = [args.diffusers_src, os.path.join(REFGEN, "stubs"),
                    REFGEN]
    import torch
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import \
        UNet2DConditionModel
    torch.set_num_threads(args.threads)
    unet = load(UNet2DConditionModel, os.path.join(args.folder, "unet"),
                "diffusion_pytorch_model.safetensors")
    vae = load(AutoencoderKL, os.path.join(args.folder, "vae"),
               "diffusion_pytorch_model.safetensors")
    print(f"torch {torch.__version__}, {args.threads} threads, float32",
          flush=True)
    generator = torch.Generator().manual_seed(7)
    n, size = args.batch, args.latent
    sample = torch.randn(n, unet.config.in_channels, size, size,
                         generator=generator)
    text = torch.randn(n, 77, unet.config.cross_attention_dim,
                       generator=generator)
    timesteps = torch.full((n,), 981.0)
    latent = torch.randn(1, vae.config.latent_channels, size, size,
                         generator=generator)
    with torch.no_grad():
        unet_s, unet_cpu = time_runs(
            "U-Net", args.repeat, lambda: unet(sample, timesteps, text))
        decode_s, decode_cpu = time_runs(
            "decode", args.repeat, lambda: vae.decode(latent))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"result unet_s={unet_s:.3f} unet_cpu_s={unet_cpu:.3f} "
          f"decode_s={decode_s:.3f} decode_cpu_s={decode_cpu:.3f} "
          f"peak_rss_mib={peak:.0f}")


if __name__ == "__main__":
    main()
