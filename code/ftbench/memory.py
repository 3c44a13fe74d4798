"""Peak memory of training, without what was resident before it started.

The datasets live on the device for the whole run (ftbench.data.pipeline). Counting them would
push every memory ratio towards 1 (seed 000 compares two methods' memory), so the meter starts
once the data are resident and before the model arrives, and reports the peak above that:
weights, gradients, optimizer state, activations (and, for classifier-only runs, the cached
features). On CUDA it reads the allocator; on a CPU the process's peak resident memory, whose
high-water mark Linux resets on request (/proc/self/clear_refs).
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")


def _kib(field: str) -> int | None:
    try:
        match = re.search(rf"{field}:\s+(\d+) kB", _STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _release_free_heap() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim), so that memory
    freed before training (the data generator's temporaries, say) and later reused by it does
    not hide what training allocates."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class MemoryMeter:
    def __init__(self, device: torch.device):
        self.device = device
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            self.base = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            self.kind = "cuda_max_allocated"
        else:
            _release_free_heap()
            linux = _kib("VmRSS") is not None and _reset_high_water_mark()
            # without a resettable high-water mark (not Linux): the whole process's peak
            self.base = _kib("VmRSS") * 1024 if linux else 0
            self.kind = "cpu_peak_rss" if linux else "cpu_peak_rss_process"

    def peak_mib(self) -> float:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.kind == "cpu_peak_rss":
            peak = _kib("VmHWM") * 1024
        else:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, else KiB
        return max(peak - self.base, 0) / 2**20
