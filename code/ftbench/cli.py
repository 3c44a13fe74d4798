"""Command line: `ftbench {plan,run,aggregate,render,params,data,weights,dryrun}`.

Errors the user can fix print one line and exit with status 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ftbench.errors import UserError

EXAMPLES = """examples:
  ftbench plan --profile tiny                 list the runs of a profile
  ftbench run vit-lora-vs-cnn-head/cifar10--vit-lora--s0 train.epochs=2
  ftbench aggregate vit-lora-vs-cnn-head      runs -> results/<profile>/<table>.csv
  ftbench render vit-lora-vs-cnn-head         CSV -> LaTeX table, figures, macros
  ftbench data --profile paper                download the datasets a profile needs
  ftbench weights --profile paper             prefetch its pretrained weights
  ftbench dryrun --profile paper              every run at full size, two steps, on the CPU
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as the same single line as every other error."""

    def error(self, message: str):
        self.exit(2, f"ftbench: error: {message}; see {self.prog} --help\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="tiny", help="tiny | quick | paper (default: tiny)")
    p.add_argument("--configs", type=Path, default=Path("configs"),
                   help="folder of experiment YAML files (default: configs)")
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="results root; runs go under <results>/<profile>/ (default: results)")
    p.add_argument("--generated", type=Path, default=Path("paper/generated"),
                   help="LaTeX output root; files go under <generated>/<profile>/")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ftbench", description=__doc__.splitlines()[0], epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser("plan", help="list the runs of a profile (and write Make rules)")
    _common(p)
    p.add_argument("--make", type=Path, metavar="FILE",
                   help="write the Make rules for the profile's runs to FILE")
    p.add_argument("overrides", nargs="*", metavar="key=value")

    p = sub.add_parser("run", help="train and test one run; writes <run>/summary.json last")
    _common(p)
    p.add_argument("run", metavar="TABLE/RUN", help="a run key as listed by `ftbench plan`")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides, e.g. train.epochs=2 method.r=4")

    p = sub.add_parser("aggregate", help="collect a table's run summaries into one tidy CSV")
    _common(p)
    p.add_argument("table", nargs="?", help="experiment name (a file configs/<table>.yaml)")
    p.add_argument("--all", action="store_true", help="every table of the profile")

    for name, help_text in (  # commands with only the common options
        ("params", "count parameters of every paper configuration at full size -> "
                   "<results>/<profile>/params.csv"),
        ("data", "download (resumably, checksummed) and unpack the datasets the profile's runs "
                 "read, into DATA_DIR"),
        ("weights", "prefetch the pretrained weights of the profile's models into timm's cache"),
        ("dryrun", "build every run at full size and train it two steps on synthetic data on "
                   "the CPU; check shapes, gradients, parameter counts"),
    ):
        _common(sub.add_parser(name, help=help_text))

    p = sub.add_parser("render", help="CSV -> LaTeX table, figures and number macros")
    _common(p)
    p.add_argument("table", nargs="?", help="experiment to render; omit with --summary")
    p.add_argument("--all", action="store_true", help="every table of the profile")
    p.add_argument("--params", action="store_true", help="render the params table")
    p.add_argument("--summary", action="store_true",
                   help="render the profile-wide macros (hardware, compute) from all CSVs")
    return parser


def _check_writable(folder: Path) -> None:
    """Fail before any work when results cannot be written, rather than after hours of it."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    reason = (f"{existing} is not a folder" if not existing.is_dir()
              else None if os.access(existing, os.W_OK | os.X_OK) else f"{existing} is read-only")
    if reason:
        raise UserError(f"results folder {folder} is not writable ({reason}); pass --results "
                        "DIR (make: RESULTS=DIR) or fix its permissions")


def _dispatch(args) -> int:
    from ftbench import config

    results = args.results / args.profile
    if args.command in ("run", "aggregate", "params") or getattr(args, "make", None):
        _check_writable(results)
    generated = args.generated / args.profile
    overrides = config.parse_overrides(getattr(args, "overrides", []) or [])
    # reading results needs no model registry: aggregate and render skip importing timm
    experiments = config.load_all(args.configs, args.profile, overrides,
                                  check_models=args.command not in ("aggregate", "render"))

    if args.command == "plan":
        from ftbench import plan

        if args.make:
            plan.write_make_rules(experiments, args.profile, results, args.make)
            plan.refresh_current(experiments, results)
        else:
            print(plan.describe(experiments))
        return 0
    if args.command == "run":
        from ftbench.train import train

        train(config.find_run(experiments, args.run), results)
        return 0

    if args.command == "params":
        from ftbench.report.params import write_params

        paper = experiments if args.profile == "paper" else config.load_all(args.configs, "paper")
        write_params(paper, results / "params.csv")
        return 0
    if args.command == "data":
        from ftbench.data.files import fetch
        from ftbench.data.registry import DATASETS, data_root

        names = sorted({r.config.data.name for e in experiments for r in e.runs
                        if not DATASETS[r.config.data.name].embedded})
        for name in names:
            print(f"ftbench data: {name} -> {data_root()}")
            fetch(name, data_root())
        print(f"ftbench data: {len(names)} datasets ready under {data_root()}"
              + ("" if names else f" (the {args.profile} profile reads embedded data only)"))
        return 0
    if args.command == "weights":
        from ftbench.models.factory import prefetch_weights

        names = sorted({r.config.model.name for e in experiments for r in e.runs
                        if r.config.model.pretrained == "timm"})
        for name in names:
            print(f"ftbench weights: {name} -> {prefetch_weights(name)}")
        print(f"ftbench weights: {len(names)} models cached")
        return 0
    if args.command == "dryrun":
        from ftbench.dryrun import dry_run
        from ftbench.report.params import count_all

        dry_run(experiments, count_all(experiments))
        return 0
    if args.command == "render" and args.params:
        from ftbench.report import render

        render.render_params(results, generated)
        return 0
    by_name = {e.name: e for e in experiments if e.runs}
    if args.command == "render" and args.summary:
        from ftbench.report import render

        description = config.load_profile(args.configs, args.profile).get("description", "")
        render.render_summary(experiments, args.profile, str(description), results, generated)
        return 0
    if args.all:
        chosen = list(by_name.values())
    elif args.table:
        chosen = [_experiment(by_name, args.table)]
    else:
        raise UserError(f"{args.command} needs a table name or --all")
    if args.command == "aggregate":
        from ftbench.report.aggregate import aggregate

        for e in chosen:
            aggregate(e, results)
        return 0
    if args.command == "render":
        from ftbench.report import render

        for e in chosen:
            render.render_table(e, results, generated)
        return 0
    raise AssertionError(args.command)


def _experiment(by_name: dict, name: str):
    if name not in by_name:
        from ftbench.config import _suggest

        raise UserError(f"unknown table '{name}'{_suggest(name, by_name)}; "
                        f"choose one of: {', '.join(by_name)}")
    return by_name[name]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may come after options too (`run KEY --profile quick train.epochs=1`)
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return _dispatch(args)
    except UserError as exc:
        if args.debug:
            raise
        print(f"ftbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftbench: interrupted", file=sys.stderr)
        return 130
