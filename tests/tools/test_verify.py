"""Reproduction checked in one command: `ftbench verify` retrains finished runs in a scratch
folder and compares every number (exit 1 on a difference). (`ftbench compare A B`, two results
folders compared cell by cell: tests/tools/test_resultsdiff.py.)"""

from __future__ import annotations

import json
import shutil

import pytest

from ftbench.cli.main import main
from ftbench.config import load_all
from ftbench.tools.verify import compare_logs, compare_predictions, compare_summaries, sample
from helpers import BACKBONE, DEMO, workdir

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
    assert "backbone/s0: same" in out and "ftbench verify: 2 of 2 runs reproduce" in out
    after = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    assert after == before  # retrained elsewhere: nothing under results/ changes


@pytest.mark.slow
def test_verify_fails_when_the_committed_numbers_are_not_what_the_code_gives(built, capsys):
    """An edited summary stands for a training constant changed without rebuilding."""
    path = built / "results" / "tiny" / "runs" / "down" / "s1" / "summary.json"
    summary = json.loads(path.read_text())
    summary["test"]["macro_f1"] += 0.01
    path.write_text(json.dumps(summary))
    assert main(["verify", "--runs", "down/s1"]) == 1
    out = capsys.readouterr().out
    assert "down/s1: differs: test.macro_f1" in out, out
    assert "ftbench verify: 0 of 1 runs reproduce" in out


def test_the_comparisons_report_each_kind_of_difference(tmp_path):
    import numpy as np

    old = {"test": {"accuracy": 0.5, "macro_f1": 0.4}, "best_epoch": 2, "params": {"total": 9},
           "memory": {"peak_mib": 10.0, "kind": "cpu_tensors"}}
    new = json.loads(json.dumps(old))
    assert compare_summaries(old, new, 0.0, exact=True) == []
    new["test"]["accuracy"], new["memory"]["peak_mib"] = 0.51, 11.0
    diffs = compare_summaries(old, new, 0.0, exact=True)
    assert any(d.startswith("test.accuracy 0.5 -> 0.51") for d in diffs)
    assert any(d.startswith("memory.peak_mib") for d in diffs)
    # elsewhere: within the tolerance, and memory is not held to equality
    assert compare_summaries(old, new, 0.02, exact=False) == []
    log = '{"epoch": 1, "train_loss": 1.0, "epoch_time_s": 3.0}\n'
    assert compare_logs(log, log.replace("3.0", "9.0")) == []  # times are measurements
    assert compare_logs(log, log.replace("1.0,", "1.5,")) == ["epoch 1 train_loss 1 -> 1.5 (+0.5)"]
    assert "has 2 epochs" in compare_logs(log, log * 2)[0]
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, y_pred=np.arange(100) % 3, probs=np.ones((100, 3), np.float32))
    np.savez(b, y_pred=np.arange(100) % 3, probs=np.ones((100, 3), np.float32) * 0.5)
    assert compare_predictions(a, b, exact=True) == [
        "predictions.npz probs: 300 entries differ (largest 0.5)"]
    assert compare_predictions(a, b, exact=False) == []
