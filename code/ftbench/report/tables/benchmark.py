"""A benchmark table: one block of rows per dataset, accuracy against trainable parameters,
learning curves and, on request, confusion matrices (write-up 004, the factorial, write-up 003)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ftbench.report import figures
from ftbench.report.latex import environment
from ftbench.report.results import TableResults
from ftbench.report.tables.common import caption, row_view, seeds_phrase, test_words
from ftbench.report.tables.registry import Rendered, renderer


def curve_name(results: TableResults, spec) -> str:
    """A curve is named by its model, or by its axis values where models repeat (factorial)."""
    label = spec.config.model.label or spec.config.model.name
    same = [r for r in results.experiment.runs if r.config.seed == spec.config.seed
            and (r.config.model.label or r.config.model.name) == label
            and r.config.data.name == spec.config.data.name]
    if len(same) > 1:
        return " / ".join(v for a, v in spec.axes.items() if a != "dataset")
    return label


def benchmark_figures(results: TableResults, out: Path) -> None:
    report = results.experiment.report
    points = [{"dataset": g.dataset, "label": f"{g.label}, {g.method}", "trainable": g.trainable,
               "accuracy": g.mean("accuracy"), "err": g.std("accuracy")}
              for g in results.groups]
    figures.accuracy_vs_params(points, out / "fig-acc-vs-params.pdf", pareto=report.pareto)
    curves: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    confusions: dict[str, dict[str, list]] = defaultdict(dict)
    for g in results.groups:  # the first seed's curves; the table carries the spread
        spec = next(r for r in results.experiment.runs if r.run_id == g.run_id(results.first_seed))
        curves[g.dataset][curve_name(results, spec)] = results.history(spec.run_id)
        confusions[g.dataset][g.label] = results.summary(spec.run_id).test["confusion_matrix"]
    figures.learning_curves(dict(curves), out / "fig-curves.pdf")
    if "confusion" in report.figures:
        figures.confusion_matrices(dict(confusions), out / "fig-confusion.pdf")


@renderer("benchmark")
def benchmark(results: TableResults, out: Path) -> Rendered:
    benchmark_figures(results, out)
    table = environment().get_template("benchmark_table.tex.j2").render(
        rows=[row_view(results, g) for g in results.groups], caption=caption(results),
        label=f"tab:{results.name}", seeds=seeds_phrase(results), test=test_words(results),
        first_axis=results.axes[0] if results.axes else None)
    return Rendered(table)
