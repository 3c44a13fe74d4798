"""Helpers of .ci/cluster-check: what the plan and the runs' summaries say, checked.

  group TABLE N                the run keys of the table's N-th configuration (from 0), one a
                               line: the seeds that a grouped step trains in one process
  steps RESULTS [--one-job] KEY...   every run was trained inside a SLURM job step (its summary
                               records the job and step: SLURM's own variables, as the run saw
                               them); --one-job: all in one job (an sbatch allocation's steps)
  world RESULTS SIZE KEY...    every run trained on SIZE processes (torchrun) and finished
  same COMMITTED REBUILT       a table's retrained CSV equals the committed one, by `ftbench
                               compare`'s rules (times, memory and provenance skipped)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"cluster-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def _summary(results: str, key: str) -> dict:
    path = Path(results) / "tiny" / "runs" / key / "summary.json"
    if not path.exists():
        fail(f"{key} has no summary.json: it did not finish")
    return json.loads(path.read_text())


def group(table: str, n: str) -> None:
    from ftbench.config import load_all
    from ftbench.plan.state import configurations

    experiment = next(e for e in load_all(Path("configs"), "tiny") if e.name == table)
    print("\n".join(r.key for r in configurations(experiment)[int(n)]))


def steps(results: str, *keys: str) -> None:
    one_job = bool(keys) and keys[0] == "--one-job"
    keys = keys[1:] if one_job else keys
    if not keys:
        fail("no runs to check")
    seen = {}
    for key in keys:
        env = _summary(results, key)["env"]
        step = env.get("slurm")
        if not step or step.get("job") is None or step.get("step") is None:
            fail(f"{key} was not trained inside a SLURM job step (its summary records none)")
        seen[key] = (step["job"], step["step"])
        print(f"cluster-check: {key}: job {step['job']} step {step['step']}, "
              f"{env['threads']} thread(s) from {env.get('threads_from')}")
    if one_job and len({job for job, _ in seen.values()}) != 1:
        fail(f"the runs came from several jobs ({sorted(seen.values())}), not one allocation")


def world(results: str, size: str, *keys: str) -> None:
    for key in keys:
        s = _summary(results, key)
        if s["world_size"] != int(size) or s["status"] != "ok":
            fail(f"{key}: world_size {s['world_size']}, status {s['status']} (wanted {size}, ok)")
        print(f"cluster-check: {key}: {size} processes, test accuracy {s['test']['accuracy']:.4f}")


def same(committed: str, rebuilt: str) -> None:
    from ftbench.tools.resultsdiff import compare_file

    result = compare_file(Path(rebuilt), Path(committed))
    if not result.passed or not result.compared:
        fail(f"{Path(rebuilt).name}: {len(result.differences)} of {result.compared} cells differ "
             "from the committed table: " + "; ".join(result.differences[:4]))
    rows = result.compared // len(result.columns)
    print(f"cluster-check: {Path(rebuilt).name}: {rows} rows x {len(result.columns)} columns "
          "equal to the committed ones (not compared: measured times, memory, provenance)")


COMMANDS = {"group": group, "steps": steps, "world": world, "same": same}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
