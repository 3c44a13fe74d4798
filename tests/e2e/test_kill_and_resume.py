"""Kill a run with SIGKILL at nine points, resume it each time, and get an uninterrupted run's
exact numbers. A killed run must never look finished: no summary, so Make would run it again.
(What a checkpoint holds and when it is resumed, in process: tests/train/test_checkpoint.py.)

The kill points come from `FTBENCH_KILL_AT` (ftbench/faults.py). The run is a ViT LoRA run with
adapter dropout, MixUp, random crops and flips, so every random source a checkpoint restores
(Python, NumPy, torch, the data order) is in play.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT, run_cli

CONFIG = """\
title: Resume
description: one small run that is killed and resumed
base:
  model: {name: vit_micro_patch8_32}
  method: {name: lora, r: 4, alpha: 8, dropout: 0.1, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 256, augment: [crop, flip], mixup: 0.2}
  train: {epochs: 3, batch_size: 32, lr: 3.0e-3}
  threads: 1
report: {table: benchmark, caption: resume}
"""
RUN = "resume/s0"

# In order; each resumes what the one before left. 8 optimizer steps per epoch.
KILL_POINTS = [
    ("train-step@3", "mid-epoch 1, before any checkpoint"),
    ("write:checkpoint.pt", "while saving epoch 1's checkpoint (written, not yet renamed)"),
    ("train-step@10", "mid-epoch 2, after epoch 1's checkpoint"),
    ("write:checkpoint.pt@2", "while saving epoch 3's checkpoint"),
    ("test", "after the last epoch, before the test split"),
    ("write:adapter", "while saving what the run trained"),
    ("write:README.md", "while writing the model card"),
    ("write:predictions.npz", "while writing the predictions"),
    ("write:summary.json", "while writing the summary"),
]


def _workdir(tmp_path, name):
    work = tmp_path / name
    (work / "configs").mkdir(parents=True)
    shutil.copytree(ROOT / "configs" / "profiles", work / "configs" / "profiles")
    (work / "configs" / "resume.yaml").write_text(CONFIG)
    return work


def _run(work, kill_at=None):
    env = {"FTBENCH_KILL_AT": kill_at} if kill_at else {"FTBENCH_KILL_AT": ""}
    return run_cli("run", RUN, cwd=work, env=env)


def _outputs(work):
    out = work / "results" / "tiny" / "runs" / "resume" / "s0"
    summary = json.loads((out / "summary.json").read_text())
    epochs = [json.loads(line) for line in (out / "epochs.jsonl").read_text().splitlines()]
    for e in epochs:
        e.pop("epoch_time_s")
    with np.load(out / "predictions.npz") as p:
        predictions = {k: p[k] for k in p.files}
    return summary, epochs, predictions


@pytest.mark.slow
def test_sigkill_at_nine_points_then_resume_gives_identical_results(tmp_path):
    reference_dir = _workdir(tmp_path, "uninterrupted")
    reference = subprocess.Popen(  # alongside the killed runs: one thread each
        [sys.executable, "-m", "ftbench", "run", RUN], cwd=reference_dir,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    work = _workdir(tmp_path, "killed")
    out = work / "results" / "tiny" / "runs" / "resume" / "s0"
    for point, where in KILL_POINTS:
        proc = _run(work, point)
        assert proc.returncode == -9, (point, proc.returncode, proc.stderr[-2000:])
        assert not (out / "summary.json").exists(), f"killed {where}, yet counted as finished"
        if point.startswith("write:"):  # killed between writing and renaming: a stray temp
            assert list(out.rglob(f".{point.split(':')[1].split('@')[0]}.*")), point
    done = _run(work)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout and not list(out.glob(".*")), "stale temp files swept"
    assert not (out / "checkpoint.pt").exists(), "a finished run keeps no checkpoint"

    assert reference.wait(timeout=600) == 0, reference.stdout.read()[-2000:]
    summary, epochs, predictions = _outputs(work)
    ref_summary, ref_epochs, ref_predictions = _outputs(reference_dir)
    assert summary["test"] == ref_summary["test"]  # bit-identical: exact float equality
    assert summary["best_epoch"] == ref_summary["best_epoch"]
    assert summary["best_val_accuracy"] == ref_summary["best_val_accuracy"]
    assert epochs == ref_epochs
    assert all(np.array_equal(predictions[k], ref_predictions[k]) for k in ref_predictions)
    assert summary["resumed_after"] and ref_summary["resumed_after"] == []
    assert summary["config_hash"] == ref_summary["config_hash"]
    assert summary["identity"] == ref_summary["identity"]
    out_ref = reference_dir / "results" / "tiny" / "runs" / "resume" / "s0"
    for name in ("weights/adapter/adapter_config.json", "weights/adapter/adapter_model.safetensors",
                 "weights/README.md"):
        assert (out / name).read_bytes() == (out_ref / name).read_bytes(), name


@pytest.mark.slow
def test_a_run_killed_while_saving_its_weights_leaves_no_stray_file(tmp_path):
    work = _workdir(tmp_path, "weights")
    out = work / "results" / "tiny" / "runs" / "resume" / "s0"
    assert _run(work, "write:adapter").returncode == -9
    assert list((out / "weights").glob(".adapter.*"))
    assert _run(work).returncode == 0
    assert not list(out.rglob(".*")), list(out.rglob(".*"))
    files = json.loads((out / "summary.json").read_text())["weights"]["files"]
    assert sorted(files) == ["adapter/adapter_config.json", "adapter/adapter_model.safetensors"]


def _stale(path) -> None:
    """The summary of a run whose configuration or backbone changed since: make redoes it."""
    summary = json.loads(path.read_text())
    path.write_text(json.dumps(summary | {"identity": "0123456789abcdef"}))


@pytest.mark.slow
def test_a_checkpoint_left_beside_a_finished_run_is_not_resumed(tmp_path):
    """Killed after the summary but before deleting the checkpoint, then redone (say, because
    its backbone was rebuilt): the stale last-epoch checkpoint must not skip the training."""
    work = _workdir(tmp_path, "redo")
    out = work / "results" / "tiny" / "runs" / "resume" / "s0"
    assert _run(work, "write:summary.json@2").returncode == 0  # no kill: one summary only
    first = json.loads((out / "summary.json").read_text())
    again = _run(work)  # done and current: not redone
    assert again.returncode == 0 and "done and current; not redone" in again.stdout
    _stale(out / "summary.json")
    shutil.copy(out / "summary.json", tmp_path / "first.json")
    # what a kill between writing the summary and deleting the checkpoint leaves
    proc = _run(work, "epoch-end@3")
    assert proc.returncode == -9 and not (out / "summary.json").exists()
    shutil.copy(tmp_path / "first.json", out / "summary.json")
    assert (out / "checkpoint.pt").exists()
    again = _run(work)
    assert again.returncode == 0 and "resuming" not in again.stdout
    redone = json.loads((out / "summary.json").read_text())
    assert redone["resumed_after"] == [] and redone["test"] == first["test"]
    assert redone["identity"] == first["identity"]
