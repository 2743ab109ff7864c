#!/usr/bin/python3
# Quality evaluation of gimp-diffusion's inpainting against classic methods
# (issue 6 §3) and the sampler sweep behind the plug-in's defaults (§4).
# Usage and the exact metric definitions: bench/eval/README.md.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass

import cv2
import numpy as np

import dataset
import methods as methods_mod
import metrics
import report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
    "gimp-diffusion", "training-data")
# Resynthesizer's fills of the validation cases, made with GIMP (their
# README.txt): the shared/ folder beside a clone, never part of it.
DEFAULT_RESYNTH = os.path.join(os.path.dirname(ROOT), "shared",
                               "resynth-validation")


@dataclass
class Case:
    image: str        # the image's id (file name without extension)
    kind: str         # box, strokes or blob
    truth: np.ndarray  # (256, 256, 3) uint8 RGB
    hole: np.ndarray   # (256, 256) bool
    seed: int          # the mask seed it was drawn with

    @property
    def key(self):
        return f"{self.image}--{self.kind}"


def load_cases(folder, limit, kinds, seed, only=None):
    """The (image, mask) pairs: the first `limit` images of the folder in
    name order (or those whose name contains one of `only`), each with
    every mask kind."""
    paths = dataset.list_images(folder)
    if only:
        paths = [p for p in paths if any(s in os.path.basename(p) for s in only)]
    if limit:
        paths = paths[:limit]
    cases = []
    for path in paths:
        truth = dataset.validation_image(path)
        name = dataset.image_id(path)
        cases += [Case(name, k, truth, dataset.make_mask(name, k, seed), seed)
                  for k in kinds]
    return cases


def cpu_seconds():
    """CPU time of this process and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_cached(method, case, work, scratch):
    """The method's result on one case (hole composited into the truth, so
    only hole pixels can differ) with its wall and CPU seconds; results are
    kept in work/results/mask-seed-S/KEY/ and reused. A precomputed
    method's file is read each time, not cached, and not timed (NaN)."""
    if isinstance(method, methods_mod.Precomputed):
        result = np.where(case.hole[:, :, None], method.fill(case), case.truth)
        return result, float("nan"), float("nan")
    folder = os.path.join(work, "results", f"mask-seed-{case.seed}",
                          methods_mod.cache_key(method))
    os.makedirs(folder, exist_ok=True)
    png, info = (os.path.join(folder, case.key + ext) for ext in (".png", ".json"))
    if os.path.exists(png) and os.path.exists(info):
        with open(info) as f:
            times = json.load(f)
        return methods_mod.read_png(png), times["wall_s"], times["cpu_s"]
    masked = dataset.masked_input(case.truth, case.hole)
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    out = method(masked, case.hole, scratch)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    result = np.where(case.hole[:, :, None], out, case.truth)
    methods_mod.write_png(png, result)
    with open(info, "w") as f:
        json.dump({"wall_s": wall, "cpu_s": cpu}, f)
    return result, wall, cpu


def evaluate(method_list, cases, work):
    """Runs and scores every method on every case: (rows, results) with
    results[(method name, case key)] = the image."""
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            for method in method_list:
                result, wall, cpu = run_cached(method, case, work, scratch)
                row = {"image": case.image, "mask": case.kind,
                       "method": method.name, "wall_s": wall, "cpu_s": cpu}
                row.update(metrics.score(result, case.truth, case.hole))
                rows.append(row)
                results[(method.name, case.key)] = result
                print(f"{case.key:60s} {method.name:22s} swd {row['swd']:7.1f} "
                      f"psnr {row['psnr']:6.2f} seam {row['seam']:6.2f} "
                      f"{wall:7.1f} s", file=sys.stderr, flush=True)
    return rows, results


