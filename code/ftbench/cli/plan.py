"""`ftbench plan`: list a profile's runs, or write the Make rules that train them."""

from __future__ import annotations

from pathlib import Path

from ftbench.cli.registry import check_writable, command, overrides_arg
from ftbench.errors import UserError


def _plan_args(p) -> None:
    p.add_argument("--make", type=Path, metavar="FILE",
                   help="write the Make rules for the profile's runs to FILE")
    p.add_argument("--group", action="store_true",
                   help="with --make: train the seeds of a configuration in one process")
    overrides_arg(p)


@command("plan", "list the runs of a profile (and write Make rules)", arguments=_plan_args)
def plan(ctx) -> int:
    from ftbench.plan import planner as planning

    if ctx.args.make:
        check_writable(ctx.results)
        check_writable(ctx.args.make.parent, "Make rules",
                       "pass --make with a file in another folder")
        _check_make_target(ctx.args.make, ctx.args.configs, ctx.results)
        planning.write(ctx.experiments, ctx.args.profile, ctx.results, ctx.args.make,
                       ctx.args.group)
    else:
        print(planning.describe(ctx.experiments))
    return 0


def _check_make_target(target: Path, configs: Path, results: Path) -> None:
    """--make replaces its file: only a plan this command wrote (or nothing) may be there, and
    never in the configs folder (a stray file there is read as a config) or among the runs."""
    from ftbench.plan.makefile import HEADER
    from ftbench.store.layout import run_path

    fix = f"pass --make with another file, e.g. {results / 'plan.mk'}"
    where = target.resolve()
    for folder, what in ((configs, "config"), (run_path(results, ""), "runs")):
        if where.is_relative_to(folder.resolve()):
            raise UserError(f"--make {target} is inside the {what} folder {folder}; {fix}")
    if not target.exists():
        return
    if not target.is_file():  # a folder, a device (/dev/zero reads without end), a pipe
        raise UserError(f"--make {target} is not a regular file; {fix}")
    stamp = HEADER.split("{profile}")[0].encode()  # what every plan this command wrote starts with
    with open(target, "rb") as f:
        if f.read(len(stamp)) != stamp:
            raise UserError(f"--make {target} exists and is not a plan ftbench wrote (it lacks "
                            f"the header line a generated plan starts with); {fix}, or delete "
                            "it")
