"""`ftbench compare`: do two results folders hold the same numbers? With `--conclusions`: do
they conclude the same (report.conclusions)?"""

from __future__ import annotations

from pathlib import Path

from ftbench.cli.registry import command
from ftbench.errors import UserError


def _compare_args(p) -> None:
    p.add_argument("first", type=Path, help="a results folder, e.g. results/tiny")
    p.add_argument("second", type=Path, help="the results folder to compare it with")
    p.add_argument("--tolerance", type=float, default=0.0,
                   help="absolute tolerance for numbers (default 0: exact)")
    p.add_argument("--measured", action="store_true",
                   help="compare the measured columns too (times, memory, timestamps)")
    p.add_argument("--conclusions", action="store_true",
                   help="compare what the two builds conclude instead of their numbers: every "
                        "comparison's sign and significance (a change with p_holm within "
                        "0.005-0.2 in both is listed, not failed) and every claim's verdict; "
                        "both folders must hold the runs of --profile's tables")


@command("compare", "compare two results folders table by table, cell by cell (skipping times, "
                    "memory and provenance), or by what they conclude (--conclusions); exit 1 "
                    "when they differ",
         arguments=_compare_args, needs_models=False)
def compare_results(ctx) -> int:
    from ftbench.tools.resultsdiff import compare_folders

    if not (ctx.args.tolerance >= 0 and ctx.args.tolerance < float("inf")):
        raise UserError(f"--tolerance {ctx.args.tolerance} is not a number >= 0; give e.g. "
                        "--tolerance 0.01")
    for folder in (ctx.args.first, ctx.args.second):
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder; compare two results folders, e.g. "
                            "results/tiny and a rebuild's results/tiny")
    if ctx.args.conclusions:
        return _conclusions(ctx)
    outcome = compare_folders(ctx.args.first, ctx.args.second, ctx.args.tolerance,
                              ctx.args.measured)
    for r in outcome:
        print(r.line())
    failed = [r for r in outcome if not r.passed]
    print(f"ftbench compare: {len(outcome) - len(failed)} of {len(outcome)} files PASS")
    return 1 if failed else 0


def _conclusions(ctx) -> int:
    from ftbench.report.conclusions import agree, of_folder

    if ctx.args.tolerance or ctx.args.measured:
        raise UserError("--conclusions compares every comparison and verdict by its own rule; "
                        "leave out --tolerance and --measured")
    builds = [of_folder(ctx.experiments, folder) for folder in (ctx.args.first,
                                                                 ctx.args.second)]
    outcome = agree(*builds)
    for line in outcome.lines((str(ctx.args.first), str(ctx.args.second))):
        print(line)
    print(f"ftbench compare --conclusions: {outcome.summary()}")
    return 0 if outcome.agree else 1
