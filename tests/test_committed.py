"""The committed tiny results are what the code makes of them: every run is the planned one, and
a sample of LoRA and classifier-only runs re-evaluate from their saved weights to the same test
metrics (`ftbench eval`; the closing note of the change that committed them ran it on all)."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from ftbench.config import load_all
from ftbench.evalrun import evaluate_run
from ftbench.freshness import state
from ftbench.layout import run_dir

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
