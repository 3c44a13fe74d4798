"""sha256 of a file's bytes: what makes a weights file, a data file or a module part of a
result's identity. Light (no torch), cached by a file's size, time and inode."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, "missing" if it cannot be read. Cached by size and time, so a
    file replaced in a long-lived process is hashed again."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return _sha256(Path(path), st.st_size, st.st_mtime_ns, st.st_ino)


@cache
def _sha256(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    except OSError:
        return "missing"
    return h.hexdigest()


file_sha256.cache_clear = _sha256.cache_clear  # type: ignore[attr-defined]
