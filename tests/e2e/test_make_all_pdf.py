"""End to end through the real Makefile, configs and paper: runs -> CSV -> LaTeX -> PDF.

What a reviewer does: a copy of the committed results, `make all`, which must train nothing and
build a PDF whose tables show the CSVs' numbers. Then one configuration's config is edited, and
`make all` must re-train exactly its runs, put their new numbers into the CSV and the PDF, and
leave every other run alone. (Training from empty results, upstream runs first, is in
tests/e2e/test_parallel_make.py; `make docker-check` runs the whole micro pipeline from empty in
the image.)
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess

import pytest
import yaml

from ftbench.config import load_all
from ftbench.report.latex import mean_std
from helpers import ROOT


def _make(tmp_path, *args):
    """make in the repository, on copies of configs/ and results/ under tmp_path, writing only
    under tmp_path."""
    variables = [f"CONFIGS={tmp_path}/configs", f"RESULTS={tmp_path}/results",
                 f"GENERATED_ROOT={tmp_path}/generated", f"BUILD_ROOT={tmp_path}/build"]
    return subprocess.run(["make", *args, *variables], cwd=ROOT, capture_output=True, text=True)


def _identities(configs) -> dict[str, str]:
    return {r.key: r.identity for e in load_all(configs, "tiny", check_models=False)
            for r in e.runs}


def _reruns(stdout: str) -> list[list[str]]:
    """The keys of each `ftbench run` that make started (one per configuration)."""
    return [cmd.split() for cmd in re.findall(r"ftbench run (.*?) --planned", stdout)]


def _pdf_text(tmp_path) -> str:
    pdf = tmp_path / "build" / "tiny" / "paper.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


def _rows(tmp_path, table: str) -> list[dict]:
    with open(tmp_path / "results" / "tiny" / f"{table}.csv") as f:
        return list(csv.DictReader(f))


def _check_table_in_pdf(flat: str, rows: list[dict], axes: tuple[str, str],
                        metrics=("accuracy", "macro_f1", "macro_auc")) -> None:
    """Each configuration's row in the PDF: mean and spread over its seeds, as in the CSV."""
    configurations: dict[tuple, list[dict]] = {}
    for r in rows:
        configurations.setdefault(tuple(r[a] for a in axes), []).append(r)
    for key, runs in configurations.items():
        cells = " ".join(mean_std([r[k] for r in runs]).replace(r"$\pm$", "\u00b1")
                         for k in metrics)
        assert f"{runs[0]['model_label']} " in flat and cells in flat, (key, cells)


def _check_layout(tmp_path) -> None:
    """No line runs into the margin, and every figure is drawn no wider than the text (the
    paper includes them unscaled: tests/report/test_paper_sources.py)."""
    log = (tmp_path / "build" / "tiny" / "paper.log").read_text(errors="replace")
    overfull = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
    assert not overfull, f"overfull lines in paper.log: {overfull}"
    for pdf in (tmp_path / "generated" / "tiny").rglob("fig-*.pdf"):
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", pdf.read_bytes())
        assert box and float(box.group(1)) <= 6.5 * 72 + 0.5, (pdf.name, box and box.group(1))


def _summaries(tmp_path) -> dict[str, bytes]:
    """Each run's summary, by run key (table/run id)."""
    runs = tmp_path / "results" / "tiny" / "runs"
    return {p.parent.relative_to(runs).as_posix(): p.read_bytes()
            for p in runs.rglob("summary.json")}


