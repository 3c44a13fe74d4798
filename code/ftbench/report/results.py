"""One table's results as a renderer reads them: its CSV, grouped into configurations, plus the
files of its runs (per-epoch logs, predictions, summaries), read through one object so that a
renderer's inputs are exactly what Make makes it depend on.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ftbench.config import Experiment
from ftbench.errors import UserError
from ftbench.report import stats
from ftbench.report.aggregate import COLUMNS, csv_text, read_csv
from ftbench.store.layout import SUMMARY, run_path
from ftbench.store.summary import read_summary

METHOD_NAMES = {"full": "full fine-tuning", "head": "classifier only", "lora": "LoRA"}
# The columns renderers compute with: finite numbers, and the accuracy metrics within [0, 1]
FINITE = ("seed", "trainable_params", "total_params", "train_s", "per_epoch_s", "wall_s",
          "peak_mib", "best_val_accuracy", "accuracy", "macro_f1")
UNIT = ("accuracy", "macro_f1")
HISTORY = ("epoch", "train_loss", "val_accuracy", "lr")  # what the figures read of an epoch


def checked_rows(experiment: Experiment, results: Path, deep: bool = False) -> list[dict]:
    """A table's CSV, if it holds exactly the planned runs (by identity) with numbers where a
    renderer computes: a stale or hand-edited CSV never reaches the paper. `deep`: and every
    run's numbers checked against its own files again (ftbench.report.evidence; `aggregate`
    checks them when it writes the CSV, and a file edited since makes the CSV differ)."""
    path = Path(results) / f"{experiment.name}.csv"
    rows = read_csv(path)
    fix = f"write it again with: ftbench aggregate {experiment.name} (make all)"
    axes = [f"axis_{a}" for a in (experiment.runs[0].axes if experiment.runs else {})]
    missing = [c for c in [*COLUMNS, *axes] if c not in rows[0]]
    if missing:
        raise UserError(f"{path} lacks the column '{missing[0]}'; {fix}")
    planned = {r.run_id: r.identity for r in experiment.runs}
    got = {r["run_id"]: r["identity"] for r in rows}
    if len(rows) != len(got) or got != planned:
        raise UserError(f"{path} does not hold the planned runs ({_difference(planned, got)}); "
                        f"{fix}")
    for r in rows:
        for column in FINITE:
            try:
                ok = math.isfinite(v := float(r[column])) and (column not in UNIT or 0 <= v <= 1)
            except ValueError:
                ok = False
            if not ok:
                raise UserError(f"{path}: run {r['run_id']} has {column} {r[column]!r}, which "
                                f"is not a valid number; {fix}")

    if path.read_text(encoding="utf-8") != csv_text(experiment, results, deep):
        raise UserError(f"{path} differs from what its runs' summaries give (edited by hand, or "
                        f"written by another version of ftbench); {fix}")
    return rows


def checked_params(path: Path) -> list[dict]:
    """params.csv, with the columns and counts the params table computes with."""
    rows = read_csv(path)
    fix = "write it again with: ftbench params (make params)"
    for column in ("table", "variant", "classes", "trainable_params", "total_params", "lora_r",
                   "lora_alpha"):
        if column not in rows[0]:
            raise UserError(f"{path} lacks the column '{column}'; {fix}")
    for n, r in enumerate(rows, 2):
        counts = [r["trainable_params"], r["total_params"], r["lora_r"] or "1"]
        if not all(c.isdigit() for c in counts) or int(r["total_params"]) == 0:
            raise UserError(f"{path} line {n}: the parameter counts are not whole numbers; {fix}")
        try:
            float(r["lora_alpha"] or 0)
        except ValueError:
            raise UserError(f"{path} line {n}: lora_alpha is not a number; {fix}") from None
    return rows


def _difference(planned: dict, got: dict) -> str:
    for run_id, identity in planned.items():
        if run_id not in got:
            return f"run {run_id} is missing"
        if got[run_id] != identity:
            return f"run {run_id} has identity {got[run_id]}, the plan {identity}"
    extra = sorted(set(got) - set(planned))
    return f"run {extra[0]} is not planned" if extra else "a run is listed twice"


@dataclass
class Group:
    """One configuration: the runs of a table that differ only in their seed."""

    axes: dict[str, str]
    rows: list[dict]

    @property
    def first(self) -> dict:
        return self.rows[0]

    @property
    def key(self) -> str:
        """The configuration's name: its runs' id without the seed (`--s<seed>`)."""
        return self.first["run_id"].rsplit("--s", 1)[0]

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def dataset(self) -> str:
        return self.first["dataset_display"]

    @property
    def label(self) -> str:
        return self.first["model_label"]

    @property
    def method(self) -> str:
        return METHOD_NAMES.get(self.first["method"], self.first["method"])

    @property
    def lora_r(self) -> str:
        return self.first["lora_r"]

    @property
    def trainable(self) -> int:
        return int(self.first["trainable_params"])

    @property
    def total(self) -> int:
        return int(self.first["total_params"])

    @property
    def status(self) -> str:
        return "diverged" if any(r["status"] != "ok" for r in self.rows) else "ok"

    def values(self, column: str) -> list[float]:
        return stats.floats(r.get(column) for r in self.rows)

    def mean(self, column: str) -> float:
        return stats.mean(self.values(column))

    def std(self, column: str) -> float:
        return stats.std(self.values(column))

    @property
    def seeds(self) -> list[int]:
        return [int(r["seed"]) for r in self.rows]

    def value(self, column: str, seed: int) -> float:
        return float(next(r[column] for r in self.rows if int(r["seed"]) == seed))

    def run_id(self, seed: int) -> str:
        return next(r["run_id"] for r in self.rows if int(r["seed"]) == seed)

    @property
    def gap(self) -> float:
        """Train-test gap in points: clean training accuracy minus test accuracy, mean."""
        return 100 * (self.mean("train_accuracy") - self.mean("accuracy"))


@dataclass
class TableResults:
    experiment: Experiment
    results: Path
    rows: list[dict]
    groups: list[Group]
    _predictions: dict = field(default_factory=dict, repr=False)
    # each configuration against its baseline: filled by ftbench.report.compare.load, which
    # pairs the configurations on their test images when the table is read
    comparisons: list = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, experiment: Experiment, results: Path, deep: bool = False) -> TableResults:
        rows = checked_rows(experiment, results, deep)
        axes = list(experiment.runs[0].axes) if experiment.runs else []
        grouped: dict[tuple, list[dict]] = {}
        for r in rows:
            grouped.setdefault(tuple(r[f"axis_{a}"] for a in axes), []).append(r)
        groups = [Group(dict(zip(axes, key, strict=True)), members)
                  for key, members in grouped.items()]
        table = cls(experiment, Path(results), rows, groups)
        table.check_files()
        return table

    def check_files(self) -> None:
        """Read every run's files a renderer may read before any output is written: a bad file
        stops the table, not half of it."""
        for r in self.rows:
            self.history(r["run_id"])
            self.summary(r["run_id"])
            self.correctness(r["run_id"])

    def check_agreement(self) -> None:
        """Each run's predictions give the accuracy its summary records."""
        for r in self.rows:
            _, correct = self.correctness(r["run_id"])
            if abs(float(correct.mean()) - float(r["accuracy"])) > 1e-9:
                # the paired tests read the predictions, the table the summary: they must agree
                raise UserError(
                    f"{self.run_folder(r['run_id']) / 'predictions.npz'} gives test accuracy "
                    f"{correct.mean():.4f}, its summary {float(r['accuracy']):.4f}: one was edited "
                    "or belongs to another run; delete the run's folder and re-run it")

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def axes(self) -> list[str]:
        return list(self.experiment.runs[0].axes) if self.experiment.runs else []

    @cached_property
    def seeds(self) -> list[int]:
        return sorted({int(r["seed"]) for r in self.rows})

    @property
    def first_seed(self) -> int:
        return self.seeds[0]

    def run_folder(self, run_id: str) -> Path:
        return run_path(self.results, f"{self.name}/{run_id}")

    def config(self, g: Group) -> dict:
        """A configuration's resolved config (its first seed's; the seeds differ only there)."""
        return self.summary(g.run_id(g.seeds[0])).config

    def summary(self, run_id: str) -> dict:
        return read_summary(self.run_folder(run_id) / SUMMARY)

    def history(self, run_id: str) -> list[dict]:
        path = self.run_folder(run_id) / "epochs.jsonl"
        try:
            history = [json.loads(line) for line in path.read_text().splitlines()]
        except FileNotFoundError:
            raise UserError(f"{path} is missing; re-run {self.name}/{run_id}") from None
        except (ValueError, RecursionError, IsADirectoryError):  # not JSON lines, not UTF-8
            raise UserError(f"{path} is corrupt; delete the run's folder and re-run it") from None
        for n, epoch in enumerate(history, 1):
            if not (isinstance(epoch, dict) and all(
                    isinstance(epoch.get(k), int | float) and not isinstance(epoch.get(k), bool)
                    for k in HISTORY)):
                raise UserError(f"{path} is corrupt (line {n} is not an epoch's record); delete "
                                "the run's folder and re-run it")
        return history

    def correctness(self, run_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(labels, per-image correctness) on the test split, read once per run; the stored
        probabilities must give the stored predictions, so that whoever recomputes accuracy
        from them gets the table's number."""
        if run_id not in self._predictions:
            path = self.run_folder(run_id) / "predictions.npz"
            try:
                with np.load(path) as z:
                    y_true, y_pred, probs = z["y_true"], z["y_pred"], z["probs"]
            except FileNotFoundError:
                raise UserError(f"{path} is missing; re-run {self.name}/{run_id}") from None
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                raise UserError(f"{path} is corrupt; delete the run's folder and re-run "
                                "it") from None
            if probs.ndim != 2 or len(probs) != len(y_pred) or not np.array_equal(
                    probs.argmax(1), y_pred):
                raise UserError(f"{path}: the argmax of its probabilities is not its y_pred "
                                "(written by an older ftbench, or edited); delete the run's "
                                "folder and re-run it")
            self._predictions[run_id] = (y_true, y_true == y_pred)
        return self._predictions[run_id]

    def paired(self, a: Group, b: Group) -> list[tuple[np.ndarray, np.ndarray]]:
        """The seeds both configurations ran, as pairs of correctness vectors on the same
        test images (checked: a pair over different images would be meaningless)."""
        pairs = []
        for seed in sorted(set(a.seeds) & set(b.seeds)):
            (ya, ca), (yb, cb) = self.correctness(a.run_id(seed)), self.correctness(b.run_id(seed))
            if ya.shape != yb.shape or not np.array_equal(ya, yb):
                raise UserError(f"{self.name}: runs {a.run_id(seed)} and {b.run_id(seed)} were "
                                "tested on different images; re-run both")
            pairs.append((ca, cb))
        return pairs
