"""Result rows: ratio and target check, CSV text, and the aligned table printed at the end.

Convention: ratio = time_a_s / time_b_s. Variant a is the baseline (the write-ups' way, the plain
step, the model whose cost is in question), variant b the alternative. For cases a, b, c and e
the ratio is b's speed-up over a; for case d it is a's cost relative to the base model b.
The target column holds the bound with its direction, e.g. ">=3" or "<=1.05". Spread says how
much the machine wobbled while timing: a ratio nearer its target than that is not settled.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from ftbench.tools.bench.timing import Timing

COLUMNS = ["case", "variant_a", "variant_b", "time_a_s", "time_b_s", "ratio", "target",
           "meets_target", "spread", "repeats", "device", "notes", "host", "torch", "device_name",
           "threads", "timestamp", "git_commit", "quick", "load_avg"]
TABLE_COLUMNS = COLUMNS[:9]


@dataclass
class Row:
    case: str
    variant_a: str
    variant_b: str
    a: Timing | None  # None: not measured (the reason is in notes)
    b: Timing | None
    target: str = ""
    notes: str = ""

    @property
    def time_a_s(self) -> float | None:
        return None if self.a is None else self.a.median

    @property
    def time_b_s(self) -> float | None:
        return None if self.b is None else self.b.median

    @property
    def spread(self) -> float | None:
        """The larger of the two variants' (max - min) / median over the repeats."""
        spreads = [t.spread for t in (self.a, self.b) if t is not None]
        return max(spreads) if spreads else None

    @property
    def ratio(self) -> float | None:
        if not self.time_a_s or not self.time_b_s:
            return None
        return self.time_a_s / self.time_b_s

    @property
    def meets_target(self) -> str:
        return meets(self.ratio, self.target)


def meets(ratio: float | None, target: str) -> str:
    """'yes' or 'no' against a target such as '>=1.0' or '<=1.05'; 'n/a' without one."""
    if not target or ratio is None or not math.isfinite(ratio):
        return "n/a"
    op, bound = target[:2], float(target[2:])
    ok = ratio >= bound if op == ">=" else ratio <= bound
    return "yes" if ok else "no"


def _num(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def csv_text(rows: list[Row], device: str, provenance: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({
            "case": r.case, "variant_a": r.variant_a, "variant_b": r.variant_b,
            "time_a_s": _num(r.time_a_s, ".6g"), "time_b_s": _num(r.time_b_s, ".6g"),
            "ratio": _num(r.ratio, ".4f"), "target": r.target, "meets_target": r.meets_target,
            "spread": _num(r.spread, ".3f"), "repeats": len(r.a.times) if r.a else "",
            "device": device, "notes": r.notes, **provenance,
        })
    return out.getvalue()


def table_text(rows: list[Row], provenance: dict) -> str:
    """Aligned columns, then each case's notes, then where the numbers come from."""
    cells = [TABLE_COLUMNS] + [
        [r.case, r.variant_a, r.variant_b, _num(r.time_a_s, ".4f"), _num(r.time_b_s, ".4f"),
         _num(r.ratio, ".3f"), r.target, r.meets_target,
         "" if r.spread is None else f"{100 * r.spread:.0f}%"] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(TABLE_COLUMNS))]
    numeric = {3, 4, 5, 8}
    lines = []
    for k, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines += [f"{r.case}: {r.notes}" for r in rows if r.notes]
    lines.append("")
    lines.append("ratio = time_a_s / time_b_s (medians of the repeats); spread = (slowest - "
                 "fastest) / median of the noisier variant; " + ", ".join(
        f"{k} {v}" for k, v in provenance.items()))
    return "\n".join(lines)
