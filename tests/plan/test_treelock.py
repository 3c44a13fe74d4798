"""One writer per results tree: a second make, or an `ftbench run` beside a make, stops at once
with one line naming the holder; the holder's own recipes write; the lock goes with its make.
(Two real makes through the Makefile: tests/e2e/test_treelock_make.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ftbench.plan import treelock


@pytest.fixture
def fake_make():
    """A process standing in for a make: the lock lives as long as it does."""
    procs = []

    def start():
        procs.append(subprocess.Popen(["sleep", "60"]))
        return procs[-1]

    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_a_second_make_is_refused_naming_the_first(tmp_path, fake_make):
    first, second = fake_make(), fake_make()
    assert treelock.hold_for_make(tmp_path / "tiny", first.pid) == "ok"
    busy = treelock.hold_for_make(tmp_path / "tiny", second.pid)
    assert f"being written by make (pid {first.pid}," in busy and "\n" not in busy
    assert treelock.hold_for_make(tmp_path / "quick", second.pid) == "ok"  # another tree
    assert treelock.hold_for_make(tmp_path / "tiny", first.pid) == "ok"  # make restarted itself


def test_the_lock_goes_with_its_make(tmp_path, fake_make):
    first, second = fake_make(), fake_make()
    assert treelock.hold_for_make(tmp_path / "tiny", first.pid) == "ok"
    first.kill()
    first.wait()
    assert treelock.hold_for_make(tmp_path / "tiny", second.pid) == "ok"  # no stale lock


def test_a_make_started_by_a_makes_recipe_writes_as_the_first_makes_part(tmp_path, fake_make,
                                                                         monkeypatch):
    """`make clean-results all` runs `make all` from a recipe: the inner make must export the
    outer make's pid, the one the lock names, or its own runs are refused as strangers."""
    outer, inner = fake_make(), fake_make()
    assert treelock.main(tmp_path / "tiny", outer.pid) == f"ok {outer.pid}"
    monkeypatch.setenv(treelock.HOLDER_ENV, str(outer.pid))  # what the outer make exported
    assert treelock.main(tmp_path / "tiny", inner.pid) == f"ok {outer.pid}"
    assert _run_beside(tmp_path, str(outer.pid)).stdout.strip() == "None"


def _env_without_holder() -> dict:
    return {k: v for k, v in os.environ.items() if k != treelock.HOLDER_ENV}


def _run_beside(tmp_path, holder: str | None) -> subprocess.CompletedProcess:
    env = _env_without_holder()
    if holder:
        env[treelock.HOLDER_ENV] = holder
    code = ("import sys; from pathlib import Path; from ftbench.plan import treelock; "
            f"print(treelock.hold_for_run(Path({str(tmp_path / 'tiny')!r})))")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_run_beside_a_make_is_refused_unless_it_is_the_makes_own(tmp_path, fake_make):
    make = fake_make()
    assert treelock.hold_for_make(tmp_path / "tiny", make.pid) == "ok"
    assert f"make (pid {make.pid}," in _run_beside(tmp_path, None).stdout
    assert _run_beside(tmp_path, str(make.pid)).stdout.strip() == "None"  # its recipe


def test_a_make_beside_a_direct_run_is_refused_naming_the_run(tmp_path, fake_make):
    code = ("import time; from pathlib import Path; from ftbench.plan import treelock; "
            f"assert treelock.hold_for_run(Path({str(tmp_path / 'tiny')!r})) is None; "
            "print('held', flush=True); time.sleep(60)")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           env=_env_without_holder())
    try:
        assert run.stdout.readline().strip() == "held"
        busy = treelock.hold_for_make(tmp_path / "tiny", fake_make().pid)
        assert f"ftbench run (pid {run.pid}," in busy
    finally:
        run.kill()
        run.wait()
