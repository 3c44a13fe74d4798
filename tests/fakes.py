"""Small fakes of the real datasets in each one's native on-disk format (MNIST's idx files,
CIFAR's pickled batches, Food-101's and Tiny-ImageNet's JPEG folders), for the tests of the
loaders (tests/data/test_files.py) and the bad-input cases that break them."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
from PIL import Image

RNG = np.random.default_rng(0)


def write_idx(path, array: np.ndarray) -> None:
    """MNIST's IDX format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes, data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                         *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(root, folder="MNIST", n_train=60, n_test=20):
    raw = root / folder / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", RNG.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)


def fake_cifar(root, classes=10, n_train=50, n_test=20, monkeypatch=None):
    """CIFAR's pickled batches (five train batches for CIFAR-10, one file for CIFAR-100)."""
    import torchvision

    key = "labels" if classes == 10 else "fine_labels"
    folder = root / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    folder.mkdir(parents=True)

    def batch(name, n):
        data = {"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
                key: list(np.arange(n) % classes)}
        (folder / name).write_bytes(pickle.dumps(data))

    if classes == 10:
        for i in range(1, 6):
            batch(f"data_batch_{i}", n_train // 5)
        batch("test_batch", n_test)
        meta = {"label_names": [f"c{i}" for i in range(10)]}
        (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    else:
        batch("train", n_train)
        batch("test", n_test)
        meta = {"fine_label_names": [f"c{i}" for i in range(100)]}
        (folder / "meta").write_bytes(pickle.dumps(meta))
    # torchvision checks each file's MD5 against the published files, which fakes cannot match:
    # keep its check that every file is there, drop the MD5
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity",
                        lambda fpath, md5=None: os.path.isfile(fpath))


def _jpeg(path, size=(64, 64), grey=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if grey else "RGB"
    shape = size[::-1] if grey else (*size[::-1], 3)
    Image.fromarray(RNG.integers(0, 256, shape, dtype=np.uint8), mode).save(path, "JPEG")


def fake_food101(root, classes=("apple_pie", "baby_back_ribs", "ramen"), n_train=4, n_test=2):
    base = root / "food-101"
    meta = {}
    for split, n in (("train", n_train), ("test", n_test)):
        listing = {c: [f"{c}/{split}{i}" for i in range(n)] for c in classes}
        for rels in listing.values():
            for rel in rels:  # mixed sizes and orientations, as in the real dataset
                _jpeg(base / "images" / f"{rel}.jpg", size=(90 + 7 * len(rel), 70))
        meta[split] = listing
        (base / "meta").mkdir(parents=True, exist_ok=True)
        (base / "meta" / f"{split}.json").write_text(json.dumps(listing))
    (base / "meta" / "classes.txt").write_text("\n".join(classes))
    return base


def fake_tiny_imagenet(root, wnids=("n01443537", "n01629819", "n01641577"), n_train=5,
                       n_val=3):
    base = root / "tiny-imagenet-200"
    (base / "train").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (base / "words.txt").write_text("n01443537\tgoldfish, Carassius auratus\n"
                                    "n01629819\tEuropean fire salamander\n"
                                    "n01641577\tbullfrog, Rana catesbeiana\n")
    for w in wnids:
        for i in range(n_train):
            _jpeg(base / "train" / w / "images" / f"{w}_{i}.JPEG", grey=(i == 0))
        (base / "train" / w / f"{w}_boxes.txt").write_text("")
    lines = []
    for i in range(n_val * len(wnids)):
        _jpeg(base / "val" / "images" / f"val_{i}.JPEG")
        lines.append(f"val_{i}.JPEG\t{wnids[i % len(wnids)]}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    _jpeg(base / "test" / "images" / "test_0.JPEG")  # unlabelled: never read
    return base
