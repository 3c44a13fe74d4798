"""`ftbench explain RUN`: each resolved value of a run, and where it came from.

A run's values are layered (ftbench.config.experiments): the schema's defaults, the profile,
the experiment's base, its profile overlay, each axis value, the seed, and command-line
overrides. The last layer that sets a key is its source, shown as file and line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ftbench.config import RunSpec, leaves
from ftbench.config.yamlio import key_lines


@cache
def _lines(path: Path) -> dict:
    return key_lines(path)


def _has(values: dict, parts: list[str]) -> bool:
    node = values
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def source(spec: RunSpec, key: str) -> str:
    parts = key.split(".")
    for layer in reversed(spec.layers):
        if not _has(layer.values, parts):
            continue
        files = [(path, prefix) for path, prefix in layer.places if path is not None]
        for depth in range(len(parts), -1, -1):  # the key itself, else where it is built
            for path, prefix in files:
                where = (*prefix, *parts[:depth])
                if where and where in _lines(path):
                    return f"{path}:{_lines(path)[where]} ({layer.name})"
        return layer.name
    return "default (ftbench/config/schema.py)"


def explain_run(spec: RunSpec) -> str:
    values = leaves(spec.config)
    width = max(map(len, values))
    out = [f"{spec.key} (identity {spec.identity}): {len(values)} values"]
    for key, value in values.items():
        out.append(f"  {key:{width}s} = {value!r:28s} {source(spec, key)}")
    return "\n".join(out)
