"""`ftbench run`: train runs in this process, planned ones in place, one-offs apart."""

from __future__ import annotations

from ftbench.cli.registry import command
from ftbench.errors import UserError


def _run_args(p) -> None:
    p.add_argument("run", nargs="+", metavar="TABLE/RUN",
                   help="run keys as `ftbench plan` lists them (then key=value overrides)")
    p.add_argument("--planned", action="store_true",
                   help="the overrides are the plan's (Make passes its OVERRIDES): write to the "
                        "planned run's folder")
    p.set_defaults(overrides=[])


@command("run", "train and test runs (one process); each writes <run>/summary.json last",
         arguments=_run_args, writes_results=True)
def run(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.plan.state import state
    from ftbench.store.layout import oneoff_dir, run_dir
    from ftbench.train.run import train

    keys = ctx.args.run
    if ctx.overrides and not ctx.args.planned:  # one-offs: never in the planned runs' place
        from ftbench.config import load_all, with_overrides
        from ftbench.config.experiments import check_upstream

        plan = load_all(ctx.args.configs, ctx.args.profile)
        _share_tree(ctx)
        for key in keys:
            planned = find_run(plan, key)
            spec = with_overrides(planned, ctx.overrides)
            check_upstream(spec, plan, ctx.args.profile, f"{spec.key} with overrides")
            folder = oneoff_dir(ctx.results, spec)
            print(f"ftbench run: the overrides are not in the plan, so this run goes to "
                  f"{folder}; the planned run stays in {run_dir(ctx.results, planned)}")
            train(spec, ctx.results, folder)
        return 0
    specs = [find_run(ctx.experiments, key) for key in keys]
    _share_tree(ctx)
    for spec in specs:
        if state(spec, ctx.results).state in ("done", "diverged"):  # finished and current
            print(f"ftbench run: {spec.key} is done and current; not redone")
            continue
        train(spec, ctx.results, run_dir(ctx.results, spec))
    return 0


def _share_tree(ctx) -> None:
    """One writer per results tree: a make's own recipes write as its part; a run started
    beside a make that holds the tree stops here (see ftbench.plan.treelock)."""
    from ftbench.plan.treelock import hold_for_run

    busy = hold_for_run(ctx.results)
    if busy:
        raise UserError(busy)
