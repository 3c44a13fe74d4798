"""Honest wall-clock timing: synchronise before reading the clock, warm up, interleave, median.

Variants are timed round-robin (alternating the order every repeat) rather than one after the
other, so slow drift of the machine (thermal state, other load) hits all of them alike.
"""

from __future__ import annotations

import contextlib
import signal
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds for one call of `fn`, with queued device work finished on both sides."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


@dataclass
class Timing:
    """Seconds of each timed call of one variant."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        """(slowest - fastest) / median: how much this machine wobbled while timing."""
        return (max(self.times) - min(self.times)) / self.median


def compare(fns: dict[str, Callable[[], object]], device: torch.device, *, repeats: int,
            warmup: int = 1) -> dict[str, Timing]:
    """Time each function `repeats` times, after `warmup` untimed calls of each."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(clock(fns[name], device))
    return {name: Timing(t) for name, t in times.items()}


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise TimeoutError if the block runs longer than `seconds` (a SIGALRM timer, so only
    in the main thread of a POSIX process; elsewhere the block runs unbounded)."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def expire(_signum, _frame):
        raise TimeoutError(f"took longer than {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
