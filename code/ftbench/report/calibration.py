"""How often the paired test rejects when there is nothing to find.

A simulated comparison draws two configurations that are equally accurate on average, scored over
the same random seeds on the same test images, whose mistakes recur across seeds on the same
images as trained networks' do: image i has a difficulty z_i, each configuration c an effect
u_{c,i} on it that every seed of c shares, and each seed s its own noise e_{c,s,i}; an answer is
right with probability sigmoid(z_i + u_{c,i} + e_{c,s,i}). Both configurations draw u and e from
the same distributions, so the null hypothesis holds. A calibrated test at level 0.05 rejects
about 5% of such comparisons; the pooled McNemar test, which counts every (seed, image) as an
independent trial, rejects far more often.

The paper's Method section cites these rates (generated, like every number), and
tests/report/test_stats.py checks them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ftbench.report import stats


@dataclass(frozen=True)
class Design:
    images: int = 400
    seeds: int = 3
    difficulty_mean: float = 1.5  # logit: about 75% of the answers right
    difficulty_sd: float = 1.5
    # shared by the seeds of a configuration on an image, against each seed's own: set so that
    # the seeds' disagreements cluster on images about as much as in the tiny runs (variance
    # inflation about 2: see `variance_inflation`)
    configuration_sd: float = 3.0
    seed_sd: float = 0.5
    comparisons: int = 1000
    rng_seed: int = 2026


@dataclass(frozen=True)
class Rates:
    design: Design
    sign_flip: float  # share of the null comparisons the sign-flip test rejects
    pooled_mcnemar: float  # ... and the pooled McNemar test
    inflation: float  # mean variance inflation of the simulated pairs (`variance_inflation`)


def _correct(rng, design: Design, z: np.ndarray) -> np.ndarray:
    """One configuration's (seeds, images) correctness on images of difficulty z."""
    shared = rng.normal(0, design.configuration_sd, design.images)
    own = rng.normal(0, design.seed_sd, (design.seeds, design.images))
    return rng.random((design.seeds, design.images)) < 1 / (1 + np.exp(-(z + shared + own)))


def variance_inflation(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """How far the pooled McNemar test understates the variance of the paired difference:
    sum_i d_i^2 (its variance when images are the unit) over the number of discordant
    (seed, image) pairs (its variance when they are); 1 when no image disagrees in two seeds."""
    x = correct_b.astype(np.int64) - correct_a.astype(np.int64)
    discordant = int(np.abs(x).sum())
    return float((x.sum(0) ** 2).sum() / discordant) if discordant else 1.0


def null_rejection_rates(design: Design = Design(), alpha: float = stats.ALPHA) -> Rates:
    rng = np.random.default_rng(design.rng_seed)
    flips = pooled = inflation = 0.0
    for _ in range(design.comparisons):
        z = rng.normal(design.difficulty_mean, design.difficulty_sd, design.images)
        a, b = _correct(rng, design, z), _correct(rng, design, z)
        flips += stats.sign_flip_test(a, b).p < alpha
        pooled += stats.pooled_mcnemar(list(zip(a, b, strict=True)))[0] < alpha
        inflation += variance_inflation(a, b)
    n = design.comparisons
    return Rates(design, flips / n, pooled / n, inflation / n)
