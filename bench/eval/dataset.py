# The validation set: 256x256 crops of held-out images and three kinds of
# hole drawn from fixed seeds (see README.md in this folder).
# Copyright (C) 2026 the gimp-diffusion authors. GPL-3.0-or-later.
import os
import struct
import zlib

import cv2
import numpy as np

SIZE = 256
MASK_KINDS = ("box", "strokes", "blob")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".pat")


def read_gimp_pattern(path):
    """A GIMP .pat file as (H, W, 3) uint8 RGB (grey is repeated, alpha
    dropped). Layout: big-endian u32 header size, version, width, height,
    bytes per pixel, the magic 'GPAT', a name; pixels from header size on."""
    with open(path, "rb") as f:
        data = f.read()
    header_size, _, width, height, depth = struct.unpack(">5I", data[:20])
    if data[20:24] != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError(f"{path}: not a GIMP pattern")
    pixels = np.frombuffer(data, np.uint8, width * height * depth, header_size)
    pixels = pixels.reshape(height, width, depth)
    grey = depth <= 2
    return np.repeat(pixels[:, :, :1], 3, 2) if grey else pixels[:, :, :3].copy()


def load_rgb(path):
    """Any image the set may hold as (H, W, 3) uint8 RGB."""
    if path.endswith(".pat"):
        return read_gimp_pattern(path)
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: cannot read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def crop_photo(rgb):
    """Short side to SIZE with area averaging (cubic when enlarging), then
    the centred SIZE x SIZE square."""
    h, w = rgb.shape[:2]
    scale = SIZE / min(h, w)
    new_w, new_h = max(SIZE, round(w * scale)), max(SIZE, round(h * scale))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=method)
    top, left = (new_h - SIZE) // 2, (new_w - SIZE) // 2
    return resized[top:top + SIZE, left:left + SIZE].copy()


def tile_texture(rgb):
    """A (seamless) pattern repeated to fill SIZE x SIZE, no resampling."""
    h, w = rgb.shape[:2]
    reps = (-(-SIZE // h), -(-SIZE // w), 1)
    return np.tile(rgb, reps)[:SIZE, :SIZE].copy()


def validation_image(path):
    rgb = load_rgb(path)
    return tile_texture(rgb) if path.endswith(".pat") else crop_photo(rgb)


def list_images(folder):
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(folder, n) for n in names]


def image_id(path):
    return os.path.splitext(os.path.basename(path))[0]


def mask_rng(name, kind, seed):
    """The generator for one (image, kind): depends on the names only, so a
    mask stays the same whichever subset of the set is run."""
    key = zlib.crc32(f"{seed}/{name}/{kind}".encode())
    return np.random.default_rng(key)


def box_mask(rng):
    """An axis-aligned rectangle, each side 25-35% of the image side, placed
    uniformly inside the image."""
    mask = np.zeros((SIZE, SIZE), np.uint8)
    w, h = (int(rng.uniform(0.25, 0.35) * SIZE) for _ in range(2))
    x, y = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
    mask[y:y + h, x:x + w] = 1
    return mask


def one_stroke(mask, rng):
    """A brush stroke: a polyline of 4-9 segments with a random walk of
    directions, drawn with round joints at one random width (the free-form
    masks of Yu et al. 2019, our own parameters)."""
    width = int(rng.integers(8, 25))
    x, y = rng.uniform(0, SIZE, 2)
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(4, 10))):
        angle += rng.uniform(-np.pi / 3, np.pi / 3)
        length = rng.uniform(15, 50)
        nx = float(np.clip(x + length * np.cos(angle), 0, SIZE - 1))
        ny = float(np.clip(y + length * np.sin(angle), 0, SIZE - 1))
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, width)
        cv2.circle(mask, (int(nx), int(ny)), width // 2, 1, -1)
        x, y = nx, ny


def strokes_mask(rng):
    """2-5 brush strokes, redrawn until they cover 10-30% of the image."""
    while True:
        mask = np.zeros((SIZE, SIZE), np.uint8)
        for _ in range(int(rng.integers(2, 6))):
            one_stroke(mask, rng)
        if 0.10 <= mask.mean() <= 0.30:
            return mask


def blob_mask(rng):
    """A smooth star-shaped region: radius r(theta) = r0 (1 + sum over
    k = 2..5 of a_k cos(k theta + phi_k)), a_k ~ U(0, 0.3) / (k - 1), with
    r0 giving 12-25% of the image, centred so most of it is inside."""
    theta = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 6):
        radius += rng.uniform(0, 0.3) / (k - 1) * np.cos(k * theta +
                                                        rng.uniform(0, 2 * np.pi))
    r0 = np.sqrt(rng.uniform(0.12, 0.25) * SIZE * SIZE / np.pi)
    cx, cy = rng.uniform(0.35, 0.65, 2) * SIZE
    points = np.stack([cx + r0 * radius * np.cos(theta),
                       cy + r0 * radius * np.sin(theta)], 1)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask


MASK_MAKERS = {"box": box_mask, "strokes": strokes_mask, "blob": blob_mask}


def make_mask(name, kind, seed):
    """(SIZE, SIZE) bool: True = the hole to fill."""
    return MASK_MAKERS[kind](mask_rng(name, kind, seed)).astype(bool)


def masked_input(truth, mask):
    """What every method sees: the truth with the hole set to mid-grey, so
    no method can read the pixels it is scored on."""
    out = truth.copy()
    out[mask] = 128
    return out
