"""Real datasets from files: small fakes in each dataset's native on-disk format, read through
the code the quick and paper profiles use; and the one-line errors for missing, incomplete and
unreadable copies. Nothing here touches the network except a loopback server."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import shutil
import struct
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from ftbench.config import DataConfig
from ftbench.data import files
from ftbench.data.registry import load_splits
from ftbench.errors import UserError

RNG = np.random.default_rng(0)


def _idx(path, array: np.ndarray) -> None:
    """MNIST's IDX format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes, data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                         *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(root, folder="MNIST", n_train=60, n_test=20):
    raw = root / folder / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _idx(raw / f"{prefix}-images-idx3-ubyte", RNG.integers(0, 256, (n, 28, 28)))
        _idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)


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


def _splits(name, root, **kw):
    return load_splits(DataConfig(name=name, **kw), root=root)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_idx_files(tmp_path, name, folder):
    fake_mnist(tmp_path, folder)
    s = _splits(name, tmp_path, val_fraction=0.2)
    assert (len(s.train), len(s.val), len(s.test)) == (48, 12, 20)
    assert s.train.x.shape[1:] == (1, 28, 28) and s.train.x.dtype == torch.uint8
    assert s.num_classes == 10 and set(s.test.y.tolist()) == set(range(10))


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_pickled_batches(tmp_path, monkeypatch, classes):
    fake_cifar(tmp_path, classes, n_train=200 if classes == 100 else 50, monkeypatch=monkeypatch)
    name = "cifar10" if classes == 10 else "cifar100"
    s = _splits(name, tmp_path, val_fraction=0.5)
    assert s.train.x.shape[1:] == (3, 32, 32) and s.num_classes == classes
    assert len(s.train) + len(s.val) == (200 if classes == 100 else 50) and len(s.test) == 20
    assert s.classes[1] == "c1"


def test_food101_images_and_meta_with_val_cut_from_test(tmp_path):
    fake_food101(tmp_path, n_test=10)
    s = _splits("food101", tmp_path, image_size=48, val_from="test", val_fraction=0.7)
    assert s.classes == ["apple_pie", "baby_back_ribs", "ramen"]
    assert len(s.train) == 12 and (len(s.val), len(s.test)) == (21, 9)  # 30 test cut 70/30
    assert s.train.x.shape[1:] == (3, 48, 48)  # decoded at the run's input side, square
    assert sorted(set(s.train.y.tolist())) == [0, 1, 2]
    assert list((tmp_path / "cache").glob("food101-*-48.npz"))  # decoded once
    again = _splits("food101", tmp_path, image_size=48, val_from="test", val_fraction=0.7)
    assert np.array_equal(again.train.x.numpy(), s.train.x.numpy())


def test_tiny_imagenet_val_annotations_give_the_test_labels(tmp_path):
    fake_tiny_imagenet(tmp_path)
    s = _splits("tiny-imagenet", tmp_path, val_fraction=0.2)
    assert s.classes == ["goldfish", "European fire salamander", "bullfrog"]
    assert (len(s.train), len(s.val), len(s.test)) == (12, 3, 9)
    assert s.train.x.shape[1:] == (3, 64, 64)  # greyscale JPEGs come out as RGB
    assert s.test.y.tolist() == [0, 1, 2] * 3  # from val_annotations.txt, in file order


@pytest.mark.parametrize("name", ["mnist", "cifar10", "food101", "tiny-imagenet"])
def test_missing_dataset_is_one_line_naming_the_path_and_the_fix(tmp_path, name):
    with pytest.raises(UserError) as err:
        _splits(name, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path) in msg and "make data" in msg and name in msg


def test_half_unpacked_copies_are_reported_not_used(tmp_path):
    base = fake_food101(tmp_path)
    (base / "images" / "ramen" / "train1.jpg").unlink()
    with pytest.raises(UserError, match=r"food101 is incomplete \(1 of 12 images missing"):
        _splits("food101", tmp_path)
    base = fake_tiny_imagenet(tmp_path)
    (base / "val" / "images" / "val_4.JPEG").unlink()
    with pytest.raises(UserError, match="tiny-imagenet is incomplete"):
        _splits("tiny-imagenet", tmp_path)


def test_truncated_and_wrong_format_files_give_one_line(tmp_path):
    base = fake_food101(tmp_path)
    jpg = base / "images" / "apple_pie" / "train0.jpg"
    jpg.write_bytes(jpg.read_bytes()[:200])  # truncated
    with pytest.raises(UserError, match="train0.jpg is unreadable") as err:
        _splits("food101", tmp_path, image_size=32)
    assert "\n" not in str(err.value)

    fake_mnist(tmp_path)
    idx = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    idx.write_bytes(b"not an idx file at all")
    with pytest.raises(UserError, match="mnist is unreadable") as err:
        _splits("mnist", tmp_path)
    assert "\n" not in str(err.value)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload and honours `Range: bytes=N-`, as the dataset hosts do."""

    payload = b""
    ranges: list = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        start = 0
        if (rng := self.headers.get("Range")) and rng.startswith("bytes="):
            start = int(rng[6:].rstrip("-"))
            self.ranges.append(start)
        body = self.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _RangeHandler.payload = bytes(RNG.integers(0, 256, 300_000, dtype=np.uint8))
    _RangeHandler.ranges = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/archive.zip", _RangeHandler
    httpd.shutdown()


def test_download_resumes_a_partial_file_and_checks_the_md5(tmp_path, server):
    url, handler = server
    md5 = hashlib.md5(handler.payload).hexdigest()
    dest = tmp_path / "archive.zip"
    (tmp_path / "archive.zip.part").write_bytes(handler.payload[:120_000])  # interrupted
    files.download(url, dest, md5)
    assert dest.read_bytes() == handler.payload and handler.ranges == [120_000]
    assert not (tmp_path / "archive.zip.part").exists()


def test_download_with_a_wrong_md5_leaves_no_file(tmp_path, server):
    url, _ = server
    with pytest.raises(UserError, match="is not the published"):
        files.download(url, tmp_path / "archive.zip", "0" * 32)
    assert list(tmp_path.iterdir()) == []



def test_fetch_unpacks_a_verified_archive_and_replaces_a_partial_copy(tmp_path, server,
                                                                        monkeypatch):
    url, handler = server
    src = tmp_path / "src"
    fake_tiny_imagenet(src)
    archive = tmp_path / "tiny.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", src, "tiny-imagenet-200")
    handler.payload = archive.read_bytes()
    monkeypatch.setattr(files, "TINY_IMAGENET_URL", url)
    monkeypatch.setattr(files, "TINY_IMAGENET_MD5", hashlib.md5(handler.payload).hexdigest())
    root = tmp_path / "data"
    files.fetch("tiny-imagenet", root)
    assert len(_splits("tiny-imagenet", root, val_fraction=0.2).test) == 9
    (root / "tiny-imagenet-200" / "val" / "images" / "val_0.JPEG").unlink()  # cut short
    files.fetch("tiny-imagenet", root)  # the partial copy is replaced from the archive
    assert (root / "tiny-imagenet-200" / "val" / "images" / "val_0.JPEG").is_file()


def test_a_split_too_small_for_every_class_is_one_line(tmp_path):
    fake_tiny_imagenet(tmp_path)  # 15 training images of 3 classes: 10% held out is 2 images
    with pytest.raises(UserError, match="cannot hold all 3 classes") as err:
        _splits("tiny-imagenet", tmp_path, val_fraction=0.1)
    assert "\n" not in str(err.value) and "data.val_fraction" in str(err.value)
