"""What a result depends on, in one place.

- `config_hash`: every field of a run's resolved configuration, defaults included, and the
  version of the data it reads. Changing a default therefore changes the identity of every run
  that uses it, and no old result counts as current.
- `run identity`: the config hash together with the identities of the runs it starts from (a
  backbone pretrained in the pipeline), so a changed backbone makes every run above it stale.
- `shape_key` and `params_key`: the parts of a configuration that decide a model's shapes and
  parameter counts (the dry run and the params table check each once).

`plan` writes the planned identity next to each run; a summary records the identity it was
trained under; `make` re-runs and `aggregate` refuses a run whose two differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from ftbench.data.registry import DATASETS
from ftbench.errors import UserError

LENGTH = 16  # hex digits: 64 bits, no collision among any realistic number of runs


def _digest(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:LENGTH]


def config_hash(cfg) -> str:
    spec = DATASETS.get(cfg.data.name)
    return _digest({"config": cfg.to_dict(), "data": spec.version if spec else None})


def run_identity(cfg, upstream: dict[str, str]) -> str:
    """The config hash with the identities of the runs it starts from (run key -> identity)."""
    if not upstream:
        return config_hash(cfg)
    return _digest({"config": config_hash(cfg), "upstream": upstream})


def assign(runs: list) -> None:
    """Set `identity` on every RunSpec, upstream runs first; two runs of one table with the
    same identity would be one result counted twice, which is an error."""
    by_key = {r.key: r for r in runs}
    done: dict[str, str] = {}

    def resolve(spec, trail: tuple = ()) -> str:
        if spec.key in trail:
            raise UserError(f"run {spec.key} starts from itself through {' -> '.join(trail)}")
        if spec.key not in done:
            upstream = {k: resolve(by_key[k], (*trail, spec.key)) for k in spec.depends_on}
            done[spec.key] = run_identity(spec.config, upstream)
        return done[spec.key]

    seen: dict[tuple[str, str], str] = {}
    for spec in runs:
        spec.identity = resolve(spec)
        twin = seen.setdefault((spec.table, spec.identity), spec.run_id)
        if twin != spec.run_id:
            raise UserError(f"table {spec.table}: runs {twin} and {spec.run_id} have the same "
                            "configuration, so one result would be counted twice; make them "
                            "differ or drop one")


def shape_key(cfg) -> str:
    """What decides shapes and parameter counts: runs that share it are dry-run once."""
    c = cfg
    return json.dumps([dataclasses.asdict(c.model) | {"label": ""}, dataclasses.asdict(c.method),
                       c.data.name, c.data.image_size, c.data.channels, c.train.optimizer,
                       c.train.accum_steps], sort_keys=True)


def params_key(table: str, cfg) -> tuple:
    """What the params table's counts depend on: runs of a table that share it share a row."""
    c = cfg
    return (table, c.model.name, json.dumps(c.model.kwargs, sort_keys=True), c.model.cifar_stem,
            json.dumps(dataclasses.asdict(c.method), sort_keys=True),
            DATASETS[c.data.name].num_classes, c.data.channels)
