"""synth-source: the generated source task the `tiny` profile pretrains its micro backbones on.

It stands in for ImageNet, which cannot be downloaded here. Its 32 classes come in three
families, each sharing a kind of structure with one group of the tiny targets, never their
classes:

- 12 stroke glyphs (letters that are not digits: A E F H K L M N T V X Y), thick strokes under a
  random affine map, half of them grey on a dark ground and half blurred by a low-resolution
  render: the structure of handwritten digits (lines, corners, junctions);
- 10 filled silhouettes (key, hammer, bottle, cup, umbrella, arrow, heart, house, tree, fish),
  upright within 20 degrees, shaded: the structure of garment silhouettes;
- 10 textures (dots, waves, zigzag, rings, crosshatch, fine stripes, spokes, speckle, bricks,
  gradient) filling a blob in clutter: the structure of textured objects in clutter.

Every random parameter comes from one seeded NumPy generator: the same (n, seed) gives the same
bytes. Images are 32x32 RGB uint8.
"""

from __future__ import annotations

import numpy as np

from ftbench.data.synthetic import (
    SIZE,
    balanced_labels,
    box,
    colours,
    contrasting,
    grid,
    to_uint8,
)

# Strokes as segments (x0, y0, x1, y1) in [-1, 1]^2, y pointing down.
GLYPHS = {
    "A": [(-0.6, 0.8, 0.0, -0.8), (0.0, -0.8, 0.6, 0.8), (-0.35, 0.15, 0.35, 0.15)],
    "E": [(-0.5, -0.8, -0.5, 0.8), (-0.5, -0.8, 0.5, -0.8), (-0.5, 0.0, 0.3, 0.0),
          (-0.5, 0.8, 0.5, 0.8)],
    "F": [(-0.5, -0.8, -0.5, 0.8), (-0.5, -0.8, 0.5, -0.8), (-0.5, 0.0, 0.3, 0.0)],
    "H": [(-0.5, -0.8, -0.5, 0.8), (0.5, -0.8, 0.5, 0.8), (-0.5, 0.0, 0.5, 0.0)],
    "K": [(-0.5, -0.8, -0.5, 0.8), (-0.5, 0.1, 0.5, -0.8), (-0.2, -0.15, 0.5, 0.8)],
    "L": [(-0.5, -0.8, -0.5, 0.8), (-0.5, 0.8, 0.5, 0.8)],
    "M": [(-0.6, 0.8, -0.6, -0.8), (-0.6, -0.8, 0.0, 0.2), (0.0, 0.2, 0.6, -0.8),
          (0.6, -0.8, 0.6, 0.8)],
    "N": [(-0.5, 0.8, -0.5, -0.8), (-0.5, -0.8, 0.5, 0.8), (0.5, 0.8, 0.5, -0.8)],
    "T": [(-0.6, -0.8, 0.6, -0.8), (0.0, -0.8, 0.0, 0.8)],
    "V": [(-0.6, -0.8, 0.0, 0.8), (0.0, 0.8, 0.6, -0.8)],
    "X": [(-0.6, -0.8, 0.6, 0.8), (0.6, -0.8, -0.6, 0.8)],
    "Y": [(-0.6, -0.8, 0.0, 0.0), (0.6, -0.8, 0.0, 0.0), (0.0, 0.0, 0.0, 0.8)],
}


