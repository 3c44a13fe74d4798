"""`ftbench compare A B` (ftbench.tools.resultsdiff): two results folders compared table by table,
cell by cell; exit 1 on a difference in a result, never on a measured column (times, memory)
unless asked."""

from __future__ import annotations

import csv
import shutil

from ftbench.cli.main import main
from helpers import PAIR, ROOT


def test_compare_passes_a_copy_and_fails_on_an_edited_cell(tmp_path, capsys):
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


CLAIM = """\
claims:
  - writeup: "t"
    statement: reported result
    where: [Results]
    quote: ["Model B beats model A."]
    claim: B is more accurate than A
    kind: comparison
    table: pair
    better: {variant: b}
    worse: {variant: a}
"""


def _build(work, folder: str, right: dict) -> None:
    """A results folder of fake runs: `right[variant][seed]` of 100 test images right."""
    import numpy as np

    from ftbench.config import load_all
    from ftbench.report.aggregate import aggregate
    from helpers import fake_summary

    (experiment,) = load_all(work / "configs", "tiny", check_models=False)
    results = work / folder
    for r in experiment.runs:
        fake_summary(r, results, np.arange(100) < right[r.axes["variant"]][r.config.seed])
    aggregate(experiment, results)
    (results / "params.csv").write_text("table,variant,classes,trainable_params,total_params\n"
                                        "pair,a,10,1000,100000\n")


def test_compare_conclusions_passes_other_digits_and_fails_a_reversed_conclusion(
        tmp_path, monkeypatch, capsys):
    from helpers import workdir

    work = workdir(tmp_path / "work", {"pair": PAIR})
    (tmp_path / "writeups").mkdir()
    (tmp_path / "writeups" / "t.md").write_text("# Results\n\nModel B beats model A.\n")
    (tmp_path / "claims.yaml").write_text(CLAIM)
    monkeypatch.setattr("ftbench.report.conclusions.CLAIMS", tmp_path / "claims.yaml")
    monkeypatch.chdir(work)
    _build(work, "first", {"a": {0: 70, 1: 72, 2: 74}, "b": {0: 85, 1: 86, 2: 88}})
    # other numbers, the same conclusion: B above A, significantly
    _build(work, "second", {"a": {0: 71, 1: 73, 2: 72}, "b": {0: 84, 1: 88, 2: 87}})
    assert main(["compare", "first", "second", "--conclusions"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ftbench compare --conclusions: 1 comparisons, 1 significant in either, 0 borderline "
        "changes listed, 1 of 1 verdicts equal: the conclusions agree"]
    assert main(["compare", "first", "second"]) == 1  # their numbers differ
    capsys.readouterr()
    # the other way round: B below A
    _build(work, "second", {"a": {0: 85, 1: 86, 2: 88}, "b": {0: 70, 1: 72, 2: 74}})
    assert main(["compare", "first", "second", "--conclusions"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("disagrees: pair b vs a accuracy: first diff +0.1433 p_holm ")
    assert "second diff -0.1433 p_holm " in out[0] and out[0].endswith(": the sign differs")
    assert out[1] == ("disagrees: claim 1 (write-up t: B is more accurate than A): first "
                      "supported, second contradicted: the verdict differs")
    assert out[2].endswith("0 of 1 verdicts equal: 2 disagreements")
    assert main(["compare", "first", "second", "--conclusions", "--tolerance", "0.1"]) == 2
