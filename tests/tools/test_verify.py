"""Reproduction checked in one command: `ftbench verify` retrains finished runs in a scratch
folder; each is identical, equivalent (inside its seeds' spread, the table's conclusions the same)
or different (exit 1). The slow tests train for real; the others fake the retraining (`train`
replaced by a function that writes a made-up run) on a table of fake runs. (`ftbench compare A
B`, two results folders compared cell by cell or by their conclusions:
tests/tools/test_resultsdiff.py.)"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ftbench.cli.main import main
from ftbench.config import load_all
from ftbench.report.aggregate import aggregate
from ftbench.store.layout import run_dir
from ftbench.tools.verify import compare_logs, compare_predictions, compare_summaries, sample
from helpers import BACKBONE, DEMO, PAIR, RIGHT, fake_summary, workdir

DOWNSTREAM = DEMO.replace("title: Demo", "title: Down").replace(
    "  model: {name: vit_micro_patch8_32, label: ViT-micro}",
    '  model: {name: vit_micro_patch8_32, label: ViT-micro, pretrained: "run:backbone/s0"}')


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A backbone and a LoRA table on it, trained for real (one epoch each), aggregated: once
    for the module (the tests work on copies)."""
    import torch

    down = DOWNSTREAM.replace("seeds: [0, 1, 2]", "seeds: [0, 1]")
    work = workdir(tmp_path_factory.mktemp("verify"), {"backbone": BACKBONE, "down": down})
    args = ["--configs", str(work / "configs"), "--results", str(work / "results")]
    threads = torch.get_num_threads()
    try:
        assert main(["run", "backbone/s0", "down/s0", "down/s1", *args]) == 0
        assert main(["aggregate", "down", *args]) == 0
        assert main(["aggregate", "backbone", *args]) == 0
    finally:
        torch.set_num_threads(threads)  # the runs' `threads: 1` is the process's
    return work


@pytest.fixture
def built(trained, tmp_path, monkeypatch, restore_threads):
    """A private copy of the trained folder, the working directory."""
    work = tmp_path / "work"
    shutil.copytree(trained, work)
    monkeypatch.chdir(work)
    return work


@pytest.mark.slow
def test_verify_retrains_a_sample_and_finds_it_the_same(built, capsys):
    results = built / "results" / "tiny"
    experiments = load_all(built / "configs", "tiny", check_models=False)
    assert [s.key for s in sample(experiments, results)][0] == "backbone/s0"
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "backbone/s0: identical" in out, out
    assert "ftbench verify: 2 runs: 2 identical, 0 equivalent, 0 different" in out
    after = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    assert after == before  # retrained elsewhere: nothing under results/ changes


@pytest.mark.slow
def test_verify_fails_when_the_committed_numbers_are_not_what_the_code_gives(built, capsys):
    """An edited summary stands for a training constant changed without rebuilding."""
    path = built / "results" / "tiny" / "runs" / "down" / "s1" / "summary.json"
    summary = json.loads(path.read_text())
    summary["test"]["macro_f1"] += 0.01
    path.write_text(json.dumps(summary))
    assert main(["verify", "--runs", "down/s1", "--report", "reports"]) == 1  # kept in tmp
    out = capsys.readouterr().out
    assert "down/s1: different: the committed table: " in out and "macro_f1" in out, out
    assert "ftbench verify: 1 runs: 0 identical, 0 equivalent, 1 different" in out


def test_the_comparisons_report_each_kind_of_difference(tmp_path):
    import numpy as np

    old = {"test": {"accuracy": 0.5, "macro_f1": 0.4}, "best_epoch": 2, "params": {"total": 9},
           "memory": {"peak_mib": 10.0, "kind": "cpu_tensors"}}
    new = json.loads(json.dumps(old))
    assert compare_summaries(old, new) == []
    new["test"]["accuracy"], new["memory"]["peak_mib"] = 0.51, 11.0
    new["test"]["confusion_matrix"] = [[5, 1], [0, 4]]
    old["test"]["confusion_matrix"] = [[6, 0], [0, 4]]
    diffs = compare_summaries(old, new)
    assert any(d.startswith("test.accuracy 0.5 -> 0.51") for d in diffs)
    assert any(d.startswith("memory.peak_mib") for d in diffs)
    # a confusion matrix cell by cell, not as two printed matrices
    assert "test.confusion_matrix: 2 cells differ: [0][0] 6 -> 5, [0][1] 0 -> 1" in diffs
    log = '{"epoch": 1, "train_loss": 1.0, "epoch_time_s": 3.0}\n'
    assert compare_logs(log, log.replace("3.0", "9.0")) == []  # times are measurements
    assert compare_logs(log, log.replace("1.0,", "1.5,")) == ["epoch 1 train_loss 1 -> 1.5 (+0.5)"]
    assert "has 2 epochs" in compare_logs(log, log * 2)[0]
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, y_pred=np.arange(100) % 3, probs=np.ones((100, 3), np.float32))
    np.savez(b, y_pred=np.arange(100) % 3, probs=np.ones((100, 3), np.float32) * 0.5)
    assert compare_predictions(a, b) == ["predictions.npz probs: 300 entries differ (largest 0.5)"]




