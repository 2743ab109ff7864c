# The inpainting methods compared: classic baselines and our CLI. Each is a
# callable (masked RGB uint8 (H, W, 3), hole bool (H, W), scratch folder) ->
# RGB uint8 (H, W, 3), with a `name` used as column label and cache key;
# a precomputed one (Resynthesizer's fills) is read from files instead.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import hashlib
import json
import os
import struct
import subprocess
import sys
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.restoration import inpaint_biharmonic

OPENCV_RADIUS = 3  # neighbourhood radius of Telea / Navier-Stokes (OpenCV docs)
# G'MIC-Qt's "Inpaint [Patch-Based]" defaults (Daisy et al. 2013/2014):
# patch 7, lookup 16, lookup factor 0.1, increment 1, blend size 1.2,
# threshold 0, decay 0.05, 10 scales, outer blending on.
GMIC_PATCH_ARGS = "7,16,0.1,1,1.2,0,0.05,10,1"


def write_png(path, rgb):
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def read_png(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError(f"{path}: no output written")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_mask(path, hole):
    cv2.imwrite(path, hole.astype(np.uint8) * 255)


def run_tool(argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")


class OpenCV:
    """cv2.inpaint: Telea 2004 (fast marching) or Bertalmio et al. 2001
    (Navier-Stokes)."""

    def __init__(self, name, flag):
        self.name, self.flag = name, flag

    def __call__(self, masked, hole, scratch):
        bgr = cv2.cvtColor(masked, cv2.COLOR_RGB2BGR)
        out = cv2.inpaint(bgr, hole.astype(np.uint8) * 255, OPENCV_RADIUS,
                          self.flag)
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


class Biharmonic:
    """scikit-image's biharmonic inpainting (Damelin & Hoang 2018)."""
    name = "biharmonic"

    def __call__(self, masked, hole, scratch):
        out = inpaint_biharmonic(masked.astype(np.float64) / 255.0, hole,
                                 channel_axis=-1)
        return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


class Gmic:
    """The gmic command line on PNG files: `inpaint` with a patch size is
    the patch-based method, `inpaint_matchpatch` the multi-scale one."""

    def __init__(self, name, command):
        self.name, self.command = name, command

    def __call__(self, masked, hole, scratch):
        image, mask, out = (os.path.join(scratch, n) for n in
                            ("gmic-in.png", "gmic-mask.png", "gmic-out.png"))
        write_png(image, masked)
        write_mask(mask, hole)
        run_tool(["gmic", "-v", "-1", image, mask, *self.command,
                  "-keep[0]", "-cut", "0,255", "-o", out])
        return read_png(out)


def model_digest(path):
    """First 10 hex digits of the SHA-256 of the model's bytes (a folder:
    of its files in name order), so results of another model are not
    reused."""
    digest = hashlib.sha256()
    paths = ([os.path.join(path, n) for n in sorted(os.listdir(path))]
             if os.path.isdir(path) else [path])
    for p in paths:
        if os.path.isfile(p):
            with open(p, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:10]


def training_step(path):
    """The optimiser step of a training checkpoint (a .safetensors file whose
    metadata has dm.adam_step), else None."""
    if not path.endswith(".safetensors") or not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    step = header.get("__metadata__", {}).get("dm.adam_step")
    return int(step) if step is not None else None


@dataclass
class Ours:
    """`gimp-diffusion inpaint` with a model and sampler settings."""
    binary: str
    model: str
    digest: str
    sampler: str = "ddim"
    steps: int = 50
    seed: int = 0
    jump_length: int = 0
    jump_repeats: int = 0
    guidance_scale: float = 1.0
    strength: float = 1.0
    match_edges: bool = False
    start_from: object = None  # a baseline whose fill the hole starts from

    @property
    def label(self):
        """The settings, e.g. 'ddim 50', 'ddim 50 j10r2', 'ddim 50 w2'
        (classifier-free guidance of a mask-conditioned model) or 'ddim 50
        s0.5' (starting from the smooth fill noised to strength 0.5), with
        ' e' when the fill's edges are matched (--match-edges) and
        ' from NAME' when the hole starts from baseline NAME's fill
        (--from-pixels) instead of the smooth one."""
        repaint = (f" j{self.jump_length}r{self.jump_repeats}"
                   if self.jump_repeats > 1 else "")
        guidance = (f" w{self.guidance_scale:g}"
                    if self.guidance_scale != 1.0 else "")
        strength = f" s{self.strength:g}" if self.strength != 1.0 else ""
        edges = " e" if self.match_edges else ""
        start = f" from {self.start_from.name}" if self.start_from else ""
        return (f"{self.sampler} {self.steps}{repaint}{guidance}{strength}"
                f"{edges}{start}")

    @property
    def name(self):
        return "ours " + self.label

    @property
    def cache_key(self):
        return f"ours-{self.digest}-{self.label.replace(' ', '-')}-s{self.seed}"

    def __call__(self, masked, hole, scratch):
        image, mask, out = (os.path.join(scratch, n) for n in
                            ("ours-in.png", "ours-mask.png", "ours-out.png"))
        start = self.start_from(masked, hole, scratch) if self.start_from \
            else masked
        write_png(image, start)
        write_mask(mask, hole)
        run_tool([self.binary, "inpaint", "-q", "--model", self.model,
                  "--image", image, "--mask", mask, "--out", out,
                  "--sampler", self.sampler, "--steps", str(self.steps),
                  "--seed", str(self.seed),
                  "--jump-length", str(self.jump_length),
                  "--jump-repeats", str(self.jump_repeats),
                  "--guidance-scale", str(self.guidance_scale),
                  "--strength", str(self.strength)]
                 + (["--match-edges"] if self.match_edges else [])
                 + (["--from-pixels"] if self.start_from else []))
        return read_png(out)


class PrecomputedError(RuntimeError):
    """A precomputed fill that cannot be used (eval.py exits with it)."""


class Precomputed:
    """Fills made elsewhere, read from FOLDER/IMAGE--KIND.png (the case's
    key): the whole 256x256 RGB image, as run_cached stores a result.
    Resynthesizer's Heal Selection is one: it needs GIMP. Nothing is timed
    here, so its seconds are not measured (NaN)."""

    def __init__(self, name, folder):
        self.name, self.folder = name, folder

    def path(self, case):
        return os.path.join(self.folder, case.key + ".png")

    def missing(self, cases):
        """The cases that have no file."""
        return [c for c in cases if not os.path.isfile(self.path(c))]

    def fill(self, case):
        """The stored fill of one case. Known pixels that differ from the
        truth mean another image or hole than the case's (e.g. a blob mask
        rasterised by another OpenCV): a warning, since only the hole is
        scored."""
        path = self.path(case)
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape != case.truth.shape:
            h, w = case.truth.shape[:2]
            raise PrecomputedError(f"{path}: not a readable {w}x{h} image")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        outside = (rgb != case.truth).any(axis=2) & ~case.hole
        if outside.any():
            print(f"warning: {path}: {outside.sum()} pixel(s) outside the "
                  "hole differ from the truth", file=sys.stderr)
        return rgb

    def __call__(self, masked, hole, scratch):
        raise PrecomputedError(f"{self.name} is precomputed: it cannot be run")


def baselines():
    return [OpenCV("telea", cv2.INPAINT_TELEA),
            OpenCV("navier-stokes", cv2.INPAINT_NS), Biharmonic(),
            Gmic("gmic-patch", ["-inpaint[0]", f"[1],{GMIC_PATCH_ARGS}"]),
            Gmic("gmic-multiscale", ["-inpaint_matchpatch[0]", "[1]"])]


def precomputed(resynth_dir):
    """The baselines read from files rather than run."""
    return [Precomputed("resynthesizer", resynth_dir)]


def cache_key(method):
    return getattr(method, "cache_key", method.name)
