"""Real datasets on disk: fetched once (`make data`), checked, read in their native formats.

Everything lives under one data root (DATA_DIR, default ~/.cache/ftbench/data):

    MNIST/raw/, FashionMNIST/raw/     IDX files                                  (torchvision)
    cifar-10-batches-py/              pickled batches                            (torchvision)
    cifar-100-python/                 pickled train/test                         (torchvision)
    food-101/{images,meta}/           JPEGs by class, meta/{train,test}.json     (torchvision)
    tiny-imagenet-200/                wnids.txt, train/<wnid>/images/*.JPEG,
                                      val/images/*.JPEG with val/val_annotations.txt  (ours)
    cache/                            decoded uint8 arrays of the JPEG datasets

Roles of the splits: each dataset's train split trains (validation is carved from it by
`load_splits`) and its test split reports. Tiny-ImageNet's test images carry no labels, so its
labelled val folder, sorted into classes by val_annotations.txt, is the test split; Food-101's
official test split is its test split (write-up 003 cuts it 70/30 into validation and test).

Downloads resume from a `.part` file and are checked against the publisher's MD5 before they
take their final name; only a verified archive is unpacked; a network failure is one line and
keeps the `.part` file. Reading checks that every file a dataset's index names is there, that
labels and images agree, and (unless `data.check_counts` is false) the published counts in
`PUBLISHED`, so a half-unpacked or half-copied folder is reported, never used. The decode cache
is keyed by the files it was decoded from, so it is never reused after they change.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ftbench.data import checks
from ftbench.data.checks import FETCH, Published, missing
from ftbench.data.indexes import food101_index, tiny_imagenet_index
from ftbench.errors import UserError
from ftbench.store import atomic

TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10",
               "cifar100": "CIFAR100", "food101": "Food101"}
# As published. Tiny-ImageNet's "test" is its labelled val folder (its test images are unlabelled).
PUBLISHED = {
    "mnist": Published(10, {"train": 60_000, "test": 10_000}),  # classes not balanced
    "fashion-mnist": Published(10, {"train": 60_000, "test": 10_000},
                               {"train": 6_000, "test": 1_000}),
    "cifar10": Published(10, {"train": 50_000, "test": 10_000}, {"train": 5_000, "test": 1_000}),
    "cifar100": Published(100, {"train": 50_000, "test": 10_000}, {"train": 500, "test": 100}),
    "food101": Published(101, {"train": 75_750, "test": 25_250}, {"train": 750, "test": 250}),
    "tiny-imagenet": Published(200, {"train": 100_000, "test": 10_000},
                               {"train": 500, "test": 50}),
}
OFFLINE = ("check the network, or copy the dataset into DATA_DIR (see docs/reproducing.md, "
           "Offline machines)")


# ---------------------------------------------------------------------------------------------
# fetching


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, md5: str) -> Path:
    """`url` -> `dest`, resuming `dest.part`; `dest` appears only once its MD5 is right."""
    dest = Path(dest)
    if dest.exists() and md5sum(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    response = _open(url, have)
    if response is not None:
        with response:
            _receive(url, response, part, have, dest.name)
    got = md5sum(part)
    if got != md5:
        part.unlink()
        raise UserError(f"{url}: MD5 {got} is not the published {md5}; the partial file was "
                        f"deleted, run '{FETCH}' again")
    os.replace(part, dest)
    return dest


def unreachable(url: str, reason: str) -> UserError:
    return UserError(f"cannot download {url} ({reason}); {OFFLINE}".replace("\n", " "))


def _reason(exc: BaseException) -> str:
    """urllib wraps the socket's error in URLError.reason; its strerror reads best."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def _open(url: str, have: int):
    """The response, or None where the server says the `have` bytes already are the file."""
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as exc:
        exc.close()
        if have and exc.code == 416:  # the range starts at the end: the MD5 check decides
            return None
        raise unreachable(url, f"HTTP {exc.code} {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:  # refused, no DNS, timeout, reset
        raise unreachable(url, _reason(exc)) from None


def _read(url: str, response) -> bytes:
    try:
        return response.read(1 << 20)
    except (OSError, http.client.HTTPException) as exc:  # the connection dropped mid-file
        raise unreachable(url, _reason(exc)) from None


def _receive(url: str, response, part: Path, have: int, desc: str) -> None:
    """Append the response to `part`, which stays for the next call to resume from."""
    if have and response.status != 206:  # the server ignored the range: start again
        have = 0
    total = have + int(response.headers.get("Content-Length") or 0)
    try:
        with open(part, "ab" if have else "wb") as f, tqdm(
                total=total or None, initial=have, unit="B", unit_scale=True, desc=desc,
                disable=None) as bar:
            while chunk := _read(url, response):
                f.write(chunk)
                bar.update(len(chunk))
    except OSError as exc:  # the disk, not the network (_read raises UserError)
        raise UserError(f"cannot write {part} ({exc.strerror or exc}); free some space there "
                        f"or set DATA_DIR to another folder") from None


def fetch(name: str, root: Path) -> None:
    """Download (resumably, checksummed) and unpack dataset `name` under `root`."""
    root = Path(root)
    if name == "tiny-imagenet":
        final = root / "tiny-imagenet-200"
        if _complete(name, root, final):
            return
        archive = download(TINY_IMAGENET_URL, root / "tiny-imagenet-200.zip", TINY_IMAGENET_MD5)
        staging = root / ".tiny-imagenet-200.unpacking"
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(archive) as z:
            z.extractall(staging)
        os.replace(staging / "tiny-imagenet-200", final)  # appears whole or not at all
        shutil.rmtree(staging, ignore_errors=True)
        return
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION[name])
    # Fetch the archives ourselves (resumable), where torchvision looks for them; its own
    # download step then finds them verified and only unpacks.
    if name in ("mnist", "fashion-mnist"):
        raw = root / TORCHVISION[name] / "raw"
        for filename, md5 in cls.resources:
            download(cls.mirrors[0] + filename, raw / filename, md5)
        cls(str(root), train=True, download=True)
    elif name == "food101":
        download(cls._URL, root / Path(cls._URL).name, cls._MD5)
        if not _complete(name, root, root / "food-101"):
            cls(str(root), split="train", download=True)  # unpacks the verified archive
            jpeg_index(name, root)
    else:
        download(cls.url, root / cls.filename, cls.tgz_md5)
        cls(str(root), train=True, download=True)


