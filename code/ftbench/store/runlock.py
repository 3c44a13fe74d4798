"""One process per run: a run folder's `run.lock`, held (flock) while a process works on it.

A second process on the same run exits with one line instead of writing over the first one's
files (or sweeping up its half-written ones as if they were stale). The lock file is removed on
release, so a run that stopped with an error leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from ftbench.errors import UserError
from ftbench.store.atomic import FILE_MODE
from ftbench.store.layout import LOCK


def _acquire(path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"another process is working on {path.parent} (it holds "
                            f"{path.name}); wait for it to finish, or stop it") from None
        try:  # the holder before us may have removed the file between our open and flock
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def hold(folder: Path):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    fd = _acquire(path)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still held: no one can take a file on its way out
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def is_held(folder: Path) -> bool:
    """Whether a process holds the run's lock now (without taking it)."""
    try:
        fd = os.open(Path(folder) / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
