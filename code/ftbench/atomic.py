"""Write-then-rename, so an interrupted process never leaves a half-written result behind.

Temporary files are named `.<name>.<random><suffix>` next to their target; a process killed
between writing and renaming leaves one behind, which `remove_stale` sweeps up.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ftbench import faults


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        fd = os.open(tmp, os.O_RDONLY)  # on disk before it takes the name: a crash of the
        try:  # machine, not only of the process, then leaves the old file or the new one
            os.fsync(fd)
        finally:
            os.close(fd)
        faults.point(f"write:{path.name}")  # written but not yet in place
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text_if_changed(path: Path, text: str) -> bool:
    """Leave the file (and its mtime, which Make reads) alone when the content is the same."""
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


def remove_stale(folder: Path) -> int:
    """Delete the temporary files an interrupted writer left in `folder`."""
    stale = [p for p in Path(folder).glob(".*") if p.is_file()] if Path(folder).is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)
