"""The bad-input catalogue: every case gives one line naming the problem and the fix, exit
status 2, no traceback, and writes nothing under results/.

CASES is also the README's table ("Bad input"): `test_readme_lists_every_case` keeps the two
equal, so the documentation cannot drift from what the tool prints.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT
from ftbench import checkpoint
from ftbench.cli import main

DEMO = """\
title: Demo
description: one small run for the bad-input cases
base:
  model: {name: vit_micro_patch4_32, label: ViT-micro}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32}
  device: cpu
report: {table: benchmark, caption: demo}
"""
RUN = ["run", "demo/s0"]
RUN_DIR = Path("results/tiny/runs/demo/s0")


@dataclass
class Case:
    input: str  # as the README shows it
    argv: list[str]
    message: str  # the line after "ftbench: error: ", exactly
    setup: object = None  # callable(work folder) preparing files
    env: dict = field(default_factory=dict)


def _override(arg: str, message: str) -> Case:
    """`ftbench run demo/s0 <arg>`, shown in the README as the override itself."""
    return Case(f"`{arg}`", [*RUN, arg], message)


def _write(rel: str, text: str):
    def setup(work: Path):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    return setup


def _checkpoint(config_hash: str | None, truncate: bool = False):
    def setup(work: Path):
        from ftbench.config import find_run, load_all

        want = find_run(load_all(work / "configs", "tiny"), "demo/s0").config.hash()
        path = work / RUN_DIR / "checkpoint.pt"
        checkpoint.save(path, {"config_hash": config_hash or want, "epoch": 1})
        if truncate:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return setup


def _summary(text: str):
    return _write(str(RUN_DIR / "summary.json"), text)


def _corrupt_image(work: Path):
    from test_files import fake_food101

    root = work / "data"
    fake_food101(root)
    victim = sorted((root / "food-101" / "images").rglob("*.jpg"))[0]
    victim.write_bytes(victim.read_bytes()[:40])


def _blocker(work: Path):
    (work / "blocker").write_text("a file where the results folder should be\n")


CASES = {
    "malformed-yaml": Case(
        "a config file with broken YAML", ["plan"],
        "configs/broken.yaml: malformed YAML at line 2, column 1: expected ',' or ']', "
        "but got '<stream end>'", _write("configs/broken.yaml", "a: [b\n")),
    "yaml-not-mapping": Case(
        "a config file that is a list", ["plan"],
        "configs/list.yaml: expected a mapping at the top level",
        _write("configs/list.yaml", "- a\n- b\n")),
    "unknown-key": _override("train.eopchs=3",
        "configs/demo.yaml [s0]: unknown key 'train.eopchs' (did you mean 'train.epochs'?)"),
    "unknown-key-in-file": Case(
        "`lerning_rate: 0.1` under `train:` in a config", ["plan"],
        "configs/demo.yaml [s0]: unknown key 'train.lerning_rate' (did you mean 'train.lr'?)",
        _write("configs/demo.yaml", DEMO.replace("epochs: 1,", "lerning_rate: 0.1, epochs: 1,"))),
    "wrong-type": _override("train.epochs=ten",
        "configs/demo.yaml [s0]: 'train.epochs' must be int, got 'ten'; fix the value"),
    "rank-zero": _override("method.r=0",
        "configs/demo.yaml [s0]: method.r must be at least 1 (got 0); set e.g. method.r=8"),
    "rank-negative": _override("method.r=-4",
        "configs/demo.yaml [s0]: method.r must be at least 1 (got -4); set e.g. method.r=8"),
    "alpha": _override("method.alpha=0",
        "configs/demo.yaml [s0]: method.alpha must be positive (got 0.0)"),
    "dropout": _override("method.dropout=1.5",
        "configs/demo.yaml [s0]: method.dropout must be in [0, 1) (got 1.5)"),
    "target-matches-nothing": Case(
        "`method.targets=[attn.query]` (no such module)", [*RUN, "method.targets=[attn.query]"],
        "method.targets ['attn.query'] match no module of the model; name Linear/Conv2d "
        "modules such as qkv.q, fc1 or conv2"),
    "unknown-model": _override("model.name=vit_bse_patch16_224",
        "configs/demo.yaml [s0]: unknown model 'vit_bse_patch16_224' (did you mean "
        "'vit_base_patch16_224'?); "
        "list names with timm.list_models()"),
    "unknown-dataset": _override("data.name=cifar1000",
        "configs/demo.yaml [s0]: unknown data.name 'cifar1000' (did you mean 'cifar100'?); "
        "choose one of: "),
    "unknown-method": _override("method.name=lora2",
        "configs/demo.yaml [s0]: unknown method.name 'lora2' (did you mean 'lora'?); "
        "choose one of: full, head, lora"),
    "unknown-optimizer": _override("train.optimizer=adamm",
        "configs/demo.yaml [s0]: unknown train.optimizer 'adamm' (did you mean 'adam'?); "
        "choose one of: adamw, adam, sgd, rmsprop"),
    "unknown-schedule": _override("train.schedule=cosin",
        "configs/demo.yaml [s0]: unknown train.schedule 'cosin' (did you mean 'cosine'?); "
        "choose one of: cosine, linear, onecycle, constant, step, cosine_restarts"),
    "unknown-precision": _override("train.precision=fp8",
        "configs/demo.yaml [s0]: unknown train.precision 'fp8'; choose one of: auto, bf16, fp32"),
    "unknown-augmentation": _override("data.augment=[rotate]",
        "configs/demo.yaml [s0]: unknown data.augment 'rotate'; "
        "choose one of: flip, crop, resized-crop, jitter"),
    "unknown-profile": Case(
        "`--profile tinny`", ["plan", "--profile", "tinny"],
        "unknown profile 'tinny' (did you mean 'tiny'?); choose one of: paper, quick, tiny"),
    "unknown-run": Case(
        "`ftbench run demo/s9`", ["run", "demo/s9"],
        "unknown run 'demo/s9' (did you mean 'demo/s0'?); list them with: ftbench plan"),
    "unknown-table": Case(
        "`ftbench aggregate dmeo`", ["aggregate", "dmeo"],
        "unknown table 'dmeo' (did you mean 'demo'?); choose one of: demo"),
    "not-key-value": Case(
        "`ftbench run demo/s0 train.epochs` (no `=`)", [*RUN, "train.epochs"],
        "override 'train.epochs' is not key=value; write e.g. train.epochs=3"),
    "unknown-option": Case(
        "`ftbench run demo/s0 --epochs 3`", [*RUN, "--epochs", "3"],
        "unrecognized arguments: --epochs 3; see ftbench --help"),
    "batch-zero": _override("train.batch_size=0",
        "configs/demo.yaml [s0]: train.batch_size must be at least 1 (got 0); "
        "set e.g. train.batch_size=64"),
    "epochs-negative": _override("train.epochs=-1",
        "configs/demo.yaml [s0]: train.epochs must be at least 1 (got -1); "
        "set e.g. train.epochs=5"),
    "lr-zero": _override("train.lr=0",
        "configs/demo.yaml [s0]: train.lr must be positive (got 0.0); set e.g. train.lr=1e-3"),
    "odd-mixup-batch": Case(
        "`data.mixup=0.8 train.batch_size=33`", [*RUN, "data.mixup=0.8", "train.batch_size=33"],
        "configs/demo.yaml [s0]: MixUp/CutMix mix pairs of images and need an even "
        "train.batch_size (got 33); set e.g. train.batch_size=34"),
    "missing-dataset": Case(
        "`data.name=cifar10` with an empty `DATA_DIR`", [*RUN, "data.name=cifar10"],
        "dataset cifar10 not found or incomplete at data/cifar-10-batches-py; fetch it with "
        "'make data' (or set DATA_DIR to where it is)",
        env={"DATA_DIR": "data"}),
    "corrupt-image": Case(
        "a truncated JPEG inside Food-101", [*RUN, "data.name=food101", "data.val_fraction=0.5"],
        "image data/food-101/images/apple_pie/test0.jpg is unreadable (Truncated File Read); "
        "re-fetch it with 'make data'",
        _corrupt_image, {"DATA_DIR": "data"}),
    "missing-pretrained-file": Case(
        "`model.pretrained=timm model.pretrained_file=w.safetensors` (no such file)",
        [*RUN, "model.name=resnet18", "model.pretrained=timm",
         "model.pretrained_file=w.safetensors"],
        "model.pretrained_file w.safetensors not found; copy the weights of resnet18 there "
        "(see 'make weights')"),
    "truncated-checkpoint": Case(
        "a truncated `checkpoint.pt` in the run's folder", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt cannot be read (RuntimeError: truncated or "
        "corrupt); delete it to start this run over", _checkpoint(None, truncate=True)),
    "foreign-checkpoint": Case(
        "a `checkpoint.pt` saved under another configuration", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt was saved by a different configuration (config "
        "hash 0123456789ab, this run's is <hash>); delete it to start this run over",
        _checkpoint("0123456789ab")),
    "corrupt-summary": Case(
        "a corrupt `summary.json` when aggregating", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt; delete its folder and re-run",
        _summary('{"table": "demo", "run_')),
    "no-cuda": Case(
        "`device=cuda` on a machine without CUDA", [*RUN, "device=cuda"],
        "device 'cuda' requested but CUDA is not available here; set device=cpu "
        "(or device=auto)"),
    "unwritable-results": Case(
        "`--results blocker` where `blocker` is a file (or a read-only folder)",
        [*RUN, "--results", "blocker"],
        "results folder blocker/tiny is not writable (blocker is not a folder); pass --results "
        "DIR (make: RESULTS=DIR) or fix its permissions", _blocker),
    "missing-configs": Case(
        "`--configs nowhere`", ["plan", "--configs", "nowhere"],
        "unknown profile 'tiny'; choose one of: (none found in nowhere)"),
}


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    shutil.copytree(ROOT / "configs" / "profiles", tmp_path / "configs" / "profiles")
    (tmp_path / "configs" / "demo.yaml").write_text(DEMO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(name, work, capsys, monkeypatch):
    case = CASES[name]
    if case.setup:
        case.setup(work)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = _tree(work / "results"), _tree(work / "blocker")
    try:
        code = main(list(case.argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    expected = case.message
    if "<hash>" in expected:
        from ftbench.config import find_run, load_all

        expected = expected.replace("<hash>", find_run(load_all(work / "configs", "tiny"),
                                                       "demo/s0").config.hash())
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    line = err.strip()
    assert line.startswith("ftbench: error: "), line
    if expected.endswith(": "):  # a list of choices follows
        assert line.removeprefix("ftbench: error: ").startswith(expected), line
    else:
        assert line == "ftbench: error: " + expected
    assert (_tree(work / "results"), _tree(work / "blocker")) == before, "wrote under results/"


def test_debug_shows_the_traceback(work, capsys):
    with pytest.raises(Exception, match="unknown key 'train.eopchs'"):
        main([*RUN, "train.eopchs=3", "--debug"])


def test_read_only_results_folder_when_not_root(work, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes through permissions; the 'blocker' case covers this path")
    (work / "ro").mkdir(mode=0o555)
    assert main([*RUN, "--results", "ro"]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_loading_is_weights_only_and_config_text_is_never_evaluated():
    """Checkpoints and weights are data: every torch.load is weights-only; no eval/exec."""
    for path in (ROOT / "code" / "ftbench").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (path.name, call)
        assert not re.search(r"(?<![\w.])(eval|exec)\(", text), path.name
        assert "yaml.load(" not in text and "pickle.load" not in text, path.name


def test_readme_lists_every_case():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, case in CASES.items():
        message = case.message.replace("|", r"\|")
        assert f"| {case.input} | `{message}` |" in readme or \
            re.search(re.escape(f"| {case.input} | `{message}"), readme), name
