"""Deterministic procedural image datasets: the embedded stand-ins used by the `tiny` profile.

Nothing here is downloaded. Each generator draws every random parameter from one seeded NumPy
generator, so the same (name, split) always yields the same bytes. Images are 32x32 uint8.

- synth-fashion  10 grayscale garment silhouettes, upright: a Fashion-MNIST stand-in
- synth-objects  10 textured, coloured, upright shapes on cluttered backgrounds: a CIFAR-10
                 stand-in (with shapes=10, 20 classes: the CIFAR-100 and Tiny-ImageNet stand-in)
- synth-food     20 dishes on a plate seen from above (10 food textures x 2 sauces): the
                 Food-101 stand-in
"""

from __future__ import annotations

import numpy as np

SIZE = 32


def grid(n: int, rng, *, rotate: bool | float, shift: float, scale: tuple[float, float],
          aspect: float = 0.0):
    """Per-sample shape coordinates (n, SIZE, SIZE): image grid under a random similarity."""
    lin = np.linspace(-1, 1, SIZE, dtype=np.float32)
    v, u = np.meshgrid(lin, lin, indexing="ij")  # v: rows (down), u: columns (right)
    cx, cy = rng.uniform(-shift, shift, (2, n, 1, 1)).astype(np.float32)
    s = rng.uniform(*scale, (n, 1, 1)).astype(np.float32)
    a = rng.uniform(-aspect, aspect, (n, 1, 1)).astype(np.float32)
    if rotate is True:  # any angle
        theta = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    else:  # within +-rotate radians (0: upright)
        theta = rng.uniform(-rotate, rotate, (n, 1, 1)) if rotate else np.zeros((n, 1, 1))
    c, sn = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    du, dv = u - cx, v - cy
    x = (du * c + dv * sn) / (s * (1 + a))
    y = (-du * sn + dv * c) / (s * (1 - a))
    return x, y


def box(x, y, x0, x1, y0, y1):
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


GEOMETRIC = {
    "disk": lambda x, y: x**2 + y**2 < 0.75**2,
    "ring": lambda x, y: (x**2 + y**2 < 0.85**2) & (x**2 + y**2 > 0.5**2),
    "square": lambda x, y: np.maximum(abs(x), abs(y)) < 0.65,
    "diamond": lambda x, y: abs(x) + abs(y) < 0.85,
    "triangle": lambda x, y: (y < 0.6) & (y > -0.8 + 1.6 * abs(x)),
    "plus": lambda x, y: ((abs(x) < 0.22) & (abs(y) < 0.8)) | ((abs(y) < 0.22) & (abs(x) < 0.8)),
    "hexagon": lambda x, y: np.maximum(abs(x) * 0.866 + abs(y) * 0.5, abs(y)) < 0.72,
    "crescent": lambda x, y: (x**2 + y**2 < 0.8**2) & ((x - 0.35) ** 2 + y**2 > 0.62**2),
    "bars": lambda x, y: (abs(abs(y) - 0.4) < 0.15) & (abs(x) < 0.8),
    "star": lambda x, y: np.hypot(x, y) < 0.45 + 0.35 * np.cos(5 * np.arctan2(y, x)),
}


def _garments():
    body = lambda x, y: box(x, y, -0.42, 0.42, -0.65, 0.8)  # noqa: E731
    short = lambda x, y: box(x, y, -0.8, 0.8, -0.65, -0.3)  # noqa: E731
    long_ = lambda x, y: box(x, y, -0.75, 0.75, -0.65, 0.6) & (abs(x) > 0.45)  # noqa: E731
    return {
        "t-shirt": lambda x, y: body(x, y) | short(x, y),
        "trouser": lambda x, y: box(x, y, -0.4, 0.4, -0.85, -0.6)
        | (box(x, y, -0.4, 0.4, -0.85, 0.85) & (abs(x) > 0.06)),
        "pullover": lambda x, y: body(x, y) | long_(x, y),
        "dress": lambda x, y: (abs(y) < 0.85) & (abs(x) < 0.18 + 0.3 * (y + 0.85)),
        "coat": lambda x, y: (body(x, y) | long_(x, y)) & ~((abs(x) < 0.05) & (y > -0.4)),
        "sandal": lambda x, y: (abs(x) < 0.8)
        & ((abs(y - 0.55) < 0.1) | (abs(y + 0.1) < 0.07) | (abs(y - 0.25) < 0.07)),
        "shirt": lambda x, y: (body(x, y) | short(x, y))
        & ~((abs(x) < 0.25 - (y + 0.65)) & (y < -0.4)),
        "sneaker": lambda x, y: box(x, y, -0.8, 0.8, 0.1, 0.55)
        | (((x + 0.4) ** 2 + (y - 0.1) ** 2) < 0.4**2),
        "bag": lambda x, y: box(x, y, -0.7, 0.7, -0.2, 0.75)
        | ((abs(np.hypot(x, y + 0.2) - 0.45) < 0.08) & (y < -0.2)),
        "ankle-boot": lambda x, y: box(x, y, -0.65, 0.0, -0.75, 0.6)
        | box(x, y, -0.65, 0.75, 0.2, 0.6),
    }


