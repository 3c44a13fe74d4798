"""Our side of each comparison, built from the project's own pieces as run.py uses them.
The training step itself is engine.py's `train_epoch`, the step run.py calls, called directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.data import resolve_data_config
from torch import nn

from ftbench.config import MethodConfig, ModelConfig, TrainConfig
from ftbench.data.pipeline import DeviceTransform
from ftbench.models.factory import create_model
from ftbench.models.methods import apply_method
from ftbench.train.engine import make_optimizer, make_scheduler


@dataclass
class Built:
    model: nn.Module
    transform: DeviceTransform
    mean: tuple[float, ...]
    std: tuple[float, ...]


def build(name: str, num_classes: int, channels: int, image_size: int, method: MethodConfig,
          device: torch.device, **kwargs) -> Built:
    """Model and transform as run.py builds them (random init: nothing is downloaded)."""
    model = create_model(ModelConfig(name=name, kwargs=kwargs), num_classes, channels, ".")
    data_cfg = resolve_data_config({}, model=model)
    model = apply_method(model, method).to(device)
    mean, std = tuple(data_cfg["mean"]), tuple(data_cfg["std"])
    return Built(model, DeviceTransform(image_size, channels, mean, std), mean, std)


def optimizer_for(model: nn.Module, tcfg: TrainConfig, total_steps: int, steps_per_epoch: int):
    """run.py's optimizer (train.fused picks the fused kernel) and schedule."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(tcfg, params)
    return optimizer, make_scheduler(tcfg, optimizer, total_steps, steps_per_epoch)


def prepare(model: nn.Module, tcfg: TrainConfig) -> nn.Module:
    """run.py's speed switches: channels_last moves the model (in place); returns the module
    the step calls, compiled under train.compile."""
    if tcfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if tcfg.compile else model