def _complete(name: str, root: Path, folder: Path) -> bool:
    """Whether `folder` holds the whole published dataset; a partial copy (an unpacking cut
    short) is removed so that it is unpacked again."""
    if not folder.is_dir():
        return False
    try:
        jpeg_index(name, root)
        return True
    except UserError:
        shutil.rmtree(folder)
        return False


# ---------------------------------------------------------------------------------------------
# reading


def torchvision_arrays(name: str, root: Path, check_counts: bool = True) -> dict:
    """MNIST, Fashion-MNIST, CIFAR-10/100 through torchvision: uint8 N, C, H, W."""
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION[name])
    where = Path(root) / (getattr(cls, "base_folder", None) or TORCHVISION[name])
    try:
        train, test = (cls(str(root), train=t, download=False) for t in (True, False))
    except RuntimeError:  # torchvision: "Dataset not found or corrupted"
        raise missing(name, where, "not found or incomplete") from None
    except Exception as exc:  # a file of the wrong format
        detail = exc.__class__.__name__ + (f": {exc}" if str(exc) else "")
        raise UserError(f"dataset {name} is unreadable ({detail}) at {where}; delete that folder "
                        f"and run '{FETCH}' again") from None

    def arrays(ds):
        x = np.asarray(ds.data)
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # -> N, C, H, W
        return x, np.asarray(ds.targets)

    out = {"train": arrays(train), "test": arrays(test), "classes": list(train.classes)}
    _check(name, where, out["classes"], {s: (len(out[s][0]), out[s][1]) for s in ("train", "test")},
           check_counts)
    return out


