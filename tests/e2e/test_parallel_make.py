"""Parallel safety: `make JOBS=4` and `make JOBS=1` give the same CSVs (that no two runs of any
profile write the same file is tests/store/test_run_folders.py's).

A backbone run and four fine-tuning runs that start from it (so Make must order them), built
once four at a time and once one at a time. Only the columns that measure the machine (times,
memory, timestamps) may differ.
"""

from __future__ import annotations

import csv
import shutil
import subprocess

import pytest

from ftbench.report.aggregate import MEASURED
from helpers import ROOT

BACKBONE = """\
title: Backbone
description: the backbone the demo runs start from
base:
  model: {name: resnet34_micro, label: ResNet-34-micro}
  method: {name: full}
  data: {name: synth-objects, image_size: 32, train_limit: 256}
  train: {epochs: 1, batch_size: 64}
  save_backbone: true
report: {caption: backbone}
"""
DEMO = """\
title: Demo
description: head versus LoRA from the backbone, two seeds
seeds: [0, 1]
base:
  model: {name: resnet34_micro, label: ResNet-34-micro, pretrained: "run:backbone/s0"}
  method: {r: 4, alpha: 8, targets: ['layer4\\.\\d+\\.conv[12]']}
  data: {name: digits, image_size: 32, train_limit: 200, augment: [flip]}
  train: {epochs: 2, batch_size: 32}
axes:
  variant:
    values:
      head: {method: {name: head}}
      lora: {method: {name: lora}}
report: {table: paired, caption: demo}
"""


def _csvs(tmp_path, jobs: int) -> dict:
    results = tmp_path / f"results-j{jobs}"
    targets = [str(results / "tiny" / f"{t}.csv") for t in ("backbone", "demo")]
    proc = subprocess.run(
        ["make", f"-j{jobs}", f"JOBS={jobs}", f"CONFIGS={tmp_path}/configs", f"RESULTS={results}",
         f"GENERATED_ROOT={tmp_path}/generated", *targets],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = {}
    for path in targets:
        with open(path, newline="") as f:
            out[path.rsplit("/", 1)[1]] = [{k: v for k, v in r.items() if k not in MEASURED}
                                          for r in csv.DictReader(f)]
    return out


@pytest.mark.slow
def test_four_jobs_and_one_job_give_identical_csvs(tmp_path):
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "backbone.yaml").write_text(BACKBONE)
    (tmp_path / "configs" / "demo.yaml").write_text(DEMO)
    parallel, serial = _csvs(tmp_path, 4), _csvs(tmp_path, 1)
    assert len(parallel["demo.csv"]) == 4 and len(parallel["backbone.csv"]) == 1
    assert parallel == serial
