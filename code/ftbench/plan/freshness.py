"""Make's file times, set from content (`refresh`): file times after a clone or a copy say
nothing about which file is older, so a done run's summary is made newer than what its
configuration's rule depends on (Make leaves it), a stale one older (Make re-runs it), and a
table's CSV that equals what its summaries give is made newer than them, one that differs older
(Make aggregates it again); comparisons.csv likewise. Done or stale is `plan.state`'s judgement.
"""

from __future__ import annotations

import os
from pathlib import Path

from ftbench.config import Experiment, RunSpec
from ftbench.errors import UserError
from ftbench.plan.state import configurations, group_prerequisites, state
from ftbench.report import compare
from ftbench.report.aggregate import csv_text
from ftbench.store.layout import SUMMARY, run_dir


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def _set_summary_times(runs: list[RunSpec], results: Path, newest: int,
                       current: dict[str, bool]) -> int:
    """A current run's summary made newer than `newest`, a stale one older than anything;
    records in `current` which runs are current. Returns the files touched."""
    touched = 0
    for r in runs:
        summary = run_dir(results, r) / SUMMARY
        current[r.key] = state(r, results).state in ("done", "diverged")
        if current[r.key] and _mtime(summary) <= newest:
            os.utime(summary)
            touched += 1
        elif not current[r.key] and summary.exists() and _mtime(summary) > 0:
            os.utime(summary, ns=(0, 0))  # older than anything: Make re-runs it
            touched += 1
    return touched


def refresh(experiments: list[Experiment], results: Path) -> int:
    """Set file times from content (see the module's doc). Returns the files touched."""
    touched = 0
    # backbones before the runs that start from them; a summary is compared with its whole
    # configuration's prerequisites (the grouped rule's), read once per configuration
    groups = sorted((g for e in experiments for g in configurations(e)),
                    key=lambda g: max(len(r.depends_on) for r in g))
    current = {}
    for group in groups:
        newest = max(map(_mtime, group_prerequisites(group, results)))
        touched += _set_summary_times(group, results, newest, current)
    for e in experiments:
        csv = Path(results) / f"{e.name}.csv"
        if not e.runs or not csv.exists() or not all(current[r.key] for r in e.runs):
            continue
        newest = max(_mtime(run_dir(results, r) / SUMMARY) for r in e.runs)
        try:
            same = csv.read_text(encoding="utf-8") == csv_text(e, results, deep=False)
        except (UserError, OSError, ValueError):
            same = False  # unreadable, or a summary aggregate refuses: Make will say which
        if same and _mtime(csv) <= newest:
            os.utime(csv)
            touched += 1
        elif not same and _mtime(csv) > 0:
            os.utime(csv, ns=(0, 0))  # edited, or another ftbench wrote it: aggregate again
            touched += 1
        current[e.name] = same
    return touched + _refresh_comparisons(experiments, results, current)


def _refresh_comparisons(experiments: list[Experiment], results: Path, current: dict) -> int:
    """comparisons.csv, made newer than the tables when it is what they give now, older when
    it is not (Make then writes it again). Only read when every table's CSV is current."""
    path = compare.path_of(results)
    tables = [e for e in experiments if e.runs]
    if not path.exists() or not all(current.get(e.name) for e in tables):
        return 0
    try:
        same = path.read_text(encoding="utf-8") == compare.csv_text(
            [compare.load(e, results, deep=False) for e in tables])
    except (UserError, OSError, ValueError):
        same = False
    # its Make prerequisites: the tables' CSVs, their summaries and the report's code
    report_code = Path(compare.__file__).parent
    newest = max(map(_mtime, [*(Path(results) / f"{e.name}.csv" for e in tables),
                              *(run_dir(results, r) / SUMMARY for e in tables for r in e.runs),
                              *report_code.rglob("*.py"), *report_code.rglob("*.j2")]))
    if same and _mtime(path) <= newest:
        os.utime(path)
    elif not same and _mtime(path) > 0:
        os.utime(path, ns=(0, 0))  # Make writes it again
    else:
        return 0  # already ordered right: touching it would make `make -q` see work
    return 1
