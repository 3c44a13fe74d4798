"""Planning: the Make fragment (plan.mk) and the Makefile agree on their variables, the seeds of
one configuration are one grouped rule, runs are done or stale by content (their identity), and
`refresh` sets file times from content. A summary of another identity is refused by `aggregate`;
a one-off run goes to its own folder. (A real make on the plan: tests/e2e/test_make_plan.py.)"""

from __future__ import annotations

import json
import os
import re

import pytest

from ftbench.cli.main import main
from ftbench.config import find_run, load_all, parse_overrides, with_overrides
from ftbench.config.inputs import inputs_of
from ftbench.errors import UserError
from ftbench.plan import freshness, makefile, state
from ftbench.plan import planner as plan
from ftbench.report import compare
from ftbench.store.hashing import file_sha256
from ftbench.store.layout import CHECKPOINT, STAMP, SUMMARY, oneoff_dir, run_dir
from helpers import BACKBONE, DEMO, ROOT, fake_summary, workdir

TWO = DEMO.replace("seeds: [0, 1, 2]", "seeds: [0, 1]").replace(
    "report:", "axes:\n  variant:\n    values:\n      a: {}\n"
               "      b: {train: {lr: 2.0e-3}}\nreport:")
HEAD = DEMO.replace("{name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}", "{name: head}")
ABOVE = TWO.replace("label: ViT-micro}", 'label: ViT-micro, pretrained: "run:backbone/s0"}')
# make's own variables and the environment's, which the Makefile may read without defining
MAKE_OWN = {"CURDIR", "MAKE", "MAKECMDGOALS", "MAKEFILE_LIST", "MAKEFLAGS", "MAKE_RESTARTS",
            "HOME", "DATA_DIR", "FTBENCH_GIT_COMMIT"}


def _plan(work):
    return load_all(work / "configs", "tiny", check_models=False)


def _variables(text: str) -> tuple[set[str], set[str]]:
    """(defined, used) variables of a makefile's text."""
    text = re.sub(r"\\\n", " ", text)
    defined = set(re.findall(r"^(?:export\s+|override\s+)?([A-Za-z_]\w*)\s*(?::=|\?=|\+=|=)",
                             text, re.M))
    used = set(re.findall(r"\$\(([A-Za-z_]\w*)\)", text))
    return defined, used


def test_plan_mk_uses_only_variables_the_makefile_defines(tmp_path):
    work = workdir(tmp_path, {"backbone": BACKBONE, "demo": ABOVE})
    text = makefile.make_rules(_plan(work), "tiny", work / "results" / "tiny")
    makefile_defined, _ = _variables((ROOT / "Makefile").read_text())
    plan_defined, plan_used = _variables(text)
    assert makefile.makefile_needs() <= makefile_defined, \
        makefile.makefile_needs() - makefile_defined
    # the generated text itself, not only its templates
    assert plan_used - plan_defined - {"t"} <= makefile_defined, \
        plan_used - plan_defined - makefile_defined
    assert plan_used - plan_defined - {"t"} <= makefile.makefile_needs()
    assert set(makefile.DEFINES) <= plan_defined


def test_plan_mk_defines_what_the_makefile_uses():
    makefile_defined, makefile_used = _variables((ROOT / "Makefile").read_text())
    undefined = makefile_used - makefile_defined - MAKE_OWN
    assert undefined <= set(makefile.DEFINES), f"nobody defines {undefined - set(makefile.DEFINES)}"
    assert not set(makefile.DEFINES) & makefile_defined, "the plan and the Makefile both define"
    for name in makefile.DEFINES:  # each is read by the Makefile or by the fragment itself
        assert name in makefile_used or f"$({name})" in makefile.FOOTER, name


