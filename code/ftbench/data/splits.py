"""A dataset's train, validation and test splits as uint8 image tensors held in memory.

Where a dataset has no validation split, one is carved from train, stratified, with the
config's fixed `split_seed`; the test split is never touched until the final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ftbench.data.registry import DATASETS, data_root
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
