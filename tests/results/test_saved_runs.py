"""A committed run folder, found alone, describes itself: its model card's snippet rebuilds the
model from timm and peft (and, for the micro models, only the import that registers them with
timm), preprocesses with timm's own transform and reproduces the run's test accuracy."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from helpers import ROOT

RUN = ROOT / "results" / "tiny" / "runs" / "vit-lora-food101" / "vit-lora--s0"


def _snippet() -> str:
    text = (RUN / "weights" / "README.md").read_text(encoding="utf-8")
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_card_loads_the_model_with_timm_and_peft_alone():
    loading = _snippet().split("# preprocessing", 1)[0]
    modules = set(re.findall(r"^(?:from|import) ([\w.]+)", loading, re.M))
    assert {m for m in modules if m.startswith("ftbench")} == {"ftbench.models.micro"}
    assert {"timm", "peft"} <= modules
    config = json.loads((RUN / "weights" / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == \
        "results/tiny/runs/pretrain/vit-micro--s0/backbone.safetensors"
    assert config["modules_to_save"] == ["head"]


@pytest.mark.slow
def test_a_committed_lora_runs_card_snippet_reproduces_its_accuracy():
    code = _snippet() + "\nprint('CORRECT', (logits.argmax(1) == labels).sum().item())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((RUN / "summary.json").read_text())
    correct = int(out.stdout.split("CORRECT")[1])
    assert correct == round(summary["test"]["accuracy"] * summary["dataset"]["test"])
