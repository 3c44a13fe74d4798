"""The committed tiny results are what the code makes of them: every run is the planned one, and
a sample of LoRA and classifier-only runs re-evaluate from their saved weights to the same test
metrics (`ftbench eval`; the closing note of the change that committed them ran it on all)."""

from __future__ import annotations

import json

import pytest

from ftbench.config import load_all
from ftbench.plan.state import state
from ftbench.store.layout import run_dir
from ftbench.tools.evaluate import evaluate_run
from helpers import ROOT

RESULTS = ROOT / "results" / "tiny"
SAMPLE = ["vit-lora-vs-cnn-head/cifar10--vit-lora--s1",
          "vit-lora-vs-cnn-head/mnist--efficientnet-b0-head--s2",
          "resnet34-lora/food101--lora--s0", "vit-lora-tinyimagenet/r32--s2",
          "vit-lora-food101/vit-lora--s1", "factorial/cifar100--resnet50--lora--s2"]


@pytest.fixture(scope="module")
def plan():
    return {r.key: r for e in load_all(ROOT / "configs", "tiny") for r in e.runs}


def test_every_committed_run_is_the_planned_and_current_one(plan):
    states = {key: state(spec, RESULTS).state for key, spec in plan.items()}
    assert {k: s for k, s in states.items() if s not in ("done", "diverged")} == {}


@pytest.mark.slow
@pytest.mark.parametrize("key", SAMPLE)
def test_committed_runs_reevaluate_exactly_from_their_weights(plan, key):
    folder = run_dir(RESULTS, plan[key])
    result = evaluate_run(folder, RESULTS)
    summary = json.loads((folder / "summary.json").read_text())
    assert result["equal"], (result["metrics"], summary["test"])


def test_the_committed_runs_come_from_one_clean_commit(plan):
    """The paper says which commit its results come from: it must be one commit, without
    changes to the code, configs or paper beside it."""
    envs = {key: json.loads((run_dir(RESULTS, spec) / "summary.json").read_text())["env"]
            for key, spec in plan.items()}
    assert {e["git_commit"] for e in envs.values()} and len(
        {e["git_commit"] for e in envs.values()}) == 1
    assert [k for k, e in envs.items() if e["git_dirty"]] == []


def test_rewriting_results_does_not_make_the_tree_dirty(tmp_path):
    """Rebuilding the committed results rewrites files under results/: that is no change to
    what made them. A change anywhere else is."""
    import subprocess

    from ftbench.train.provenance import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.csv").write_text("1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert git_commit(tmp_path)[1] is False
    (tmp_path / "results" / "a.csv").write_text("2\n")
    assert git_commit(tmp_path)[1] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path)[1] is True
