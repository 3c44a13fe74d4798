"""Paired comparisons within a table, comparisons.csv and the sentences generated from them: the
words follow the data (more accurate, less accurate, cannot be told apart), the p-values are the
seed-paired t test's over runs, Holm-adjusted within the table (the image-level sign-flip test
beside it), a sentence names the setting that differs, and a comparisons.csv that is not what
the runs give is refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

import helpers
from ftbench.config import load_all
from ftbench.errors import UserError
from ftbench.report import compare, sentences, stats
from ftbench.report.aggregate import aggregate
from ftbench.report.results import TableResults
from helpers import fake_summary, workdir

B = "      b: {model: {label: Model-B}}\n"
PAIR = helpers.PAIR.replace(B, B + "      c: {model: {label: Model-C}}\n")  # a baseline, two others
N = 100


def first(k: int) -> np.ndarray:
    """Right on the first k of the N test images."""
    return np.arange(N) < k


def last(k: int) -> np.ndarray:
    return np.arange(N) >= N - k


JITTER = {0: 0, 1: 2, 2: -1}  # runs land a little higher or lower, seed by seed


def varied(k: int) -> dict:
    """Right on the first k + JITTER[seed] images: a configuration whose runs vary."""
    return {seed: first(k + j) for seed, j in JITTER.items()}


def _results(tmp_path, correct: dict, seeds=(0, 1, 2), config: str = PAIR) -> TableResults:
    """`correct`: variant -> correctness vector (every seed) or {seed: vector}."""
    work = workdir(tmp_path, {"pair": config.replace("[0, 1, 2]", str(list(seeds)))})
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in e.runs:
        c = correct[r.axes["variant"]]
        fake_summary(r, results, c[r.config.seed] if isinstance(c, dict) else c)
    aggregate(e, results)
    return compare.load(e, results)


def _by_other(results: TableResults) -> dict:
    return {cmp.other.axes["variant"]: cmp for cmp in results.comparisons}


def test_a_significantly_better_configuration_is_more_accurate(tmp_path):
    a_runs = {0: first(50), 1: first(52), 2: first(48)}
    b_runs = {0: first(80), 1: first(83), 2: first(79)}
    results = _results(tmp_path, {"a": a_runs, "b": b_runs, "c": varied(20)})
    cmps = _by_other(results)
    assert set(cmps) == {"b", "c"}  # each against the baseline, a
    b, c = cmps["b"], cmps["c"]
    # the unit is the run: per-seed differences 0.30, 0.31, 0.31, Student's paired t over them
    reference = scipy_stats.ttest_rel([0.80, 0.83, 0.79], [0.50, 0.52, 0.48])
    assert b.test == compare.SEED_T and b.diff == pytest.approx(0.92 / 3)
    assert (b.statistic, b.p) == (pytest.approx(reference.statistic), pytest.approx(
        reference.pvalue))
    # Holm over the table's two tests: the smaller p doubled, the larger kept monotone
    assert b.p_holm == pytest.approx(max(stats.holm([b.p, c.p])))
    assert b.significant and b.direction == 1 and c.direction == -1
    assert (b.seeds, b.agreeing) == (3, 3) and b.diff_std == pytest.approx(0.01 / 3**0.5)
    # the image-level test, secondary: per image, b's right seeds minus a's (worked by hand:
    # d = 1 on 4 images, 2 on 3, 3 on 27), T = 92 over 35 discordant images
    assert (b.images.statistic, b.images.discordant) == (92, 35)
    # accuracies 0.50, 0.52, 0.48: variance 0.0004 against 0.5 * 0.5 / 100 = 0.0025
    assert b.ratio_a == pytest.approx(0.0004 / 0.0025)
    text = sentences.sentence(results, b)
    # a sentence, so it starts with a capital
    assert text.startswith("Classifier only on the Model-B is 30.7 points more accurate than "
                           "classifier only on the Model-A")
    assert r"80.7\% against 50.0\%" in text and "3 seeds, the same sign in 3" in text
    assert "$p_\\mathrm{Holm} <0.001$" in text
    assert "points less accurate than classifier only on the Model-A" in \
        sentences.sentence(results, c)


def test_the_same_accuracy_on_different_images_cannot_be_told_apart(tmp_path):
    """Model-B is right on other images than Model-A, as often: T = 0, p = 1."""
    results = _results(tmp_path, {"a": first(60), "b": last(60), "c": first(60)})
    b = _by_other(results)["b"]
    assert (b.images.statistic, b.images.discordant) == (0, 80)
    assert b.p == 1.0 and b.direction == 0  # the same difference, 0, in every seed
    text = sentences.sentence(results, b, "Digits")
    assert text.startswith("Classifier only on the Model-B and classifier only on the Model-A "
                           "cannot be told apart on Digits")
    assert "a difference of +0.0 points" in text
    assert "more accurate" not in text and "less accurate" not in text


def test_a_small_difference_on_one_seed_is_not_significant(tmp_path):
    """One seed: no run-level spread, so no run-level test; the image-level one, about this
    network only, gives 3 images better: p = 2/8 = 0.25."""
    results = _results(tmp_path, {"a": first(50), "b": first(53), "c": first(50)}, seeds=(0,))
    b = _by_other(results)["b"]
    assert (b.test, b.p, b.p_holm) == (compare.NO_TEST, None, None)
    assert (b.images.statistic, b.images.discordant) == (3, 3)
    assert b.images.p == pytest.approx(0.25)
    assert not b.significant and b.diff == pytest.approx(0.03)
    assert "cannot be told apart" in sentences.sentence(results, b)
    assert "one seed" in sentences.sentence(results, b)


def test_seeds_that_disagree_in_sign_are_counted(tmp_path):
    """Model-B better in two seeds by far, worse in one: 2 of 3 agreeing, and over runs not
    significant, though the image-level test, holding these networks fixed, would say so."""
    b_correct = {0: first(90), 1: first(90), 2: first(45)}
    results = _results(tmp_path, {"a": first(50), "b": b_correct, "c": first(50)})
    b = _by_other(results)["b"]
    assert b.direction == 0 and (b.seeds, b.agreeing) == (3, 2) and b.images.p < 1e-6
    assert "cannot be told apart" in sentences.sentence(results, b)
    assert "3 seeds, the same sign in 2" in sentences.sentence(results, b)


def test_paired_by_chooses_the_baseline_of_each_block(tmp_path):
    """Two axes: each dataset's first configuration is that dataset's baseline."""
    two_axes = PAIR.replace("axes:\n", "axes:\n  dataset:\n    values:\n"
                            "      digits: {data: {name: digits}}\n"
                            "      fashion: {data: {name: synth-fashion}}\n")
    work = workdir(tmp_path, {"pair": two_axes})
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in e.runs:
        k = 50 + JITTER[r.config.seed] if r.axes["variant"] == "a" else 70 + r.config.seed % 2
        fake_summary(r, results, first(k))
    aggregate(e, results)
    cmps = compare.load(e, results).comparisons
    assert len(cmps) == 4
    for cmp in cmps:
        assert cmp.base.axes == {"dataset": cmp.other.axes["dataset"], "variant": "a"}
        assert cmp.direction == 1


SETTINGS = PAIR.replace("""      a: {model: {label: Model-A}}
      b: {model: {label: Model-B}}
      c: {model: {label: Model-C}}""", """      a: {}
      b: {train: {lr: 1.0e-4}}
      c: {train: {optimizer: sgd, schedule: cosine_restarts}}""")


def test_a_sentence_names_the_settings_that_differ(tmp_path):
    """Same method, same model: the sentence says which settings differ, read from the
    configs, not from the configurations' names."""
    results = _results(tmp_path, {"a": varied(80), "b": {0: first(20), 1: first(21),
                                                         2: first(20)}, "c": varied(80)},
                       config=SETTINGS)
    cmps = _by_other(results)
    text = sentences.sentence(results, cmps["b"])
    assert text.startswith("Classifier only on the resnet34\\_micro with learning rate 0.0001 "
                           "is 60.0 points less accurate than with learning rate 0.001"), text
    text = sentences.sentence(results, cmps["c"])
    assert "with optimizer sgd and schedule cosine\\_restarts and with optimizer adamw and " \
           "schedule cosine cannot be told apart" in text, text