def grid_picks(cases, rows):
    """Up to `rows` cases for the figure: image i with mask kind i mod 3."""
    by_image = {}
    for case in cases:
        by_image.setdefault(case.image, []).append(case)
    chosen = []
    for i, image_cases in enumerate(by_image.values()):
        if len(chosen) == rows:
            break
        chosen.append(image_cases[i % len(image_cases)])
    return chosen


def grid_inputs(case):
    return {"input": report.show_hole(
                dataset.masked_input(case.truth, case.hole), case.hole),
            "truth": case.truth}


def grid_cases(cases, results, names, rows):
    """The figure's rows: input, truth and every method."""
    out = []
    for case in grid_picks(cases, rows):
        images = grid_inputs(case)
        images.update({n: results[(n, case.key)] for n in names})
        out.append((case.key, images))
    return out


def versus_grid_cases(cases, results, name, scores, rows):
    """The figure's rows: input, truth, method `name` and the other method
    with the lowest mean patch-SWD on the row's mask kind (named in the
    caption)."""
    out = []
    for case in grid_picks(cases, rows):
        best = report.best_other(scores, case.kind, name)
        images = grid_inputs(case)
        images.update({name: results[(name, case.key)],
                       "best other": results[(best, case.key)]})
        out.append((f"{case.key}; best other on {case.kind}: {best}", images))
    return out


def check_grid_versus(args, names):
    """--grid-versus needs its method and another among those run."""
    if args.grid_versus and (args.grid_versus not in names or len(names) < 2):
        sys.exit(f"--grid-versus {args.grid_versus}: it and another method "
                 f"must be among those run ({', '.join(names)})")


def write_grid(args, cases, results, names, scores):
    """grid.png: every method, or with --grid-versus NAME only NAME and the
    best other method per mask kind (by the score rows)."""
    path = os.path.join(args.out, "grid.png")
    if not args.grid_versus:
        report.write_grid(path, grid_cases(cases, results, names,
                                           args.grid_rows),
                          ["input", "truth"] + names)
        return
    report.write_grid(path, versus_grid_cases(cases, results, args.grid_versus,
                                              scores, args.grid_rows),
                      ["input", "truth", args.grid_versus, "best other"])


def model_name(args):
    """The model's path, SHA-256 prefix and, for a training checkpoint, its
    step."""
    step = methods_mod.training_step(args.model)
    at = f", training checkpoint at step {step}" if step is not None else ""
    return f"`{args.model}` (SHA-256 {args.digest}…{at})"


def model_description(args, ours):
    return (f"{model_name(args)}, sampler {ours.label}, seed {ours.seed}")


def command_line(argv):
    """The command as run, without --note's text (the report shows it)."""
    shown, skip = [], False
    for a in argv:
        if not skip and not a.startswith("--note"):
            shown.append(a)
        skip = a == "--note"
    return shlex.join(["bench/eval/eval.py"] + shown)


def provenance(args, cases):
    images = report.ordered(c.image for c in cases)
    kinds = report.ordered(c.kind for c in cases)
    return (f"Run {datetime.date.today()} on {platform.node()} "
            f"({os.cpu_count()} CPUs, shared), data `{args.data_dir}`: "
            f"{len(images)} image(s) × {len(kinds)} mask kind(s) "
            f"({', '.join(kinds)}), mask seed {args.mask_seed}. Command: "
            f"`{command_line(sys.argv[1:])}`")


def baseline_named(name):
    """The baseline method called `name`, or None for no name."""
    if not name:
        return None
    found = [m for m in methods_mod.baselines() if m.name == name]
    if not found:
        sys.exit(f"no baseline named {name}")
    return found[0]


def make_ours(args, **settings):
    base = dict(binary=args.binary, model=args.model, digest=args.digest,
                sampler=args.sampler, steps=args.steps, seed=args.seed,
                jump_length=args.jump_length, jump_repeats=args.jump_repeats,
                guidance_scale=args.guidance_scale, strength=args.strength,
                match_edges=args.match_edges,
                start_from=baseline_named(args.start_from))
    base.update(settings)
    return methods_mod.Ours(**base)


