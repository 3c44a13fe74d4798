"""`ftbench compare A B`: do two results folders hold the same numbers? The first question of
artifact evaluation: a reviewer's rebuild against the committed results, a container's against
the host's, a GPU run against another.

Every CSV of folder A (each table, `comparisons.csv`, `params.csv`) is compared with the one of
the same name in B, row by row (matched by their key columns) and cell by cell. Columns that
measure the machine (times, memory, timestamps: `MEASURED`) and provenance that legitimately
differs between two builds (commit, device, timestamps; Python on major.minor) are skipped
unless `measured` is asked for, and so are the rows of `comparisons.csv` that compare measured
columns (ratios of times per epoch, memory or latencies: a rebuild measures them again).
Numbers pass within `tolerance` (absolute; 0: exact), text must be equal. Per file: PASS, or the
cells that differ.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.errors import UserError
from ftbench.report.aggregate import MEASURED
from ftbench.report.conclusions import measures

PROVENANCE = ("device_name", "git_commit", "git_dirty", "cuda", "threads")
MAJOR_MINOR = ("python",)
# the columns that name a row, per file; a table's rows are named by their run id
KEYS = {"comparisons.csv": ("table", "config_a", "config_b", "metric"),
        "params.csv": ("table", "variant", "classes")}


@dataclass
class FileResult:
    name: str
    compared: int = 0  # cells
    columns: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    measured_rows: int = 0  # rows that compare measured columns, skipped

    @property
    def passed(self) -> bool:
        return not self.differences

    def line(self) -> str:
        if self.passed:
            rows = (f"; nor {self.measured_rows} rows that compare measured columns"
                    if self.measured_rows else "")
            return (f"{self.name}: PASS ({self.compared} cells in {len(self.columns)} columns; "
                    f"not compared: {', '.join(self.skipped) or 'none'}{rows})")
        more = f"; and {len(self.differences) - 5} more" if len(self.differences) > 5 else ""
        return (f"{self.name}: FAIL, {len(self.differences)} of {self.compared} cells differ: "
                + "; ".join(self.differences[:5]) + more)


def _read(path: Path) -> tuple[list[str], list[dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}); compare two results "
                        "folders (results/<profile>)") from None


def _same(column: str, a: str, b: str, tolerance: float) -> bool:
    if column in MAJOR_MINOR:
        return a.split(".")[:2] == b.split(".")[:2]
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return (math.isnan(x) and math.isnan(y)) or abs(x - y) <= tolerance


def _measures(name: str, row: dict) -> bool:
    """A comparisons.csv row whose metric is made of measured columns (per_epoch_s, or
    unmerged_ms_per_image/merged_ms_per_image): its every number is a measurement."""
    return name == "comparisons.csv" and measures(row)


def row_differences(first: dict, second: dict, columns: list[str],
                    tolerance: float = 0.0) -> list[str]:
    """The columns in which two rows differ (numbers within `tolerance`)."""
    return [c for c in columns if not _same(c, first[c], second[c], tolerance)]


def compare_file(a: Path, b: Path, tolerance: float = 0.0, measured: bool = False) -> FileResult:
    result = FileResult(a.name)
    if not b.exists():
        result.differences.append(f"{b} is missing")
        return result
    (columns, rows), (other_columns, other_rows) = _read(a), _read(b)
    keys = KEYS.get(a.name, ("run_id",))
    index = {tuple(r.get(k) for k in keys): r for r in other_rows}
    mine = {tuple(r.get(k) for k in keys): r for r in rows}
    for key in sorted(set(mine) ^ set(index), key=str):
        result.differences.append(f"row {'/'.join(map(str, key))} only in "
                                  f"{'the first' if key in mine else 'the second'}")
    skip = () if measured else (*MEASURED, *PROVENANCE)
    result.skipped = [c for c in columns if c in skip]
    result.columns = [c for c in columns if c not in skip]
    missing = [c for c in result.columns if c not in other_columns]
    result.differences += [f"column {c} only in the first" for c in missing]
    result.differences += [f"column {c} only in the second" for c in other_columns
                           if c not in columns and c not in skip]
    for key in (k for k in mine if k in index):
        if not measured and _measures(a.name, mine[key]):
            result.measured_rows += 1
            continue
        columns = [c for c in result.columns if c not in missing]
        result.compared += len(columns)
        for c in row_differences(mine[key], index[key], columns, tolerance):
            result.differences.append(f"{'/'.join(map(str, key))} {c}: "
                                      f"{mine[key][c]!r} -> {index[key][c]!r}")
    return result


def compare_folders(a: Path, b: Path, tolerance: float = 0.0,
                    measured: bool = False) -> list[FileResult]:
    files = sorted(Path(a).glob("*.csv"))
    if not files:
        raise UserError(f"{a} holds no CSV to compare; name a results folder such as "
                        "results/tiny")
    return [compare_file(f, Path(b) / f.name, tolerance, measured) for f in files]
