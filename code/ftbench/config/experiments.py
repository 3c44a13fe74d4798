"""Experiments and profiles -> runs: the layering, the axes and the seeds.

An experiment is one file, `configs/<table>.yaml`, one table of the paper. Its runs are the
product of its axes, times its seeds. A run's values are layered, lowest first:

    schema defaults < configs/profiles/<profile>.yaml `run:` < the experiment's `base:`
    < its `profiles.<profile>.base:` < each axis value < the seed < key=value overrides

Each run keeps its layers, so that `ftbench explain` can say where every value came from.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from ftbench.config import identity
from ftbench.config.documents import (
    EXPERIMENT_KEYS,
    axis_values,
    check_keys,
    experiment_paths,
    list_profiles,
    load_profile,
    mapping,
    parse_overrides,
    profile_path,
    safe_name,
    seeds_of,
    text_fields,
)
from ftbench.config.identity import run_identity
from ftbench.config.rules import check_report, validate
from ftbench.config.schema import ReportConfig, RunConfig, TuneConfig
from ftbench.config.typed import from_dict, leaves, suggest
from ftbench.config.yamlio import load_yaml
from ftbench.errors import UserError


@dataclass
class Layer:
    """One source of values of a run: what it sets, and the places (file, key path) where
    those values may be written, most specific first."""

    name: str
    values: dict
    places: list[tuple[Path | None, tuple]]


@dataclass
class RunSpec:
    table: str
    run_id: str
    axes: dict  # axis name -> value label, e.g. {"dataset": "cifar10", "variant": "vit-lora"}
    config: RunConfig
    layers: list[Layer] = field(default_factory=list, repr=False)
    identity: str = ""  # set by load_all (ftbench.config.identity): config and upstream runs

    @property
    def key(self) -> str:
        return f"{self.table}/{self.run_id}"

    @property
    def depends_on(self) -> list[str]:
        """Run keys whose outputs this run reads (a pipeline-pretrained backbone)."""
        p = self.config.model.pretrained
        return [p.removeprefix("run:")] if p.startswith("run:") else []


@dataclass
class Experiment:
    name: str
    path: Path
    title: str
    writeup: str  # which write-up it comes from ("" if none)
    description: str
    report: ReportConfig
    runs: list[RunSpec]
    tune: TuneConfig = field(default_factory=TuneConfig)


def deep_merge(base: dict, *overlays: dict) -> dict:
    """Recursive dict merge; lists and scalars in an overlay replace what is below."""
    out = copy.deepcopy(base)
    for overlay in overlays:
        for key, value in (overlay or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


@dataclass
class _Sources:
    """The documents a table's runs are layered from."""

    path: Path
    doc: dict  # the experiment file, without its profiles block
    overlay: dict  # its profiles.<profile> block
    profile: str
    profile_doc: dict
    profile_file: Path


def _layers(src: _Sources, combo, names: list[str], seed: int, overrides: dict,
            configured: dict) -> list[Layer]:
    p, o = src.path, ("profiles", src.profile)
    layers = [Layer(f"profile {src.profile}", src.profile_doc.get("run") or {},
                    [(src.profile_file, ("run",))]),
              Layer("experiment base", src.doc.get("base") or {}, [(p, ("base",))]),
              Layer(f"profile {src.profile} overlay", src.overlay.get("base") or {},
                    [(p, (*o, "base"))])]
    for name, (label, values) in zip(names, combo, strict=True):
        places = [(p, (*o, "axes", name, "values", label)), (p, ("axes", name, "values", label)),
                  (p, (*o, "axes", name)), (p, ("axes", name))]
        layers.append(Layer(f"axis {name}={label}", values, places))
    cid = "--".join(label for label, _ in combo)
    layers.append(Layer(f"configuration {cid}", configured.get(cid) or {},
                        [(p, (*o, "configurations", cid)), (p, ("configurations", cid))]))
    layers.append(Layer("seeds", {"seed": seed},
                        [(p, (*o, "seeds")), (p, ("seeds",)), (src.profile_file, ("seeds",))]))
    layers.append(Layer("command-line override", overrides or {}, [(None, ())]))
    return layers


