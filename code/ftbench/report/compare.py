"""Every comparison the paper makes within a table, and `comparisons.csv`, where a reviewer can
check them.

Each configuration is compared with its baseline: the first configuration of its block of
`report.paired_by` axes (by default the first axis, when a table has several).

- accuracy: the seed-paired t test over training runs (`stats.seed_paired_t`), the test every
  verdict and sentence uses, its p-values adjusted within the table with Holm's method; each
  configuration's run-level variance ratio (`stats.variance_ratio`) beside it; and, as a
  secondary statement about these trained networks only, the image-level sign-flip test.
- ratios the paper states: time per epoch and training memory against the baseline (paired
  tables), inference time unmerged over merged within each run (ablation tables): the geometric
  mean over seeds with a t-interval on the log scale, and the t-test of the log ratio. A ratio
  that is the same in every seed (a count, not a measurement) is exact: no test.

`comparisons.csv` holds one row per comparison of every table; the tables, the sentences and the
claims' verdicts are computed by the same functions, and `render` refuses a CSV that differs
from what the runs give now.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ftbench.errors import UserError
from ftbench.report import stats
from ftbench.report.results import Group, TableResults
from ftbench.store import atomic

COLUMNS = ["table", "config_a", "config_b", "metric", "kind", "seeds", "a_mean", "b_mean",
           "diff", "diff_seed_std", "same_sign_seeds", "low", "high", "test", "statistic", "p",
           "p_holm", "significant", "variance_ratio_a", "variance_ratio_b", "images_test",
           "images_statistic", "images_discordant", "images_p"]
SEED_T = "seed-paired t test over runs"
SIGN_FLIP = "sign-flip over test images, these networks only"
NO_TEST = "none (one seed: no run-level spread)"
LOG_T = "t-test of the log ratio over seeds"
EXACT = "exact (the same in every seed)"
# ratios a table kind states: (metric, numerator column, denominator column or "" for the
# baseline's same column)
RATIOS = {"paired": [("per_epoch_s", "per_epoch_s", ""), ("peak_mib", "peak_mib", "")],
          "ablation": [("unmerged_ms_per_image/merged_ms_per_image", "unmerged_ms_per_image",
                        "merged_ms_per_image")]}


@dataclass
class Comparison:
    """`other` (config_b) against `base` (config_a) in one metric. For a difference, `diff` is
    b minus a (a fraction, for accuracy); for a ratio, b over a (geometric mean over seeds)."""

    table: str
    base: Group
    other: Group
    metric: str
    kind: str  # difference | ratio
    seeds: int
    diff: float
    diff_std: float  # the per-seed differences' (ratios: log ratios') sample std
    agreeing: int  # seeds whose difference has the sign of `diff` (ratios: of log `diff`)
    test: str
    p: float | None
    low: float = math.nan  # ratios: the 95% interval
    high: float = math.nan
    statistic: float | None = None
    p_holm: float | None = None
    ratio_a: float | None = None  # the configurations' run-level variance ratios (accuracy)
    ratio_b: float | None = None
    images: stats.SignFlip | None = None  # the secondary, image-level test (accuracy)

    @property
    def significant(self) -> bool:
        if self.test == EXACT:  # the same in every seed: any difference is real
            return self.diff != (1.0 if self.kind == "ratio" else 0.0)
        return self.p_holm is not None and self.p_holm < stats.ALPHA

    @property
    def direction(self) -> int:
        """+1: b is significantly above a (ratio above 1); -1: below; 0: neither."""
        centre = math.log(self.diff) if self.kind == "ratio" else self.diff
        return (1 if centre > 0 else -1) if self.significant else 0


def baselines(results: TableResults) -> dict[str, Group]:
    """configuration key -> its baseline group; a baseline maps to itself."""
    report = results.experiment.report
    axes = results.axes
    by = report.paired_by if report.paired_by is not None else (axes[:1] if len(axes) > 1
                                                                 else [])
    first: dict[tuple, Group] = {}
    return {g.key: first.setdefault(tuple(g.axes[a] for a in by), g) for g in results.groups}


def _same_sign(values: list[float], centre: float) -> int:
    return sum(v * centre > 0 for v in values)


def accuracy_comparison(results: TableResults, base: Group, other: Group) -> Comparison:
    """The run-level test on the seeds both ran, with the image-level one beside it."""
    a, b = stats.as_matrix(results.paired(base, other))
    acc_a, acc_b = a.mean(1), b.mean(1)
    run_test = stats.seed_paired_t(acc_a, acc_b)
    per_seed = list(acc_b - acc_a)
    diff = float(b.mean() - a.mean())
    images = a.shape[1]
    return Comparison(results.name, base, other, "accuracy", "difference", len(per_seed), diff,
                      stats.std(per_seed), _same_sign(per_seed, diff),
                      SEED_T if run_test else NO_TEST, run_test.p if run_test else None,
                      statistic=run_test.statistic if run_test else None,
                      ratio_a=stats.variance_ratio(acc_a, images),
                      ratio_b=stats.variance_ratio(acc_b, images),
                      images=stats.sign_flip_test(a, b))


def ratio_comparison(results: TableResults, base: Group, other: Group, metric: str,
                     top: str, bottom: str) -> Comparison:
    """`other`'s column `top` over `base`'s column `bottom` (its own `top` when empty), seed by
    seed."""
    seeds = sorted(set(base.seeds) & set(other.seeds))
    num = [other.value(top, s) for s in seeds]
    den = [base.value(bottom or top, s) for s in seeds]
    centre, low, high = stats.log_ratio_interval(num, den)
    logs = [math.log(n / d) for n, d in zip(num, den, strict=True)] if centre > 0 else []
    exact = len(set(logs)) == 1 and len(logs) > 1
    p = None if exact else stats.log_ratio_p(num, den)
    return Comparison(results.name, base, other, metric, "ratio", len(seeds), centre,
                      stats.std(logs), _same_sign(logs, math.log(centre) if centre > 0 else 0),
                      EXACT if exact else LOG_T, p, low, high)


def compare(results: TableResults) -> list[Comparison]:
    """Every comparison of a table; Holm-adjusted within the table, metric by metric."""
    kind = results.experiment.report.table
    if kind == "grid":
        return []
    base_of = baselines(results)
    out = [accuracy_comparison(results, base_of[g.key], g) for g in results.groups
           if base_of[g.key] is not g]
    for metric, top, bottom in RATIOS.get(kind, []):
        pairs = ([(g, g) for g in results.groups] if bottom else  # within each run
                 [(base_of[g.key], g) for g in results.groups if base_of[g.key] is not g])
        out += [ratio_comparison(results, a, b, metric, top, bottom) for a, b in pairs]
    for metric in dict.fromkeys(c.metric for c in out):
        family = [c for c in out if c.metric == metric]
        for cmp, adjusted in zip(family, stats.holm([c.p for c in family]), strict=True):
            cmp.p_holm = adjusted
    return out


def load(experiment, results: Path, deep: bool = False) -> TableResults:
    """A table's results with its comparisons: read, checked and paired before any output is
    written, so that a bad file or an unpaired configuration stops the table, not half of it."""
    table = TableResults.load(experiment, results, deep)
    table.comparisons = compare(table)  # pairs the configurations: the same test images
    table.check_agreement()
    return table


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def row(c: Comparison) -> dict:
    means = {"a_mean": c.base.mean(c.metric), "b_mean": c.other.mean(c.metric)} \
        if c.kind == "difference" else {}
    return {k: _cell(v) for k, v in {
        "table": c.table, "config_a": c.base.key, "config_b": c.other.key, "metric": c.metric,
        "kind": c.kind, "seeds": c.seeds, **means, "diff": c.diff, "diff_seed_std": c.diff_std,
        "same_sign_seeds": c.agreeing, "low": c.low, "high": c.high, "test": c.test,
        "statistic": c.statistic, "p": c.p, "p_holm": c.p_holm, "significant": c.significant,
        "variance_ratio_a": c.ratio_a, "variance_ratio_b": c.ratio_b,
        **_image_level(c.images)}.items()}


def _image_level(test: stats.SignFlip | None) -> dict:
    if test is None:
        return {}
    return {"images_test": SIGN_FLIP, "images_statistic": test.statistic,
            "images_discordant": test.discordant, "images_p": test.p}


def csv_text(tables: list[TableResults]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(row(c) for t in tables for c in t.comparisons)
    return buf.getvalue()


def path_of(results: Path) -> Path:
    return Path(results) / "comparisons.csv"


def write(tables: list[TableResults], results: Path) -> Path:
    atomic.write_text(path_of(results), csv_text(tables))
    return path_of(results)


def checked_rows(tables: list[TableResults], results: Path) -> list[dict]:
    """comparisons.csv, if it is what the tables' runs give now: a stale or edited file never
    reaches the paper."""
    path = path_of(results)
    fix = "write it again with: ftbench aggregate --comparisons (make all)"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} is missing; {fix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}); {fix}") from None
    if text != csv_text(tables):
        raise UserError(f"{path} differs from what the tables' runs give (edited by hand, or "
                        f"written from other runs or by another version of ftbench); {fix}")
    return list(csv.DictReader(io.StringIO(text)))