GARMENTS = _garments()


def colours(rng, n: int, low: float = 0.0, high: float = 1.0):
    return rng.uniform(low, high, (n, 3, 1, 1)).astype(np.float32)


def contrasting(rng, colour, low: float = 0.3, high: float = 0.7):
    """A colour at least `low` away from `colour` in every channel (wrapping around 1)."""
    return (colour + rng.uniform(low, high, colour.shape).astype(np.float32)) % 1.0


def to_uint8(img):
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def _masks(shape_fns, y, gx, gy):
    """Sample i gets the mask of shape_fns[y[i]] drawn on its own coordinates."""
    mask = np.zeros(gx.shape, bool)
    for k, fn in enumerate(shape_fns):
        idx = y == k
        mask[idx] = fn(gx[idx], gy[idx])
    return mask


def balanced_labels(rng, n: int, k: int):
    return rng.permutation(np.arange(n) % k)


def fashion(n: int, seed: int):
    """synth-fashion: upright grayscale garment silhouettes with texture and noise (1 channel)."""
    rng = np.random.default_rng(seed)
    names = list(GARMENTS)
    y = balanced_labels(rng, n, len(names))
    gx, gy = grid(n, rng, rotate=False, shift=0.08, scale=(0.75, 0.95), aspect=0.12)
    mask = _masks([GARMENTS[name] for name in names], y, gx, gy)
    tone = rng.uniform(0.35, 1.0, (n, 1, 1)).astype(np.float32)
    freq = rng.uniform(3, 9, (n, 1, 1)).astype(np.float32)
    texture = 1 - 0.25 * rng.uniform(0, 1, (n, 1, 1)) * (np.sin(freq * np.pi * gy) > 0)
    img = np.where(mask, tone * texture, 0.0).astype(np.float32)
    img = img + rng.normal(0, 0.12, img.shape).astype(np.float32)
    return to_uint8(img[:, None]), y.astype(np.int64), names


