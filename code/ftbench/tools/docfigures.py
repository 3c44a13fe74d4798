"""The figures the documentation quotes from the committed results, generated rather than typed.

A page marks each generated region, inline or as a block of lines:

    LoRA reaches <!-- gen acc vit-lora-food101 vit-lora -->90.7 ± 0.0%<!-- /gen --> there.

    <!-- gen best -->
    (a table, written here by `make docs`)
    <!-- /gen -->

`make docs` (`python -m ftbench.tools.docfigures`) rewrites every region of README.md,
ARCHITECTURE.md and docs/*.md from `results/tiny/*.csv` (and `results/bench/*.csv`), and
`--check` exits 1 naming the pages that differ, which tests/docs/test_docs.py runs: a rebuild of the
results that changes a number makes that test say "run make docs" instead of leaving a page that
quotes old numbers. Accuracies are the mean and sample standard deviation over a
configuration's random seeds, in percent, as the paper's tables give them.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable
from pathlib import Path

from ftbench.config.yamlio import load_yaml
from ftbench.errors import UserError
from ftbench.report.aggregate import read_csv
from ftbench.report.results import METHOD_NAMES
from ftbench.report.stats import mean, std
from ftbench.store import atomic

PAGES = ("README.md", "ARCHITECTURE.md", "docs/*.md")
REGION = re.compile(r"<!-- gen (?P<what>[^>]*?) -->(?P<body>.*?)<!-- /gen -->", re.DOTALL)
# Files under results/<profile>/ that are not one table's runs
NOT_TABLES = ("comparisons", "params")


class Results:
    """The committed CSVs of one profile (and the bench CSVs), each read once."""

    def __init__(self, root: Path, profile: str = "tiny", configs: Path = Path("configs")):
        self.folder, self.bench_folder = root / profile, root / "bench"
        self.configs = configs
        self._rows: dict[str, list[dict]] = {}

    def rows(self, table: str) -> list[dict]:
        if table not in self._rows:
            self._rows[table] = read_csv(self.folder / f"{table}.csv")
        return self._rows[table]

    def tables(self) -> list[str]:
        """The profile's tables, in the order of their write-up, then by name."""
        names = [p.stem for p in self.folder.glob("*.csv") if p.stem not in NOT_TABLES]
        return sorted(names, key=lambda n: (self.writeup(n) or "~", n))

    def writeup(self, table: str) -> str:
        path = self.configs / f"{table}.yaml"
        return str(load_yaml(path).get("writeup", "")) if path.exists() else ""


def configuration(run_id: str) -> str:
    return run_id.rsplit("--s", 1)[0]


