"""Command line: `ftbench <command>`: the parser, and one-line errors for every command.

Errors the user can fix print one line and exit with status 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# each module registers its command; a command imports its stage when it runs (see cli/__init__)
import ftbench
from ftbench.cli import (  # noqa: F401
    aggregate,
    compare,
    data,
    dryrun,
    evaluate,
    explain,
    params,
    plan,
    render,
    run,
    status,
    tune,
    verify,
    weights,
)
from ftbench.cli.registry import COMMANDS, Context, check_writable
from ftbench.errors import UserError
from ftbench.store.atomic import fix_for

# The order `ftbench --help` lists them in: the pipeline's, then the tools around it.
ORDER = ("plan", "run", "aggregate", "render", "params", "data", "weights", "dryrun", "eval",
         "status", "explain", "verify", "compare", "tune")

EXAMPLES = """examples:
  ftbench plan --profile tiny                 list the runs of a profile
  ftbench status                              which planned runs are done, stale or missing
  ftbench explain factorial/cifar10--vit-b16--lora--s0   every value and where it came from
  ftbench run factorial/cifar10--vit-b16--lora--s0 train.epochs=2   a one-off, in its own folder
  ftbench eval factorial/cifar10--vit-b16--lora--s0      re-evaluate from the saved weights
  ftbench aggregate factorial                 runs -> results/<profile>/<table>.csv
  ftbench render factorial                    CSV -> LaTeX table, figures, macros
  ftbench data --profile paper                download the datasets a profile needs
  ftbench dryrun --profile paper              every run at full size, two steps, on the CPU
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as the same single line as every other error."""

    def error(self, message: str):
        self.exit(2, f"ftbench: error: {one_line(message)}; see {self.prog} --help\n")


# Everything str.splitlines() breaks a line at: a message shows them escaped, so that an error
# is one line whatever the input held (a key or a file name with a newline in it).
_BREAKS = {c: repr(chr(c))[1:-1] for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85,
                                           0x2028, 0x2029)}


def one_line(message: str) -> str:
    return str(message).translate(_BREAKS)


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
    parser = _Parser(prog="ftbench", description=ftbench.__doc__.splitlines()[0], epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name in sorted(COMMANDS, key=ORDER.index):
        cmd = COMMANDS[name]
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        _common(p)
        cmd.arguments(p)
    return parser


def _gather_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace,
                      extra: list[str]) -> None:
    """key=value overrides may stand anywhere after the command, but argparse takes them for
    whatever positional comes first: `run KEY.. key=value..` (one list), `render --all a=1` (a
    table), or leaves them over after an option (`run KEY --profile quick train.epochs=1`).
    Each `key=value` goes to `args.overrides`; anything else left over is an error."""
    if isinstance(getattr(args, "run", None), list):
        extra = [*extra, *(k for k in args.run if "=" in k)]
        args.run = [k for k in args.run if "=" not in k]
        if not args.run:
            parser.error("run needs a run key, e.g. pretrain/vit-micro--s0")
    if "=" in (getattr(args, "table", None) or ""):
        args.overrides = [args.table, *args.overrides]
        args.table = None
    if extra:
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    _gather_overrides(parser, args, extra)
    ctx = Context(args)
    try:
        if COMMANDS[args.command].writes_results:
            check_writable(ctx.results)
        return COMMANDS[args.command].run(ctx)
    except UserError as exc:
        if args.debug:
            raise
        print(f"ftbench: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only file system: one line, not a traceback
        if args.debug:
            raise

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ftbench: error: {one_line(exc.strerror or exc)}{one_line(where)}; "
              f"{fix_for(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftbench: interrupted", file=sys.stderr)
        return 130
