"""A grid table: mean test accuracy over three hyperparameters, as a table and as heatmaps
(write-up 001's sensitivity study)."""

from __future__ import annotations

from pathlib import Path

from ftbench.report import figures, stats
from ftbench.report.latex import environment, escape, macro_key, num
from ftbench.report.results import TableResults
from ftbench.report.tables.common import caption, seeds_phrase
from ftbench.report.tables.registry import Rendered, renderer

KINDS = ("rows", "cols", "panels")


def _label(kind: str, value: float, zero_is: dict) -> str:
    off = zero_is.get(kind)
    return off if off and value == 0 else f"{value:g}"


def cells(results: TableResults) -> dict:
    """Mean test accuracy (%) per panel, row and column value, and which cells diverged."""
    spec = results.experiment.report.grid
    column = {k: getattr(spec, k) for k in KINDS}
    levels = {k: sorted({float(r[column[k]]) for r in results.rows}) for k in KINDS}
    values, diverged = {}, {}
    for pv in levels["panels"]:
        members = [[[r for r in results.rows if float(r[column["rows"]]) == rv
                     and float(r[column["cols"]]) == cv and float(r[column["panels"]]) == pv]
                    for cv in levels["cols"]] for rv in levels["rows"]]
        values[pv] = [[100 * stats.mean(r["accuracy"] for r in cell) for cell in line]
                      for line in members]
        diverged[pv] = [[any(r["status"] != "ok" for r in cell) for cell in line]
                        for line in members]
    labels = {k: [_label(k, v, spec.zero_is) for v in levels[k]] for k in KINDS}
    return {"levels": levels, "cells": values, "diverged": diverged, "labels": labels,
            "any_diverged": any(any(map(any, d)) for d in diverged.values())}


def _macros(results: TableResults, g: dict) -> dict[str, str]:
    spec, name = results.experiment.report.grid, results.name
    flat = [(acc, rv, cv, pv) for pv, grid in zip(g["labels"]["panels"], g["cells"].values(),
                                                  strict=True)
            for rv, line in zip(g["labels"]["rows"], grid, strict=True)
            for cv, acc in zip(g["labels"]["cols"], line, strict=True)]
    best, worst = max(flat), min(flat)
    return {macro_key(name, "best", "acc"): num(best[0]),
            macro_key(name, "best", "setting"): escape(
                f"{spec.row_title} {best[1]}, {spec.col_title} {best[2]}, "
                f"{spec.panel_title} {best[3]}"),
            macro_key(name, "worst", "acc"): num(worst[0]),
            macro_key(name, "spread"): num(best[0] - worst[0])}


@renderer("grid")
def grid(results: TableResults, out: Path) -> Rendered:
    """The heatmaps, with each cell's mean printed in it, in a figure environment: a table of
    the same numbers would repeat the figure."""
    spec, g = results.experiment.report.grid, cells(results)
    figure = out / "fig-heatmap.pdf"
    figures.heatmaps({f"{spec.panel_title} {lab}": g["cells"][v]
                      for v, lab in zip(g["levels"]["panels"], g["labels"]["panels"],
                                        strict=True)},
                     g["labels"]["rows"], g["labels"]["cols"], spec.row_title, spec.col_title,
                     figure, {k: g["diverged"][v] for k, v in zip(
                         (f"{spec.panel_title} {lab}" for lab in g["labels"]["panels"]),
                         g["levels"]["panels"], strict=True)})
    table = environment().get_template("grid_table.tex.j2").render(
        grid=g, names=spec, caption=caption(results), label=f"fig:{results.name}",
        seeds=seeds_phrase(results), dataset=results.groups[0].dataset,
        model=results.groups[0].label, name=results.name)
    return Rendered(table, _macros(results, g))
