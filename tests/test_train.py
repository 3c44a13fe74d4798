"""The training loop: schedules, MixUp/CutMix, colour jitter, the CIFAR stem, one whole run."""

from __future__ import annotations

import json

import pytest
import timm
import torch

from ftbench.config import ModelConfig, RunConfig, RunSpec, TrainConfig, from_dict, validate
from ftbench.data.pipeline import colour_jitter
from ftbench.errors import UserError
from ftbench.models.factory import create_model
from ftbench.train import make_scheduler, train


def _lrs(schedule: str, steps: int = 40) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make_scheduler(TrainConfig(schedule=schedule, lr=1.0), opt, steps, 10)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_schedule_decays_tenfold_at_half_and_three_quarters():
    lrs = _lrs("step")
    assert lrs[19] == 1.0 and lrs[20] == pytest.approx(0.1) and lrs[30] == pytest.approx(0.01)


def test_cosine_restarts_returns_to_the_full_rate_each_quarter():
    lrs = _lrs("cosine_restarts")
    assert lrs[0] == lrs[10] == lrs[20] == lrs[30] == 1.0 and lrs[9] < 0.05


def test_colour_jitter_stays_in_range_and_is_seeded():
    x = torch.rand(6, 3, 8, 8)
    a = colour_jitter(x, torch.Generator().manual_seed(1))
    b = colour_jitter(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert a.min() >= 0 and a.max() <= 1


def test_cifar_stem_keeps_resolution_through_the_stem():
    plain = create_model(ModelConfig(name="resnet34_micro"), 10, 3, "results").eval()
    cifar = create_model(ModelConfig(name="resnet34_micro", cifar_stem=True), 10, 3,
                         "results").eval()
    x = torch.randn(1, 3, 32, 32)
    assert cifar.conv1.kernel_size == (3, 3) and cifar.conv1.stride == (1, 1)
    assert cifar.forward_features(x).shape[-1] == 4 * plain.forward_features(x).shape[-1]
    with pytest.raises(UserError, match="cifar_stem needs a ResNet"):
        create_model(ModelConfig(name="vit_micro_patch4_32", cifar_stem=True), 10, 3, "results")


def test_a_whole_run_with_mixup_cutmix_jitter_from_scratch(tmp_path):
    cfg = validate(from_dict(RunConfig, {
        "model": {"name": "resnet34_micro", "cifar_stem": True},
        "data": {"name": "digits", "train_limit": 130, "augment": ["crop", "flip", "jitter"],
                 "mixup": 0.8, "cutmix": 1.0},
        "train": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.01,
                  "schedule": "onecycle", "grad_clip": 0.1, "grad_clip_mode": "value",
                  "label_smoothing": 0.1},
        "device": "cpu"}, "test"), "test")
    summary = train(RunSpec("t", "r", {}, cfg), tmp_path, log=lambda *_: None)
    out = tmp_path / "runs" / "t" / "r"
    assert summary["status"] == "ok" and (out / "summary.json").exists()
    assert json.loads((out / "summary.json").read_text())["config_hash"] == cfg.hash()
    assert len((out / "epochs.jsonl").read_text().splitlines()) == 2
    assert 0 <= summary["test"]["accuracy"] <= 1
    assert summary["params"]["trainable"] == summary["params"]["total"]
    assert timm.is_model("resnet34_micro")


def test_classifier_only_on_cached_features_equals_recomputing_them(tmp_path):
    def run(cache: bool) -> dict:
        cfg = validate(from_dict(RunConfig, {
            "model": {"name": "resnet34_micro"}, "method": {"name": "head"},
            "data": {"name": "digits", "train_limit": 128},
            "train": {"epochs": 3, "batch_size": 32, "lr": 0.01, "cache_features": cache},
            "device": "cpu"}, "test"), "test")
        return train(RunSpec("t", f"cache-{cache}", {}, cfg), tmp_path, log=lambda *_: None)

    cached, recomputed = run(True), run(False)
    assert cached["cached_features"] and not recomputed["cached_features"]
    assert cached["best_epoch"] == recomputed["best_epoch"]
    for key in ("accuracy", "macro_f1", "macro_auc", "loss"):
        assert cached["test"][key] == pytest.approx(recomputed["test"][key], abs=1e-6), key
    # augmentation makes each epoch's features different: no caching then
    cfg = validate(from_dict(RunConfig, {"method": {"name": "head"},
                                         "data": {"augment": ["flip"]}}, "t"), "t")
    from ftbench.models.features import exact_to_cache

    assert not exact_to_cache(cfg)
