"""One writer per results tree.

A `make` that may write under results/<profile>/ holds the tree's lock (a file in the temporary
folder) for its whole life: a helper process forked here keeps the lock and lets go when that
make ends, so a second `make` on the same tree stops at once with one line naming the first (two
makes would otherwise train the same runs side by side and fail each other's recipes). The
holder's recipes, and a make it starts itself, write as its part (FTBENCH_TREE_HOLDER). An
`ftbench run` outside make takes the same lock shared: it and a make exclude each other, while
several direct runs may go on side by side, each guarded by its own run lock
(ftbench.store.runlock).

Standard library only, and Python 3.8's: make runs this file as a script with the system's
python3, before the virtual environment exists.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HOLDER_ENV = "FTBENCH_TREE_HOLDER"  # the holding make's pid, exported to its recipes
_held: list[int] = []  # this process's shared lock, kept open until it exits


def lock_path(tree: Path) -> Path:
    """In the temporary folder, named after the tree's real path: taking the lock writes nothing
    under results/ (a refused command writes nothing), and `make clean-results`, which deletes
    the profile's folder, cannot delete the lock its make holds."""
    digest = hashlib.sha256(os.path.realpath(tree).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ftbench-{os.getuid()}-{digest}.lock"


def _holder(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _describe(path: Path) -> str:
    info = _holder(path)
    if not info:
        return "another process"
    return f"{info.get('what', 'a process')} (pid {info.get('pid')}, since {info.get('since')})"


def _take(path: Path, mode: int) -> int | None:
    """The lock's file descriptor, locked, or None when a live process holds it. A holder whose
    make has just ended lets go within a moment (its watcher polls): wait for that one only."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if _alive(_holder(path).get("pid")) or time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def _record(fd: int, what: str, pid: int) -> None:
    since = datetime.now(timezone.utc)  # noqa: UP017 (python3 may predate datetime.UTC)
    since = since.isoformat(timespec="seconds")
    data = json.dumps({"what": what, "pid": pid, "since": since}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _busy(path: Path, tree: Path) -> str:
    return (f"{tree} is being written by {_describe(path)}; wait for it to "
            f"end (or stop it), then run this again")


def hold_for_make(tree: Path, make_pid: int) -> str:
    """'ok' once make `make_pid` holds the tree (a watcher keeps the lock until that make
    ends), or the one line that says who holds it."""
    path = lock_path(tree)
    held_by = str(_holder(path).get("pid")) if path.exists() else None
    if held_by in (str(make_pid), os.environ.get(HOLDER_ENV)) and _alive(held_by):
        return "ok"  # make restarted itself after planning, or a make its own recipe started
    fd = _take(path, fcntl.LOCK_EX)
    if fd is None:
        return _busy(path, tree)
    _record(fd, "make", make_pid)
    if os.fork():
        os.close(fd)  # the watcher below holds the lock now (the same open file)
        return "ok"
    _watch(make_pid)
    return "ok"


def _watch(pid: int) -> None:
    """The watcher: detached from make's $(shell) pipe, it lives as long as make does."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    while _alive(pid):
        time.sleep(0.1)
    os._exit(0)


def hold_for_run(tree: Path) -> str | None:
    """An `ftbench run`: None when it may write (a make's recipe, or no make holds the tree;
    then this process shares the lock until it exits), else the line that names the make."""
    path = lock_path(tree)
    holder = os.environ.get(HOLDER_ENV)
    if holder and str(_holder(path).get("pid")) == holder:
        return None
    fd = _take(path, fcntl.LOCK_SH)
    if fd is None:
        return _busy(path, tree)
    _record(fd, "ftbench run", os.getpid())  # what a make that finds it held will name
    _held.append(fd)
    return None


def main(tree: Path, make_pid: int) -> str:
    """What make reads: 'ok <pid of the make that holds the tree>' (its recipes write as that
    make's part: a make started by another make's recipe, as `clean-results` starts `all`, holds
    nothing of its own), or the one line that names the holder."""
    line = hold_for_make(tree, make_pid)
    return f"ok {_holder(lock_path(tree)).get('pid')}" if line == "ok" else line


if __name__ == "__main__":  # make: python3 treelock.py RESULTS/PROFILE MAKE_PID
    print(main(Path(sys.argv[1]), int(sys.argv[2])))
