"""Fixtures shared by every test folder. Shared constants and functions are in helpers.py.

The folders mirror the package's stages (tests/store, tests/config, ... tests/cli) and hold
unit tests; tests/e2e holds the tests that drive the whole tool from outside: make, the Docker
files, CI, killed subprocesses. Tests that train, build the PDF or run make for real are marked
`slow` (make test-fast leaves them out)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import ROOT


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A private copy of configs/ that a test may edit."""
    dst = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", dst)
    return dst


@pytest.fixture
def restore_threads():
    """Runs with `threads: 1` set torch's thread count for the whole process: put it back."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
