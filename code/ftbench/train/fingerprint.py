"""The code a run ran: a fingerprint of the ftbench modules its process imported, recorded in
its summary, and which of those files differ from the package on disk now (`ftbench status`
shows such runs as made by other code). Light: no torch, so that status stays fast."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from ftbench.store.hashing import file_sha256

PACKAGE = Path(__file__).resolve().parents[1]  # code/ftbench
# The command-line shell around a run, not what computes it: editing it changes no number.
SHELL = ("ftbench.__main__", "ftbench.cli")


def _is_shell(module: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in SHELL)


def code_fingerprint() -> dict:
    """{"sha256": ..., "files": {path in the package: sha256}} of every module of the ftbench
    package this process has imported (the code a run ran), without the command-line shell.
    `ftbench status` compares it with the files on disk now."""
    files = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.startswith("ftbench") and path and not _is_shell(name):
            files[Path(path).resolve().relative_to(PACKAGE).as_posix()] = file_sha256(path)
    digest = hashlib.sha256("".join(f"{k} {v}\n" for k, v in sorted(files.items())).encode())
    return {"sha256": digest.hexdigest(), "files": dict(sorted(files.items()))}


def changed_code(recorded: dict | None) -> list[str]:
    """The files of a run's recorded code that differ from (or are missing in) the package on
    disk now; empty when it ran the code that is here."""
    files = (recorded or {}).get("files") or {}
    return [f for f, sha in files.items() if file_sha256(PACKAGE / f) != sha]