def objects(n: int, seed: int, shapes: int = 5):
    """synth-objects: `shapes` shapes x 2 textures (stripes or checks), rotated, in clutter.

    The texture modulates the brightness of one colour that contrasts with the background, so
    the outline stays visible; clutter blobs share the background's hue.
    """
    rng = np.random.default_rng(seed)
    shape_names = ["disk", "square", "triangle", "plus", "hexagon", "ring", "diamond",
                   "crescent", "bars", "star"][:shapes]
    names = [f"{s}-{t}" for s in shape_names for t in ("stripes", "checks")]
    y = balanced_labels(rng, n, len(names))
    gx, gy = grid(n, rng, rotate=0.0, shift=0.2, scale=(0.7, 1.0), aspect=0.2)
    mask = _masks([GEOMETRIC[name] for name in shape_names], y // 2, gx, gy)
    period = rng.uniform(2.0, 3.5, (n, 1, 1)).astype(np.float32)
    stripes = np.sin(period * np.pi * gx) > 0
    checks = (np.sin(period * np.pi * gx) > 0) ^ (np.sin(period * np.pi * gy) > 0)
    pattern = np.where((y % 2 == 0)[:, None, None], stripes, checks)
    bg = colours(rng, n, 0.2, 0.8)
    fg = contrasting(rng, bg)
    obj = fg * np.where(pattern[:, None], 1.0, 0.6).astype(np.float32)
    # Clutter: distractor blobs near the background colour, behind the object.
    background = bg * np.ones((1, 1, SIZE, SIZE), np.float32)
    for _ in range(3):
        bx, by = grid(n, rng, rotate=True, shift=0.9, scale=(0.2, 0.45), aspect=0.5)
        blob = (bx**2 + by**2 < 1)[:, None]
        shade = (bg + rng.uniform(-0.15, 0.15, bg.shape).astype(np.float32)).clip(0, 1)
        background = np.where(blob, shade, background)
    img = np.where(mask[:, None], obj, background)
    img = img + rng.normal(0, 0.06, img.shape).astype(np.float32)
    return to_uint8(img), y.astype(np.int64), names


def _food_textures(u, v, rng, n: int) -> dict:
    """Patterns in [0, 1] on food coordinates (u, v), each with its own random phase and
    scale: what tells the dishes apart (none of them a texture of the pretraining source)."""
    k = rng.uniform(2.2, 3.2, (n, 1, 1)).astype(np.float32) * np.pi
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    theta = rng.uniform(0, np.pi, (n, 1, 1)).astype(np.float32)
    along, across = u * np.cos(theta) + v * np.sin(theta), v * np.cos(theta) - u * np.sin(theta)
    r, angle = np.hypot(u, v), np.arctan2(v, u)
    cell_u, cell_v = (u * k / np.pi + phase) % 1 - 0.5, (v * k / np.pi) % 1 - 0.5
    return {
        "noodles": np.abs(np.sin(k * (u + 0.25 * np.sin(3 * v + phase)))) < 0.45,
        "rice": (np.abs(np.sin(2 * k * along)) < 0.5) & (np.sin(k * across + phase) > 0),
        "peas": cell_u**2 + cell_v**2 < 0.12,
        "slices": np.sin(0.7 * k * along + phase) > 0,
        "mash": 0.5 + 0.25 * np.sin(0.5 * k * u + phase) * np.cos(0.5 * k * v),
        "chunks": np.cos(0.8 * k * u + phase) + np.cos(0.8 * k * v - phase) > 0.4,
        "leaves": np.abs(np.sin(k * along) * np.cos(0.5 * k * across)) > 0.5,
        "swirl": np.sin(1.2 * k * r + 3 * angle + phase) > 0,
        "crumbs": rng.uniform(size=u.shape) < 0.45,
        "layers": (np.floor((v + 1) * k / (2 * np.pi)) % 3) / 2,
    }


FOODS = ["noodles", "rice", "peas", "slices", "mash", "chunks", "leaves", "swirl", "crumbs",
         "layers"]
# (base, accent) colours of the two sauces every dish comes in
PALETTES = {"red": ((0.85, 0.35, 0.2), (0.95, 0.8, 0.45)),
            "green": ((0.3, 0.6, 0.25), (0.9, 0.9, 0.6))}


def food(n: int, seed: int):
    """synth-food: a dish on a round plate seen from above, on a table: 10 food textures x 2
    sauces (20 classes), the Food-101 stand-in. Plate, table, lighting and the food's outline
    vary; the class is the texture and the colours of the food."""
    rng = np.random.default_rng(seed)
    names = [f"{f}-{p}" for f in FOODS for p in PALETTES]
    y = balanced_labels(rng, n, len(names))
    gx, gy = grid(n, rng, rotate=True, shift=0.1, scale=(0.8, 1.0), aspect=0.12)
    wobble = sum(rng.uniform(-0.08, 0.08, (n, 1, 1)).astype(np.float32)
                 * np.cos(m * np.arctan2(gy, gx) + rng.uniform(0, 6.3, (n, 1, 1)))
                 for m in (2, 3, 5))
    plate, dish = gx**2 + gy**2 < 0.95**2, np.hypot(gx, gy) < 0.68 + wobble
    textures = _food_textures(gx, gy, rng, n)
    pattern = np.zeros(gx.shape, np.float32)
    for k, name in enumerate(FOODS):
        idx = y // 2 == k
        pattern[idx] = textures[name][idx]
    base = np.array([PALETTES[p][0] for p in PALETTES], np.float32)[y % 2][:, :, None, None]
    accent = np.array([PALETTES[p][1] for p in PALETTES], np.float32)[y % 2][:, :, None, None]
    tint = rng.uniform(-0.08, 0.08, (n, 3, 1, 1)).astype(np.float32)
    dish_colour = (base + tint) * (1 - pattern[:, None]) + (accent + tint) * pattern[:, None]
    table = colours(rng, n, 0.15, 0.55) * (1 + 0.15 * np.sin(rng.uniform(4, 9, (n, 1, 1, 1))
                                                             * np.pi * gy[:, None]))
    china = rng.uniform(0.8, 1.0, (n, 1, 1, 1)).astype(np.float32) * np.ones((1, 3, 1, 1),
                                                                             np.float32)
    img = np.where(plate[:, None], china, table)
    img = np.where(dish[:, None], dish_colour, img)
    light = 1 + 0.15 * (gx * rng.uniform(-1, 1, (n, 1, 1)) + gy * rng.uniform(-1, 1, (n, 1, 1)))
    img = img * light[:, None] + rng.normal(0, 0.05, img.shape).astype(np.float32)
    return to_uint8(img), y.astype(np.int64), names
