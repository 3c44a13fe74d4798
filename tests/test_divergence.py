"""A diverging run ends with status `diverged` (exit 0, so `make all` goes on) and the table
says so; names full of LaTeX's special characters reach the table escaped."""

from __future__ import annotations

import json
import shutil

from conftest import ROOT
from ftbench.cli import main

CONFIG = r"""
title: Divergence
description: one run that trains, one whose learning rate makes the loss infinite
base:
  model: {name: vit_micro_patch4_32, label: 'ViT & co_50% #1 {a} ~x^2 \ $'}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 2, batch_size: 32, optimizer: sgd}
  device: cpu
axes:
  lr:
    values:
      fine: {train: {lr: 0.01}}
      huge: {train: {lr: 1.0e+30}}
report: {table: benchmark, caption: 'divergence & escaping'}
"""


def test_diverged_run_is_recorded_and_shown_and_names_are_escaped(tmp_path, monkeypatch, capsys):
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "div.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    for run in ("div/fine--s0", "div/huge--s0"):
        assert main(["run", run]) == 0
    runs = tmp_path / "results" / "tiny" / "runs" / "div"
    status = {d.name: json.loads((d / "summary.json").read_text())["status"]
              for d in runs.iterdir()}
    assert status == {"fine--s0": "ok", "huge--s0": "diverged"}
    assert main(["aggregate", "div"]) == 0 and main(["render", "div"]) == 0
    table = (tmp_path / "paper" / "generated" / "tiny" / "div" / "table.tex").read_text()
    assert table.count("(diverged)") == 1
    assert (r"ViT \& co\_50\% \#1 \{a\} \textasciitilde{}x\textasciicircum{}2 "
            r"\textbackslash{} \$") in table
    assert r"divergence \& escaping" in table
