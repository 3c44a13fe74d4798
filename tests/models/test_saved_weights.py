"""Keep what was trained: each run folder's weights/ (ftbench.models.weights), `ftbench eval`
re-evaluating a finished run from them with the summary's exact numbers, peft's own loader
reading the adapter, the predictions' probabilities, and files as readable as the umask says.

Short real runs on the CPU, in this process: a micro ViT pretrained for one epoch in the
pipeline, then LoRA and classifier-only runs that start from it (one epoch, digits, 64 images).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch

from ftbench.cli.main import main
from helpers import ROOT, workdir

BACKBONE = """\
title: Backbone
description: the backbone the runs start from
base:
  model: {name: vit_micro_patch8_32}
  method: {name: full}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32, lr: 3.0e-3, save_weights: none}
  save_backbone: true
  threads: 1
report: {caption: backbone}
"""
KEPT = """\
title: Kept
description: LoRA and classifier-only runs, and what they keep
base:
  model: {name: vit_micro_patch8_32, label: ViT-micro, pretrained: "run:backbone/s0"}
  method: {name: head}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32, lr: 1.0e-2}
  threads: 1
axes:
  variant:
    values:
      lora: {method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}}
      head: {}
      head-all: {train: {save_weights: all}}
      head-none: {train: {save_weights: none}}
