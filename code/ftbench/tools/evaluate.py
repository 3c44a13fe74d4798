"""`ftbench eval`: finished runs re-evaluated from what they saved, as a reader would check them.

The model is rebuilt from the run's recorded config and its saved weights (ftbench.models.
weights), the test split is rebuilt from the same data and split seed, and the one inference
loop scores it. On the CPU, with the same thread count, the numbers equal the summary's. Many
runs (a table, or every run) are evaluated in one process, one CSV row each, as timm's
`validate.py` writes its results.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import torch
from timm.data import resolve_data_config

from ftbench.config import RunConfig, from_dict
from ftbench.config.inputs import input_path
from ftbench.data.pipeline import Batches, DeviceTransform
from ftbench.data.splits import load_splits
from ftbench.errors import UserError
from ftbench.models import weights
from ftbench.models.methods import fuse_split_qkv
from ftbench.store.hashing import file_sha256
from ftbench.store.layout import SUMMARY, WEIGHTS
from ftbench.store.summary import read_summary
from ftbench.train import engine
from ftbench.train.metrics import classification_metrics

DEFAULT_THREADS = torch.get_num_threads()  # for a summary that records none: not the last run's


def _config(summary):
    return from_dict(RunConfig, summary.config, str(summary.table + "/" + summary.run_id))


def _check_inputs(summary, results: Path) -> None:
    """The weights on disk must be the ones the run started from."""
    for key, sha in summary.inputs.items():
        if file_sha256(input_path(key, results)) != sha:
            what = key[5:] if key.startswith("file:") else f"the backbone of {key}"
            raise UserError(f"{what} is not the one this run started from (sha256 {sha[:12]}"
                            "...); rebuild with make all, then evaluate")


def evaluate_run(folder: Path, results: Path, merged: bool = False) -> dict:
    summary = read_summary(Path(folder) / SUMMARY)
    cfg = _config(summary)
    _check_inputs(summary, results)
    # the thread count the run had: float sums, and so the last digits, depend on it
    threads = cfg.threads or summary.env.get("threads")
    torch.set_num_threads(int(threads) if threads else DEFAULT_THREADS)
    device = engine.resolve_device(cfg.device)
    # as the run did (ftbench.train.run.setup): weights it did not save (a randomly initialised
    # frozen backbone) are drawn again from the same seed, in the same order
    engine.seed_everything(cfg.seed)
    data = load_splits(cfg.data)
    model = weights.load(cfg, data.num_classes, results, folder)
    mean_std = resolve_data_config({}, model=_plain(model))
    if merged:
        model = _merge(model, cfg)
    transform = DeviceTransform(cfg.data.image_size, cfg.data.channels, mean_std["mean"],
                                mean_std["std"], tuple(cfg.data.augment))
    test = Batches(data.test, cfg.train.eval_batch_size, transform, device, train=False)
    y, probs, loss = engine.evaluate(model.to(device), test, engine.make_autocast(
        device, cfg.train.precision), "test")
    metrics = classification_metrics(y, probs, data.num_classes) | {"loss": loss}
    metrics.pop("confusion_matrix")
    recorded = {k: summary.test[k] for k in metrics}
    return {"run": f"{summary.table}/{summary.run_id}", "folder": str(folder), "merged": merged,
            "metrics": metrics, "summary": recorded,
            "equal": all(metrics[k] == recorded[k] for k in metrics)}


def _plain(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _merge(model, cfg):
    if cfg.method.name != "lora":
        raise UserError(f"--merged needs a LoRA run (this one is {cfg.method.name})")

    merged = model.merge_and_unload()
    fuse_split_qkv(merged)
    return merged


def report(result: dict, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2, sort_keys=True)
    lines = [f"{result['run']}{' (LoRA merged)' if result['merged'] else ''}: test split "
             f"re-evaluated from {result['folder']}/weights"]
    for k, v in result["metrics"].items():
        same = "equal" if v == result["summary"][k] else f"summary {result['summary'][k]:.6f}"
        lines.append(f"  {k:10s} {v:.6f}  ({same})")
    return "\n".join(lines)


def mismatch(result: dict) -> str:
    """One line: which re-evaluated metrics differ from the summary's, and what to suspect."""
    if result.get("error"):
        return f"{result['run']}: {result['error']}"
    names = [k for k, v in result["metrics"].items() if v != result["summary"][k]]
    return (f"{result['run']}: the re-evaluated test metrics differ from the summary's "
            f"({', '.join(names)}); its weights or data changed, or the device, thread count "
            "or library versions are not the run's")


CSV_COLUMNS = ["run", "merged", "accuracy", "macro_f1", "macro_auc", "loss", "equal", "folder",
               "error"]


def keeps_weights(folder: Path) -> bool:
    """Whether a finished run kept weights to evaluate (`train.save_weights` was not none)."""
    return (Path(folder) / WEIGHTS).is_dir()


def evaluate_runs(folders: list[Path], results: Path, merged: bool = False,
                  log=print, keep_going: bool = True) -> list[dict]:
    """Each run's re-evaluation, in one process, in order; a progress line each. `keep_going`:
    a run that cannot be evaluated is a row saying why (else its one-line error stops all)."""
    out = []
    for i, folder in enumerate(folders, 1):
        try:
            out.append(evaluate_run(folder, results, merged))
        except UserError as exc:
            if not keep_going:
                raise
            out.append({"run": str(folder), "folder": str(folder), "merged": merged,
                        "metrics": {}, "summary": {}, "equal": False, "error": str(exc)})
            log(f"[{i}/{len(folders)}] {folder}: {exc}")
            continue
        state = "equal" if out[-1]["equal"] else "DIFFERS"
        log(f"[{i}/{len(folders)}] {out[-1]['run']}: accuracy "
            f"{out[-1]['metrics']['accuracy']:.4f} ({state})")
    return out


def csv_text(outcomes: list[dict]) -> str:
    """One row per run: the re-evaluated metrics and whether all equal the summary's."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in outcomes:
        writer.writerow({"run": r["run"], "merged": r["merged"], "equal": r["equal"],
                         "folder": r["folder"], "error": r.get("error", ""),
                         **{k: repr(v) for k, v in r["metrics"].items()}})
    return buf.getvalue()
