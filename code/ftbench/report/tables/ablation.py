"""An ablation table: one row per LoRA setting, with merged-versus-unmerged inference (seed 002)."""

from __future__ import annotations

from pathlib import Path

from ftbench.report import figures, stats
from ftbench.report.latex import environment, macro_key, num, pct
from ftbench.report.results import TableResults
from ftbench.report.tables import Rendered, caption, renderer, row_view, seeds_phrase, test_words


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
    speedups = [float(r["merge_speedup"]) for r in results.rows]
    macros = {macro_key(results.name, "merge-same-min"): pct(min(
                  float(r["merge_same_predictions"]) for r in results.rows)),
              macro_key(results.name, "merge-speedup-mean"): num(stats.mean(speedups), 2),
              macro_key(results.name, "merge-faster-runs"): str(sum(s > 1 for s in speedups)),
              macro_key(results.name, "merge-runs"): str(len(speedups))}
    table = environment().get_template("ablation_table.tex.j2").render(
        rows=rows, caption=caption(results), label=f"tab:{results.name}",
        seeds=seeds_phrase(results), test=test_words(results), dataset=groups[0].dataset)
    return Rendered(table, macros)
