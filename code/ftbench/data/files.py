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
official test split is its test split (seed 003 cuts it 70/30 into validation and test).

Downloads resume from a `.part` file and are checked against the publisher's MD5 before they
take their final name; only a verified archive is unpacked. Reading checks that every file a
dataset's index names is there, so a half-unpacked copy is reported, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ftbench import atomic
from ftbench.errors import UserError

FETCH = "make data"  # the command that fetches what a profile needs
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10",
               "cifar100": "CIFAR100", "food101": "Food101"}


def missing(name: str, path: Path, what: str = "not found") -> UserError:
    return UserError(f"dataset {name} {what} at {path}; fetch it with '{FETCH}' "
                     f"(or set DATA_DIR to where it is)")


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
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        if have and response.status != 206:  # the server ignored the range: start again
            have = 0
        total = have + int(response.headers.get("Content-Length") or 0)
        with open(part, "ab" if have else "wb") as f, tqdm(
                total=total or None, initial=have, unit="B", unit_scale=True, desc=dest.name,
                disable=None) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
    got = md5sum(part)
    if got != md5:
        part.unlink()
        raise UserError(f"{url}: MD5 {got} is not the published {md5}; the partial file was "
                        f"deleted, run '{FETCH}' again")
    os.replace(part, dest)
    return dest


def fetch(name: str, root: Path) -> None:
    """Download (resumably, checksummed) and unpack dataset `name` under `root`."""
    root = Path(root)
    if name == "tiny-imagenet":
        final = root / "tiny-imagenet-200"
        if _complete(tiny_imagenet_index, root, final):
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
        if not _complete(food101_index, root, root / "food-101"):
            cls(str(root), split="train", download=True)  # unpacks the verified archive
            food101_index(root)
    else:
        download(cls.url, root / cls.filename, cls.tgz_md5)
        cls(str(root), train=True, download=True)


def _complete(index, root: Path, folder: Path) -> bool:
    """Whether `folder` holds the whole dataset; a partial copy (an unpacking cut short) is
    removed so that it is unpacked again."""
    if not folder.is_dir():
        return False
    try:
        index(root)
        return True
    except UserError:
        shutil.rmtree(folder)
        return False


# ---------------------------------------------------------------------------------------------
# reading


def torchvision_arrays(name: str, root: Path) -> dict:
    """MNIST, Fashion-MNIST, CIFAR-10/100 through torchvision: uint8 N, C, H, W."""
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION[name])
    where = Path(root) / (getattr(cls, "base_folder", None) or TORCHVISION[name])
    try:
        train, test = (cls(str(root), train=t, download=False) for t in (True, False))
    except RuntimeError:  # torchvision: "Dataset not found or corrupted"
        raise missing(name, where, "not found or incomplete") from None
    except Exception as exc:  # a file of the wrong format
        raise missing(name, where, f"is unreadable ({exc.__class__.__name__}: {exc})") from None

    def arrays(ds):
        x = np.asarray(ds.data)
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # -> N, C, H, W
        return x, np.asarray(ds.targets)

    return {"train": arrays(train), "test": arrays(test), "classes": list(train.classes)}


def _check_files(name: str, base: Path, paths: list[Path]) -> None:
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise missing(name, base, f"is incomplete ({len(absent)} of {len(paths)} images "
                                  f"missing, e.g. {absent[0].relative_to(base)})")


def food101_index(root: Path) -> dict:
    """{split: [(path, label)]} and classes, from meta/{train,test}.json; checks every file."""
    base = Path(root) / "food-101"
    index, classes = {}, None
    for split in ("train", "test"):
        meta = base / "meta" / f"{split}.json"
        if not meta.is_file():
            raise missing("food101", base)
        try:
            listing = json.loads(meta.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise missing("food101", meta, "index is unreadable") from None
        classes = classes or sorted(listing)
        index[split] = [(base / "images" / f"{rel}.jpg", classes.index(c))
                        for c in classes for rel in listing.get(c, [])]
        _check_files("food101", base, [p for p, _ in index[split]])
    return {"index": index, "classes": classes}


def tiny_imagenet_index(root: Path) -> dict:
    """Train images by class folder; the labelled val images (our test split) by
    val_annotations.txt. Checks every file."""
    base = Path(root) / "tiny-imagenet-200"
    wnids_file, annotations = base / "wnids.txt", base / "val" / "val_annotations.txt"
    if not (wnids_file.is_file() and annotations.is_file()):
        raise missing("tiny-imagenet", base)
    wnids = wnids_file.read_text().split()
    label = {w: i for i, w in enumerate(wnids)}
    train = [(p, label[w]) for w in wnids
             for p in sorted((base / "train" / w / "images").glob("*.JPEG"))]
    test = []
    for line in annotations.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in label:
            raise missing("tiny-imagenet", annotations, f"annotation line {line!r} is malformed")
        test.append((base / "val" / "images" / fields[0], label[fields[1]]))
    if not train or any(not (base / "train" / w / "images").is_dir() for w in wnids):
        raise missing("tiny-imagenet", base / "train", "is incomplete (class folders missing)")
    _check_files("tiny-imagenet", base, [p for p, _ in test])
    names = {}
    words = base / "words.txt"
    if words.is_file():  # wnid -> human-readable name, where the file has it
        for line in words.read_text().splitlines():
            wnid, _, text = line.partition("\t")
            names[wnid] = text.split(",")[0]
    return {"index": {"train": train, "test": test},
            "classes": [names.get(w, w) for w in wnids]}


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
        raise UserError(f"image {path} is unreadable ({exc}); re-fetch it with '{FETCH}'") from None


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


def cached_arrays(name: str, root: Path, side: int) -> dict:
    """A JPEG dataset as uint8 arrays, decoded once and cached under <root>/cache."""
    index = food101_index(root) if name == "food101" else tiny_imagenet_index(root)
    out = {"classes": index["classes"]}
    for split, items in index["index"].items():
        cache = Path(root) / "cache" / f"{name}-{split}-{side or 'native'}.npz"
        if cache.is_file():
            try:
                with np.load(cache) as z:
                    if len(z["y"]) == len(items):
                        out[split] = (z["x"], z["y"])
                        continue
            except (OSError, ValueError, KeyError):
                pass  # a stale or foreign cache file: decode again
        x = decode_images([p for p, _ in items], side, f"decode {name} {split}")
        y = np.array([label for _, label in items], dtype=np.int64)
        atomic.write_atomic(cache, lambda tmp, x=x, y=y: np.savez(tmp, x=x, y=y))
        out[split] = (x, y)
    return out
