"""The statistics every table uses: mean and spread over seeds, the paired test, Holm.

The paired test of two configurations (`sign_flip_test`) takes the test image as its unit. Both
configurations are trained with the same random seeds and scored on the same test images (the
test split does not depend on the seed), so the seeds of one configuration are not independent
samples: a model that finds an image hard finds it hard under every seed. For image i, let d_i be
the number of seeds in which the second configuration classifies it correctly minus the number in
which the first does (an integer in [-S, S]); the statistic is T = sum_i d_i, the difference in
correct answers summed over seeds and images (S * N times the difference in mean accuracy). Under
the null hypothesis that the two configurations are exchangeable on every image, each d_i is as
likely as -d_i, whatever the dependence between the seeds of one image; the p-value is the exact
probability, over the 2^N sign flips, of a |T| at least as large as observed. Its distribution is
computed exactly (a convolution over the distinct |d_i|), so the test has no Monte Carlo error and
gives the same bits on every machine. With one seed it is McNemar's exact test.

`pooled_mcnemar`, the test this replaced, pools the disagreements of all seeds into one binomial
count as if every (seed, image) pair were independent; it is kept to show, in the calibration
(`ftbench.report.calibration`), that it rejects far too often when mistakes cluster on images.

Within a table, the p-values of its comparisons are adjusted with Holm's step-down method, which
controls the family-wise error rate without assuming the tests independent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def as_matrix(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' pairs of per-image correctness vectors as two (seeds, images) arrays."""
    if any(a.shape != b.shape for a, b in pairs) or len({a.shape for a, _ in pairs}) > 1:
        raise ValueError("a paired test needs the same test images for both configurations")
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


@dataclass(frozen=True)
class SignFlip:
    p: float  # two-sided, exact
    statistic: int  # T: correct answers of the second configuration minus the first's
    discordant: int  # images on which the two differ in their number of correct seeds


def sign_flip_test(correct_a: np.ndarray, correct_b: np.ndarray) -> SignFlip:
    """The paired sign-flip test over test images of two (seeds, images) boolean arrays, the
    same seeds and images in the same order (see the module's docstring)."""
    if correct_a.shape != correct_b.shape:
        raise ValueError("a paired test needs the same test images for both configurations")
    d = correct_b.astype(np.int64).sum(0) - correct_a.astype(np.int64).sum(0)
    t = int(d.sum())
    magnitudes = np.abs(d[d != 0])
    if not len(magnitudes):
        return SignFlip(1.0, 0, 0)
    values, pmf = _sign_flip_distribution(magnitudes)
    p = float(pmf[np.abs(values) >= abs(t)].sum())
    return SignFlip(min(1.0, p), t, len(magnitudes))


def _sign_flip_distribution(magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, probabilities) of sum_i e_i m_i with independent fair signs e_i: the images
    with the same |d| = k contribute k (2 Binomial(n_k, 1/2) - n_k), convolved over k."""
    pmf = np.ones(1)
    for k, n in enumerate(np.bincount(magnitudes)):
        if k == 0 or n == 0:
            continue
        part = np.zeros(2 * k * n + 1)
        part[::2 * k] = scipy_stats.binom.pmf(np.arange(n + 1), n, 0.5)
        pmf = np.convolve(pmf, part)
    top = int(magnitudes.sum())
    return np.arange(-top, top + 1), pmf


def pooled_mcnemar(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, int, int]:
    """(two-sided exact p, b, c): the disagreements of every seed pooled into one binomial
    count (b: right only under the first configuration, c: only under the second), as if every
    (seed, image) were independent. Anti-conservative when mistakes cluster on images; kept for
    the calibration that shows it."""
    a, b_ = as_matrix(pairs)
    b, c = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
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


def log_ratio_p(numerators: Sequence[float], denominators: Sequence[float]) -> float | None:
    """Two-sided p of the one-sample t-test that the mean log ratio is 0; None where no
    spread can be estimated (one seed, or the same ratio in every seed)."""
    logs = [math.log(a / b) for a, b in zip(numerators, denominators, strict=True)]
    if len(logs) < 2 or std(logs) == 0:
        return None
    return float(scipy_stats.ttest_1samp(logs, 0.0).pvalue)
