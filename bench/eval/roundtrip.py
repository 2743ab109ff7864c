#!/usr/bin/python3
# How much of a photo's texture a model keeps. Every validation photo goes
# through `gimp-diffusion inpaint` with all its pixels selected, starting
# from the photo itself (--from-pixels) noised to strength S (SDEdit), and
# the result is scored against the photo over the whole image: PSNR and
# patch-SWD (bench/eval/README.md). A model that has learnt the fine
# texture of photographs returns other but equally textured pixels (low
# patch-SWD); one that has not returns them smoothed, which Gaussian blurs
# of the photos show for reference.
# Usage: bench/eval/roundtrip.py --data-dir DIR --model A [--model B ...]
#            [--strengths 0.1,0.3,0.5 --steps 50 --limit 0 --out DIR]
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import argparse
import os
import sys
import tempfile

import cv2
import numpy as np

import dataset
import methods
import metrics

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BLUR_SIGMAS = (1.0, 2.0)


def round_trip(binary, model, photo, strength, steps, scratch):
    """The photo after `strength` of the reverse process, from itself."""
    image, mask, out = (os.path.join(scratch, n) for n in
                        ("photo.png", "all.png", "out.png"))
    methods.write_png(image, photo)
    methods.write_mask(mask, np.ones(photo.shape[:2], bool))
    methods.run_tool([binary, "inpaint", "-q", "--model", model, "--image",
                      image, "--mask", mask, "--from-pixels", "--strength",
                      str(strength), "--steps", str(steps), "--out", out])
    return methods.read_png(out)


def scores(result, photo):
    whole = np.ones(photo.shape[:2], bool)
    return (metrics.psnr(result, photo, whole),
            float(np.mean(metrics.patch_swd(result, photo, whole))))


def table(rows):
    """Markdown: one line per (what, setting) with the means over photos."""
    lines = ["| what | setting | PSNR dB ↑ | patch-SWD ↓ |", "|---|---|---|---|"]
    for (what, setting), values in rows.items():
        psnr, swd = np.mean(values, axis=0)
        lines.append(f"| {what} | {setting} | {psnr:.2f} | {swd:.1f} |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="How much of a photo's texture a model keeps through "
        "the reverse process started from the photo itself.")
    p.add_argument("--data-dir", required=True,
                   help="scripts/fetch-training-data's folder")
    p.add_argument("--set", default="photo", choices=["photo", "texture"])
    p.add_argument("--model", action="append", required=True,
                   help="a model to run (repeat for several)")
    p.add_argument("--strengths", default="0.1,0.3,0.5")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--limit", type=int, default=0,
                   help="only the first N photos (0: all)")
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "cli",
                                                    "gimp-diffusion"))
    p.add_argument("--out", required=True,
                   help="folder for roundtrip.md and roundtrip.png")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    paths = dataset.list_images(os.path.join(args.data_dir, args.set,
                                             "validation"))
    paths = paths[:args.limit] if args.limit else paths
    strengths = [float(s) for s in args.strengths.split(",")]
    rows, strip = {}, []
    with tempfile.TemporaryDirectory() as scratch:
        for n, path in enumerate(paths):
            photo = dataset.validation_image(path)
            if n == 0:
                strip.append(photo)
            for sigma in BLUR_SIGMAS:
                blurred = cv2.GaussianBlur(photo, (0, 0), sigma)
                rows.setdefault(("Gaussian blur", f"σ {sigma:g}"), []).append(
                    scores(blurred, photo))
            for model in args.model:
                for strength in strengths:
                    result = round_trip(args.binary, model, photo, strength,
                                        args.steps, scratch)
                    if n == 0:
                        strip.append(result)
                    key = (os.path.basename(model.rstrip("/")),
                           f"DDIM {args.steps}, strength {strength:g}")
                    rows.setdefault(key, []).append(scores(result, photo))
                    print(f"{dataset.image_id(path):50s} {key[0]} "
                          f"{strength:g}: psnr {rows[key][-1][0]:.2f} swd "
                          f"{rows[key][-1][1]:.1f}", file=sys.stderr,
                          flush=True)
    os.makedirs(args.out, exist_ok=True)
    methods.write_png(os.path.join(args.out, "roundtrip.png"),
                      np.concatenate(strip, axis=1))
    with open(os.path.join(args.out, "roundtrip.md"), "w") as f:
        f.write(f"Means over {len(paths)} validation photos; "
                f"`roundtrip.png`: the first photo, then each model's "
                f"results at strengths {args.strengths}.\n\n"
                + table(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
