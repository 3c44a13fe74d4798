"""Kill a run with SIGKILL at eight points, resume it each time, and get an uninterrupted run's
exact numbers. A killed run must never look finished: no summary, so Make would run it again.

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
    ("write:head.safetensors", "while saving what the run trained"),
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
def test_sigkill_at_eight_points_then_resume_gives_identical_results(tmp_path):
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
    for name in ("weights/head.safetensors", "weights/adapter/adapter_model.safetensors"):
        assert (out / name).read_bytes() == (out_ref / name).read_bytes(), name


@pytest.mark.slow
def test_a_run_killed_while_saving_its_weights_leaves_no_stray_file(tmp_path):
    work = _workdir(tmp_path, "weights")
    out = work / "results" / "tiny" / "runs" / "resume" / "s0"
    assert _run(work, "write:head.safetensors").returncode == -9
    assert list((out / "weights").glob(".head.safetensors.*"))
    assert _run(work).returncode == 0
    assert not list(out.rglob(".*")), list(out.rglob(".*"))
    files = json.loads((out / "summary.json").read_text())["weights"]["files"]
    assert sorted(files) == ["adapter/adapter_config.json",
                             "adapter/adapter_model.safetensors", "head.safetensors"]


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



def _two_epoch_head_run(spec_class, upstream: dict):
    """A short classifier-only run (augmented, so its features are not cached)."""
    from ftbench.config import RunConfig, from_dict, validate
    from ftbench.config.identity import run_identity

    cfg = validate(from_dict(RunConfig, {
        "model": {"name": "vit_micro_patch8_32"}, "method": {"name": "head"},
        "data": {"name": "digits", "train_limit": 64, "augment": ["flip"]},
        "train": {"epochs": 2, "batch_size": 32}, "device": "cpu", "threads": 1}, "t"), "t")
    spec = spec_class("t", "r", {}, cfg)
    spec.identity = run_identity(cfg, upstream)
    return spec


def _stop_after_first_epoch(spec, results, monkeypatch) -> None:
    """Train until the first epoch's checkpoint is written, then stop as a kill would."""
    from ftbench import faults
    from ftbench.train.run import train

    def die_after_first_epoch(name):
        if name == "epoch-end":
            raise SystemExit("killed")

    with monkeypatch.context() as m:
        m.setattr(faults, "point", die_after_first_epoch)
        with pytest.raises(SystemExit):
            train(spec, results, log=lambda *_: None)

def test_a_checkpoint_from_before_its_backbone_was_rebuilt_starts_over(tmp_path, monkeypatch,
                                                                       restore_threads):
    """The checkpoint records the sha256 of the backbone a run starts from; a rebuilt one
    invalidates it."""
    from ftbench.config import RunSpec
    from ftbench.store.hashing import file_sha256
    from ftbench.train.run import train

    class Spec(RunSpec):  # as if started from a pipeline backbone, without loading one
        @property
        def depends_on(self):
            return ["dep/x"]

    backbone = tmp_path / "runs" / "dep" / "x" / "backbone.safetensors"
    backbone.parent.mkdir(parents=True)
    backbone.write_bytes(b"the first build's weights")
    file_sha256.cache_clear()
    spec = _two_epoch_head_run(Spec, {"dep/x": "0" * 16})
    _stop_after_first_epoch(spec, tmp_path, monkeypatch)
    assert (tmp_path / "runs" / "t" / "r" / "checkpoint.pt").exists()
    backbone.write_bytes(b"the rebuilt weights")
    file_sha256.cache_clear()  # what a new process, the one that resumes, sees
    said = []
    try:
        summary = train(spec, tmp_path, log=said.append)
    finally:
        file_sha256.cache_clear()
    assert any("starting over" in s for s in said) and summary.resumed_after == []
    assert summary.inputs == {"dep/x": file_sha256(backbone)}


def test_an_unchanged_backbone_resumes(tmp_path, monkeypatch, restore_threads):
    from ftbench.config import RunSpec
    from ftbench.train.run import train

    spec = _two_epoch_head_run(RunSpec, {})
    _stop_after_first_epoch(spec, tmp_path, monkeypatch)
    said = []
    summary = train(spec, tmp_path, log=said.append)
    assert any("resuming from" in s for s in said) and summary.resumed_after == [1]


def test_a_checkpoint_is_keyed_by_the_runs_identity(tmp_path):
    from ftbench.errors import UserError
    from ftbench.train import checkpoint

    path = tmp_path / "checkpoint.pt"
    assert checkpoint.load(path, "a" * 16) is None
    complete = dict.fromkeys(getattr(checkpoint, "KEYS", ()), 0)
    checkpoint.save(path, complete | {"identity": "a" * 16, "epoch": 1})
    assert checkpoint.load(path, "a" * 16)["epoch"] == 1
    with pytest.raises(UserError) as err:
        checkpoint.load(path, "b" * 16)
    assert str(err.value) == (f"checkpoint {path} was saved by a different configuration "
                              f"(identity {'a' * 16}, this run's is {'b' * 16}); delete it to "
                              "start this run over")
