"""What the tests share, imported as `from helpers import ...` from any folder under tests/
(pyproject.toml puts tests/ on the import path): the repository root, small configs, the CLI
run in a subprocess like a user runs it, config folders in tmp_path, and fake run results
(summaries and predictions written without training) for the tests of planning, aggregation and
reporting. Fixtures live in conftest.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# One short LoRA run on digits (the pattern of tests/bad_input/cases.py's DEMO), three seeds.
# One run, one seed: the bad-input cases (whose messages name its lines) and the fuzzer.
ONE_RUN = """\
title: Demo
description: one small run for the bad-input cases
base:
  model: {name: vit_micro_patch8_32, label: ViT-micro}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32}
  device: cpu
report: {table: benchmark, caption: demo}
"""

# A pretraining run that other tables start from (model.pretrained: run:backbone/s0).
BACKBONE = """\
title: Backbone
description: a pretraining run the demo table starts from
base:
  model: {name: vit_micro_patch8_32}
  method: {name: full}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32, save_weights: none}
  save_backbone: true
report: {caption: backbone}
"""

DEMO = """\
title: Demo
description: one small configuration for the tests
seeds: [0, 1, 2]
base:
  model: {name: vit_micro_patch8_32, label: ViT-micro}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32}
  threads: 1
report: {table: benchmark, caption: demo}
"""


# Two configurations of three seeds, for the tests of verify, compare and the image check
PAIR = """\
title: Pair
description: a baseline and another configuration, three seeds each
seeds: [0, 1, 2]
base:
  model: {name: resnet34_micro}
  method: {name: head}
  data: {name: digits, image_size: 16}
  train: {epochs: 1}
axes:
  variant:
    values:
      a: {model: {label: Model-A}}
      b: {model: {label: Model-B}}
report: {table: benchmark, caption: pair}
"""
RIGHT = {"a": {0: 70, 1: 72, 2: 74}, "b": {0: 85, 1: 86, 2: 88}}  # of 100 test images


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftbench", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def workdir(folder: Path, tables: dict[str, str]) -> Path:
    """`folder` with configs/profiles (the repository's) and one YAML file per table."""
    (folder / "configs").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "configs" / "profiles", folder / "configs" / "profiles",
                    dirs_exist_ok=True)
    for name, text in tables.items():
        (folder / "configs" / f"{name}.yaml").write_text(text)
    return folder


def fake_probs(y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Class probabilities (float32) whose argmax is `y_pred`."""
    probs = np.full((len(y_pred), classes), 0.1 / max(classes - 1, 1), dtype=np.float32)
    probs[np.arange(len(y_pred)), y_pred] = 0.9
    return probs


_METRICS: dict[tuple, dict] = {}


def metrics_of(y_true: np.ndarray, probs: np.ndarray, classes: int) -> dict:
    """A summary's `test` block as run.py computes it from these predictions. Computed once per
    content: the fake runs of a whole profile share a few patterns of predictions."""
    from ftbench.train.metrics import classification_metrics

    key = (y_true.dtype.str, y_true.tobytes(), probs.dtype.str, probs.shape, probs.tobytes(),
           classes)
    if key not in _METRICS:
        loss = float(-np.log(probs[np.arange(len(y_true)), y_true].astype(np.float64)).mean())
        _METRICS[key] = classification_metrics(y_true.astype(np.int64), probs, classes) | {
            "loss": loss}
    return copy.deepcopy(_METRICS[key])


def epoch_log(epochs: int, accuracy: float, lr: float) -> str:
    """An epochs.jsonl of `epochs` epochs whose validation accuracy rises to `accuracy` at the
    last (the best epoch)."""
    return "".join(json.dumps({
        "epoch": e, "train_loss": 1.0 / e, "train_accuracy": accuracy, "val_loss": 1.0,
        # the last epoch's exactly: 0.81 * 5 / 5 is not 0.81 in floats
        "val_accuracy": accuracy if e == epochs else accuracy * e / epochs, "lr": lr,
        "epoch_time_s": 10.0}) + "\n"
        for e in range(1, epochs + 1))


def write_predictions(folder: Path, y_true: np.ndarray, y_pred: np.ndarray,
                      classes: int) -> np.ndarray:
    """A run's predictions.npz as run.py writes it; returns the (float32) probabilities."""
    probs = fake_probs(y_pred, classes)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "predictions.npz", y_true=y_true.astype(np.int16),
                        y_pred=y_pred.astype(np.int16), probs=probs)
    return probs


def predictions_with(correct: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) over len(correct) test images, right exactly where `correct` is."""
    y_true = np.arange(len(correct)) % classes
    y_pred = np.where(correct, y_true, (y_true + 1) % classes)
    return y_true, y_pred


def fake_summary(spec, results: Path, correct: np.ndarray | None = None, *,
                 identity: str | None = None, write: bool = True, **fields):
    """A complete summary for a planned run, as if it had trained: its identity, config,
    predictions (right where `correct` says; default: 3 of every 4 test images), a one-epoch
    log and the measured columns (override any field, e.g. time={...}). Written to the run's
    folder."""
    from ftbench.data.registry import DATASETS
    from ftbench.store.layout import run_dir
    from ftbench.store.summary import Summary
    from ftbench.train.fingerprint import code_fingerprint

    cfg = spec.config
    classes = DATASETS[cfg.data.name].num_classes
    if correct is None:
        correct = np.arange(40) % 4 != 0
    folder = run_dir(results, spec)
    y_true, y_pred = predictions_with(correct, classes)
    accuracy = float(np.mean(correct))
    probs = fake_probs(y_pred, classes)
    if write:
        write_predictions(folder, y_true, y_pred, classes)
        (folder / "epochs.jsonl").write_text(epoch_log(cfg.train.epochs, accuracy, cfg.train.lr))
    test = metrics_of(y_true, probs, classes)
    merge = ({"unmerged_ms_per_image": 2.0, "merged_ms_per_image": 1.0, "speedup": 2.0,
              "same_predictions": 1.0, "max_prob_diff": 0.0}
             if cfg.merge_check and cfg.method.name == "lora" else None)
    values = dict(
        table=spec.table, run_id=spec.run_id, axes=spec.axes, status="ok",
        identity=spec.identity if identity is None else identity,
        config_hash=cfg.hash(), config=cfg.to_dict(), inputs={},
        dataset={"name": cfg.data.name, "display": cfg.data.label or DATASETS[
            cfg.data.name].display, "classes": classes, "train": 64, "val": 16,
            "test": len(correct)},
        model={"name": cfg.model.name, "label": cfg.model.label or cfg.model.name,
               "method": cfg.method.name},
        params={"trainable": 1000, "total": 100000},
        test=test, best_epoch=cfg.train.epochs, best_val_accuracy=accuracy, resumed_after=[],
        cached_features=False,
        time={"train_s": 10.0, "per_epoch_s": 10.0, "feature_cache_s": 0.0, "wall_s": 12.0},
        memory={"peak_mib": 100.0, "kind": "cpu_tensors"},
        env={"device": "cpu", "device_name": "test CPU (2 cores)", "cuda": None,
             "python": "3.11", "torch": "2", "torchvision": "0", "timm": "1", "peft": "0",
             "git_commit": "0123456789abcdef", "git_dirty": False, "threads": 1},
        world_size=1, started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00", merge=merge, code=code_fingerprint(),
        train_accuracy=1.0 if cfg.eval_train else None)
    summary = Summary(**(values | fields))
    if write:
        (folder / "summary.json").write_text(summary.to_json())
    return summary


def script_module(path: Path, name: str):
    """A helper script of .ci/ (not a package) imported as a module, for testing its functions."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
