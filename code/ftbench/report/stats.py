"""The statistics every table uses: mean and spread over seeds, paired tests, Holm's correction.

Paired test of two configurations (`pooled_mcnemar`). Both are trained with the same seeds and
tested on the same images (the test split does not depend on the seed). For seed s, b_s images
are classified correctly by the first configuration only and c_s by the second only. Under the
null hypothesis that the two are equally accurate, each of these disagreements goes either way
with probability 1/2, in every seed, so b = sum(b_s) is binomial(sum(b_s + c_s), 1/2): an exact
test that uses every seed and every test image (the McNemar test stratified by seed, which for
matched pairs is the Mantel-Haenszel test). With one seed it is McNemar's exact test. It treats
the trained models as given: the spread over seeds is reported beside it (mean +- std), and
`agreeing_seeds` says in how many seeds the difference has the same sign.

Within a table, the p-values of its comparisons are adjusted with Holm's step-down method, which
controls the family-wise error rate without assuming the tests independent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

ALPHA = 0.05  # the significance level of every verdict and sentence


def floats(values: Iterable) -> list[float]:
    return [float(v) for v in values if v not in ("", None)]


def mean(values: Iterable) -> float:
    vals = floats(values)
    return sum(vals) / len(vals) if vals else math.nan


def std(values: Iterable) -> float:
    """Sample standard deviation (ddof=1); 0 for a single value."""
    vals = floats(values)
    if len(vals) < 2:
        return 0.0
    m = mean(vals)
    return math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, int, int]:
    """(p-value, b, c) for two boolean vectors over the same images, in the same order."""
    return pooled_mcnemar([(correct_a, correct_b)])


def pooled_mcnemar(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, int, int]:
    """(two-sided exact p, b, c) over the seeds' pairs of per-image correctness vectors: b images
    right only under the first configuration, c right only under the second, summed."""
    b = c = 0
    for correct_a, correct_b in pairs:
        if correct_a.shape != correct_b.shape:
            raise ValueError("a paired test needs the same test images for both configurations")
        b += int(np.sum(correct_a & ~correct_b))
        c += int(np.sum(~correct_a & correct_b))
    p = 1.0 if b + c == 0 else float(scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue)
    return p, b, c


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment; None entries (no test) are kept and not counted."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted


def log_ratio_interval(numerators: Sequence[float], denominators: Sequence[float],
                       level: float = 1 - ALPHA) -> tuple[float, float, float]:
    """(geometric mean, low, high) of the per-seed ratios numerator / denominator, with a
    t-interval on the log scale (ratios of times and memory are multiplicative). With one seed
    the interval is the point itself: no spread can be estimated. A ratio of values that are
    not all positive is undefined: NaN."""
    if not all(a > 0 and b > 0 for a, b in zip(numerators, denominators, strict=True)):
        return math.nan, math.nan, math.nan
    logs = [math.log(a / b) for a, b in zip(numerators, denominators, strict=True)]
    centre = mean(logs)
    if len(logs) < 2:
        return math.exp(centre), math.exp(centre), math.exp(centre)
    half = scipy_stats.t.ppf(0.5 + level / 2, len(logs) - 1) * std(logs) / math.sqrt(len(logs))
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def correctness(predictions: Path) -> tuple[np.ndarray, np.ndarray]:
    """(labels, per-image correctness) from a run's predictions.npz."""
    with np.load(predictions) as z:
        return z["y_true"], z["y_true"] == z["y_pred"]
