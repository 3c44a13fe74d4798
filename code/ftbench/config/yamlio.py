"""Config files as YAML, read strictly: a mistake that PyYAML would let through silently (a key
written twice, where the last one wins) is an error, as are bytes that are not UTF-8. Also where
each key is written (`key_lines`), for `ftbench explain`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ftbench.errors import UserError

# YAML 1.1, which PyYAML reads, turns `1:30` into 90 (base 60), `010` into 8, `0x10` into 16 and
# `on`, `off`, `yes`, `no` into booleans: a setting silently other than the one written. Plain
# values here follow YAML 1.2's core schema instead, with decimal integers only: anything else
# stays text, which the typed config then refuses in one line.
_RESOLVERS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9][0-9_]*$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)"
     r"(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's plain values that refuses a mapping holding the same key
    twice, and merge keys (`<<`), whose silent overwriting is what duplicate keys are refused
    for."""

    yaml_implicit_resolvers: dict = {}

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                raise yaml.constructor.ConstructorError(
                    None, None, "merge keys (<<) are not read here; write the values out",
                    key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key is a list or a mapping; keys must be plain names",
                    key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice (lines {seen[key]} and "
                    f"{key_node.start_mark.line + 1}); keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in _RESOLVERS:
    _StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# decimal, whatever the leading zeros: YAML 1.1's constructor would read `010` as octal 8
_StrictLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(
    loader.construct_scalar(node).replace("_", ""), 10))


def plain_value(text: str):
    """One plain value as a config file would read it (for command-line overrides)."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as "
                        "UTF-8") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder where a config file should be") from None


def load_yaml(path: Path) -> dict:
    """The mapping in a YAML file ({} for an empty file); one-line errors for anything else."""
    text = _text(path)
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader checks the characters here already
        data = loader.get_single_data()
        if isinstance(data, dict):
            acyclic(data, str(path))
    except RecursionError:
        raise UserError(f"{path}: values nested too deeply to read; flatten them") from None
    except yaml.YAMLError as exc:
        raise _malformed(path, exc) from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def _malformed(path: Path, exc: yaml.YAMLError) -> UserError:
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or "invalid YAML"
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):  # "expected a single document ... but ..."
        problem = f"{context} {problem}"
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        problem = f"character {exc.character:#06x} at position {exc.position} is not allowed"
    return UserError(f"{path}: malformed YAML{at}: {problem}")


def acyclic(data, where: str, limit: int = 64) -> None:
    """YAML's anchors can make a value contain itself (`a: &x [*x]`), and nesting can go deeper
    than any config needs: refuse both in one line rather than recurse without end further on."""
    done: set[int] = set()

    def walk(node, path: tuple) -> None:
        if not isinstance(node, dict | list) or id(node) in done:
            return
        if id(node) in path:
            raise UserError(f"{where}: a value contains itself through a YAML alias (*name); "
                            "write it out instead")
        if len(path) >= limit:
            raise UserError(f"{where}: values nested more than {limit} deep; flatten them")
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            walk(child, (*path, id(node)))
        done.add(id(node))

    walk(data, ())


def key_lines(path: Path) -> dict[tuple, int]:
    """(key, subkey, ...) -> the line the innermost key is written on, for every mapping key."""
    out: dict[tuple, int] = {}

    def walk(node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path_ = (*prefix, key_node.value)
                out[path_] = key_node.start_mark.line + 1
                walk(value_node, path_)

    walk(yaml.compose(_text(path), Loader=yaml.SafeLoader), ())
    return out
