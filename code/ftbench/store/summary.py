"""A finished run's summary: the dataclass `train/run.py` writes last and `aggregate` reads.

Kept free of heavy imports (no torch), so that collecting results stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.errors import UserError


class Invalid(ValueError):
    """A summary that is JSON but not a summary (a field missing or of the wrong type)."""


@dataclass
class Summary:
    table: str
    run_id: str
    axes: dict
    status: str  # ok | diverged
    identity: str  # ftbench.config.identity: the config and the runs it starts from
    config_hash: str
    config: dict  # every resolved value
    inputs: dict  # run key -> sha256 of the weights it started from
    dataset: dict  # name, display, classes, train, val, test
    model: dict  # name, label, method
    params: dict  # trainable, total (each tensor once)
    test: dict  # accuracy, macro_f1, macro_auc, loss, confusion_matrix
    best_epoch: int
    best_val_accuracy: float
    resumed_after: list
    cached_features: bool
    time: dict  # train_s, per_epoch_s, feature_cache_s, wall_s
    memory: dict  # peak_mib (training, without the resident data), kind
    env: dict  # ftbench.train.provenance.environment
    world_size: int
    started: str
    finished: str
    # what the post-run steps add (ftbench.train.run.POST_RUN); absent where a step did not run
    train_accuracy: float | None = None
    merge: dict | None = None
    probe: dict | None = None
    weights: dict | None = None  # saved files (ftbench.models.weights)
    code: dict | None = None  # ftbench.train.fingerprint.code_fingerprint: the code the run ran
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        if not isinstance(data, dict):
            raise Invalid("not a JSON object")
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            required = (f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING)
            if f.name not in data:
                if required:
                    raise Invalid(f"no '{f.name}'")
            elif not _is(data[f.name], hints[f.name]):
                raise Invalid(f"'{f.name}' is not {_name(hints[f.name])}")
        if data["status"] not in ("ok", "diverged"):
            raise Invalid(f"status {data['status']!r} is neither 'ok' nor 'diverged'")
        _check_test(data["test"])
        return cls(**{k: v for k, v in data.items() if k in hints})


def _is(value, tp) -> bool:
    options = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) \
        else (tp,)
    for option in options:
        if option is type(None) and value is None:
            return True
        if option in (int, float) and isinstance(value, int | float) \
                and not isinstance(value, bool) and (option is float or isinstance(value, int)):
            return True
        if option in (str, dict, list, bool) and isinstance(value, option):
            return True
    return False


def _name(tp) -> str:
    return " or ".join(getattr(t, "__name__", str(t)) for t in
                       (typing.get_args(tp) or (tp,))).replace("NoneType", "null")


def _check_test(test: dict) -> None:
    """The test metrics a table shows: numbers, accuracy and macro-F1 within [0, 1]."""
    for key in ("accuracy", "macro_f1", "macro_auc", "loss"):
        if not _is(test.get(key), float):
            raise Invalid(f"'test.{key}' is not a number")
    for key in ("accuracy", "macro_f1"):
        if not 0 <= test[key] <= 1:  # NaN fails too: argmax metrics are never NaN
            raise Invalid(f"'test.{key}' is {test[key]}, not within [0, 1]")
    if not 0 <= test["macro_auc"] <= 1 and not math.isnan(test["macro_auc"]):
        raise Invalid(f"'test.macro_auc' is {test['macro_auc']}, not within [0, 1]")
    matrix = test.get("confusion_matrix")
    if not (isinstance(matrix, list) and all(isinstance(row, list) for row in matrix)
            and all(_is(n, int) for row in matrix for n in row)):
        raise Invalid("'test.confusion_matrix' is not a matrix of counts")


def read_summary(path: Path) -> Summary:
    """A run's summary; a missing, corrupt or incomplete one is a one-line error."""
    path = Path(path)
    try:
        return Summary.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UserError(f"run summary {path} is missing; run it first (make all)") from None
    except IsADirectoryError:
        raise UserError(f"run summary {path} is a folder; delete it and re-run the run") from None
    except Invalid as exc:
        raise UserError(f"run summary {path} is corrupt ({exc}); delete its folder and "
                        "re-run") from None
    except (ValueError, TypeError, RecursionError):  # not JSON, not UTF-8
        raise UserError(f"run summary {path} is corrupt (not JSON); delete its folder and "
                        "re-run") from None
