"""The plan under a real make: `refresh` sets file times so that make re-runs exactly the stale
configuration, the plan is made for exactly the goals that need it (once per make, and by a
dry run without installing anything), and a PDF whose rule ran is current."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from ftbench.config import load_all
from ftbench.plan import planner as plan
from ftbench.store.layout import STAMP, SUMMARY, run_dir
from helpers import DEMO, ROOT, fake_summary, workdir

TWO = DEMO.replace("seeds: [0, 1, 2]", "seeds: [0, 1]").replace(
    "report:", "axes:\n  variant:\n    values:\n      a: {}\n"
               "      b: {train: {lr: 2.0e-3}}\nreport:")


def _plan(work):
    return load_all(work / "configs", "tiny", check_models=False)


STUB = """\
SHELL := bash
VENV := {venv}
FTBENCH := echo FTBENCH
LAUNCH :=
OPTS :=
OVERRIDES :=
GENERATED := {generated}
RENDER_SRC :=
include {plan_mk}
"""


def test_refresh_makes_make_rerun_exactly_the_stale_configuration(tmp_path):
    """plan.mk under make -n, with the Makefile's variables stubbed: after a clone's arbitrary
    file times every run looks stale or current by accident; after planning, only the
    configuration with a stale summary is run again."""
    work = workdir(tmp_path, {"demo": TWO})
    results = work / "results" / "tiny"
    exps = _plan(work)
    runs = {r.run_id: r for r in exps[0].runs}
    plan.write(exps, "tiny", results, results / "plan.mk")
    for r in runs.values():
        fake_summary(r, results, identity="0" * 16 if r.run_id == "b--s1" else None)
    (tmp_path / "venv").touch()
    stub = tmp_path / "stub.mk"
    stub.write_text(STUB.format(venv=tmp_path / "venv", generated=tmp_path / "generated",
                                plan_mk=results / "plan.mk"))
    goals = [str(run_dir(results, r) / SUMMARY) for r in runs.values()]

    def reruns() -> list[str]:
        proc = subprocess.run(["make", "-n", "-f", str(stub), *goals], capture_output=True,
                              text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return re.findall(r"FTBENCH run (.*) --planned", proc.stdout)

    assert reruns() == []  # every summary is newer than its stamp: Make cannot tell
    plan.write(exps, "tiny", results, results / "plan.mk")
    assert reruns() == ["demo/b--s0 demo/b--s1"]  # one process for the configuration
    for path in results.rglob(SUMMARY):  # as after a clone: summaries older than stamps
        os.utime(path, ns=(1, 1))
    assert sorted(reruns()) == ["demo/a--s0 demo/a--s1", "demo/b--s0 demo/b--s1"]
    plan.write(exps, "tiny", results, results / "plan.mk")
    assert reruns() == ["demo/b--s0 demo/b--s1"]
    # as a checkout writes them, one after another: each summary newer than its own stamp but
    # older than the next seed's, which the configuration's one rule also depends on
    order = [run_dir(results, runs[k]) / name for k in ("a--s0", "a--s1") for name in (STAMP,
                                                                                     SUMMARY)]
    for second, path in enumerate(order, start=1):
        os.utime(path, ns=(second * 10**9,) * 2)
    assert sorted(reruns()) == ["demo/a--s0 demo/a--s1", "demo/b--s0 demo/b--s1"]
    plan.write(exps, "tiny", results, results / "plan.mk")
    assert reruns() == ["demo/b--s0 demo/b--s1"]


# Runs, tables (any file of CONFIGS) and the files under RESULTS, GENERATED_ROOT and BUILD_ROOT:
# derived by the Makefile, never a hand-kept list of names (`demo` is in no list).
GOALS_NEEDING_PLAN = ["all", "demo", "{results}/tiny/demo.csv",
                      "{results}/tiny/runs/demo/s0/summary.json",
                      "{generated}/tiny/demo/table.tex", "{generated}/tiny/profile.tex",
                      "{build}/tiny/paper.pdf"]
GOALS_WITHOUT_PLAN = ["help", "lint", "clean", "status", "plan", "test-fast", "data", "bench",
                      "params", "paper", "tune"]


def test_the_plan_is_made_for_exactly_the_goals_that_need_it(tmp_path):
    """`make -n GOAL` with the planning command stubbed: it runs (Make remakes an included
    makefile even under -n) for runs, tables and their files, a table being any file of
    CONFIGS, and not for the other targets."""
    work = workdir(tmp_path, {"demo": DEMO})
    venv = tmp_path / "venv-installed"
    venv.touch()
    names = {"results": tmp_path / "results", "generated": tmp_path / "generated",
             "build": tmp_path / "build"}
    variables = [f"CONFIGS={work / 'configs'}", f"RESULTS={names['results']}",
                 f"GENERATED_ROOT={names['generated']}", f"BUILD_ROOT={names['build']}",
                 f"VENV={venv}", "FTBENCH=echo FTBENCH", "PY=echo PY", "JOBS=1"]

    def planned(goal: str) -> bool:
        proc = subprocess.run(["make", "-n", goal.format(**names), *variables], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        return "FTBENCH plan --make" in proc.stdout

    for goal in GOALS_NEEDING_PLAN:
        assert planned(goal), goal
    for goal in GOALS_WITHOUT_PLAN:
        assert not planned(goal), goal


def test_the_pdf_is_current_after_its_rule_ran_even_if_latexmk_had_nothing_to_do(tmp_path):
    import time

    names = {k: tmp_path / k for k in ("results", "generated", "build")}
    (tmp_path / "configs").mkdir()
    venv, source = tmp_path / "venv-installed", tmp_path / "main.tex"
    venv.touch()
    source.touch()
    pdf = names["build"] / "tiny" / "paper.pdf"
    start = time.time() - 4  # in order, and newer than the code files the params rule reads
    for i, path in enumerate([names["results"] / "tiny" / "params.csv",
                              names["results"] / "tiny" / "comparisons.csv",
                              names["generated"] / "tiny" / "params" / "table.tex",
                              pdf,  # older than what it is built from: its rule runs
                              names["generated"] / "tiny" / "profile.tex"]):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (start + i, start + i))
    variables = [f"CONFIGS={tmp_path / 'configs'}", f"RESULTS={names['results']}",
                 f"GENERATED_ROOT={names['generated']}", f"BUILD_ROOT={names['build']}",
                 f"VENV={venv}", f"PAPER_SRC={source}", "RENDER_SRC=", "FTBENCH=echo FTBENCH",
                 "PY=true", "LATEXMK=true"]  # a latexmk that finds nothing to redo

    def make(*args):
        return subprocess.run(["make", *args, str(pdf), *variables], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    assert make("-q").returncode == 1  # out of date
    built = make()
    assert built.returncode == 0, built.stderr
    assert make("-q").returncode == 0, "after its rule ran, the PDF still looks out of date"


def test_only_make_n_counts_as_a_dry_run(tmp_path):
    """A plain `make all` in a fresh clone must plan once it has installed .venv; the Makefile's
    own long flags (--no-builtin-rules) once passed for `-n` and left the tables unrendered."""
    wrapper = tmp_path / "show.mk"  # not --eval, which would itself enter MAKEFLAGS
    wrapper.write_text(f'include {ROOT / "Makefile"}\n'
                       'show-dry-run: ; @echo "dry=[$(DRY_RUN)]"\n')

    def dry(*flags: str) -> str:
        proc = subprocess.run(["make", "-f", str(wrapper), *flags, "show-dry-run"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return re.search(r"dry=\[(\w*)\]", proc.stdout).group(1)

    assert dry() == ""
    assert dry("-s", "-k", "JOBS=1") == ""
    assert dry("-n") == "n"
    assert dry("-kn") == "n"


def test_make_n_installs_nothing_when_the_venv_is_older_than_pyproject(tmp_path):
    """After a clone pyproject.toml can be newer than .venv/.installed. Make remakes an included
    makefile even under -n, and plan.mk once waited for .venv: `make -n` installed."""
    import shutil

    work = workdir(tmp_path, {"demo": DEMO})
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    (work / "pyproject.toml").write_text("[project]\n")
    (work / ".venv").mkdir()
    (work / ".venv" / ".installed").touch()
    os.utime(work / ".venv" / ".installed", ns=(1, 1))  # older than pyproject.toml
    proc = subprocess.run(["make", "-n", "all", "PYTHON=echo PYTHON", "FTBENCH=echo FTBENCH"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert "FTBENCH plan --make" in proc.stdout  # planned, with .venv as it is
    executed = [line for line in proc.stdout.splitlines() if line.startswith("PYTHON")]
    assert executed == [] and ".venv/bin/pip" not in proc.stderr, proc.stderr


def test_a_new_plan_is_made_once_per_make(tmp_path):
    """In a fresh clone the plan is new, so Make restarts to read it; the restarted make must
    not plan again (seconds of imports). The next make plans once, as every make does."""
    work = workdir(tmp_path, {"demo": DEMO})
    shutil.copy(ROOT / "Makefile", work / "Makefile")
    (work / "pyproject.toml").write_text("[project]\n")
    (work / ".venv").mkdir()
    (work / ".venv" / ".installed").touch()  # newer than pyproject.toml: nothing to install
    log = tmp_path / "calls.log"
    # `plan --make PATH ...` writes PATH when its content changes, as ftbench does
    stub = tmp_path / "ftbench-stub"
    stub.write_text(f'#!/bin/bash\necho "$1" >> {log}\n'
                    '[ "$1" = plan ] && [ ! -e "$3" ] && mkdir -p "$(dirname "$3")" && '
                    'echo "TABLES :=" > "$3"\nexit 0\n')
    stub.chmod(0o755)

    def plans() -> int:
        log.write_text("")
        subprocess.run(["make", "results/tiny/demo.csv", f"FTBENCH={stub}"], cwd=work,
                       capture_output=True, text=True, timeout=60)
        return log.read_text().split().count("plan")

    assert not (work / "results" / "tiny" / "plan.mk").exists()
    assert plans() == 1  # a new plan.mk, then a restart that reads it
    assert plans() == 1  # every make plans: content decides what is current
