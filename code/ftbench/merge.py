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


@torch.no_grad()
def _predict(model, batches, autocast) -> tuple[torch.Tensor, float]:
    """Softmax probabilities over a split, and the median seconds per pass (after a warm-up)."""
    model.eval()
    times, probs = [], None
    for i in range(4):  # pass 0 warms up
        t0 = time.perf_counter()
        out = []
        for x, _ in batches:
            with autocast():
                out.append(model(x).float().softmax(1))
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        if i:
            times.append(time.perf_counter() - t0)
        probs = torch.cat(out).cpu()
    return probs, statistics.median(times)


def merge_report(model, batches, autocast) -> dict:
    """Time the unmerged model, merge in place, time it again and compare. Consumes `model`."""
    n = len(batches.y)
    unmerged_probs, unmerged_s = _predict(model, batches, autocast)
    merged = model.merge_and_unload()
    fuse_split_qkv(merged)
    merged_probs, merged_s = _predict(merged, batches, autocast)
    return {
        "unmerged_ms_per_image": 1000 * unmerged_s / n,
        "merged_ms_per_image": 1000 * merged_s / n,
        "speedup": unmerged_s / merged_s,
        "same_predictions": float((unmerged_probs.argmax(1) == merged_probs.argmax(1)).float()
                                  .mean()),
        "max_prob_diff": float((unmerged_probs - merged_probs).abs().max()),
    }
