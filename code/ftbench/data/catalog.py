"""Every dataset, registered by name (`data.registry`).

Two families share one interface:
- embedded (the `tiny` profile; nothing downloaded): scikit-learn's digits and the procedural
  datasets in `synthetic.py` and `source.py`;
- real (the `quick` and `paper` profiles): MNIST, Fashion-MNIST, CIFAR-10/100 and Food-101
  through torchvision, and Tiny-ImageNet, read from DATA_DIR in their native formats
  (`files.py`, which also fetches them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ftbench.data import files, source, synthetic
from ftbench.data.registry import DatasetSpec, register


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


_CATALOG: dict[str, DatasetSpec] = {
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

for _name, _spec in _CATALOG.items():
    register(_name, _spec)
