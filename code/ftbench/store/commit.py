"""Which commit of this repository made the results: recorded in every run, and in the paper
beside the commits its runs came from."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git_commit(root: Path | None = None) -> tuple[str, bool]:
    """(commit, dirty). In the Docker image, which has no .git, the commit it was built from.
    Dirty means a change to what makes the results (code, configs, paper), not to results/
    itself: rebuilding the committed results rewrites them, and that is not a change of code."""
    root = root or Path(__file__).resolve().parents[3]
    if not (root / ".git").exists() and os.environ.get("FTBENCH_GIT_COMMIT"):
        return os.environ["FTBENCH_GIT_COMMIT"], False
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
             ":(exclude)results"], cwd=root, capture_output=True, text=True).stdout.strip())
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