report: {caption: kept}
"""
RUNS = ["backbone/s0", "kept/lora--s0", "kept/head--s0", "kept/head-all--s0",
        "kept/head-none--s0"]


def _cli(work, *args: str) -> int:
    return main([*args, "--configs", str(work / "configs"), "--results", str(work / "results")])


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    threads = torch.get_num_threads()
    work = workdir(tmp_path_factory.mktemp("kept"), {"backbone": BACKBONE, "kept": KEPT})
    try:
        assert _cli(work, "run", *RUNS) == 0
        assert _cli(work, "aggregate", "kept") == 0
    finally:
        torch.set_num_threads(threads)
    return work


def _folder(work, key: str):
    return work / "results" / "tiny" / "runs" / key


def _summary(work, key: str) -> dict:
    return json.loads((_folder(work, key) / "summary.json").read_text())


def _files(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_each_method_keeps_what_it_trained(work):
    card = "README.md"  # the model card, beside what each kept
    assert _files(_folder(work, "kept/lora--s0") / "weights") == {
        "adapter/adapter_config.json", "adapter/adapter_model.safetensors", card}
    assert _files(_folder(work, "kept/head--s0") / "weights") == {"head.safetensors", card}
    assert _files(_folder(work, "kept/head-all--s0") / "weights") == {"model.safetensors", card}
    assert not (_folder(work, "kept/head-none--s0") / "weights").exists()
    assert not (_folder(work, "backbone/s0") / "weights").exists()
    assert (_folder(work, "backbone/s0") / "backbone.safetensors").exists()
    lora = _summary(work, "kept/lora--s0")["weights"]
    assert lora["save_weights"] == "trainable"
    weights = _folder(work, "kept/lora--s0") / "weights"
    assert lora["files"] == {f: (weights / f).stat().st_size for f in _files(weights) - {card}}
    assert _summary(work, "kept/head-none--s0")["weights"]["files"] == {}
    for key in RUNS:  # a finished run holds neither its lock nor its checkpoint
        assert not (_folder(work, key) / "run.lock").exists(), key
        assert not (_folder(work, key) / "checkpoint.pt").exists(), key


@pytest.mark.parametrize("key", ["kept/lora--s0", "kept/head--s0", "kept/head-all--s0"])
def test_eval_reproduces_the_summarys_test_metrics_exactly(work, key, capsys,
                                                           restore_threads):
    assert _cli(work, "eval", key, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    test = _summary(work, key)["test"]
    assert result["equal"] is True and result["merged"] is False
    assert set(result["metrics"]) == {"accuracy", "macro_f1", "macro_auc", "loss"}
    for name, value in result["metrics"].items():
        assert value == test[name], name  # bit for bit: same threads, same arithmetic


def test_eval_from_a_run_folder_in_words(work, capsys, restore_threads):
    folder = _folder(work, "kept/head--s0")
    assert _cli(work, "eval", str(folder)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"kept/head--s0: test split re-evaluated from {folder}/weights"
    assert len(out) == 5 and all(line.endswith("(equal)") for line in out[1:])


def test_eval_exits_1_when_the_metrics_differ(work, tmp_path, capsys, restore_threads):
    """A run that does not reproduce is not bad input (status 2) but a failed check: status 1,
    the comparison as usual (still valid JSON), and one line on stderr saying so."""
    copy = tmp_path / "head--s0"
    shutil.copytree(_folder(work, "kept/head--s0"), copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["test"]["loss"] += 0.5
    (copy / "summary.json").write_text(json.dumps(summary))
    assert _cli(work, "eval", str(copy), "--json") == 1
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["equal"] is False and result["summary"]["loss"] == summary["test"]["loss"]
    assert out.err.count("\n") == 1 and "Traceback" not in out.err, out.err
    assert out.err == ("ftbench eval: kept/head--s0: the re-evaluated test metrics differ from "
                       "the summary's (loss); its weights or data changed, or the device, "
                       "thread count or library versions are not the run's\n")
    assert _cli(work, "eval", str(copy)) == 1
    assert "(summary " in capsys.readouterr().out  # the words show which one differs


def test_eval_of_lora_merged_into_the_weights(work, capsys, restore_threads):
    assert _cli(work, "eval", "kept/lora--s0", "--merged", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    test = _summary(work, "kept/lora--s0")["test"]
    assert result["merged"] is True
    n = _summary(work, "kept/lora--s0")["dataset"]["test"]
    assert abs(result["metrics"]["accuracy"] - test["accuracy"]) <= 1 / n
    assert result["metrics"]["loss"] == pytest.approx(test["loss"], abs=1e-4)
    assert result["metrics"]["macro_auc"] == pytest.approx(test["macro_auc"], abs=1e-3)


@pytest.mark.parametrize("key, args, message", [
    ("kept/head--s0", ["--merged"], "--merged needs a LoRA run (this one is head)"),
    ("kept/head-none--s0", [], "keeps no weights (train.save_weights was 'none'); re-run it "
                               "with train.save_weights=trainable to evaluate it"),
    ("kept/nothing--s0", [], "unknown run 'kept/nothing--s0'"),
])
def test_eval_errors_are_one_line(work, capsys, key, args, message):
    assert _cli(work, "eval", key, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_eval_refuses_a_backbone_that_was_trained_again(work, tmp_path, capsys):
    from ftbench.store.hashing import file_sha256

    copy = tmp_path / "copy"
    shutil.copytree(work, copy)
    backbone = _folder(copy, "backbone/s0") / "backbone.safetensors"
    backbone.write_bytes(backbone.read_bytes()[:-1] + b"\0")
    file_sha256.cache_clear()
    try:
        assert _cli(copy, "eval", "kept/lora--s0") == 2
    finally:
        file_sha256.cache_clear()
    err = capsys.readouterr().err
    assert "the backbone of backbone/s0 is not the one this run started from" in err


def _model_inputs(work, key: str):
    from ftbench.config import RunConfig, from_dict
    from ftbench.store.summary import read_summary

    folder = _folder(work, key)
    cfg = from_dict(RunConfig, read_summary(folder / "summary.json").config, key)
    return cfg, folder


def test_the_adapter_loads_with_stock_peft(work):
    """PeftModel.from_pretrained onto `base_model(...)`: the same logits as ftbench's loader,
    and the same probabilities as the run recorded for its test images."""
    from peft import PeftModel
    from timm.data import resolve_data_config

    from ftbench.data.pipeline import Batches, DeviceTransform
    from ftbench.data.splits import load_splits
    from ftbench.models import weights

    cfg, folder = _model_inputs(work, "kept/lora--s0")
    results = work / "results" / "tiny"
    ours = weights.load(cfg, 10, results, folder).eval()
    stock = PeftModel.from_pretrained(weights.base_model(cfg, 10, results, folder),
                                      str(folder / "weights" / "adapter")).eval()
    data = load_splits(cfg.data)
    norm = resolve_data_config({}, model=stock.get_base_model())
    transform = DeviceTransform(32, 3, norm["mean"], norm["std"])
    x, _ = next(iter(Batches(data.test, 64, transform, torch.device("cpu"), train=False)))
    with torch.no_grad():
        a, b = ours(x), stock(x)
    assert torch.equal(a, b)
    with np.load(folder / "predictions.npz") as p:
        recorded = p["probs"][:64].astype(np.float32)
    np.testing.assert_allclose(a.softmax(1).numpy(), recorded, atol=1e-3)
    # and the adapter is the trained one: without it, other logits
    plain = weights.base_model(cfg, 10, results, folder).eval()
    with torch.no_grad():
        assert not torch.allclose(plain(x), a, atol=1e-4)


@pytest.mark.parametrize("key", ["kept/lora--s0", "kept/head--s0"])
def test_predictions_hold_probabilities_that_give_the_summarys_auc(work, key):
    from sklearn.metrics import roc_auc_score

    summary = _summary(work, key)
    with np.load(_folder(work, key) / "predictions.npz") as p:
        y_true, y_pred, probs = p["y_true"], p["y_pred"], p["probs"]
    assert probs.dtype == np.float32 and probs.shape == (len(y_true), 10)
    assert len(y_true) == summary["dataset"]["test"]
    # the stored probabilities give the stored predictions, and so the table's accuracy
    assert np.array_equal(probs.argmax(1), y_pred)
    assert float(np.mean(y_true == y_pred)) == summary["test"]["accuracy"]
    p64 = probs.astype(np.float64)
    auc = roc_auc_score(y_true, p64 / p64.sum(1, keepdims=True), multi_class="ovr",
                        average="macro")
    assert auc == pytest.approx(summary["test"]["macro_auc"], abs=1e-12)


def test_eval_of_a_run_on_a_random_backbone_reproduces_it(tmp_path, capsys, restore_threads):
    """model.pretrained: none. The frozen random backbone of a LoRA run is not saved; eval
    draws it again from the run's seed, as the run drew it."""
    random = KEPT.replace(', pretrained: "run:backbone/s0"', "")
    work = workdir(tmp_path, {"kept": random})
    assert _cli(work, "run", "kept/lora--s0") == 0
    capsys.readouterr()
    assert _cli(work, "eval", "kept/lora--s0", "--json") == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_follow_the_umask(work):
    mask = os.umask(0o022)
    os.umask(mask)
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask
    lora = _folder(work, "kept/lora--s0")
    files = [lora / "summary.json", lora / "predictions.npz", lora / "epochs.jsonl",
             lora / "weights" / "README.md",
             lora / "weights" / "adapter" / "adapter_config.json",
             lora / "weights" / "adapter" / "adapter_model.safetensors",
             _folder(work, "backbone/s0") / "backbone.safetensors",
             _folder(work, "kept/head-all--s0") / "weights" / "model.safetensors",
             work / "results" / "tiny" / "kept.csv"]
    for path in files:
        assert _mode(path) == file_mode, (path, oct(_mode(path)))
    assert _mode(lora / "weights" / "adapter") == dir_mode
    if mask == 0o022:
        assert file_mode == 0o644 and dir_mode == 0o755


