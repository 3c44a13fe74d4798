"""A run's thread count comes from what it was given (ftbench.train.threads), and the Makefile
hands each run the profile's choice only where no launcher hands it CPUs of its own. The same
under a real `srun` is checked by `make cluster-check`."""

from __future__ import annotations

import os
import subprocess

import pytest

from ftbench.train.threads import slurm_step, threads_for
from helpers import ROOT

SLURM = ("FTBENCH_THREADS", "OMP_NUM_THREADS", "SLURM_STEP_ID", "SLURM_CPUS_PER_TASK",
         "SLURM_JOB_ID", "LOCAL_WORLD_SIZE")


@pytest.fixture
def env(monkeypatch):
    for name in SLURM:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_config_then_profile_then_slurm_step_then_omp_then_affinity(env):
    env.setenv("SLURM_JOB_ID", "7")
    env.setenv("SLURM_STEP_ID", "3")
    env.setenv("SLURM_CPUS_PER_TASK", "8")
    env.setenv("OMP_NUM_THREADS", "1")  # torchrun's default, or the caller's
    env.setenv("FTBENCH_THREADS", "1")  # the tiny profile's, whatever the launcher
    assert threads_for(4) == (4, "config")
    assert threads_for(0) == (1, "FTBENCH_THREADS")
    env.delenv("FTBENCH_THREADS")
    assert threads_for(0) == (8, "slurm step")
    env.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun's four processes share the step's CPUs
    assert threads_for(0) == (2, "slurm step")
    env.delenv("SLURM_STEP_ID")  # the batch script itself: its CPUs are make's to share
    assert threads_for(0) == (1, "OMP_NUM_THREADS")
    env.delenv("OMP_NUM_THREADS")
    assert threads_for(0) == (len(os.sched_getaffinity(0)), "affinity")


def test_a_slurm_step_is_recorded_and_nothing_outside_slurm(env):
    assert slurm_step() is None
    env.setenv("SLURM_JOB_ID", "7")
    env.setenv("SLURM_STEP_ID", "0")
    assert slurm_step()["job"] == "7" and slurm_step()["step"] == "0"


def _make_var(name: str, *args: str, environ: dict | None = None) -> str | None:
    env = {k: v for k, v in os.environ.items() if k not in SLURM} | (environ or {})
    out = subprocess.run(["make", "-pn", "status", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith(f"{name} ")]
    return lines[0].split("=", 1)[1].strip() if lines else None


def test_make_hands_out_the_profiles_threads_unless_the_launcher_gives_cpus():
    assert _make_var("FTBENCH_THREADS") == "1"  # tiny: one thread whatever the machine
    assert _make_var("FTBENCH_THREADS", environ={"OMP_NUM_THREADS": "8"}) == "1"
    assert _make_var("FTBENCH_THREADS", "PROFILE=tiny", "LAUNCH=srun") == "1"
    assert _make_var("FTBENCH_THREADS", "PROFILE=quick", "JOBS=1") is not None
    assert _make_var("FTBENCH_THREADS", "PROFILE=quick", "LAUNCH=srun --cpus-per-task=8") is None
