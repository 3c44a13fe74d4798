"""`ftbench render`: CSVs -> LaTeX tables, figures and number macros for the paper."""

from __future__ import annotations

from ftbench.cli.registry import check_writable, command, table_args


def _render_args(p) -> None:
    table_args(p)
    p.add_argument("--params", action="store_true", help="render the params table")
    p.add_argument("--summary", action="store_true",
                   help="render the profile-wide parts: hardware, compute, claims versus findings")


@command("render", "CSV -> LaTeX table, figures and number macros", arguments=_render_args,
         needs_models=False)
def render(ctx) -> int:
    from ftbench.report import render as rendering

    check_writable(ctx.generated, "LaTeX output",
                   "pass --generated DIR (make: GENERATED_ROOT=DIR)")
    if ctx.args.params:
        from ftbench.config import load_all
        from ftbench.report.params import check_params
        from ftbench.report.results import checked_params

        checked_params(ctx.results / "params.csv")
        paper = (ctx.experiments if ctx.args.profile == "paper"
                 else load_all(ctx.args.configs, "paper"))
        check_params(paper, ctx.results / "params.csv")
        rendering.render_params(ctx.results, ctx.generated)
    elif ctx.args.summary:
        from ftbench.config import load_profile
        from ftbench.report.results import checked_rows

        for e in ctx.experiments:  # every table's CSV, checked before any is used
            if e.runs:
                checked_rows(e, ctx.results)
        from ftbench.config import load_all

        description = load_profile(ctx.args.configs, ctx.args.profile).get("description", "")
        paper = load_all(ctx.args.configs, "paper", check_models=False)
        rendering.render_summary(ctx.experiments, ctx.args.profile, str(description),
                                 ctx.results, ctx.generated, paper)
    else:
        for e in ctx.tables():
            rendering.render_table(e, ctx.results, ctx.generated)
    return 0
