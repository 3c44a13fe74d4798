"""The statistics of every table against hand computation: the seed-paired t test over runs and
the variance ratio, the secondary sign-flip test over test images (exact, and McNemar's exact
test with one seed), the calibration of both under run-level variance, Holm's step-down
adjustment, the ratio interval, and mean and spread over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ftbench.report import calibration, stats


def _pair(only_a: int, only_b: int, both: int = 5, neither: int = 3):
    """Correctness vectors with `only_a` images right only under a, `only_b` only under b."""
    a = np.array([True] * only_a + [False] * only_b + [True] * both + [False] * neither)
    b = np.array([False] * only_a + [True] * only_b + [True] * both + [False] * neither)
    return a, b


# Two-sided exact binomial(n, 1/2) p-values, worked by hand: 2 * P(X <= min(b, c)).
@pytest.mark.parametrize("b, c, p", [
    (10, 0, 2 * 0.5**10),                 # 2/1024
    (7, 2, 2 * (1 + 9 + 36) / 2**9),      # n=9: 2 * (C(9,0) + C(9,1) + C(9,2)) / 512
    (1, 5, 2 * (1 + 6) / 2**6),           # n=6: 14/64
    (4, 4, 1.0),                          # as many each way: no evidence at all
    (0, 0, 1.0),                          # no disagreement
])
def test_one_seed_is_mcnemars_exact_test(b, c, p):
    a_correct, b_correct = _pair(b, c)
    test = stats.sign_flip_test(a_correct[None], b_correct[None])
    assert test.p == pytest.approx(p, rel=1e-12)
    assert (test.statistic, test.discordant) == (c - b, b + c)
    # the test is symmetric: swapping the configurations flips T, not p
    swapped = stats.sign_flip_test(b_correct[None], a_correct[None])
    assert (swapped.p, swapped.statistic) == (test.p, -test.statistic)


def test_the_image_is_the_unit_not_the_seed():
    """Two seeds, three images. Image 1: b right in both seeds, a in neither (d = 2); image 2:
    b right in one seed only (d = 1); image 3: a right in one seed only (d = -1). T = 2. The
    2^3 sign flips of (2, 1, 1) give T = 4, 2, 2, 0, 0, -2, -2, -4: |T| >= 2 in 6 of 8."""
    a = np.array([[False, False, True], [False, False, False]])
    b = np.array([[True, True, False], [True, False, False]])
    test = stats.sign_flip_test(a, b)
    assert (test.statistic, test.discordant) == (2, 3)
    assert test.p == pytest.approx(6 / 8)


def test_mistakes_repeated_over_seeds_count_once_per_image():
    """The same 10 images won by b in each of three seeds are 10 units of evidence, not 30:
    the sign-flip p is the one-seed McNemar p of 10 to 0."""
    a, b = _pair(0, 10)
    three_a, three_b = np.stack([a] * 3), np.stack([b] * 3)
    assert stats.sign_flip_test(three_a, three_b).p == pytest.approx(2 * 0.5**10)


def test_seed_paired_t_by_hand():
    """d = (0.02, 0.04, 0.06): mean 0.04, sd 0.02, t = 0.04 / (0.02 / sqrt 3) = 2 sqrt 3; the
    two-sided p of t(2) at 2 sqrt 3 is 1 - 3 / sqrt 3 * ... worked as 2 * (1 - F(t)) with the
    t(2) distribution's closed form F(t) = 1/2 + t / (2 sqrt(2 + t^2))."""
    test = stats.seed_paired_t([0.70, 0.70, 0.70], [0.72, 0.74, 0.76])
    t = 2 * math.sqrt(3)
    assert test.statistic == pytest.approx(t)
    assert test.p == pytest.approx(1 - t / math.sqrt(2 + t * t))
    # the sign follows b - a, the p-value does not
    swapped = stats.seed_paired_t([0.72, 0.74, 0.76], [0.70, 0.70, 0.70])
    assert (swapped.statistic, swapped.p) == (pytest.approx(-t), pytest.approx(test.p))
    # one seed: no run-level spread, no test; equal differences: no spread, p = 1
    assert stats.seed_paired_t([0.7], [0.8]) is None
    assert stats.seed_paired_t([0.7, 0.6], [0.8, 0.7]).p == 1.0


