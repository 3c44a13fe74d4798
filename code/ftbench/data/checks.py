"""Checks that a real dataset on disk is whole and consistent, each failing with one line.

Structural checks (as many labels as images, labels within the classes) always apply: a copy
that fails them cannot be trained on. The published counts (`files.PUBLISHED`) apply unless
`data.check_counts` is false, which only a copy that is partial on purpose (a test's fake)
should set: otherwise a half-copied folder would silently become a smaller dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ftbench.errors import UserError

FETCH = "make data"  # the command that fetches what a profile needs


@dataclass(frozen=True)
class Published:
    """A dataset as its publisher ships it."""

    classes: int
    images: dict[str, int]  # split -> images
    per_class: dict[str, int] | None = None  # split -> images of each class, where fixed


def missing(name: str, path: Path, what: str = "not found") -> UserError:
    return UserError(f"dataset {name} {what} at {path}; fetch it with '{FETCH}' "
                     f"(or set DATA_DIR to where it is)")


def inconsistent(name: str, path: Path, detail: str) -> UserError:
    return UserError(f"dataset {name} at {path} is inconsistent ({detail}); delete it and run "
                     f"'{FETCH}' again")


def labels(name: str, where: Path, split: str, images: int, y, classes: int) -> None:
    """As many labels as images, each naming one of `classes` classes."""
    y = np.asarray(y)
    if len(y) != images:
        raise inconsistent(name, where, f"{split} split: {images} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= classes):
        bad = int(y.min() if y.min() < 0 else y.max())
        raise inconsistent(name, where, f"{split} split: label {bad} is outside 0..{classes - 1}"
                                        f" for {classes} classes")


def counts(name: str, where: Path, published: Published, classes: list[str],
           y_by_split: dict) -> None:
    """The published number of classes, images per split and images per class."""
    detail = _count_mismatch(published, classes, y_by_split)
    if detail:
        raise UserError(f"dataset {name} at {where} is not the published copy ({detail}); "
                        f"delete it and run '{FETCH}' again, or set data.check_counts=false "
                        f"for a copy that is partial on purpose")


def _count_mismatch(published: Published, classes: list[str], y_by_split: dict) -> str:
    if len(classes) != published.classes:
        return f"{len(classes)} classes, not {published.classes}"
    for split, want in published.images.items():
        y = np.asarray(y_by_split[split])
        detail = f"{split} split has {len(y):,} images, not {want:,}" if len(y) != want else ""
        if published.per_class:
            each = published.per_class[split]
            got = np.bincount(y, minlength=len(classes))
            off = np.flatnonzero(got != each)
            if len(off):
                c = int(off[0])
                detail = (f"{detail or split + ' split'}; class {classes[c]!r} has "
                          f"{got[c]:,}, not {each:,}")
        if detail:
            return detail
    return ""
