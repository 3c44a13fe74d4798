"""`ftbench tune`: choose each table's tuned setting on validation accuracy."""

from __future__ import annotations

from ftbench.cli.registry import command, table_arg


@command("tune", "choose each table's `tune:` setting on validation accuracy (first random seed) "
                 "-> <results>/tuning/<profile>.csv", arguments=table_arg, writes_results=True)
def tune(ctx) -> int:
    from ftbench.tools.tune import tune as choose

    chosen = ctx.tables() if (ctx.args.table or ctx.args.all) else ctx.experiments
    out = choose(chosen, ctx.results, ctx.args.profile, named=bool(ctx.args.table))
    print(f"ftbench tune: scores in {out}")
    return 0
