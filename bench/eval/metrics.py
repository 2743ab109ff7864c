# Scores of an inpainted image against the truth, on the hole (definitions in
# README.md in this folder). Images are (H, W, 3) uint8 RGB, masks (H, W)
# bool with True = hole.
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import cv2
import numpy as np
from skimage.metrics import structural_similarity

SWD_LEVELS = 4         # Laplacian pyramid levels: 256, 128, 64, 32
SWD_PATCH = 7          # patch side at every level
SWD_DIRECTIONS = 256   # random projections
SWD_SEED = 2018        # the directions are the same for every call
SWD_STD_FLOOR = 1.0 / 255.0  # a flat truth band is not divided by ~0


def to_float(rgb):
    return rgb.astype(np.float32) / 255.0


def psnr(result, truth, mask):
    """10 log10(1 / MSE) over the hole's pixels and channels, in [0, 1]
    units; inf when they are equal."""
    diff = to_float(result)[mask] - to_float(truth)[mask]
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def hole_bbox(mask):
    ys, xs = np.nonzero(mask)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def ssim_bbox(result, truth, mask):
    """skimage's SSIM (7x7 uniform windows, channel mean) over the hole's
    bounding box, grown to at least 7x7 inside the image."""
    y0, y1, x0, x1 = hole_bbox(mask)
    h, w = mask.shape
    y0, x0 = max(0, min(y0, y1 - 7)), max(0, min(x0, x1 - 7))
    y1, x1 = min(h, max(y1, y0 + 7)), min(w, max(x1, x0 + 7))
    return float(structural_similarity(
        to_float(truth)[y0:y1, x0:x1], to_float(result)[y0:y1, x0:x1],
        channel_axis=2, data_range=1.0))


def laplacian_pyramid(rgb, levels):
    """[L_0, ..., L_{levels-2}, G_{levels-1}]: L_k = G_k - up(G_{k+1}),
    G_0 the image in [0, 1], G_{k+1} = pyrDown(G_k) (5-tap binomial)."""
    gaussian = [to_float(rgb)]
    for _ in range(levels - 1):
        gaussian.append(cv2.pyrDown(gaussian[-1]))
    bands = []
    for fine, coarse in zip(gaussian, gaussian[1:]):
        up = cv2.pyrUp(coarse, dstsize=(fine.shape[1], fine.shape[0]))
        bands.append(fine - up)
    return bands + [gaussian[-1]]


def mask_at_level(mask, shape):
    """The hole at a pyramid level: pixels whose footprint touches it."""
    coverage = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]),
                          interpolation=cv2.INTER_AREA)
    return coverage > 0


def patch_descriptors(band, centres):
    """(n, 7*7*3): the 7x7 neighbourhoods (reflected at the border) of the
    pixels where `centres` is True."""
    r = SWD_PATCH // 2
    padded = np.pad(band, ((r, r), (r, r), (0, 0)), mode="reflect")
    ys, xs = np.nonzero(centres)
    offsets = np.arange(SWD_PATCH)
    rows = ys[:, None, None] + offsets[None, :, None]
    cols = xs[:, None, None] + offsets[None, None, :]
    return padded[rows, cols].reshape(len(ys), -1)  # (n, 7, 7, 3) flattened


def swd_directions():
    rng = np.random.default_rng(SWD_SEED)
    d = rng.standard_normal((SWD_PATCH * SWD_PATCH * 3, SWD_DIRECTIONS))
    return (d / np.linalg.norm(d, axis=0, keepdims=True)).astype(np.float32)


DIRECTIONS = swd_directions()


def sliced_wasserstein(a, b):
    """Sliced Wasserstein-1 distance between two equal-sized point sets:
    the mean over directions of the mean |sorted projections difference|."""
    pa = np.sort(a @ DIRECTIONS, axis=0)
    pb = np.sort(b @ DIRECTIONS, axis=0)
    return float(np.mean(np.abs(pa - pb)))


def normalise_by(truth_desc, *descs):
    """Each colour channel of the descriptors minus the truth's mean, over
    the truth's standard deviation (Karras et al. 2018, §5)."""
    t = truth_desc.reshape(len(truth_desc), -1, 3)
    mean = t.mean(axis=(0, 1))
    std = np.maximum(t.std(axis=(0, 1)), SWD_STD_FLOOR)
    return [((d.reshape(len(d), -1, 3) - mean) / std).reshape(len(d), -1)
            for d in (truth_desc,) + descs]


def patch_swd(result, truth, mask):
    """Per level (finest first) sliced Wasserstein distance x 1e3 between
    the 7x7 patches of result and truth centred in the hole."""
    per_level = []
    for band_r, band_t in zip(laplacian_pyramid(result, SWD_LEVELS),
                              laplacian_pyramid(truth, SWD_LEVELS)):
        centres = mask_at_level(mask, band_t.shape)
        desc_t, desc_r = normalise_by(patch_descriptors(band_t, centres),
                                      patch_descriptors(band_r, centres))
        per_level.append(1e3 * sliced_wasserstein(desc_r, desc_t))
    return per_level


def gradient_magnitude(rgb):
    """(H, W, 3) |grad| per channel, central differences (one-sided at the
    image border), in [0, 1] units per pixel."""
    f = to_float(rgb)
    gy, gx = np.gradient(f, axis=(0, 1))
    return np.sqrt(gx * gx + gy * gy)


def hole_border_band(mask):
    """The 2-pixel band along the hole's border: hole pixels with a
    4-neighbour outside it, and outside pixels with a 4-neighbour in it.
    The image's own edge is not a border."""
    p = np.pad(mask, 1, mode="edge")
    neighbours = [p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]
    any_in = np.logical_or.reduce(neighbours)
    all_in = np.logical_and.reduce(neighbours)
    return (mask & ~all_in) | (~mask & any_in)


def seam_score(result, truth, mask):
    """Mean |grad result| - |grad truth| (absolute) over the border band
    and the three channels, in 8-bit grey levels per pixel."""
    band = hole_border_band(mask)
    diff = gradient_magnitude(result)[band] - gradient_magnitude(truth)[band]
    return 255.0 * float(np.mean(np.abs(diff)))


def score(result, truth, mask):
    """All metrics of one result as a flat dict."""
    levels = patch_swd(result, truth, mask)
    out = {"psnr": psnr(result, truth, mask),
           "ssim": ssim_bbox(result, truth, mask),
           "swd": float(np.mean(levels)),
           "seam": seam_score(result, truth, mask)}
    out.update({f"swd{k}": v for k, v in enumerate(levels)})
    return out
