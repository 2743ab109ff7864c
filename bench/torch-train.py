#!/usr/bin/env python3
"""PyTorch's side of the training-speed comparison (issue 4 section 8).

diffusers is not packaged for Debian, but PyTorch is (python3-torch, 2.6 in
Debian 13), so this file builds diffusers' UNet2DModel from the same torch
modules diffusers uses (Conv2d, GroupNorm, Linear, SiLU,
scaled_dot_product_attention), for the subset of configs our core reads,
and times the training step of diffusers' own DDPM recipe: noise, random
timesteps, the MSE loss on epsilon, backward, AdamW.

  torch-train.py --check DIR [DIR...]
      load refvec folders (config.json, diffusion_pytorch_model.safetensors,
      cases.safetensors) and compare the output, and for a grad case every
      gradient, with what diffusers computed; proves the network is
      diffusers' own, so the timings below are of the same work.
  torch-train.py [--threads 2] [--repeat 3] [--size 64] [--batch 16]
      time tiny64 training steps at one shape; one line: forward, backward,
      optimiser and total seconds (medians after a warm-up step), img/s.
  torch-train.py --versus BENCH_UNET [--rounds 5] [--repeat 3]
      the comparison itself: ROUNDS rounds of both shapes (64x64 batch 16,
      32x32 batch 32), each timed here and by `BENCH_UNET --train-run train
      SIZE` (our build, same parts of the step) one after the other, the
      first alternating between rounds; prints every pair and the medians.

No file is written.  Runs where python3-torch is installed, e.g. a copy of
the scripts/dev root with it added (docs/performance.md).
"""

import argparse
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# tiny64 (bench/bench-common.h): 32/64/128 channels, one layer per block,
# attention at the lowest level and in the mid block.
TINY64 = {
    "in_channels": 3, "out_channels": 3, "block_out_channels": [32, 64, 128],
    "layers_per_block": 1, "norm_num_groups": 8, "norm_eps": 1e-5,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
    "flip_sin_to_cos": True, "freq_shift": 0, "downsample_padding": 1,
    "attention_head_dim": None, "add_attention": True,
}


class ResnetBlock(nn.Module):
    """diffusers' ResnetBlock2D with the default time-embedding shift."""

    def __init__(self, in_ch, out_ch, temb_ch, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch, eps)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut else x) + h