def precomputed_methods(args, cases, wanted):
    """The precomputed baselines to score, and a note for each left out.
    One named in --methods must have every case's file (else exit); by
    default one with files missing is left out, and the note says so."""
    chosen, notes = [], []
    for m in methods_mod.precomputed(args.resynth_dir):
        if wanted is not None and m.name not in wanted:
            continue
        missing = m.missing(cases)
        if not missing:
            chosen.append(m)
            continue
        gap = (f"{m.name}: {len(missing)} of {len(cases)} case(s) have no "
               f"file in `{m.folder}` (first: {missing[0].key}.png)")
        if wanted is not None:
            sys.exit(f"{gap}; give the folder with --resynth-dir or leave "
                     f"{m.name} out of --methods")
        print(f"warning: {gap}; left out", file=sys.stderr)
        notes.append(f"Left out: {gap}.")
    return chosen, notes


def chosen_methods(args, cases):
    """The baselines named by --methods (all by default), the precomputed
    ones, then ours unless --methods leaves out "ours"; ours is None when
    not run. Also the notes on precomputed methods left out."""
    wanted = args.methods.split(",") if args.methods else None
    known = [m.name for m in methods_mod.baselines() +
             methods_mod.precomputed(args.resynth_dir)] + ["ours"]
    unknown = [n for n in wanted or [] if n not in known]
    if unknown:
        sys.exit(f"unknown method(s) {', '.join(unknown)}; known: "
                 f"{', '.join(known)}")
    chosen = [m for m in methods_mod.baselines()
              if wanted is None or m.name in wanted]
    stored, notes = precomputed_methods(args, cases, wanted)
    ours = make_ours(args) if wanted is None or "ours" in wanted else None
    return chosen + stored + ([ours] if ours else []), ours, notes


def seconds_note(chosen):
    """What the seconds columns mean, naming the methods not timed."""
    text = ("Seconds are per image, wall clock and CPU (this process and its "
            "children), on a machine other jobs share.")
    stored = [m for m in chosen if isinstance(m, methods_mod.Precomputed)]
    if stored:
        text += (f" {', '.join(m.name for m in stored)}: fills read from "
                 f"files ({', '.join(f'`{m.folder}`' for m in stored)}), "
                 "made elsewhere, so its seconds are not measured here.")
    return text


def run_results(args, cases):
    chosen, ours, notes = chosen_methods(args, cases)
    names = [m.name for m in chosen]
    check_grid_versus(args, names)
    rows, results = evaluate(chosen, cases, args.work)
    out = args.out
    os.makedirs(out, exist_ok=True)
    report.write_tsv(os.path.join(out, "results.tsv"), rows,
                     report.ID_COLUMNS + report.METRICS)
    write_grid(args, cases, results, names, rows)
    title = "our model against classic methods" if ours else "classic methods"
    lines = [f"# Inpainting quality: {title}", "",
             f"Model: {model_description(args, ours)}.\n" if ours else "",
             args.note + "\n" if args.note else "",
             provenance(args, cases), "",
             *[n + "\n" for n in notes],
             "Means over images of the scores on the hole (definitions: "
             "`bench/eval/README.md`); per-image numbers in `results.tsv`, "
             "examples in `grid.png`. ↑ higher is better, ↓ lower is better. "
             + seconds_note(chosen), ""]
    for kind in report.ordered(c.kind for c in cases):
        lines += [f"## {kind}", "", report.method_table(rows, kind), ""]
    if ours:
        lines += ["## Target (issue 6 §3)", "",
                  report.target_check(rows, ours.name), ""]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}/results.md, results.tsv, grid.png", file=sys.stderr)


def sweep_configs(args):
    return [make_ours(args, sampler=s, steps=n, jump_length=0, jump_repeats=0)
            for s in args.samplers.split(",")
            for n in (int(x) for x in args.sweep_steps.split(","))]


