"""Every number a table takes from a run, checked against the run's own evidence before the
table is written: the summary's config is the planned resolved config; its test metrics are
what `predictions.npz` gives (accuracy, macro-F1, macro-AUC and the confusion matrix exactly,
the loss to rounding); its epoch log has as many epochs as the config trains, of a sane size,
and its best epoch and validation accuracy are the log's. A mismatch is one line naming the
file: an edited summary, a swapped predictions file or an invented epoch never reaches the
paper. (`ftbench.report.results` checks, besides, that the probabilities give the predictions.)
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np

from ftbench.errors import UserError
from ftbench.store.layout import EPOCHS, PREDICTIONS, SUMMARY
from ftbench.train.metrics import classification_metrics

MAX_LOG_BYTES = 1 << 20  # an epoch is ~200 bytes: a megabyte is thousands of epochs
FIX = "delete the run's folder and re-run it (make all)"


def check_config(summary, spec, folder: Path) -> None:
    if summary.config != spec.config.to_dict():
        planned = _flat(spec.config.to_dict())
        recorded = _flat(summary.config)
        key = next(k for k in sorted(set(planned) | set(recorded))
                   if planned.get(k) != recorded.get(k))
        raise UserError(f"{folder / SUMMARY}: its config says {key} = {recorded.get(key)!r}, "
                        f"the planned run {planned.get(key)!r}; {FIX}")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def _predictions(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path = folder / PREDICTIONS
    try:
        with np.load(path) as z:
            return z["y_true"], z["y_pred"], z["probs"]
    except FileNotFoundError:
        raise UserError(f"{path} is missing; {FIX}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise UserError(f"{path} is corrupt; {FIX}") from None


# Below this a float32 probability has lost its precision (subnormal) or is zero: its log is
# not the log of the softmax the loss was computed from.
UNDERFLOW = 1e-30


def check_metrics(summary, folder: Path) -> None:
    """The summary's test metrics are what its predictions give."""
    y_true, y_pred, probs = _predictions(folder)
    classes = summary.dataset["classes"]
    if probs.ndim != 2 or probs.shape != (len(y_true), classes) or len(y_pred) != len(y_true):
        raise UserError(f"{folder / PREDICTIONS} holds arrays of shapes {y_true.shape}, "
                        f"{y_pred.shape}, {probs.shape}, not {len(y_true)} test images of "
                        f"{classes} classes; {FIX}")
    if not np.array_equal(probs.argmax(1), y_pred):
        raise UserError(f"{folder / PREDICTIONS}: the argmax of its probabilities is not its "
                        f"y_pred; {FIX}")
    got = classification_metrics(y_true.astype(np.int64), probs.astype(np.float32), classes)
    p_true = probs[np.arange(len(y_true)), y_true].astype(np.float64)
    for key in ("accuracy", "macro_f1", "macro_auc", "confusion_matrix"):
        want, have = summary.test.get(key), got[key]
        same = want == have or (isinstance(want, float) and math.isnan(want)
                                and math.isnan(have))
        if not same:
            shown = "" if key == "confusion_matrix" else f" {want!r}, its predictions {have!r}"
            raise UserError(f"{folder / SUMMARY}: test.{key} is not what predictions.npz gives"
                            f"{shown}; {FIX}")
    _check_loss(summary.test["loss"], p_true, folder)


def _check_loss(recorded: float, p_true: np.ndarray, folder: Path) -> None:
    """The test loss from the true classes' probabilities. Where a float32 probability has
    underflowed (a confidently wrong image of a barely trained run), its log is lost: only a
    lower bound on the loss is known, and that is what is checked."""
    exact = p_true >= UNDERFLOW
    terms = np.where(exact, -np.log(np.where(exact, p_true, 1.0)), -np.log(UNDERFLOW))
    loss = float(terms.mean())
    tolerance = 1e-3 * max(1.0, abs(loss))
    wrong = recorded < loss - tolerance if not exact.all() else abs(loss - recorded) > tolerance
    if wrong:
        relation = ("is not what predictions.npz gives" if exact.all()
                    else "is below the least that predictions.npz allows")
        raise UserError(f"{folder / SUMMARY}: test.loss {recorded:.6g} {relation} "
                        f"({loss:.6g}); {FIX}")


def check_log(summary, folder: Path) -> None:
    """As many epochs as the config trains (fewer if it diverged), and the best epoch and its
    validation accuracy are the log's."""
    path = folder / EPOCHS
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            raise UserError(f"{path} is {path.stat().st_size:,} bytes, far more than any epoch "
                            f"log; {FIX}")
        log = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        raise UserError(f"{path} is missing; {FIX}") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UserError(f"{path} is corrupt; {FIX}") from None
    epochs = summary.config["train"]["epochs"]
    count_ok = len(log) == epochs or (summary.status == "diverged" and len(log) <= epochs)
    if not count_ok or [e.get("epoch") for e in log] != list(range(1, len(log) + 1)):
        raise UserError(f"{path} holds {len(log)} epochs, numbered "
                        f"{[e.get('epoch') for e in log][:5]}..., the config trains {epochs}; "
                        f"{FIX}")
    if log and summary.status == "ok":
        accs = [e.get("val_accuracy") for e in log]
        best = max(range(len(accs)), key=lambda i: (accs[i], -i))
        if (best + 1, accs[best]) != (summary.best_epoch, summary.best_val_accuracy):
            raise UserError(f"{folder / SUMMARY}: best epoch {summary.best_epoch} (validation "
                            f"accuracy {summary.best_val_accuracy}) is not the log's (epoch "
                            f"{best + 1}, {accs[best]}); {FIX}")


def check_run(summary, spec, folder: Path) -> None:
    check_config(summary, spec, folder)
    check_log(summary, folder)
    check_metrics(summary, folder)