class Attention(nn.Module):
    """diffusers' Attention with AttnProcessor2_0 on a feature map."""

    def __init__(self, ch, head_dim, groups, eps):
        super().__init__()
        self.heads = ch // head_dim
        self.group_norm = nn.GroupNorm(groups, ch, eps)
        self.to_q = nn.Linear(ch, ch)
        self.to_k = nn.Linear(ch, ch)
        self.to_v = nn.Linear(ch, ch)
        self.to_out = nn.ModuleList([nn.Linear(ch, ch)])

    def forward(self, x):
        n, c, h, w = x.shape
        tokens = self.group_norm(x.view(n, c, h * w)).transpose(1, 2)

        def split(t):
            return t.view(n, h * w, self.heads, c // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.to_q(tokens)), split(self.to_k(tokens)), split(self.to_v(tokens)))
        out = self.to_out[0](out.transpose(1, 2).reshape(n, h * w, c))
        return out.transpose(1, 2).reshape(n, c, h, w) + x


class Resample(nn.Module):
    """Downsample2D (stride-2 conv) or Upsample2D (nearest x2, then conv)."""

    def __init__(self, ch, down, padding):
        super().__init__()
        self.down = down
        self.padding = padding
        self.conv = nn.Conv2d(ch, ch, 3, stride=2 if down else 1,
                              padding=padding if down else 1)

    def forward(self, x):
        if not self.down:
            return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Block(nn.Module):
    """A down, up or mid block: resnets, optional attentions, and an
    optional resampler, held as diffusers names it (`downsamplers.0` or
    `upsamplers.0`), so that state dicts load and gradients compare as
    they are."""

    def __init__(self, resnets, attentions, resampler):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        if attentions:
            self.attentions = nn.ModuleList(attentions)
        self.resampler_name = None
        if resampler:
            self.resampler_name = "downsamplers" if resampler.down else "upsamplers"
            self.add_module(self.resampler_name, nn.ModuleList([resampler]))

    def resamplers(self):
        return getattr(self, self.resampler_name) if self.resampler_name else []

    def layer(self, i, x, temb):
        x = self.resnets[i](x, temb)
        return self.attentions[i](x) if hasattr(self, "attentions") else x


class UNet2D(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        channels = cfg["block_out_channels"]
        groups, eps = cfg["norm_num_groups"], cfg["norm_eps"]
        temb_ch = channels[0] * 4
        self.cfg = cfg
        self.time_embedding = nn.ModuleDict({
            "linear_1": nn.Linear(channels[0], temb_ch),
            "linear_2": nn.Linear(temb_ch, temb_ch)})
        self.conv_in = nn.Conv2d(cfg["in_channels"], channels[0], 3, padding=1)

        def head_dim(ch):
            return cfg["attention_head_dim"] or ch

        def attention(ch):
            return Attention(ch, head_dim(ch), groups, eps)

        self.down_blocks = nn.ModuleList()
        out_ch = channels[0]
        for i, kind in enumerate(cfg["down_block_types"]):
            in_ch, out_ch = out_ch, channels[i]
            n = cfg["layers_per_block"]
            final = i == len(channels) - 1
            self.down_blocks.append(Block(
                [ResnetBlock(in_ch if j == 0 else out_ch, out_ch, temb_ch, groups, eps)
                 for j in range(n)],
                [attention(out_ch) for _ in range(n)] if kind.startswith("Attn") else None,
                None if final else Resample(out_ch, True, cfg["downsample_padding"])))
        mid = channels[-1]
        self.mid_block = Block(
            [ResnetBlock(mid, mid, temb_ch, groups, eps) for _ in range(2)],
            [attention(mid)] if cfg["add_attention"] else None, None)
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(channels))
        out_ch = rev[0]
        for i, kind in enumerate(cfg["up_block_types"]):
            prev_ch, out_ch = out_ch, rev[i]
            skip_in = rev[min(i + 1, len(rev) - 1)]
            n = cfg["layers_per_block"] + 1
            final = i == len(rev) - 1
            self.up_blocks.append(Block(
                [ResnetBlock((prev_ch if j == 0 else out_ch)
                             + (skip_in if j == n - 1 else out_ch),
                             out_ch, temb_ch, groups, eps) for j in range(n)],
                [attention(out_ch) for _ in range(n)] if kind.startswith("Attn") else None,
                None if final else Resample(out_ch, False, 1)))
        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps)
        self.conv_out = nn.Conv2d(channels[0], cfg["out_channels"], 3, padding=1)

    def time_features(self, t):
        """The sinusoid exactly as diffusers computes it (float32)."""
        half = self.cfg["block_out_channels"][0] // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32)
        freqs = torch.exp(exponent / (half - self.cfg["freq_shift"]))
        args = t.float()[:, None] * freqs[None, :]
        sin_cos = (torch.cos(args), torch.sin(args)) if self.cfg["flip_sin_to_cos"] \
            else (torch.sin(args), torch.cos(args))
        return torch.cat(sin_cos, dim=-1)

    def forward(self, x, t):
        emb = self.time_features(t).to(x.dtype)
        temb = self.time_embedding["linear_2"](F.silu(self.time_embedding["linear_1"](emb)))
        x = self.conv_in(x)
        skips = [x]
        for block in self.down_blocks:
            for i in range(len(block.resnets)):
                x = block.layer(i, x, temb)
                skips.append(x)
            for sampler in block.resamplers():
                x = sampler(x)
                skips.append(x)
        x = self.mid_block.resnets[0](x, temb)
        if hasattr(self.mid_block, "attentions"):
            x = self.mid_block.attentions[0](x)
        x = self.mid_block.resnets[1](x, temb)
        for block in self.up_blocks:
            for i in range(len(block.resnets)):
                x = block.layer(i, torch.cat([x, skips.pop()], dim=1), temb)
            for sampler in block.resamplers():
                x = sampler(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


def read_safetensors(path):
    """A float32 safetensors file as {name: tensor} (the format's header:
    8-byte little-endian length, JSON, then the raw data)."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = blob[8 + length:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {info['dtype']}, only F32 is read")
        begin, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]),
                                     dtype=torch.float32).reshape(info["shape"])
    return out


def check(folder):
    # grad_tiny_attn and odd_size hold only cases: they use tiny_attn's
    # config and weights (refvec README.txt).
    model_folder = folder if os.path.exists(f"{folder}/config.json") \
        else os.path.join(os.path.dirname(folder.rstrip("/")), "tiny_attn")
    with open(f"{model_folder}/config.json") as f:
        cfg = dict(TINY64, **json.load(f))
    model = UNet2D(cfg)
    model.load_state_dict(
        read_safetensors(f"{model_folder}/diffusion_pytorch_model.safetensors"), strict=True)
    cases = read_safetensors(f"{folder}/cases.safetensors")
    out = model(cases["x"], cases["t"])
    worst = (out - cases["out"]).abs().max().item()
    ok = worst <= 1e-4
    print(f"{folder}: out max |diff| {worst:.2e} (absmax {cases['out'].abs().max():.2f})")
    if "target" in cases:
        F.mse_loss(out, cases["target"]).backward()
        names = dict(model.named_parameters())
        # refvec README.txt's suggested bound: |d| <= 1e-5 + 1e-4 max|tensor|
        worst_grad, within = 0.0, True
        for name, param in names.items():
            ref = cases[f"grad.{name}"]
            diff = (param.grad - ref).abs().max().item()
            worst_grad = max(worst_grad, diff)
            within = within and diff <= 1e-5 + 1e-4 * ref.abs().max().item()
        ok = ok and within
        print(f"  {len(names)} gradients: max |diff| {worst_grad:.2e}, "
              f"{'all' if within else 'NOT all'} within 1e-5 + 1e-4 max|grad|")
    return ok


def time_training(size, batch, repeat):
    """Median seconds of forward (with the loss), backward and AdamW step."""
    torch.manual_seed(0)
    model = UNet2D(TINY64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    alpha_bar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), dim=0)
    images = torch.rand(batch, 3, size, size) * 2 - 1
    times = {"forward": [], "backward": [], "optimiser": []}
    for r in range(repeat + 1):
        start = time.perf_counter()
        noise = torch.randn_like(images)
        t = torch.randint(0, 1000, (batch,))
        scale = alpha_bar[t].sqrt()[:, None, None, None]
        noisy = scale * images + (1 - scale ** 2).sqrt() * noise
        loss = F.mse_loss(model(noisy, t), noise)
        middle = time.perf_counter()
        loss.backward()
        after_backward = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad()
        end = time.perf_counter()
        if r > 0:
            times["forward"].append(middle - start)
            times["backward"].append(after_backward - middle)
            times["optimiser"].append(end - after_backward)
    return {k: statistics.median(v) for k, v in times.items()}


SHAPES = ((64, 16), (32, 32))


def ours_img_per_s(bench_unet, size, repeat):
    """img/s from one `bench-unet --train-run train SIZE` row (its 8th
    column), with our thread count."""
    row = subprocess.run([bench_unet, "--threads", str(torch.get_num_threads()),
                          "--repeat", str(repeat), "--train-run", "train", str(size)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(row[7])


def torch_img_per_s(size, batch, repeat):
    s = time_training(size, batch, repeat)
    return batch / (s["forward"] + s["backward"] + s["optimiser"])


def versus(bench_unet, rounds, repeat):
    results = {shape: ([], []) for shape in SHAPES}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {repeat} "
          f"steps after a warm-up; img/s")
    for r in range(rounds):
        for size, batch in SHAPES:
            runs = [lambda: torch_img_per_s(size, batch, repeat),
                    lambda: ours_img_per_s(bench_unet, size, repeat)]
            first = r % 2
            pair = [0.0, 0.0]
            pair[first] = runs[first]()
            pair[1 - first] = runs[1 - first]()
            results[(size, batch)][0].append(pair[0])
            results[(size, batch)][1].append(pair[1])
            print(f"round {r + 1} {size}x{size} b{batch}: torch {pair[0]:.1f}, ours {pair[1]:.1f} "
                  f"({pair[1] / pair[0]:.2f}x)", flush=True)
    for (size, batch), (theirs, ours) in results.items():
        t, o = statistics.median(theirs), statistics.median(ours)
        ratios = sorted(b / a for a, b in zip(theirs, ours))
        print(f"{size}x{size} b{batch}: median torch {t:.1f}, ours {o:.1f} img/s: {o / t:.2f}x "
              f"(pairs {ratios[0]:.2f}x to {ratios[-1]:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", nargs="+", metavar="DIR")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--versus", metavar="BENCH_UNET")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.check:
        return 0 if all(check(d) for d in args.check) else 1
    if args.versus:
        versus(args.versus, args.rounds, args.repeat)
        return 0
    s = time_training(args.size, args.batch, args.repeat)
    total = s["forward"] + s["backward"] + s["optimiser"]
    print(f"torch {torch.__version__} {args.threads} threads {args.size}x{args.size} "
          f"b{args.batch}: forward {s['forward']:.3f} backward {s['backward']:.3f} "
          f"optimiser {s['optimiser']:.3f} total {total:.3f} s, "
          f"{args.batch / total:.1f} img/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