def _disk(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 < r**2


SILHOUETTES = {
    "key": lambda x, y: (_disk(x, y, -0.5, 0, 0.35) & ~_disk(x, y, -0.5, 0, 0.15))
    | box(x, y, -0.2, 0.8, -0.08, 0.08) | box(x, y, 0.45, 0.55, 0.0, 0.3)
    | box(x, y, 0.68, 0.78, 0.0, 0.25),
    "hammer": lambda x, y: box(x, y, -0.7, 0.3, -0.8, -0.45)
    | box(x, y, -0.12, 0.12, -0.5, 0.85),
    "bottle": lambda x, y: box(x, y, -0.35, 0.35, -0.25, 0.85)
    | box(x, y, -0.13, 0.13, -0.8, -0.2) | (_disk(x, y, 0, -0.25, 0.35) & (y > -0.6)),
    "cup": lambda x, y: box(x, y, -0.55, 0.3, -0.5, 0.7)
    | (_disk(x, y, 0.35, 0.1, 0.35) & ~_disk(x, y, 0.35, 0.1, 0.18)),
    "umbrella": lambda x, y: (_disk(x, y, 0, -0.05, 0.8) & (y < -0.05))
    | box(x, y, -0.06, 0.06, -0.1, 0.75) | (_disk(x, y, -0.15, 0.75, 0.15) & (y > 0.72)),
    "arrow": lambda x, y: box(x, y, -0.8, 0.2, -0.12, 0.12) | ((x > 0.15) & (abs(y) < 0.8 - x)),
    "heart": lambda x, y: ((1.15 * x) ** 2 + (1.15 * -y + 0.25) ** 2 - 0.6) ** 3
    - (1.15 * x) ** 2 * (1.15 * -y + 0.25) ** 3 < 0,
    "house": lambda x, y: box(x, y, -0.55, 0.55, -0.05, 0.8)
    | ((y < 0.0) & (y > -0.85 + abs(x))),
    "tree": lambda x, y: ((y < 0.45) & (y > -0.85 + 1.7 * abs(x)))
    | box(x, y, -0.1, 0.1, 0.4, 0.85),
    "fish": lambda x, y: ((x + 0.15) ** 2 / 0.42 + y**2 / 0.12 < 1)
    | ((x > 0.35) & (x < 0.8) & (abs(y) < (x - 0.35) * 1.1)),
}


def _textures(u, v, period):
    """Texture patterns in [0, 1] on object coordinates (u, v); `period` in pixels-ish units."""
    k = np.pi * period
    r = np.hypot(u, v)
    return {
        "dots": (np.sin(k * u) * np.sin(k * v) > 0.6),
        "waves": np.sin(k * u + 2 * np.sin(k * v / 2)) > 0,
        "zigzag": np.sin(k * v + 3 * np.abs(((u * period) % 2) - 1)) > 0,
        "rings": np.sin(k * r * 1.2) > 0,
        "crosshatch": (np.abs(np.sin(k * (u + v) / 1.4)) < 0.35)
        | (np.abs(np.sin(k * (u - v) / 1.4)) < 0.35),
        "fine-stripes": np.sin(2 * k * v) > 0,
        "spokes": np.sin(6 * np.arctan2(v, u)) > 0,
        "speckle": None,  # drawn from the generator, see below
        "bricks": (np.abs(np.sin(k * v)) < 0.3)
        | (np.abs(np.sin(k * u / 2 + (np.floor(v * period) % 2) * np.pi / 2)) < 0.2),
        "gradient": None,
    }


TEXTURES = ["dots", "waves", "zigzag", "rings", "crosshatch", "fine-stripes", "spokes", "speckle",
            "bricks", "gradient"]
CLASSES = ([f"glyph-{g}" for g in GLYPHS] + [f"silhouette-{s}" for s in SILHOUETTES]
           + [f"texture-{t}" for t in TEXTURES])


def _segment_distance(x, y, segments):
    """Distance from each point (x, y) to the nearest of `segments`."""
    best = np.full(x.shape, np.inf, np.float32)
    for x0, y0, x1, y1 in segments:
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(x - x0 - t * dx, y - y0 - t * dy))
    return best


