"""The statistics every table uses: mean and spread over seeds, the two paired tests, Holm.

The test behind every verdict, sentence and claim (`seed_paired_t`) takes the training run as its
unit, because a training run is what a rebuild draws again: its seed sets initialisation, data
order, augmentation and dropout (and, where the design gives each seed its own pretraining run,
the backbone), and its accuracy is a mean over the test images it was scored on, so the images'
noise is nested inside the run's. Configurations a and b run the same seeds; d_s is seed s's
accuracy of b minus a's, and the test is Student's paired t test of mean(d) = 0 with S - 1
degrees of freedom. Pairing by seed removes whatever the two runs of a seed share (a pretraining
draw, the data order); the test needs no assumption about how much of the variance comes from
runs and how much from images, which `variance_ratio` reports per configuration and the
calibration (`ftbench.report.calibration`) varies over the range this build shows.

The image-level test (`sign_flip_test`) is kept as a secondary statement about these trained
networks only: it holds the runs fixed, so it answers "do these networks differ on these
images", not "would a rebuild find the same". It takes the test image as its unit. Both
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
NO_SPREAD = 1e-9  # a run-level spread of accuracy below this is rounding


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


@dataclass(frozen=True)
class RunTest:
    p: float  # two-sided
    statistic: float  # Student's t of the per-seed differences (nan: no spread)


def seed_paired_t(accuracy_a: Sequence[float], accuracy_b: Sequence[float]) -> RunTest | None:
    """Student's paired t test over seeds of two configurations' per-run accuracies (b - a), the
    same seeds in the same order; None with fewer than two seeds (no run-level spread can be
    estimated, so nothing can be said of a rebuild). Differences equal in every seed have no
    spread either: the test cannot tell them from a constant, and says p = 1 rather than
    guess."""
    d = np.asarray(accuracy_b, dtype=float) - np.asarray(accuracy_a, dtype=float)
    if len(d) < 2:
        return None
    spread = float(d.std(ddof=1))
    # accuracies are multiples of 1/N: a spread far below that is float rounding, not spread
    if spread < NO_SPREAD or not math.isfinite(spread):
        return RunTest(1.0, math.nan)
    t = float(d.mean() / (spread / math.sqrt(len(d))))
    return RunTest(float(2 * scipy_stats.t.sf(abs(t), len(d) - 1)), t)


def variance_ratio(accuracies: Sequence[float], images: int) -> float | None:
    """The seeds' sample variance of a configuration's accuracy over the variance that
    independent test images alone would give it, p(1 - p) / N: 1 when runs differ only by which
    images happen to fall right, larger when a run as a whole lands higher or lower. None with
    one seed, or with an accuracy of 0 or 1 (no binomial variance to compare with)."""
    acc = np.asarray(accuracies, dtype=float)
    centre = float(acc.mean()) if len(acc) else math.nan
    binomial = centre * (1 - centre) / images if images else 0.0
    if len(acc) < 2 or not binomial > 0:
        return None
    return float(acc.var(ddof=1) / binomial)


def as_matrix(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' pairs of per-image correctness vectors as two (seeds, images) arrays."""
    if any(a.shape != b.shape for a, b in pairs) or len({a.shape for a, _ in pairs}) > 1:
        raise ValueError("a paired test needs the same test images for both configurations")
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


@dataclass(frozen=True)
class SignFlip:  # the secondary, image-level test
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
