# What the evaluation writes: per-image TSV, Markdown tables, the image grid
# and the sweep plot.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import math

import cv2
import numpy as np

from dataset import MASK_KINDS
from metrics import SWD_LEVELS

METRICS = (["psnr", "ssim", "swd"] + [f"swd{k}" for k in range(SWD_LEVELS)] +
           ["seam", "wall_s", "cpu_s"])
ID_COLUMNS = ["image", "mask", "method"]


def fmt(value):
    """A TSV cell; NaN (seconds of a precomputed method) is NA."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def write_tsv(path, rows, columns):
    with open(path, "w") as f:
        f.write("\t".join(columns) + "\n")
        for row in rows:
            f.write("\t".join(fmt(row[c]) for c in columns) + "\n")


def mean_of(rows, key):
    """Mean over rows; PSNR of identical pixels (inf) is kept as inf."""
    values = [r[key] for r in rows]
    return float(np.mean(values)) if values else float("nan")


def group(rows, **match):
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def ordered(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def md_table(header, body):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def cell(value, digits):
    """A Markdown table cell; NaN (seconds of a precomputed method) is
    "not measured"."""
    return "not measured" if math.isnan(value) else f"{value:.{digits}f}"


def method_table(rows, kind):
    """One mask kind: a row per method with the means over images."""
    header = ["method", "PSNR dB ↑", "SSIM ↑", "patch-SWD ↓"] + \
             [f"SWD L{k}" for k in range(SWD_LEVELS)] + \
             ["seam ↓", "s/image", "CPU s/image"]
    body = []
    for method in ordered(r["method"] for r in rows):
        g = group(rows, mask=kind, method=method)
        if g:
            body.append([method] + [cell(mean_of(g, m), 3 if m == "ssim"
                                         else 2) for m in METRICS])
    return md_table(header, body)


def best_other(rows, kind, name):
    """The method other than `name` with the lowest mean patch-SWD on mask
    kind `kind`."""
    others = [m for m in ordered(r["method"] for r in rows) if m != name]
    return min(others, key=lambda m: mean_of(group(rows, mask=kind, method=m),
                                             "swd"))


def target_check(rows, ours, reference="telea"):
    """Per mask kind: our patch-SWD against the best baseline's, our seam
    against Telea's (issue 6 §3's target)."""
    lines = []
    baselines = [m for m in ordered(r["method"] for r in rows) if m != ours]
    for kind in MASK_KINDS:
        mine = group(rows, mask=kind, method=ours)
        if not mine or not baselines:
            continue
        swd = {m: mean_of(group(rows, mask=kind, method=m), "swd")
               for m in baselines}
        best = min(swd, key=swd.get)
        my_swd, my_seam = mean_of(mine, "swd"), mean_of(mine, "seam")
        ref_seam = mean_of(group(rows, mask=kind, method=reference), "seam")
        swd_ok = my_swd < swd[best]
        seam_ok = my_seam <= ref_seam
        lines.append(
            f"- **{kind}**: patch-SWD {my_swd:.1f} vs best baseline "
            f"{best} {swd[best]:.1f} — {'beats' if swd_ok else 'does NOT beat'} "
            f"it; seam {my_seam:.2f} vs {reference} {ref_seam:.2f} — "
            f"{'no worse' if seam_ok else 'WORSE'}.")
    return "\n".join(lines)


def label_strip(width, text, height=22):
    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def show_hole(masked, hole):
    """The masked input as shown in the grid: the hole in magenta."""
    shown = masked.copy()
    shown[hole] = (255, 0, 255)
    return shown


def write_grid(path, cases, columns):
    """cases: [(caption, {column name: RGB uint8})]; columns: the order.
    One row per case under a caption strip, the column names on top."""
    size = next(iter(cases[0][1].values())).shape[1]

    def row_of(tiles):
        gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        parts = []
        for t in tiles:
            parts += [t, gap]
        return np.hstack(parts[:-1])

    header = row_of([label_strip(size, c) for c in columns])
    blocks = [header]
    for caption, images in cases:
        tiles = row_of([images[c] for c in columns])
        blocks += [label_strip(tiles.shape[1], caption), tiles]
    cv2.imwrite(path, cv2.cvtColor(np.vstack(blocks), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_PNG_COMPRESSION, 9])


def pareto(points):
    """Indices of the (cost, loss) points no other point beats on both."""
    front = []
    for i, (c, l) in enumerate(points):
        if not any((c2 <= c and l2 <= l) and (c2, l2) != (c, l)
                   for c2, l2 in points):
            front.append(i)
    return front


def write_sweep_plot(path, summary, title):
    """Patch-SWD against CPU seconds per image, a line per sampler."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sampler in ordered(s["sampler"] for s in summary):
        pts = [s for s in summary if s["sampler"] == sampler and not s["repaint"]]
        ax.plot([p["cpu_s"] for p in pts], [p["swd"] for p in pts], "o-",
                label=sampler)
        for p in pts:
            ax.annotate(str(p["steps"]), (p["cpu_s"], p["swd"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    for p in (s for s in summary if s["repaint"]):
        ax.plot(p["cpu_s"], p["swd"], "k*", markersize=9)
        ax.annotate(p["label"], (p["cpu_s"], p["swd"]), fontsize=7,
                    xytext=(3, -9), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("CPU seconds per image (log)")
    ax.set_ylabel("patch-SWD ×1e3 (lower is better)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