# A table's name becomes a Make goal and names files beside the fixed outputs: it cannot be a
# target of the Makefile (a test checks the list against it) or one of those outputs.
RESERVED_TABLE_NAMES = frozenset({
    "all", "help", "venv", "plan", "status", "params", "paper", "tune", "data", "weights",
    "dryrun", "bench", "docker-build", "docker-run", "docker-check", "test", "test-fast", "lint",
    "clean", "clean-results", "FORCE", "claims", "profile", "compute", "tuning", "oneoff", "runs",
    "verify", "compare", "comparisons", "deviations", "docs", "cluster-check"})


def _read(path: Path, profile: str, config_dir: Path, profile_doc: dict) -> _Sources:
    where = str(path)
    if path.stem in RESERVED_TABLE_NAMES:
        raise UserError(f"{where}: '{path.stem}' is a Make target or an output of the pipeline, "
                        "not a table name; rename the file")
    doc = load_yaml(path)
    if not doc:
        raise UserError(f"{where}: the file is empty; give the table a title, base and report "
                        "(see configs/factorial.yaml), or delete it")
    check_keys(doc, EXPERIMENT_KEYS, where)
    profiles = doc.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise UserError(f"{where}: 'profiles' must map profile names to overlays")
    known = list_profiles(config_dir)
    for name in profiles:
        if name not in known:
            raise UserError(f"{where}: unknown profile '{name}' under 'profiles'"
                            f"{suggest(str(name), known)}; choose one of: {', '.join(known)}")
        mapping(profiles[name], f"profiles.{name}", where)
    rest = {k: v for k, v in doc.items() if k != "profiles"}
    for name, other in profiles.items():  # every profile's, so a typo waits for no one
        check_keys(other or {}, [k for k in EXPERIMENT_KEYS if k != "profiles"], where,
                   f"profiles.{name}.")
        _check_overlay_axes(rest, other or {}, name, where)
    overlay = profiles.get(profile) or {}
    return _Sources(path, rest, overlay, profile, profile_doc, profile_path(config_dir, profile))


def _check_overlay_axes(doc: dict, overlay: dict, profile: str, where: str) -> None:
    """A profile overlay changes the table's axes; it cannot add one or a value, since a typo
    (cifar10 for cifar100) would then drop the change it meant and add a configuration."""
    axes = mapping(doc.get("axes"), "axes", where)
    for name, axis in mapping(overlay.get("axes"), f"profiles.{profile}.axes", where).items():
        if name not in axes:
            raise UserError(f"{where}: profiles.{profile}.axes names '{name}', which is not an "
                            f"axis of this table{suggest(str(name), list(axes))}; add the axis "
                            "under 'axes' first")
        values, known = (axis or {}).get("values"), (axes[name] or {}).get("values")
        if isinstance(values, dict) and isinstance(known, dict):
            for label in values:
                if label not in known:
                    raise UserError(
                        f"{where}: profiles.{profile}.axes.{name} names '{label}', which is not a "
                        f"value of axis '{name}'{suggest(str(label), list(known))}; add it "
                        f"under axes.{name}.values first")
    merged = deep_merge(doc, overlay)
    choices = [axis_values(n, a, where) for n, a in mapping(merged.get("axes"), "axes",
                                                             where).items()]
    _configured(merged, choices, f"{where} (profile {profile})")


def _configured(doc: dict, choices: list, where: str) -> dict:
    """`configurations:` overlays, one per configuration (its axis labels joined by '--'), such
    as the learning rate `make tune` chose for it; a name that is no configuration is an error."""
    configured = mapping(doc.get("configurations"), "configurations", where)
    ids = ["--".join(label for label, _ in combo) for combo in itertools.product(*choices)]
    for cid, overlay in configured.items():
        if cid not in ids:
            raise UserError(f"{where}: 'configurations' names '{cid}', which is not a "
                            f"configuration of this table{suggest(str(cid), ids)}; name one "
                            "as its axis labels joined by '--'")
        mapping(overlay, f"configurations.{cid}", where)
    return configured


SEED_FIELD = "{seed}"


