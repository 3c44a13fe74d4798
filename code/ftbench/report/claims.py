"""Claims versus findings: each statement of a write-up that this paper tests, what this build
measured, and a verdict generated from the data: supported, contradicted, not significant, or
not measurable at this scale. The claims are data (`paper/claims.yaml`, each quoting its write-up
verbatim); the rules are here, one per kind, and read `comparisons.csv` (ftbench.report.compare):

- comparison: the configurations the claim says win against those it says lose, pair by pair
  (the table's paired tests, Holm-adjusted within the table), on exactly the datasets the claim
  names. Supported when every pair is significant in the claimed direction; contradicted when
  any is significant the other way.
- ratio: the table's ratio (time, memory, latency) with its 95% interval over seeds against the
  claimed range. Supported when every interval excludes 1 on the claimed side and meets the
  range; contradicted when one excludes 1 on the other side, or misses the range; otherwise not
  significant. Measured on a CPU, where the write-up's GPU is absent, or claimed without a number, a
  ratio is judged on its direction alone: its size is not measurable at this scale.
- value: a measured value (over seeds, a t-interval; parameter counts are exact) against the
  claimed range: supported when they meet, contradicted when they do not.

A claim about a dataset or schedule this build did not run (`requires`) is not measurable at
this scale: the tiny profile's stand-ins say nothing about Food-101's accuracy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ftbench.config import suggest
from ftbench.config.typed import from_dict
from ftbench.config.yamlio import load_yaml
from ftbench.errors import UserError
from ftbench.report import stats
from ftbench.report.aggregate import COLUMNS, read_csv
from ftbench.report.compare import EXACT

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_SIGNIFICANT, NOT_MEASURABLE = "not significant", "not measurable at this scale"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_SIGNIFICANT, NOT_MEASURABLE)
STATEMENTS = ("reported result", "expected result", "goal", "future work")


@dataclass
class Claim:
    writeup: str  # which write-up it quotes: paper/writeups/<writeup>.md
    statement: Literal["reported result", "expected result", "goal", "future work"]
    where: list[str]  # the headings of the write-up's write-up the quote stands under
    quote: list[str]  # the write-up's words, verbatim
    claim: str  # what is tested, in our words
    kind: Literal["comparison", "ratio", "value"]
    table: str
    select: dict = field(default_factory=dict)  # axis -> value(s): the rows the claim is about
    better: dict = field(default_factory=dict)  # comparison: axis -> value(s) of the winners
    worse: dict = field(default_factory=dict)  # ... and of the losers
    numerator: dict = field(default_factory=dict)  # ratio across configurations: axis filter
    denominator: dict = field(default_factory=dict)
    column: str = ""  # ratio, value: the CSV column (a ratio within a run: "a/b")
    range: list[float] = field(default_factory=list)  # [low, high]; none: a direction only
    params: bool = False  # value: read the params table (full size, whatever the profile)
    requires: dict = field(default_factory=dict)  # CSV column -> value the claim needs


@dataclass
class Finding:
    claim: Claim
    measured: str  # what this build measured, in words (LaTeX)
    verdict: str
    direction_only: bool = False  # judged on its direction: the size is not measurable here


def _plain(text: str) -> str:
    """Text as a reader sees it: no markdown or HTML markup, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>|\*\*|\*|`", "", text).split())


def section(text: str, heading: str) -> str | None:
    """The part of a markdown text under `heading`, up to the next heading of its level or
    above; None if there is no such heading."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"(#+) (.*)", line)
        if m and _plain(m.group(2)) == heading:
            level, end = len(m.group(1)), len(lines)
            for j in range(i + 1, len(lines)):
                n = re.match(r"(#+) ", lines[j])
                if n and len(n.group(1)) <= level:
                    end = j
                    break
            return "\n".join(lines[i + 1:end])
    return None


def check_quote(claim: Claim, writeups: Path, where: str) -> None:
    """The quote stands, verbatim, where the claim says: a misquote stops the build."""
    path = Path(writeups) / f"{claim.writeup}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise UserError(f"{where}: no write-up {path} for write-up {claim.writeup}") from None
    for heading in claim.where:
        text = section(text, heading)
        if text is None:
            raise UserError(f"{where}: {path} has no heading '{heading}' under "
                            f"{claim.where[:claim.where.index(heading)] or 'its top'}; fix "
                            "the claim's where:")
    for quote in claim.quote:
        if _plain(quote) not in _plain(text):
            raise UserError(f"{where}: the quote '{quote}' is not in {path} under "
                            f"{' / '.join(claim.where)}; quote the write-up verbatim")


def load_claims(path: Path, experiments: list | None = None) -> list[Claim]:
    """The claims, each checked: its quote against the write-up and, given the profile's
    experiments, its table, axes, values and columns against them."""
    doc = load_yaml(path)
    items = doc.get("claims")
    if not isinstance(items, list):
        raise UserError(f"{path}: expected 'claims:' with a list of claims")
    out = []
    for i, item in enumerate(items):
        where = f"{path} [claim {i + 1}]"
        claim = from_dict(Claim, item, where)
        check_quote(claim, Path(path).parent / "writeups", where)
        if experiments is not None:
            check_claim(claim, experiments, where)
        out.append(claim)
    return out


def check_claim(claim: Claim, experiments: list, where: str) -> None:
    """A claim names a table of the profile, its axes and their values, and CSV columns: a
    misspelt one is one line, never a claim that silently tests nothing."""
    tables = {e.name: e for e in experiments}
    if claim.table not in tables:
        raise UserError(f"{where}: unknown table '{claim.table}'{suggest(claim.table, tables)};"
                        f" choose one of: {', '.join(tables)}")
    runs = tables[claim.table].runs
    if not runs:  # a table this profile does not run: its claims are not measurable here
        return
    values = {a: {r.axes[a] for r in runs} for a in runs[0].axes}
    for name in ("select", "better", "worse", "numerator", "denominator"):
        for axis, want in getattr(claim, name).items():
            if axis not in values:
                raise UserError(f"{where}: {name}: table {claim.table} has no axis '{axis}'"
                                f"{suggest(axis, values)}; its axes: {', '.join(values)}")
            for v in want if isinstance(want, list) else [want]:
                if str(v) not in values[axis]:
                    raise UserError(f"{where}: {name}: axis {axis} of table {claim.table} has no"
                                    f" value '{v}'{suggest(v, values[axis])}; its values: "
                                    f"{', '.join(sorted(values[axis]))}")
    columns = [c for c in (claim.column.split("/") if claim.column else []) + list(claim.requires)]
    for c in columns:
        if c not in COLUMNS:
            raise UserError(f"{where}: unknown column '{c}'{suggest(c, COLUMNS)}; name a column "
                            f"of the table's CSV")
    if claim.kind in ("ratio", "value") and not claim.column and not claim.params:
        raise UserError(f"{where}: a {claim.kind} claim needs column: (or params: true)")
    if claim.kind == "comparison" and not (claim.better and claim.worse):
        raise UserError(f"{where}: a comparison claim needs better: and worse:")


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


def _pairs(claim: Claim, results, a_spec: dict, b_spec: dict) -> list[tuple]:
    """(a, b) groups of a table that match the two specs and the claim's `select`, and agree
    on every other axis."""
    named = set(a_spec) | set(b_spec)
    rest = [x for x in results.axes if x not in named]
    chosen = [g for g in results.groups if matches(g.first, claim.select)]
    a_groups = [g for g in chosen if matches(g.first, a_spec)]
    b_groups = [g for g in chosen if matches(g.first, b_spec)]
    pairs = [(a, b) for a in a_groups for b in b_groups
             if all(a.axes[x] == b.axes[x] for x in rest)]
    if not pairs:
        raise UserError(f"paper/claims.yaml: no configurations of table {results.name} match "
                        f"{a_spec} and {b_spec} within {claim.select}; fix the claim's axes")
    return pairs


def _row(comparisons: dict, results, a: str, b: str, metric: str) -> tuple[dict, bool]:
    """The comparisons.csv row of configurations a and b in `metric`, and whether it is
    stored the other way round (b against a)."""
    for key, flipped in (((a, b), False), ((b, a), True)):
        row = comparisons.get((results.name, *key, metric))
        if row is not None:
            return row, flipped
    raise UserError(f"paper/claims.yaml: table {results.name} does not compare {a} with {b} "
                    f"in {metric}; compare with its baseline (report.paired_by)")


def _comparison(claim: Claim, results, comparisons: dict) -> Finding:
    sides, diffs = [], []
    for win, lose in _pairs(claim, results, claim.better, claim.worse):
        row, flipped = _row(comparisons, results, lose.key, win.key, "accuracy")
        diff = 100 * float(row["diff"]) * (-1 if flipped else 1)  # winner minus loser
        diffs.append(diff)
        sides.append((1 if diff > 0 else -1) if row["significant"] == "True" else 0)
    n, good, bad = len(sides), sides.count(1), sides.count(-1)
    verdict = CONTRADICTED if bad else SUPPORTED if good == n else NOT_SIGNIFICANT
    spread = f"{diffs[0]:+.1f}" if n == 1 else f"{min(diffs):+.1f} to {max(diffs):+.1f}"
    measured = (f"{good} of {n} significantly as claimed, {bad} the other way; claimed winner "
                f"minus loser {spread} points")
    return Finding(claim, measured, verdict)


def _ratios(claim: Claim, results, comparisons: dict) -> list[tuple[float, float, float]]:
    """(ratio, low, high) per pair the claim names, numerator over denominator."""
    if "/" in claim.column:  # within each run, e.g. unmerged over merged latency
        pairs = [(g, g) for g in results.groups if matches(g.first, claim.select)]
    else:
        pairs = [(d, n) for n, d in _pairs(claim, results, claim.numerator, claim.denominator)]
    out = []
    for den, num in pairs:
        row, flipped = _row(comparisons, results, den.key, num.key, claim.column)
        r, low, high = (float(row[k]) if row[k] else math.nan for k in ("diff", "low", "high"))
        if row["test"] == EXACT:  # the same in every seed: no interval
            low = high = r
        out.append((1 / r, 1 / high, 1 / low) if flipped else (r, low, high))
    return out


def _on_cpu(rows: list[dict]) -> bool:
    return not any(r.get("cuda") for r in rows)


def _ratio(claim: Claim, results, comparisons: dict) -> Finding:
    intervals = _ratios(claim, results, comparisons)
    if any(math.isnan(r) for r, _, _ in intervals):  # a zero time or memory: no ratio
        return Finding(claim, "a measured value is zero", NOT_MEASURABLE)
    direction_only = not claim.range or _on_cpu(_rows(claim, results))
    above = not claim.range or claim.range[0] >= 1  # the claimed side of 1
    verdicts = []
    for _, low, high in intervals:
        right = low > 1 if above else high < 1
        wrong = high < 1 if above else low > 1
        missed = right and not direction_only and not meets(low, high, claim.range)
        verdicts.append(CONTRADICTED if wrong or missed
                        else SUPPORTED if right else NOT_SIGNIFICANT)
    verdict = (CONTRADICTED if CONTRADICTED in verdicts
               else SUPPORTED if all(v == SUPPORTED for v in verdicts) else NOT_SIGNIFICANT)
    measured = "; ".join(f"{r:.2f}" if low == high else f"{r:.2f} [{low:.2f}, {high:.2f}]"
                         for r, low, high in intervals)
    return Finding(claim, measured, verdict, direction_only)


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
    specs = [s for s in (claim.better, claim.worse, claim.numerator, claim.denominator) if s]
    return [r for r in results.rows if matches(r, claim.select)
            and (not specs or any(matches(r, s) for s in specs))]


def judge(claim: Claim, tables: dict, params_rows: list[dict], comparisons: dict) -> Finding:
    """The verdict of one claim; `tables` maps table names to their TableResults,
    `comparisons` (table, config_a, config_b, metric) to rows of comparisons.csv."""
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
        return _comparison(claim, results, comparisons)
    if claim.kind == "ratio":
        return _ratio(claim, results, comparisons)
    return _value(claim, rows)


def findings(path: Path, tables: dict, comparisons: list[dict], results: Path,
             experiments: list | None = None) -> list[Finding]:
    """Every claim's verdict; `tables` maps names to TableResults, `comparisons` holds the
    checked rows of comparisons.csv, `experiments` every table of the profile (the names a
    claim may use; default: those in `tables`)."""
    by_key = {(r["table"], r["config_a"], r["config_b"], r["metric"]): r for r in comparisons}
    params_rows = read_csv(Path(results) / "params.csv")
    if experiments is None:
        experiments = [t.experiment for t in tables.values()]
    return [judge(c, tables, params_rows, by_key) for c in load_claims(path, experiments)]
