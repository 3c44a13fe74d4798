"""Run summaries -> one tidy CSV per table (one row per run), written atomically."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ftbench import atomic
from ftbench.config import Experiment
from ftbench.errors import UserError
from ftbench.layout import SUMMARY, run_dir

COLUMNS = [
    "table", "run_id", "seed", "status", "dataset", "dataset_display", "model", "model_label",
    "method", "lora_r", "lora_alpha", "accuracy", "macro_f1", "macro_auc", "test_loss",
    "best_epoch", "best_val_accuracy", "epochs", "train_s", "per_epoch_s", "wall_s", "peak_mib",
    "memory_kind", "trainable_params", "total_params", "config_hash", "device_name", "torch",
    "timm", "peft", "git_commit", "lora_dropout", "unmerged_ms_per_image",
    "merged_ms_per_image", "merge_speedup", "merge_same_predictions", "merge_max_prob_diff",
    "train_accuracy", "optimizer", "schedule", "lr", "batch_size", "weight_decay", "grad_clip",
    "python", "torchvision", "cuda", "git_dirty", "started", "finished",
]

# Columns that measure the machine rather than the result: they differ between any two
# executions of the same run (times, memory, timestamps); every other column must not.
MEASURED = ("train_s", "per_epoch_s", "wall_s", "peak_mib", "started", "finished",
            "unmerged_ms_per_image", "merged_ms_per_image", "merge_speedup")


def read_summary(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"run summary {path} is missing; run it first (make all)") from None
    except json.JSONDecodeError:
        raise UserError(f"run summary {path} is corrupt; delete its folder and re-run") from None


def row(s: dict) -> dict:
    c = s["config"]
    lora = c["method"]["name"] == "lora"
    return {
        "table": s["table"], "run_id": s["run_id"], "seed": c["seed"], "status": s["status"],
        "dataset": s["dataset"]["name"], "dataset_display": s["dataset"]["display"],
        "model": s["model"]["name"], "model_label": s["model"]["label"],
        "method": s["model"]["method"],
        "lora_r": c["method"]["r"] if lora else "",
        "lora_alpha": c["method"]["alpha"] if lora else "",
        "accuracy": s["test"]["accuracy"], "macro_f1": s["test"]["macro_f1"],
        "macro_auc": s["test"]["macro_auc"], "test_loss": s["test"]["loss"],
        "best_epoch": s["best_epoch"], "best_val_accuracy": s["best_val_accuracy"],
        "epochs": c["train"]["epochs"], "train_s": s["time"]["train_s"],
        "per_epoch_s": s["time"]["per_epoch_s"], "wall_s": s["time"]["wall_s"],
        "peak_mib": s["memory"]["peak_mib"], "memory_kind": s["memory"]["kind"],
        "trainable_params": s["params"]["trainable"], "total_params": s["params"]["total"],
        "config_hash": s["config_hash"], "device_name": s["env"]["device_name"],
        "torch": s["env"]["torch"], "timm": s["env"]["timm"], "peft": s["env"]["peft"],
        "git_commit": s["env"]["git_commit"], "git_dirty": s["env"].get("git_dirty", ""),
        "python": s["env"].get("python", ""), "torchvision": s["env"].get("torchvision", ""),
        "cuda": s["env"].get("cuda") or "", "started": s.get("started", ""),
        "finished": s.get("finished", ""),
        "lora_dropout": c["method"]["dropout"] if lora else "",
        "train_accuracy": s["test"].get("train_accuracy", ""),
        "optimizer": c["train"]["optimizer"], "schedule": c["train"]["schedule"],
        "lr": c["train"]["lr"], "batch_size": c["train"]["batch_size"],
        "weight_decay": c["train"]["weight_decay"], "grad_clip": c["train"]["grad_clip"],
        **_merge_columns(s.get("merge")),
    } | {f"axis_{k}": v for k, v in s["axes"].items()}


def _merge_columns(merge: dict | None) -> dict:
    keys = {"unmerged_ms_per_image": "unmerged_ms_per_image",
            "merged_ms_per_image": "merged_ms_per_image", "merge_speedup": "speedup",
            "merge_same_predictions": "same_predictions", "merge_max_prob_diff": "max_prob_diff"}
    return {col: (merge or {}).get(key, "") for col, key in keys.items()}


def csv_text(experiment: Experiment, results: Path) -> str:
    rows = [row(read_summary(run_dir(results, r) / SUMMARY)) for r in experiment.runs]
    axes = [f"axis_{k}" for k in (experiment.runs[0].axes if experiment.runs else {})]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS[:2] + axes + COLUMNS[2:],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def aggregate(experiment: Experiment, results: Path) -> Path:
    out = Path(results) / f"{experiment.name}.csv"
    atomic.write_text(out, csv_text(experiment, results))
    return out


def read_csv(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise UserError(f"{path} is missing; build it with: make all") from None
