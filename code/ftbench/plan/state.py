"""Make's view of a planned run, judged by content rather than by file times: done, stale (and
why), running, diverged or missing; what its rule depends on (its stamp, and the runs it starts
from); and the stamps themselves. Light: no report code, so that a run's own process, which
asks whether it is done, imports none.

A run is done when its summary records the identity the plan gives it now
(`ftbench.config.identity`) and the weights it started from are the ones on disk now
(`ftbench.config.inputs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ftbench.config import Experiment, RunSpec
from ftbench.config.inputs import inputs_of
from ftbench.store import atomic, runlock
from ftbench.store.layout import CHECKPOINT, STAMP, SUMMARY, run_dir, run_path


@dataclass
class RunState:
    state: str  # done | stale | running | diverged | missing
    reason: str = ""


def stamp_text(spec: RunSpec) -> str:
    """What `plan` writes next to a run: its planned identity and every resolved value."""
    return json.dumps({"identity": spec.identity, "config": spec.config.to_dict()}, indent=2,
                      sort_keys=True) + "\n"


def state(spec: RunSpec, results: Path) -> RunState:
    folder = run_dir(results, spec)
    if runlock.is_held(folder):
        return RunState("running")
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RunState("missing")
    except (OSError, ValueError):
        return RunState("stale", "its summary.json is unreadable")
    if not isinstance(summary, dict):
        return RunState("stale", "its summary.json is not a run summary")
    if summary.get("identity") != spec.identity:
        return RunState("stale", "its configuration, or a run it starts from, changed (identity "
                        f"{str(summary.get('identity'))[:16]}, planned {spec.identity})")
    inputs = summary.get("inputs", {})
    if inputs != inputs_of(spec, results):
        changed = [k for k, sha in inputs_of(spec, results).items()
                   if not isinstance(inputs, dict) or inputs.get(k) != sha]
        what = ("the weights file it starts from changed" if changed and all(
            k.startswith("file:") for k in changed) else "the backbone it starts from was "
            "trained again")
        return RunState("stale", what)
    if summary.get("status") == "diverged":
        return RunState("diverged", "its loss became NaN or infinite")
    return RunState("done")


def prerequisites(spec: RunSpec, results: Path) -> list[Path]:
    """What a run's summary depends on: its stamp and the runs it starts from."""
    return [run_dir(results, spec) / STAMP,
            *(run_path(results, k) / SUMMARY for k in spec.depends_on)]


def configurations(e: Experiment) -> list[list[RunSpec]]:
    """The runs of a table grouped by configuration (all axes equal, seeds differ)."""
    groups: dict[tuple, list[RunSpec]] = {}
    for r in e.runs:
        groups.setdefault(tuple(r.axes.items()), []).append(r)
    return list(groups.values())


def group_prerequisites(runs: list[RunSpec], results: Path) -> list[Path]:
    """What a configuration's summaries depend on together: with grouping, one Make rule makes
    them all, and Make re-runs it when any of them is older than any of these."""
    return list(dict.fromkeys(p for r in runs for p in prerequisites(r, results)))


def write_stamps(experiments: list[Experiment], results: Path) -> None:
    """Each run's stamp, rewritten only when its content changes (Make reads its time). A
    checkpoint of the old configuration would not resume anyway; it goes with the change."""
    for r in (r for e in experiments for r in e.runs):
        stamp = run_dir(results, r) / STAMP
        existed = stamp.exists()
        if atomic.write_text_if_changed(stamp, stamp_text(r)) and existed:
            (run_dir(results, r) / CHECKPOINT).unlink(missing_ok=True)
