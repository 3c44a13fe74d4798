"""Data-parallel training on torch's own engine: `torchrun --nproc_per_node=N -m ftbench run ...`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; we join the process group (NCCL on GPUs, gloo on
the CPU), wrap the model in DistributedDataParallel and split the work:

- training: every rank draws the same shuffled order and the same augmentation of each global
  batch (one seeded generator, in step on all ranks), then keeps its contiguous share; each
  share's loss is weighted by its size, so the averaged gradient is the single-process one;
- evaluation: each rank scores a contiguous chunk of the split; the chunks are gathered in rank
  order, so metrics are computed over the whole split, exactly as in one process;
- only rank 0 writes files.

Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ftbench.data.splits import Split
from ftbench.errors import UserError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


ALONE = World()  # one process, no torchrun


def init(device_name: str) -> World:
    """Join torchrun's process group if there is one; returns this process's place in it."""
    world = _from_env()
    if not world.enabled:
        return ALONE
    gpu = device_name != "cpu" and torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():  # once per process: the runs of a group share the group
        dist.init_process_group("nccl" if gpu else "gloo")
        atexit.register(_leave)
    return world


def _leave() -> None:
    """Leave the process group when the process ends. Not after each run: the seeds of a
    configuration train one after another in one torchrun process (GROUP_RUNS=1), and a group
    set up again from torchrun's environment finds its rendezvous store gone."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _from_env() -> World:
    """torchrun's variables, checked: a WORLD_SIZE left over in a shell (or set by another
    launcher) would otherwise end in a ValueError or KeyError deep inside the run."""
    fix = "run under torchrun, or unset WORLD_SIZE"
    size = _env_int("WORLD_SIZE", "1", fix)
    if size <= 1:
        return ALONE
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):  # what torch's env:// rendezvous reads
        if not os.environ.get(name):
            raise UserError(f"WORLD_SIZE is {size} but {name} is not set; {fix}")
    rank = _env_int("RANK", "0", fix)
    if not 0 <= rank < size:
        raise UserError(f"RANK {rank} is not in [0, {size}) (WORLD_SIZE {size}); {fix}")
    return World(rank, size, _env_int("LOCAL_RANK", "0", fix))


def _env_int(name: str, default: str, fix: str) -> int:
    raw = os.environ.get(name) or default  # set but empty counts as unset
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"{name}={raw!r} is not a whole number; {fix}") from None


def device_for(world: World, device: torch.device) -> torch.device:
    return torch.device("cuda", world.local_rank) if world.enabled and device.type == "cuda" \
        else device


def check_sizes(world: World, batch_size: int, mixing: bool, n_train: int, n_eval: int) -> None:
    """Every rank must get a share of every batch (MixUp: an even one) and of every split."""
    if not world.enabled:
        return
    step = world.size * (2 if mixing else 1)
    if batch_size % step:
        raise UserError(f"train.batch_size {batch_size} does not split into {world.size} "
                        f"{'even ' if mixing else ''}shares; use a multiple of {step} "
                        "(it is the global batch)")
    if not mixing and 0 < n_train % batch_size < world.size:
        raise UserError(f"the last training batch ({n_train % batch_size} images) is smaller "
                        f"than the {world.size} processes; change train.batch_size")
    if n_eval < world.size:
        raise UserError(f"an evaluation split of {n_eval} images is smaller than the "
                        f"{world.size} processes; use fewer processes")


def share(world: World, n: int) -> slice:
    """This rank's contiguous share of n items (the first n % size ranks get one more)."""
    base, extra = divmod(n, world.size)
    start = world.rank * base + min(world.rank, extra)
    return slice(start, start + base + (world.rank < extra))


def chunk(world: World, split: Split) -> Split:
    """This rank's chunk of an evaluation split."""
    if not world.enabled:
        return split
    part = share(world, len(split))
    return Split(split.x[part], split.y[part])


def gather(world: World, labels: np.ndarray, probs: np.ndarray, loss: float):
    """Every rank's (labels, probabilities, mean loss) -> the whole split's, in order."""
    if not world.enabled:
        return labels, probs, loss
    parts = [None] * world.size
    dist.all_gather_object(parts, (labels, probs, loss * len(labels)))
    y = np.concatenate([p[0] for p in parts])
    return y, np.concatenate([p[1] for p in parts]), sum(p[2] for p in parts) / len(y)


def broadcast_buffers(world: World, module: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) to every rank: under DDP each rank's
    last training step updated its own copy."""
    if world.enabled:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def total(world: World, *values: float) -> list[float]:
    """Sums over all ranks (the epoch's loss, correct and seen counts)."""
    if not world.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return t.tolist()


def all_finite(world: World, loss: torch.Tensor) -> bool:
    """Whether the loss is finite on every rank: all ranks must stop at the same step."""
    finite = torch.isfinite(loss.detach()).float()
    if world.enabled:
        finite = finite.to(_comm_device())
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite.item())


def _comm_device() -> str:
    return "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces GPU tensors only


def finish(world: World) -> None:
    """The end of a run's shared work: every rank waits here, then rank 0 writes alone."""
    if world.enabled and dist.is_initialized():
        dist.barrier()
