"""`ftbench dryrun`: every run of a profile at full size for two steps on the CPU."""

from __future__ import annotations

from ftbench.cli.registry import command


@command("dryrun", "build every run at full size and train it two steps on synthetic data on "
                   "the CPU; check shapes, gradients, parameter counts")
def dryrun(ctx) -> int:
    from ftbench.report.params import count_all
    from ftbench.tools.dryrun import dry_run

    dry_run(ctx.experiments, count_all(ctx.experiments))
    return 0
