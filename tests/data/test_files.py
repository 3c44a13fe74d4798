"""Real datasets from files: small fakes in each dataset's native on-disk format, read through
the code the quick and paper profiles use; and the one-line errors for missing, incomplete and
unreadable copies. Nothing here touches the network except a loopback server."""

from __future__ import annotations

import hashlib
import http.server
import json
import pickle
import shutil
import socket
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from fakes import RNG, fake_cifar, fake_food101, fake_mnist, fake_tiny_imagenet, write_idx
from ftbench.config import DataConfig
from ftbench.data import files
from ftbench.data.checks import Published
from ftbench.data.splits import load_splits
from ftbench.errors import UserError

# The fakes' own counts in the form of files.PUBLISHED: patched in, they test the counting itself.
FAKE_COUNTS = {
    "mnist": Published(10, {"train": 60, "test": 20}),
    "cifar10": Published(10, {"train": 50, "test": 20}, {"train": 5, "test": 2}),
    "food101": Published(3, {"train": 12, "test": 6}, {"train": 4, "test": 2}),
    "tiny-imagenet": Published(3, {"train": 15, "test": 9}, {"train": 5, "test": 3}),
}
TINY_FAKE = FAKE_COUNTS["tiny-imagenet"]
FAKES = {"mnist": lambda root, mp: fake_mnist(root),
         "cifar10": lambda root, mp: fake_cifar(root, monkeypatch=mp),
         "food101": lambda root, mp: fake_food101(root),
         "tiny-imagenet": lambda root, mp: fake_tiny_imagenet(root)}


def _one_line(err, *parts):
    """The message is one line and names each of `parts` (the path, the fix)."""
    msg = str(err.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert str(part) in msg, (part, msg)
    return msg


def _splits(name, root, **kw):
    """The fakes are partial on purpose: no published counts, unless a test asks for them."""
    return load_splits(DataConfig(name=name, **{"check_counts": False, **kw}), root=root)


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
    assert len(list((tmp_path / "cache").glob("food101-train-48-*.npz"))) == 1  # decoded once
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


def test_published_counts_agree_with_themselves_and_the_registry():
    from ftbench.data.registry import DATASETS

    assert set(files.PUBLISHED) == {n for n, spec in DATASETS.items() if not spec.embedded}
    for name, pub in files.PUBLISHED.items():
        assert pub.classes == DATASETS[name].num_classes, name
        if pub.per_class:
            assert {s: n * pub.classes for s, n in pub.per_class.items()} == pub.images, name


@pytest.mark.parametrize("name", FAKE_COUNTS)
def test_a_copy_with_the_published_counts_passes_and_one_image_short_fails(tmp_path, monkeypatch,
                                                                          name):
    monkeypatch.setitem(files.PUBLISHED, name, FAKE_COUNTS[name])
    FAKES[name](tmp_path, monkeypatch)
    assert len(_splits(name, tmp_path, check_counts=True, val_fraction=0.5).test) > 0
    if name == "mnist":  # one image (and its label) short
        raw = tmp_path / "MNIST" / "raw"
        write_idx(raw / "t10k-images-idx3-ubyte", RNG.integers(0, 256, (19, 28, 28)))
        write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(19) % 10)
        short = "test split has 19 images, not 20"
    elif name == "cifar10":
        batch = tmp_path / "cifar-10-batches-py" / "test_batch"
        data = pickle.loads(batch.read_bytes())
        data["data"], data["labels"] = data["data"][:-1], data["labels"][:-1]
        batch.write_bytes(pickle.dumps(data))
        short = "test split has 19 images, not 20; class 'c9' has 1, not 2"
    elif name == "food101":  # a copy whose index, too, lost the image
        meta = tmp_path / "food-101" / "meta" / "train.json"
        listing = json.loads(meta.read_text())
        (tmp_path / "food-101" / "images" / f"{listing['ramen'].pop()}.jpg").unlink()
        meta.write_text(json.dumps(listing))
        short = "train split has 11 images, not 12; class 'ramen' has 3, not 4"
    else:
        (tmp_path / "tiny-imagenet-200" / "train" / "n01629819" / "images" /
         "n01629819_3.JPEG").unlink()
        short = "train split has 14 images, not 15; class 'European fire salamander' has 4, not 5"
    with pytest.raises(UserError) as err:
        _splits(name, tmp_path, check_counts=True, val_fraction=0.5)
    _one_line(err, short, tmp_path, "make data", "data.check_counts=false")
    _splits(name, tmp_path, val_fraction=0.5)  # check_counts=false: a partial copy is fine


