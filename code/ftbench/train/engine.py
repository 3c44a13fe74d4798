"""The loops and the factories a run is made of (mae's `engine_*`): the training step over an
epoch, the one inference loop that evaluation, feature caching, merging and probing all call,
and the optimizer, schedule and autocast a TrainConfig asks for. No files, no configs: `run.py`
sets up and calls these.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ftbench import faults
from ftbench.errors import UserError
from ftbench.models.methods import set_train_mode
from ftbench.train import distributed


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device '{name}' requested but CUDA is not available here; "
                        "set device=cpu (or device=auto)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # timm's MixUp draws from NumPy's global generator
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False


def make_optimizer(cfg, params):
    fused = {"fused": True} if cfg.fused else {}  # one kernel for all tensors' updates
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, **fused)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)


def make_scheduler(cfg, optimizer, total_steps: int, steps_per_epoch: int):
    """Per-optimizer-step schedule: optional linear warm-up, then cosine/linear/constant decay."""
    sched = torch.optim.lr_scheduler
    if cfg.schedule == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total_steps)
    warmup = min(int(cfg.warmup_epochs * steps_per_epoch), total_steps - 1)
    rest = total_steps - warmup
    main = {
        "cosine": lambda: sched.CosineAnnealingLR(optimizer, T_max=rest),
        "linear": lambda: sched.LinearLR(optimizer, 1.0, 0.0, total_iters=rest),
        "constant": lambda: sched.ConstantLR(optimizer, factor=1.0, total_iters=0),
        "step": lambda: sched.MultiStepLR(optimizer, [rest // 2, rest * 3 // 4], gamma=0.1),
        "cosine_restarts": lambda: sched.CosineAnnealingWarmRestarts(optimizer,
                                                                     T_0=max(1, rest // 4)),
    }[cfg.schedule]()
    if not warmup:
        return main
    ramp = sched.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0,
                          total_iters=warmup)
    return sched.SequentialLR(optimizer, [ramp, main], milestones=[warmup])


def make_autocast(device: torch.device, precision: str):
    """A context factory: bf16 autocast under `bf16`, or `auto` on CUDA; fp32 otherwise."""
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


@dataclass
class Epoch:
    """One pass over the training batches, as this process saw it."""

    losses: list[float]  # per step
    loss_sum: float  # loss x images, summed
    correct: int
    seen: int
    finite: bool  # False: a loss was NaN or infinite (on any rank) and the pass stopped there


def _step(optimizer, scheduler, params, tcfg) -> None:
    """Clip, step, zero, and advance the schedule: once per `accum_steps` batches."""
    if tcfg.grad_clip and tcfg.grad_clip_mode == "norm":
        nn.utils.clip_grad_norm_(params, tcfg.grad_clip)
    elif tcfg.grad_clip:
        nn.utils.clip_grad_value_(params, tcfg.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()


@dataclass
class Trainer:
    """What the training step works with. `net` is what the step calls: the model, or its
    data-parallel or compiled wrapper, or the classifier alone on cached features."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    criterion: nn.Module
    autocast: Callable
    tcfg: object  # the run's TrainConfig
    mixup: Callable | None = None  # timm's Mixup: mixes a batch and softens its targets
    world: distributed.World = distributed.ALONE
    net: nn.Module | None = None

    def __post_init__(self):
        self.net = self.model if self.net is None else self.net


def train_epoch(t: Trainer, batches, *, channels_last: bool = True,
                desc: str = "train") -> Epoch:
    """The training step, over every batch: forward, loss, backward, and every `accum_steps`
    steps clipping, the optimizer and the scheduler. `channels_last=False` keeps inputs as they
    are where the switch cannot apply (cached features)."""
    params = [p for group in t.optimizer.param_groups for p in group["params"]]
    set_train_mode(t.model)
    done = Epoch([], 0.0, 0, 0, True)
    for step, (x, y) in enumerate(tqdm(batches, desc=desc, leave=False, disable=None)):
        if t.tcfg.channels_last and channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        target = y
        if t.mixup is not None:
            x, target = t.mixup(x, y)
        with t.autocast():
            logits = t.net(x)
            loss = t.criterion(logits.float(), target)
        if not distributed.all_finite(t.world, loss):
            done.finite = False
            break
        # a rank's share of the batch counts by its size, so that the ranks' averaged
        # gradient equals the one-process gradient even when a last batch splits unevenly
        share = len(y) * t.world.size / batches.global_size(step) if t.world.enabled else 1.0
        (loss * share / t.tcfg.accum_steps).backward()
        if (step + 1) % t.tcfg.accum_steps == 0 or step + 1 == len(batches):
            _step(t.optimizer, t.scheduler, params, t.tcfg)
        faults.point("train-step")
        done.losses.append(loss.item())
        done.loss_sum += done.losses[-1] * len(y)
        done.correct += (logits.argmax(1) == y).sum().item()
        done.seen += len(y)
    return done


@torch.no_grad()
def infer(forward: Callable, batches: Iterable, autocast, desc: str = "",
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs as float32, labels) of `forward` over every batch, in order: the one inference
    loop (evaluation, cached features, merged-model checks and probes all go through it)."""
    outputs, labels = [], []
    for x, y in tqdm(batches, desc=desc, leave=False, disable=None if desc else True):
        with autocast():
            outputs.append(forward(x).float())
        labels.append(y)
    return torch.cat(outputs), torch.cat(labels)


def evaluate(model, batches, autocast, desc: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, softmax probabilities, mean loss) over a split, in order, in eval mode."""
    model.eval()
    logits, labels = infer(model, batches, autocast, desc)
    loss = nn.functional.cross_entropy(logits, labels).item()
    return labels.cpu().numpy(), logits.softmax(1).cpu().numpy(), loss
