"""`ftbench verify`: do the committed runs reproduce? Retrain a sample of them from their planned
configs in a scratch folder, with the code that is here, and compare what they recorded.

The sample (default) is one run of every table by a fixed rule: the run with the shortest
recorded wall time (ties: the first planned), so that verifying costs a fraction of a rebuild;
`--all` takes every run, `--runs KEY ...` the ones named. A retrained run reads the committed
upstream weights (a fine-tuning run's backbone), exactly as the original did.

Each run gets one of three verdicts:

- identical: every recorded number equal: the test metrics and confusion matrix, the chosen
  epoch and its validation accuracy, the parameter counts, the post-run steps' numbers (train
  accuracy, merge check), the epoch log (every field but its times), every array of
  predictions.npz, and the training memory where it is a count (`cpu_tensors`). On the CPU the
  runs were made on (same model, the recorded thread count) the tiny profile retrains bit for bit;
- equivalent: not identical (another CPU, other kernels), but inside the committed seeds'
  spread, with everything else equal and the table's conclusions unchanged
  (`tools.equivalence` states the rule);
- different: anything else; and, with `identical` (`--identical`), a run that is not identical
  on the platform it was made on (`own_platform`), where only a change of the code can move it.

One line per run; the full difference of every run that is not identical goes to a report file
the line names, never under the results folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from unittest.mock import patch

import numpy as np

from ftbench.config import Experiment, RunSpec
from ftbench.errors import UserError
from ftbench.report.aggregate import read_csv, row
from ftbench.report.conclusions import Agreement, Build
from ftbench.store import atomic
from ftbench.store.layout import EPOCHS, PREDICTIONS, SUMMARY, run_dir
from ftbench.store.summary import read_summary
from ftbench.tools.equivalence import (
    Judgement,
    bands,
    committed_conclusions,
    judge_rows,
    pooled_ranges,
    swapped_conclusions,
)
from ftbench.train.run import train

TIMES = ("epoch_time_s",)  # measured in the epoch log
IDENTICAL, EQUIVALENT, DIFFERENT = "identical", "equivalent", "different"
SHOWN = 5  # parts of a line before "and N more"
SIDES = ("committed", "retrained")  # the table's runs, and with the retrained run swapped in
HERE = "not identical on the platform it was made on (--identical)"


@dataclass
class Outcome:
    key: str
    verdict: str
    reasons: list[str] = field(default_factory=list)  # why different
    judgement: Judgement = field(default_factory=Judgement)
    # the table's conclusions with the run swapped in, or why they could not be computed
    agreement: Agreement | str | None = None
    report: Path | None = None
    differences: int = 0  # recorded numbers that are not equal

    @property
    def same(self) -> bool:
        return self.verdict != DIFFERENT

    def line(self) -> str:
        if self.verdict == IDENTICAL:
            return f"{self.key}: identical"
        moved = [m.text() for m in self.judgement.moves if m.inside]
        parts = self.reasons + (moved or [f"every metric equal, {self.differences} other "
                                          "recorded numbers differ"])
        more = f"; and {len(parts) - SHOWN} more" if len(parts) > SHOWN else ""
        return (f"{self.key}: {self.verdict}: {'; '.join(parts[:SHOWN])}{more}; report "
                f"{self.report}")


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


def _matrix_cells(name: str, old: list, new: list) -> str | None:
    """A confusion matrix's differing cells, one by one."""
    a, b = np.asarray(old), np.asarray(new)
    if a.shape != b.shape:
        return f"{name}: shape {a.shape} -> {b.shape}"
    cells = [f"[{i}][{j}] {a[i, j]} -> {b[i, j]}" for i, j in zip(*np.nonzero(a != b),
                                                                    strict=True)]
    return f"{name}: {len(cells)} cells differ: {', '.join(cells)}" if cells else None


