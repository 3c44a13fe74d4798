"""Reproduction checked in one command: `ftbench verify` retrains finished runs in a scratch
folder and compares every number (exit 1 on a difference); `ftbench compare A B` compares two
results folders table by table, cell by cell (exit 1 on a difference)."""

from __future__ import annotations

import csv
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


@pytest.fixture
def built(tmp_path, monkeypatch, restore_threads):
    """A backbone and a LoRA table on it, trained for real (one epoch each), aggregated."""
    work = workdir(tmp_path, {"backbone": BACKBONE, "down": DOWNSTREAM.replace(
        "seeds: [0, 1, 2]", "seeds: [0, 1]")})
    monkeypatch.chdir(work)
    assert main(["run", "backbone/s0", "down/s0", "down/s1"]) == 0
    assert main(["aggregate", "down"]) == 0 and main(["aggregate", "backbone"]) == 0
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


def test_compare_passes_a_copy_and_fails_on_an_edited_cell(tmp_path, capsys):
    from helpers import ROOT

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(ROOT / "results" / "tiny", first, ignore=shutil.ignore_patterns("runs"))
    shutil.copytree(first, second)
    assert main(["compare", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "factorial.csv: PASS" in out and "comparisons.csv: PASS" in out
    # a measured column may differ; a result may not
    text = (second / "factorial.csv").read_text().splitlines()
    header = text[0].split(",")
    cells = text[1].split(",")
    cells[header.index("wall_s")] = "999.0"
    cells[header.index("macro_f1")] = "0.123"
    (second / "factorial.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    assert main(["compare", str(first), str(second)]) == 1
    out = capsys.readouterr().out
    assert "factorial.csv: FAIL, 1 of" in out and "macro_f1" in out and "wall_s" not in \
        out.split("factorial.csv: FAIL")[1].splitlines()[0]
    assert main(["compare", str(first), str(second), "--tolerance", "1"]) == 0
    assert main(["compare", str(first), str(second), "--measured", "--tolerance", "1"]) == 1


def test_compare_skips_the_comparisons_that_are_measurements(tmp_path, capsys):
    """A rebuild measures times again: comparisons.csv's ratios of times per epoch differ, its
    accuracy differences may not."""
    from helpers import ROOT

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(ROOT / "results" / "tiny", first, ignore=shutil.ignore_patterns("runs"))
    shutil.copytree(first, second)
    with open(second / "comparisons.csv", newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames, list(reader)
    timed = [r for r in rows if r["metric"] == "per_epoch_s"]
    assert timed
    for r in timed:
        r["diff"], r["p_holm"] = "9.5", "0.5"

    def write():
        with open(second / "comparisons.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    write()
    assert main(["compare", str(first), str(second)]) == 0
    measured = sum(r["metric"] in ("per_epoch_s", "peak_mib")
                   or r["metric"].endswith("ms_per_image") for r in rows)
    assert f"nor {measured} rows that compare measured columns" in capsys.readouterr().out
    assert main(["compare", str(first), str(second), "--measured"]) == 1
    next(r for r in rows if r["metric"] == "accuracy")["p_holm"] = "0.5"
    write()
    assert main(["compare", str(first), str(second)]) == 1


@pytest.mark.slow
def test_an_edited_params_table_is_refused(tmp_path):
    """The parameter claims read params.csv: a hand edit (7690 -> 76900 trainable) is refused
    in one line, since it is not what a recount of the paper profile gives."""
    from ftbench.errors import UserError
    from ftbench.report.params import check_params
    from helpers import ROOT

    paper = load_all(ROOT / "configs", "paper")
    path = tmp_path / "params.csv"
    shutil.copy(ROOT / "results" / "tiny" / "params.csv", path)
    check_params(paper, path)
    path.write_text(path.read_text().replace(",7690,", ",76900,", 1))
    with pytest.raises(UserError, match="differs from a recount of the paper profile"):
        check_params(paper, path)
