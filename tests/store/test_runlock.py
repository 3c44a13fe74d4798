"""One process per run (ftbench.store.runlock): a run's folder holds `run.lock` while a process
works
on it; a second `ftbench run` of the same run stops with one line and touches nothing, and the
lock file is gone once the holder is done, however it ended."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ftbench import faults
from ftbench.cli.main import main
from ftbench.errors import UserError
from ftbench.store import runlock
from ftbench.store.layout import LOCK
from helpers import DEMO, ROOT, workdir

HEAD = DEMO.replace("{name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}", "{name: head}")
HOLDER = """\
import sys
from ftbench.store.runlock import hold
with hold(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""
RUN_DIR = "results/tiny/runs/demo/s0"


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(workdir(tmp_path, {"demo": HEAD}))
    return tmp_path


def _tree(folder):
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_run_of_a_locked_run_exits_2_with_one_line(work, capsys, restore_threads):
    folder = work / RUN_DIR
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert (folder / LOCK).exists() and runlock.is_held(folder)
        before = _tree(work)
        assert main(["run", "demo/s0"]) == 2
        err = capsys.readouterr().err
        assert err == (f"ftbench: error: another process is working on {RUN_DIR} (it holds "
                       "run.lock); wait for it to finish, or stop it\n")
        assert _tree(work) == before, "the second process wrote nothing"
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert not (folder / LOCK).exists() and not runlock.is_held(folder)
    assert main(["run", "demo/s0"]) == 0  # free again
    assert (folder / "summary.json").exists() and not (folder / LOCK).exists()


def test_the_lock_is_held_while_the_run_works(work, monkeypatch, restore_threads):
    folder = work / RUN_DIR
    seen = []
    monkeypatch.setattr(faults, "point", lambda name: seen.append(
        (name, (folder / LOCK).exists(), runlock.is_held(folder))))
    assert main(["run", "demo/s0"]) == 0
    assert ("epoch-end", True, True) in seen and ("test", True, True) in seen
    assert not (folder / LOCK).exists()


def test_a_run_that_fails_leaves_no_lock(work, monkeypatch, restore_threads):
    folder = work / RUN_DIR

    def fail(name):
        if name == "test":
            raise RuntimeError("stopped before the test split")

    monkeypatch.setattr(faults, "point", fail)
    with pytest.raises(RuntimeError):
        main(["run", "demo/s0", "--debug"])
    assert not (folder / LOCK).exists() and not (folder / "summary.json").exists()
    assert (folder / "checkpoint.pt").exists(), "the finished epoch is kept for a resume"


def test_hold_refuses_within_one_process_too(tmp_path):
    with runlock.hold(tmp_path / "run"):
        with pytest.raises(UserError, match="another process is working on"):
            with runlock.hold(tmp_path / "run"):
                pass
    assert not (tmp_path / "run" / LOCK).exists()
    with runlock.hold(tmp_path / "run"):  # and can be taken again afterwards
        assert (tmp_path / "run" / LOCK).exists()
