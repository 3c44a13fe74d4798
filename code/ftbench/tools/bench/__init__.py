"""Speed claims measured side by side in one process: `python -m ftbench.tools.bench` (make bench).

reference.py  the write-ups' way (Dataset + DataLoader, per-sample PIL transforms, plain loop)
ours.py       the project's way, built from the pieces run.py uses
cases.py      cases a-d; speedups.py: case e (channels_last, bf16, fused AdamW, compile)
timing.py     synchronised, warmed-up, interleaved medians
report.py     ratios, targets, CSV and the printed table
runner.py     the command line
"""

from ftbench.tools.bench.runner import main

__all__ = ["main"]
