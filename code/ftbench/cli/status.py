"""`ftbench status`: done, stale, running, diverged or missing, per planned run."""

from __future__ import annotations

from ftbench.cli.registry import command


def _status_args(p) -> None:
    p.add_argument("--trained", nargs="+", metavar="TABLE/RUN", default=[],
                   help="exit 2 unless these runs are finished and current (Make's check after a "
                        "launched step)")
    p.add_argument("--launcher", default="", help="with --trained: the launcher, for the message")


@command("status", "every planned run of the profile: done, stale (and why), running, "
                   "diverged or missing, with counts per table", arguments=_status_args,
         needs_models=False)
def status(ctx) -> int:
    from ftbench.tools.status import check_trained, status_report

    if ctx.args.trained:
        check_trained(ctx.experiments, ctx.results, ctx.args.trained, ctx.args.launcher)
        return 0
    print(status_report(ctx.experiments, ctx.results))
    return 0
