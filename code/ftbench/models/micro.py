"""Scaled-down members of the paper's model families, registered in timm's model registry.

The `tiny` profile cannot download pretrained weights or afford full-size models on a 2-core CPU,
so it uses these miniatures: same block designs, far fewer and narrower blocks, 32 px input. Their
names and table labels say "micro" so no reader mistakes them for the full-size models.
"""

from __future__ import annotations

import timm
from timm.models import efficientnet, register_model


def _no_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(f"{name} has no published weights; pretrain it in the pipeline instead")


@register_model
def vit_micro_patch8_32(pretrained: bool = False, **kwargs):
    """ViT-B/16's design at 32 px: patch 8 (a 4x4 grid of tokens), 4 blocks of width 64 with 4
    heads (0.15 M parameters). Patch 4 (64 tokens) learned the stand-in source task four times
    slower per second on the CPU, and no faster per image."""
    _no_weights("vit_micro_patch8_32", pretrained)
    args = dict(img_size=32, patch_size=8, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0)
    return timm.create_model("vit_base_patch16_224", **dict(args, **kwargs))


@register_model
def resnet50_micro(pretrained: bool = False, **kwargs):
    """ResNet-50's bottleneck design at 1/4 width with one block per stage."""
    _no_weights("resnet50_micro", pretrained)
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), stem_width=16)
    return timm.create_model("resnet50", **dict(args, **kwargs))


@register_model
def resnet34_micro(pretrained: bool = False, **kwargs):
    """ResNet-34's basic-block design at 1/4 width with one block per stage."""
    _no_weights("resnet34_micro", pretrained)
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), stem_width=16)
    return timm.create_model("resnet34", **dict(args, **kwargs))


@register_model
def efficientnet_b0_micro(pretrained: bool = False, **kwargs):
    """EfficientNet-B0's MBConv design at 1/4 width and 1/3 depth."""
    _no_weights("efficientnet_b0_micro", pretrained)
    return efficientnet._gen_efficientnet(
        "efficientnet_b0", channel_multiplier=0.25, depth_multiplier=0.34, **kwargs
    )
