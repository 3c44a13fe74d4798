"""The on-device pipeline (ftbench.data.pipeline): the transform to model size, random crops
and resized crops, and batches that cover a split once in a reproducible order."""

from __future__ import annotations

import torch

from ftbench.config import DataConfig
from ftbench.data.pipeline import Batches, DeviceTransform, random_crop
from ftbench.data.splits import load_splits


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
