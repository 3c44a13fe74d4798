"""`make LAUNCH="srun ..."` puts the launcher in front of every run command, and only those:
a recording launcher stands in for SLURM's srun."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import ROOT

CONFIG = """\
title: Launch
description: two short runs
seeds: [0, 1]
base:
  model: {name: vit_micro_patch8_32}
  method: {name: head}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32}
report: {table: benchmark, caption: launch}
"""

LAUNCHER = """\
#!/bin/sh
# Record the command, as srun would receive it, then run it here.
echo "$*" >> "$(dirname "$0")/launched.log"
while [ "${1#-}" != "$1" ]; do shift; done  # srun's own options
exec "$@"
"""


def _with_launcher(tmp_path, name: str, script: str):
    """The launch table's configs under tmp_path and an executable launcher script; returns
    the launcher and the CSV that `make` builds through it."""
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "launch.yaml").write_text(CONFIG)
    launcher = tmp_path / name
    launcher.write_text(script)
    launcher.chmod(0o755)
    return launcher, tmp_path / "results" / "tiny" / "launch.csv"


@pytest.mark.slow
def test_launch_prefixes_every_run_and_nothing_else(tmp_path):
    launcher, csv = _with_launcher(tmp_path, "fake-srun", LAUNCHER)
    proc = subprocess.run(
        ["make", f"LAUNCH={launcher} --gres=gpu:1", f"CONFIGS={tmp_path}/configs",
         f"RESULTS={tmp_path}/results", str(csv)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    launched = (tmp_path / "launched.log").read_text().splitlines()
    # the seeds of one configuration train in one launched process (a grouped rule)
    assert len(launched) == 1, launched
    assert launched[0].split(" run ")[1].split(" --planned")[0].split() == \
        ["launch/s0", "launch/s1"], launched
    assert all(line.startswith("--gres=gpu:1 ") and " -m ftbench run " in line
               for line in launched), launched
    assert csv.exists() and "ftbench aggregate launch" in proc.stdout  # here, not launched


FAILING = """\
#!/bin/sh
# Run the command, then fail as a cancelled job step does after its first runs finished.
"$@"
exit 143
"""


@pytest.mark.slow
def test_a_failed_or_cancelled_step_keeps_the_runs_it_finished(tmp_path):
    """Make deletes a failed recipe's targets (.DELETE_ON_ERROR); a run's summary is written
    last and atomically, so a finished one is kept (.PRECIOUS) and never trained again."""
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "launch.yaml").write_text(CONFIG)
    launcher = tmp_path / "cancelled"
    launcher.write_text(FAILING)
    launcher.chmod(0o755)
    csv = tmp_path / "results" / "tiny" / "launch.csv"
    args = ["make", f"CONFIGS={tmp_path}/configs", f"RESULTS={tmp_path}/results", str(csv)]
    proc = subprocess.run([*args, f"LAUNCH={launcher}"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "Deleting file" not in proc.stderr, proc.stderr[-2000:]
    runs = tmp_path / "results" / "tiny" / "runs" / "launch"
    assert (runs / "s0" / "summary.json").exists() and (runs / "s1" / "summary.json").exists()
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "ftbench run" not in again.stdout, again.stdout[-2000:]


QUEUEING = """\
#!/bin/sh
# Like sbatch: accept the job, print its id, return at once without running it.
echo "Submitted batch job 42"
"""


@pytest.mark.slow
def test_a_launcher_that_returns_without_training_fails_in_one_line(tmp_path):
    launcher, csv = _with_launcher(tmp_path, "sbatch", QUEUEING)
    proc = subprocess.run(["make", f"LAUNCH={launcher}", f"CONFIGS={tmp_path}/configs",
                           f"RESULTS={tmp_path}/results", str(csv)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ftbench: error:")]
    assert errors == [f"ftbench: error: launch/s0 is missing after the launcher '{launcher}' "
                      "returned: it returned without training the run (sbatch queues a job and "
                      "returns at once); launch steps that run and wait, e.g. LAUNCH='srun ...', "
                      "or run make itself inside sbatch"], proc.stderr
    assert not csv.exists()


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_an_invalid_jobs_value_stops_make(jobs):
    proc = subprocess.run(["make", "-n", f"JOBS={jobs}", "help"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2 and f"JOBS={jobs} is not a number of processes" in proc.stderr
