"""`python -m ftbench.tools.bench`: run every case, print a table, write
results/bench/<host>.csv."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import torch

from ftbench.store import atomic
from ftbench.store.commit import git_commit
from ftbench.tools.bench import cases, speedups
from ftbench.tools.bench.report import Row, csv_text, table_text
from ftbench.train.engine import make_autocast
from ftbench.train.provenance import device_name

# letter (the prefix of its rows' `case` in the CSV, and what --cases picks) -> the case
CASES = [("a", cases.train_step_vs_dataloader), ("b", cases.resize_on_device_vs_pil),
         ("c", cases.cached_features_vs_recompute), ("d", cases.lora_merged_vs_base),
         ("e", speedups.training_switches)]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m ftbench.tools.bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes (tests)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", type=Path, help="CSV path (default: results/bench/<host>.csv)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--workers", type=int, default=None,
                   help="reference DataLoader workers (default: 0 on CPU, up to 8 on CUDA)")
    p.add_argument("--cases", default="abcde", help="which cases to run, e.g. 'ad'")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return run(args)
    finally:  # main() may run inside another process (the tests): leave it as it was
        torch.set_num_threads(threads)


def run(args) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        print("ftbench.tools.bench: error: --device cuda but CUDA is not available here; "
              "use --device cpu or auto", file=sys.stderr)
        return 2
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available()
                          else "cpu")
    host = socket.gethostname()
    out = args.out or Path("results") / "bench" / f"{host}.csv"
    precision = "bf16 autocast" if device.type == "cuda" else "fp32"
    ctx = cases.Context(device, cases.QUICK if args.quick else cases.DEFAULT,
                        make_autocast(device, "auto"), precision, args.workers)
    commit, dirty = git_commit()
    provenance = {
        "host": host, "torch": torch.__version__, "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit + ("-dirty" if dirty else ""), "quick": "yes" if args.quick else "no",
        # other processes on the machine skew CPU timings: record how busy it was at the start
        "load_avg": f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "",
    }
    rows: list[Row] = []
    failed = False
    wall0 = time.perf_counter()
    for letter, case in CASES:
        if letter not in args.cases:
            continue
        t0 = time.perf_counter()
        try:
            new = case(ctx)
        except Exception as exc:  # keep the other cases' numbers; the exit status says it
            failed = True
            traceback.print_exc()
            new = [Row(f"{letter}-error", "", "", None, None, "", f"error: {exc!r}"[:300])]
        rows += new
        for r in new:
            ratio = "n/a" if r.ratio is None else f"{r.ratio:.3f}"
            print(f"[bench] {r.case}: ratio {ratio} (target {r.target or 'none'}: "
                  f"{r.meets_target})", flush=True)
        print(f"[bench] case {letter} took {time.perf_counter() - t0:.1f} s", flush=True)
    atomic.write_text(out, csv_text(rows, str(device), provenance))
    print()
    print(table_text(rows, provenance))
    print(f"\nwrote {out} ({time.perf_counter() - wall0:.0f} s)")
    return 1 if failed else 0
