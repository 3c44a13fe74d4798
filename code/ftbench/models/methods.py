"""Training methods: which weights train. `full`, `head` (classifier only) or `lora` (peft).

LoRA goes through peft: it initialises B to zero, so every adapter starts as an exact no-op,
and scales the update by alpha / r as a float. peft cannot target only q and v inside timm's
fused `qkv` Linear, so we first split it into three Linears with the same weights (SplitQKV);
peft then adapts `qkv.q` and `qkv.v` like any Linear, merge and unmerge included.
The head is unfrozen by hand rather than through peft's `modules_to_save`, which would keep a
second copy of it (and make peft's own printout count it twice).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from ftbench.errors import UserError
from ftbench.models.factory import classifier_prefix

REGEX_CHARS = set("^$*+?[]()|\\")


class SplitQKV(nn.Module):
    """timm's fused qkv projection as separate q, k, v Linears; output is the same [q; k; v]."""

    def __init__(self, fused: nn.Linear):
        super().__init__()
        dim = fused.out_features // 3
        bias = fused.bias is not None
        for i, name in enumerate("qkv"):
            lin = nn.Linear(fused.in_features, dim, bias=bias, device=fused.weight.device,
                            dtype=fused.weight.dtype)
            with torch.no_grad():
                lin.weight.copy_(fused.weight[i * dim : (i + 1) * dim])
                if bias:
                    lin.bias.copy_(fused.bias[i * dim : (i + 1) * dim])
            setattr(self, name, lin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.q(x), self.k(x), self.v(x)], dim=-1)


def fuse_split_qkv(model: nn.Module) -> int:
    """Undo split_fused_qkv (after merging LoRA): one fused Linear again, as timm built it."""
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, SplitQKV)]
    for name, mod in targets:
        parts = [mod.q, mod.k, mod.v]
        fused = nn.Linear(parts[0].in_features, 3 * parts[0].out_features,
                          bias=parts[0].bias is not None, device=parts[0].weight.device,
                          dtype=parts[0].weight.dtype)
        with torch.no_grad():
            fused.weight.copy_(torch.cat([p.weight for p in parts]))
            if fused.bias is not None:
                fused.bias.copy_(torch.cat([p.bias for p in parts]))
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, fused)
    return len(targets)


def split_fused_qkv(model: nn.Module) -> int:
    """Replace every `<...>.qkv` nn.Linear by a SplitQKV; returns how many were replaced."""
    targets = [(name, mod) for name, mod in model.named_modules()
               if name.split(".")[-1] == "qkv" and type(mod) is nn.Linear]
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, SplitQKV(mod))
    return len(targets)


def wants_split_qkv(targets: list[str]) -> bool:
    """Whether LoRA targets name q, k or v of timm's fused qkv projection."""
    return any(re.search(r"qkv\.[qkv]\b", t) for t in targets)


def _peft_targets(targets: list[str]):
    if len(targets) == 1 and REGEX_CHARS & set(targets[0]):
        return targets[0]  # peft matches a string with re.fullmatch on full module names
    return list(targets)


def _unfreeze_classifier(model: nn.Module, prefix: str) -> None:
    for name, p in model.named_parameters():
        if name.startswith(prefix + ".") or f".{prefix}." in name:
            p.requires_grad_(True)


def apply_method(model: nn.Module, cfg) -> nn.Module:
    """Freeze/adapt `model` per MethodConfig; returns the model to train (peft wraps LoRA)."""
    head = classifier_prefix(model)
    if cfg.name == "full":
        model.requires_grad_(True)
        return model
    model.requires_grad_(False)
    if cfg.name == "head":
        _unfreeze_classifier(model, head)
        return model
    # LoRA
    from peft import LoraConfig, get_peft_model

    if wants_split_qkv(cfg.targets):
        split_fused_qkv(model)
    lora = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                      target_modules=_peft_targets(cfg.targets), bias="none")
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:
        if "not found" in str(exc) or "did not match" in str(exc).lower():
            raise UserError(f"method.targets {cfg.targets} match no module of the model; "
                            "name Linear/Conv2d modules such as qkv.q, fc1 or conv2") from None
        raise
    _unfreeze_classifier(model, head)
    return model


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total), each tensor counted once even if registered under two names."""
    seen: dict[int, nn.Parameter] = {}
    for p in model.parameters():
        seen.setdefault(id(p), p)
    total = sum(p.numel() for p in seen.values())
    trainable = sum(p.numel() for p in seen.values() if p.requires_grad)
    return trainable, total


def set_train_mode(model: nn.Module) -> None:
    """model.train(), except that a BatchNorm whose weights are frozen keeps its statistics too."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in m.parameters(recurse=False)):
                m.eval()
