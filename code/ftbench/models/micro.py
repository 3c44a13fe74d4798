"""Scaled-down members of the paper's model families, registered in timm's model registry.

The `tiny` profile cannot download pretrained weights or afford full-size models on a 2-core CPU,
so it uses these miniatures: same block designs, far fewer and narrower blocks, 32 px input. Their
names and table labels say "micro" so no reader mistakes them for the full-size models.
"""

from __future__ import annotations

import timm
from timm.models import efficientnet, generate_default_cfgs, register_model

SOURCE_CLASSES = 32  # the stand-in pretraining task (synth-source) their backbones learn


def _cfg(family: str) -> dict:
    """A micro model's pretrained config: its family's normalisation, classifier and first
    layer (what its runs trained with), at its own 32 px input, on the source task's classes,
    with no hub weights. Resized as the pipeline resizes (bilinear) and not cropped, so timm's
    `resolve_data_config` and `create_transform` preprocess as the runs did."""
    cfg = timm.models.get_pretrained_cfg(family).to_dict()
    return {**{k: cfg[k] for k in ("mean", "std", "classifier", "first_conv")},
            "input_size": (3, 32, 32), "fixed_input_size": family.startswith("vit"),
            "num_classes": SOURCE_CLASSES, "interpolation": "bilinear", "crop_pct": 1.0,
            "license": "mit"}


# Read by timm's register_model below: `timm.create_model(<micro name>)` sets it as the model's
# pretrained_cfg (each entry point passes it on to its family's builder).
default_cfgs = generate_default_cfgs({
    "vit_micro_patch8_32": _cfg("vit_base_patch16_224"),
    "resnet50_micro": _cfg("resnet50"),
    "resnet34_micro": _cfg("resnet34"),
    "efficientnet_b0_micro": _cfg("efficientnet_b0"),
})


def _no_weights(name: str, pretrained: bool, kwargs: dict) -> dict:
    """The builder's keyword arguments, with the micro model's own pretrained config."""
    if pretrained:
        raise ValueError(f"{name} has no published weights; pretrain it in the pipeline instead")
    return {**kwargs, "pretrained_cfg": kwargs.get("pretrained_cfg") or
            timm.models.get_pretrained_cfg(name)}


@register_model
def vit_micro_patch8_32(pretrained: bool = False, **kwargs):
    """ViT-B/16's design at 32 px: patch 8 (a 4x4 grid of tokens), 4 blocks of width 64 with 4
    heads (0.15 M parameters). Patch 4 (64 tokens) learned the stand-in source task four times
    slower per second on the CPU, and no faster per image."""
    kwargs = _no_weights("vit_micro_patch8_32", pretrained, kwargs)
    args = dict(img_size=32, patch_size=8, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0)
    return timm.create_model("vit_base_patch16_224", **dict(args, **kwargs))


@register_model
def resnet50_micro(pretrained: bool = False, **kwargs):
    """ResNet-50's bottleneck design at 1/4 width with one block per stage."""
    kwargs = _no_weights("resnet50_micro", pretrained, kwargs)
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), stem_width=16)
    return timm.create_model("resnet50", **dict(args, **kwargs))


@register_model
def resnet34_micro(pretrained: bool = False, **kwargs):
    """ResNet-34's basic-block design at 1/4 width with one block per stage."""
    kwargs = _no_weights("resnet34_micro", pretrained, kwargs)
    args = dict(layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), stem_width=16)
    return timm.create_model("resnet34", **dict(args, **kwargs))


@register_model
def efficientnet_b0_micro(pretrained: bool = False, **kwargs):
    """EfficientNet-B0's MBConv design at 1/4 width and 1/3 depth."""
    kwargs = _no_weights("efficientnet_b0_micro", pretrained, kwargs)
    return efficientnet._gen_efficientnet(
        "efficientnet_b0", channel_multiplier=0.25, depth_multiplier=0.34, **kwargs
    )
