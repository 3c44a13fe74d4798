"""The runs of a profile, for people (`ftbench plan`) and for Make (`ftbench plan --make`)."""

from __future__ import annotations

from pathlib import Path

from ftbench.config import Experiment
from ftbench.plan import freshness, makefile, state


def describe(experiments: list[Experiment]) -> str:
    lines = []
    for e in experiments:
        if not e.runs:
            continue
        lines.append(f"{e.name}: {e.title} ({len(e.runs)} runs)")
        for r in e.runs:
            c = r.config
            method = c.method.name + (
                f" r={c.method.r} alpha={c.method.alpha:g} on {','.join(c.method.targets)}"
                if c.method.name == "lora" else "")
            lines.append(
                f"  {r.key}  {c.model.name} [{method}] pretrained={c.model.pretrained} "
                f"data={c.data.name}@{c.data.image_size}px epochs={c.train.epochs} "
                f"bs={c.train.batch_size}x{c.train.accum_steps} {c.train.optimizer} "
                f"lr={c.train.lr:g} {c.train.schedule} seed={c.seed}")
    return "\n".join(lines)


def write(experiments: list[Experiment], profile: str, results: Path, make_file: Path,
          group: bool = True) -> None:
    """The stamps, the Make fragment, and file times set from content (ftbench.plan.freshness)."""
    state.write_stamps(experiments, results)
    makefile.write_make_rules(experiments, profile, results, make_file, group)
    freshness.refresh(experiments, results)
