"""One renderer per kind of table (`report.table` in an experiment's config), behind a registry
as timm registers its models (`tables/registry.py`). Each takes the table's results
(`TableResults`: its CSV and its runs' files) and writes the LaTeX table, its figures and its
number macros; `common.py` holds what the kinds share."""

from __future__ import annotations

from pathlib import Path

from ftbench.report.latex import macros_text
from ftbench.report.results import TableResults
from ftbench.report.tables import ablation, benchmark, grid, paired, study  # noqa: F401  (register)
from ftbench.report.tables.common import (
    best_macros,
    common_macros,
    comparison_macros,
    versus_macros,
)
from ftbench.report.tables.registry import RENDERERS
from ftbench.store import atomic


def render_table(results: TableResults, generated: Path) -> None:
    out = Path(generated) / results.name
    done = RENDERERS[results.experiment.report.table](results, out)
    m = (common_macros(results) | comparison_macros(results) | versus_macros(results)
         | best_macros(results) | done.macros)
    atomic.write_text(out / "macros.tex", macros_text(m))
    atomic.write_text(out / "table.tex", done.table)  # last: Make's target for this table


