"""`make LAUNCH="srun ..."` puts the launcher in front of every run command, and only those:
a recording launcher stands in for SLURM's srun."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import ROOT

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


@pytest.mark.slow
def test_launch_prefixes_every_run_and_nothing_else(tmp_path):
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "launch.yaml").write_text(CONFIG)
    launcher = tmp_path / "fake-srun"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    csv = tmp_path / "results" / "tiny" / "launch.csv"
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
