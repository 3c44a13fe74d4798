"""The table of commands (timm's registry pattern: each `cli/<command>.py` registers itself
here and this module imports none of them), the context a command runs in, and the arguments
and checks several commands share."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ftbench.config import find_run, load_all, parse_overrides, suggest
from ftbench.errors import UserError
from ftbench.store.layout import SUMMARY, run_dir


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
        return parse_overrides(getattr(self.args, "overrides", None) or [])

    @cached_property
    def experiments(self) -> list:
        return load_all(self.args.configs, self.args.profile, self.overrides,
                        check_models=COMMANDS[self.args.command].needs_models)

    def tables(self) -> list:
        """The tables a command names (`TABLE` or `--all`)."""
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


def overrides_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides, e.g. train.epochs=2 method.r=4")


def table_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("table", nargs="?", help="experiment name (a file configs/<table>.yaml)")
    p.add_argument("--all", action="store_true", help="every table of the profile")


def run_key_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="TABLE/RUN",
                   help="a run key as `ftbench plan` lists it, or a run folder")


def table_args(p) -> None:
    table_arg(p)
    overrides_arg(p)


def run_folder(ctx) -> Path:
    """A run key of the plan, or the path of a run folder (a one-off's)."""
    path = Path(ctx.args.run)
    if (path / SUMMARY).exists():
        return path
    folder = run_dir(ctx.results, find_run(ctx.experiments, ctx.args.run))
    if not (folder / SUMMARY).exists():
        raise UserError(f"run {ctx.args.run} has not finished ({folder} has no summary.json); "
                        "train it first (make all)")
    return folder


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
