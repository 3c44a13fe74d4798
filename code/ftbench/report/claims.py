"""Claims versus findings: each headline claim of a seed, what this build measured, and a
verdict generated from the data: supported, contradicted, not significant, or not measurable at
this scale. The claims are data (`paper/claims.yaml`); the rules are here, one per kind:

- comparison: the configurations the claim says win against those it says lose, pair by pair
  (the table's paired tests, Holm-adjusted within the table). Supported when every pair is
  significant in the claimed direction; contradicted when any is significant the other way.
- ratio: a per-seed ratio (time, memory, latency) with a t-interval on the log scale, against the
  claimed range. Supported when every interval excludes 1 on the claimed side and meets the
  range; contradicted when one excludes 1 on the other side, or misses the range; otherwise not
  significant.
- value: a measured value (over seeds, a t-interval; parameter counts are exact) against the
  claimed range: supported when they meet, contradicted when they do not.

A claim about a dataset or schedule this build did not run (`requires`) is not measurable at
this scale: the tiny profile's stand-ins say nothing about Food-101's accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ftbench.config.typed import from_dict
from ftbench.config.yamlio import load_yaml
from ftbench.errors import UserError
from ftbench.report import stats

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_SIGNIFICANT, NOT_MEASURABLE = "not significant", "not measurable at this scale"


@dataclass
class Claim:
    seed: str
    claim: str  # the seed's claim, in our words
    seed_says: str  # the seed's own number(s)
    kind: Literal["comparison", "ratio", "value"]
    table: str
    better: dict = field(default_factory=dict)  # comparison: axis -> value(s) of the winners
    worse: dict = field(default_factory=dict)  # ... and of the losers
    select: dict = field(default_factory=dict)  # ratio, value: axis -> value(s) of the rows
    numerator: dict = field(default_factory=dict)  # ratio across configurations: axis filter
    denominator: dict = field(default_factory=dict)
    column: str = ""  # ratio, value: the CSV column (ratio within a row: "a/b")
    range: list[float] = field(default_factory=list)  # [low, high] of the claimed value
    params: bool = False  # value: read the params table (full size, whatever the profile)
    requires: dict = field(default_factory=dict)  # CSV column -> value the claim needs


@dataclass
class Finding:
    claim: Claim
    measured: str  # what this build measured, in words (LaTeX)
    verdict: str


def load_claims(path: Path) -> list[Claim]:
    doc = load_yaml(path)
    items = doc.get("claims")
    if not isinstance(items, list):
        raise UserError(f"{path}: expected 'claims:' with a list of claims")
    return [from_dict(Claim, item, f"{path} [claim {i + 1}]") for i, item in enumerate(items)]


def matches(row: dict, spec: dict) -> bool:
    """Whether a CSV row's axis values fall within `spec` (axis -> value or list of values)."""
    for axis, want in spec.items():
        values = want if isinstance(want, list) else [want]
        if str(row.get(f"axis_{axis}", row.get(axis))) not in map(str, values):
            return False
    return True


def measurable(claim: Claim, rows: list[dict]) -> bool:
    return bool(rows) and all(str(r.get(k)) == str(v) for r in rows
                              for k, v in claim.requires.items())


