"""A diverging run ends with status `diverged` (exit 0, so `make all` goes on) and the table
says so; names full of LaTeX's special characters reach the table escaped."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from ftbench.cli.main import main
from ftbench.config import load_all
from helpers import fake_summary, workdir

CONFIG = r"""
title: Divergence
description: one run that trains, one whose learning rate makes the loss infinite
base:
  model: {name: vit_micro_patch8_32, label: 'ViT & co_50% #1 {a} ~x^2 \ $'}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 2, batch_size: 32, optimizer: sgd}
  device: cpu
  threads: 1
axes:
  lr:
    values:
      fine: {train: {lr: 0.01}}
      huge: {train: {lr: 1.0e+30}}
report: {table: benchmark, caption: 'divergence & escaping'}
"""
LABEL = (r"ViT \& co\_50\% \#1 \{a\} \textasciitilde{}x\textasciicircum{}2 "
         r"\textbackslash{} \$")


def _table(work) -> str:
    return (work / "paper" / "generated" / "tiny" / "div" / "table.tex").read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = workdir(tmp_path_factory.mktemp("div"), {"div": CONFIG})
    threads = torch.get_num_threads()
    args = ["--configs", str(work / "configs"), "--results", str(work / "results")]
    try:
        for run in ("div/fine--s0", "div/huge--s0"):
            assert main(["run", run, *args]) == 0
    finally:
        torch.set_num_threads(threads)
    return work


@pytest.mark.slow
def test_diverged_run_is_recorded_and_aggregated(trained):
    runs = trained / "results" / "tiny" / "runs" / "div"
    status = {d.name: json.loads((d / "summary.json").read_text())["status"]
              for d in runs.iterdir()}
    assert status == {"fine--s0": "ok", "huge--s0": "diverged"}
    assert main(["aggregate", "div", "--configs", str(trained / "configs"), "--results",
                 str(trained / "results")]) == 0
    with open(trained / "results" / "tiny" / "div.csv") as f:
        assert {r["run_id"]: r["status"] for r in csv.DictReader(f)} == status


@pytest.mark.slow
def test_a_run_that_diverges_in_its_first_epoch_is_shown_in_its_table(trained, monkeypatch):
    monkeypatch.chdir(trained)
    assert main(["aggregate", "div"]) == 0
    assert main(["render", "div"]) == 0
    table = _table(trained)
    assert table.count("(diverged)") == 1 and LABEL in table


def test_a_diverged_run_is_shown_and_names_are_escaped(tmp_path, monkeypatch):
    """The same table from recorded results (no training): the diverged run is marked, and
    the label and caption are escaped."""
    work = workdir(tmp_path, {"div": CONFIG})
    monkeypatch.chdir(work)
    (e,) = load_all(work / "configs", "tiny", check_models=False)
    for r in e.runs:
        fake_summary(r, work / "results" / "tiny",
                     status="diverged" if r.run_id == "huge--s0" else "ok")
    assert main(["aggregate", "div"]) == 0 and main(["render", "div"]) == 0
    table = _table(work)
    assert table.count("(diverged)") == 1
    assert LABEL in table
    assert r"divergence \& escaping" in table
