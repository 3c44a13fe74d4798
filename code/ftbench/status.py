"""`ftbench status`: every planned run of a profile as done, stale (and why), running, diverged
or missing, with counts per table; judged by content (ftbench.freshness), as Make judges it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ftbench.config import Experiment
from ftbench.freshness import state

STATES = ("done", "stale", "running", "diverged", "missing")


def _counts(counter: Counter) -> str:
    return ", ".join(f"{counter[s]} {s}" for s in STATES if counter[s]) or "no runs"


def status_report(experiments: list[Experiment], results: Path) -> str:
    total: Counter = Counter()
    lines = []
    for e in experiments:
        if not e.runs:
            continue
        counter: Counter = Counter()
        details = []
        for r in e.runs:
            st = state(r, results)
            counter[st.state] += 1
            if st.state != "done":
                details.append(f"    {st.state:8s} {r.key}" + (f": {st.reason}" if st.reason
                                                               else ""))
        total += counter
        lines += [f"  {e.name} ({len(e.runs)} runs): {_counts(counter)}", *details]
    head = f"{results}: {sum(total.values())} planned runs: {_counts(total)}"
    return "\n".join([head, *lines])
