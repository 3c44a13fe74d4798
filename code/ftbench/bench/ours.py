"""Our side of each comparison, built from the project's own pieces as train.py uses them.

`train_epoch` mirrors the inner loop of `ftbench.train.train` line for line (without the
options the benchmark leaves at their defaults: MixUp, gradient clipping); if that loop
changes, change this copy with it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from timm.data import resolve_data_config
from torch import nn

from ftbench.config import MethodConfig, ModelConfig, TrainConfig
from ftbench.data.pipeline import DeviceTransform
from ftbench.models.factory import create_model
from ftbench.models.methods import apply_method, set_train_mode
from ftbench.train import make_optimizer, make_scheduler


def autocast_for(device: torch.device, precision: str = "auto"):
    """train.py's autocast: bf16 on CUDA under `auto`, fp32 on CPU."""
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)


@dataclass
class Built:
    model: nn.Module
    transform: DeviceTransform
    mean: tuple[float, ...]
    std: tuple[float, ...]


def build(name: str, num_classes: int, channels: int, image_size: int, method: MethodConfig,
          device: torch.device, **kwargs) -> Built:
    """Model and transform as train.py builds them (random init: nothing is downloaded)."""
    model = create_model(ModelConfig(name=name, kwargs=kwargs), num_classes, channels, ".")
    data_cfg = resolve_data_config({}, model=model)
    model = apply_method(model, method).to(device)
    mean, std = tuple(data_cfg["mean"]), tuple(data_cfg["std"])
    return Built(model, DeviceTransform(image_size, channels, mean, std), mean, std)


def optimizer_for(model: nn.Module, tcfg: TrainConfig, total_steps: int, steps_per_epoch: int):
    """train.py's optimizer (train.fused picks the fused kernel) and schedule."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(tcfg, params)
    return optimizer, make_scheduler(tcfg, optimizer, total_steps, steps_per_epoch)


def prepare(model: nn.Module, tcfg: TrainConfig) -> nn.Module:
    """train.py's speed switches: channels_last moves the model (in place); returns the module
    the step calls, compiled under train.compile."""
    if tcfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if tcfg.compile else model


def train_epoch(model, batches, optimizer, scheduler, criterion, autocast, *, net=None,
                channels_last: bool = False, accum_steps: int = 1) -> list[float]:
    """One epoch as train.py runs it in one process (its data-parallel share factor is then
    exactly 1); `net` is what the step calls (the compiled model). Returns per-step losses."""
    net = model if net is None else net
    set_train_mode(model)
    losses = []
    for step, (x, y) in enumerate(batches):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast():
            logits = net(x)
            loss = criterion(logits.float(), y)
        if not torch.isfinite(loss):
            break
        (loss / accum_steps).backward()
        if (step + 1) % accum_steps == 0 or step + 1 == len(batches):
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
        losses.append(loss.item())
        (logits.argmax(1) == y).sum().item()  # train.py counts correct predictions per step
    return losses
