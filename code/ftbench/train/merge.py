"""Merged versus unmerged LoRA at inference: latency, and whether predictions stay the same.

peft's merge_and_unload folds each adapter into its weight, W + (alpha / r) B A, leaving a
plain model; a split qkv projection is fused back, so the merged model is timm's own
architecture and costs what the base model costs.
"""

from __future__ import annotations

import statistics
import time

import torch

from ftbench.models.methods import fuse_split_qkv
from ftbench.train.engine import infer

TIMING_IMAGES = 512  # latency is timed on this many test images; predictions compare on all
TIMED_PASSES = 3


def _predict(model, batches, autocast) -> torch.Tensor:
    """Softmax probabilities over a whole split, in order."""
    model.eval()
    return infer(model, batches, autocast)[0].softmax(1).cpu()


@torch.no_grad()
def _seconds_per_pass(model, inputs: list[torch.Tensor], autocast) -> float:
    """Median seconds of TIMED_PASSES over `inputs` (the model is warm from _predict)."""
    times = []
    for _ in range(TIMED_PASSES):
        t0 = time.perf_counter()
        for x in inputs:
            with autocast():
                model(x)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def merge_report(model, batches, autocast) -> dict:
    """Predict and time the unmerged model, merge in place, do it again and compare.
    Consumes `model`."""
    inputs, n = [], 0
    for x, _ in batches:  # the same transformed images for both timings
        inputs.append(x[: TIMING_IMAGES - n])
        n += len(inputs[-1])
        if n >= TIMING_IMAGES:
            break
    unmerged_probs = _predict(model, batches, autocast)
    unmerged_s = _seconds_per_pass(model, inputs, autocast)
    merged = model.merge_and_unload()
    fuse_split_qkv(merged)
    merged_probs = _predict(merged, batches, autocast)
    merged_s = _seconds_per_pass(merged, inputs, autocast)
    return {
        "unmerged_ms_per_image": 1000 * unmerged_s / n,
        "merged_ms_per_image": 1000 * merged_s / n,
        "speedup": unmerged_s / merged_s,
        "same_predictions": float((unmerged_probs.argmax(1) == merged_probs.argmax(1)).float()
                                  .mean()),
        "max_prob_diff": float((unmerged_probs - merged_probs).abs().max()),
    }
