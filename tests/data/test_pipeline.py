"""Embedded datasets, splits and the on-device transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ftbench.config import DataConfig
from ftbench.data import source, synthetic
from ftbench.data.pipeline import Batches, DeviceTransform, random_crop
from ftbench.data.splits import load_splits


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


def test_transform_gives_three_normalised_channels_at_model_size():
    t = DeviceTransform(24, 3, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    x = torch.full((2, 1, 8, 8), 255, dtype=torch.uint8)
    out = t(x, train=False, gen=None)
    assert out.shape == (2, 3, 24, 24)
    torch.testing.assert_close(out, torch.ones_like(out))


def test_random_crop_equals_a_per_sample_crop_of_the_padded_image():
    x = torch.randn(5, 3, 8, 8)
    gen = torch.Generator().manual_seed(0)
    out = random_crop(x, pad=2, gen=gen)
    dy, dx = torch.randint(0, 5, (2, 5), generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(5):
        assert torch.equal(out[i], padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8])


def test_batches_cover_the_split_once_and_shuffle_reproducibly():
    split = load_splits(DataConfig(name="digits")).val
    t = DeviceTransform(8, 1, (0.0,), (1.0,), ("flip",))
    order = lambda seed: torch.cat([y for _, y in Batches(split, 32, t, torch.device("cpu"),  # noqa: E731
                                                            train=True, seed=seed)])
    assert sorted(order(0).tolist()) == sorted(split.y.tolist())
    assert torch.equal(order(0), order(0)) and not torch.equal(order(0), order(1))


def test_random_resized_crop_keeps_shape_and_full_box_is_identity():
    from ftbench.data.pipeline import random_resized_crop

    x = torch.rand(4, 3, 16, 16)
    out = random_resized_crop(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    same = random_resized_crop(x, torch.Generator().manual_seed(0), scale=(1.0, 1.0),
                               ratio=(1.0, 1.0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)


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
