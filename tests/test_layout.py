"""The package's layout is its data flow: stage folders, imports pointing one way, no cycles.

The stages, in the order imports may point (a module imports its own stage and the stages before
it, never one after): `store` (the run folder on disk), `config`, `data`, `models`, `train`,
`report`, `plan`, `tools`, `cli`. Beneath them, `ftbench`, `errors` and `faults` may be imported
by anyone. The registries are leaves (timm's `_registry` pattern): `data.registry` and
`models.registry` (with `models.micro`, which registers with timm) import nothing of ftbench but
the base, so a config check may consult them from below their stage.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = Path(__file__).resolve().parents[1] / "code" / "ftbench"
STAGES = ["store", "config", "data", "models", "train", "report", "plan", "tools", "cli"]
BASE = {"ftbench", "ftbench.errors", "ftbench.faults"}
LEAVES = {"ftbench.data.registry", "ftbench.models.registry", "ftbench.models.micro"}
# Imports inside functions, each with its reason: anywhere else an import belongs at the top,
# where a reader sees what a module depends on.
LAZY = {
    "ftbench.cli": "a command imports its stage when it runs: `ftbench status` never loads torch",
    "ftbench.config.rules": "timm's registry (models.registry) only when models are checked: "
                            "commands that read results skip importing timm",
    "ftbench.report.aggregate": "the deep check (report.evidence, scikit-learn) only on request",
    "ftbench.train.poststeps": "a post-run step's module (peft, probes) only when it is enabled",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _target(name: str) -> str:
    """The module an import names (`from a.b import c` may name module a.b.c or a.b's c)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported ftbench module, at the top level, line) for each import of `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ftbench"):
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("ftbench")]
        else:
            continue
        found += [(_target(n), id(node) in top, node.lineno) for n in names]
    return [f for f in found if f[0] != module]


def stage(module: str) -> int:
    return -1 if module in BASE else STAGES.index(module.split(".")[1])


def test_the_top_level_is_the_stages():
    listed = {p.name for p in PACKAGE.iterdir() if not p.name.startswith(("_", "."))}
    assert listed == {*STAGES, "errors.py", "faults.py"}


def test_imports_never_point_to_a_later_stage():
    upward = []
    for module in MODULES:
        if module == "ftbench.__main__":
            continue  # the entry point: it calls the command line
        for target, _, line in imports(module):
            if module in LEAVES and target not in BASE | LEAVES:
                upward.append(f"{module}:{line} -> {target} (a registry is a leaf)")
            elif target not in LEAVES and stage(target) > stage(module):
                upward.append(f"{module}:{line} -> {target}")
    assert not upward, "\n".join(upward)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = defaultdict(set, {m: {t for t, _, _ in imports(m)} for m in MODULES})
    assert cycles(graph) == []


def test_the_cycle_finder_finds_one():
    assert cycles(defaultdict(set, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [
        ["a", "b", "c"]]


def test_lazy_imports_only_where_a_command_must_stay_light():
    lazy = [f"{m}:{line} -> {t}" for m in MODULES for t, top, line in imports(m)
            if not top and not any(m == k or m.startswith(k + ".") for k in LAZY)]
    assert not lazy, "\n".join(lazy)


@pytest.mark.parametrize("module", ["ftbench.tools.status", "ftbench.plan.planner",
                                    "ftbench.report.render", "ftbench.cli.main"])
def test_light_modules_do_not_load_torch(module):
    import subprocess

    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_runs_process_imports_no_report_or_tool_code(tmp_path):
    """A run records the code it ran (train.fingerprint): what `ftbench run` imports is what
    computes a run, so that editing the report or a tool leaves finished runs current. The
    command runs for real up to the training, which a stub replaces to list the modules."""
    import subprocess

    code = ("import sys, ftbench.train.run as run\n"
            "def listing(*args, **kwargs):\n"
            "    print(sorted(m for m in sys.modules if m.startswith(('ftbench.report', "
            "'ftbench.tools', 'ftbench.plan.freshness'))))\n"
            "run.train = listing\n"
            "from ftbench.cli.main import main\n"
            f"main(['run', 'pretrain/vit-micro--s0', '--configs', {str(ROOT / 'configs')!r}, "
            f"'--results', {str(tmp_path)!r}])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