def test_variance_ratio_by_hand():
    """Accuracies 0.5 +- 0.05 over 400 images: sample variance 0.0025 against the binomial
    0.25 / 400 = 0.000625: four times what independent images give."""
    assert stats.variance_ratio([0.45, 0.55], 400) == pytest.approx(
        (0.05**2 * 2) / 0.000625)  # ddof 1: ((0.05)^2 + (0.05)^2) / 1
    assert stats.variance_ratio([0.5], 400) is None
    assert stats.variance_ratio([1.0, 1.0], 400) is None


def test_the_test_needs_the_same_images():
    a, b = _pair(3, 1)
    with pytest.raises(ValueError, match="same test images"):
        stats.sign_flip_test(a[None], b[None, :-1])
    with pytest.raises(ValueError, match="same test images"):
        stats.as_matrix([(a, b[:-1])])


@pytest.mark.parametrize("ratio", [1.0, 8.0])
@pytest.mark.parametrize("shared", [True, False])
def test_the_run_level_test_holds_its_level_whatever_the_run_variance(ratio, shared):
    """Simulated null comparisons with run-level and pretraining-level variance: the seed-paired
    t test rejects at its level within Monte Carlo error; the image-level test, which holds the
    runs fixed, far more often once runs vary as a whole."""
    rates = calibration.null_rejection_rates(calibration.Design(
        comparisons=1500, images=200, ratio=ratio, shared_backbone=shared))
    assert rates.seed_paired_t <= stats.ALPHA + 2.5 * rates.monte_carlo_error, rates
    assert rates.ratio == pytest.approx(ratio, rel=0.4)  # the variance the design asked for
    if ratio > 4:
        assert rates.sign_flip >= 0.2, rates


def test_the_calibration_covers_the_observed_ratios():
    rates = calibration.calibration_table([0.5, 3.0], seeds=3, comparisons=50)
    reached = [r.ratio for r in rates]
    assert max(reached) >= 3.0 and {r.design.shared_backbone for r in rates} == {True, False}
    assert [r.design.ratio for r in rates][::2] == [1.0, 2.0, 4.0]


def test_holm_against_a_hand_worked_example():
    """m = 4: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 gives 0.02, 0.03, 0.06, 0.04;
    step-down keeps them monotone, so the last becomes 0.06."""
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == [pytest.approx(v) for v in (0.03, 0.06, 0.06, 0.02)]
    # at 5%: the two smallest are significant, the others not (unadjusted all four would be)
    assert [p < stats.ALPHA for p in adjusted] == [True, False, False, True]


def test_holm_skips_missing_tests_and_caps_at_one():
    assert stats.holm([None, 0.01, 0.04, None]) == [None, pytest.approx(0.02),
                                                     pytest.approx(0.04), None]
    assert stats.holm([0.6, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []
    assert stats.holm([0.2]) == [pytest.approx(0.2)]  # one test: nothing to adjust


def test_log_ratio_interval_by_hand():
    # one seed: the point itself
    assert stats.log_ratio_interval([3.0], [2.0]) == (1.5, 1.5, 1.5)
    # no spread: the interval is the point
    assert stats.log_ratio_interval([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx((2, 2, 2))
    # ratios 2 and 4: log-mean 1.5 ln 2, sd ln2/sqrt2, half-width t(0.975, 1) * sd / sqrt 2
    centre, low, high = stats.log_ratio_interval([2.0, 4.0], [1.0, 1.0])
    half = 12.706204736174698 * math.log(2) / 2
    assert centre == pytest.approx(2**1.5)
    assert low == pytest.approx(math.exp(1.5 * math.log(2) - half))
    assert high == pytest.approx(math.exp(1.5 * math.log(2) + half))
    assert low < 1 < high  # two seeds this far apart say nothing about the side of 1
    assert all(math.isnan(v) for v in stats.log_ratio_interval([1.0, 0.0], [1.0, 1.0]))


def test_log_ratio_p_is_none_without_spread():
    assert stats.log_ratio_p([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) is None  # the same in every seed
    assert stats.log_ratio_p([3.0], [2.0]) is None
    p = stats.log_ratio_p([2.0, 2.2, 1.9], [1.0, 1.0, 1.0])
    assert 0 < p < 0.01


def test_mean_and_sample_std():
    assert stats.mean([1, 2, 3, 4]) == 2.5
    assert stats.std([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    assert stats.std([0.7]) == 0.0
    assert stats.mean(["0.5", "", None, 1.5]) == 1.0  # CSV cells; empty ones are skipped
    assert math.isnan(stats.mean([]))
