"""`ftbench aggregate`: a table's run summaries -> its CSV; every table's comparisons ->
comparisons.csv."""

from __future__ import annotations

from ftbench.cli.registry import command, table_args


def _aggregate_args(p) -> None:
    table_args(p)
    p.add_argument("--comparisons", action="store_true",
                   help="write <results>/<profile>/comparisons.csv: every comparison of every "
                        "table, from their CSVs and runs")


@command("aggregate", "collect a table's run summaries into one tidy CSV (or, with "
                      "--comparisons, every table's comparisons into comparisons.csv)",
         arguments=_aggregate_args, writes_results=True, needs_models=False)
def aggregate(ctx) -> int:
    from ftbench.report.aggregate import aggregate as collect

    if ctx.args.comparisons:
        from ftbench.report import compare

        tables = [compare.load(e, ctx.results) for e in ctx.experiments if e.runs]
        compare.write(tables, ctx.results)
        return 0
    for e in ctx.tables():
        collect(e, ctx.results)
    return 0
