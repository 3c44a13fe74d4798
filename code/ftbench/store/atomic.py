"""Write-then-rename, so an interrupted process never leaves a half-written result behind.

Temporary files are named `.<name>.<random><suffix>` next to their target. A process killed
between writing and renaming leaves one behind: a run sweeps its folder when it starts again
(`remove_stale`, under the run's lock), and every other write sweeps the leftovers of earlier
writers of the same target that have not been touched for `STALE_S` (a live writer keeps its
file's time fresh, so another process's file is never taken for a leftover).

A write that fails for want of space, or on a read-only or forbidden folder, is a `UserError`
naming the file and the fix, wherever it happens (a CSV, a checkpoint, a figure).
"""

from __future__ import annotations

import errno
import glob
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ftbench import faults
from ftbench.errors import UserError


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; a result must be as readable as any
# file the user creates (0644 under umask 022), or a container's uid writes files that the
# host, and colleagues on a shared cluster, cannot read.
FILE_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()
STALE_S = 600  # a temporary file untouched this long belongs to a writer that was killed

FULL = "free some space there (or choose another folder), then run the command again"
# Writers outside Python's own file objects report a full disk in words, not as an OSError:
# torch.save ("PytorchStreamWriter failed writing file ...", "... iostream error"), safetensors
# ("IoError(Os { code: 28, kind: StorageFull ... })").
WRITE_FAILED = ("iostream error", "failed writing file", "file write failed", "unexpected pos",
                "no space left", "storagefull", "ioerror")


def fix_for(exc: OSError) -> str:
    """What to do about an OSError, in words."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return FULL
    if exc.errno == errno.EROFS:
        return "the file system is read-only: choose another folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "fix its permissions or choose another folder"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file stands where a folder should be: move it or choose another folder"
    return "check the folder, or choose another one, then run the command again"


def write_error(path: Path, exc: BaseException) -> UserError | None:
    """The one-line error for a failed write of `path`, or None if `exc` is not one."""
    if isinstance(exc, OSError):
        return UserError(f"cannot write {path} ({exc.strerror or exc}); {fix_for(exc)}")
    text = str(exc).lower()
    if isinstance(exc, RuntimeError | ValueError) or type(exc).__name__ == "SafetensorError":
        if any(words in text for words in WRITE_FAILED):
            return UserError(f"cannot write {path} (the write failed: out of space?); {FULL}")
    return None


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)  # writers may replace the file (safetensors does)
        fd = os.open(tmp, os.O_RDONLY)  # on disk before it takes the name: a crash of the
        try:  # machine, not only of the process, then leaves the old file or the new one
            os.fsync(fd)
        finally:
            os.close(fd)
        faults.point(f"write:{path.name}")  # written but not yet in place
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        error = write_error(path, exc) if isinstance(exc, Exception) else None
        if error is None:
            raise
        raise error from exc
    _sweep(path)


def _sweep(path: Path) -> None:
    """Delete the leftovers of killed writers of `path` (never a live writer's file)."""
    pattern = f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"
    remove_stale(path.parent, pattern, older_than=STALE_S)


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text_if_changed(path: Path, text: str) -> bool:
    """Leave the file (and its mtime, which Make reads) alone when the content is the same."""
    path = Path(path)
    try:
        same = path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):  # absent, or not what we would write anyway
        same = False
    if same:
        return False
    write_text(path, text)
    return True


def remove_stale(folder: Path, pattern: str = ".*", older_than: float = 0) -> int:
    """Delete the temporary files an interrupted writer left in `folder`: every dot file
    matching `pattern` (older than `older_than` seconds, where given)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for p in folder.glob(pattern):
        try:
            if p.is_file() and (not older_than or now - p.stat().st_mtime > older_than):
                p.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to delete: not this write's business
            pass
    return removed