def compare_values(name: str, old, new) -> str | None:
    """None when equal, else what differs."""
    if isinstance(old, int | float) and isinstance(new, int | float) and not isinstance(
            old, bool):
        if old == new or (math.isnan(old) and math.isnan(new)):
            return None
        return f"{name} {old:.6g} -> {new:.6g} ({new - old:+.2g})"
    if isinstance(old, list) and isinstance(new, list) and old and isinstance(old[0], list):
        return _matrix_cells(name, old, new)
    return None if old == new else f"{name} {old!r} -> {new!r}"


def _recorded(summary: dict) -> dict:
    """The numbers of a summary that a retrained run must reproduce (flattened)."""
    merge = summary.get("merge") or {}
    numbers = {"test": summary.get("test"), "best_epoch": summary.get("best_epoch"),
               "best_val_accuracy": summary.get("best_val_accuracy"),
               "params": summary.get("params"), "train_accuracy": summary.get("train_accuracy"),
               "status": summary.get("status"),
               "merge": {k: merge.get(k) for k in ("same_predictions", "max_prob_diff")
                         if k in merge}}
    memory = summary.get("memory") or {}
    if memory.get("kind") == "cpu_tensors":  # a count, not a measurement
        numbers["memory"] = memory
    return _flat(numbers)


def compare_summaries(old: dict, new: dict) -> list[str]:
    a, b = _recorded(old), _recorded(new)
    return [d for k in sorted(set(a) | set(b)) if (d := compare_values(k, a.get(k), b.get(k)))]


def compare_logs(old: str, new: str) -> list[str]:
    a = [json.loads(line) for line in old.splitlines()]
    b = [json.loads(line) for line in new.splitlines()]
    if len(a) != len(b):
        return [f"epochs.jsonl has {len(b)} epochs, the committed {len(a)}"]
    out = []
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        for k in sorted((set(x) | set(y)) - set(TIMES)):
            if diff := compare_values(f"epoch {i} {k}", x.get(k), y.get(k)):
                out.append(diff)
    return out


def compare_predictions(old: Path, new: Path) -> list[str]:
    with np.load(old) as a, np.load(new) as b:
        arrays = {k: (a[k], b[k] if k in b.files else None) for k in a.files}
    out = []
    for k, (x, y) in arrays.items():
        if y is None or x.shape != y.shape:
            out.append(f"predictions.npz {k}: shape {x.shape} -> "
                       f"{None if y is None else y.shape}")
        elif not np.array_equal(x, y):
            agree = f"; the same on {(x == y).mean():.1%} of the images" if x.ndim == 1 else ""
            out.append(f"predictions.npz {k}: {int((x != y).sum())} entries differ (largest "
                       f"{float(np.abs(x.astype(float) - y.astype(float)).max()):.2g}){agree}")
    return out


def _same_test_images(old: Path, new: Path) -> bool:
    with np.load(old) as a, np.load(new) as b:
        return "y_true" in b.files and np.array_equal(a["y_true"], b["y_true"])


def _epochs(path: Path) -> int:
    return len(path.read_text().splitlines())


def own_platform(old: dict, new: dict) -> bool:
    """Whether a run was retrained where it was made (environments as summaries record them):
    the same CPU model and thread count, the same torch, no CUDA, and the CPU's own kernels
    (ATEN_CPU_CAPABILITY unset). There the tiny profile retrains bit for bit."""
    same = all(old.get(k) == new.get(k) for k in ("device_name", "threads", "torch"))
    return (same and not old.get("cuda") and not new.get("cuda")
            and not os.environ.get("ATEN_CPU_CAPABILITY"))


def inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def refuse_inside(path: Path | None, folder: Path, option: str) -> None:
    """verify only reads the results folder: a scratch or report folder inside it is refused."""
    if path is not None and inside(path, folder):
        raise UserError(f"{option} {path} is inside the results folder {folder}, which verify "
                        f"only reads; give a folder outside it, e.g. {option} /tmp/ftbench-verify")