def test_the_real_counts_reject_a_small_copy_with_one_line(tmp_path):
    fake_mnist(tmp_path)
    with pytest.raises(UserError) as err:
        _splits("mnist", tmp_path, check_counts=True)
    assert str(err.value) == (
        f"dataset mnist at {tmp_path / 'MNIST'} is not the published copy (train split has 60 "
        f"images, not 60,000); delete it and run 'make data' again, or set "
        f"data.check_counts=false for a copy that is partial on purpose")
    fake_food101(tmp_path)
    with pytest.raises(UserError, match=r"food101 at .* \(3 classes, not 101\)") as err:
        _splits("food101", tmp_path, check_counts=True)
    _one_line(err, tmp_path / "food-101", "make data")


@pytest.mark.parametrize("n_images, n_labels", [(61, 60), (59, 60)])
def test_mnist_images_and_labels_must_agree_in_number(tmp_path, n_images, n_labels):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte",
         RNG.integers(0, 256, (n_images, 28, 28)))
    with pytest.raises(UserError) as err:
        _splits("mnist", tmp_path)
    assert str(err.value) == (
        f"dataset mnist at {tmp_path / 'MNIST'} is inconsistent (train split: {n_images} images "
        f"but {n_labels} labels); delete it and run 'make data' again")


def test_labels_outside_the_classes_are_one_line(tmp_path, monkeypatch):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.arange(20) % 10 + 3)
    with pytest.raises(UserError) as err:
        _splits("mnist", tmp_path)
    _one_line(err, "test split: label 12 is outside 0..9 for 10 classes", tmp_path / "MNIST",
              "make data")
    fake_cifar(tmp_path, classes=100, n_train=200, monkeypatch=monkeypatch)
    batch = tmp_path / "cifar-100-python" / "test"
    data = pickle.loads(batch.read_bytes())
    data["fine_labels"][3] = -1
    batch.write_bytes(pickle.dumps(data))
    with pytest.raises(UserError, match="cifar100 at .* label -1 is outside 0..99") as err:
        _splits("cifar100", tmp_path)
    _one_line(err, tmp_path / "cifar-100-python", "make data")


@pytest.mark.parametrize("edit, problem", [
    (lambda m: m["test"].pop("ramen"), "test.json lacks class 'ramen' that train.json names"),
    (lambda m: m["train"].pop("apple_pie"),
     "train.json lacks class 'apple_pie' that test.json names"),
    (lambda m: m["test"].update(bibimbap=["bibimbap/x"]),
     "train.json lacks class 'bibimbap' that test.json names"),
    (lambda m: m["classes"].remove("ramen"),
     "classes.txt lacks class 'ramen' that train.json names"),
    (lambda m: m["train"].update(ramen=[]), "it lists no images of class 'ramen'"),
])
def test_food101_meta_files_must_name_the_same_classes(tmp_path, edit, problem):
    meta = fake_food101(tmp_path) / "meta"
    m = {s: json.loads((meta / f"{s}.json").read_text()) for s in ("train", "test")}
    m["classes"] = (meta / "classes.txt").read_text().split()
    edit(m)
    for s in ("train", "test"):
        (meta / f"{s}.json").write_text(json.dumps(m[s]))
    (meta / "classes.txt").write_text("\n".join(m["classes"]) + "\n")
    with pytest.raises(UserError) as err:
        _splits("food101", tmp_path)  # always checked, counts or not
    _one_line(err, f"food101 at {meta}", problem, "make data")