def _blur_some(img, rng, fraction: float):
    """Render a `fraction` of the images at a low resolution (8-16 px) and scale them back up:
    the blur of small scanned digits."""
    import torch
    import torch.nn.functional as F

    pick = np.flatnonzero(rng.uniform(size=len(img)) < fraction)
    sides = rng.integers(8, 17, len(pick))
    t = torch.from_numpy(img)
    for side in np.unique(sides):
        idx = pick[sides == side]
        small = F.interpolate(t[idx], size=(int(side),) * 2, mode="area")
        t[idx] = F.interpolate(small, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return t.numpy()


def _glyphs(y, rng):
    n = len(y)
    gx, gy = grid(n, rng, rotate=False, shift=0.15, scale=(0.6, 0.9), aspect=0.2)
    theta = rng.uniform(-0.4, 0.4, (n, 1, 1)).astype(np.float32)  # +-23 degrees
    shear = rng.uniform(-0.25, 0.25, (n, 1, 1)).astype(np.float32)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * gx + s * gy + shear * gy, -s * gx + c * gy
    width = rng.uniform(0.1, 0.22, (n, 1, 1)).astype(np.float32)
    mask = np.zeros(gx.shape, bool)
    for k, name in enumerate(GLYPHS):
        idx = y == k
        mask[idx] = _segment_distance(u[idx], v[idx], GLYPHS[name]) < width[idx]
    grey = rng.uniform(size=(n, 1, 1, 1)) < 0.5  # half bright strokes on a dark ground
    bg = np.where(grey, rng.uniform(0, 0.3, (n, 1, 1, 1)), colours(rng, n)).astype(np.float32)
    fg = np.where(grey, rng.uniform(0.6, 1.0, (n, 1, 1, 1)), contrasting(rng, bg, 0.35, 0.65))
    img = np.where(mask[:, None], fg, bg)
    return _blur_some(img.astype(np.float32), rng, 0.5)


def _silhouettes(y, rng):
    n = len(y)
    gx, gy = grid(n, rng, rotate=False, shift=0.12, scale=(0.7, 0.95), aspect=0.15)
    theta = rng.uniform(-0.35, 0.35, (n, 1, 1)).astype(np.float32)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * gx + s * gy, -s * gx + c * gy
    mask = np.zeros(gx.shape, bool)
    for k, name in enumerate(SILHOUETTES):
        idx = y == k
        mask[idx] = SILHOUETTES[name](u[idx], v[idx])
    grey = rng.uniform(size=(n, 1, 1, 1)) < 0.5
    bg = np.where(grey, rng.uniform(0, 0.3, (n, 1, 1, 1)), colours(rng, n)).astype(np.float32)
    fg = np.where(grey, rng.uniform(0.5, 1.0, (n, 1, 1, 1)), contrasting(rng, bg))
    shade = 0.75 + 0.25 * v[:, None] * rng.uniform(-1, 1, (n, 1, 1, 1))
    return np.where(mask[:, None], fg * shade, bg).astype(np.float32)


def _texture_blobs(y, rng):
    n = len(y)
    gx, gy = grid(n, rng, rotate=True, shift=0.15, scale=(0.7, 0.95), aspect=0.3)
    blob = gx**2 + gy**2 < 0.9
    period = rng.uniform(1.8, 2.8, (n, 1, 1)).astype(np.float32)
    patterns = _textures(gx, gy, period)
    speckle = rng.uniform(size=gx.shape) < 0.35
    pattern = np.zeros(gx.shape, np.float32)
    for k, name in enumerate(TEXTURES):
        idx = y == k
        if name == "speckle":
            pattern[idx] = speckle[idx]
        elif name == "gradient":
            pattern[idx] = (gx[idx] + 1) / 2
        else:
            pattern[idx] = patterns[name][idx]
    bg = colours(rng, n, 0.2, 0.8)
    fg = contrasting(rng, bg)
    background = bg * np.ones((1, 1, SIZE, SIZE), np.float32)
    for _ in range(3):  # clutter in the background's hue, behind the object
        bx, by = grid(n, rng, rotate=True, shift=0.9, scale=(0.2, 0.45), aspect=0.5)
        shade = (bg + rng.uniform(-0.2, 0.2, bg.shape).astype(np.float32)).clip(0, 1)
        background = np.where((bx**2 + by**2 < 1)[:, None], shade, background)
    obj = fg * (0.25 + 0.75 * pattern[:, None])
    return np.where(blob[:, None], obj, background).astype(np.float32)


def source(n: int, seed: int):
    """synth-source: n images, balanced over the 32 classes of the three families."""
    rng = np.random.default_rng(seed)
    y = balanced_labels(rng, n, len(CLASSES))
    img = np.zeros((n, 3, SIZE, SIZE), np.float32)
    families = [(0, len(GLYPHS), _glyphs), (len(GLYPHS), len(SILHOUETTES), _silhouettes),
                (len(GLYPHS) + len(SILHOUETTES), len(TEXTURES), _texture_blobs)]
    for start, count, draw in families:
        idx = np.flatnonzero((y >= start) & (y < start + count))
        img[idx] = draw(y[idx] - start, rng)
    img = img + rng.normal(0, 0.05, img.shape).astype(np.float32)
    return to_uint8(img), y.astype(np.int64), list(CLASSES)