def summarise(rows, configs):
    """One dict per configuration: means over all cases, and patch-SWD per
    mask kind."""
    summary = []
    for c in configs:
        g = report.group(rows, method=c.name)
        s = {"label": c.label, "sampler": c.sampler, "steps": c.steps,
             "repaint": c.jump_repeats > 1}
        s.update({m: report.mean_of(g, m) for m in report.METRICS})
        s.update({f"swd_{k}": report.mean_of(report.group(g, mask=k), "swd")
                  for k in report.ordered(r["mask"] for r in g)})
        summary.append(s)
    return summary


def repaint_configs(args, summary):
    """RePaint (jump J, repeats from --repaint-repeats) on the plain setting
    with the lowest mean patch-SWD among those with at least 2J steps (with
    fewer, RePaint never jumps)."""
    plain = [s for s in summary if s["steps"] >= 2 * args.repaint_jump]
    if not plain:
        return []
    best = min(plain, key=lambda s: s["swd"])
    return [make_ours(args, sampler=best["sampler"], steps=best["steps"],
                      jump_length=args.repaint_jump, jump_repeats=r)
            for r in (int(x) for x in args.repaint_repeats.split(","))]


def sweep_table(summary):
    kinds = [k[4:] for k in summary[0] if k.startswith("swd_")]
    front = set(report.pareto([(s["cpu_s"], s["swd"]) for s in summary]))
    header = (["setting", "patch-SWD ↓"] + [f"SWD {k}" for k in kinds] +
              ["PSNR dB", "SSIM", "seam", "s/image", "CPU s/image", "Pareto"])
    body = [[s["label"], f"{s['swd']:.2f}"] +
            [f"{s['swd_' + k]:.2f}" for k in kinds] +
            [f"{s['psnr']:.2f}", f"{s['ssim']:.3f}", f"{s['seam']:.2f}",
             f"{s['wall_s']:.1f}", f"{s['cpu_s']:.1f}", "●" if i in front else ""]
            for i, s in enumerate(summary)]
    return report.md_table(header, body)


def cheapest_near_best(summary, tolerance):
    """The setting with the least CPU time whose patch-SWD is within
    `tolerance` (relative) of the best one's."""
    best = min(s["swd"] for s in summary)
    near = [s for s in summary if s["swd"] <= best * (1 + tolerance)]
    return min(near, key=lambda s: s["cpu_s"])


