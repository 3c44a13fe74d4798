"""How often each paired test rejects when there is nothing to find, with the run-level variance
a rebuild redraws.

A simulated comparison draws two configurations that are the same training procedure (the null
hypothesis of a run-level test: a rebuild would find no difference on average), each run S times
with seeds 0..S-1 on the same N test images. Image i has a difficulty z_i. Seed s draws a
pretraining run: a shift g_s of every image's logit and image effects w_{s,i}; both
configurations' seed s start from it when they share a backbone, each from its own otherwise.
Each run adds its own shift r_{c,s} and image noise e_{c,s,i}; an answer is right with
probability sigmoid(z_i + w_{s,i} + g_s + r_{c,s} + e_{c,s,i}). The shifts are what makes a
run land higher or lower as a whole; their variance is set so that the seeds' variance of a
configuration's accuracy is `ratio` times what independent test images would give it
(`stats.variance_ratio`), and the simulation reports the ratio it reached. A calibrated test at
level 0.05 rejects about 5% of these comparisons, whatever the ratio.

The paper's Method section cites these rates (generated, like every number), over ratios that
cover those of this build's configurations; tests/report/test_stats.py checks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ftbench.report import stats

MAX_RATIO = 1024.0  # a configuration whose seeds vary more is reported, not simulated further


@dataclass(frozen=True)
class Design:
    images: int = 400
    seeds: int = 3
    difficulty_mean: float = 1.5  # logit: about 75% of the answers right
    difficulty_sd: float = 1.5
    ratio: float = 1.0  # the run-level variance of accuracy over the binomial one (target)
    pretrain_share: float = 0.5  # of the run shifts' variance: the pretraining draw's share
    shared_backbone: bool = True  # seed s of both configurations starts from one pretraining run
    pretrain_image_sd: float = 0.5  # a pretraining draw's effects on single images
    seed_sd: float = 0.5  # a run's own effects on single images
    comparisons: int = 1000
    rng_seed: int = 2026


@dataclass(frozen=True)
class Rates:
    design: Design
    seed_paired_t: float  # share of the null comparisons the run-level test rejects
    sign_flip: float  # ... and the image-level test
    ratio: float  # the variance ratio the simulated configurations reached (mean)

    @property
    def monte_carlo_error(self) -> float:
        """The standard error of a rejection rate of 5% over this many comparisons."""
        return math.sqrt(stats.ALPHA * (1 - stats.ALPHA) / self.design.comparisons)


def _shift_sd(design: Design, z: np.ndarray) -> float:
    """The logit sd of a run's shift that adds (ratio - 1) binomial variances to the accuracy:
    a shift moves accuracy by about mean(p (1 - p)) per logit (the delta method)."""
    p = 1 / (1 + np.exp(-z))
    slope = float(np.mean(p * (1 - p)))
    binomial = float(p.mean() * (1 - p.mean())) / design.images
    return math.sqrt(max(design.ratio - 1, 0) * binomial) / slope


def _pretraining(rng, design: Design, sd: float) -> np.ndarray:
    """(seeds, images) logit effects of S pretraining draws: a shift per draw plus image effects."""
    shift = rng.normal(0, sd * math.sqrt(design.pretrain_share), (design.seeds, 1))
    return shift + rng.normal(0, design.pretrain_image_sd, (design.seeds, design.images))


def _runs(rng, design: Design, z: np.ndarray, backbone: np.ndarray, sd: float) -> np.ndarray:
    """One configuration's (seeds, images) correctness from its seeds' pretraining draws."""
    shift = rng.normal(0, sd * math.sqrt(1 - design.pretrain_share), (design.seeds, 1))
    own = rng.normal(0, design.seed_sd, (design.seeds, design.images))
    logit = z + backbone + shift + own
    return rng.random((design.seeds, design.images)) < 1 / (1 + np.exp(-logit))


def null_rejection_rates(design: Design = Design(), alpha: float = stats.ALPHA) -> Rates:
    rng = np.random.default_rng(design.rng_seed)
    t_rejects = flip_rejects = 0
    ratios = []
    for _ in range(design.comparisons):
        z = rng.normal(design.difficulty_mean, design.difficulty_sd, design.images)
        sd = _shift_sd(design, z)
        backbone_a = _pretraining(rng, design, sd)
        backbone_b = backbone_a if design.shared_backbone else _pretraining(rng, design, sd)
        a = _runs(rng, design, z, backbone_a, sd)
        b = _runs(rng, design, z, backbone_b, sd)
        run_test = stats.seed_paired_t(a.mean(1), b.mean(1))
        t_rejects += run_test is not None and run_test.p < alpha
        flip_rejects += stats.sign_flip_test(a, b).p < alpha
        ratios += [r for r in (stats.variance_ratio(a.mean(1), design.images),
                               stats.variance_ratio(b.mean(1), design.images)) if r is not None]
    n = design.comparisons
    return Rates(design, t_rejects / n, flip_rejects / n, float(np.mean(ratios)))


def calibration_table(observed: list[float], seeds: int,
                      comparisons: int = 2000) -> list[Rates]:
    """The rates for run-level variance ratios from 1, doubling until the ratio the simulation
    reaches covers the largest `observed`, for two designs each: both configurations of a seed
    from one backbone (a comparison of methods) and from two (of architectures)."""
    base = Design(seeds=seeds, comparisons=comparisons)
    top, ratio, out = max([1.0, *observed]), 1.0, []
    while True:
        out += [null_rejection_rates(replace(base, ratio=ratio, shared_backbone=shared))
                for shared in (True, False)]
        if min(r.ratio for r in out[-2:]) >= top or ratio >= MAX_RATIO:
            return out
        ratio *= 2