def test_gap_words_follow_the_size_of_the_gap():
    class G:
        def __init__(self, gap):
            self.gap = gap

    assert "narrows from -1.3 to -1.2" in sentences.gap_sentence(G(-1.3), G(-1.2), "mixup")
    assert "widens from -1.3 to -2.0" in sentences.gap_sentence(G(-1.3), G(-2.0), "mixup")
    assert "widens from 1.0 to 3.0" in sentences.gap_sentence(G(1.0), G(3.0), "flip")
    assert "changes sign, from -1.0 to 2.0" in sentences.gap_sentence(G(-1.0), G(2.0), "flip")
    assert "stays at 2.0" in sentences.gap_sentence(G(2.04), G(1.96), "flip")


def test_ratios_read_as_longer_or_faster_never_a_factor_below_one():
    assert sentences.ratio_words(1.25) == "takes 1.25 times as long"
    assert sentences.ratio_words(0.8) == "is 1.25 times as fast"
    assert "0.8" not in sentences.ratio_words(0.8)


def test_comparisons_csv_is_what_the_runs_give(tmp_path):
    results = _results(tmp_path, {"a": varied(50), "b": {0: first(80), 1: first(81),
                                                         2: first(80)}, "c": varied(20)})
    path = compare.write([results], results.results)
    rows = compare.checked_rows([results], results.results)
    assert [(r["config_a"], r["config_b"], r["metric"]) for r in rows] == [
        ("a", "b", "accuracy"), ("a", "c", "accuracy")]
    b = rows[0]
    assert float(b["diff"]) == pytest.approx(0.3) and b["significant"] == "True"
    assert b["images_test"] == compare.SIGN_FLIP and float(b["variance_ratio_a"]) > 0
    assert float(b["p_holm"]) == pytest.approx(_by_other(results)["b"].p_holm)
    assert b["test"] == compare.SEED_T and b["seeds"] == "3"
    path.write_text(path.read_text().replace(b["p_holm"], "0.5"))  # an edited p-value
    with pytest.raises(UserError, match="differs from what the tables' runs give"):
        compare.checked_rows([results], results.results)
    path.unlink()
    with pytest.raises(UserError, match="is missing"):
        compare.checked_rows([results], results.results)


TWO_DATASETS = PAIR.replace("""axes:
  variant:""", """axes:
  dataset:
    values:
      x: {data: {name: digits}}
      y: {data: {name: digits, image_size: 8}}
  variant:""").replace("      c: {model: {label: Model-C}}\n", "")


@pytest.mark.parametrize("y_winner, verb", [("a", "configuration is"), ("b", "configurations are")])
def test_the_most_accurate_list_names_a_winner_once(tmp_path, y_winner, verb):
    """The abstract's list: one configuration that wins both datasets is named once."""
    from ftbench.report.tables.common import best_macros

    work = workdir(tmp_path, {"two": TWO_DATASETS})
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in e.runs:
        wins = r.axes["variant"] == ("a" if r.axes["dataset"] == "x" else y_winner)
        fake_summary(r, results, first(90 + r.config.seed % 2 if wins
                                       else 60 + JITTER[r.config.seed]))
    aggregate(e, results)
    listed = str(best_macros(compare.load(e, results))["two/best-list"])
    assert listed.startswith(f"the most accurate {verb} ")
    assert listed.count("Model-A") == 1 and listed.count("Model-B") == (y_winner == "b")
