"""`ftbench compare A B` (ftbench.tools.resultsdiff): two results folders compared table by table,
cell by cell; exit 1 on a difference in a result, never on a measured column (times, memory)
unless asked."""

from __future__ import annotations

import csv
import shutil

from ftbench.cli.main import main
from helpers import ROOT


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
