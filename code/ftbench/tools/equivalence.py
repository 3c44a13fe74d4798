"""A run made again elsewhere: identical, equivalent or different. Another CPU (other vector
kernels: `ATEN_CPU_CAPABILITY=avx2`), or another build of the same libraries, rounds differently,
and a training run amplifies the last digit into a different path: no number need come out
equal, yet the run must land where its configuration's seeds land, and the table must conclude
the same with it.

Equivalent, for a run made again against the committed one (a table's CSV row each):

- every metric (`METRICS`: test accuracy, macro-F1, macro-AUC and loss, best validation
  accuracy, train accuracy) inside its configuration's seed band: [min - 2w, max + 2w] over the
  committed seeds, w the widest of: the seeds' range (max - min), the median range of that metric
  over the profile's configurations of two seeds or more (three seeds may lie close by chance;
  one seed has no range), and one image of the split the metric is computed on (`1 / images`;
  none for the loss). docs/reproducing.md says why;
- everything else the row records equal (status, parameter counts, epochs, configuration,
  identity), but for the columns that may move with the path (`FREE`: the chosen epoch, the
  merge check's numbers), the measured ones and provenance;
- no conclusion of the table changed (report.conclusions on its comparisons, the run swapped in).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.report import compare
from ftbench.report.aggregate import MEASURED, csv_text
from ftbench.report.conclusions import Agreement, Build, agree, table_rows
from ftbench.store import atomic
from ftbench.store.layout import run_dir

# CSV column -> the split whose one image is its floor (None: no floor)
METRICS = {"accuracy": "test", "macro_f1": "test", "macro_auc": "test", "test_loss": None,
           "best_val_accuracy": "val", "train_accuracy": "train"}
WIDTHS = 2  # how far a band reaches beyond the committed seeds' extremes, in widths
FREE = ("best_epoch", "merge_same_predictions", "merge_max_prob_diff")
# what produced the run, not what it computed: reported, never judged
PROVENANCE = ("device_name", "git_commit", "git_dirty", "cuda", "threads", "python", "torch",
              "torchvision", "timm", "peft")


def configuration(run_id: str) -> str:
    return run_id.rsplit("--s", 1)[0]


def _value(row: dict, column: str) -> float | None:
    try:
        return float(row[column]) if row.get(column) not in (None, "") else None
    except ValueError:
        return None


def seed_ranges(rows: list[dict]) -> dict[str, dict[str, float]]:
    """configuration -> metric -> the range (max - min) over its seeds; configurations of two
    seeds or more only."""
    by_config: dict[str, list[dict]] = {}
    for r in rows:
        by_config.setdefault(configuration(r["run_id"]), []).append(r)
    out = {}
    for name, members in by_config.items():
        if len(members) > 1:
            out[name] = {m: max(v) - min(v) for m in METRICS if len(
                v := [x for r in members if (x := _value(r, m)) is not None]) > 1}
    return out


def pooled_ranges(rows: list[dict]) -> dict[str, float]:
    """metric -> the median seed range over every configuration (of a profile) with two seeds
    or more: how far this profile's seeds usually spread."""
    ranges = seed_ranges(rows).values()
    return {m: statistics.median(v) for m in METRICS if (v := [r[m] for r in ranges if m in r])}


@dataclass
class Band:
    low: float
    high: float
    spread: float  # the configuration's seed range (0 for one seed)
    profile: float | None  # the profile's median seed range, where it is wider
    seeds: int

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def text(self) -> str:
        wider = "" if self.profile is None else f"profile's {self.profile:.3g}"
        if self.seeds < 2:
            return f"one seed; {wider or 'no range'}"
        return f"seed range {self.spread:.3g}" + (f", {wider}" if wider else "")


def bands(rows: list[dict], run_id: str, sizes: dict, pooled: dict[str, float]
          ) -> dict[str, Band]:
    """metric -> its band for `run_id`, from the committed rows of its table (`rows`), the
    sizes of its dataset's splits (`sizes`: test, val, train) and the profile's median seed
    ranges (`pooled`)."""
    members = [r for r in rows if configuration(r["run_id"]) == configuration(run_id)]
    out = {}
    for metric, split in METRICS.items():
        values = [v for r in members if (v := _value(r, metric)) is not None]
        if not values:
            continue
        spread = max(values) - min(values)
        profile = pooled.get(metric, 0.0)
        floor = 1 / sizes[split] if split and sizes.get(split) else 0.0
        width = max(spread, profile, floor)
        out[metric] = Band(min(values) - WIDTHS * width, max(values) + WIDTHS * width, spread,
                           profile if profile > spread else None, len(values))
    return out


@dataclass
class Move:
    column: str
    old: float | None
    new: float | None
    band: Band | None

    @property
    def inside(self) -> bool:
        return self.new is not None and self.band is not None and self.new in self.band

    def text(self) -> str:
        if self.old is None or self.new is None or self.band is None:
            return f"{self.column} {self.old} -> {self.new} (no band)"
        where = "" if self.inside else f", outside [{self.band.low:.4f}, {self.band.high:.4f}]"
        return (f"{self.column} {self.old:.4f} -> {self.new:.4f} ({self.new - self.old:+.4f}, "
                f"{self.band.text()}{where})")


@dataclass
class Judgement:
    """A run made again, against the committed one, column by column."""

    moves: list[Move] = field(default_factory=list)  # metrics that changed
    fixed: list[str] = field(default_factory=list)  # columns that must not change, changed
    free: list[str] = field(default_factory=list)  # columns that may move, moved

    @property
    def within(self) -> bool:
        return not self.fixed and all(m.inside for m in self.moves)


def judge_rows(old: dict, new: dict, band: dict[str, Band]) -> Judgement:
    """The committed row against the new one: metrics by their band, FREE columns reported,
    every other column but the measured ones and provenance equal."""
    out = Judgement()
    for column in dict.fromkeys([*old, *new]):
        a, b = old.get(column), new.get(column)
        if a == b or column in MEASURED or column in PROVENANCE:
            continue
        if column in METRICS:
            out.moves.append(Move(column, _value(old, column), _value(new, column),
                                  band.get(column)))
        elif column in FREE:
            out.free.append(f"{column} {a} -> {b}")
        else:
            out.fixed.append(f"{column} {a!r} -> {b!r}")
    return out


def committed_conclusions(experiment, results: Path) -> Build:
    """The table's comparisons as its committed runs give them (report.compare, which checks
    the table's CSV against every run's summary and predictions first)."""
    return Build(table_rows(compare.load(experiment, results)))


def swapped_conclusions(experiment, results: Path, spec, folder: Path, scratch: Path,
                        committed: Build) -> Agreement:
    """Whether the table concludes the same with the run in `folder` in place of the committed
    one: its comparisons computed again in a folder of links to the committed runs (the new run
    linked in its place), compared by report.conclusions' rule. Comparisons of measured columns
    are left out: the run measured its times on this machine, the others on theirs."""
    farm = Path(tempfile.mkdtemp(prefix="swapped-", dir=scratch))
    try:
        for r in experiment.runs:
            link = run_dir(farm, r)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(folder if r.key == spec.key else run_dir(results, r)).resolve())
        atomic.write_text(farm / f"{experiment.name}.csv", csv_text(experiment, farm, deep=False))
        swapped = Build(table_rows(compare.load(experiment, farm)))
    finally:
        shutil.rmtree(farm, ignore_errors=True)  # links only: rmtree never follows them
    return agree(committed, swapped, measured=False)
