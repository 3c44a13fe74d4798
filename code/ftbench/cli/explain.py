"""`ftbench explain`: each resolved value of a run and where it came from."""

from __future__ import annotations

from ftbench.cli.registry import command, overrides_arg, run_key_arg


def _explain_args(p) -> None:
    run_key_arg(p)
    overrides_arg(p)


@command("explain", "every resolved value of a run and where it came from: default, file and "
                    "line, profile overlay, axis value or override", arguments=_explain_args,
         needs_models=False)
def explain(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.tools.explain import explain_run

    print(explain_run(find_run(ctx.experiments, ctx.args.run)))
    return 0
