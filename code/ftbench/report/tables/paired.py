"""A paired table: per dataset, each configuration against the first (the baseline) in
accuracy, time per epoch and training memory (write-up 000)."""

from __future__ import annotations

from pathlib import Path

from ftbench.report import sentences
from ftbench.report.latex import Tex, environment, macro_key, num
from ftbench.report.results import TableResults
from ftbench.report.tables.benchmark import benchmark_figures
from ftbench.report.tables.common import caption, row_view, seeds_phrase, test_words
from ftbench.report.tables.registry import Rendered, renderer

MEMORY_KINDS = {"cuda_max_allocated": "the CUDA allocator's peak",
                "cpu_tensors": "the bytes of the tensors a training step holds",
                "cpu_peak_rss": "the process's peak resident memory",
                "cpu_peak_rss_process": "the process's peak resident memory, data included"}
RATIO_METRICS = {"per_epoch_s": "time", "peak_mib": "memory"}


def ratio_macros(results: TableResults) -> dict[str, dict[str, object]]:
    """configuration key -> {"time": its Comparison, "memory": ...} against its baseline: one
    estimator (the geometric mean of the per-seed ratios) for the table, text and claims."""
    out: dict[str, dict[str, object]] = {}
    for c in results.comparisons:
        if c.metric in RATIO_METRICS:
            out.setdefault(c.other.key, {})[RATIO_METRICS[c.metric]] = c
    return out


@renderer("paired")
def paired(results: TableResults, out: Path) -> Rendered:
    benchmark_figures(results, out)
    r = ratio_macros(results)
    dash = Tex("--")
    rows = [row_view(results, g) | {
        "time_ratio": num(r[g.key]["time"].diff, 2) if g.key in r else dash,
        "memory_ratio": num(r[g.key]["memory"].diff, 2) if g.key in r else dash}
        for g in results.groups]
    kinds = sorted({MEMORY_KINDS.get(row["memory_kind"], row["memory_kind"])
                    for row in results.rows})
    macros = {}
    for key, by in r.items():
        g = next(g for g in results.groups if g.key == key)
        k = [results.name, *g.axes.values()]
        time, memory = by["time"], by["memory"]
        macros[macro_key(*k, "time-words")] = Tex(sentences.ratio_words(time.diff))
        macros[macro_key(*k, "time-interval")] = Tex(sentences.interval_text(time))
        macros[macro_key(*k, "memory-words")] = Tex(sentences.memory_words(memory.diff))
        macros[macro_key(*k, "memory-interval")] = Tex(sentences.interval_text(memory))
    table = environment().get_template("paired_table.tex.j2").render(
        rows=rows, caption=caption(results), label=f"tab:{results.name}",
        seeds=seeds_phrase(results), test=test_words(results), memory_kind=", ".join(kinds),
        first_axis=results.axes[0])
    return Rendered(table, macros)
