"""The dataset registry: name -> DatasetSpec. A leaf (timm's `_registry` pattern): it imports
nothing of what registers with it. The datasets themselves are defined in `data/catalog.py`,
which registers each one; importing the `ftbench.data` package fills the registry, so a config
check can list the names and versions without importing a loader.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


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
    # (tests/data/test_synthetic.py pins each version's bytes), so that results from the old
    # images are never counted as current
    version: str = "published"


DATASETS: dict[str, DatasetSpec] = {}


def register(name: str, spec: DatasetSpec) -> None:
    if name in DATASETS:
        raise ValueError(f"dataset {name} is registered twice")
    DATASETS[name] = spec


def data_root() -> Path:
    return Path(os.environ.get("DATA_DIR") or Path.home() / ".cache" / "ftbench" / "data")