def _configurations(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for r in rows:
        grouped.setdefault(configuration(r["run_id"]), []).append(r)
    return grouped


def _accuracy(rows: list[dict]) -> str:
    values = [100 * float(r["accuracy"]) for r in rows]
    return f"{mean(values):.1f}" + (f" ± {std(values):.1f}" if len(values) > 1 else "") + "%"


def _seconds(rows: list[dict], column: str = "wall_s") -> str:
    return f"{sum(float(r[column]) for r in rows):,.0f} s"


def _what(rows: list[dict]) -> str:
    """A configuration in words, from its CSV columns: model and method."""
    r = rows[0]
    return f"{r['model_label']}, {METHOD_NAMES.get(r['method'], r['method'])}"


def best(rows: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """(dataset shown, configuration, its rows) of the highest mean test accuracy, per dataset
    of a table whose axes include one (else for the table); a tie lists each."""
    by_dataset: dict[str, dict[str, list[dict]]] = {}
    for name, runs in _configurations(rows).items():
        by_dataset.setdefault(runs[0]["dataset_display"], {})[name] = runs
    found = []
    for dataset, configs in by_dataset.items():
        top = max(mean(float(r["accuracy"]) for r in runs) for runs in configs.values())
        found += [(dataset, name, runs) for name, runs in configs.items()
                  if mean(float(r["accuracy"]) for r in runs) == top]
    return found


def _select(res: Results, table: str | None = None, config: str | None = None) -> list[dict]:
    """The rows of every table, of one table, or of one configuration of a table."""
    if table is None:
        return [r for t in res.tables() for r in res.rows(t)]
    if config is None:
        return res.rows(table)
    runs = _configurations(res.rows(table)).get(config)
    if not runs:
        raise UserError(f"docs: table {table} has no configuration '{config}'")
    return runs


def _block_best(res: Results) -> str:
    lines = ["| write-up | table | dataset | configuration | what | mean test accuracy |",
             "|---|---|---|---|---|---|"]
    for table in res.tables():
        if table == "pretrain":
            continue  # a source task, not a comparison: see the pretrain block
        for dataset, name, runs in best(res.rows(table)):
            lines.append(f"| {res.writeup(table) or '–'} | `{table}` | {dataset} | `{name}` | "
                         f"{_what(runs)} | {_accuracy(runs)} |")
    return "\n".join(lines)


def _block_tables(res: Results) -> str:
    lines = ["| table | write-up | runs | configurations | sum of the runs' wall times |",
             "|---|---|---|---|---|"]
    for table in res.tables():
        rows = res.rows(table)
        lines.append(f"| `{table}` | {res.writeup(table) or '–'} | {len(rows)} | "
                     f"{len(_configurations(rows))} | {_seconds(rows)} |")
    every = _select(res)
    lines.append(f"| all | | {len(every)} | {len(_configurations(every))} | {_seconds(every)} |")
    return "\n".join(lines)


def _epochs(n: str) -> str:
    return f"{n} epoch" + ("" if n == "1" else "s")


def _pretrained(res: Results) -> str:
    """Each stand-in backbone's test accuracy on the source task, and its epochs."""
    rows = res.rows("pretrain")
    return ", ".join(f"{runs[0]['model_label']} {_accuracy(runs)} ({_epochs(runs[0]['epochs'])})"
                     for runs in _configurations(rows).values())


def _block_bench(res: Results, host: str) -> str:
    path = res.bench_folder / f"{host}.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise UserError(f"docs: {path} holds no rows; run make bench")
    head = rows[0]
    lines = [f"Measured by `make bench` on {head['device_name']}, {head['threads']} threads, "
             f"{head['timestamp'][:10]}, commit {head['git_commit'][:7]} (`{path.name}`):", "",
             "| case | a | b | time a (s) | time b (s) | ratio | target | met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['variant_a']} | {r['variant_b']} | "
                     f"{float(r['time_a_s']):.3f} | {float(r['time_b_s']):.3f} | "
                     f"{float(r['ratio']):.2f} | {r['target']} | {r['meets_target']} |")
    return "\n".join(lines)


# What each region kind takes (after its name) and what it gives: inline kinds give a phrase,
# block kinds whole lines (set apart by blank lines, so that Markdown reads a table as one)
INLINE: dict[str, Callable[..., str]] = {
    "acc": lambda res, table, config: _accuracy(_select(res, table, config)),
    "runs": lambda res, *table: f"{len(_select(res, *table)):,}",
    # seconds summed over runs: their whole wall time, or the time in training steps
    "wall": lambda res, *where: _seconds(_select(res, *where)),
    "train": lambda res, *where: _seconds(_select(res, *where), "train_s"),
    "pretrain": lambda res: _pretrained(res),
}
BLOCKS: dict[str, Callable[..., str]] = {
    "best": _block_best, "tables": _block_tables, "bench": _block_bench,
}


def region(res: Results, what: str) -> str:
    kind, *args = what.split()
    make = INLINE.get(kind) or BLOCKS.get(kind)
    if make is None:
        raise UserError(f"docs: unknown generated region '{kind}'; choose one of: "
                        f"{', '.join([*INLINE, *BLOCKS])}")
    try:
        text = make(res, *args)
    except TypeError:
        raise UserError(f"docs: region '{what}' has the wrong number of arguments") from None
    return text if kind in INLINE else f"\n\n{text}\n\n"


def render(text: str, res: Results) -> str:
    """`text` with every generated region written again from the results."""
    return REGION.sub(lambda m: f"<!-- gen {m['what']} -->{region(res, m['what'])}<!-- /gen -->",
                      text)


def pages(root: Path) -> list[Path]:
    return sorted(p for pattern in PAGES for p in root.glob(pattern))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftbench.tools.docfigures",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each page that differs")
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository")
    args = parser.parse_args(argv)
    res = Results(args.results, configs=args.root / "configs")
    stale = []
    try:
        for page in pages(args.root):
            text = page.read_text(encoding="utf-8")
            new = render(text, res)
            if new != text:
                stale.append(str(page))
                if not args.check:
                    atomic.write_text(page, new)
    except UserError as exc:
        print(f"docfigures: error: {exc}", file=sys.stderr)
        return 2
    verb = "differ from the results; run make docs" if args.check else "rewritten"
    print(f"{', '.join(stale)}: {verb}" if stale else "docs: every generated figure is current")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