def _check(name: str, where: Path, classes: list[str], splits: dict, check_counts: bool) -> None:
    """`splits`: {split: (number of images, labels)}; the structural checks, then the counts."""
    for split, (images, y) in splits.items():
        checks.labels(name, where, split, images, y, len(classes))
    if check_counts:
        checks.counts(name, where, PUBLISHED[name], classes,
                      {split: y for split, (_, y) in splits.items()})


def jpeg_index(name: str, root: Path, check_counts: bool = True) -> dict:
    """Food-101's or Tiny-ImageNet's index, checked before anything is decoded."""
    index = food101_index(root) if name == "food101" else tiny_imagenet_index(root)
    _check(name, index["where"], index["classes"],
           {split: (len(items), np.array([label for _, label in items], dtype=np.int64))
            for split, items in index["index"].items()}, check_counts)
    return index


def _decode_one(path: Path, side: int) -> np.ndarray:
    """A JPEG as uint8 C, H, W: RGB, short side resized to `side` and centre-cropped square
    (side 0 keeps the size)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if side:
                w, h = im.size
                scale = side / min(w, h)
                im = im.resize((max(side, round(w * scale)), max(side, round(h * scale))),
                               Image.BICUBIC)
                w, h = im.size
                left, top = (w - side) // 2, (h - side) // 2
                im = im.crop((left, top, left + side, top + side))
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    except OSError as exc:  # truncated or not an image
        raise UserError(f"image {path} is unreadable ({exc}); delete the dataset's folder and "
                        f"run '{FETCH}' again") from None


def decode_images(paths: list[Path], side: int, desc: str) -> np.ndarray:
    """Decode in threads (PIL releases the GIL while decoding); all must share one size."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        images = list(tqdm(pool.map(lambda p: _decode_one(p, side), paths), total=len(paths),
                           desc=desc, disable=None))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise UserError(f"{desc}: images differ in size {sorted(shapes)[:2]}; "
                        f"the dataset copy is not the published one")
    return np.stack(images)


# Part of the cache key: a change to how `_decode_one` decodes must not reuse old arrays.
DECODER = "rgb; short side bicubic to side; centre crop; v1"


def cache_key(root: Path, items: list[tuple[Path, int]], side: int) -> str:
    """A short sha256 of what a decoded split is built from: every file's path, size and
    mtime, its label, and the decoding."""
    h = hashlib.sha256(f"{DECODER}\t{side}\n".encode())
    for path, label in items:
        st = path.stat()
        h.update(f"{path.relative_to(root)}\t{st.st_size}\t{st.st_mtime_ns}\t{label}\n".encode())
    return h.hexdigest()[:16]


def cached_arrays(name: str, root: Path, side: int, check_counts: bool = True) -> dict:
    """A JPEG dataset as uint8 arrays, decoded once and cached under <root>/cache."""
    root = Path(root)
    index = jpeg_index(name, root, check_counts)
    out = {"classes": index["classes"]}
    for split, items in index["index"].items():
        stem = f"{name}-{split}-{side or 'native'}"
        cache = root / "cache" / f"{stem}-{cache_key(root, items, side)}.npz"
        out[split] = _load_cache(cache, len(items))
        if out[split] is None:
            x = decode_images([p for p, _ in items], side, f"decode {name} {split}")
            y = np.array([label for _, label in items], dtype=np.int64)
            atomic.write_atomic(cache, lambda tmp, x=x, y=y: np.savez(tmp, x=x, y=y))
            # caches of older copies of the files (and of the unkeyed format) are never read
            for stale in [*cache.parent.glob(f"{stem}-*.npz"), cache.parent / f"{stem}.npz"]:
                if stale != cache:
                    stale.unlink(missing_ok=True)
            out[split] = (x, y)
    return out


def _load_cache(cache: Path, n: int):
    if not cache.is_file():
        return None
    try:
        with np.load(cache) as z:
            if len(z["y"]) == n == len(z["x"]):
                return z["x"], z["y"]
    except (OSError, ValueError, KeyError):
        pass  # cut short or foreign: decode again
    return None
