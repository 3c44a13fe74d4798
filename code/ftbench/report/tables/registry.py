"""The registry of table kinds (timm's pattern): each kind's module registers its renderer
here with `@renderer("<kind>")`; this module imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.report.results import TableResults

RENDERERS: dict[str, Callable[[TableResults, Path], Rendered]] = {}


def renderer(kind: str):
    """Register the renderer of a table kind."""
    def register(fn):
        RENDERERS[kind] = fn
        return fn
    return register


@dataclass
class Rendered:
    table: str  # the LaTeX table
    macros: dict[str, str] = field(default_factory=dict)


