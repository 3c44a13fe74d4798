"""What a run does after its test evaluation, each step returning what it adds to the summary.

The steps run in order on the model at its chosen (best-by-validation) weights, after the
memory peak of training was read: none of them counts as training.
"""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import save_file

from ftbench.data.pipeline import Batches
from ftbench.models.card import base_reference
from ftbench.models.factory import backbone_state
from ftbench.store import atomic
from ftbench.store.layout import BACKBONE
from ftbench.train import engine


def train_accuracy(s, p) -> dict:
    """Accuracy on the clean (unaugmented) training images: the train-test gap (write-up 001)."""
    if not s.cfg.eval_train:
        return {}
    clean = Batches(s.data.train, s.cfg.train.eval_batch_size, s.transform, s.device,
                    train=False)
    y, probs, _ = engine.evaluate(s.model, clean, s.autocast, "train set")
    return {"train_accuracy": float((probs.argmax(1) == y).mean())}


def probes(s, p) -> dict:
    """Write-up 001's looks inside the network (ftbench.train.probes), saved to probes.npz."""
    if not s.cfg.probe.enabled:
        return {}
    from ftbench.train.probes import run_probes

    arrays, scalars = run_probes(s.model, s.init_state, p.best_state, s.data.train, s.data.test,
                                 s.transform, s.device, s.autocast, s.cfg.probe, s.cfg.seed)
    atomic.write_atomic(s.folder / "probes.npz", lambda tmp: np.savez_compressed(tmp, **arrays))
    return {"probe": scalars}


def backbone(s, p) -> dict:
    """A pretraining run's backbone (no classifier), for the runs that start from it."""
    if not s.cfg.save_backbone:
        return {}

    base = s.model.get_base_model() if hasattr(s.model, "get_base_model") else s.model
    state = {k: v.contiguous() for k, v in backbone_state(base).items()}
    atomic.write_atomic(s.folder / BACKBONE, lambda tmp: save_file(state, str(tmp)))
    return {}


def weights(s, p) -> dict:
    """What the run trained (ftbench.models.weights): adapters, head or the whole model."""
    from ftbench.models import weights as saved

    files = saved.save(s.model, s.cfg, s.folder, base_reference(s.cfg.model, s.results))
    return {"weights": {"save_weights": s.cfg.train.save_weights, "files": files}}


def merge(s, p) -> dict:
    """LoRA merged into the weights against unmerged: latency and predictions (write-up 002). It
    merges the model in place, so it comes last."""
    if not (s.cfg.merge_check and s.cfg.method.name == "lora"):
        return {}
    from ftbench.train.merge import merge_report

    test = Batches(s.data.test, s.cfg.train.eval_batch_size, s.transform, s.device, train=False)
    with torch.no_grad():
        return {"merge": merge_report(s.model, test, s.autocast)}


POST_RUN = [train_accuracy, probes, backbone, weights, merge]
