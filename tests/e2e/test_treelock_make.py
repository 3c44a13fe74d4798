"""One writer per results tree through the real Makefile (ftbench.plan.treelock): while one make
writes the tree a second stops at once, and the next one runs once the first has ended."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from ftbench.plan import treelock
from helpers import ROOT


@pytest.mark.slow  # waits for a make that sleeps 4 s
def test_two_real_makes_on_one_tree(tmp_path):
    """Through the Makefile: while one make writes the tree, a second exits 2 with one line
    naming it and writes nothing; once the first has ended, the next make runs."""
    wrapper = tmp_path / "slow.mk"
    results = tmp_path / "results"
    wrapper.write_text(f"include {ROOT / 'Makefile'}\n"
                       "$(RESULTS)/slow: ; @sleep 4 && touch $@\n"
                       "$(RESULTS)/quick: ; @touch $@\n")
    variables = [f"RESULTS={results}", "NEEDS_PLAN=", f"CONFIGS={ROOT / 'configs'}"]
    env = {k: v for k, v in os.environ.items() if k not in (treelock.HOLDER_ENV, "MAKEFLAGS",
                                                             "MAKELEVEL")}

    def make(goal, wait=True):
        args = ["make", "-f", str(wrapper), str(results / goal), *variables]
        if not wait:
            return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    results.mkdir()
    first = make("slow", wait=False)
    lock = treelock.lock_path(results / "tiny")
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = make("quick")
    holder = json.loads(lock.read_text())["pid"]
    assert second.returncode == 2
    assert [line for line in second.stderr.splitlines() if line] == [
        line for line in second.stderr.splitlines() if f"make (pid {holder}," in line]
    assert not (results / "quick").exists()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and (results / "slow").exists(), err
    assert (results / "slow").exists()
    third = make("quick")
    assert third.returncode == 0, third.stderr
