"""Paired comparisons within a table and the sentences generated from them: the words follow
the data (more accurate, less accurate, cannot be told apart), and the p-values are the pooled
exact test's, Holm-adjusted within the table."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fake_summary, workdir
from ftbench.config import load_all
from ftbench.report import compare, stats
from ftbench.report.aggregate import aggregate
from ftbench.report.results import TableResults

PAIR = """\
title: Pair
description: a baseline and two other configurations, on the same test images
seeds: [0, 1, 2]
base:
  model: {name: resnet34_micro}
  method: {name: head}
  data: {name: digits, image_size: 16}
  train: {epochs: 1}
axes:
  variant:
    values:
      a: {model: {label: Model-A}}
      b: {model: {label: Model-B}}
      c: {model: {label: Model-C}}
report: {table: benchmark, caption: pair}
"""
N = 100


def first(k: int) -> np.ndarray:
    """Right on the first k of the N test images."""
    return np.arange(N) < k


def last(k: int) -> np.ndarray:
    return np.arange(N) >= N - k


def _results(tmp_path, correct: dict, seeds=(0, 1, 2)) -> TableResults:
    """`correct`: variant -> correctness vector (every seed) or {seed: vector}."""
    work = workdir(tmp_path, {"pair": PAIR.replace("[0, 1, 2]", str(list(seeds)))})
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in e.runs:
        c = correct[r.axes["variant"]]
        fake_summary(r, results, c[r.config.seed] if isinstance(c, dict) else c)
    aggregate(e, results)
    return TableResults.load(e, results)


def _by_other(results: TableResults) -> dict:
    return {cmp.other.axes["variant"]: cmp for cmp in results.comparisons}


def test_a_significantly_better_configuration_is_more_accurate(tmp_path):
    cmps = _by_other(_results(tmp_path, {"a": first(50), "b": first(80), "c": first(20)}))
    assert set(cmps) == {"b", "c"}  # each against the baseline, a
    b, c = cmps["b"], cmps["c"]
    assert (b.b, b.c) == (0, 90) and b.diff == pytest.approx(30.0)  # 30 images x 3 seeds
    assert (c.b, c.c) == (90, 0) and c.diff == pytest.approx(-30.0)
    # Holm over the table's two tests: the smaller p doubled, the larger kept monotone
    assert b.p_holm == pytest.approx(max(stats.holm([b.p, c.p])))
    assert b.significant and b.direction == 1 and c.direction == -1
    assert (b.seeds, b.agreeing) == (3, 3)
    text = compare.sentence(b)
    # a sentence, so it starts with a capital
    assert text.startswith("Classifier only on the Model-B is 30.0 points more accurate than "
                           "classifier only on the Model-A")
    assert r"80.0\% against 50.0\%" in text and "3 seeds, the same sign in 3" in text
    assert "$p_\\mathrm{Holm} <0.001$" in text
    assert "30.0 points less accurate than classifier only on the Model-A" in \
        compare.sentence(c)


def test_the_same_accuracy_on_different_images_cannot_be_told_apart(tmp_path):
    """Model-B is right on other images than Model-A, as often: b = c, p = 1."""
    cmps = _by_other(_results(tmp_path, {"a": first(60), "b": last(60), "c": first(60)}))
    b = cmps["b"]
    assert (b.b, b.c) == (120, 120) and b.p == 1.0 and b.direction == 0
    text = compare.sentence(b, "Digits")
    assert text.startswith("Classifier only on the Model-B and classifier only on the Model-A "
                           "cannot be told apart on Digits")
    assert "a difference of +0.0 points" in text
    assert "more accurate" not in text and "less accurate" not in text


def test_a_small_difference_on_one_seed_is_not_significant(tmp_path):
    """3 images better on one seed: p = 2/8 = 0.25, whatever the direction of the means."""
    cmps = _by_other(_results(tmp_path, {"a": first(50), "b": first(53), "c": first(50)},
                              seeds=(0,)))
    b = cmps["b"]
    assert (b.b, b.c) == (0, 3) and b.p == pytest.approx(0.25)
    assert not b.significant and b.diff == pytest.approx(3.0)
    assert "cannot be told apart" in compare.sentence(b)
    assert "one seed" in compare.sentence(b)


def test_seeds_that_disagree_in_sign_are_counted(tmp_path):
    """Model-B better in two seeds by far, worse in one: significant, 2 of 3 agreeing."""
    b_correct = {0: first(90), 1: first(90), 2: first(45)}
    cmps = _by_other(_results(tmp_path, {"a": first(50), "b": b_correct, "c": first(50)}))
    b = cmps["b"]
    assert (b.b, b.c) == (5, 80) and b.direction == 1 and (b.seeds, b.agreeing) == (3, 2)
    assert "more accurate" in compare.sentence(b)
    assert "3 seeds, the same sign in 2" in compare.sentence(b)


def test_paired_by_chooses_the_baseline_of_each_block(tmp_path):
    """Two axes: each dataset's first configuration is that dataset's baseline."""
    two_axes = PAIR.replace("axes:\n", "axes:\n  dataset:\n    values:\n"
                            "      digits: {data: {name: digits}}\n"
                            "      fashion: {data: {name: synth-fashion}}\n")
    work = workdir(tmp_path, {"pair": two_axes})
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in e.runs:
        fake_summary(r, results, first(50 if r.axes["variant"] == "a" else 70))
    aggregate(e, results)
    cmps = TableResults.load(e, results).comparisons
    assert len(cmps) == 4
    for cmp in cmps:
        assert cmp.base.axes == {"dataset": cmp.other.axes["dataset"], "variant": "a"}
        assert cmp.direction == 1
