"""The YAML documents of experiments and profiles: their keys, names, blocks, seeds and axes,
each checked as it is read (one-line errors), before any run is built from them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ftbench.config.schema import MAX_SEED, RunConfig
from ftbench.config.typed import from_dict, plain, shown, suggest
from ftbench.config.yamlio import acyclic, load_yaml, plain_value
from ftbench.errors import UserError

EXPERIMENT_KEYS = ("title", "writeup", "description", "enabled", "base", "axes", "seeds", "report",
                   "tune", "configurations", "profiles")
PROFILE_KEYS = ("description", "run", "seeds")
# Table names, axis labels and run ids become folder names and Make targets: no path
# separators, no '..', no spaces.
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]*(\.[A-Za-z0-9_+-]+)*")


def check_keys(doc: dict, allowed, where: str, prefix: str = "") -> None:
    for key in doc:
        if key not in allowed:
            raise UserError(f"{where}: unknown key '{prefix}{key}'"
                            f"{suggest(prefix + str(key), [prefix + a for a in allowed])}")


def safe_name(name: str, what: str, where: str) -> str:
    if name is None or isinstance(name, bool) or not SAFE.fullmatch(str(name)):
        shown_name = str(name) if len(str(name)) <= 60 else str(name)[:57] + "..."
        raise UserError(f"{where}: {what} '{shown_name}' may hold only letters, digits and "
                        ". _ + - (no spaces, '/' or '..'), since it names a folder; rename it")
    return str(name)


def mapping(value, key: str, where: str) -> dict:
    """A block that must be a mapping: {} when empty (`key:` with nothing after it)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: '{key}' must be a mapping of keys to values, got {value!r}; "
                        "fix the block")
    return value


def text_fields(doc: dict, where: str) -> None:
    for key in ("title", "writeup", "description"):
        if isinstance(doc.get(key), bool | dict | list) or (key in doc and doc[key] is None):
            raise UserError(f"{where}: '{key}' must be text, got {shown(doc.get(key))}; fix the "
                            "value")
    if not isinstance(doc.get("enabled", True), bool):
        raise UserError(f"{where}: 'enabled' must be true or false, got {shown(doc['enabled'])}; "
                        "fix the value")


def list_profiles(config_dir: Path) -> list[str]:
    return sorted(p.stem for p in (Path(config_dir) / "profiles").glob("*.yaml"))


def profile_path(config_dir: Path, profile: str) -> Path:
    return Path(config_dir) / "profiles" / f"{profile}.yaml"


def load_profile(config_dir: Path, profile: str) -> dict:
    path = profile_path(config_dir, profile)
    if not path.exists():
        names = list_profiles(config_dir)
        raise UserError(
            f"unknown profile '{profile}'{suggest(profile, names)}; "
            f"choose one of: {', '.join(names) or '(none found in ' + str(config_dir) + ')'}")
    doc = load_yaml(path)
    check_keys(doc, PROFILE_KEYS, str(path))
    # Check the profile's run defaults on their own, so a typo is blamed on this file.
    from_dict(RunConfig, doc.get("run") or {}, str(path), "run.")
    return doc


def experiment_paths(config_dir: Path) -> list[Path]:
    return sorted(Path(config_dir).glob("*.yaml"))


def seeds_of(doc: dict, profile_doc: dict, where: str) -> list[int]:
    seeds = doc.get("seeds", profile_doc.get("seeds", [0]))  # else the profile's
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED
                       for s in seeds)):
        raise UserError(f"{where}: 'seeds' must be a non-empty list of integers from 0 to "
                        f"{MAX_SEED} (got {shown(seeds)})")
    if len(set(seeds)) != len(seeds):
        twice = next(s for s in seeds if seeds.count(s) > 1)
        raise UserError(f"{where}: seed {twice} is listed twice in 'seeds'; the runs would be "
                        "identical and counted twice")
    return seeds


def axis_values(name: str, axis, where: str) -> list[tuple[str, dict]]:
    """An axis is {key: dotted.path, values: [..]} or {values: {label: overlay, ..}}."""
    if not isinstance(axis, dict) or "values" not in axis:
        raise UserError(f"{where}: axis '{name}' needs 'values' (a list with 'key', or a mapping)")
    check_keys(axis, ("key", "values"), where, f"axes.{name}.")
    values = axis["values"]
    if isinstance(values, dict):
        return [(safe_name(label, "axis value", where),
                 mapping(overlay, f"axes.{name}.values.{label}", where))
                for label, overlay in values.items()]
    if "key" not in axis or not isinstance(values, list) or not values:
        raise UserError(f"{where}: axis '{name}' with a list of values needs 'key: dotted.path'")
    if not isinstance(axis["key"], str):
        raise UserError(f"{where}: 'axes.{name}.key' must be a dotted key such as train.lr "
                        f"(got {shown(axis['key'])})")
    out = []
    for i, v in enumerate(values):
        label = safe_name(str(v) if isinstance(v, str) else f"{name}{v}", "axis value", where)
        plain(v, f"axes.{name}.values[{i}]", where)
        out.append((label, parse_overrides([f"{axis['key']}={json.dumps(v)}"])))
    if len({label for label, _ in out}) != len(out):
        raise UserError(f"{where}: axis '{name}' lists the same value twice; keep one")
    return out


def parse_overrides(items: list[str]) -> dict:
    """`train.lr=3e-4 method.targets=[qkv.q,qkv.v]` -> nested dict (values parsed as YAML,
    the way config files are: `ftbench.config.yamlio`)."""
    out: dict = {}
    given: dict[str, str] = {}  # key -> the override that set it
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w.]*", key):
            raise UserError(f"override '{item}' is not key=value; write e.g. train.epochs=3")
        if key == "seed":
            raise UserError("override 'seed' would give every seed of a table the same seed; "
                            "set 'seeds:' in the experiment's config instead")
        try:
            value = plain_value(raw) if raw else ""  # read as a config file reads it
        except (yaml.YAMLError, RecursionError):
            value = raw
        acyclic(value, f"override '{item}'")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"override '{item}' sets a key inside '{part}', which another "
                                "override sets to a value; keep one")
        _check_once(node, leaf, key, item, given)
        node[leaf] = value
    return out


def _check_once(node: dict, leaf: str, key: str, item: str, given: dict[str, str]) -> None:
    """A key set twice is an error, as a repeated YAML key is: letting the last one win would
    hide a typo or a forgotten override in a long Make command line."""
    if key in given:
        raise UserError(f"override '{key}' is given twice ('{given[key]}', then '{item}'); "
                        "keep one")
    if leaf in node:  # `train.lr=1 train={...}` or `train={lr: 1} train.lr=2`: one overlaps
        raise UserError(f"override '{item}' sets '{key}', which another override sets too; "
                        "keep one")
    given[key] = item
