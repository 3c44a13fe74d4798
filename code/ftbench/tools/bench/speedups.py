"""Case e: run.py's speed switches, each against the plain fp32 step, where it applies.

Each variant is the project's own step (bench.ours, as run.py runs it) with one switch of
TrainConfig set (channels_last, fused, compile; precision bf16 for autocast), training its own
copy of the same CNN on the same batches, already transformed on the device (the input
pipeline is case b's business). A switch that cannot run here is reported as n/a with the
one-line reason, never as a crash. No targets: these numbers inform the defaults.
"""

from __future__ import annotations

import copy
import dataclasses
import time

import torch
from torch import nn

from ftbench.config import MethodConfig, TrainConfig
from ftbench.tools.bench import ours
from ftbench.tools.bench.cases import Context
from ftbench.tools.bench.report import Row
from ftbench.tools.bench.timing import compare, time_limit
from ftbench.train.engine import Trainer, make_autocast, train_epoch

COMPILE_LIMIT_S = 150  # a cold inductor compile of the step takes ~50 s on a 2-core CPU

# key -> (case, variant, TrainConfig changes)
SWITCHES = {
    "channels_last": ("e-channels-last", "channels_last", {"channels_last": True}),
    "bf16": ("e-bf16-autocast", "bf16 autocast", {"precision": "bf16"}),
    "fused": ("e-fused-adamw", "AdamW fused=True", {"fused": True}),
    "compile": ("e-compile", "torch.compile", {"compile": True}),
}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120] if text else ''}".rstrip(": ")


def training_switches(ctx: Context) -> list[Row]:
    s, dev = ctx.sizes, ctx.device
    torch.manual_seed(0)
    base = ours.build(s.cnn, 10, 3, 32, MethodConfig(name="full"), dev).model
    data = [(torch.randn(s.batch, 3, 32, 32, device=dev),
             torch.randint(0, 10, (s.batch,), device=dev)) for _ in range(s.e_steps)]
    plain = TrainConfig(batch_size=s.batch, precision="fp32")
    total = len(data) * (s.warmup + s.repeats + 2)
    criterion = nn.CrossEntropyLoss()
    on_gpu = dev.type == "cuda"

    def variant(tcfg: TrainConfig):
        model = copy.deepcopy(base)
        net = ours.prepare(model, tcfg)
        opt, sched = ours.optimizer_for(model, tcfg, total, len(data))
        autocast = make_autocast(dev, tcfg.precision)
        trainer = Trainer(model, opt, sched, criterion, autocast, tcfg, net=net)
        return lambda: train_epoch(trainer, data)

    fns, skipped, extra = {"plain": variant(plain)}, {}, {}
    for key, (_, _, changes) in SWITCHES.items():
        if key == "compile" and not s.compile:
            skipped[key] = "skipped in --quick (compiling takes tens of seconds)"
            continue
        try:
            if key == "compile" and not on_gpu:
                import torch._inductor.config as inductor_config

                inductor_config.compile_threads = 1  # its worker pool would fight for the cores
            fn = variant(dataclasses.replace(plain, **changes))
            t0 = time.perf_counter()
            with time_limit(COMPILE_LIMIT_S if key == "compile" else 0):
                fn()  # compiles (torch.compile), looks up fused kernels: fails here if it must
            if key == "compile":
                extra[key] = f"; compiling took {time.perf_counter() - t0:.0f} s (excluded)"
            fns[key] = fn
        except Exception as exc:  # no compiler, no fused kernel here, time limit, ...
            skipped[key] = _reason(exc)
            if key == "compile":
                torch._dynamo.reset()

    t = compare(fns, dev, repeats=s.repeats, warmup=s.warmup)
    setup = (f"timm {s.cnn} (random init) full training, {len(data)} steps of batch {s.batch} "
             f"at 32 px per call, AdamW; the project's step with one train.* switch")
    notes = {
        "channels_last": "model and input in channels_last memory format",
        "bf16": "run.py's default on CUDA" if on_gpu else
                "applies on GPU (run.py autocasts only on CUDA); measured here on CPU",
        "fused": "plain AdamW is torch's default (foreach on CUDA, a for-loop on CPU)",
        "compile": "torch.compile of the model, default mode",
    }
    rows = []
    for key, (case, name, _) in SWITCHES.items():
        if key in skipped:
            rows.append(Row(case, "fp32 step", name, t["plain"], None, "",
                            f"n/a: {skipped[key]}"))
        else:
            rows.append(Row(case, "fp32 step", name, t["plain"], t[key], "",
                            f"{setup}; {notes[key]}{extra.get(key, '')}"))
    return rows
