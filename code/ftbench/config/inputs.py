"""What a run depends on besides its configuration: the weight files it starts from.

A run's identity (`config.identity`) covers every resolved setting and the runs it starts from;
the bytes of a weights file named by path are not in the config, so their sha256 is recorded in
the run's summary (`inputs`) and compared when the plan judges it (`plan.state`).
"""

from __future__ import annotations

from pathlib import Path

from ftbench.config.experiments import RunSpec
from ftbench.store.hashing import file_sha256
from ftbench.store.layout import BACKBONE, run_path


def weight_files(spec: RunSpec, results: Path) -> dict[str, Path]:
    """The local weight files a run starts from, by key: a run it starts from by its run key,
    a file named in its config (`file:` or `model.pretrained_file`) as `file:<path>`."""
    files = {k: run_path(results, k) / BACKBONE for k in spec.depends_on}
    model = spec.config.model
    named = model.pretrained[5:] if model.pretrained.startswith("file:") else model.pretrained_file
    if named:
        path = Path(named).expanduser().absolute()
        files[f"file:{path}"] = path
    return files


def input_path(key: str, results: Path) -> Path:
    """The file behind a key of a summary's `inputs` (see weight_files)."""
    return Path(key[5:]) if key.startswith("file:") else run_path(results, key) / BACKBONE


def inputs_of(spec: RunSpec, results: Path) -> dict[str, str]:
    """The weights a run starts from besides its config: key -> sha256 (see weight_files)."""
    return {k: file_sha256(path) for k, path in weight_files(spec, results).items()}
