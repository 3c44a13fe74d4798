"""End to end through the real Makefile, configs and paper: runs -> CSV -> LaTeX -> PDF.

A micro version of the tiny profile (one epoch, 100 training images per run) in a temporary
folder; then the PDF's table must show the CSV's numbers, and a second `make` must have
nothing left to do.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess

from conftest import ROOT

MICRO = "train.epochs=1 data.train_limit=100"


def _make(tmp_path, *args):
    variables = [f"RESULTS={tmp_path}/results", f"GENERATED_ROOT={tmp_path}/generated",
                 f"BUILD_ROOT={tmp_path}/build", f"OVERRIDES={MICRO}"]
    return subprocess.run(["make", *args, *variables], cwd=ROOT, capture_output=True, text=True)


def test_make_all_builds_a_pdf_whose_table_equals_the_csv(tmp_path):
    assert shutil.which("latexmk") and shutil.which("pdftotext"), \
        "TeX Live and poppler-utils are needed (bash .ci/run installs them)"
    proc = _make(tmp_path, "-j2", "all")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pdf = tmp_path / "build" / "tiny" / "paper.pdf"
    assert pdf.exists()

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    assert "This is a miniature" in flat
    assert "1,257,317" in flat  # the params table: seed 003's configuration at full size
    with open(tmp_path / "results" / "tiny" / "vit-lora-vs-cnn-head.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 9 and all(r["epochs"] == "1" for r in rows)
    for r in rows:  # provenance on every row
        assert r["config_hash"] and r["git_commit"] and r["git_dirty"] in ("True", "False")
        assert r["python"] and r["torch"] and r["torchvision"] and r["timm"] and r["peft"]
        assert r["started"] <= r["finished"] and float(r["wall_s"]) > 0
    assert "Compute per table" in flat
    for r in rows:
        cells = " ".join(f"{100 * float(r[k]):.1f}" for k in ("accuracy", "macro_f1", "macro_auc"))
        assert f"{r['model_label']} " in flat and cells in flat, (r["run_id"], cells)

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

    # Editing one experiment's config re-runs exactly that experiment's runs.
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    path = configs / "resnet34-lora.yaml"
    path.write_text(path.read_text().replace("lr: 3.0e-3}", "lr: 2.0e-3}"))
    dry = _make(tmp_path, "-n", "all", f"CONFIGS={configs}")
    reruns = re.findall(r"ftbench run (\S+)", dry.stdout)
    assert sorted(reruns) == [f"resnet34-lora/cifar100--{m}--s{s}" for m in ("head", "lora")
                              for s in (0, 1)], dry.stdout
