"""The record of `make tune` (`results/tuning/<profile>.csv`): read for the paper and for the
next tuning, and checked: every chosen value must lie inside the values tried."""

from __future__ import annotations

import csv
from pathlib import Path

from ftbench.config import Experiment, RunConfig
from ftbench.config.typed import lowest
from ftbench.errors import UserError

COLUMNS = ["table", "run_id", "key", "value", "best_val_accuracy", "chosen"]


def edges(rows: list[dict], experiments: list[Experiment]) -> list[str]:
    """The tuned runs ('table/run') whose chosen value does not lie inside what was tried: the
    smallest value, or (choosing the best) the largest. A target rule stops at the first value
    that reaches it, so its choice is the largest tried; the smallest must have missed it,
    unless it is the smallest value the field may take (one epoch): nothing lies below it."""
    tune = {e.name: e.tune for e in experiments}
    out = []
    for key in dict.fromkeys((r["table"], r["run_id"]) for r in rows):
        tried = sorted(float(r["value"]) for r in rows if (r["table"], r["run_id"]) == key)
        chosen = next(float(r["value"]) for r in rows
                      if (r["table"], r["run_id"]) == key and r["chosen"] == "True")
        t = tune.get(key[0])
        if t and t.target:  # the target reached at the smallest value a run may take is inside
            floor = lowest(RunConfig, t.key)
            low_edge = chosen == tried[0] and chosen != floor
        else:
            low_edge = chosen == tried[0] or chosen == tried[-1]
        if low_edge:
            out.append("/".join(key))
    return out


def read_scores(path: Path) -> list[dict]:
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
