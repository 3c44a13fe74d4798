"""Command line: `ftbench <command>`, one function per command, in one table.

Errors the user can fix print one line and exit with status 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ftbench.errors import UserError

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


@dataclass
class Command:
    run: Callable  # (Context) -> exit status
    help: str
    arguments: Callable = lambda p: None  # adds the command's own arguments
    writes_results: bool = False  # check that results/ is writable before any work
    needs_models: bool = True  # look model names up in timm (importing it) when planning


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, **options):
    def register(fn):
        COMMANDS[name] = Command(fn, help, **options)
        return fn
    return register


@dataclass
class Context:
    args: argparse.Namespace

    @property
    def results(self) -> Path:
        return self.args.results / self.args.profile

    @property
    def generated(self) -> Path:
        return self.args.generated / self.args.profile

    @cached_property
    def overrides(self) -> dict:
        from ftbench.config import parse_overrides

        return parse_overrides(getattr(self.args, "overrides", None) or [])

    @cached_property
    def experiments(self) -> list:
        from ftbench.config import load_all

        return load_all(self.args.configs, self.args.profile, self.overrides,
                        check_models=COMMANDS[self.args.command].needs_models)

    def tables(self) -> list:
        """The tables a command names (`TABLE` or `--all`)."""
        from ftbench.config import suggest

        by_name = {e.name: e for e in self.experiments if e.runs}
        if getattr(self.args, "all", False):
            return list(by_name.values())
        name = getattr(self.args, "table", None)
        if not name:
            raise UserError(f"{self.args.command} needs a table name or --all")
        if name not in by_name:
            raise UserError(f"unknown table '{name}'{suggest(name, by_name)}; "
                            f"choose one of: {', '.join(by_name)}")
        return [by_name[name]]


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
    import ftbench.commands  # noqa: F401  (registers the commands)

    parser = _Parser(prog="ftbench", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        _common(p)
        cmd.arguments(p)
    return parser


def check_writable(folder: Path, what: str = "results",
                   hint: str = "pass --results DIR (make: RESULTS=DIR)") -> None:
    """Fail before any work when an output folder cannot be written, rather than after hours
    of work; `hint` says how to choose another."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: mkdir would fail after the first epoch
            raise UserError(f"{what} folder {folder} is not writable ({existing} is a link to "
                            f"{os.readlink(existing)}, which does not exist); {hint} or fix "
                            "the link")
        existing = existing.parent
    reason = (f"{existing} is not a folder" if not existing.is_dir()
              else None if os.access(existing, os.W_OK | os.X_OK) else f"{existing} is read-only")
    if reason:
        raise UserError(f"{what} folder {folder} is not writable ({reason}); {hint} or fix its "
                        "permissions")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may come after options too (`run KEY --profile quick train.epochs=1`)
    args, extra = parser.parse_known_args(argv)
    if isinstance(getattr(args, "run", None), list):  # `run KEY.. key=value..`: one list
        extra = [*extra, *(k for k in args.run if "=" in k)]
        args.run = [k for k in args.run if "=" not in k]
    if "=" in (getattr(args, "table", None) or ""):  # `render --all a=1`: an override, no table
        args.overrides = [args.table, *args.overrides]
        args.table = None
    if extra:
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    if isinstance(getattr(args, "run", None), list) and not args.run:
        parser.error("run needs a run key, e.g. pretrain/vit-micro--s0")
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
        from ftbench.atomic import fix_for

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ftbench: error: {one_line(exc.strerror or exc)}{one_line(where)}; "
              f"{fix_for(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftbench: interrupted", file=sys.stderr)
        return 130