def test_tiny_imagenet_class_folders_and_annotations_must_match_wnids(tmp_path):
    base = fake_tiny_imagenet(tmp_path)
    images = base / "train" / "n01629819" / "images"
    for p in images.iterdir():
        p.unlink()
    with pytest.raises(UserError) as err:
        _splits("tiny-imagenet", tmp_path)
    _one_line(err, "tiny-imagenet is incomplete (class folder n01629819/images is empty)",
              base / "train", "make data")
    images.rmdir()
    with pytest.raises(UserError, match="n01629819/images is missing") as err:
        _splits("tiny-imagenet", tmp_path)

    shutil.rmtree(base)
    base = fake_tiny_imagenet(tmp_path)
    annotations = base / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text().replace("n01641577", "n09999999", 1))
    with pytest.raises(UserError) as err:
        _splits("tiny-imagenet", tmp_path)
    _one_line(err, f"at {annotations} is inconsistent (line 3 names wnid 'n09999999', which "
                   f"wnids.txt lacks)", "make data")


def test_the_decode_cache_is_not_reused_after_an_image_changes(tmp_path):
    base = fake_tiny_imagenet(tmp_path)
    before = _splits("tiny-imagenet", tmp_path, val_fraction=0.2).test.x[0]
    Image.fromarray(np.full((64, 64, 3), 200, dtype=np.uint8)).save(
        base / "val" / "images" / "val_0.JPEG", "JPEG")  # test image 0, re-saved
    after = _splits("tiny-imagenet", tmp_path, val_fraction=0.2).test.x[0]
    assert (after.int() - 200).abs().max() <= 2 and not torch.equal(after, before)
    caches = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(caches) == 2 and all(p.startswith("tiny-imagenet-") for p in caches)  # no stale


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload and honours `Range: bytes=N-`, as the dataset hosts do."""

    payload = b""
    ranges: list = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        if self.path.endswith("/missing.zip"):
            self.send_error(404)
            return
        start = 0
        if (rng := self.headers.get("Range")) and rng.startswith("bytes="):
            start = int(rng[6:].rstrip("-"))
            self.ranges.append(start)
        if start >= len(self.payload):  # as the hosts answer a range past the end
            self.send_error(416)
            return
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


OFFLINE = ("; check the network, or copy the dataset into DATA_DIR (see docs/reproducing.md, "
           "Offline machines)")


def test_download_offline_is_one_line_and_keeps_the_partial_file(tmp_path, server):
    url, handler = server
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/archive.zip"
    md5 = hashlib.md5(handler.payload).hexdigest()
    part = tmp_path / "archive.zip.part"
    part.write_bytes(handler.payload[:100_000])
    with pytest.raises(UserError) as err:
        files.download(dead, tmp_path / "archive.zip", md5)
    assert str(err.value) == f"cannot download {dead} (Connection refused){OFFLINE}"
    assert part.read_bytes() == handler.payload[:100_000]  # kept: a later call resumes
    files.download(url, tmp_path / "archive.zip", md5)
    assert handler.ranges == [100_000]
    assert (tmp_path / "archive.zip").read_bytes() == handler.payload


def test_download_of_a_missing_file_is_one_line(tmp_path, server):
    url, _ = server
    url = url.replace("archive.zip", "missing.zip")
    with pytest.raises(UserError) as err:
        files.download(url, tmp_path / "missing.zip", "0" * 32)
    assert str(err.value) == f"cannot download {url} (HTTP 404 Not Found){OFFLINE}"
    assert list(tmp_path.iterdir()) == []


def test_a_part_file_that_is_already_whole_is_checked_not_fetched_again(tmp_path, server):
    url, handler = server  # the server answers 416 to a range past the end
    (tmp_path / "archive.zip.part").write_bytes(handler.payload)
    files.download(url, tmp_path / "archive.zip", hashlib.md5(handler.payload).hexdigest())
    assert (tmp_path / "archive.zip").read_bytes() == handler.payload
    assert handler.ranges == [len(handler.payload)]


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
    monkeypatch.setitem(files.PUBLISHED, "tiny-imagenet", TINY_FAKE)  # fetch checks the counts
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