def seeded_backbone(merged: dict, seed: int, where: str) -> dict:
    """`model.pretrained: run:pretrain/vit-micro--s{seed}` names, for seed s, pretraining run s:
    each seed of a configuration starts from its own pretraining draw, so the spread over seeds
    (and every run-level test) holds the pretraining draw too, and two configurations of one
    seed start from the same backbone."""
    model = merged.get("model")
    ref = model.get("pretrained") if isinstance(model, dict) else None
    if not (isinstance(ref, str) and SEED_FIELD in ref):
        return merged
    if not ref.startswith("run:"):
        raise UserError(f"{where}: model.pretrained '{ref}' holds {SEED_FIELD}, which only a "
                        "run: reference may hold (run:<table>/<run-id> with {seed} in the id)")
    return {**merged, "model": {**model, "pretrained": ref.replace(SEED_FIELD, str(seed))}}


def load_experiment(path: Path, profile: str, config_dir: Path, overrides: dict | None = None,
                    profile_doc: dict | None = None, check_models: bool = True) -> Experiment:
    path = Path(path)
    where = str(path)
    profile_doc = profile_doc if profile_doc is not None else load_profile(config_dir, profile)
    src = _read(path, profile, config_dir, profile_doc)
    doc = deep_merge(src.doc, src.overlay)
    name = safe_name(path.stem, "table name", where)
    text_fields(doc, where)
    report = from_dict(ReportConfig, mapping(doc.get("report"), "report", where), where, "report.")
    tune = from_dict(TuneConfig, mapping(doc.get("tune"), "tune", where), where, "tune.")
    runs: list[RunSpec] = []
    if doc.get("enabled", True):
        base = deep_merge(profile_doc.get("run") or {}, mapping(doc.get("base"), "base", where))
        axes = mapping(doc.get("axes"), "axes", where)
        names = [safe_name(n, "axis name", where) for n in axes]
        choices = [axis_values(n, axis, where) for n, axis in zip(names, axes.values(),
                                                                   strict=True)]
        configured = _configured(doc, choices, where)
        for combo in itertools.product(*choices):
            cid = "--".join(label for label, _ in combo)
            for seed in seeds_of(doc, profile_doc, where):
                merged = deep_merge(base, *(ov for _, ov in combo), configured.get(cid) or {},
                                   {"seed": seed}, overrides or {})
                run_id = "--".join([label for label, _ in combo] + [f"s{seed}"])
                at = f"{where} [{run_id}]"
                merged = seeded_backbone(merged, seed, at)
                cfg = validate(from_dict(RunConfig, merged, at), at, check_models)
                labels = {n: label for n, (label, _) in zip(names, combo, strict=True)}
                runs.append(RunSpec(name, run_id, labels, cfg,
                                    _layers(src, combo, names, seed, overrides, configured)))
    check_report(report, runs, where)
    _check_tune(tune, runs, where, check_models)
    return Experiment(
        name=name, path=path, title=str(doc.get("title", name)),
        writeup=str(doc.get("writeup", "")),
        description=str(doc.get("description", "")), report=report, runs=runs, tune=tune)


def load_all(config_dir: Path, profile: str, overrides: dict | None = None,
             check_models: bool = True) -> list[Experiment]:
    """Every experiment of `config_dir` under `profile`, each run with its identity."""
    profile_doc = load_profile(config_dir, profile)
    for odd in sorted(Path(config_dir).glob("*")):
        if odd.suffix.lower() in (".yml", ".yaml") and odd.suffix != ".yaml":
            # it would be skipped: say so rather than leave a table out of the paper
            raise UserError(f"{odd}: tables are read from *.yaml files only; rename it to "
                            f"{odd.stem}.yaml")
    exps = [load_experiment(p, profile, config_dir, overrides, profile_doc, check_models)
            for p in experiment_paths(config_dir)]
    _check_case_collisions([(e.name, [r.run_id for r in e.runs]) for e in exps])
    for e in exps:
        for r in e.runs:
            check_upstream(r, exps, profile, f"{e.path} [{r.run_id}]")
    identity.assign([r for e in exps for r in e.runs])
    return exps


