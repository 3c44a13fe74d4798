"""make cluster-check (.ci/cluster-check) runs the cluster guide's SLURM forms on a one-node
cluster it starts itself; CI runs it after make docker-check. Here: that make runs the script,
and that its checks of the runs' summaries fail on what they must catch."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers import ROOT, script_module

HELPER = ROOT / ".ci" / "cluster_check.py"


def test_make_cluster_check_runs_the_script():
    proc = subprocess.run(["make", "-n", "cluster-check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ".ci/cluster-check" in proc.stdout, proc.stdout


@pytest.fixture
def helper():
    return script_module(HELPER, "cluster_check")


def _summary(results, key: str, slurm: dict | None) -> None:
    folder = results / "tiny" / "runs" / key
    folder.mkdir(parents=True)
    env = {"threads": 1, "threads_from": "OMP_NUM_THREADS"} | ({"slurm": slurm} if slurm else {})
    (folder / "summary.json").write_text(json.dumps({"env": env}))


def test_a_run_trained_outside_a_job_step_fails_the_check(tmp_path, helper, capsys):
    _summary(tmp_path, "t/a", {"job": "3", "step": "0"})
    helper.steps(str(tmp_path), "t/a")
    assert "t/a: job 3 step 0" in capsys.readouterr().out
    _summary(tmp_path, "t/b", None)
    with pytest.raises(SystemExit):
        helper.steps(str(tmp_path), "t/a", "t/b")
    assert "t/b was not trained inside a SLURM job step" in capsys.readouterr().err


def test_runs_of_several_jobs_are_not_one_allocation(tmp_path, helper, capsys):
    _summary(tmp_path, "t/a", {"job": "3", "step": "0"})
    _summary(tmp_path, "t/b", {"job": "4", "step": "0"})
    with pytest.raises(SystemExit):
        helper.steps(str(tmp_path), "--one-job", "t/a", "t/b")
    assert "not one allocation" in capsys.readouterr().err
