"""`ftbench verify`: retrain a sample of the committed runs and compare every number."""

from __future__ import annotations

from pathlib import Path

from ftbench.cli.registry import command
from ftbench.errors import UserError


def _verify_args(p) -> None:
    p.add_argument("--all", action="store_true", help="every planned run (default: one per "
                   "table, the shortest)")
    p.add_argument("--runs", nargs="+", metavar="TABLE/RUN", default=[],
                   help="the runs to retrain and compare")
    p.add_argument("--scratch", type=Path, help="retrain into this folder (default: a "
                   "temporary one, removed afterwards)")


@command("verify", "retrain a sample of the finished runs in a scratch folder and compare every "
                   "number with the committed ones; exit 1 on a difference",
         arguments=_verify_args)
def verify(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.tools.verify import sample, seed_spread
    from ftbench.tools.verify import verify as check

    if ctx.args.runs and ctx.args.all:
        raise UserError("verify takes --runs or --all, not both")
    specs = ([find_run(ctx.experiments, k) for k in ctx.args.runs] if ctx.args.runs else
             [r for e in ctx.experiments for r in e.runs] if ctx.args.all else
             sample(ctx.experiments, ctx.results))
    outcomes = check(specs, ctx.results, seed_spread(ctx.experiments, ctx.results),
                     ctx.args.scratch)
    differ = [o for o in outcomes if not o.same]
    print(f"ftbench verify: {len(outcomes) - len(differ)} of {len(outcomes)} runs reproduce")
    return 1 if differ else 0
