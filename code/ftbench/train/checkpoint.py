"""Epoch-end checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint holds the weights that can change (trainable parameters and buffers: the frozen
rest is rebuilt identically from the config), the optimizer and scheduler, every random state
(Python, NumPy, torch CPU and CUDA, and the data order's own generator), the epoch history and
the best-by-validation weights. Restored at an epoch boundary, the rest of the run draws the same
random numbers and does the same arithmetic, so on the CPU its results are bit-identical to an
uninterrupted run's. There is no gradient scaler to save: bf16 autocast needs none.

Loading is weights-only (`torch.load(weights_only=True)`): a checkpoint is data, never code.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from ftbench.errors import UserError
from ftbench.store import atomic

FORMAT = 2  # 2: keyed by run identity (ftbench.config.identity)
# What a resume reads (ftbench.train.run.resume); a checkpoint without one of them is refused.
KEYS = ("inputs", "epoch", "resumes", "peak_mib", "model", "optimizer", "scheduler", "rng",
        "history", "best_state", "best_acc", "best_epoch", "train_time")


def rng_state(data_gen: torch.Generator) -> dict:
    np_state = np.random.get_state(legacy=False)
    return {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": np_state["state"]["pos"], "has_gauss": np_state["has_gauss"],
                  "gauss": np_state["gauss"]},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "data": data_gen.get_state(),
    }


def set_rng_state(state: dict, data_gen: torch.Generator) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
                         "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    data_gen.set_state(state["data"])


def save(path: Path, state: dict) -> None:
    atomic.write_atomic(path, lambda tmp: torch.save({"format": FORMAT, **state}, tmp))


def load(path: Path, identity: str) -> dict | None:
    """The checkpoint at `path`, or None if there is none. A checkpoint that cannot be read, or
    that another configuration wrote, is an error: resuming from it would be silently wrong."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt, or not a checkpoint at all
        raise UserError(f"checkpoint {path} cannot be read ({type(exc).__name__}: truncated or "
                        "corrupt); delete it to start this run over") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"checkpoint {path} is not an ftbench checkpoint (format "
                        f"{FORMAT}); delete it to start this run over")
    if state.get("identity") != identity:
        raise UserError(f"checkpoint {path} was saved by a different configuration (identity "
                        f"{state.get('identity')}, this run's is {identity}); delete it to "
                        "start this run over")
    lacking = [k for k in KEYS if k not in state]
    if lacking:
        raise UserError(f"checkpoint {path} is incomplete (no '{lacking[0]}'); delete it to "
                        "start this run over")
    return state
