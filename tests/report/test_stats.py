"""The statistics of every table against hand computation: the paired sign-flip test over test
images (exact, and McNemar's exact test with one seed), its calibration under seed-correlated
mistakes, Holm's step-down adjustment, the ratio interval, and mean and spread over seeds."""

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
    assert stats.pooled_mcnemar([(a_correct, b_correct)]) == (pytest.approx(p), b, c)
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
    # the pooled count sees 3 disagreements for b against 1, as if all four were independent
    assert stats.pooled_mcnemar(list(zip(a, b, strict=True)))[1:] == (1, 3)


def test_mistakes_repeated_over_seeds_count_once_per_image():
    """The same 10 images won by b in each of three seeds are 10 units of evidence, not 30:
    the sign-flip p is the one-seed McNemar p of 10 to 0, the pooled test's is far smaller."""
    a, b = _pair(0, 10)
    three_a, three_b = np.stack([a] * 3), np.stack([b] * 3)
    assert stats.sign_flip_test(three_a, three_b).p == pytest.approx(2 * 0.5**10)
    assert stats.pooled_mcnemar(list(zip(three_a, three_b, strict=True)))[0] == \
        pytest.approx(2 * 0.5**30)


def test_the_test_needs_the_same_images():
    a, b = _pair(3, 1)
    with pytest.raises(ValueError, match="same test images"):
        stats.sign_flip_test(a[None], b[None, :-1])
    with pytest.raises(ValueError, match="same test images"):
        stats.as_matrix([(a, b[:-1])])


def test_the_test_is_calibrated_where_the_pooled_one_is_not():
    """Simulated null comparisons whose mistakes recur across seeds on the same images: the
    sign-flip test rejects at about its level, the pooled McNemar test far more often."""
    rates = calibration.null_rejection_rates(calibration.Design(comparisons=1000, images=200))
    assert 0.03 <= rates.sign_flip <= 0.07, rates
    assert rates.pooled_mcnemar >= 0.10, rates
    assert rates.inflation > 1.5  # the design does share mistakes across seeds
    # without seed-correlated mistakes both tests hold their level
    independent = calibration.null_rejection_rates(calibration.Design(
        comparisons=400, images=200, configuration_sd=0.0, seed_sd=1.0))
    assert independent.sign_flip <= 0.08 and independent.pooled_mcnemar <= 0.08, independent


def test_variance_inflation_by_hand():
    a, b = _pair(0, 10)
    assert calibration.variance_inflation(np.stack([a] * 3), np.stack([b] * 3)) == 3.0
    # disagreements on different images in each seed: no inflation
    x = np.zeros((3, 3), bool)
    assert calibration.variance_inflation(x, np.eye(3, dtype=bool)) == 1.0
    assert calibration.variance_inflation(x, x) == 1.0


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
