"""Where a run's files live. Kept free of heavy imports, so that collecting and rendering
results does not load torch or timm."""

from __future__ import annotations

from pathlib import Path

SUMMARY = "summary.json"  # written last: a run is finished if and only if it exists
CHECKPOINT = "checkpoint.pt"  # the last finished epoch of an unfinished run


def run_path(results_dir: Path, key: str) -> Path:
    """The folder of the run `<table>/<run-id>`."""
    return Path(results_dir) / "runs" / key


def run_dir(results_dir: Path, spec) -> Path:
    return run_path(results_dir, spec.key)