def test_seeds_of_one_configuration_are_one_grouped_rule(tmp_path):
    work = workdir(tmp_path, {"backbone": BACKBONE, "demo": ABOVE})
    results = work / "results" / "tiny"
    text = makefile.make_rules(_plan(work), "tiny", results)
    rules = re.findall(r"^(.*) &: (.*) \| \$\(VENV\)\n\t(.*)$", text, re.M)
    by_keys = {tuple(re.findall(r"run (.*) --planned", cmd)[0].split()): (targets, deps)
               for targets, deps, cmd in rules}
    assert set(by_keys) == {("backbone/s0",), ("demo/a--s0", "demo/a--s1"),
                            ("demo/b--s0", "demo/b--s1")}
    targets, deps = by_keys[("demo/a--s0", "demo/a--s1")]
    assert targets.split() == [str(results / "runs/demo" / f"a--s{s}" / SUMMARY) for s in (0, 1)]
    assert deps.split() == [str(results / "runs/demo/a--s0" / STAMP),
                            str(results / "runs/backbone/s0" / SUMMARY),
                            str(results / "runs/demo/a--s1" / STAMP)]
    for _, _, cmd in rules:
        assert cmd.startswith("$(LAUNCH) $(FTBENCH) run ") and cmd.endswith(
            "--planned $(OPTS) $(OVERRIDES)")
    assert re.search(r"^TABLES := backbone demo$", text, re.M)
    assert f"{results / 'demo.csv'}: $(RUNS_demo)" in text


def test_without_grouping_every_run_is_a_rule_of_its_own(tmp_path):
    """GROUP_RUNS=0 (the GPU profiles' default): one process per run, for a cluster's
    parallelism."""
    work = workdir(tmp_path, {"demo": TWO})
    results = work / "results" / "tiny"
    text = makefile.make_rules(_plan(work), "tiny", results, group=False)
    commands = re.findall(r"run (.*) --planned", text)
    assert sorted(commands) == ["demo/a--s0", "demo/a--s1", "demo/b--s0", "demo/b--s1"]
    assert text.count(" &: ") == 4  # still grouped targets, of one run each


def _trained_under(work, overrides: list[str]) -> None:
    """Fake summaries of the demo table, as `make OVERRIDES=...` trains it."""
    (e,) = load_all(work / "configs", "tiny", parse_overrides(overrides), check_models=False)
    for r in e.runs:
        fake_summary(r, work / "results" / "tiny")


OVERRIDES = ["train.epochs=2", "data.train_limit=100"]


def test_overrides_after_a_table_name_are_the_plans(tmp_path, monkeypatch, capsys):
    work = workdir(tmp_path, {"demo": DEMO})
    monkeypatch.chdir(work)
    _trained_under(work, OVERRIDES)
    assert main(["aggregate", "demo", *OVERRIDES]) == 0, capsys.readouterr().err
    assert main(["aggregate", "demo", OVERRIDES[1]]) == 2  # another plan: refused
    assert "is not the planned run's" in capsys.readouterr().err


def test_overrides_after_all_are_the_plans_too(tmp_path, monkeypatch, capsys):
    work = workdir(tmp_path, {"demo": DEMO})
    monkeypatch.chdir(work)
    _trained_under(work, OVERRIDES)
    assert main(["aggregate", "--all", *OVERRIDES]) == 0, capsys.readouterr().err
    assert (work / "results" / "tiny" / "demo.csv").exists()


def test_runs_are_done_stale_diverged_or_missing_by_content(tmp_path):
    work = workdir(tmp_path, {"demo": DEMO})
    results = work / "results" / "tiny"
    s0, s1, s2 = _plan(work)[0].runs
    fake_summary(s0, results)
    fake_summary(s1, results, identity="0" * 16)
    assert [state.state(r, results).state for r in (s0, s1, s2)] == [
        "done", "stale", "missing"]
    assert "planned " + s1.identity in state.state(s1, results).reason
    fake_summary(s2, results, status="diverged")
    assert state.state(s2, results).state == "diverged"
    (run_dir(results, s2) / SUMMARY).write_text('{"identity": ')
    assert state.state(s2, results) == state.RunState(
        "stale", "its summary.json is unreadable")


def test_a_rebuilt_backbone_makes_the_runs_above_it_stale(tmp_path):
    work = workdir(tmp_path, {"backbone": BACKBONE, "demo": ABOVE})
    results = work / "results" / "tiny"
    exps = {e.name: e for e in _plan(work)}
    run = exps["demo"].runs[0]
    weights = results / "runs" / "backbone" / "s0" / "backbone.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"first backbone")
    file_sha256.cache_clear()
    fake_summary(run, results, inputs=inputs_of(run, results))
    assert state.state(run, results).state == "done"
    weights.write_bytes(b"retrained backbone")
    file_sha256.cache_clear()  # a new process sees the new file
    assert state.state(run, results) == state.RunState(
        "stale", "the backbone it starts from was trained again")


