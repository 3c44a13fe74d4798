"""`ftbench eval`: re-evaluate a finished run from its saved weights."""

from __future__ import annotations

import sys

from ftbench.cli.registry import command, run_folder, run_key_arg


def _eval_args(p) -> None:
    run_key_arg(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--merged", action="store_true",
                   help="LoRA runs: merge the adapters into the weights first")


@command("eval", "re-evaluate a finished run on its test split from its saved weights",
         arguments=_eval_args)
def evaluate(ctx) -> int:
    from ftbench.tools.evaluate import evaluate_run, mismatch, report

    folder = run_folder(ctx)
    result = evaluate_run(folder, ctx.results, merged=ctx.args.merged)
    print(report(result, ctx.args.json))
    # status 1 (2 is bad input): the run does not reproduce, which a script must see. Merged
    # LoRA weights change the arithmetic, so there the last digits may differ by design.
    if result["equal"] or ctx.args.merged:
        return 0
    print(f"ftbench eval: {mismatch(result)}", file=sys.stderr)  # stderr: --json stays JSON
    return 1
