"""What each `ftbench` command does: one function each, registered in `cli.COMMANDS`.

The heavy imports (torch, timm) happen inside the commands that need them, so that listing,
aggregating and rendering stay fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftbench.cli import command
from ftbench.errors import UserError


def _overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides, e.g. train.epochs=2 method.r=4")


def _table(p: argparse.ArgumentParser) -> None:
    p.add_argument("table", nargs="?", help="experiment name (a file configs/<table>.yaml)")
    p.add_argument("--all", action="store_true", help="every table of the profile")


def _run_key(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="TABLE/RUN",
                   help="a run key as `ftbench plan` lists it, or a run folder")


def _plan_args(p) -> None:
    p.add_argument("--make", type=Path, metavar="FILE",
                   help="write the Make rules for the profile's runs to FILE")
    p.add_argument("--group", action="store_true",
                   help="with --make: train the seeds of a configuration in one process")
    _overrides(p)


@command("plan", "list the runs of a profile (and write Make rules)", arguments=_plan_args)
def plan(ctx) -> int:
    from ftbench import plan as planning

    if ctx.args.make:
        from ftbench.cli import check_writable

        check_writable(ctx.results)
        check_writable(ctx.args.make.parent, "Make rules",
                       "pass --make with a file in another folder")
        _check_make_target(ctx.args.make, ctx.args.configs, ctx.results)
        planning.write(ctx.experiments, ctx.args.profile, ctx.results, ctx.args.make,
                       ctx.args.group)
    else:
        print(planning.describe(ctx.experiments))
    return 0


def _check_make_target(target: Path, configs: Path, results: Path) -> None:
    """--make replaces its file: only a plan this command wrote (or nothing) may be there, and
    never in the configs folder (a stray file there is read as a config) or among the runs."""
    from ftbench.layout import run_path
    from ftbench.makefile import HEADER

    fix = f"pass --make with another file, e.g. {results / 'plan.mk'}"
    where = target.resolve()
    for folder, what in ((configs, "config"), (run_path(results, ""), "runs")):
        if where.is_relative_to(folder.resolve()):
            raise UserError(f"--make {target} is inside the {what} folder {folder}; {fix}")
    if not target.exists():
        return
    if not target.is_file():  # a folder, a device (/dev/zero reads without end), a pipe
        raise UserError(f"--make {target} is not a regular file; {fix}")
    stamp = HEADER.split("{profile}")[0].encode()  # what every plan this command wrote starts with
    with open(target, "rb") as f:
        if f.read(len(stamp)) != stamp:
            raise UserError(f"--make {target} exists and is not a plan ftbench wrote (it lacks "
                            f"the header line a generated plan starts with); {fix}, or delete "
                            "it")


def _run_args(p) -> None:
    p.add_argument("run", nargs="+", metavar="TABLE/RUN",
                   help="run keys as `ftbench plan` lists them (then key=value overrides)")
    p.add_argument("--planned", action="store_true",
                   help="the overrides are the plan's (Make passes its OVERRIDES): write to the "
                        "planned run's folder")
    p.set_defaults(overrides=[])


@command("run", "train and test runs (one process); each writes <run>/summary.json last",
         arguments=_run_args, writes_results=True)
def run(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.freshness import state
    from ftbench.layout import oneoff_dir, run_dir
    from ftbench.run import train

    keys = ctx.args.run
    if ctx.overrides and not ctx.args.planned:  # one-offs: never in the planned runs' place
        from ftbench.config import load_all, with_overrides
        from ftbench.config.experiments import check_upstream

        plan = load_all(ctx.args.configs, ctx.args.profile)
        _share_tree(ctx)
        for key in keys:
            planned = find_run(plan, key)
            spec = with_overrides(planned, ctx.overrides)
            check_upstream(spec, plan, ctx.args.profile, f"{spec.key} with overrides")
            folder = oneoff_dir(ctx.results, spec)
            print(f"ftbench run: the overrides are not in the plan, so this run goes to "
                  f"{folder}; the planned run stays in {run_dir(ctx.results, planned)}")
            train(spec, ctx.results, folder)
        return 0
    specs = [find_run(ctx.experiments, key) for key in keys]
    _share_tree(ctx)
    for spec in specs:
        if state(spec, ctx.results).state in ("done", "diverged"):  # finished and current
            print(f"ftbench run: {spec.key} is done and current; not redone")
            continue
        train(spec, ctx.results, run_dir(ctx.results, spec))
    return 0


def _share_tree(ctx) -> None:
    """One writer per results tree: a make's own recipes write as its part; a run started
    beside a make that holds the tree stops here (see ftbench.treelock)."""
    from ftbench.treelock import hold_for_run

    busy = hold_for_run(ctx.results)
    if busy:
        raise UserError(busy)


def _table_args(p) -> None:
    _table(p)
    _overrides(p)


def _aggregate_args(p) -> None:
    _table_args(p)
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
        from ftbench.report.results import TableResults

        tables = [TableResults.load(e, ctx.results) for e in ctx.experiments if e.runs]
        compare.write(tables, ctx.results)
        return 0
    for e in ctx.tables():
        collect(e, ctx.results)
    return 0


def _render_args(p) -> None:
    _table_args(p)
    p.add_argument("--params", action="store_true", help="render the params table")
    p.add_argument("--summary", action="store_true",
                   help="render the profile-wide parts: hardware, compute, claims versus findings")


@command("render", "CSV -> LaTeX table, figures and number macros", arguments=_render_args,
         needs_models=False)
def render(ctx) -> int:
    from ftbench.cli import check_writable
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


@command("params", "count parameters of every paper configuration at full size -> "
                   "<results>/<profile>/params.csv", writes_results=True)
def params(ctx) -> int:
    from ftbench.config import load_all
    from ftbench.report.params import write_params

    paper = (ctx.experiments if ctx.args.profile == "paper"
             else load_all(ctx.args.configs, "paper"))
    write_params(paper, ctx.results / "params.csv")
    return 0


@command("data", "download (resumably, checksummed) and unpack the datasets the profile's runs "
                 "read, into DATA_DIR")
def data(ctx) -> int:
    from ftbench.data.files import fetch
    from ftbench.data.registry import DATASETS, data_root

    names = sorted({r.config.data.name for e in ctx.experiments for r in e.runs
                    if not DATASETS[r.config.data.name].embedded})
    for name in names:
        print(f"ftbench data: {name} -> {data_root()}")
        fetch(name, data_root())
    print(f"ftbench data: {len(names)} datasets ready under {data_root()}"
          + ("" if names else f" (the {ctx.args.profile} profile reads embedded data only)"))
    return 0


@command("weights", "prefetch the pretrained weights of the profile's models into timm's cache")
def weights(ctx) -> int:
    from ftbench.models.factory import prefetch_weights

    names = sorted({r.config.model.name for e in ctx.experiments for r in e.runs
                    if r.config.model.pretrained == "timm"})
    for name in names:
        print(f"ftbench weights: {name} -> {prefetch_weights(name)}")
    print(f"ftbench weights: {len(names)} models cached")
    return 0


@command("dryrun", "build every run at full size and train it two steps on synthetic data on "
                   "the CPU; check shapes, gradients, parameter counts")
def dryrun(ctx) -> int:
    from ftbench.dryrun import dry_run
    from ftbench.report.params import count_all

    dry_run(ctx.experiments, count_all(ctx.experiments))
    return 0


def _eval_args(p) -> None:
    _run_key(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--merged", action="store_true",
                   help="LoRA runs: merge the adapters into the weights first")


@command("eval", "re-evaluate a finished run on its test split from its saved weights",
         arguments=_eval_args)
def evaluate(ctx) -> int:
    from ftbench.evalrun import evaluate_run, mismatch, report

    folder = _run_folder(ctx)
    result = evaluate_run(folder, ctx.results, merged=ctx.args.merged)
    print(report(result, ctx.args.json))
    # status 1 (2 is bad input): the run does not reproduce, which a script must see. Merged
    # LoRA weights change the arithmetic, so there the last digits may differ by design.
    if result["equal"] or ctx.args.merged:
        return 0
    print(f"ftbench eval: {mismatch(result)}", file=sys.stderr)  # stderr: --json stays JSON
    return 1


def _status_args(p) -> None:
    p.add_argument("--trained", nargs="+", metavar="TABLE/RUN", default=[],
                   help="exit 2 unless these runs are finished and current (Make's check after a "
                        "launched step)")
    p.add_argument("--launcher", default="", help="with --trained: the launcher, for the message")


@command("status", "every planned run of the profile: done, stale (and why), running, "
                   "diverged or missing, with counts per table", arguments=_status_args,
         needs_models=False)
def status(ctx) -> int:
    from ftbench.status import check_trained, status_report

    if ctx.args.trained:
        check_trained(ctx.experiments, ctx.results, ctx.args.trained, ctx.args.launcher)
        return 0
    print(status_report(ctx.experiments, ctx.results))
    return 0


def _explain_args(p) -> None:
    _run_key(p)
    _overrides(p)


@command("explain", "every resolved value of a run and where it came from: default, file and "
                    "line, profile overlay, axis value or override", arguments=_explain_args,
         needs_models=False)
def explain(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.explain import explain_run

    print(explain_run(find_run(ctx.experiments, ctx.args.run)))
    return 0


def _run_folder(ctx) -> Path:
    """A run key of the plan, or the path of a run folder (a one-off's)."""
    from ftbench.config import find_run
    from ftbench.layout import run_dir

    path = Path(ctx.args.run)
    if (path / "summary.json").exists():
        return path
    folder = run_dir(ctx.results, find_run(ctx.experiments, ctx.args.run))
    if not (folder / "summary.json").exists():
        raise UserError(f"run {ctx.args.run} has not finished ({folder} has no summary.json); "
                        "train it first (make all)")
    return folder


def _verify_args(p) -> None:
    p.add_argument("--all", action="store_true", help="every planned run (default: one per "
                   "table, the shortest)")
    p.add_argument("--runs", nargs="+", metavar="TABLE/RUN", default=[],
                   help="the runs to retrain and compare")
    p.add_argument("--scratch", type=Path, help="retrain into this folder (default: a "
                   "temporary one, removed afterwards)")


@command("verify", "retrain a sample of the finished runs in a scratch folder and compare every "
                   "number with the committed ones; exit 1 on a difference",
         arguments=_verify_args)
def verify(ctx) -> int:
    from ftbench.config import find_run
    from ftbench.verify import sample, seed_spread
    from ftbench.verify import verify as check

    if ctx.args.runs and ctx.args.all:
        raise UserError("verify takes --runs or --all, not both")
    specs = ([find_run(ctx.experiments, k) for k in ctx.args.runs] if ctx.args.runs else
             [r for e in ctx.experiments for r in e.runs] if ctx.args.all else
             sample(ctx.experiments, ctx.results))
    outcomes = check(specs, ctx.results, seed_spread(ctx.experiments, ctx.results),
                     ctx.args.scratch)
    differ = [o for o in outcomes if not o.same]
    print(f"ftbench verify: {len(outcomes) - len(differ)} of {len(outcomes)} runs reproduce")
    return 1 if differ else 0


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
    from ftbench.resultsdiff import compare_folders

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


@command("tune", "choose each table's `tune:` setting on validation accuracy (first random seed) "
                 "-> <results>/tuning/<profile>.csv", arguments=_table, writes_results=True)
def tune(ctx) -> int:
    from ftbench.tune import tune as choose

    chosen = ctx.tables() if (ctx.args.table or ctx.args.all) else ctx.experiments
    out = choose(chosen, ctx.results, ctx.args.profile, named=bool(ctx.args.table))
    print(f"ftbench tune: scores in {out}")
    return 0
