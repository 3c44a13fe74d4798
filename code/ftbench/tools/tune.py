"""`ftbench tune`: choose a table's setting (a learning rate, say) on validation accuracy.

For each configuration of a table, at the first random seed only, the candidate values of the
experiment's `tune:` block are trained and scored by their best validation accuracy; the test
split plays no part. The chosen value is the best-scoring one or, with a `target`, the smallest
whose score reaches it (tried in ascending order, stopping there). A chosen value must lie
inside its candidates (`edges`): the best at the top or bottom of a grid, or a target already
reached by the smallest value, says the grid was too narrow. The runs go to
`<results>/tuning/<profile>/`, one folder per (run, value), reused
when their identity is unchanged, and the scores to `<results>/tuning/<profile>.csv`, which is
committed with the tiny profile's results. The configs then hold the chosen values, and
tests/tools/test_tune.py checks that they still do.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ftbench.config import Experiment, RunSpec, parse_overrides
from ftbench.config.experiments import tune_override, with_overrides
from ftbench.config.inputs import inputs_of
from ftbench.errors import UserError
from ftbench.report.tuning import COLUMNS, read_scores
from ftbench.store import atomic
from ftbench.store.layout import SUMMARY
from ftbench.store.summary import read_summary
from ftbench.train.run import train


def candidate(spec: RunSpec, key: str, value: float) -> RunSpec:
    """The run with `key` set to `value`, as a one-off with its own identity."""
    return with_overrides(spec, parse_overrides([tune_override(key, value)]),
                          f"{spec.run_id}--{key}={value:g}")


def _score(spec: RunSpec, results: Path, root: Path) -> float:
    """A candidate's best validation accuracy, trained unless its folder holds the same run:
    the same resolved config, started from the same weights. (Not the same identity: a
    candidate's identity includes the planned run's, which changes when the chosen value is
    written into the config; the run it stands for does not.)"""
    folder = root / spec.table / spec.run_id
    summary_path = folder / SUMMARY
    if summary_path.exists():
        done = read_summary(summary_path)
        if done.identity == spec.identity or (done.config == spec.config.to_dict()
                                              and done.inputs == inputs_of(spec, results)):
            return done.best_val_accuracy
    return train(spec, results, folder).best_val_accuracy


def _choose(e: Experiment, spec: RunSpec, results: Path, root: Path) -> tuple[dict, float]:
    """(value -> validation accuracy of every candidate trained, the chosen value)."""
    target = e.tune.target
    scores = {}
    for v in sorted(e.tune.values) if target else e.tune.values:
        scores[v] = _score(candidate(spec, e.tune.key, v), results, root)
        if target and scores[v] >= target:
            return scores, v
    if target:
        raise UserError(f"{spec.key}: no value of {e.tune.key} in {e.tune.values} reaches "
                        f"validation accuracy {target:g} (best {max(scores.values()):.4f}); add "
                        f"larger values to the tune: block of {e.path}")
    return scores, max(scores, key=lambda v: (scores[v], -v))  # ties: the smaller value


def tune_table(e: Experiment, results: Path, root: Path, log=print) -> list[dict]:
    first = min(r.config.seed for r in e.runs)
    rows = []
    tuned = [r for r in e.runs if r.config.seed == first
             and (not e.tune.on_label or e.tune.on_label in r.axes.values())]
    for spec in tuned:
        scores, best = _choose(e, spec, results, root)
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
    kept = [r for r in read_scores(out) if r["table"] not in names]  # read before hours of training
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
