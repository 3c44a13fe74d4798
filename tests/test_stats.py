"""The statistics of every table against hand computation: the seed-stratified exact McNemar
test, Holm's step-down adjustment, the ratio interval, and mean and spread over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ftbench.report import stats


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
    got, only_a, only_b = stats.pooled_mcnemar([(a_correct, b_correct)])
    assert (only_a, only_b) == (b, c)
    assert got == pytest.approx(p, rel=1e-12)
    assert stats.mcnemar(a_correct, b_correct) == (got, b, c)  # the one-seed name agrees
    # the test is symmetric: swapping the configurations swaps b and c, not p
    assert stats.pooled_mcnemar([(b_correct, a_correct)]) == (got, c, b)


def test_seeds_are_pooled_into_one_binomial_test():
    """Seed 1: 3 images one way, 1 the other; seed 2: 4 and 0. Pooled b=7, c=1 of n=8:
    p = 2 * (C(8,0) + C(8,1)) / 2^8 = 18/256, a different number from either seed's own."""
    pairs = [_pair(3, 1), _pair(4, 0, both=20)]
    p, b, c = stats.pooled_mcnemar(pairs)
    assert (b, c) == (7, 1)
    assert p == pytest.approx(18 / 256, rel=1e-12)
    per_seed = [stats.pooled_mcnemar([pair])[0] for pair in pairs]
    assert per_seed == [pytest.approx(2 * 5 / 16), pytest.approx(2 / 16)]
    assert all(p < q for q in per_seed)  # more seeds, more evidence


def test_pooled_test_needs_the_same_images():
    a, b = _pair(3, 1)
    with pytest.raises(ValueError, match="same test images"):
        stats.pooled_mcnemar([(a, b[:-1])])


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


def test_mean_and_sample_std():
    assert stats.mean([1, 2, 3, 4]) == 2.5
    assert stats.std([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    assert stats.std([0.7]) == 0.0
    assert stats.mean(["0.5", "", None, 1.5]) == 1.0  # CSV cells; empty ones are skipped
    assert math.isnan(stats.mean([]))
