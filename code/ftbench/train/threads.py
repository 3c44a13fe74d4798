"""How many CPU threads a run computes with: the CPUs it was given, not the host's.

Float sums, and so the numbers, depend on the thread count, so it is chosen once, in this order,
and recorded with where it came from (`threads`, `threads_from` in a summary's `env`):

1. `config`: the run's `threads` setting;
2. `FTBENCH_THREADS`: the profile's choice, which make hands every run: one on the tiny profile
   (its numbers must not depend on the machine, JOBS or a launcher), the CPUs make may use
   divided by JOBS on the others, unless LAUNCH gives each run CPUs of its own;
3. `slurm step`: inside a SLURM job step (`srun --cpus-per-task=N`), the step's N, shared by the
   processes torchrun starts on it (LOCAL_WORLD_SIZE);
4. `OMP_NUM_THREADS`: a choice made outside (the caller's shell, or torchrun's default of one);
5. `affinity`: the CPUs this process may run on (`taskset`, a cgroup, a container).
"""

from __future__ import annotations

import os


def _positive(raw: str | None) -> int | None:
    try:
        n = int(raw or "")
    except ValueError:
        return None
    return n if n > 0 else None


def threads_for(configured: int) -> tuple[int, str]:
    """(threads, where the number came from) for a run whose config says `configured`."""
    if configured:
        return configured, "config"
    if n := _positive(os.environ.get("FTBENCH_THREADS")):
        return n, "FTBENCH_THREADS"
    if os.environ.get("SLURM_STEP_ID") and (n := _positive(os.environ.get("SLURM_CPUS_PER_TASK"))):
        return max(1, n // (_positive(os.environ.get("LOCAL_WORLD_SIZE")) or 1)), "slurm step"
    if n := _positive(os.environ.get("OMP_NUM_THREADS")):
        return n, "OMP_NUM_THREADS"
    return len(os.sched_getaffinity(0)), "affinity"


def slurm_step() -> dict | None:
    """The SLURM job and step a run ran in (None outside SLURM): which job step made it."""
    if not os.environ.get("SLURM_JOB_ID"):
        return None
    keys = {"job": "SLURM_JOB_ID", "step": "SLURM_STEP_ID", "cpus_per_task": "SLURM_CPUS_PER_TASK",
            "node": "SLURMD_NODENAME"}
    return {k: os.environ.get(v) for k, v in keys.items()}