def _check_case_collisions(tables: list[tuple[str, list[str]]]) -> None:
    """Names that differ only in case share a folder on macOS's and Windows' file systems."""
    seen: dict[str, str] = {}
    for table, run_ids in tables:
        for name in [table, *(f"{table}/{r}" for r in run_ids)]:
            other = seen.setdefault(name.casefold(), name)
            if other != name:
                raise UserError(f"'{name}' and '{other}' differ only in case and would share a "
                                "folder on a case-insensitive file system; rename one")


def check_upstream(spec: RunSpec, experiments: list[Experiment], profile: str, where: str) -> None:
    """The runs `spec` starts from must be planned: their backbones are made by the plan."""
    keys = {r.key for e in experiments for r in e.runs}
    for dep in spec.depends_on:
        if dep == spec.key:
            raise UserError(f"{where}: run {dep} starts from itself (its model.pretrained names "
                            "it); name the run whose weights it starts from")
        if dep not in keys:
            raise UserError(f"{where}: model.pretrained names run '{dep}', which the "
                            f"'{profile}' profile does not plan{suggest(dep, keys)}; check the "
                            "table and run id")


def _check_tune(tune: TuneConfig, runs: list[RunSpec], where: str, check_models: bool) -> None:
    """A `tune:` block names a field and candidates that each run can take, checked now rather
    than after the first candidates have trained."""
    if not (tune.key or tune.values or tune.on_label):
        return
    known = list(leaves(RunConfig()))
    if tune.key not in known or tune.key == "seed":
        raise UserError(f"{where}: tune.key '{tune.key}' is not a field a run can tune"
                        f"{suggest(tune.key, known)}; name one such as train.lr")
    if not tune.values:
        raise UserError(f"{where}: tune.key {tune.key} needs tune.values: list the candidates, "
                        "e.g. values: [1.0e-3, 3.0e-3]")
    labels = {label for r in runs for label in r.axes.values()}
    if tune.on_label and tune.on_label not in labels:
        raise UserError(f"{where}: tune.on_label '{tune.on_label}' is not an axis value of the "
                        f"table{suggest(tune.on_label, labels)}; choose one of: "
                        f"{', '.join(sorted(labels)) or '(none)'}")
    for r in runs:  # each candidate's type and bounds, with each run's other values
        for v in tune.values:
            over = parse_overrides([tune_override(tune.key, v)])
            at = f"{where} [{r.run_id}] tune.values {v:g}"
            validate(from_dict(RunConfig, deep_merge(r.config.to_dict(), over), at), at,
                     check_models)


def tune_override(key: str, value: float) -> str:
    """`key=value` for a tuned candidate: a whole number where the field is an integer (the
    candidates of a tune: block are read as numbers, e.g. epochs 12.0)."""
    default = leaves(RunConfig()).get(key)
    if isinstance(default, int) and not isinstance(default, bool) and float(value).is_integer():
        value = int(value)
    return f"{key}={json.dumps(value)}"


def with_overrides(spec: RunSpec, overrides: dict, run_id: str | None = None) -> RunSpec:
    """A planned run changed by `overrides` alone: a one-off, with an identity of its own (its
    config and the planned run's, which holds the runs it starts from)."""
    where = f"{spec.key} with overrides"
    cfg = validate(from_dict(RunConfig, deep_merge(spec.config.to_dict(), overrides), where),
                   where)
    out = RunSpec(spec.table, run_id or spec.run_id, spec.axes, cfg,
                  [*spec.layers, Layer("command-line override", overrides, [(None, ())])])
    out.identity = run_identity(cfg, {"planned run": spec.identity})
    return out


def find_run(experiments: list[Experiment], key: str) -> RunSpec:
    runs = {r.key: r for e in experiments for r in e.runs}
    if key not in runs:
        if "/" not in key and "." in key:  # an override that lost its '='?
            raise UserError(f"unknown run '{key}': a run key is TABLE/RUN (list them with: "
                            f"ftbench plan), an override is key=value, e.g. {key}=3")
        raise UserError(f"unknown run '{key}'{suggest(key, runs)}; list them with: ftbench plan")
    return runs[key]
