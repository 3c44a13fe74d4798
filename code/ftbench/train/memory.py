"""Peak memory of training: what a run needs to train, whatever ran before it in its process.

The datasets live on the device for the whole run (ftbench.data.pipeline). Counting them would
push every memory ratio towards 1 (write-up 000 compares two methods' memory), so neither meter
counts them.

- CUDA (`cuda_max_allocated`): the allocator's peak above what was allocated when the run
  started, its peak statistics reset at that point, so each run of a process measures its own.
- CPU (`cpu_tensors`): the bytes of the tensors a training step holds, counted with torch's own
  hooks during the first step a process trains: every parameter and buffer of the module the
  step calls, a gradient for each trainable parameter, the optimizer's state, the input batch
  and the activations autograd saves for the backward pass (`saved_tensors_hooks`), each storage
  once; plus the cached features of a classifier-only run. It depends only on the model, the
  method, the optimizer and the batch shape, so every seed of a configuration gets the same
  figure, wherever it runs in its process. (The process's resident set, which this replaces,
  kept the high-water mark of whatever ran before: the allocator does not give memory back.)
- CPU with `train.compile` (`cpu_peak_rss`): compiled graphs do not run Python hooks per
  tensor, so the process's peak resident memory above its level at the start, as before.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import torch
from torch import nn

_STATUS = Path("/proc/self/status")


def _kib(field: str) -> int | None:
    try:
        match = re.search(rf"{field}:\s+(\d+) kB", _STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _bytes(tensors) -> int:
    """Bytes of the distinct storages behind `tensors`."""
    seen = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


class StepTensors:
    """Counts, during the steps it watches, the largest input batch plus saved activations of
    one forward pass (see the module's docstring)."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.exclude = {p.untyped_storage().data_ptr() for p in module.parameters()}
        self.exclude |= {b.untyped_storage().data_ptr() for b in module.buffers()}
        self.step: dict[int, int] = {}
        self.peak = 0

    def _start(self, _module, args) -> None:
        self.step = {}
        for t in args:
            if isinstance(t, torch.Tensor):
                self._add(t)

    def _add(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self.exclude and ptr not in self.step:
            self.step[ptr] = storage.nbytes()
            self.peak = max(self.peak, sum(self.step.values()))

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self._add(t)
        return t

    @contextlib.contextmanager
    def watching(self):
        handle = self.module.register_forward_pre_hook(self._start)
        try:
            with torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t):
                yield self
        finally:
            handle.remove()


class MemoryMeter:
    def __init__(self, device: torch.device, compiled: bool = False):
        self.device = device
        self.tensors: StepTensors | None = None
        self.fixed = 0  # bytes held throughout training besides the step's (cached features)
        self.optimizer_state = 0
        self.trainable = 0
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            self.base = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            self.kind = "cuda_max_allocated"
        elif compiled and _kib("VmRSS") is not None and _reset_high_water_mark():
            self.base = _kib("VmRSS") * 1024
            self.kind = "cpu_peak_rss"
        else:
            self.kind = "cpu_tensors"

    def watch(self, module: nn.Module, optimizer: torch.optim.Optimizer, fixed: int = 0):
        """A context for the first steps this process trains (CPU tensors; else nothing)."""
        if self.kind != "cpu_tensors":
            return contextlib.nullcontext()
        self.fixed = fixed
        self.tensors = StepTensors(module)
        self._optimizer = optimizer
        return self.tensors.watching()

    def _cpu_tensor_bytes(self) -> int:
        if self.tensors is None:  # nothing trained in this process (a diverged first step)
            return 0
        module = self.tensors.module
        params = _bytes([*module.parameters(), *module.buffers()])
        grads = sum(p.nbytes for p in module.parameters() if p.requires_grad)
        state = _bytes(v for s in self._optimizer.state.values() for v in s.values())
        return params + grads + state + self.tensors.peak + self.fixed

    def peak_mib(self) -> float:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) - self.base
        elif self.kind == "cpu_peak_rss":
            peak = _kib("VmHWM") * 1024 - self.base
        else:
            peak = self._cpu_tensor_bytes()
        return max(peak, 0) / 2**20


def _reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
