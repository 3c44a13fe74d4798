"""Data-parallel training: `torchrun --nproc_per_node=2 -m ftbench run` on the CPU (gloo) gives
a single-process run's metrics with the same global batch.

Tolerance: the two processes' gradients are summed in a different order than one process sums
them, so floats differ in their last bits and the difference grows a little over the epochs.
We require test loss and macro-AUC within 1e-4 and accuracy within one test image. A ViT
(LayerNorm, no BatchNorm, whose statistics would be per process) with no dropout or MixUp, whose
per-process random draws differ by design, isolates exactly that; it trains long enough to learn
(75% on digits), since a model at chance level turns last-bit differences into other
predictions and another best epoch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT

CONFIG = """\
title: DDP
description: one run, one process versus two
base:
  model: {name: vit_micro_patch8_32}
  method: {name: full}
  data: {name: digits, image_size: 32, train_limit: 1200, augment: [crop]}
  train: {epochs: 12, batch_size: 30, lr: 1.0e-3}
  threads: 1
report: {table: benchmark, caption: ddp}
"""


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "ddp.yaml").write_text(CONFIG)
    common = ["-m", "ftbench", "run", "ddp/s0", "--results"]
    one = subprocess.Popen([sys.executable, *common, "one"], cwd=tmp_path, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          *common, "two"], cwd=tmp_path, capture_output=True, text=True)
    assert two.returncode == 0, two.stdout[-2000:] + two.stderr[-3000:]
    assert one.wait(timeout=600) == 0, one.stdout.read()[-2000:]

    def summary(name):
        path = tmp_path / name / "tiny" / "runs" / "ddp" / "s0" / "summary.json"
        return json.loads(path.read_text())

    single, ddp = summary("one"), summary("two")
    assert (single["world_size"], ddp["world_size"]) == (1, 2)
    assert two.stdout.count("test acc") == 1, "only rank 0 reports"
    n = ddp["dataset"]["test"]
    assert n == single["dataset"]["test"] and sum(map(sum, ddp["test"]["confusion_matrix"])) == n
    assert abs(ddp["test"]["accuracy"] - single["test"]["accuracy"]) <= 1 / n
    assert abs(ddp["test"]["loss"] - single["test"]["loss"]) < 1e-4
    assert abs(ddp["test"]["macro_auc"] - single["test"]["macro_auc"]) < 1e-4
    # a run that barely learns sits on its decision boundaries, where the last bits decide
    assert single["test"]["accuracy"] > 0.5, "the run must learn for the comparison to mean much"
    assert not list((tmp_path / "two").rglob(".*")), "no stray files from rank 1"


def test_sizes_that_leave_a_rank_without_work_are_one_line_errors():
    from ftbench.errors import UserError
    from ftbench.train.distributed import World, check_sizes

    two = World(rank=0, size=2)
    check_sizes(two, 32, False, 320, 100)
    check_sizes(World(), 33, True, 1, 1)  # one process: nothing to split
    for args, message in [((33, False, 320, 100), "does not split into 2 shares"),
                          ((30, True, 300, 100), "into 2 even shares; use a multiple of 4"),
                          ((32, False, 321, 100), "last training batch \\(1 images\\)"),
                          ((32, False, 320, 1), "evaluation split of 1 images")]:
        with pytest.raises(UserError, match=message):
            check_sizes(two, *args)


GROUP = """\
title: Grouped
description: two seeds in one torchrun process, as GROUP_RUNS=1 trains them
seeds: [0, 1]
base:
  model: {name: vit_micro_patch8_32}
  method: {name: full}
  data: {name: digits, image_size: 32, train_limit: 240}
  train: {epochs: 1, batch_size: 30, lr: 1.0e-3}
  threads: 1
report: {table: benchmark, caption: grouped}
"""


@pytest.mark.slow
def test_grouped_runs_share_one_process_group_under_torchrun(tmp_path):
    """The second run of a torchrun process joins the group the first one set up; it used to set
    the group up again from torchrun's environment and die ("Connection closed by peer")."""
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "grp.yaml").write_text(GROUP)
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "-m", "ftbench", "run", "grp/s0", "grp/s1", "--results", "r"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stdout[-2000:] + two.stderr[-3000:]
    for seed in (0, 1):
        summary = json.loads((tmp_path / "r" / "tiny" / "runs" / "grp" / f"s{seed}" /
                              "summary.json").read_text())
        assert summary["world_size"] == 2 and summary["status"] == "ok"
