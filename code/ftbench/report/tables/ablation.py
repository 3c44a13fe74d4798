"""An ablation table: one row per LoRA setting, with merged-versus-unmerged inference
(write-up 002)."""

from __future__ import annotations

from pathlib import Path

from ftbench.report import figures, sentences
from ftbench.report.latex import Tex, environment, macro_key, num, pct
from ftbench.report.results import TableResults
from ftbench.report.tables.common import caption, row_view, seeds_phrase, test_words
from ftbench.report.tables.registry import Rendered, renderer


@renderer("ablation")
def ablation(results: TableResults, out: Path) -> Rendered:
    groups = results.groups
    figures.lora_ablation([{
        "r": int(g.lora_r), "dropout": float(g.first["lora_dropout"] or 0),
        "accuracy": g.mean("accuracy"), "err": g.std("accuracy"),
        "unmerged": g.mean("unmerged_ms_per_image"), "merged": g.mean("merged_ms_per_image"),
    } for g in groups], out / "fig-ablation.pdf")
    rows = [row_view(results, g) | {
        "alpha": num(g.first["lora_alpha"], 0), "dropout": num(g.first["lora_dropout"], 1),
        "unmerged": num(g.mean("unmerged_ms_per_image"), 3),
        "merged": num(g.mean("merged_ms_per_image"), 3),
        "same": pct(min(g.values("merge_same_predictions")))} for g in groups]
    macros = {macro_key(results.name, "merge-same-min"): pct(min(
                  float(r["merge_same_predictions"]) for r in results.rows))}
    for c in results.comparisons:  # unmerged over merged inference time, the claims' estimator
        if c.metric.startswith("unmerged_ms_per_image"):
            k = [results.name, *c.other.axes.values()]
            macros[macro_key(*k, "merge-words")] = Tex(sentences.ratio_words(c.diff))
            macros[macro_key(*k, "merge-interval")] = Tex(sentences.interval_text(c))
    table = environment().get_template("ablation_table.tex.j2").render(
        rows=rows, caption=caption(results), label=f"tab:{results.name}",
        seeds=seeds_phrase(results), test=test_words(results), dataset=groups[0].dataset)
    return Rendered(table, macros)
