"""What two builds conclude, compared: not their bits. A rebuild on another CPU, with other
kernels, moves the last digits of every number and a training run's path with them; what must
survive is what the paper says. The rule, over the rows of two builds' comparisons
(`comparisons.csv`, as `report.compare` computes them), matched by table, config_a, config_b and
metric:

1. sign: a comparison significant in either build has the same sign of `diff` in both (a
   ratio's: of its log, above or below 1);
2. significance: it may be significant in one build and not in the other only where its p_holm
   lies within `BORDERLINE` (0.005 to 0.2) in both: a borderline change, listed, never a
   disagreement. A p_holm of 0.3 that becomes 0.01 is a changed conclusion; 0.06 against 0.04
   is the test's own noise at a 0.05 threshold;
3. verdicts: every claim of `paper/claims.yaml` gets the same verdict from both builds.

A comparison in one build only is a disagreement. `agree` is the rule, rows in and disagreements
out; `of_folder` computes a results folder's rows and verdicts with the functions the paper's
tables and claims use (`ftbench compare --conclusions`, and `ftbench verify` for one table with a
retrained run swapped in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.report import claims, compare
from ftbench.report.aggregate import MEASURED
from ftbench.report.render import CLAIMS

BORDERLINE = (0.005, 0.2)  # p_holm within this, in both builds: significance may change
NAMES = ("the first build", "the second build")  # as the lines name them by default


def key(row: dict) -> tuple[str, str, str, str]:
    return row["table"], row["config_a"], row["config_b"], row["metric"]


def measures(row: dict) -> bool:
    """A row whose every number is a measurement of the machine: a ratio of times per epoch,
    memory or latencies (`aggregate.MEASURED`)."""
    return all(part in MEASURED for part in (row.get("metric") or "").split("/"))


def significant(row: dict) -> bool:
    return row["significant"] == "True"


def p_holm(row: dict) -> float | None:
    """None for an exact row (the same in every seed: no test)."""
    return float(row["p_holm"]) if row.get("p_holm") not in (None, "") else None


def diff(row: dict) -> float:
    """NaN where there is none (a ratio of a zero time: comparisons.csv leaves it empty)."""
    try:
        return float(row["diff"])
    except (TypeError, ValueError):
        return math.nan


def sign(row: dict) -> int:
    """+1, -1 or 0: of `diff` (b minus a), or of a ratio's log (b over a above 1 or below)."""
    centre = diff(row) - (1 if row.get("kind") == "ratio" else 0)
    return 0 if math.isnan(centre) or centre == 0 else (1 if centre > 0 else -1)


def borderline(row: dict) -> bool:
    p = p_holm(row)
    return p is not None and BORDERLINE[0] <= p <= BORDERLINE[1]


def _side(row: dict | None) -> str:
    if row is None:
        return "absent"
    d, p = diff(row), p_holm(row)
    value = f"diff {d:.4f}" if row.get("kind") == "ratio" else f"diff {d:+.4f}"
    return (f"{value} p_holm {'exact' if p is None else f'{p:.3g}'}"
            f"{' (significant)' if significant(row) else ''}")


@dataclass
class Change:
    """A comparison whose conclusion differs between the builds: a disagreement, or a
    borderline change of significance (`fails` False: listed, not a disagreement)."""

    key: tuple[str, str, str, str]
    first: dict | None
    second: dict | None
    why: str  # {0} and {1}: the builds' names
    fails: bool = True

    def line(self, names: tuple[str, str] = NAMES) -> str:
        table, a, b, metric = self.key
        return (f"{'disagrees' if self.fails else 'borderline'}: {table} {b} vs {a} {metric}: "
                f"{names[0]} {_side(self.first)}, {names[1]} {_side(self.second)}: "
                + self.why.format(*names))


def judge(first: dict | None, second: dict | None) -> Change | None:
    """Rules 1 and 2 on one comparison of the two builds; None when they conclude the same."""
    k = key(first if first is not None else second)
    if first is None or second is None:
        return Change(k, first, second, f"only in {{{int(first is None)}}}")
    s1, s2 = significant(first), significant(second)
    why = []
    if (s1 or s2) and sign(first) != sign(second):
        why.append("the sign differs")
    if s1 != s2:
        which = f"significant in {{{int(s2)}}} only"
        if not (borderline(first) and borderline(second)):
            why.append(f"{which}, and p_holm is not within {BORDERLINE[0]:g}-{BORDERLINE[1]:g}"
                       " in both")
        elif not why:
            return Change(k, first, second, f"{which}; p_holm within {BORDERLINE[0]:g}-"
                                            f"{BORDERLINE[1]:g} in both", fails=False)
    return Change(k, first, second, "; ".join(why)) if why else None


