"""LoRA through peft: exact no-op at start, gradients flow, alpha/r scaling, q/v of fused qkv."""

from __future__ import annotations

import pytest
import timm
import torch

from ftbench.config import MethodConfig
from ftbench.errors import UserError
from ftbench.models.methods import SplitQKV, apply_method, count_parameters, split_fused_qkv


def _vit(**kw):
    torch.manual_seed(0)
    return timm.create_model("vit_micro_patch8_32", num_classes=5, **kw).eval()


def _lora(r=4, alpha=8.0, targets=("qkv.q", "qkv.v"), dropout=0.0):
    return MethodConfig(name="lora", r=r, alpha=alpha, dropout=dropout, targets=list(targets))


def _lora_layers(model):
    return {n: m for n, m in model.named_modules() if hasattr(m, "lora_A") and m.lora_A}


def test_split_qkv_reproduces_the_fused_projection():
    model = _vit()
    x = torch.randn(3, 3, 32, 32)
    ref = model(x)
    assert split_fused_qkv(model) == 4
    assert all(isinstance(b.attn.qkv, SplitQKV) for b in model.blocks)
    torch.testing.assert_close(model(x), ref, rtol=0, atol=1e-6)


def test_lora_starts_as_exact_no_op_and_only_q_v_are_adapted():
    model = _vit()
    x = torch.randn(3, 3, 32, 32)
    ref = model(x)
    peft_model = apply_method(model, _lora()).eval()
    torch.testing.assert_close(peft_model(x), ref, rtol=0, atol=1e-6)
    names = sorted(_lora_layers(peft_model))
    assert len(names) == 8 and all(n.endswith(("qkv.q", "qkv.v")) for n in names)


@pytest.mark.slow
def test_every_adapter_receives_gradients():
    torch.manual_seed(0)
    model = apply_method(_vit(), _lora())
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    for _ in range(2):  # B starts at zero, so A's gradient is zero until B has moved once
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for name, p in model.named_parameters():
        if "lora_" in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        elif not p.requires_grad:
            assert p.grad is None, name


@pytest.mark.parametrize("r, alpha", [(32, 16), (4, 32), (16, 16), (3, 1)])
def test_scaling_is_alpha_over_r_as_a_float(r, alpha):
    model = apply_method(_vit(), _lora(r=r, alpha=alpha))
    for layer in _lora_layers(model).values():
        assert layer.scaling["default"] == alpha / r  # 16/32 = 0.5, not 0


def test_head_trains_with_the_adapters_and_nothing_else():
    model = apply_method(_vit(), _lora(r=2))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or ".head." in n for n in trainable)
    assert any(n.endswith("head.weight") for n in trainable)


def test_merged_model_predicts_like_the_unmerged_one():
    torch.manual_seed(0)
    model = apply_method(_vit(), _lora(r=4, alpha=8))
    with torch.no_grad():
        for layer in _lora_layers(model).values():
            layer.lora_B["default"].weight.normal_(0, 0.1)  # a trained-looking adapter
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    unmerged = model(x)
    merged = model.merge_and_unload()
    torch.testing.assert_close(merged(x), unmerged, rtol=1e-4, atol=1e-5)


def test_lora_on_convolutions_by_regex():
    torch.manual_seed(0)
    model = timm.create_model("resnet34_micro", num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    ref = model(x)
    peft_model = apply_method(model, _lora(targets=[r"layer[34]\..*conv\d"])).eval()
    layers = _lora_layers(peft_model)
    assert layers and all(".layer3." in n or ".layer4." in n for n in layers)
    torch.testing.assert_close(peft_model(x), ref, rtol=0, atol=1e-6)


def test_targets_that_match_nothing_are_a_user_error():
    with pytest.raises(UserError, match="match no module"):
        apply_method(_vit(), _lora(targets=["query"]))


@pytest.mark.slow
def test_seed_003_parameter_count_at_full_size():
    """ViT-B/16, 101 classes, LoRA r=32 on q and v: 1,257,317 trainable of 87,055,973."""
    model = timm.create_model("vit_base_patch16_224", num_classes=101)
    model = apply_method(model, _lora(r=32, alpha=16, dropout=0.1))
    assert count_parameters(model) == (1_257_317, 87_055_973)


@pytest.mark.slow
def test_merge_report_times_both_and_predictions_agree():
    from ftbench.data.pipeline import Batches, DeviceTransform
    from ftbench.data.splits import Split
    from ftbench.train.merge import merge_report

    torch.manual_seed(0)
    model = apply_method(_vit(), _lora(r=4, alpha=8))
    with torch.no_grad():
        for layer in _lora_layers(model).values():
            layer.lora_B["default"].weight.normal_(0, 0.1)
    split = Split(torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8), torch.arange(40) % 5)
    batches = Batches(split, 16, DeviceTransform(32, 3, (0.5,) * 3, (0.5,) * 3),
                      torch.device("cpu"), train=False)
    report = merge_report(model, batches, lambda: torch.autocast("cpu", enabled=False))
    assert report["same_predictions"] == 1.0 and report["max_prob_diff"] < 1e-5
    assert report["unmerged_ms_per_image"] > 0 and report["merged_ms_per_image"] > 0
