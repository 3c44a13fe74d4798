"""Property-based fuzzing of the config path: whatever a config file or the command line holds,
`ftbench plan` ends with exit 0, or with exit 2 and exactly one line on stderr starting
`ftbench: error: `; never a traceback or another exception, and nothing written under results/.

The inputs mix the schema's own keys and plausible values with junk: unknown keys, wrong types,
NaN and infinities, huge numbers, unicode and control characters, nested lists and mappings,
YAML that is broken, repeated keys, aliases, tags, and bytes that are not UTF-8.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from ftbench.cli.main import main
from helpers import ONE_RUN, ROOT

# Hypothesis keeps a cache (and, unless told not to, its examples) in .hypothesis/ of the
# working folder: here, in a temporary folder, so that the repository stays clean.
_HOME = tempfile.TemporaryDirectory(prefix="hypothesis-")
set_hypothesis_home_dir(_HOME.name)
# Fixed examples (derandomize) keep CI repeatable; FTBENCH_FUZZ=<n> draws n fresh ones each.
EXAMPLES = int(os.environ.get("FTBENCH_FUZZ", "0"))
SETTINGS = settings(max_examples=EXAMPLES or 100, deadline=None, derandomize=not EXAMPLES,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

DEMO = ONE_RUN

# ---------------------------------------------------------------------------------------------
# values: plausible ones per field, and junk

FINITE = st.floats(allow_nan=False, allow_infinity=False)
JUNK_SCALAR = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN, inf, -inf, huge, tiny, -0.0
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -1e-308, 2**64]),
    st.text(max_size=12),  # any unicode, control characters and line breaks included
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e999", "0x10", "1_000", "~", "null",
                     "yes", "no", "on", "2024-01-01", "a\nb", "\u2028", "\x85", "é", "../x",
                     "run:", "file:", "run:a/b", "timm", "none"]),
)
JUNK = st.recursive(JUNK_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-3, 3), st.booleans()), inner,
                    max_size=3)), max_leaves=6)

PLAUSIBLE = {
    "model.name": ["vit_micro_patch8_32", "resnet18", "resnet50_micro", "vit_base_patch16_224",
                   "resnet50.a1_in1k", "not_a_model", ""],
    "model.label": ["ViT", "", "R&D_50%"],
    "model.pretrained": ["none", "timm", "run:pretrain/vit-micro--s0", "run:demo/s0",
                         "file:w.pth", "file:", "hub", "run:x"],
    "model.pretrained_file": ["", "w.safetensors"],
    "model.kwargs": [{}, {"img_size": 16}, {"drop_rate": 0.1}, {"nope": 1}, {"img_size": -1},
                     {"num_classes": 3}, {"pretrained": True}, {"global_pool": "avg"}],
    "model.cifar_stem": [True, False],
    "method.name": ["full", "head", "lora", "LoRA", "qlora"],
    "method.r": [1, 4, 0, -1, 2**40],
    "method.alpha": [8, 0.5, 0, -1],
    "method.dropout": [0.0, 0.5, 1.0, -0.1],
    "method.targets": [["qkv.q", "qkv.v"], [], ["fc1"], "qkv", [["x"]], ["layer[34]\\..*conv\\d"]],
    "data.name": ["digits", "synth-objects", "synth-fashion", "cifar10", "mnist", "nope"],
    "data.label": ["", "x"],
    "data.image_size": [32, 16, 8, 7, 224, 10**9],
    "data.channels": [1, 3, 2, 3.0, True],
    "data.val_fraction": [0.1, 0.5, 0, 1, 0.999],
    "data.val_from": ["train", "test", "val"],
    "data.split_seed": [0, 7, -1, 2**32],
    "data.train_limit": [0, 5, 20, 64, -3],
    "data.check_counts": [True, False, "no"],
    "data.augment": [[], ["flip"], ["crop", "jitter"], ["rotate"], "flip"],
    "data.mixup": [0.0, 0.8, -1],
    "data.cutmix": [0.0, 1.0],
    "data.mix_prob": [1.0, 0.5, 2],
    "train.epochs": [1, 2, 0, -1, 2.5],
    "train.batch_size": [1, 32, 33, 64, 0, 10**12],
    "train.eval_batch_size": [256, 0],
    "train.optimizer": ["adamw", "adam", "sgd", "rmsprop", "lion"],
    "train.lr": [1e-3, "1e-3", 0, -1, 1e30],
    "train.weight_decay": [0.0, 0.05, -0.1],
    "train.momentum": [0.9, 1.0],
    "train.schedule": ["cosine", "linear", "onecycle", "constant", "step", "cosine_restarts",
                       "exp"],
    "train.warmup_epochs": [0, 0.5, -1],
    "train.grad_clip": [0.0, 1.0, -1],
    "train.grad_clip_mode": ["norm", "value", "both"],
    "train.accum_steps": [1, 2, 0],
    "train.label_smoothing": [0.0, 0.1, 1.0],
    "train.precision": ["auto", "bf16", "fp32", "fp16"],
    "train.channels_last": [True, False],
    "train.compile": [False, 1],
    "train.fused": [False],
    "train.cache_features": [True, False],
    "train.save_weights": ["trainable", "all", "none", "some"],
    "probe.enabled": [False, True],
    "probe.images": [1024, 0],
    "probe.points_1d": [25, 2],
    "probe.points_2d": [13, 3],
    "seed": [0, 1, -1],
    "device": ["cpu", "auto", "cuda:0", "gpu", "cuda:x"],
    "threads": [0, 1, -1],
    "save_backbone": [True, False],
    "merge_check": [False, True],
    "eval_train": [False, True],
}
KEYS = sorted(PLAUSIBLE)
LABEL_JUNK = st.one_of(st.integers(-3, 10**20), st.none(), st.booleans(), st.floats())
KEY_JUNK = st.one_of(st.sampled_from(["train.eopchs", "trian.lr", "model", "train", "data.x.y",
                                      "method.targets.0", "a..b", "é", "seeds"]),
                     st.text(max_size=10))


@st.composite
def value_for(draw, key: str):
    """A plausible value of `key` most of the time, junk otherwise."""
    if draw(st.integers(0, 9)):
        return draw(st.sampled_from(PLAUSIBLE[key]))
    return draw(JUNK)


def _nest(flat: dict) -> dict:
    """{'train.lr': 1} -> {'train': {'lr': 1}} (a key that is already a value stays one)."""
    out: dict = {}
    for key, value in flat.items():
        node, *parents = out, *key.split(".")[:-1]
        ok = True
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                ok = False
                break
        if ok:
            node[key.split(".")[-1]] = value
    return out


@st.composite
def run_block(draw) -> dict:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True))
    flat = {k: draw(value_for(k)) for k in keys}
    if draw(st.integers(0, 9)) == 0:
        flat[draw(KEY_JUNK)] = draw(JUNK)
    return _nest(flat)


@st.composite
def axis(draw) -> object:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        key = draw(st.sampled_from(KEYS))
        return {"key": key, "values": draw(st.lists(value_for(key), min_size=1, max_size=3))}
    if kind in (1, 2):
        labels = st.one_of(st.sampled_from(["a", "b", "r4", "x.y", "a..b", "a/b", "a b", "-a",
                                            "é"]), st.text(max_size=5), LABEL_JUNK)
        return {"values": draw(st.dictionaries(labels, run_block(), min_size=1, max_size=3))}
    return draw(JUNK)


@st.composite
def experiment(draw) -> dict:
    doc: dict = {}
    if draw(st.booleans()):
        doc["title"] = draw(st.one_of(st.text(max_size=10), st.text(max_size=10), JUNK))
    doc["base"] = draw(st.one_of(near_demo(), near_demo(), near_demo(), run_block(), JUNK))
    if draw(st.booleans()):
        doc["axes"] = draw(st.dictionaries(st.one_of(st.sampled_from(["lr", "rank", "v"]),
                                                     st.text(max_size=5), LABEL_JUNK),
                                           axis(), max_size=2))
    if draw(st.booleans()):
        doc["seeds"] = draw(st.one_of(st.lists(st.integers(-2, 3), max_size=3), JUNK))
    if draw(st.integers(0, 2)) == 0:
        doc["report"] = draw(st.one_of(
            st.fixed_dictionaries({}, optional={
                "table": st.sampled_from(["benchmark", "paired", "grid", "study", "histogram"]),
                "caption": JUNK_SCALAR, "paired_by": JUNK, "figures": JUNK,
                "grid": JUNK, "pareto": JUNK_SCALAR, "studies": JUNK}), JUNK))
    if draw(st.integers(0, 3)) == 0:
        doc["tune"] = draw(st.one_of(st.fixed_dictionaries({}, optional={
            "key": st.sampled_from(["train.lr", "train.epochs", "seed", "x"]),
            "values": st.lists(st.one_of(FINITE, JUNK_SCALAR), max_size=3),
            "on_label": JUNK_SCALAR}), JUNK))
    if draw(st.integers(0, 3)) == 0:
        doc["profiles"] = draw(st.one_of(st.dictionaries(
            st.sampled_from(["tiny", "quick", "tinny"]),
            st.one_of(st.fixed_dictionaries({}, optional={"base": run_block(),
                                                          "seeds": JUNK, "enabled": JUNK}),
                      JUNK), max_size=2), JUNK))
    if draw(st.integers(0, 7)) == 0:
        doc[draw(st.one_of(st.sampled_from(["enabled", "seed", "description", "titel"]),
                           KEY_JUNK))] = draw(JUNK)
    return doc


DEMO_BASE = yaml.safe_load(DEMO)["base"]


@st.composite
def near_demo(draw) -> dict:
    """The demo's run, with a few of its values changed: deep enough to reach the checks
    across fields (and to plan, often)."""
    import copy

    base = copy.deepcopy(DEMO_BASE)
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True)):
        node, *parts = base, *key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = draw(value_for(key))
    return base


def _yaml(doc) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:  # a value PyYAML cannot write: write its repr instead
        return f"title: {doc!r}\n"


@st.composite
def mangled_text(draw) -> bytes:
    """The demo's text with characters inserted, deleted or replaced, and YAML's odd corners."""
    text = DEMO
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(
            st.sampled_from(["\n", ":", "{", "}", "[", "]", "-", " ", "\t", "&a ", "*a", "!!python/"
                             "object:os.system ", "!!binary ", "<<: ", "? ", "%YAML 1.2\n",
                             "---\n", "...\n", "\"", "'", "#", ",", "\x00", "\ufeff",
                             "train: {epochs: 2}\n", "  lr: .nan\n", "seeds: [0, 0]\n"]),
            st.text(alphabet=string.printable, max_size=4)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + piece + text[at + cut:]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # bytes that are not UTF-8
        data = data.replace(b"Demo", b"D\xe9mo")
    return data


OVERRIDE = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS),
              st.one_of(st.sampled_from(["1", "0", "-1", "nan", "inf", "-.inf", "1e999", "[a, b]",
                                         "{a: 1}", "&x [*x]", "[[[[[[1]]]]]]", "~", "true",
                                         "2024-01-01", "'x'", "[", "!!binary aGk=", "é", ""]),
                        st.text(max_size=8))),
    st.builds(lambda k, v: f"{k}={v}", KEY_JUNK, st.text(max_size=6)),
    st.text(max_size=10),
)



@st.composite
def plausible_experiment(draw) -> dict:
    """A table that is right but for a few values: most plan, the rest fail a check deep
    inside (bounds, rules across fields, the model's own input size, identities)."""
    doc: dict = {"title": "Fuzz", "base": draw(near_demo())}
    if draw(st.booleans()):
        key = draw(st.sampled_from(KEYS))
        doc["axes"] = {"v": {"key": key, "values": draw(st.lists(value_for(key), min_size=1,
                                                                 max_size=3))}}
    elif draw(st.booleans()):
        doc["axes"] = {"v": {"values": draw(st.dictionaries(
            st.sampled_from(["a", "b", "c"]), st.builds(_nest, st.dictionaries(
                st.sampled_from(KEYS), st.sampled_from([1, 2, 0.5, 8, "sgd", "flip"]),
                max_size=2)), min_size=1, max_size=3))}}
    if draw(st.booleans()):
        doc["seeds"] = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        doc["report"] = {"table": draw(st.sampled_from(["benchmark", "paired", "ablation",
                                                        "grid", "study"])),
                         "paired_by": draw(st.sampled_from([None, ["v"], ["w"], []]))}
    if draw(st.integers(0, 3)) == 0:
        doc["tune"] = {"key": draw(st.sampled_from(["train.lr", "method.alpha", "train.epochs"])),
                       "values": draw(st.lists(st.sampled_from([1e-3, 0.1, 0.0, 2.0, 1e30]),
                                               min_size=1, max_size=2))}
    return doc


PLAUSIBLE_OVERRIDE = st.sampled_from(KEYS).flatmap(
    lambda k: value_for(k).map(lambda v: f"{k}={json.dumps(v, default=str)}"))

# ---------------------------------------------------------------------------------------------
# the property


@pytest.fixture(scope="module")
def space():
    """A folder with the real profiles; each example writes its config into it."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "configs" / "profiles", root / "configs" / "profiles")
        yield root


def _plan(root: Path, config: bytes, overrides: list[str]) -> None:
    """`ftbench plan` on one config file and overrides: exit 0, or exit 2 with one line."""
    configs = root / "configs"
    for old in configs.glob("*.yaml"):
        old.unlink()
    (configs / "fuzz.yaml").write_bytes(config)
    results = root / "results"
    err = io.StringIO()
    argv = ["plan", "--configs", str(configs), "--results", str(results), *overrides]
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    text = err.getvalue()
    assert "Traceback" not in text, text
    if code != 0:
        assert code == 2, (code, text)
        assert text.endswith("\n") and len(text.splitlines()) == 1, text
        assert text.count("\n") == 1 and text.startswith("ftbench: error: "), text
    assert not results.exists(), "plan wrote under results/"


@SETTINGS
@given(doc=experiment(), overrides=st.lists(OVERRIDE, max_size=2))
def test_any_config_and_overrides_give_a_plan_or_one_line(space, doc, overrides):
    _plan(space, _yaml(doc).encode("utf-8", "surrogatepass"), overrides)


@SETTINGS
@given(doc=plausible_experiment(), overrides=st.lists(PLAUSIBLE_OVERRIDE, max_size=2))
def test_nearly_right_configs_give_a_plan_or_one_line(space, doc, overrides):
    _plan(space, _yaml(doc).encode("utf-8", "surrogatepass"), overrides)


@SETTINGS
@given(text=mangled_text())
def test_any_mangled_config_text_gives_a_plan_or_one_line(space, text):
    _plan(space, text, [])


@settings(SETTINGS, max_examples=EXAMPLES or 40)
@given(data=st.binary(max_size=64))
def test_any_bytes_as_a_config_give_a_plan_or_one_line(space, data):
    _plan(space, data, [])