def run_sweep(args, cases):
    configs = sweep_configs(args)
    rows, _ = evaluate(configs, cases, args.work)
    extra = repaint_configs(args, summarise(rows, configs))
    more, _ = evaluate(extra, cases, args.work)
    rows += more
    configs += extra
    summary = summarise(rows, configs)
    out = args.out
    os.makedirs(out, exist_ok=True)
    report.write_tsv(os.path.join(out, "sweep.tsv"), rows,
                     report.ID_COLUMNS + report.METRICS)
    report.write_sweep_plot(os.path.join(out, "sweep.png"), summary,
                            f"{os.path.basename(args.model)} ({args.digest})")
    pick = cheapest_near_best(summary, args.tolerance)
    lines = ["# Sampler sweep: quality against time", "",
             f"Model: {model_name(args)}, seed {args.seed}.",
             "", args.note + "\n" if args.note else "",
             provenance(args, cases), "",
             "Means over all (image, mask) cases; patch-SWD also per mask "
             "kind. Pareto: no other setting is both cheaper (CPU s) and "
             "better (patch-SWD). Plot: `sweep.png`; per-image numbers: "
             "`sweep.tsv`.", "", sweep_table(summary), "",
             f"Cheapest setting within {100 * args.tolerance:.0f}% of the "
             f"best patch-SWD: **{pick['label']}** (patch-SWD "
             f"{pick['swd']:.2f}, {pick['cpu_s']:.1f} CPU s/image).", ""]
    with open(os.path.join(out, "sweep.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}/sweep.md, sweep.tsv, sweep.png; pick {pick['label']}",
          file=sys.stderr)


def blurred_fill(case, sigma=3.0):
    """The truth blurred (Gaussian, sigma px) inside the hole: right
    colours and shapes, no texture."""
    blurred = cv2.GaussianBlur(case.truth, (0, 0), sigma)
    return np.where(case.hole[:, :, None], blurred, case.truth)


def offset_fill(case, levels=20):
    """The truth brightened by `levels` grey levels inside the hole: the
    texture is right, the border is a step."""
    bright = np.clip(case.truth.astype(int) + levels, 0, 255).astype(np.uint8)
    return np.where(case.hole[:, :, None], bright, case.truth)


def check(ok, text, failures):
    print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if not ok:
        failures.append(text)


def self_test(args):
    """Known answers of the metrics, printed."""
    failures = []
    photos = load_cases(os.path.join(args.data_dir, "photo", "validation"), 2,
                        dataset.MASK_KINDS, args.mask_seed)
    for case in photos:
        s = metrics.score(case.truth, case.truth, case.hole)
        check(np.isinf(s["psnr"]) and s["ssim"] == 1.0 and s["swd"] == 0.0 and
              s["seam"] == 0.0,
              f"truth as result, {case.key}: PSNR {s['psnr']}, SSIM "
              f"{s['ssim']}, SWD {s['swd']}, seam {s['seam']}", failures)
        again = dataset.make_mask(case.image, case.kind, args.mask_seed)
        check(np.array_equal(again, case.hole),
              f"mask {case.key} is the same when drawn again "
              f"(hole {100 * case.hole.mean():.1f}% of the image)", failures)
        s = metrics.score(offset_fill(case), case.truth, case.hole)
        check(s["seam"] > 1.0,
              f"truth +20 levels in the hole, {case.key}: seam {s['seam']:.2f} "
              f"> 1 (SWD {s['swd']:.1f})", failures)
    textures = load_cases(os.path.join(args.data_dir, "texture", "validation"),
                          args.limit or 4, dataset.MASK_KINDS, args.mask_seed)
    telea = methods_mod.OpenCV("telea", cv2.INPAINT_TELEA)
    patch = next(m for m in methods_mod.baselines() if m.name == "gmic-patch")
    means = {"blurred truth": [], "telea": [], "gmic-patch": []}
    with tempfile.TemporaryDirectory() as scratch:
        for case in textures:
            masked = dataset.masked_input(case.truth, case.hole)
            fills = {"blurred truth": blurred_fill(case),
                     "telea": telea(masked, case.hole, scratch),
                     "gmic-patch": patch(masked, case.hole, scratch)}
            scores = {n: metrics.score(np.where(case.hole[:, :, None], f,
                                                case.truth), case.truth, case.hole)
                      for n, f in fills.items()}
            for n, s in scores.items():
                means[n].append((s["swd"], s["psnr"]))
            print(f"      {case.key:40s} " + "  ".join(
                f"{n} SWD {s['swd']:6.1f} PSNR {s['psnr']:5.2f}"
                for n, s in scores.items()))
    swd = {n: np.mean([v[0] for v in vals]) for n, vals in means.items()}
    psnr = {n: np.mean([v[1] for v in vals]) for n, vals in means.items()}
    summary = ", ".join(f"{n} {swd[n]:.1f} (PSNR {psnr[n]:.2f})" for n in swd)
    check(swd["blurred truth"] > swd["gmic-patch"] and
          swd["telea"] > swd["gmic-patch"],
          f"textures ({len(textures)} cases), mean patch-SWD: {summary}; "
          "the blurred fills score worse than the patch-based one", failures)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Inpainting quality: our model against OpenCV, "
        "scikit-image and G'MIC, on held-out images with box, stroke and "
        "blob holes (bench/eval/README.md).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sweep", action="store_true",
                      help="sweep our samplers and step counts instead")
    mode.add_argument("--self-test", action="store_true",
                      help="check the metrics on known answers")
    p.add_argument("--data-dir", default=DEFAULT_DATA,
                   help="scripts/fetch-training-data's folder (%(default)s)")
    p.add_argument("--set", default="photo", choices=["photo", "texture"],
                   help="which validation set (%(default)s)")
    p.add_argument("--limit", type=int, default=0,
                   help="only the first N images (0: all)")
    p.add_argument("--images", help="only images whose name contains one of "
                   "these comma-separated strings")
    p.add_argument("--masks", default=",".join(dataset.MASK_KINDS),
                   help="mask kinds (%(default)s)")
    p.add_argument("--mask-seed", type=int, default=0)
    p.add_argument("--methods", help="comma-separated method names to run "
                   "(default: all baselines, resynthesizer where its files "
                   "are all there, and ours)")
    p.add_argument("--resynth-dir", default=DEFAULT_RESYNTH,
                   help="Resynthesizer's precomputed fills, IMAGE--KIND.png "
                   "(%(default)s)")
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "cli",
                                                    "gimp-diffusion"))
    p.add_argument("--model", help="our model (file or folder)")
    p.add_argument("--sampler", default="ddim")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jump-length", type=int, default=0)
    p.add_argument("--jump-repeats", type=int, default=0)
    p.add_argument("--guidance-scale", type=float, default=1.0,
                   help="classifier-free guidance of a mask-conditioned "
                   "model (%(default)s: none)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="start from the hole's smooth fill noised this far "
                   "(%(default)s: from pure noise)")
    p.add_argument("--match-edges", action="store_true",
                   help="shift our fill to meet its surroundings")
    p.add_argument("--start-from", metavar="BASELINE",
                   help="with --strength below 1, start from this "
                   "baseline's fill of the hole instead of the smooth one")
    p.add_argument("--samplers", default="ddim,ddpm,sde,pc,ode",
                   help="--sweep: samplers (%(default)s)")
    p.add_argument("--sweep-steps", default="10,25,50,100",
                   help="--sweep: step counts (%(default)s)")
    p.add_argument("--repaint-jump", type=int, default=10)
    p.add_argument("--repaint-repeats", default="2,5")
    p.add_argument("--tolerance", type=float, default=0.05,
                   help="--sweep: suggest the cheapest setting this close "
                   "(relative) to the best patch-SWD (%(default)s)")
    p.add_argument("--grid-rows", type=int, default=3)
    p.add_argument("--grid-versus", metavar="METHOD",
                   help="grid.png shows only this method and, per mask "
                   "kind, the other one with the lowest patch-SWD")
    p.add_argument("--note", default="",
                   help="a paragraph for the top of the report")
    p.add_argument("--work", default=os.path.join(ROOT, "build", "eval"),
                   help="cache of results (%(default)s)")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "eval"),
                   help="where the reports go (%(default)s)")
    args = p.parse_args(argv)
    needs_model = not args.self_test and (
        args.sweep or not args.methods or "ours" in args.methods)
    if needs_model and not args.model:
        p.error("--model is required to run our method")
    return args


def main(argv):
    args = parse_args(argv)
    if args.self_test:
        return self_test(args)
    if args.model:
        args.digest = methods_mod.model_digest(args.model)
    folder = os.path.join(args.data_dir, args.set, "validation")
    only = args.images.split(",") if args.images else None
    cases = load_cases(folder, args.limit, args.masks.split(","),
                       args.mask_seed, only)
    if not cases:
        sys.exit(f"no images in {folder}")
    try:
        (run_sweep if args.sweep else run_results)(args, cases)
    except methods_mod.PrecomputedError as e:
        sys.exit(f"error: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
