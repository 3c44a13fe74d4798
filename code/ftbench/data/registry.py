"""Dataset registry: name -> loader returning uint8 image tensors held in memory.

Two families share one interface:
- embedded (the `tiny` profile; nothing downloaded): scikit-learn's digits and the procedural
  datasets in `synthetic.py`;
- real (the `quick` and `paper` profiles): MNIST, Fashion-MNIST, CIFAR-10/100 and Food-101
  through torchvision, and Tiny-ImageNet, read from DATA_DIR in their native formats
  (`files.py`, which also fetches them).

`load_splits` returns train/val/test. Where a dataset has no validation split, one is carved from
train, stratified, with the config's fixed `split_seed`; the test split is never touched until
the final report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ftbench.data import files, source, synthetic
from ftbench.errors import UserError

if TYPE_CHECKING:
    import torch


@dataclass
class Split:
    x: torch.Tensor  # uint8 [N, C, H, W]
    y: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Splits:
    name: str
    display: str  # how the paper names it
    classes: list[str]
    train: Split
    val: Split
    test: Split

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass
class DatasetSpec:
    display: str
    num_classes: int  # known without loading: the params table needs it
    embedded: bool
    # (data root, input side, check_counts) -> {"train": (x, y), "test": (x, y), "classes": [...]};
    # check_counts (data.check_counts): check a real dataset's published counts
    load: Callable[[Path, int, bool], dict]
    # images of the training split before validation is carved out (known without loading:
    # plan-time checks need it)
    train_size: int | None = None
    test_fraction: float = 0.0  # carve a test split from train when the dataset has none
    # part of every run's identity: a generator that draws other images must get a new version
    # (tests/test_data.py pins each version's bytes), so that results from the old images are
    # never counted as current
    version: str = "published"


def data_root() -> Path:
    return Path(os.environ.get("DATA_DIR") or Path.home() / ".cache" / "ftbench" / "data")


def _digits(_root: Path, _side: int, _check_counts: bool) -> dict:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0 * 255).round().astype(np.uint8)[:, None]  # 8x8, 17 grey levels
    return {"train": (x, d.target), "classes": [str(c) for c in d.target_names]}


def generated(display: str, classes: int, fn, n_train: int, n_test: int, seed: int,
              version: str, **kwargs) -> DatasetSpec:
    """A procedurally generated dataset: train and test drawn from seeds `seed` and `seed + 1`."""

    drawn: dict = {}  # the runs of one process (the seeds of a configuration) draw once

    def load(_root: Path, _side: int, _check_counts: bool) -> dict:
        if not drawn:
            drawn["train"], drawn["test"] = fn(n_train, seed, **kwargs), fn(n_test, seed + 1,
                                                                             **kwargs)
        (x_tr, y_tr, names), (x_te, y_te, _) = drawn["train"], drawn["test"]
        return {"train": (x_tr.copy(), y_tr.copy()), "test": (x_te.copy(), y_te.copy()),
                "classes": names}

    return DatasetSpec(display, classes, True, load, train_size=n_train, version=version)


def _torchvision(name: str):
    return lambda root, _side, check_counts: files.torchvision_arrays(name, root, check_counts)


def _jpegs(name: str, store_side: bool):
    """JPEG folders, decoded once: Food-101 at the run's input side (its images are large and
    of mixed sizes), Tiny-ImageNet at its own 64 px."""
    return lambda root, side, check_counts: files.cached_arrays(
        name, root, side if store_side else 0, check_counts)


DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("Digits (8x8, MNIST stand-in)", 10, True, _digits, train_size=1347,
                          test_fraction=0.25, version="sklearn"),
    # three times the images of version 1: the ViT-micro, which overfitted 25,600 of them,
    # generalises on these (the CNNs reach the same accuracy in fewer epochs)
    "synth-source": generated("Synthetic glyphs, silhouettes and textures (pretraining source)",
                              32, source.source, 76800, 3200, seed=5000, version="2"),
    "synth-fashion": generated("Synthetic garments (Fashion-MNIST stand-in)", 10,
                               synthetic.fashion, 2000, 600, seed=2000, version="1"),
    "synth-objects": generated("Synthetic objects (CIFAR-10 stand-in)", 10, synthetic.objects,
                               4000, 1000, seed=3000, version="2"),
    "synth-objects-20": generated("Synthetic objects, 20 classes (CIFAR-100 stand-in)", 20,
                                  synthetic.objects, 4000, 1000, seed=4000, version="2",
                                  shapes=10),
    "synth-food": generated("Synthetic dishes, 20 classes (Food-101 stand-in)", 20,
                            synthetic.food, 4000, 1000, seed=6000, version="1"),
    "mnist": DatasetSpec("MNIST", 10, False, _torchvision("mnist"), train_size=60000),
    "fashion-mnist": DatasetSpec("Fashion-MNIST", 10, False, _torchvision("fashion-mnist"),
                                 train_size=60000),
    "cifar10": DatasetSpec("CIFAR-10", 10, False, _torchvision("cifar10"), train_size=50000),
    "cifar100": DatasetSpec("CIFAR-100", 100, False, _torchvision("cifar100"), train_size=50000),
    "food101": DatasetSpec("Food-101", 101, False, _jpegs("food101", store_side=True),
                           train_size=75750),
    "tiny-imagenet": DatasetSpec("Tiny-ImageNet", 200, False,
                                 _jpegs("tiny-imagenet", store_side=False), train_size=100000),
}


def _stratified(x, y, fraction: float, seed: int):
    """(rest, held-out) with `fraction` of the samples held out, class-stratified."""
    from sklearn.model_selection import train_test_split

    classes = len(np.unique(y))
    held = int(np.ceil(fraction * len(y)))  # as scikit-learn rounds it
    if min(held, len(y) - held) < classes:  # scikit-learn's own message names no config key
        raise UserError(f"a stratified split of {len(y)} images into {len(y) - held} and "
                        f"{held} cannot hold all {classes} classes on both sides; "
                        f"raise data.train_limit or change data.val_fraction")
    idx_rest, idx_out = train_test_split(
        np.arange(len(y)), test_size=fraction, stratify=y, random_state=seed
    )
    return (x[idx_rest], y[idx_rest]), (x[idx_out], y[idx_out])


def load_splits(cfg, root: Path | None = None) -> Splits:
    """Train/val/test for a DataConfig; deterministic in (name, split_seed, train_limit)."""
    spec = DATASETS[cfg.name]
    raw = spec.load(Path(root) if root else data_root(), cfg.image_size, cfg.check_counts)
    train = raw["train"]
    test = raw.get("test")
    if test is None:
        train, test = _stratified(*train, spec.test_fraction, cfg.split_seed)
    val = raw.get("val")
    if val is None and cfg.val_from == "test":
        test, val = _stratified(*test, cfg.val_fraction, cfg.split_seed + 1)
    elif val is None:
        train, val = _stratified(*train, cfg.val_fraction, cfg.split_seed + 1)
    if cfg.train_limit and cfg.train_limit < len(train[1]):
        _, train = _stratified(*train, cfg.train_limit / len(train[1]), cfg.split_seed + 2)

    import torch  # here, not at the top: listing datasets (config checks) needs no torch

    def split(xy) -> Split:
        x, y = xy
        x = torch.from_numpy(np.ascontiguousarray(x))
        return Split(x, torch.as_tensor(y, dtype=torch.long))

    display = cfg.label or spec.display
    return Splits(cfg.name, display, raw["classes"], split(train), split(val), split(test))
