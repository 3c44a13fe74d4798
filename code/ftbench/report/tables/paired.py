"""A paired table: per dataset, each configuration against the first (the baseline) in
accuracy, time per epoch and training memory (seed 000)."""

from __future__ import annotations

from pathlib import Path

from ftbench.report.compare import baselines
from ftbench.report.latex import environment, macro_key, num
from ftbench.report.results import TableResults
from ftbench.report.tables import Rendered, caption, renderer, row_view, seeds_phrase, test_words
from ftbench.report.tables.benchmark import benchmark_figures

MEMORY_KINDS = {"cuda_max_allocated": "the CUDA allocator's peak",
                "cpu_peak_rss": "the process's peak resident memory",
                "cpu_peak_rss_process": "the process's peak resident memory, data included"}


def ratios(results: TableResults) -> dict[int, tuple[float, float]]:
    """id(group) -> (speed-up: the baseline's time per epoch over this one's, memory ratio:
    this one's peak training memory over the baseline's), from the means over seeds."""
    base_of = baselines(results)
    out = {}
    for g in results.groups:
        b = base_of[id(g)]
        out[id(g)] = (b.mean("per_epoch_s") / g.mean("per_epoch_s"),
                      g.mean("peak_mib") / b.mean("peak_mib"))
    return out


@renderer("paired")
def paired(results: TableResults, out: Path) -> Rendered:
    benchmark_figures(results, out)
    r = ratios(results)
    rows = [row_view(results, g) | {"speedup": num(r[id(g)][0], 2),
                                    "memory_ratio": num(r[id(g)][1], 2)}
            for g in results.groups]
    kinds = sorted({MEMORY_KINDS.get(row["memory_kind"], row["memory_kind"])
                    for row in results.rows})
    macros = {}
    for g in results.groups:
        k = [results.name, *g.axes.values()]
        macros[macro_key(*k, "speedup")] = num(r[id(g)][0], 2)
        macros[macro_key(*k, "memory-ratio")] = num(r[id(g)][1], 2)
    table = environment().get_template("paired_table.tex.j2").render(
        rows=rows, caption=caption(results), label=f"tab:{results.name}",
        seeds=seeds_phrase(results), test=test_words(results), memory_kind=", ".join(kinds),
        first_axis=results.axes[0])
    return Rendered(table, macros)
