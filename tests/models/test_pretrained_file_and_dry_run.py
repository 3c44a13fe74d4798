"""Pretrained weights from a local file (offline machines), and the full-size dry run."""

from __future__ import annotations

import pytest
import timm
import torch

from ftbench import config
from ftbench.config import ModelConfig, RunConfig, from_dict, validate
from ftbench.errors import UserError
from ftbench.models.factory import create_model
from ftbench.report.params import count_all
from ftbench.tools.dryrun import dry_run
from helpers import ROOT


@pytest.mark.slow
def test_pretrained_file_loads_the_same_backbone(tmp_path):
    torch.manual_seed(0)
    source = timm.create_model("resnet18", num_classes=1000).eval()
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    cfg = ModelConfig(name="resnet18", pretrained="timm", pretrained_file=str(path))
    model = create_model(cfg, num_classes=7, in_chans=3, results_dir=tmp_path).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.forward_features(x), source.forward_features(x))
    assert model.get_classifier().out_features == 7  # a new head for the run's classes


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    (b"\x00not a checkpoint", "cannot load model.pretrained_file"),
])
def test_missing_or_unreadable_pretrained_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "w.pth"
    if content is not None:
        path.write_bytes(content)
    cfg = ModelConfig(name="resnet18", pretrained="timm", pretrained_file=str(path))
    with pytest.raises(UserError, match=message) as err:
        create_model(cfg, num_classes=7, in_chans=3, results_dir=tmp_path)
    assert "\n" not in str(err.value)


class _Payload:  # an arbitrary object: a weights-only load must refuse to unpickle it
    pass


def test_checkpoints_load_weights_only(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": _Payload()}, path)
    cfg = ModelConfig(name="resnet18", pretrained="timm", pretrained_file=str(path))
    with pytest.raises(UserError, match="cannot load model.pretrained_file"):
        create_model(cfg, num_classes=7, in_chans=3, results_dir=tmp_path)


def test_pretrained_file_needs_timm_weights():
    cfg = from_dict(RunConfig, {"model": {"pretrained_file": "w.pth"}}, "x.yaml")
    with pytest.raises(UserError, match="needs model.pretrained: timm"):
        validate(cfg, "x.yaml")


def _scratch(profile="tiny"):
    return [e for e in config.load_all(ROOT / "configs", profile) if e.name == "resnet34-scratch"]


@pytest.mark.slow
def test_dry_run_checks_every_run_against_the_params_table():
    exps = _scratch()
    rows = count_all(exps)
    assert dry_run(exps, rows, log=lambda _: None) == 75  # 15 settings x 5 seeds
    rows[0] = dict(rows[0], trainable_params=rows[0]["trainable_params"] + 1)
    with pytest.raises(UserError, match="but the params table says"):
        dry_run(exps, rows, log=lambda _: None)


@pytest.mark.slow
def test_dry_run_of_seed_003_at_full_size():
    exps = [e for e in config.load_all(ROOT / "configs", "paper") if e.name == "vit-lora-food101"]
    rows = count_all(exps)
    assert int(rows[0]["trainable_params"]) == 1_257_317
    assert dry_run(exps, rows, log=lambda _: None) == 3  # ViT-B/16, 224 px, 4 accumulation steps
