"""`ftbench params`: parameter counts of every paper configuration at full size."""

from __future__ import annotations

from ftbench.cli.registry import command


@command("params", "count parameters of every paper configuration at full size -> "
                   "<results>/<profile>/params.csv", writes_results=True)
def params(ctx) -> int:
    from ftbench.config import load_all
    from ftbench.report.params import write_params

    paper = (ctx.experiments if ctx.args.profile == "paper"
             else load_all(ctx.args.configs, "paper"))
    write_params(paper, ctx.results / "params.csv")
    return 0
