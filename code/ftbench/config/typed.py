"""A (partial) dict from YAML or the command line -> a schema dataclass, checked on the way.

Every error is a `UserError` of one line that names the key, the value and the fix: an unknown
key (with a did-you-mean), a wrong type, a value outside its `Literal` choices or its bounds, and
any number that is not finite.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing

from ftbench.errors import UserError


def suggest(word: str, options) -> str:
    """' (did you mean 'x'?)' for the closest of `options`, or ''."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def choose(value, options, key: str, where: str) -> None:
    if value not in options:
        raise UserError(f"{where}: unknown {key} '{value}'{suggest(value, options)}; "
                        f"choose one of: {', '.join(map(str, options))}")


def shown(value, width: int = 80) -> str:
    """repr(value), cut to `width` characters: a message stays short whatever the input."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def plain(value, key: str, where: str, depth: int = 0):
    """`value` if it is plain data (text, finite numbers, booleans, null, and lists and
    mappings of them with text keys): what a hash, a JSON file and timm's kwargs can hold."""
    ok = True
    if isinstance(value, dict):
        ok = all(isinstance(k, str) for k in value)
        for k, v in value.items() if ok else ():
            plain(v, f"{key}.{k}", where, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            plain(v, f"{key}[{i}]", where, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where}: '{key}' must be a finite number, got {shown(value)}; fix "
                        "the value")
    else:
        ok = value is None or isinstance(value, str | int | float | bool)
    if not ok or depth > 20:
        raise UserError(f"{where}: '{key}' must hold only text, numbers, true/false and lists "
                        f"or mappings of them (with text keys), got {shown(value)}; fix the value")
    return value


def _number(value, tp, bad: UserError):
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if isinstance(value, str):  # YAML 1.1 reads `1e-3` as a string; accept numeric literals
        try:
            value = float(value)
        except ValueError:
            raise bad from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    return float(value)


def coerce(value, tp, key: str, where: str):
    """`value` as type `tp` (int, float, str, bool, dict, list[...], Literal[...], X | None)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    bad = UserError(f"{where}: '{key}' must be {_type_name(origin or tp)}, got {shown(value)}; "
                    "fix the value")
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return None if value is None else coerce(value, inner, key, where)
    if origin is typing.Literal:
        # of the same type as a choice: True == 1 and 3.0 == 3, but neither is the choice 3
        if not any(type(value) is type(a) for a in args):
            raise UserError(f"{where}: '{key}' must be one of {', '.join(map(str, args))}, got "
                            f"{value!r}; fix the value")
        choose(value, args, key, where)
        return value
    if origin is list:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise bad
        return [coerce(v, args[0], f"{key}[{i}]", where) for i, v in enumerate(value)]
    if tp is dict:
        if not isinstance(value, dict):
            raise bad
        return plain(value, key, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp in (int, float):
        number = _number(value, tp, bad)
        if not math.isfinite(number):
            raise UserError(f"{where}: '{key}' must be a finite number, got {shown(value)}; "
                            "fix the value")
        return number
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad
        return str(value)
    raise TypeError(f"unsupported config type {tp}")  # a programming error, not user input


def check_bounds(value, meta: typing.Mapping, key: str, where: str) -> None:
    """The bounds in a field's metadata (see config.schema)."""
    example = meta.get("example")
    fix = f"; set e.g. {key}={example}" if example is not None else ""
    if "min" in meta and value < meta["min"]:
        raise UserError(f"{where}: {key} must be at least {meta['min']} (got {value}){fix}")
    if "max" in meta and value > meta["max"]:
        raise UserError(f"{where}: {key} must be at most {meta['max']} (got {value}){fix}")
    if "gt" in meta and not value > meta["gt"]:
        raise UserError(f"{where}: {key} must be positive (got {value}){fix}")
    if "interval" in meta:
        low, high, open_low, closed_high = meta["interval"]
        above = value > low if open_low else value >= low
        below = value <= high if closed_high else value < high
        if not (above and below):
            span = f"{'(' if open_low else '['}{low}, {high}{']' if closed_high else ')'}"
            raise UserError(f"{where}: {key} must be in {span} (got {value})")


def from_dict(cls, data, where: str, prefix: str = ""):
    """Build dataclass `cls` from a (partial) dict; unknown keys, types and bounds raise."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.') or 'config'}' must be a mapping of keys "
                        f"to values, got {shown(data)}; fix the block")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            known = [prefix + n for n in fields]
            raise UserError(f"{where}: unknown key '{prefix}{key}'"
                            f"{suggest(prefix + str(key), known)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value, where, f"{prefix}{key}.")
            continue
        kwargs[key] = coerce(value, tp, prefix + key, where)
        if kwargs[key] is not None and fields[key].metadata:
            check_bounds(kwargs[key], fields[key].metadata, prefix + key, where)
    return cls(**kwargs)


def lowest(cls, key: str):
    """The smallest value a dotted field of dataclass `cls` may take (its `min` bound), or
    None: 'train.epochs' -> 1."""
    head, _, rest = key.partition(".")
    for f in dataclasses.fields(cls):
        if f.name == head:
            if rest:
                return lowest(typing.get_type_hints(cls)[head], rest)
            return f.metadata.get("min")
    return None


def leaves(obj, prefix: str = "") -> dict:
    """{'train.lr': 0.001, ...}: every field of a dataclass, flattened to dotted keys."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out |= leaves(value, f"{prefix}{f.name}.")
        else:
            out[prefix + f.name] = value
    return out