@dataclass
class Build:
    """What one build concludes: its comparisons (rows as `compare.row` writes them) and, for a
    whole results folder, each claim's verdict (claim -> verdict)."""

    rows: list[dict]
    verdicts: dict[str, str] | None = None


@dataclass
class Agreement:
    changes: list[Change]  # disagreements and borderline changes, in key order
    verdicts: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    compared: int = 0  # comparisons in either build
    significant: int = 0  # ... significant in either
    skipped: int = 0  # comparisons of measured columns, not judged (measured=False)

    @property
    def borderline(self) -> list[Change]:
        return [c for c in self.changes if not c.fails]

    @property
    def unequal_verdicts(self) -> list[tuple[str, str | None, str | None]]:
        return [v for v in self.verdicts if v[1] != v[2]]

    @property
    def disagreements(self) -> int:
        return sum(c.fails for c in self.changes) + len(self.unequal_verdicts)

    @property
    def agree(self) -> bool:
        return not self.disagreements

    def lines(self, names: tuple[str, str] = NAMES) -> list[str]:
        """One line per disagreement and per borderline change, then one per unequal verdict."""
        return [c.line(names) for c in self.changes] + [
            f"disagrees: {claim}: {names[0]} {a or 'absent'}, {names[1]} {b or 'absent'}: the "
            "verdict differs" for claim, a, b in self.unequal_verdicts]

    def summary(self) -> str:
        verdicts = (f", {len(self.verdicts) - len(self.unequal_verdicts)} of "
                    f"{len(self.verdicts)} verdicts equal" if self.verdicts else "")
        skipped = (f" ({self.skipped} comparisons of measured columns not judged)"
                   if self.skipped else "")
        return (f"{self.compared} comparisons, {self.significant} significant in either, "
                f"{len(self.borderline)} borderline changes listed{verdicts}{skipped}: "
                + ("the conclusions agree" if self.agree else
                   f"{self.disagreements} disagreement{'s' * (self.disagreements != 1)}"))


def agree(first: Build, second: Build, measured: bool = True) -> Agreement:
    """The rule on two builds. `measured` False leaves out the comparisons of measured columns
    (a run retrained on another machine measures its times there: ftbench verify)."""
    a = {key(r): r for r in first.rows}
    b = {key(r): r for r in second.rows}
    keys = sorted(set(a) | set(b))
    judged = [k for k in keys if measured or not measures(a.get(k) or b[k])]
    out = Agreement([], compared=len(judged), skipped=len(keys) - len(judged))
    for k in judged:
        out.significant += any(r is not None and significant(r) for r in (a.get(k), b.get(k)))
        if (change := judge(a.get(k), b.get(k))) is not None:
            out.changes.append(change)
    if first.verdicts is not None and second.verdicts is not None:
        out.verdicts = [(c, first.verdicts.get(c), second.verdicts.get(c))
                        for c in dict.fromkeys([*first.verdicts, *second.verdicts])]
    return out


def shown(finding: claims.Finding) -> str:
    """A claim's verdict as the claims table shows it ('supported in direction': judged on its
    direction only, the size not measurable on a CPU)."""
    direction = finding.direction_only and finding.verdict in (claims.SUPPORTED,
                                                               claims.CONTRADICTED)
    return finding.verdict + (" in direction" if direction else "")


def table_rows(table) -> list[dict]:
    """A loaded table's comparisons (`compare.load`) as comparisons.csv rows."""
    return [compare.row(c) for c in table.comparisons]


def of_folder(experiments: list, results: Path, verdicts: bool = True) -> Build:
    """A results folder's comparisons, computed from its runs as the paper's tables compute
    them, and (`verdicts`) its claims' verdicts, as the claims table gives them."""
    tables = {e.name: compare.load(e, results) for e in experiments if e.runs}
    rows = [r for t in tables.values() for r in table_rows(t)]
    if not verdicts:
        return Build(rows)
    found = claims.findings(CLAIMS, tables, rows, results, experiments)
    return Build(rows, {f"claim {i} (write-up {f.claim.writeup}: "
                        f"{' '.join(f.claim.claim.split())})": shown(f)
                        for i, f in enumerate(found, 1)})