@dataclass
class Verifier:
    """Retrains runs into `scratch` and judges each against the committed one; the tables'
    rows and conclusions are read once per table."""

    experiments: list[Experiment]
    results: Path
    scratch: Path
    reports: Path
    identical: bool = False  # where a run was made, only an identical one passes
    log: object = print
    _tables: dict = field(default_factory=dict)

    @cached_property
    def pooled(self) -> dict[str, float]:
        rows = [r for e in self.experiments if e.runs
                and (self.results / f"{e.name}.csv").exists()
                for r in read_csv(self.results / f"{e.name}.csv")]
        return pooled_ranges(rows)

    def table(self, name: str) -> tuple[Experiment, list[dict] | None, Build | str]:
        """The table's experiment, committed CSV rows and conclusions, or why they cannot be
        read (an edited summary or CSV, a missing file): then no run of it is equivalent."""
        if name not in self._tables:
            experiment = next(e for e in self.experiments if e.name == name)
            try:
                self._tables[name] = (experiment, read_csv(self.results / f"{name}.csv"),
                                      committed_conclusions(experiment, self.results))
            except UserError as exc:
                self._tables[name] = (experiment, None, f"the committed table: {exc}")
        return self._tables[name]

    def run(self, spec: RunSpec) -> Outcome:
        """Retrain `spec` into the scratch folder (reading the committed upstream weights) and
        judge it."""
        committed = run_dir(self.results, spec)
        old = json.loads((committed / SUMMARY).read_text())
        threads = old.get("env", {}).get("threads")
        folder = self.scratch / spec.key
        shutil.rmtree(folder, ignore_errors=True)
        # the run takes its thread count from FTBENCH_THREADS (train.threads): the committed one's
        with patch.dict(os.environ, {"FTBENCH_THREADS": str(threads)} if threads else {}):
            train(spec, self.results, folder, log=lambda *_: None)
        new = json.loads((folder / SUMMARY).read_text())
        exact = (compare_summaries(old, new)
                 + compare_logs((committed / EPOCHS).read_text(), (folder / EPOCHS).read_text())
                 + compare_predictions(committed / PREDICTIONS, folder / PREDICTIONS))
        outcome = Outcome(spec.key, IDENTICAL) if not exact else self.judge(spec, folder)
        if exact:
            outcome.differences = len(exact)
            outcome.report = self.write_report(spec, folder, outcome, old, new, exact)
        self.log(outcome.line())
        return outcome

    def judge(self, spec: RunSpec, folder: Path) -> Outcome:
        """Equivalent or different: a run that is not identical."""
        committed = run_dir(self.results, spec)
        experiment, rows, conclusions = self.table(spec.table)
        old, new = read_summary(committed / SUMMARY), read_summary(folder / SUMMARY)
        judgement = judge_rows(row(old), row(new), bands(rows, spec.run_id, old.dataset,
                                                         self.pooled) if rows else {})
        reasons = [HERE] if self.identical and own_platform(old.env, new.env) else []
        reasons += [conclusions] if isinstance(conclusions, str) else []
        reasons += [m.text() for m in judgement.moves if not m.inside] + judgement.fixed
        epochs = _epochs(committed / EPOCHS), _epochs(folder / EPOCHS)
        if epochs[0] != epochs[1]:
            reasons.append(f"{epochs[1]} epochs logged, the committed {epochs[0]}")
        if not _same_test_images(committed / PREDICTIONS, folder / PREDICTIONS):
            reasons.append("tested on other images (predictions.npz y_true)")
        outcome = Outcome(spec.key, DIFFERENT if reasons else EQUIVALENT, reasons, judgement)
        if not reasons:  # only then: the table, with this run in place of the committed one
            try:
                outcome.agreement = swapped_conclusions(experiment, self.results, spec, folder,
                                                        self.scratch, conclusions)
            except UserError as exc:
                outcome.agreement = f"the table with it swapped in: {exc}"
            if isinstance(outcome.agreement, str):
                outcome.reasons.append(outcome.agreement)
            elif not outcome.agreement.agree:
                first = next(x for x in outcome.agreement.lines(SIDES)
                             if x.startswith("disagrees"))
                outcome.reasons.append(f"{outcome.agreement.disagreements} conclusions of "
                                       f"{spec.table} change with it: {first}")
            outcome.verdict = DIFFERENT if outcome.reasons else EQUIVALENT
        return outcome

    def write_report(self, spec: RunSpec, folder: Path, outcome: Outcome, old: dict, new: dict,
                     exact: list[str]) -> Path:
        path = self.reports / spec.table / f"{spec.run_id}.txt"
        atomic.write_text(path, report_text(spec, folder, self.results, outcome, old, new,
                                            exact))
        return path


