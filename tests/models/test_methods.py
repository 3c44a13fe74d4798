"""Classifier-only and full training: what is frozen, BatchNorm statistics, parameter counts."""

from __future__ import annotations

import timm
import torch
from torch import nn

from ftbench.config import MethodConfig
from ftbench.models.methods import apply_method, count_parameters, set_train_mode


def _bn_stats(model):
    return {n: b.clone() for n, b in model.named_buffers() if "running" in n}


def _step(model):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    set_train_mode(model)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 5
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def test_head_freezes_backbone_weights_and_batchnorm_statistics():
    torch.manual_seed(0)
    model = apply_method(timm.create_model("resnet50_micro", num_classes=5), MethodConfig("head"))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    before = {n: p.clone() for n, p in model.named_parameters()}
    stats = _bn_stats(model)
    _step(model)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]) == (n not in trainable), n
    for n, b in _bn_stats(model).items():
        assert torch.equal(b, stats[n]), n


def test_full_training_updates_batchnorm_statistics():
    torch.manual_seed(0)
    model = apply_method(timm.create_model("resnet50_micro", num_classes=5), MethodConfig("full"))
    stats = _bn_stats(model)
    _step(model)
    assert any(not torch.equal(b, stats[n]) for n, b in _bn_stats(model).items())
    trainable, total = count_parameters(model)
    assert trainable == total == sum(p.numel() for p in model.parameters())


def test_a_shared_parameter_is_counted_once():
    a = nn.Linear(4, 4)
    model = nn.Sequential(a, nn.ReLU(), nn.Linear(4, 4))
    model[2].weight = a.weight  # tied
    assert count_parameters(model) == (4 * 4 + 4 + 4, 4 * 4 + 4 + 4)
