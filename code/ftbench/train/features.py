"""Classifier-only training on cached features: run the frozen backbone once, not every epoch.

With method `head` only the classifier trains. When nothing before the classifier is random in
training mode (no augmentation, no MixUp/CutMix, no dropout or stochastic depth), the backbone
gives every image the same pooled features in every epoch, so they can be computed once and the
classifier trained on them: the same result, without the backbone's forward pass per epoch.
Eval mode is exact here because `set_train_mode` keeps a frozen BatchNorm in eval mode anyway.

`CachedBatches` draws its order exactly as `ftbench.data.pipeline.Batches` does for the same
seed (without augmentation, Batches' generator draws nothing but the permutation), so training
on cached features visits the images in the same order as training on the images.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import torch
from torch import nn

from ftbench.data.pipeline import Batches
from ftbench.data.splits import Split
from ftbench.train.engine import infer


def cache_blockers(cfg, model: nn.Module | None = None) -> list[str]:
    """Why caching would change the result for RunConfig `cfg` (empty: it is exact). With a
    model, its modules are checked too, for dropout that the config does not show."""
    reasons = []
    if cfg.method.name != "head":
        reasons.append(f"method.name is {cfg.method.name}, not head: the backbone trains")
    if cfg.data.augment:
        reasons.append(f"data.augment {list(cfg.data.augment)} changes the images every epoch")
    if cfg.data.mixing:
        reasons.append("MixUp/CutMix mix the images every epoch")
    for key, value in cfg.model.kwargs.items():
        if "drop" in key and value:  # drop_rate (before the classifier), drop_path_rate, ...
            reasons.append(f"model.kwargs.{key}={value} is random in training mode")
    if model is not None:
        reasons += _random_layers(model)
        if trained := _trained_outside_classifier(model):
            reasons.append(f"weights outside the classifier train ({trained[0]}, ...)")
    return reasons


def exact_to_cache(cfg, model: nn.Module | None = None) -> bool:
    """True when training the classifier on cached features gives the same result."""
    return not cache_blockers(cfg, model)


def _random_layers(model: nn.Module) -> list[str]:
    reasons = []
    if getattr(model, "drop_rate", 0):  # timm ResNet & co. apply it functionally in forward_head
        reasons.append(f"the model's drop_rate {model.drop_rate} applies before the classifier")
    # dropout inside the classifier is fine: it runs when the classifier trains on features
    head = model.get_classifier() if hasattr(model, "get_classifier") else nn.Identity()
    skip = {id(m) for m in head.modules()}
    for name, m in model.named_modules():
        if id(m) in skip or "drop" not in type(m).__name__.lower():
            continue
        rate = next((getattr(m, a) for a in ("p", "drop_prob", "prob")
                     if isinstance(getattr(m, a, None), int | float)), 0)
        if rate:
            reasons.append(f"{name} ({type(m).__name__}, {rate}) is random in training mode")
    return reasons


def _trained_outside_classifier(model: nn.Module) -> list[str]:
    head = {id(p) for p in model.get_classifier().parameters()}
    return [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head]


@torch.no_grad()
def extract_features(model: nn.Module, batches: Iterable,
                     autocast: Callable = contextlib.nullcontext,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, labels) for every (x, y) batch, in order: the pooled pre-logits of a timm
    model whose classifier is its only trainable part, computed once in eval mode.
    `model.get_classifier()(features)` gives the model's logits. Module modes are restored."""
    if trained := _trained_outside_classifier(model):
        raise ValueError(f"cached features need a frozen backbone, but {trained[:3]} train")

    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return infer(lambda x: model.forward_head(model.forward_features(x), pre_logits=True),
                     batches, autocast)
    finally:
        for m, training in modes:
            m.training = training


class CachedBatches(Batches):
    """Batches over cached features: the same order as Batches for the same seed, nothing to
    transform."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                 train: bool, seed: int = 0, drop_last: bool = False):
        super().__init__(Split(features, labels), batch_size, None, features.device,
                         train=train, seed=seed, drop_last=drop_last)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[idx], self.y[idx]