def _platform(summary: dict) -> str:
    env = summary.get("env", {})
    return (f"{env.get('device_name')}, {env.get('threads')} threads, torch {env.get('torch')}"
            f"{', CUDA ' + env['cuda'] if env.get('cuda') else ''}")


def report_text(spec: RunSpec, folder: Path, results: Path, outcome: Outcome, old: dict,
                new: dict, exact: list[str]) -> str:
    """Everything that differs, for a reader of one run's verdict."""
    agreement, j = outcome.agreement, outcome.judgement
    lines = [f"ftbench verify: {spec.key}: {outcome.verdict}", "",
             f"committed: {run_dir(results, spec)} ({_platform(old)})",
             f"retrained: {folder} ({_platform(new)}; ATEN_CPU_CAPABILITY="
             f"{os.environ.get('ATEN_CPU_CAPABILITY', 'unset')})", "",
             "Why different:", *(f"  {r}" for r in outcome.reasons or ["nothing"]), "",
             "Metrics that moved (the band: tools/equivalence.py):",
             *(f"  {m.text()}" + ("" if m.band is None else
                                  f" [band {m.band.low:.4f} to {m.band.high:.4f}]")
               for m in j.moves), *(["  none"] if not j.moves else []),
             "Columns that must not move, moved:", *(f"  {f}" for f in j.fixed or ["none"]),
             "Columns that may move with the run's path, moved:",
             *(f"  {f}" for f in j.free or ["none"]), "",
             f"Conclusions of {spec.table} with this run in place of the committed one:"]
    if isinstance(agreement, Agreement):
        lines += [f"  {line}" for line in agreement.lines(SIDES)] + [
            f"  {agreement.summary()}"]
    else:
        lines.append(f"  {agreement or 'not computed: already different'}")
    lines += ["", f"Every recorded difference ({len(exact)}):", *(f"  {d}" for d in exact)]
    return "\n".join(lines) + "\n"


def verify(specs: list[RunSpec], experiments: list[Experiment], results: Path,
           scratch: Path | None = None, report: Path | None = None, identical: bool = False,
           log=print) -> list[Outcome]:
    """Every run in `specs`, retrained in a scratch folder (a temporary one is removed
    afterwards, but for the reports of runs that are not identical)."""
    refuse_inside(scratch, results, "--scratch")
    refuse_inside(report, results, "--report")
    owned = scratch is None
    scratch = Path(tempfile.mkdtemp(prefix="ftbench-verify-")) if owned else Path(scratch)
    reports = Path(report) if report is not None else scratch / "reports"
    try:
        checker = Verifier(experiments, Path(results), scratch, reports, identical, log)
        return [checker.run(s) for s in specs]
    finally:
        if owned and reports.exists() and report is None:  # keep the reports, not the runs
            for child in scratch.iterdir():
                if child != reports:
                    shutil.rmtree(child, ignore_errors=True)
        elif owned:
            shutil.rmtree(scratch, ignore_errors=True)
