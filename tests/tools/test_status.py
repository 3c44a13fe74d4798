"""`ftbench status` (every planned run: done, stale and why, running, diverged, missing, with
counts) and `ftbench explain` (every value of a run and the file and line it comes from)."""

from __future__ import annotations

import pytest

from ftbench.cli.main import main
from ftbench.config import leaves, load_all
from ftbench.store import runlock
from ftbench.store.layout import run_dir
from helpers import DEMO, fake_summary, workdir

OTHER = DEMO.replace("seeds: [0, 1, 2]", "seeds: [0, 1]").replace("title: Demo", "title: Other")
EXPLAIN = """\
title: Explain
description: where each value comes from
base:
  model: {name: vit_micro_patch8_32, label: ViT-micro}
  method: {name: lora, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train:
    epochs: 1
    lr: 1.0e-3
axes:
  variant:
    values:
      small: {method: {r: 2}}
      big: {method: {r: 16}}
profiles:
  tiny:
    base:
      train: {batch_size: 16}
report: {caption: explain}
"""


@pytest.fixture
def work(tmp_path, monkeypatch):
    work = workdir(tmp_path, {"demo": DEMO, "other": OTHER, "explain": EXPLAIN})
    monkeypatch.chdir(work)
    return work


def test_a_run_made_by_other_code_is_shown_with_the_files_that_differ(work, capsys):
    """Make keeps it (code is not part of the identity); status says which files changed."""
    from ftbench.train.fingerprint import code_fingerprint

    results = work / "results" / "tiny"
    (e,) = [e for e in load_all(work / "configs", "tiny", check_models=False)
            if e.name == "demo"]
    s0, s1, _ = e.runs
    fake_summary(s0, results)  # the code that is here
    recorded = code_fingerprint()
    recorded["files"] = recorded["files"] | {"engine.py": "0" * 64}
    fake_summary(s1, results, code=recorded)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "  demo (3 runs): 1 done, 1 other code, 1 missing" in out
    assert f"other code {s1.key}: made by other code: engine.py changed since" in out


def test_status_counts_done_stale_running_diverged_and_missing(work, capsys):
    results = work / "results" / "tiny"
    exps = {e.name: e for e in load_all(work / "configs", "tiny", check_models=False)}
    s0, s1, s2 = exps["demo"].runs
    o0, o1 = exps["other"].runs
    fake_summary(s0, results)
    fake_summary(s1, results, identity="feedfacefeedface")
    fake_summary(o1, results, status="diverged")
    with runlock.hold(run_dir(results, o0)):  # a process is working on other/s0
        assert main(["status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("results/tiny: 7 planned runs: 1 done, 1 stale, 1 running, 1 diverged, "
                      "3 missing")
    assert "  demo (3 runs): 1 done, 1 stale, 1 missing" in out
    assert "  other (2 runs): 1 running, 1 diverged" in out
    assert "  explain (2 runs): 2 missing" in out
    assert ("    stale    demo/s1: its configuration, or a run it starts from, changed "
            f"(identity feedfacefeedface, planned {s1.identity})") in out
    assert "    missing  demo/s2" in out and "    running  other/s0" in out
    assert "    diverged other/s1: its loss became NaN or infinite" in out
    assert not any("demo/s0" in line for line in out), "done runs are counted, not listed"
    assert not (run_dir(results, o0) / "run.lock").exists()


def test_status_of_nothing_run_yet(work, capsys):
    assert main(["status"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "results/tiny: 7 planned runs: 7 missing"
    assert not (work / "results").exists(), "status writes nothing"


def _explained(text: str) -> dict[str, tuple[str, str]]:
    """key -> (value as shown, where it comes from)."""
    lines = text.splitlines()
    out = {}
    for line in lines[1:]:
        key, _, rest = line.strip().partition(" = ")
        value, _, where = rest.partition("  ")
        out[key.strip()] = (value.strip(), where.strip())
    return out


def _line(text: str, fragment: str) -> int:
    (n,) = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return n


def test_explain_names_the_file_and_line_of_every_value(work, capsys):
    assert main(["explain", "explain/small--s0"]) == 0
    out = capsys.readouterr().out
    (spec,) = [r for e in load_all(work / "configs", "tiny", check_models=False)
               for r in e.runs if r.key == "explain/small--s0"]
    assert out.startswith(f"explain/small--s0 (identity {spec.identity}): ")
    values = _explained(out)
    assert list(values) == list(leaves(spec.config))  # every value, in the config's order
    config = "configs/explain.yaml"
    assert values["train.lr"] == ("0.001", f"{config}:{_line(EXPLAIN, 'lr: 1.0e-3')} "
                                           "(experiment base)")
    assert values["train.epochs"][1] == f"{config}:8 (experiment base)"
    assert values["model.name"][1] == f"{config}:4 (experiment base)"
    assert values["method.r"] == ("2", f"{config}:{_line(EXPLAIN, 'small:')} "
                                       "(axis variant=small)")
    assert values["train.batch_size"] == (
        "16", f"{config}:{_line(EXPLAIN, 'batch_size: 16')} (profile tiny overlay)")
    profile = (work / "configs" / "profiles" / "tiny.yaml").read_text()
    assert values["device"] == ("'cpu'", f"configs/profiles/tiny.yaml:"
                                         f"{_line(profile, 'device:')} (profile tiny)")
    assert values["seed"] == ("0", "seeds")  # set by the profile's default seeds
    assert values["train.momentum"] == ("0.9", "default (ftbench/config/schema.py)")
    assert values["data.split_seed"][1] == "default (ftbench/config/schema.py)"


def test_explain_shows_a_command_line_override(work, capsys):
    assert main(["explain", "explain/big--s0", "train.lr=0.5", "data.augment=[flip]"]) == 0
    values = _explained(capsys.readouterr().out)
    assert values["train.lr"] == ("0.5", "command-line override")
    assert values["data.augment"] == ("['flip']", "command-line override")
    assert values["method.r"][1].endswith("(axis variant=big)")
    assert values["train.epochs"][1].endswith("(experiment base)")


def test_explain_of_an_unknown_run_is_one_line(work, capsys):
    assert main(["explain", "explain/smal--s0"]) == 2
    err = capsys.readouterr().err
    assert err == ("ftbench: error: unknown run 'explain/smal--s0' (did you mean "
                   "'explain/small--s0'?); list them with: ftbench plan\n")
