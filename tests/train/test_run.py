"""Whole runs (ftbench.train.run), in this process: one with MixUp, CutMix, jitter and a CIFAR
stem from scratch writes a complete summary and its weights; classifier-only training on cached
features gives what recomputing them gives."""

from __future__ import annotations

import json

import pytest
import timm

from ftbench.config import RunConfig, RunSpec, from_dict, validate
from ftbench.config.identity import run_identity
from ftbench.store.summary import Summary, read_summary
from ftbench.train.run import train


def _spec(table: str, run_id: str, cfg: RunConfig) -> RunSpec:
    spec = RunSpec(table, run_id, {}, cfg)
    spec.identity = run_identity(cfg, {})
    return spec


@pytest.mark.slow
def test_a_whole_run_with_mixup_cutmix_jitter_from_scratch(tmp_path, restore_threads):
    cfg = validate(from_dict(RunConfig, {
        "model": {"name": "resnet34_micro", "cifar_stem": True},
        "data": {"name": "digits", "train_limit": 130, "augment": ["crop", "flip", "jitter"],
                 "mixup": 0.8, "cutmix": 1.0},
        "train": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.01,
                  "schedule": "onecycle", "grad_clip": 0.1, "grad_clip_mode": "value",
                  "label_smoothing": 0.1},
        "device": "cpu"}, "test"), "test")
    spec = _spec("t", "r", cfg)
    summary = train(spec, tmp_path, log=lambda *_: None)
    out = tmp_path / "runs" / "t" / "r"
    assert isinstance(summary, Summary)
    assert summary.status == "ok" and (out / "summary.json").exists()
    assert read_summary(out / "summary.json") == summary
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["config_hash"] == cfg.hash() and on_disk["identity"] == spec.identity
    assert len((out / "epochs.jsonl").read_text().splitlines()) == 2
    assert 0 <= summary.test["accuracy"] <= 1
    assert summary.params["trainable"] == summary.params["total"]
    assert (out / "weights" / "model.safetensors").exists()  # full training keeps every weight
    assert timm.is_model("resnet34_micro")


@pytest.mark.slow
def test_classifier_only_on_cached_features_equals_recomputing_them(tmp_path, restore_threads):
    def run(cache: bool) -> Summary:
        cfg = validate(from_dict(RunConfig, {
            "model": {"name": "resnet34_micro"}, "method": {"name": "head"},
            "data": {"name": "digits", "train_limit": 128},
            "train": {"epochs": 3, "batch_size": 32, "lr": 0.01, "cache_features": cache},
            "device": "cpu"}, "test"), "test")
        return train(_spec("t", f"cache-{cache}", cfg), tmp_path, log=lambda *_: None)

    cached, recomputed = run(True), run(False)
    assert cached.cached_features and not recomputed.cached_features
    assert cached.best_epoch == recomputed.best_epoch
    for key in ("accuracy", "macro_f1", "macro_auc", "loss"):
        assert cached.test[key] == pytest.approx(recomputed.test[key], abs=1e-6), key
    # augmentation makes each epoch's features different: no caching then
    cfg = validate(from_dict(RunConfig, {"method": {"name": "head"},
                                         "data": {"augment": ["flip"]}}, "t"), "t")
    from ftbench.train.features import exact_to_cache

    assert not exact_to_cache(cfg)