@pytest.mark.slow
def test_make_all_builds_a_pdf_whose_table_equals_the_csv(tmp_path):
    assert shutil.which("latexmk") and shutil.which("pdftotext"), \
        "TeX Live and poppler-utils are needed (bash .ci/run installs them)"
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    shutil.copytree(ROOT / "results", tmp_path / "results")
    proc = _make(tmp_path, "-j2", "all")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ftbench run" not in proc.stdout, proc.stdout  # the committed runs are current

    flat = _pdf_text(tmp_path)
    assert "This is a miniature" in flat
    _check_layout(tmp_path)
    assert "1,257,317" in flat  # the params table: write-up 003's configuration at full size
    assert "Compute per table" in flat
    before = _identities(configs)
    rows = _rows(tmp_path, "vit-lora-vs-cnn-head")
    planned = [k for k in before if k.startswith("vit-lora-vs-cnn-head/")]
    assert len(rows) == len(planned) == 45  # 9 configurations x 5 seeds
    for r in rows:  # provenance on every row
        assert r["config_hash"] and r["git_commit"] and r["git_dirty"] in ("True", "False")
        assert r["python"] and r["torch"] and r["torchvision"] and r["timm"] and r["peft"]
        assert r["started"] <= r["finished"] and float(r["wall_s"]) > 0
    assert len({(r["axis_dataset"], r["axis_variant"]) for r in rows}) == 9
    _check_table_in_pdf(flat, rows, ("axis_dataset", "axis_variant"))

    # Everything is up to date: a second `make all` would train, render and typeset nothing.
    dry = _make(tmp_path, "-n", "all")
    assert dry.returncode == 0
    for step in ("ftbench run", "ftbench aggregate", "ftbench render", "latexmk"):
        assert step not in dry.stdout, dry.stdout

    # As after a clone: file times in the wrong order. Content decides, so nothing retrains.
    files = sorted(p for p in (tmp_path / "results").rglob("*") if p.is_file())
    for i, p in enumerate(reversed(files)):
        os.utime(p, ns=(1_700_000_000_000_000_000 + i * 10**9,) * 2)
    dry = _make(tmp_path, "-n", "all")
    assert dry.returncode == 0 and "ftbench run" not in dry.stdout, dry.stdout
    assert "ftbench aggregate" not in dry.stdout, dry.stdout

    # Editing one experiment's config re-runs exactly the runs whose config changed: label
    # smoothing for the CIFAR-100 stand-in of write-up 000's table, every seed of both variants,
    # each configuration's seeds in one process (one grouped rule).
    path = configs / "resnet34-lora.yaml"
    doc = yaml.safe_load(path.read_text())
    cifar100 = doc["profiles"]["tiny"]["axes"]["dataset"]["values"]["cifar100"]
    cifar100.setdefault("train", {})["label_smoothing"] = 0.05
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    after = _identities(configs)
    changed = sorted(k for k, v in after.items() if before[k] != v)
    assert changed == [f"resnet34-lora/cifar100--{m}--s{s}" for m in ("head", "lora")
                       for s in range(5)]
    dry = _make(tmp_path, "-n", "all")
    groups = _reruns(dry.stdout)
    assert sorted(k for g in groups for k in g) == changed, dry.stdout
    assert sorted(groups) == [[f"resnet34-lora/cifar100--{m}--s{s}" for s in range(5)]
                              for m in ("head", "lora")], dry.stdout
    # (GNU make 4.3 under -n does not carry a grouped rule's pretended update to what depends
    # on it, so the aggregate and render steps after these runs are not listed here)

    # And for real: those ten runs train, in two processes; every other run is left as it was;
    # the CSV and the PDF show the new numbers.
    others = {k: v for k, v in _summaries(tmp_path).items() if k not in changed}
    proc = _make(tmp_path, "-j2", "all")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(_reruns(proc.stdout)) == sorted(groups), proc.stdout
    assert {k: v for k, v in _summaries(tmp_path).items() if k in others} == others
    rows = _rows(tmp_path, "resnet34-lora")
    assert {r["identity"] for r in rows} == {after[f"resnet34-lora/{r['run_id']}"] for r in rows}
    _check_table_in_pdf(_pdf_text(tmp_path), rows, ("axis_dataset", "axis_variant"),
                        metrics=("accuracy",))  # a paired table: accuracy and the test
    dry = _make(tmp_path, "-n", "all")
    assert dry.returncode == 0 and "ftbench run" not in dry.stdout, dry.stdout
