"""Run summaries -> one tidy CSV per table (one row per run), written atomically.

Only the planned runs count: a summary whose identity is not the one the plan gives the run now
(its configuration, a default or a run it starts from changed since) is refused, in one line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ftbench.config import Experiment
from ftbench.errors import UserError
from ftbench.store import atomic
from ftbench.store.layout import SUMMARY, run_dir
from ftbench.store.summary import Summary, read_summary

COLUMNS = [
    "table", "run_id", "seed", "status", "dataset", "dataset_display", "model", "model_label",
    "method", "lora_r", "lora_alpha", "accuracy", "macro_f1", "macro_auc", "test_loss",
    "best_epoch", "best_val_accuracy", "epochs", "train_s", "per_epoch_s", "wall_s", "peak_mib",
    "memory_kind", "trainable_params", "total_params", "identity", "config_hash",
    "device_name", "torch", "timm", "peft", "git_commit", "lora_dropout",
    "unmerged_ms_per_image", "merged_ms_per_image", "merge_speedup", "merge_same_predictions",
    "merge_max_prob_diff", "train_accuracy", "optimizer", "schedule", "lr", "batch_size",
    "weight_decay", "grad_clip", "python", "torchvision", "cuda", "threads", "git_dirty",
    "started", "finished",
]

# Columns that measure the machine rather than the result: they differ between any two
# executions of the same run (times, memory, timestamps); every other column must not.
MEASURED = ("train_s", "per_epoch_s", "wall_s", "peak_mib", "started", "finished",
            "unmerged_ms_per_image", "merged_ms_per_image", "merge_speedup")


def row(s: Summary) -> dict:
    c, env = s.config, s.env
    lora = c["method"]["name"] == "lora"
    return {
        "table": s.table, "run_id": s.run_id, "seed": c["seed"], "status": s.status,
        "dataset": s.dataset["name"], "dataset_display": s.dataset["display"],
        "model": s.model["name"], "model_label": s.model["label"], "method": s.model["method"],
        "lora_r": c["method"]["r"] if lora else "",
        "lora_alpha": c["method"]["alpha"] if lora else "",
        "lora_dropout": c["method"]["dropout"] if lora else "",
        "accuracy": s.test["accuracy"], "macro_f1": s.test["macro_f1"],
        "macro_auc": s.test["macro_auc"], "test_loss": s.test["loss"],
        "best_epoch": s.best_epoch, "best_val_accuracy": s.best_val_accuracy,
        "epochs": c["train"]["epochs"], "train_s": s.time["train_s"],
        "per_epoch_s": s.time["per_epoch_s"], "wall_s": s.time["wall_s"],
        "peak_mib": s.memory["peak_mib"], "memory_kind": s.memory["kind"],
        "trainable_params": s.params["trainable"], "total_params": s.params["total"],
        "identity": s.identity, "config_hash": s.config_hash,
        "train_accuracy": "" if s.train_accuracy is None else s.train_accuracy,
        "optimizer": c["train"]["optimizer"], "schedule": c["train"]["schedule"],
        "lr": c["train"]["lr"], "batch_size": c["train"]["batch_size"],
        "weight_decay": c["train"]["weight_decay"], "grad_clip": c["train"]["grad_clip"],
        "started": s.started, "finished": s.finished, **_env_columns(env),
        **_merge_columns(s.merge),
    } | {f"axis_{k}": v for k, v in s.axes.items()}


def _env_columns(env: dict) -> dict:
    keys = ("device_name", "torch", "timm", "peft", "git_commit", "git_dirty", "python",
            "torchvision", "threads")
    return {k: env.get(k, "") for k in keys} | {"cuda": env.get("cuda") or ""}


def _merge_columns(merge: dict | None) -> dict:
    keys = {"unmerged_ms_per_image": "unmerged_ms_per_image",
            "merged_ms_per_image": "merged_ms_per_image", "merge_speedup": "speedup",
            "merge_same_predictions": "same_predictions", "merge_max_prob_diff": "max_prob_diff"}
    return {col: (merge or {}).get(key, "") for col, key in keys.items()}


def planned_summary(spec, results: Path) -> Summary:
    """The run's summary, if it is the planned run's; otherwise a one-line error."""
    path = run_dir(results, spec) / SUMMARY
    s = read_summary(path)
    if s.identity != spec.identity:
        raise UserError(f"run summary {path} is not the planned run's (identity {s.identity}, "
                        f"planned {spec.identity}: its configuration, a default or a run it "
                        "starts from changed); re-run it with make all")
    return s


def checked_row(spec, results: Path, deep: bool = True) -> dict:
    """The CSV row of a planned run; a summary lacking a value the row needs is corrupt.
    `deep`: and every number it takes from the run checked against the run's own files
    (ftbench.report.evidence)."""
    s = planned_summary(spec, results)
    try:
        out = row(s)
    except (KeyError, TypeError, AttributeError) as exc:
        what = f"'{exc.args[0]}'" if isinstance(exc, KeyError) else "a value of the right type"
        raise UserError(f"run summary {run_dir(results, spec) / SUMMARY} is corrupt (it lacks "
                        f"{what}); delete its folder and re-run") from None
    if deep:
        from ftbench.report.evidence import check_run

        check_run(s, spec, run_dir(results, spec))
    return out


def csv_text(experiment: Experiment, results: Path, deep: bool = True) -> str:
    rows = [checked_row(r, results, deep) for r in experiment.runs]
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
    """A table's rows; a missing, unreadable or cut-off CSV is a one-line error."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise UserError(f"{path} is missing; build it with: make all") from None
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}); delete it and run "
                        "make all to write it again") from None
    if not rows or any(None in r or None in r.values() for r in rows):
        raise UserError(f"{path} is empty or cut off (a row has the wrong number of fields); "
                        "delete it and run make all to write it again")
    return rows
