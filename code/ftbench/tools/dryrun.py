"""Dry run: every run of a profile at full size for two optimizer steps, on the CPU, in minutes.

Each run's exact model, input size, channels, classes, method (LoRA targets included), optimizer
and gradient accumulation are built with random weights and trained for two steps on a batch of
two synthetic images. The logits must have the run's shape, every trainable tensor must get a
non-zero gradient, and the trainable and total parameter counts must equal the params table. It
exists so that a long GPU job never dies at its last table on a configuration typo.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from tqdm import tqdm

from ftbench.config import Experiment, RunSpec
from ftbench.config.identity import params_key, shape_key
from ftbench.data.registry import DATASETS
from ftbench.errors import UserError
from ftbench.models.factory import create_model, untrained
from ftbench.models.methods import apply_method, count_parameters, set_train_mode
from ftbench.report.params import configurations
from ftbench.train.engine import make_optimizer

STEPS = 2
BATCH = 2


@torch.no_grad()
def wake_zeros(model: nn.Module, gen: torch.Generator) -> None:
    """Give every all-zero tensor small random values. A zero-initialised tensor (LoRA's B,
    the last BatchNorm weight of each timm ResNet block) makes the gradients of what lies
    behind it exactly zero at initialisation, so a gradient check would pass whether or not
    those tensors are wired to the loss. This copy is only for the check."""
    for p in model.parameters():
        if p.numel() and not p.any():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.02)


def _silent(model: nn.Module) -> list[str]:
    """Trainable tensors whose gradient is missing or exactly zero."""
    return [n for n, p in model.named_parameters()
            if p.requires_grad and (p.grad is None or not p.grad.any())]


def check_run(spec: RunSpec) -> dict:
    c = spec.config
    classes = DATASETS[c.data.name].num_classes
    model = apply_method(create_model(untrained(c.model), classes, c.data.channels,
                                      results_dir=None), c.method)
    trainable, total = count_parameters(model)
    wake_zeros(model, torch.Generator().manual_seed(1))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(c.train, params)
    gen = torch.Generator().manual_seed(0)
    side = c.data.image_size
    set_train_mode(model)
    for _ in range(STEPS):
        for _ in range(c.train.accum_steps):
            x = torch.randn(BATCH, c.data.channels, side, side, generator=gen)
            y = torch.randint(0, classes, (BATCH,), generator=gen)
            logits = model(x)
            if tuple(logits.shape) != (BATCH, classes):
                raise UserError(f"{spec.key}: logits have shape {tuple(logits.shape)}, "
                                f"expected {(BATCH, classes)}")
            (nn.functional.cross_entropy(logits, y) / c.train.accum_steps).backward()
        if silent := _silent(model):
            raise UserError(f"{spec.key}: {len(silent)} trainable tensors get no (or a zero) "
                            f"gradient, e.g. {silent[0]}")
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return {"trainable": trainable, "total": total, "classes": classes}


def dry_run(experiments: list[Experiment], params_rows: list[dict], log=print) -> int:
    """Check every run; compare counts with the params table. Returns the number of runs."""
    rows = {(r["table"], r["variant"], int(r["classes"])): r for r in params_rows}
    variant_of = {item["key"]: item["variant"] for item in configurations(experiments)}
    done: dict[str, dict] = {}
    runs = [r for e in experiments for r in e.runs]
    t0 = time.perf_counter()
    for spec in tqdm(runs, desc="dry run", disable=None):
        key = shape_key(spec.config)
        if key not in done:
            done[key] = check_run(spec)
        got = done[key]
        variant = variant_of[params_key(spec.table, spec.config)]
        row = rows.get((spec.table, variant, got["classes"]))
        if row is None:
            raise UserError(f"{spec.key}: no row ({spec.table}, {variant}, {got['classes']} "
                            "classes) in the params table; rebuild it with 'make params'")
        if (got["trainable"], got["total"]) != (int(row["trainable_params"]),
                                                int(row["total_params"])):
            raise UserError(
                f"{spec.key}: {got['trainable']:,} trainable of {got['total']:,} parameters, "
                f"but the params table says {int(row['trainable_params']):,} of "
                f"{int(row['total_params']):,}")
    log(f"dry run: {len(runs)} runs ({len(done)} distinct models) passed in "
        f"{time.perf_counter() - t0:.0f} s: shapes, gradients and parameter counts as planned")
    return len(runs)