def interval(values: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): a 95% t-interval over seeds; a single value is its own interval."""
    m = stats.mean(values)
    if len(values) < 2:
        return m, m, m
    from scipy.stats import t

    half = t.ppf(1 - stats.ALPHA / 2, len(values) - 1) * stats.std(values) / math.sqrt(
        len(values))
    return m, m - half, m + half


def meets(low: float, high: float, claimed: list[float]) -> bool:
    return low <= claimed[1] and high >= claimed[0]


def _pairs(results, a_spec: dict, b_spec: dict) -> list[tuple]:
    """(a, b) groups of a table that match the two specs and agree on every other axis."""
    named = set(a_spec) | set(b_spec)
    rest = [x for x in results.axes if x not in named]
    a_groups = [g for g in results.groups if matches(g.first, a_spec)]
    b_groups = [g for g in results.groups if matches(g.first, b_spec)]
    pairs = [(a, b) for a in a_groups for b in b_groups
             if all(a.axes[x] == b.axes[x] for x in rest)]
    if not pairs:
        raise UserError(f"paper/claims.yaml: no configurations of table {results.name} match "
                        f"{a_spec} and {b_spec}; fix the claim's axes")
    return pairs


def _comparison(claim: Claim, results) -> Finding:
    found = {frozenset((id(c.base), id(c.other))): c for c in results.comparisons}
    sides, diffs = [], []
    for win, lose in _pairs(results, claim.better, claim.worse):
        cmp = found.get(frozenset((id(win), id(lose))))
        if cmp is None:
            raise UserError(f"paper/claims.yaml: table {results.name} does not test {win.axes} "
                            f"against {lose.axes}; compare with its baseline (report.paired_by)")
        sign = 1 if cmp.other is win else -1
        diffs.append(sign * cmp.diff)
        sides.append(sign * cmp.direction)
    n, good, bad = len(sides), sides.count(1), sides.count(-1)
    verdict = CONTRADICTED if bad else SUPPORTED if good == n else NOT_SIGNIFICANT
    measured = (f"{good} of {n} significantly as claimed, {bad} the other way; claimed winner "
                f"minus loser {min(diffs):+.1f} to {max(diffs):+.1f} points")
    return Finding(claim, measured, verdict)


def _ratio_intervals(claim: Claim, results) -> list[tuple[str, tuple]]:
    if "/" in claim.column:  # within each run, e.g. unmerged over merged latency
        top, bottom = claim.column.split("/")
        groups = [g for g in results.groups if matches(g.first, claim.select)]
        return [(g.dataset, stats.log_ratio_interval(g.values(top), g.values(bottom)))
                for g in groups]
    out = []
    for num_g, den_g in _pairs(results, claim.numerator, claim.denominator):
        seeds = sorted(set(num_g.seeds) & set(den_g.seeds))
        top = [float(next(r for r in num_g.rows if int(r["seed"]) == s)[claim.column])
               for s in seeds]
        bottom = [float(next(r for r in den_g.rows if int(r["seed"]) == s)[claim.column])
                  for s in seeds]
        out.append((num_g.dataset, stats.log_ratio_interval(top, bottom)))
    return out


def _ratio(claim: Claim, results) -> Finding:
    intervals = _ratio_intervals(claim, results)
    if any(math.isnan(m) for _, (m, _, _) in intervals):  # a zero time or memory: no ratio
        return Finding(claim, "a measured value is zero", NOT_MEASURABLE)
    above = claim.range[0] >= 1  # the claimed side of 1
    verdicts = []
    for _, (_, low, high) in intervals:
        right = low > 1 if above else high < 1
        wrong = high < 1 if above else low > 1
        verdicts.append(CONTRADICTED if wrong or (right and not meets(low, high, claim.range))
                        else SUPPORTED if right else NOT_SIGNIFICANT)
    verdict = (CONTRADICTED if CONTRADICTED in verdicts
               else SUPPORTED if all(v == SUPPORTED for v in verdicts) else NOT_SIGNIFICANT)
    measured = "; ".join(f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for _, (m, lo, hi) in intervals)
    return Finding(claim, measured, verdict)


def _value(claim: Claim, rows: list[dict]) -> Finding:
    if claim.params:  # exact counts at full size: no spread
        value = 100 * int(rows[0]["trainable_params"]) / int(rows[0]["total_params"])
        ok = claim.range[0] <= value <= claim.range[1]
        return Finding(claim, f"{value:.2f}\\% ({int(rows[0]['trainable_params']):,} "
                              "trainable, at full size)", SUPPORTED if ok else CONTRADICTED)
    values = [float(r[claim.column]) for r in rows]
    m, low, high = interval(values)
    scale = 100 if claim.column == "accuracy" else 1
    measured = f"{scale * m:.1f} [{scale * low:.1f}, {scale * high:.1f}]"
    return Finding(claim, measured, SUPPORTED if meets(low, high, claim.range) else CONTRADICTED)


def _rows(claim: Claim, results) -> list[dict]:
    specs = [s for s in (claim.better, claim.worse, claim.select, claim.numerator,
                         claim.denominator) if s]
    return [r for r in results.rows if any(matches(r, s) for s in specs)]


def judge(claim: Claim, tables: dict, params_rows: list[dict]) -> Finding:
    """The verdict of one claim; `tables` maps table names to their TableResults."""
    if claim.params:
        rows = [r for r in params_rows if r["table"] == claim.table and matches(r, claim.select)]
        if not rows:
            raise UserError(f"paper/claims.yaml: the params table has no row for {claim.table} "
                            f"{claim.select}; fix the claim")
        return _value(claim, rows)
    results = tables.get(claim.table)
    rows = _rows(claim, results) if results else []
    if not measurable(claim, rows):
        return Finding(claim, "--", NOT_MEASURABLE)
    if claim.kind == "comparison":
        return _comparison(claim, results)
    if claim.kind == "ratio":
        return _ratio(claim, results)
    return _value(claim, rows)


def findings(path: Path, experiments: list, results: Path) -> list[Finding]:
    from ftbench.report.aggregate import read_csv
    from ftbench.report.results import TableResults

    tables = {e.name: TableResults.load(e, results) for e in experiments if e.runs}
    params_rows = read_csv(Path(results) / "params.csv")
    return [judge(c, tables, params_rows) for c in load_claims(path)]
