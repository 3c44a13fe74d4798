"""`ftbench tune`: choose a table's setting (a learning rate, say) on validation accuracy.

For each configuration of a table, at the first random seed only, every candidate value of the
experiment's `tune:` block is trained and scored by its best validation accuracy; the test split
plays no part. The runs go to `<results>/tuning/<profile>/`, one folder per (run, value), reused
when their identity is unchanged, and the scores to `<results>/tuning/<profile>.csv`, which is
committed with the tiny profile's results. The configs then hold the chosen values, and
tests/test_tuning.py checks that they still do.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ftbench import atomic
from ftbench.config import Experiment, RunSpec, parse_overrides
from ftbench.config.experiments import with_overrides
from ftbench.errors import UserError

COLUMNS = ["table", "run_id", "key", "value", "best_val_accuracy", "chosen"]


def candidate(spec: RunSpec, key: str, value: float) -> RunSpec:
    """The run with `key` set to `value`, as a one-off with its own identity."""
    return with_overrides(spec, parse_overrides([f"{key}={json.dumps(value)}"]),
                          f"{spec.run_id}--{key}={value:g}")


def _score(spec: RunSpec, results: Path, root: Path) -> float:
    from ftbench.run import train
    from ftbench.summary import read_summary

    folder = root / spec.table / spec.run_id
    summary_path = folder / "summary.json"
    if summary_path.exists() and read_summary(summary_path).identity == spec.identity:
        return read_summary(summary_path).best_val_accuracy
    return train(spec, results, folder).best_val_accuracy


def tune_table(e: Experiment, results: Path, root: Path, log=print) -> list[dict]:
    first = min(r.config.seed for r in e.runs)
    rows = []
    tuned = [r for r in e.runs if r.config.seed == first
             and (not e.tune.on_label or e.tune.on_label in r.axes.values())]
    for spec in tuned:
        scores = {v: _score(candidate(spec, e.tune.key, v), results, root) for v in e.tune.values}
        best = max(scores, key=lambda v: (scores[v], -v))  # ties: the smaller value
        for v, acc in scores.items():
            rows.append({"table": e.name, "run_id": spec.run_id, "key": e.tune.key, "value": v,
                         "best_val_accuracy": acc, "chosen": v == best})
        log(f"ftbench tune: {spec.key}: {e.tune.key} = {best:g} "
            f"(validation accuracy {scores[best]:.4f})")
    return rows


def tune(experiments: list[Experiment], results: Path, profile: str,
         named: bool = False) -> Path:
    """Tune the given tables (`named`: the user named them, so each must have a `tune:`
    block); the CSV keeps the rows of the tables not tuned this time."""
    root = Path(results).parent / "tuning" / profile
    out = Path(results).parent / "tuning" / f"{profile}.csv"
    tuned = _tunable(experiments, profile, named)
    names = {e.name for e in tuned}
    kept = [r for r in _read(out) if r["table"] not in names]  # read before hours of training
    rows = kept + [row for e in tuned for row in tune_table(e, Path(results), root)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["table"]))
    atomic.write_text(out, buf.getvalue())
    return out


def _tunable(experiments: list[Experiment], profile: str, named: bool) -> list[Experiment]:
    """The tables with a `tune:` block; a named table without one, or no such table at all,
    is an error rather than a CSV with nothing in it."""
    without = [e for e in experiments if e.runs and not e.tune.key]
    if named and without:
        e = without[0]
        raise UserError(f"table {e.name} has no tune: block, so there is nothing to tune; add "
                        f"one to {e.path} (e.g. tune: {{key: train.lr, values: [1.0e-3, "
                        "3.0e-3]}) or name a table that has one")
    tuned = [e for e in experiments if e.runs and e.tune.key]
    if not tuned:
        raise UserError(f"no table of the {profile} profile has a tune: block, so there is "
                        "nothing to tune; add one to a table's config (e.g. tune: {key: "
                        "train.lr, values: [1.0e-3, 3.0e-3]})")
    return tuned


def _read(path: Path) -> list[dict]:
    """The scores of earlier tunings; a CSV that cannot be kept is a one-line error naming
    `make tune`, which writes the file (aggregate's reader would name make all)."""
    fix = "delete it and run make tune to write it again"
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows, header = list(reader), reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}); {fix}") from None
    if not header or any(None in r or None in r.values() for r in rows):
        raise UserError(f"{path} is empty or cut off (a row has the wrong number of fields); "
                        f"{fix}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UserError(f"{path} lacks the column '{missing[0]}'; {fix}")
    return rows
