"""The speed benchmark (python -m ftbench.tools.bench): its CSV, and that each pair compares like
with
like: the same first training step, exact cached features, the same classifier training."""

from __future__ import annotations

import contextlib
import copy
import csv
import math

import pytest
import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch import nn

from ftbench.config import MethodConfig, ModelConfig, RunConfig, TrainConfig
from ftbench.data.pipeline import Batches
from ftbench.models.methods import apply_method
from ftbench.tools.bench import main, ours, reference
from ftbench.tools.bench.cases import digits28_split, objects_split, resize_difference
from ftbench.tools.bench.report import meets
from ftbench.train.engine import Trainer, train_epoch
from ftbench.train.features import CachedBatches, exact_to_cache, extract_features

CPU = torch.device("cpu")
NO_AUTOCAST = contextlib.nullcontext


@pytest.mark.slow
def test_quick_bench_csv_has_every_case_and_consistent_ratios(tmp_path):
    out = tmp_path / "x.csv"
    # one thread: a second busy process on a small machine makes two-thread timings crawl
    assert main(["--quick", "--device", "cpu", "--threads", "1", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["case"][0] for r in rows} == set("abcde")
    for r in rows:
        assert r["device"] == "cpu" and r["torch"] and r["timestamp"], r
        assert r["threads"] == "1", r
        if r["ratio"]:
            ratio, a, b = float(r["ratio"]), float(r["time_a_s"]), float(r["time_b_s"])
            assert math.isfinite(ratio) and ratio > 0, r
            assert ratio == pytest.approx(a / b, rel=1e-3), r
        if r["target"]:
            assert r["ratio"], r  # a case with a target is always measured
            op, bound = r["target"][:2], float(r["target"][2:])
            ok = float(r["ratio"]) >= bound if op == ">=" else float(r["ratio"]) <= bound
            assert r["meets_target"] == ("yes" if ok else "no"), r
        else:
            assert r["meets_target"] == "n/a", r
    by_case = {r["case"]: r for r in rows}
    assert {"a-train-step", "b-resize-28-to-224", "c-head-cached-features", "d-lora-merged",
            "d-lora-unmerged"} <= set(by_case)
    assert by_case["e-compile"]["notes"].startswith("n/a")  # skipped under --quick


def test_meets_reads_the_direction_of_the_target():
    assert meets(3.2, ">=3") == "yes" and meets(2.9, ">=3") == "no"
    assert meets(1.04, "<=1.05") == "yes" and meets(1.06, "<=1.05") == "no"
    assert meets(1.0, "") == "n/a" and meets(None, ">=1") == "n/a"


@pytest.mark.slow
def test_reference_loop_and_our_step_take_the_same_first_step():
    """Same weights, same batch: the write-ups' loop and ours give the same loss and update."""
    split = objects_split(8)
    built = ours.build("resnet34_micro", 10, 3, 32, MethodConfig(name="full"), CPU)
    ref_model = copy.deepcopy(built.model)
    tcfg = TrainConfig(batch_size=8)
    criterion = nn.CrossEntropyLoss()
    opt, sched = ours.optimizer_for(built.model, tcfg, 10, 1)
    batches = Batches(split, 8, built.transform, CPU, train=False)
    our_loss = train_epoch(Trainer(built.model, opt, sched, criterion, NO_AUTOCAST, tcfg),
                           batches).losses
    loader = reference.writeup_loader(split, 8, reference.writeup_transform(
        32, 3, built.mean, built.std), CPU, shuffle=False)
    ref_opt, ref_sched = reference.writeup_optimizer(ref_model, tcfg.lr, tcfg.weight_decay, 10)
    ref_loss = reference.train_epoch(ref_model, loader, ref_opt, ref_sched, criterion, CPU,
                                     NO_AUTOCAST)
    assert len(our_loss) == len(ref_loss) == 1
    assert our_loss[0] == pytest.approx(ref_loss[0], abs=1e-6)
    ref_state = ref_model.state_dict()
    for name, value in built.model.state_dict().items():  # weights and BatchNorm statistics
        torch.testing.assert_close(value, ref_state[name], rtol=0, atol=1e-6, msg=name)


def test_pil_resize_and_device_resize_agree_up_to_uint8_rounding():
    diff = resize_difference(digits28_split(8), 224, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
    assert diff < 1.5 / 255 / min(IMAGENET_DEFAULT_STD)


def _head_model(name: str, **kwargs):
    torch.manual_seed(0)
    return apply_method(timm.create_model(name, num_classes=5, **kwargs),
                        MethodConfig(name="head"))


@pytest.mark.parametrize("name", [pytest.param("resnet18", marks=pytest.mark.slow),
                                  "vit_micro_patch8_32"])
def test_cached_features_give_the_full_models_logits(name):
    model = _head_model(name)
    model.train()
    x, y = torch.randn(6, 3, 32, 32), torch.arange(6) % 5
    feats, labels = extract_features(model, [(x[:4], y[:4]), (x[4:], y[4:])])
    assert model.training  # modes are restored
    assert feats.shape == (6, model.num_features) and torch.equal(labels, y)
    with torch.no_grad():
        full = model.eval()(x)
        torch.testing.assert_close(model.get_classifier()(feats), full, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_classifier_trained_on_cached_features_matches_training_on_images():
    """Two epochs as train.py runs them, against the cached path in the same batch order."""
    split = objects_split(40)
    built = ours.build("resnet34_micro", 10, 3, 32, MethodConfig(name="head"), CPU)
    model = built.model
    clf = model.get_classifier()
    init = copy.deepcopy(clf.state_dict())
    tcfg, criterion = TrainConfig(batch_size=16), nn.CrossEntropyLoss()

    opt, sched = ours.optimizer_for(model, tcfg, 6, 3)
    batches = Batches(split, 16, built.transform, CPU, train=True, seed=3)
    for _ in range(2):
        train_epoch(Trainer(model, opt, sched, criterion, NO_AUTOCAST, tcfg), batches)
    trained = copy.deepcopy(clf.state_dict())

    clf.load_state_dict(init)
    feats, labels = extract_features(
        model, Batches(split, 64, built.transform, CPU, train=False))
    opt, sched = ours.optimizer_for(clf, tcfg, 6, 3)
    cached = CachedBatches(feats, labels, 16, train=True, seed=3)
    for _ in range(2):
        train_epoch(Trainer(clf, opt, sched, criterion, NO_AUTOCAST, tcfg), cached)
    for k, v in clf.state_dict().items():
        torch.testing.assert_close(v, trained[k], rtol=0, atol=1e-5, msg=k)


def _cfg(**changes) -> RunConfig:
    cfg = RunConfig(method=MethodConfig(name="head"))
    for key, value in changes.items():
        section, field = key.split("__")
        setattr(getattr(cfg, section), field, value)
    return cfg


def test_exact_to_cache_only_without_randomness_before_the_classifier():
    assert exact_to_cache(_cfg())
    assert not exact_to_cache(_cfg(method__name="full"))
    assert not exact_to_cache(_cfg(method__name="lora"))
    assert not exact_to_cache(_cfg(data__augment=["flip"]))
    assert not exact_to_cache(_cfg(data__mixup=0.8))
    assert not exact_to_cache(_cfg(data__cutmix=1.0))
    assert not exact_to_cache(_cfg(model__kwargs={"drop_rate": 0.2}))
    assert not exact_to_cache(_cfg(model__kwargs={"drop_path_rate": 0.1}))
    assert exact_to_cache(_cfg(model__kwargs={"drop_rate": 0.0}))
    cfg = _cfg()
    assert exact_to_cache(cfg, _head_model("resnet34_micro"))
    assert not exact_to_cache(cfg, _head_model("resnet34_micro", drop_rate=0.3))
    assert not exact_to_cache(cfg, _head_model("vit_micro_patch8_32", attn_drop_rate=0.1))
    assert isinstance(ModelConfig().kwargs, dict)
