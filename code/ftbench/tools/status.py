"""`ftbench status`: every planned run of a profile as done, stale (and why), running, diverged
or missing, with counts per table; judged by content (ftbench.plan.state), as Make judges it.

A finished run made by other code (a file of the package it ran has changed since) is shown as
`other code`, with the files that differ. Make keeps it: a change of code does not make a result
stale by itself (a refactor would otherwise retrain everything); `make verify` retrains a sample
of runs with the code that is here and fails when any number differs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ftbench.config import Experiment, find_run
from ftbench.errors import UserError
from ftbench.plan.state import RunState, state
from ftbench.store.layout import SUMMARY, run_dir
from ftbench.train.fingerprint import changed_code

STATES = ("done", "other code", "stale", "running", "diverged", "missing")


def _counts(counter: Counter) -> str:
    return ", ".join(f"{counter[s]} {s}" for s in STATES if counter[s]) or "no runs"


def _with_code(st: RunState, spec, results: Path) -> RunState:
    """A done run whose recorded code differs from the package here: `other code`."""
    if st.state != "done":
        return st
    try:
        code = json.loads((run_dir(results, spec) / SUMMARY).read_text()).get("code")
    except (OSError, ValueError):
        return st
    changed = changed_code(code) if isinstance(code, dict) else ["(no record of its code)"]
    if not changed:
        return st
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return RunState("other code", f"made by other code: {', '.join(changed[:3])}{more} "
                                  "changed since")


def status_report(experiments: list[Experiment], results: Path) -> str:
    total: Counter = Counter()
    lines = []
    for e in experiments:
        if not e.runs:
            continue
        counter: Counter = Counter()
        details = []
        for r in e.runs:
            st = _with_code(state(r, results), r, results)
            counter[st.state] += 1
            if st.state != "done":
                details.append(f"    {st.state:8s} {r.key}" + (f": {st.reason}" if st.reason
                                                               else ""))
        total += counter
        lines += [f"  {e.name} ({len(e.runs)} runs): {_counts(counter)}", *details]
    head = f"{results}: {sum(total.values())} planned runs: {_counts(total)}"
    return "\n".join([head, *lines])


def check_trained(experiments: list[Experiment], results: Path, keys: list[str],
                  launcher: str = "") -> None:
    """After a launched step returned: every run it was to train is finished and current, or
    one line says that the launcher returned without training (a queueing command such as
    sbatch returns at once; srun runs the step and waits)."""
    for key in keys:
        st = state(find_run(experiments, key), results)
        if st.state not in ("done", "diverged"):
            via = f"the launcher '{launcher}'" if launcher else "the launcher"
            raise UserError(f"{key} is {st.state} after {via} returned: it returned without "
                            "training the run (sbatch queues a job and returns at once); launch "
                            "steps that run and wait, e.g. LAUNCH='srun ...', or run make itself "
                            "inside sbatch")
