"""Every setting in which a profile's runs differ from the `paper` profile's (the write-ups' own
settings, and ours where a write-up is silent), read from the resolved configs of both, so that the
paper states every deviation of the miniature by construction: a config edit that changes one
changes the table.
"""

from __future__ import annotations

from ftbench.config import Experiment
from ftbench.report.sentences import flat

# Not a deviation of the method: where the runs are, what they are called, what they keep
IGNORED = ("seed", "device", "threads", "model.label", "data.label", "data.check_counts",
           "train.save_weights", "train.eval_batch_size", "probe.", "merge_check",
           "save_backbone", "eval_train")
STAND_INS = ("model.name", "model.pretrained", "data.name")  # shown as the stand-ins


def _value(v) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v)) if v else "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _values(e: Experiment) -> dict[str, dict[str, None]]:
    """key -> the values it takes over the table's runs, in order of appearance."""
    out: dict[str, dict[str, None]] = {}
    for r in e.runs:
        for key, v in flat(r.config.to_dict()).items():
            if not key.startswith(IGNORED):
                out.setdefault(key, {})[_value(v)] = None
    return out


def table_deviations(paper: Experiment, profile: Experiment) -> list[dict]:
    """[{key, paper, profile}]: each setting whose values over the table's runs differ between
    the two profiles, the stand-ins (model, weights, data) first."""
    theirs, ours = _values(paper), _values(profile)
    keys = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
    keys.sort(key=lambda k: (k not in STAND_INS, k))
    return [{"key": k, "paper": " / ".join(theirs.get(k, {})) or "--",
             "profile": " / ".join(ours.get(k, {})) or "--"} for k in keys]


def deviations(paper: list[Experiment], profile: list[Experiment]) -> list[dict]:
    """[{table, rows}] for every table the profile runs."""
    by_name = {e.name: e for e in paper}
    return [{"table": e.name, "rows": table_deviations(by_name[e.name], e)}
            for e in profile if e.runs and e.name in by_name and by_name[e.name].runs]