@pytest.mark.parametrize("field", ["pretrained", "pretrained_file"])
def test_a_replaced_weights_file_named_in_the_config_makes_the_run_stale(tmp_path, field):
    """`file:` weights (or timm's with model.pretrained_file) are not in the config's text: a
    run must not stay current when the file behind the same name is replaced."""
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(b"first weights")
    value = f"file:{weights}" if field == "pretrained" else f"timm, pretrained_file: {weights}"
    work = workdir(tmp_path, {"demo": DEMO.replace(
        "label: ViT-micro}", f"label: ViT-micro, pretrained: {value}}}")})
    results = work / "results" / "tiny"
    run = _plan(work)[0].runs[0]
    assert run.depends_on == []
    fake_summary(run, results, inputs=inputs_of(run, results))
    assert state.state(run, results).state == "done"
    weights.write_bytes(b"other weights")  # same size, the same second
    assert state.state(run, results) == state.RunState(
        "stale", "the weights file it starts from changed")


def test_refresh_sets_file_times_from_content(tmp_path):
    """As after a clone: every summary newer than its stamp, the stale one included. After
    planning, the current summary is newer than its stamp, the stale one older (Make re-runs
    it), and a CSV equal to what its summaries give is newer than they are."""
    work = workdir(tmp_path, {"demo": TWO})
    results = work / "results" / "tiny"
    exps = _plan(work)
    state.write_stamps(exps, results)
    runs = {r.run_id: r for r in exps[0].runs}
    for r in runs.values():
        fake_summary(r, results, identity="0" * 16 if r.run_id == "b--s1" else None)
    summary = {k: run_dir(results, r) / SUMMARY for k, r in runs.items()}
    stamp = {k: run_dir(results, r) / STAMP for k, r in runs.items()}
    (results / "demo.csv").write_text("stale\n")
    for path in [*stamp.values(), results / "demo.csv"]:  # the clone's arbitrary order
        os.utime(path, ns=(1_500_000_000 * 10**9,) * 2)
    for path in summary.values():
        os.utime(path, ns=(1_000_000_000 * 10**9,) * 2)

    plan.write(exps, "tiny", results, results / "plan.mk")
    mtime = {k: p.stat().st_mtime_ns for k, p in summary.items()}
    for k in ("a--s0", "a--s1", "b--s0"):
        assert mtime[k] > stamp[k].stat().st_mtime_ns, k  # done: Make leaves it
    assert mtime["b--s1"] < stamp["b--s1"].stat().st_mtime_ns  # stale: Make re-runs it
    assert mtime["b--s1"] == 0
    # a CSV of a table with a stale run is left as it is (aggregate would refuse the run)
    assert (results / "demo.csv").stat().st_mtime_ns == 1_500_000_000 * 10**9
    assert (results / "plan.mk").exists()


def test_a_csv_that_equals_its_summaries_is_made_current(tmp_path):
    from ftbench.report.aggregate import aggregate

    work = workdir(tmp_path, {"demo": DEMO})
    results = work / "results" / "tiny"
    exps = _plan(work)
    state.write_stamps(exps, results)
    for r in exps[0].runs:
        fake_summary(r, results)
    csv = aggregate(exps[0], results)
    os.utime(csv, ns=(1, 1))  # older than its runs, as a checkout may leave it
    assert freshness.refresh(exps, results) >= 1
    newest = max((run_dir(results, r) / SUMMARY).stat().st_mtime_ns for r in exps[0].runs)
    assert csv.stat().st_mtime_ns > newest
    text = csv.read_text()
    csv.write_text(text.replace(",ok,", ",diverged,", 1))  # edited by hand, newer than its runs
    assert csv.read_text() != text
    freshness.refresh(exps, results)
    assert csv.stat().st_mtime_ns == 0, "a CSV that differs from its runs is aggregated again"
    with pytest.raises(UserError, match="differs from what its runs' summaries give"):
        compare.load(exps[0], results)


def test_stamps_change_only_with_the_config_and_take_the_old_checkpoint_along(tmp_path):
    work = workdir(tmp_path, {"demo": DEMO})
    results = work / "results" / "tiny"
    exps = _plan(work)
    state.write_stamps(exps, results)
    run = exps[0].runs[0]
    stamp = run_dir(results, run) / STAMP
    assert json.loads(stamp.read_text()) == {"identity": run.identity,
                                             "config": run.config.to_dict()}
    (run_dir(results, run) / CHECKPOINT).write_bytes(b"epoch 1 of the old configuration")
    os.utime(stamp, ns=(5, 5))
    state.write_stamps(exps, results)
    assert stamp.stat().st_mtime_ns == 5 and (run_dir(results, run) / CHECKPOINT).exists()
    path = work / "configs" / "demo.yaml"
    path.write_text(path.read_text().replace("epochs: 1,", "epochs: 2,"))
    state.write_stamps(_plan(work), results)
    assert stamp.stat().st_mtime_ns > 5
    assert not (run_dir(results, run) / CHECKPOINT).exists()


