"""`ftbench compare`: do two results folders hold the same numbers?"""

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


@command("compare", "compare two results folders table by table, cell by cell (skipping times, "
                    "memory and provenance); exit 1 when a table differs",
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
    outcome = compare_folders(ctx.args.first, ctx.args.second, ctx.args.tolerance,
                              ctx.args.measured)
    for r in outcome:
        print(r.line())
    failed = [r for r in outcome if not r.passed]
    print(f"ftbench compare: {len(outcome) - len(failed)} of {len(outcome)} files PASS")
    return 1 if failed else 0
