"""Paired comparisons on the same test images: McNemar's exact test on per-sample correctness.

Two configurations tested on the same images disagree on some of them: b images only the first
gets right, c only the second. Under the null hypothesis that both are equally accurate, each
disagreement goes either way with probability 1/2, so min(b, c) is binomial(b + c, 1/2); the
two-sided p-value is scipy's exact binomial test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import binomtest


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, int, int]:
    """(p-value, b, c) for two boolean vectors over the same images, in the same order."""
    if correct_a.shape != correct_b.shape:
        raise ValueError("McNemar needs the same test images for both configurations")
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return p, b, c


def correctness(predictions: Path) -> np.ndarray:
    with np.load(predictions) as z:
        return z["y_true"] == z["y_pred"]