def test_describe_lists_every_run_with_its_settings(tmp_path):
    work = workdir(tmp_path, {"demo": TWO})
    text = plan.describe(_plan(work))
    assert text.splitlines()[0] == "demo: Demo (4 runs)"
    assert "demo/b--s1  vit_micro_patch8_32 [lora r=4 alpha=8 on qkv.q,qkv.v]" in text
    assert "lr=0.002 cosine seed=1" in text


def test_aggregate_refuses_a_summary_of_another_identity_in_one_line(tmp_path, monkeypatch,
                                                                     capsys):
    work = workdir(tmp_path, {"demo": DEMO})
    monkeypatch.chdir(work)
    results = work / "results" / "tiny"
    s0, s1, s2 = _plan(work)[0].runs
    for r in (s0, s2):
        fake_summary(r, results)
    fake_summary(s1, results, identity="0123456789abcdef")
    assert main(["aggregate", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.strip() == (
        f"ftbench: error: run summary results/tiny/runs/demo/s1/summary.json is not the planned "
        f"run's (identity 0123456789abcdef, planned {s1.identity}: its configuration, a default "
        "or a run it starts from changed); re-run it with make all")
    assert not (results / "demo.csv").exists()
    fake_summary(s1, results)
    assert main(["aggregate", "demo"]) == 0 and (results / "demo.csv").exists()


def test_a_one_off_run_goes_to_its_own_folder(tmp_path, monkeypatch, capsys, restore_threads):
    """`ftbench run KEY key=value`: the planned run's folder is left alone."""
    work = workdir(tmp_path, {"demo": HEAD})
    monkeypatch.chdir(work)
    results = work / "results" / "tiny"
    planned = find_run(_plan(work), "demo/s0")
    fake_summary(planned, results)
    before = {p: p.read_bytes() for p in run_dir(results, planned).rglob("*") if p.is_file()}

    assert main(["run", "demo/s0", "train.lr=0.02"]) == 0
    out = capsys.readouterr().out
    one_off = with_overrides(planned, parse_overrides(["train.lr=0.02"]))
    folder = oneoff_dir(results, one_off)
    assert folder == results / "oneoff" / "demo" / f"s0--{one_off.identity}"
    assert f"goes to {folder.relative_to(work)}; the planned run stays in " in out
    summary = json.loads((folder / SUMMARY).read_text())
    assert summary["identity"] == one_off.identity and summary["config"]["train"]["lr"] == 0.02
    after = {p: p.read_bytes() for p in run_dir(results, planned).rglob("*") if p.is_file()}
    assert after == before
    assert state.state(planned, results).state == "done"


def test_runs_done_and_current_are_skipped(tmp_path, monkeypatch, capsys, restore_threads):
    work = workdir(tmp_path, {"demo": HEAD})
    monkeypatch.chdir(work)
    results = work / "results" / "tiny"
    s0, s1, _ = _plan(work)[0].runs
    fake_summary(s0, results)
    done = (run_dir(results, s0) / SUMMARY).read_bytes()
    assert main(["run", "demo/s0", "demo/s1", "--planned"]) == 0
    out = capsys.readouterr().out
    assert "demo/s0 is done and current; not redone" in out
    assert (run_dir(results, s0) / SUMMARY).read_bytes() == done
    assert json.loads((run_dir(results, s1) / SUMMARY).read_text())["identity"] == s1.identity
    assert not (results / "oneoff").exists()
    # --planned with overrides: the plan's own (Make passes its OVERRIDES), so the planned
    # folder, under the identity those overrides give
    assert main(["run", "demo/s0", "--planned", "train.epochs=2"]) == 0
    (spec,) = [r for r in load_all(work / "configs", "tiny", parse_overrides(["train.epochs=2"]),
                                   check_models=False)[0].runs if r.run_id == "s0"]
    assert json.loads((run_dir(results, s0) / SUMMARY).read_text())["identity"] == spec.identity
    assert not (results / "oneoff").exists()
