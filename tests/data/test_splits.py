"""Splits of the embedded datasets (ftbench.data.splits): stratified and fixed by their random
seed, a training limit that subsamples the training split only, validation carved from the
test split, and the class counts the registry declares."""

from __future__ import annotations

import pytest
import torch

from ftbench.config import DataConfig
from ftbench.data.splits import load_splits


def test_digits_splits_are_stratified_fixed_and_cover_the_data():
    cfg = DataConfig(name="digits", val_fraction=0.1, split_seed=0)
    a, b = load_splits(cfg), load_splits(cfg)
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    assert len(a.test) == 450 and a.num_classes == 10
    assert torch.equal(a.val.y, b.val.y) and torch.equal(a.test.x, b.test.x)
    counts = torch.bincount(a.test.y, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # stratified: ~45 of each digit
    other = load_splits(DataConfig(name="digits", split_seed=1))
    assert not torch.equal(a.val.y, other.val.y)


def test_train_limit_subsamples_train_only():
    full = load_splits(DataConfig(name="synth-fashion"))
    small = load_splits(DataConfig(name="synth-fashion", train_limit=300))
    assert len(small.train) == 300
    assert torch.equal(full.test.x, small.test.x) and torch.equal(full.val.y, small.val.y)


def test_val_and_test_can_be_carved_from_the_test_split():
    a = load_splits(DataConfig(name="synth-fashion", val_from="test", val_fraction=0.7))
    assert (len(a.train), len(a.val), len(a.test)) == (2000, 420, 180)  # 600 test -> 70/30


@pytest.mark.slow  # draws all of synth-source (seconds)
def test_registry_class_counts_match_the_data():
    from ftbench.data.registry import DATASETS

    for name, spec in DATASETS.items():
        if spec.embedded:
            assert load_splits(DataConfig(name=name)).num_classes == spec.num_classes, name


def test_check_counts_reaches_the_loader(monkeypatch):
    import dataclasses

    from ftbench.data import registry

    seen, spec = [], registry.DATASETS["digits"]

    def load(root, side, check_counts):
        seen.append(check_counts)
        return spec.load(root, side, check_counts)

    monkeypatch.setitem(registry.DATASETS, "digits", dataclasses.replace(spec, load=load))
    load_splits(DataConfig(name="digits", check_counts=False))
    load_splits(DataConfig(name="digits"))
    assert seen == [False, True]
