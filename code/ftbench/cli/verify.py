"""`ftbench verify`: retrain a sample of the committed runs; identical, equivalent or different."""

from __future__ import annotations

from pathlib import Path

from ftbench.cli.registry import command
from ftbench.errors import UserError


def _verify_args(p) -> None:
    p.add_argument("--all", action="store_true", help="every planned run (default: one per "
                   "table, the shortest)")
    p.add_argument("--runs", nargs="+", metavar="TABLE/RUN", default=[],
                   help="the runs to retrain and compare")
    p.add_argument("--scratch", type=Path, help="retrain into this folder, kept (default: a "
                   "temporary one, removed afterwards but for the reports); never inside the "
                   "results folder")
    p.add_argument("--report", type=Path, help="write each report (the full difference of a "
                   "run that is not identical) under this folder (default: <scratch>/reports)")
    p.add_argument("--identical", action="store_true",
                   help="on the platform a run was made on (same CPU model, threads and torch, "
                        "ATEN_CPU_CAPABILITY unset), where it retrains bit for bit, only an "
                        "identical run passes: an equivalent one is different there")


@command("verify", "retrain a sample of the finished runs in a scratch folder; each is identical, "
                   "equivalent (inside its seeds' spread, the same conclusions) or different; "
                   "exit 1 on a different run",
         arguments=_verify_args)
def verify(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.tools.verify import DIFFERENT, EQUIVALENT, IDENTICAL, refuse_inside, sample
    from ftbench.tools.verify import verify as check

    if ctx.args.runs and ctx.args.all:
        raise UserError("verify takes --runs or --all, not both")
    # the whole results root, not only this profile's folder: nothing is written under it
    refuse_inside(ctx.args.scratch, ctx.args.results, "--scratch")
    refuse_inside(ctx.args.report, ctx.args.results, "--report")
    specs = ([find_run(ctx.experiments, k) for k in ctx.args.runs] if ctx.args.runs else
             [r for e in ctx.experiments for r in e.runs] if ctx.args.all else
             sample(ctx.experiments, ctx.results))
    outcomes = check(specs, ctx.experiments, ctx.results, ctx.args.scratch, ctx.args.report,
                     ctx.args.identical)
    counts = {v: sum(o.verdict == v for o in outcomes) for v in (IDENTICAL, EQUIVALENT,
                                                                  DIFFERENT)}
    print(f"ftbench verify: {len(outcomes)} runs: " + ", ".join(
        f"{n} {v}" for v, n in counts.items()))
    return 1 if counts[DIFFERENT] else 0
