"""Where a run's files live. Kept free of heavy imports, so that collecting and rendering
results does not load torch or timm.

    <results>/<profile>/runs/<table>/<run-id>/      a planned run
        config.json        the planned identity and full config (written by `plan`)
        summary.json       written last: a run is finished if and only if it exists
        epochs.jsonl       per-epoch log
        predictions.npz    test labels, predictions and class probabilities
        weights/           what the run trained (ftbench.models.weights), and its card
        backbone.safetensors   a pretraining run's backbone, for the runs above it
        checkpoint.pt      the last finished epoch of an unfinished run
        run.lock           held while a process works on the run
    <results>/<profile>/oneoff/<table>/<run-id>--<identity>/   a run with extra overrides
"""

from __future__ import annotations

from pathlib import Path

from ftbench.errors import UserError

SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.pt"
STAMP = "config.json"
PREDICTIONS = "predictions.npz"
EPOCHS = "epochs.jsonl"
WEIGHTS = "weights"
LOCK = "run.lock"  # no leading dot: atomic.remove_stale sweeps dot files
BACKBONE = "backbone.safetensors"  # what a pretraining run keeps for the runs above it
CARD = "README.md"  # in weights/: the model card (ftbench.models.card)


def run_path(results_dir: Path, key: str) -> Path:
    """The folder of the planned run `<table>/<run-id>`."""
    return Path(results_dir) / "runs" / key


def run_dir(results_dir: Path, spec) -> Path:
    return run_path(results_dir, spec.key)


def check_own_folder(folder: Path, results_dir: Path) -> None:
    """A planned run writes only into a real folder of its own inside the results tree: a link
    in its place (or above it) would make it overwrite another run's files."""
    root = Path(results_dir)
    path = Path(folder)
    for part in [path, *path.parents]:
        if part == root or part in root.parents:
            break
        if part.is_symlink():
            raise UserError(f"{part} is a link (to {part.readlink()}), not the run's own folder: "
                            "a run must not write over another's files; delete the link and "
                            "run again")
    if not path.resolve().is_relative_to(root.resolve()):
        raise UserError(f"{path} lies outside the results folder {root}; delete whatever put it "
                        "there and run again")


def oneoff_dir(results_dir: Path, spec) -> Path:
    """A run made with overrides the plan does not have: apart, so it never stands in for the
    planned run; named by its identity, so two different one-offs never share a folder."""
    return Path(results_dir) / "oneoff" / spec.table / f"{spec.run_id}--{spec.identity}"