def test_atomic_writes_follow_another_umask(tmp_path):
    """Under umask 027, in a fresh process: files 0640 (group-readable, not world-readable),
    whatever writes them (text, or a writer that replaces the file as safetensors does)."""
    code = (
        "import os, sys; os.umask(0o027)\n"
        "from pathlib import Path\n"
        "from ftbench.store import atomic\n"
        "out = Path(sys.argv[1])\n"
        "atomic.write_text(out / 'a.json', '{}')\n"
        "def replace(tmp):\n"
        "    tmp.unlink(); tmp.write_bytes(b'x')\n"
        "atomic.write_atomic(out / 'b.bin', replace)\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)
    assert _mode(tmp_path / "a.json") == 0o640 and _mode(tmp_path / "b.bin") == 0o640


def test_the_adapter_is_complete_for_peft(work):
    """The adapter names its base model, lists its targets in one order (peft writes them in a
    set's hash order, which differs between processes) and holds the new classifier as a module
    to save, which stock peft restores."""
    from peft import PeftModel

    from ftbench.models import weights

    folder = _folder(work, "kept/lora--s0")
    config = json.loads((folder / "weights" / "adapter" / "adapter_config.json").read_text())
    assert config["target_modules"] == sorted(config["target_modules"])
    assert config["modules_to_save"] == ["head"]
    assert config["base_model_name_or_path"].endswith("backbone/s0/backbone.safetensors")
    cfg, _ = _model_inputs(work, "kept/lora--s0")
    base = weights.base_model(cfg, 10, work / "results" / "tiny", folder)
    head = {k: v.clone() for k, v in base.get_classifier().state_dict().items()}
    restored = PeftModel.from_pretrained(base, str(folder / "weights" / "adapter"))
    trained = restored.get_base_model().get_classifier().modules_to_save["default"]
    assert any(not torch.equal(head[k], v) for k, v in trained.state_dict().items())


def card_snippet(folder) -> str:
    """The Python block of a run's model card."""
    text = (folder / "weights" / "README.md").read_text()
    assert text.startswith("---\n") and "\nbase_model: " in text.split("\n---\n")[0]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("key", ["kept/lora--s0", "kept/head--s0", "kept/head-all--s0"])
def test_the_model_card_snippet_loads_and_scores_the_run(work, key):
    """The card's snippet alone (timm, peft, the micro models' registration, and the generator
    of the stand-in data) rebuilds the model and scores its test split: digits are 8 px, and
    timm's transform resizes them with PIL where the run resized on the device, so a few images
    may fall differently; at the model's own size the accuracy is the run's exactly (a committed
    run: tests/results/test_saved_runs.py)."""
    code = (card_snippet(_folder(work, key))
            + "\nprint('ACC', (logits.argmax(1) == labels).sum().item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    correct = int(out.stdout.split("ACC")[1])
    summary = _summary(work, key)
    recorded = round(summary["test"]["accuracy"] * summary["dataset"]["test"])
    assert abs(correct - recorded) <= 3, (correct, recorded)


def test_eval_of_a_table_writes_one_row_per_run_that_kept_weights(work, tmp_path, capsys,
                                                                  restore_threads):
    out = tmp_path / "eval.csv"
    assert _cli(work, "eval", "kept", "--csv", str(out)) == 0
    import csv

    rows = list(csv.DictReader(out.open()))
    assert [r["run"] for r in rows] == ["kept/lora--s0", "kept/head--s0", "kept/head-all--s0"]
    assert all(r["equal"] == "True" for r in rows)
    for r in rows:  # the CSV holds the numbers exactly (repr), as the summary has them
        assert float(r["accuracy"]) == _summary(work, r["run"])["test"]["accuracy"]
    assert capsys.readouterr().out.strip() == "ftbench eval: 3 of 3 runs reproduce their " \
        "summary's test metrics"


@pytest.mark.parametrize("args, message", [
    ([], "eval takes a run, a table or --all (one of them)"),
    (["kept", "--all"], "eval takes a run, a table or --all (one of them)"),
    (["kept", "--json"], "--json prints one run; for many, use --csv FILE")])
def test_eval_names_one_run_a_table_or_all(work, capsys, args, message):
    assert _cli(work, "eval", *args) == 2
    assert capsys.readouterr().err == f"ftbench: error: {message}\n"


def test_eval_of_a_table_reports_a_broken_run_as_a_row_and_goes_on(work, tmp_path, capsys,
                                                                   restore_threads):
    import csv

    copy = tmp_path / "work"
    shutil.copytree(work, copy)
    head = copy / "results" / "tiny" / "runs" / "kept" / "head--s0" / "weights" / "head.safetensors"
    head.write_bytes(head.read_bytes()[:40])
    out = tmp_path / "eval.csv"
    assert _cli(copy, "eval", "kept", "--csv", str(out)) == 1
    rows = {r["run"].split("/")[-1]: r for r in csv.DictReader(out.open())}
    assert "cannot be read" in rows["head--s0"]["error"] and rows["head--s0"]["equal"] == "False"
    assert rows["lora--s0"]["equal"] == rows["head-all--s0"]["equal"] == "True"
    assert "ftbench eval: 2 of 3 runs reproduce" in capsys.readouterr().out
