"""The generated datasets (ftbench.data.synthetic, ftbench.data.source): deterministic, balanced
and not blank; and each one's bytes pinned to its version: a generator that draws other images
must get a new `version` in ftbench.data.registry, which is part of every run's identity, so that
results from the old images are never counted as current."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ftbench.data import source, synthetic
from ftbench.data.registry import DATASETS

PINNED = {  # name: (version, sha256 of train and test images and labels, first 16 digits)
    "digits": ("sklearn", "0b7e9c3202d7bcd2"),
    "synth-source": ("2", "28d9cf60d161f4b4"),
    "synth-fashion": ("1", "cdc33797035d7051"),
    "synth-objects": ("2", "6d0a8f8863e6798c"),
    "synth-objects-20": ("2", "d00a6fc24ddc0fae"),
    "synth-food": ("1", "a3f741b01ef106a6"),
}


@pytest.mark.parametrize("fn, kwargs, channels, classes", [
    (synthetic.fashion, {}, 1, 10), (synthetic.objects, {}, 3, 10),
    (synthetic.objects, {"shapes": 10}, 3, 20), (synthetic.food, {}, 3, 20),
    (source.source, {}, 3, 32)])
def test_synthetic_sets_are_deterministic_and_balanced(fn, kwargs, channels, classes):
    n = 10 * classes
    x1, y1, names = fn(n, seed=7, **kwargs)
    x2, y2, _ = fn(n, seed=7, **kwargs)
    x3, _, _ = fn(n, seed=8, **kwargs)
    assert x1.dtype == np.uint8 and x1.shape == (n, channels, 32, 32)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert len(names) == len(set(names)) == classes
    assert np.bincount(y1).tolist() == [10] * classes
    assert x1.std() > 20  # not blank


def fingerprint(name: str) -> str:
    raw = DATASETS[name].load(None, 32, True)
    h = hashlib.sha256()
    for split in ("train", "test"):
        if split in raw:
            x, y = raw[split]
            h.update(x.tobytes())
            h.update(y.astype("int64").tobytes())
    return h.hexdigest()[:16]


def test_every_embedded_dataset_is_pinned():
    assert {n for n, spec in DATASETS.items() if spec.embedded} == set(PINNED)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "synth-source"
                                  else n for n in PINNED])
def test_generated_bytes_match_their_version(name):
    version, digest = PINNED[name]
    assert DATASETS[name].version == version, "a new version needs a new pinned hash here"
    assert fingerprint(name) == digest, (
        f"{name}'s images changed: bump its version in ftbench.data.registry (old results must "
        "go stale) and pin the new hash here")
