"""What a result depends on (ftbench.config.identity): every field of the resolved config, defaults
included, the data's version and the runs it starts from. Two runs of one table with one
identity are refused, and so is a `seed=` override that would give every seed the same one."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import pytest

from ftbench.cli.main import main
from ftbench.config import (
    RunConfig,
    TrainConfig,
    find_run,
    identity,
    leaves,
    load_all,
    parse_overrides,
    with_overrides,
)
from ftbench.errors import UserError
from ftbench.plan.state import state
from helpers import BACKBONE, DEMO, fake_summary, workdir

ABOVE = DEMO.replace("label: ViT-micro}", 'label: ViT-micro, pretrained: "run:backbone/s0"}')


def _changed(value):
    """A different value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, dict):
        return {**value, "x": 1}
    return "x" if value is None else None


def _set(cfg, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    node = cfg
    for part in parents:
        node = getattr(node, part)
    setattr(node, leaf, value)


def test_every_field_counts_in_the_config_hash():
    base = RunConfig()
    keys = leaves(base)
    assert len(keys) > 50 and "train.save_weights" in keys and "report" not in keys
    hashes = {base.hash()}
    for key, value in keys.items():
        cfg = copy.deepcopy(base)
        _set(cfg, key, _changed(value))
        h = identity.config_hash(cfg)
        assert h not in hashes, f"changing {key} leaves the identity as it was"
        hashes.add(h)
    assert base.hash() == RunConfig().hash() == identity.config_hash(RunConfig())


def _set_default(monkeypatch, cls, name: str, value) -> None:
    """Change a schema default as an edit of schema.py would: the dataclass's __init__."""
    init = cls.__init__
    names = [p.name for p in inspect.signature(init).parameters.values()
             if p.default is not inspect.Parameter.empty]
    defaults = list(init.__defaults__)
    defaults[names.index(name)] = value
    monkeypatch.setattr(init, "__defaults__", tuple(defaults))
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    monkeypatch.setattr(field, "default", value)


def test_a_changed_default_changes_the_identity_of_every_run_using_it(tmp_path, monkeypatch):
    """The old stamp kept only non-default values, so a new default left old results
    current. Now the identity is every value: a default that changes makes them stale."""
    work = workdir(tmp_path, {"demo": DEMO})
    results = work / "results" / "tiny"
    before = load_all(work / "configs", "tiny", check_models=False)[0].runs
    assert "momentum" not in DEMO  # a default, set nowhere in the config
    fake_summary(before[0], results)
    assert state(before[0], results).state == "done"
    old_hash = RunConfig().hash()

    _set_default(monkeypatch, TrainConfig, "momentum", 0.8)
    assert TrainConfig().momentum == 0.8 and RunConfig().hash() != old_hash
    after = load_all(work / "configs", "tiny", check_models=False)[0].runs
    assert all(a.identity != b.identity for a, b in zip(before, after, strict=True))
    assert after[0].config.train.momentum == 0.8
    now = state(after[0], results)
    assert now.state == "stale" and "identity" in now.reason


def test_the_datasets_version_is_part_of_the_identity(monkeypatch):
    from ftbench.data import registry

    cfg = RunConfig()
    before = identity.config_hash(cfg)
    spec = registry.DATASETS[cfg.data.name]
    monkeypatch.setitem(registry.DATASETS, cfg.data.name,
                        dataclasses.replace(spec, version=spec.version + "-redrawn"))
    assert identity.config_hash(cfg) != before


def test_a_changed_backbone_changes_the_identity_of_the_runs_above_it(tmp_path):
    work = workdir(tmp_path, {"backbone": BACKBONE, "demo": ABOVE})

    def plan():
        exps = {e.name: e for e in load_all(work / "configs", "tiny", check_models=False)}
        return exps["backbone"].runs[0], exps["demo"].runs

    backbone, runs = plan()
    assert all(r.depends_on == ["backbone/s0"] for r in runs)
    assert backbone.identity == backbone.config.hash()  # nothing below it
    for r in runs:  # the config hash and the backbone's identity, together
        assert r.identity == identity.run_identity(r.config, {"backbone/s0": backbone.identity})
        assert r.identity != r.config.hash()

    path = work / "configs" / "backbone.yaml"
    text = path.read_text()
    assert "epochs: 1," in text  # the edit below must change something
    path.write_text(text.replace("epochs: 1,", "epochs: 2,"))
    new_backbone, new_runs = plan()
    assert new_backbone.identity != backbone.identity
    for old, new in zip(runs, new_runs, strict=True):
        assert new.config.hash() == old.config.hash()  # their own configs did not change
        assert new.identity != old.identity  # but what they start from did


def test_two_runs_of_one_table_with_one_identity_are_refused(tmp_path):
    twins = DEMO.replace("report:", "axes:\n  variant:\n    values:\n"
                         "      one: {train: {lr: 1.0e-3}}\n      two: {}\nreport:")
    work = workdir(tmp_path, {"demo": twins})
    with pytest.raises(UserError, match="runs one--s0 and two--s0 have the same "
                                        "configuration") as err:
        load_all(work / "configs", "tiny", check_models=False)
    assert "\n" not in str(err.value)


def test_the_same_configuration_in_two_tables_is_allowed(tmp_path):
    work = workdir(tmp_path, {"demo": DEMO, "again": DEMO})
    exps = load_all(work / "configs", "tiny", check_models=False)
    assert exps[0].runs[0].identity == exps[1].runs[0].identity


def test_a_run_that_starts_from_itself_is_refused(tmp_path):
    loop = DEMO.replace("label: ViT-micro}", 'label: ViT-micro, pretrained: "run:demo/s1"}')
    work = workdir(tmp_path, {"demo": loop})
    with pytest.raises(UserError, match="starts from itself"):
        load_all(work / "configs", "tiny", check_models=False)


def test_a_seed_override_is_refused():
    with pytest.raises(UserError, match="override 'seed' would give every seed of a table "
                                        "the same seed"):
        parse_overrides(["train.lr=1e-3", "seed=3"])
    assert parse_overrides(["data.split_seed=3"]) == {"data": {"split_seed": 3}}


@pytest.mark.parametrize("argv", [["run", "demo/s0", "seed=3"], ["plan", "seed=1"]])
def test_the_cli_refuses_a_seed_override_in_one_line(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(workdir(tmp_path, {"demo": DEMO}))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "override 'seed'" in err
    assert not (tmp_path / "results").exists()


def test_a_one_off_has_its_own_identity(tmp_path):
    work = workdir(tmp_path, {"demo": DEMO})
    planned = find_run(load_all(work / "configs", "tiny", check_models=False), "demo/s0")
    a = with_overrides(planned, parse_overrides(["train.lr=0.02"]))
    b = with_overrides(planned, parse_overrides(["train.lr=0.02"]))
    c = with_overrides(planned, parse_overrides(["train.lr=0.03"]))
    assert a.identity == b.identity and len({planned.identity, a.identity, c.identity}) == 3
    assert (a.key, a.config.train.lr, a.config.seed) == ("demo/s0", 0.02, 0)
    assert a.layers[-1].name == "command-line override"


def test_shape_and_params_keys_ignore_what_does_not_change_shapes(tmp_path):
    work = workdir(tmp_path, {"demo": DEMO})
    s0, s1, _ = load_all(work / "configs", "tiny", check_models=False)[0].runs
    assert identity.shape_key(s0.config) == identity.shape_key(s1.config)  # seeds
    assert identity.params_key("demo", s0.config) == identity.params_key("demo", s1.config)
    lr = with_overrides(s0, parse_overrides(["train.lr=0.5", "train.epochs=3"]))
    assert identity.shape_key(lr.config) == identity.shape_key(s0.config)
    rank = with_overrides(s0, parse_overrides(["method.r=8"]))
    assert identity.shape_key(rank.config) != identity.shape_key(s0.config)
    assert identity.params_key("demo", rank.config) != identity.params_key("demo", s0.config)
    assert identity.params_key("other", s0.config) != identity.params_key("demo", s0.config)


def test_seed_s_starts_from_pretraining_seed_s(tmp_path):
    """`run:backbone/s{seed}`: each seed its own pretraining draw, so the draw is inside the
    spread over seeds; a seed with no pretraining run of its number is refused in one line."""
    backbone = BACKBONE.replace("title: Backbone", "title: Backbone\nseeds: [0, 1, 2]")
    per_seed = DEMO.replace("label: ViT-micro}",
                            'label: ViT-micro, pretrained: "run:backbone/s{seed}"}')
    work = workdir(tmp_path, {"backbone": backbone, "demo": per_seed})
    exps = {e.name: e for e in load_all(work / "configs", "tiny", check_models=False)}
    ids = {r.key: r.identity for r in exps["backbone"].runs}
    for r in exps["demo"].runs:
        upstream = f"backbone/s{r.config.seed}"
        assert r.depends_on == [upstream]
        assert r.config.model.pretrained == f"run:{upstream}"
        assert r.identity == identity.run_identity(r.config, {upstream: ids[upstream]})
    (work / "configs" / "demo.yaml").write_text(per_seed.replace("[0, 1, 2]", "[0, 3]"))
    with pytest.raises(UserError, match=r"names run 'backbone/s3', which the 'tiny' profile "
                                        "does not plan"):
        load_all(work / "configs", "tiny", check_models=False)
    (work / "configs" / "demo.yaml").write_text(per_seed.replace("run:backbone", "file:w"))
    with pytest.raises(UserError, match=r"only a run: reference may hold"):
        load_all(work / "configs", "tiny", check_models=False)
