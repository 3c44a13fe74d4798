"""The micro models carry their own pretrained config in timm's registry: 32 px, the source task's
classes, and the normalisation their runs trained with, so timm's own preprocessing works."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from PIL import Image

import ftbench.models.micro  # noqa: F401  (registers them)
from ftbench.models.micro import SOURCE_CLASSES

NAMES = ["vit_micro_patch8_32", "resnet50_micro", "resnet34_micro", "efficientnet_b0_micro"]


@pytest.mark.parametrize("name", NAMES)
def test_timm_preprocesses_a_micro_model_as_its_runs_did(name):
    model = timm.create_model(name, num_classes=7).eval()
    cfg = timm.data.resolve_data_config({}, model=model)
    assert cfg["input_size"] == (3, 32, 32) and cfg["crop_pct"] == 1.0
    assert model.pretrained_cfg["num_classes"] == SOURCE_CLASSES
    family = model.pretrained_cfg["mean"]  # the family's: what run.setup normalised with
    assert family in ((0.5, 0.5, 0.5), timm.data.IMAGENET_DEFAULT_MEAN)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8))
    x = timm.data.create_transform(**cfg)(image)
    assert x.shape == (3, 32, 32)
    with torch.no_grad():
        assert model(x[None]).shape == (1, 7)


def test_a_micro_model_has_no_published_weights():
    with pytest.raises(ValueError, match="no published weights"):
        timm.create_model("resnet34_micro", pretrained=True)
