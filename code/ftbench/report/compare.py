"""Paired comparisons within a table, and the sentences the paper says about them.

Each configuration is compared with its baseline: the first configuration of its block of
`report.paired_by` axes (by default the first axis, when a table has several). The test is the
seed-stratified exact McNemar test of `stats.pooled_mcnemar`; the p-values of one table are
adjusted together with Holm's method. A sentence states the direction, the size (in points of
test accuracy) and the significance, so that it changes when the data change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ftbench.report import stats
from ftbench.report.latex import Tex, escape, pct, pvalue
from ftbench.report.results import Group, TableResults


@dataclass
class Comparison:
    base: Group
    other: Group
    p: float
    b: int  # test images right only under the baseline, summed over seeds
    c: int  # ... right only under the other configuration
    seeds: int
    agreeing: int  # seeds in which the accuracy difference has the sign of the mean difference
    p_holm: float = 1.0

    @property
    def diff(self) -> float:
        """Other minus baseline, in points of mean test accuracy."""
        return 100 * (self.other.mean("accuracy") - self.base.mean("accuracy"))

    @property
    def significant(self) -> bool:
        return self.p_holm < stats.ALPHA

    @property
    def direction(self) -> int:
        """+1: the other configuration is significantly more accurate; -1: less; 0: neither."""
        return (1 if self.diff > 0 else -1) if self.significant else 0


def baselines(results: TableResults) -> dict[int, Group]:
    """id(group) -> its baseline group; a baseline maps to itself."""
    report = results.experiment.report
    axes = results.axes
    by = report.paired_by if report.paired_by is not None else (axes[:1] if len(axes) > 1
                                                                 else [])
    first: dict[tuple, Group] = {}
    return {id(g): first.setdefault(tuple(g.axes[a] for a in by), g) for g in results.groups}


def _agreeing(results: TableResults, base: Group, other: Group, sign: float) -> tuple[int, int]:
    seeds = sorted(set(base.seeds) & set(other.seeds))
    acc = {(g is other, r["seed"]): float(r["accuracy"]) for g in (base, other) for r in g.rows}
    same = sum((acc[(True, str(s))] - acc[(False, str(s))]) * sign > 0 for s in seeds)
    return len(seeds), same


def compare(results: TableResults) -> list[Comparison]:
    """Every configuration against its baseline, Holm-adjusted within the table."""
    if results.experiment.report.table == "grid":
        return []
    base_of = baselines(results)
    out = []
    for g in results.groups:
        base = base_of[id(g)]
        if base is g:
            continue
        p, b, c = stats.pooled_mcnemar(results.paired(base, g))
        diff = g.mean("accuracy") - base.mean("accuracy")
        seeds, same = _agreeing(results, base, g, 1.0 if diff >= 0 else -1.0)
        out.append(Comparison(base, g, p, b, c, seeds, same))
    for cmp, adjusted in zip(out, stats.holm([c.p for c in out]), strict=True):
        cmp.p_holm = adjusted
    return out


def p_text(cmp: Comparison) -> Tex:
    return Tex(f"$p_\\mathrm{{Holm}} {'=' if cmp.p_holm >= 0.001 else ''}"
               f"{pvalue(cmp.p_holm).replace('$', '')}$")


def seeds_text(cmp: Comparison) -> str:
    if cmp.seeds == 1:
        return "one seed"
    return f"{cmp.seeds} seeds, the same sign in {cmp.agreeing}"


def sentence(cmp: Comparison, where: str = "") -> Tex:
    """One generated sentence: direction, size and significance of `cmp` (LaTeX)."""
    text = _sentence(cmp, where)
    return Tex(text[:1].upper() + text[1:])


def _sentence(cmp: Comparison, where: str) -> str:
    other, base = escape_name(cmp.other), escape_name(cmp.base)
    at = f" on {escape(where)}" if where else ""
    values = (f"{pct(cmp.other.mean('accuracy'))}\\% against "
              f"{pct(cmp.base.mean('accuracy'))}\\%")
    if cmp.significant:
        more = "more" if cmp.diff > 0 else "less"
        return Tex(f"{other} is {abs(cmp.diff):.1f} points {more} accurate than {base}{at} "
                   f"({values}; {p_text(cmp)}, {seeds_text(cmp)}).")
    return Tex(f"{other} and {base} cannot be told apart{at} ({values}, a difference of "
               f"{cmp.diff:+.1f} points; {p_text(cmp)}, {seeds_text(cmp)}).")


def escape_name(g: Group) -> Tex:
    r = f" ($r{{=}}{g.lora_r}$)" if g.lora_r else ""
    return Tex(f"{escape(g.method)}{r} on the {escape(g.label)}")
