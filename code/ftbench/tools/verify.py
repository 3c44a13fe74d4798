"""`ftbench verify`: do the committed runs reproduce? Retrain a sample of them from their planned
configs in a scratch folder, with the code that is here, and compare every number they recorded.

The sample (default) is one run of every table by a fixed rule: the run with the shortest
recorded wall time (ties: the first planned), so that verifying costs a fraction of a rebuild;
`--all` takes every run, `--runs KEY ...` the ones named. A retrained run reads the committed
upstream weights (a fine-tuning run's backbone), exactly as the original did.

What is compared: the test metrics and confusion matrix, the chosen epoch and its validation
accuracy, the parameter counts, the post-run steps' numbers (train accuracy, merge check), the
epoch log (every field but its times), every array of predictions.npz, and the training memory
where it is a count (`cpu_tensors`). Where the platform is deterministic, on the CPU the run was
made on (same CPU model, the recorded thread count), the comparison is exact. Elsewhere (another
CPU, or CUDA), numbers may move in their last digits or by a seed-to-seed amount: metrics then
pass within the configuration's standard deviation over its seeds (from the table's CSV, 0.01 at
least), epoch logs and probabilities are reported but not held to equality, and predictions must
agree on at least 99% of the test images.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

import numpy as np
import torch

from ftbench.config import Experiment, RunSpec
from ftbench.errors import UserError
from ftbench.report.aggregate import read_csv
from ftbench.report.stats import std
from ftbench.store.layout import EPOCHS, PREDICTIONS, SUMMARY, run_dir
from ftbench.train.provenance import device_name
from ftbench.train.run import train

TIMES = ("epoch_time_s",)  # measured in the epoch log
AGREEMENT = 0.99  # of test predictions, where the platform is not the run's


@dataclass
class Outcome:
    key: str
    differences: list[str] = field(default_factory=list)
    exact: bool = True  # compared for equality (the run's own platform)

    @property
    def same(self) -> bool:
        return not self.differences

    def line(self) -> str:
        how = "" if self.exact else " (within tolerance: not the platform it was made on)"
        if self.same:
            return f"{self.key}: same{how}"
        return f"{self.key}: differs{how}: {'; '.join(self.differences[:4])}" + (
            f"; and {len(self.differences) - 4} more" if len(self.differences) > 4 else "")


def sample(experiments: list[Experiment], results: Path) -> list[RunSpec]:
    """One run per table: the shortest recorded wall time (ties: the first planned)."""

    chosen = []
    for e in experiments:
        if not e.runs:
            continue
        walls = []
        for r in e.runs:
            try:
                wall = json.loads((run_dir(results, r) / SUMMARY).read_text())["time"]["wall_s"]
            except (OSError, ValueError, KeyError, TypeError):
                raise UserError(f"{r.key} has no finished run in {results} to verify; build "
                                "it first (make all)") from None
            walls.append((float(wall), len(walls), r))
        chosen.append(min(walls, key=lambda w: w[:2])[2])
    return chosen


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def compare_values(name: str, old, new, tolerance: float) -> str | None:
    """None when equal (within `tolerance` for numbers), else what differs."""
    if isinstance(old, int | float) and isinstance(new, int | float) and not isinstance(
            old, bool):
        if old == new or (math.isnan(old) and math.isnan(new)):
            return None
        if abs(old - new) <= tolerance:
            return None
        return f"{name} {old:.6g} -> {new:.6g} ({new - old:+.2g})"
    return None if old == new else f"{name} {old!r} -> {new!r}"


def _recorded(summary: dict, exact: bool) -> dict:
    """The numbers of a summary that a retrained run must reproduce (flattened)."""
    merge = summary.get("merge") or {}
    numbers = {"test": summary.get("test"), "best_epoch": summary.get("best_epoch"),
               "best_val_accuracy": summary.get("best_val_accuracy"),
               "params": summary.get("params"), "train_accuracy": summary.get("train_accuracy"),
               "status": summary.get("status"),
               "merge": {k: merge.get(k) for k in ("same_predictions", "max_prob_diff")
                         if k in merge}}
    memory = summary.get("memory") or {}
    if exact and memory.get("kind") == "cpu_tensors":  # a count, not a measurement
        numbers["memory"] = memory
    return _flat(numbers)


def compare_summaries(old: dict, new: dict, tolerance: float, exact: bool) -> list[str]:
    a, b = _recorded(old, exact), _recorded(new, exact)
    out = []
    for k in sorted(set(a) | set(b)):
        loose = 0.0 if exact or k.startswith(("params", "status", "best_epoch")) else tolerance
        if diff := compare_values(k, a.get(k), b.get(k), loose):
            out.append(diff)
    return out


def compare_logs(old: str, new: str) -> list[str]:

    a = [json.loads(line) for line in old.splitlines()]
    b = [json.loads(line) for line in new.splitlines()]
    if len(a) != len(b):
        return [f"epochs.jsonl has {len(b)} epochs, the committed {len(a)}"]
    out = []
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        for k in sorted((set(x) | set(y)) - set(TIMES)):
            if diff := compare_values(f"epoch {i} {k}", x.get(k), y.get(k), 0.0):
                out.append(diff)
    return out


def compare_predictions(old: Path, new: Path, exact: bool) -> list[str]:
    with np.load(old) as a, np.load(new) as b:
        arrays = {k: (a[k], b[k] if k in b.files else None) for k in a.files}
    out = []
    for k, (x, y) in arrays.items():
        if y is None or x.shape != y.shape:
            out.append(f"predictions.npz {k}: shape {x.shape} -> "
                       f"{None if y is None else y.shape}")
        elif exact and not np.array_equal(x, y):
            out.append(f"predictions.npz {k}: {int((x != y).sum())} entries differ (largest "
                       f"{float(np.abs(x.astype(float) - y.astype(float)).max()):.2g})")
        elif not exact and k == "y_pred" and (x == y).mean() < AGREEMENT:
            out.append(f"predictions.npz y_pred: agree on {(x == y).mean():.1%} of the images")
    return out


def verify_run(spec: RunSpec, results: Path, scratch: Path, tolerance: float,
               log=print) -> Outcome:
    """Retrain `spec` into `scratch` (reading the committed upstream weights) and compare."""



    committed = run_dir(results, spec)
    old = json.loads((committed / SUMMARY).read_text())
    threads = old.get("env", {}).get("threads")
    folder = scratch / spec.key
    shutil.rmtree(folder, ignore_errors=True)
    # the run takes its thread count from FTBENCH_THREADS (train.threads): the committed one's
    with patch.dict(os.environ, {"FTBENCH_THREADS": str(threads)} if threads else {}):
        train(spec, results, folder, log=lambda *_: None)
    new = json.loads((folder / SUMMARY).read_text())
    exact = new["env"].get("device_name") == old.get("env", {}).get("device_name") == \
        device_name(torch.device("cpu")) and not new["env"].get("cuda")
    outcome = Outcome(spec.key, exact=exact)
    outcome.differences += compare_summaries(old, new, 0.0 if exact else tolerance, exact)
    if exact:
        outcome.differences += compare_logs((committed / EPOCHS).read_text(),
                                            (folder / EPOCHS).read_text())
    outcome.differences += compare_predictions(committed / PREDICTIONS, folder / PREDICTIONS,
                                               exact)
    log(outcome.line())
    return outcome


def verify(specs: list[RunSpec], results: Path, tolerances: dict[str, float],
           scratch: Path | None = None, log=print) -> list[Outcome]:
    """Every run in `specs`, retrained in a scratch folder (removed afterwards)."""
    owned = scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="ftbench-verify-")) if owned else Path(scratch)
    try:
        return [verify_run(s, results, scratch, tolerances.get(s.key, 0.01), log)
                for s in specs]
    finally:
        if owned:
            shutil.rmtree(scratch, ignore_errors=True)


def seed_spread(experiments: list[Experiment], results: Path) -> dict[str, float]:
    """Run key -> the sample std over its configuration's seeds of test accuracy (0.01 at
    least): how far a number may move on another platform."""
    out = {}
    for e in experiments:
        if not e.runs or not (Path(results) / f"{e.name}.csv").exists():
            continue
        rows = read_csv(Path(results) / f"{e.name}.csv")
        by_config: dict[str, list[dict]] = {}
        for r in rows:
            by_config.setdefault(r["run_id"].rsplit("--s", 1)[0], []).append(r)
        for members in by_config.values():
            spread = max(std(r["accuracy"] for r in members), 0.01)
            out |= {f"{e.name}/{r['run_id']}": spread for r in members}
    return out