def _correct(k: int) -> np.ndarray:
    return np.arange(100) < k


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """A table of fake runs (b clearly above a), aggregated; the working directory. `retrain`
    sets how many test images the faked retraining of each run gets right."""
    work = workdir(tmp_path / "work", {"pair": PAIR})
    (experiment,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in experiment.runs:
        fake_summary(r, results, _correct(RIGHT[r.axes["variant"]][r.config.seed]))
    aggregate(experiment, results)
    retrain = {}

    def fake_train(spec, results, folder, log=print):
        made = tmp_path / "made"
        right = retrain.get(spec.key, RIGHT[spec.axes["variant"]][spec.config.seed])
        fake_summary(spec, made, _correct(right))
        shutil.copytree(run_dir(made, spec), folder)

    monkeypatch.setattr("ftbench.tools.verify.train", fake_train)
    monkeypatch.chdir(work)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the default scratch, inspected
    return work, retrain


def _files(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_made_again_the_same_is_identical_and_leaves_nothing(pair, capsys, tmp_path):
    work, _ = pair
    before = _files(work / "results")
    assert main(["verify", "--runs", "pair/a--s1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "pair/a--s1: identical", "ftbench verify: 1 runs: 1 identical, 0 equivalent, 0 different"]
    assert _files(work / "results") == before
    assert not list(tmp_path.glob("ftbench-verify-*"))  # no report: the scratch folder is gone


def test_a_run_inside_its_seeds_spread_with_the_same_conclusions_is_equivalent(pair, capsys,
                                                                                tmp_path):
    work, retrain = pair
    retrain["pair/a--s1"] = 71  # one image fewer: another CPU's path
    before = _files(work / "results")
    assert main(["verify", "--runs", "pair/a--s1", "pair/b--s0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pair/a--s1: equivalent: accuracy 0.7200 -> 0.7100 (-0.0100, seed "
                             "range 0.04); "), out
    assert out[1] == "pair/b--s0: identical"
    assert out[2] == "ftbench verify: 2 runs: 1 identical, 1 equivalent, 0 different"
    report = out[0].rsplit("; report ", 1)[1]
    assert report.startswith(str(tmp_path / "ftbench-verify-"))  # kept, with the report only
    text = open(report).read()
    assert "Conclusions of pair with this run in place of the committed one:" in text
    assert "the conclusions agree" in text and "predictions.npz y_pred: 1 entries differ" in text
    assert _files(work / "results") == before


def test_a_run_inside_its_band_that_changes_a_conclusion_is_different(pair, capsys):
    """b above a in every seed by 6 or 7 images (p_holm below 0.005); b's seed 1 made again 7
    images lower, inside its band [0.68, 0.88], leaves the difference not significant."""
    work, retrain = pair
    (experiment,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / "results" / "tiny"
    for r in experiment.runs:
        if r.axes["variant"] == "b":
            fake_summary(r, results, _correct({0: 76, 1: 79, 2: 80}[r.config.seed]))
    aggregate(experiment, results)
    retrain["pair/b--s1"] = 72
    assert main(["verify", "--runs", "pair/b--s1", "--report", "r"]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("pair/b--s1: different: 1 conclusions of pair change with it: "
                           "disagrees: pair b vs a accuracy: committed diff +0.0633 p_holm "), line
    assert "significant in committed only, and p_holm is not within 0.005-0.2" in line
    assert "accuracy 0.7900 -> 0.7200 (-0.0700, seed range 0.04)" in line


@pytest.mark.parametrize("right, why", [(20, "accuracy 0.7200 -> 0.2000 (-0.5200, seed range "
                                               "0.04, outside [0.6200, 0.8200])"),
                                        (72, "the committed table: ")])
def test_a_run_outside_its_seeds_spread_or_edited_by_hand_is_different(pair, capsys, right, why):
    """20 right: the code computes something else; 72 right, as committed, but the committed
    summary's accuracy was edited by hand far outside the spread."""
    work, retrain = pair
    retrain["pair/a--s1"] = right
    if right == 72:
        path = work / "results" / "tiny" / "runs" / "pair" / "a--s1" / "summary.json"
        summary = json.loads(path.read_text())
        summary["test"]["accuracy"] = 0.97
        path.write_text(json.dumps(summary))
    assert main(["verify", "--runs", "pair/a--s1", "--report", "reports"]) == 1
    line, summary_line = capsys.readouterr().out.splitlines()
    assert line.startswith("pair/a--s1: different: ") and why in line, line
    assert line.endswith("; report reports/pair/a--s1.txt") and (work / "reports").is_dir()
    assert summary_line == "ftbench verify: 1 runs: 0 identical, 0 equivalent, 1 different"


def test_identical_asks_for_identity_on_the_platform_the_run_was_made_on(pair, capsys,
                                                                          monkeypatch):
    """The fake runs record one CPU, thread count and torch: retrained there, a run that is not
    identical can only come from other code. Other kernels make it another platform."""
    _, retrain = pair
    retrain["pair/a--s1"] = 71
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    assert main(["verify", "--runs", "pair/a--s1", "--identical", "--report", "r"]) == 1
    assert ("pair/a--s1: different: not identical on the platform it was made on (--identical); "
            "accuracy 0.7200 -> ") in capsys.readouterr().out
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert main(["verify", "--runs", "pair/a--s1", "--identical", "--report", "r"]) == 0
    assert "pair/a--s1: equivalent: accuracy 0.7200 -> 0.7100" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--scratch", "--report"])
def test_verify_never_writes_inside_the_results_folder(pair, capsys, option):
    work, _ = pair
    before = _files(work / "results")
    for folder in ("results/tiny/scratch", "results/tiny", "results/elsewhere"):
        assert main(["verify", "--runs", "pair/a--s1", option, folder]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"ftbench: error: {option} {folder} is inside the results "
                               "folder"), line
    assert _files(work / "results") == before and not (work / "results" / "elsewhere").exists()
