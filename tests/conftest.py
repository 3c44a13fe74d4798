"""Shared helpers: the repository root, and the CLI run in a subprocess like a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftbench", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A private copy of configs/ that a test may edit."""
    dst = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", dst)
    return dst
