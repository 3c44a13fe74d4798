"""`ftbench eval`: re-evaluate finished runs from their saved weights: one run (its key or its
folder), a table's, or every planned run's, in one process; `--csv` writes one row per run."""

from __future__ import annotations

import sys
from pathlib import Path

from ftbench.cli.registry import check_writable, command, run_folder
from ftbench.errors import UserError
from ftbench.store.layout import SUMMARY, run_dir


def _eval_args(p) -> None:
    p.add_argument("run", nargs="?", metavar="TABLE/RUN|TABLE",
                   help="a run key as `ftbench plan` lists it, a run folder, or a table name "
                        "(its finished runs that kept weights)")
    p.add_argument("--all", action="store_true",
                   help="every finished run of the profile that kept weights")
    p.add_argument("--csv", type=Path, metavar="FILE", help="write one row per run to FILE")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON (one run)")
    p.add_argument("--merged", action="store_true",
                   help="LoRA runs: merge the adapters into the weights first")


def _folders(ctx) -> tuple[list[Path], bool]:
    """The run folders a command line names (a run, a table's runs, or every run), and whether
    it named many (a table or --all) rather than one run."""
    from ftbench.tools.evaluate import keeps_weights

    name = ctx.args.run
    if bool(name) == bool(ctx.args.all):
        raise UserError("eval takes a run, a table or --all (one of them)")
    tables = {e.name: e for e in ctx.experiments if e.runs}
    if name and name not in tables:
        return [run_folder(ctx)], False
    runs = [r for e in tables.values() if ctx.args.all or e.name == name for r in e.runs]
    folders = [run_dir(ctx.results, r) for r in runs]
    kept = [f for f in folders if (f / SUMMARY).exists() and keeps_weights(f)]
    if not kept:
        raise UserError(f"no finished run of {name or 'the ' + ctx.args.profile + ' profile'} "
                        "kept weights; train them first (make all)")
    return kept, True


@command("eval", "re-evaluate finished runs on their test split from their saved weights",
         arguments=_eval_args)
def evaluate(ctx) -> int:
    from ftbench.store import atomic
    from ftbench.tools.evaluate import csv_text, evaluate_runs, mismatch, report

    if ctx.args.csv:
        check_writable(ctx.args.csv.parent, "CSV", "pass --csv with a file in another folder")
    folders, many = _folders(ctx)
    if ctx.args.json and many:
        raise UserError("--json prints one run; for many, use --csv FILE")
    progress = (lambda line: print(line, file=sys.stderr)) if many else (lambda line: None)
    outcomes = evaluate_runs(folders, ctx.results, ctx.args.merged, log=progress, keep_going=many)
    if ctx.args.csv:
        atomic.write_text(ctx.args.csv, csv_text(outcomes))
    differ = [o for o in outcomes if not o["equal"]]
    print(report(outcomes[0], ctx.args.json) if not many else
          f"ftbench eval: {len(outcomes) - len(differ)} of {len(outcomes)} runs reproduce their "
          "summary's test metrics")
    # status 1 (2 is bad input): a run does not reproduce, which a script must see. Merged
    # LoRA weights change the arithmetic, so there the last digits may differ by design.
    if not differ or ctx.args.merged:
        return 0
    for o in differ:
        print(f"ftbench eval: {mismatch(o)}", file=sys.stderr)  # stderr: --json stays JSON
    return 1
