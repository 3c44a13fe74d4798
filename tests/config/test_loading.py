"""Configuration: layering, expansion into runs, and one-line errors with exit status 2."""

from __future__ import annotations

import re

import pytest
import yaml

from ftbench import config
from ftbench.cli.main import main
from ftbench.config.yamlio import key_lines, load_yaml
from ftbench.errors import UserError
from helpers import ROOT, run_cli


def _experiment(profile, name, overrides=None):
    (exp,) = [e for e in config.load_all(ROOT / "configs", profile, overrides) if e.name == name]
    return exp


def test_profiles_share_the_experiment_and_change_only_configuration():
    tiny = {r.run_id: r for r in _experiment("tiny", "vit-lora-vs-cnn-head").runs}
    paper = {r.run_id: r for r in _experiment("paper", "vit-lora-vs-cnn-head").runs}
    assert {k.rsplit("--", 1)[0] for k in tiny} == {k.rsplit("--", 1)[0] for k in paper}
    assert len(paper) == 27 and {r.config.seed for r in paper.values()} == {0, 1, 2}


def test_paper_profile_carries_seed_004_settings():
    exp = _experiment("paper", "vit-lora-vs-cnn-head")
    datasets = {r.config.data.name for r in exp.runs}
    assert datasets == {"mnist", "fashion-mnist", "cifar10"}
    for r in exp.runs:
        assert r.config.data.image_size == 224 and r.config.data.channels == 3
        assert r.config.model.pretrained == "timm"
        if r.axes["variant"] == "vit-lora":
            assert r.config.model.name.startswith("vit_base_patch16_224")
            assert (r.config.method.name, r.config.method.r) == ("lora", 16)
            assert r.config.method.targets == ["qkv.q", "qkv.v"]
        else:
            assert r.config.method.name == "head"


def test_pretrain_runs_only_in_tiny_and_fine_tuning_depends_on_them():
    by_profile = {p: {e.name: e for e in config.load_all(ROOT / "configs", p)}
                  for p in ("tiny", "quick", "paper")}
    assert by_profile["paper"]["pretrain"].runs == []
    tiny = by_profile["tiny"]
    deps = {d for e in tiny.values() for r in e.runs for d in r.depends_on}
    assert deps == {r.key for r in tiny["pretrain"].runs}  # every pretrained backbone is used
    for e in tiny.values():  # and every fine-tuning run of the tiny profile starts from one
        assert all(r.depends_on or r.config.model.pretrained == "none" for r in e.runs), e.name


def test_overrides_are_parsed_as_yaml_and_layered_last():
    o = config.parse_overrides(["train.label_smoothing=3e-2", "method.targets=[qkv.q, qkv.v]",
                                "data.train_limit=200"])
    assert o == {"train": {"label_smoothing": 0.03},
                 "method": {"targets": ["qkv.q", "qkv.v"]}, "data": {"train_limit": 200}}
    runs = _experiment("tiny", "vit-lora-vs-cnn-head", o).runs
    assert all(r.config.train.label_smoothing == 3e-2 and r.config.data.train_limit == 200
               for r in runs)
    assert {r.config.seed for r in runs} == {0, 1, 2, 3, 4}  # the seeds stay the table's


def test_an_override_that_makes_two_runs_of_a_table_equal_is_refused():
    """One learning rate for every run collapses resnet34-scratch's learning-rate study."""
    with pytest.raises(UserError, match="table resnet34-scratch: runs .* have the same "
                                        "configuration"):
        config.load_all(ROOT / "configs", "tiny", config.parse_overrides(["train.lr=3e-4"]),
                        check_models=False)


def test_a_seed_override_is_refused_since_every_seed_would_get_it():
    with pytest.raises(UserError, match="override 'seed' would give every seed"):
        config.parse_overrides(["seed=3"])


def test_an_override_cannot_set_a_value_and_a_key_inside_it():
    with pytest.raises(UserError, match="sets a key inside 'train'"):
        config.parse_overrides(["train=1", "train.lr=0.1"])


def test_config_hash_follows_content():
    a, b = config.RunConfig(), config.RunConfig()
    assert a.hash() == b.hash()
    b.train.lr = 0.5
    assert a.hash() != b.hash()


@pytest.mark.parametrize("data, message", [
    ({"train": {"eopchs": 3}}, "unknown key 'train.eopchs' (did you mean 'train.epochs'?)"),
    ({"train": {"epochs": "five"}}, "'train.epochs' must be int"),
    ({"method": {"name": "lora", "r": -4, "targets": ["qkv.q"]}}, "method.r must be at least 1"),
    ({"method": {"name": "lora", "r": 0, "targets": ["qkv.q"]}}, "method.r must be at least 1"),
    ({"model": {"name": "resnet5O"}}, "unknown model 'resnet5O'"),
    ({"data": {"name": "cifar11"}}, "unknown data.name 'cifar11' (did you mean 'cifar10'?)"),
    ({"train": {"optimizer": "adamm"}}, "unknown train.optimizer 'adamm' (did you mean 'adam"),
    ({"train": {"batch_size": 0}}, "train.batch_size must be at least 1"),
    ({"model": {"pretrained": "hub"}}, "model.pretrained 'hub' is not"),
    ({"device": "tpu"}, "device must be auto, cpu, cuda or cuda:N"),
    ({"data": {"mixup": 0.8}, "train": {"batch_size": 25}}, "need an even train.batch_size"),
])
def test_bad_values_name_the_problem(data, message):
    with pytest.raises(UserError) as err:
        config.validate(config.from_dict(config.RunConfig, data, "x.yaml"), "x.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def _edit(path, fn):
    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["base"]["train"].update(eopchs=3), "unknown key 'train.eopchs'"),
    (lambda d: d["axes"]["variant"]["values"]["vit-lora"]["model"].update(
        name="vit_bsae_patch16_224"),
     "unknown model 'vit_bsae_patch16_224'"),
    (lambda d: d["axes"]["variant"]["values"]["vit-lora"]["method"].update(r=-1),
     "method.r must be at least 1"),
])
@pytest.mark.parametrize("command", [["plan"], ["run", "vit-lora-vs-cnn-head/mnist--vit-lora--s0"]])
def test_cli_rejects_bad_config_with_one_line_and_writes_nothing(configs, tmp_path, capsys, edit,
                                                                   message, command):
    _edit(configs / "vit-lora-vs-cnn-head.yaml", edit)
    results = tmp_path / "results"
    code = main([*command, "--configs", str(configs), "--results", str(results),
                 "--profile", "paper"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert lines[0].startswith("ftbench: error:") and "Traceback" not in err
    assert not results.exists()


def test_malformed_yaml_and_unknown_profile(configs, capsys):
    (configs / "broken.yaml").write_text("base: {train: [1, 2\n")
    assert main(["plan", "--configs", str(configs)]) == 2
    assert "malformed YAML at line" in capsys.readouterr().err
    assert main(["plan", "--configs", str(ROOT / "configs"), "--profile", "papr"]) == 2
    assert "unknown profile 'papr' (did you mean 'paper'?)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_bad_config_is_one_line_in_a_real_subprocess(configs, tmp_path):
    """As a user runs it: the exit status and the single line, from a fresh process."""
    _edit(configs / "vit-lora-vs-cnn-head.yaml",
          lambda d: d["base"]["train"].update(eopchs=3))
    proc = run_cli("plan", "--configs", configs, "--results", tmp_path / "results")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "unknown key 'train.eopchs' (did you mean 'train.epochs'?)" in proc.stderr


def test_a_key_written_twice_is_an_error_not_the_last_one_winning(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("base:\n  train:\n    lr: 1.0e-3\n    lr: 1.0e-2\n")
    with pytest.raises(UserError) as err:
        load_yaml(path)
    assert str(err.value) == (f"{path}: malformed YAML at line 4, column 5: key 'lr' appears "
                              "twice (lines 3 and 4); keep one")


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes("title: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(UserError) as err:
        load_yaml(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte 10); save the file as UTF-8"


def test_key_lines_give_the_line_of_every_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("base:\n  train: {lr: 1.0, epochs: 2}\n  data:\n    name: digits\n")
    assert key_lines(path) == {("base",): 1, ("base", "train"): 2, ("base", "train", "lr"): 2,
                               ("base", "train", "epochs"): 2, ("base", "data"): 3,
                               ("base", "data", "name"): 4}


@pytest.mark.parametrize("data, message", [
    ({"model": {"name": "vit_micro_patch8_32"}, "data": {"image_size": 64}},
     "model vit_micro_patch8_32 takes 32 px inputs, but data.image_size is 64; "
     "set data.image_size=32"),
    ({"data": {"mixup": 0.8, "train_limit": 20}, "train": {"batch_size": 32}},
     "the 20 training images fill no batch of train.batch_size 32"),
    ({"method": {"name": "lora"}}, "method lora needs method.targets"),
    ({"train": {"lr": float("nan")}}, "'train.lr' must be a finite number, got nan"),
    ({"train": {"lr": "abc"}}, "'train.lr' must be float, got 'abc'"),
    ({"data": {"channels": True}}, "'data.channels' must be"),
    ({"model": {"pretrained": "run:pretrain"}}, "model.pretrained 'run:pretrain' is not"),
])
def test_rules_across_fields_are_checked_when_planning(data, message):
    with pytest.raises(UserError) as err:
        config.validate(config.from_dict(config.RunConfig, data, "x.yaml"), "x.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_valid_values_pass_and_numbers_written_as_yaml_strings_are_read():
    cfg = config.validate(config.from_dict(config.RunConfig, {
        "model": {"name": "vit_micro_patch8_32"}, "data": {"image_size": 32, "mixup": 0.8,
                                                           "train_limit": 64},
        "train": {"lr": "1e-3", "batch_size": 32}}, "x.yaml"), "x.yaml")
    assert cfg.train.lr == 1e-3 and isinstance(cfg.train.lr, float)


def test_stamp_holds_the_identity_and_every_value_so_a_new_default_reruns(tmp_path,
                                                                          monkeypatch):
    """Replaces the old stamp of non-default values only: a changed default changes the
    identity (and the stamp, whose time Make reads), so results of the old default go stale."""
    import json

    from ftbench.plan.state import stamp_text
    from helpers import DEMO, workdir

    work = workdir(tmp_path, {"demo": DEMO})
    (spec,) = [r for r in config.load_all(work / "configs", "tiny", check_models=False)[0].runs
               if r.config.seed == 0]
    stamp = json.loads(stamp_text(spec))
    assert stamp["identity"] == spec.identity
    assert stamp["config"] == spec.config.to_dict()
    assert stamp["config"]["train"]["label_smoothing"] == 0.0  # a default, recorded too
    assert config.leaves(spec.config).keys() >= {"train.label_smoothing", "probe.images"}

    import inspect

    init = config.TrainConfig.__init__
    names = [p.name for p in inspect.signature(init).parameters.values()
             if p.default is not inspect.Parameter.empty]
    defaults = list(init.__defaults__)
    defaults[names.index("label_smoothing")] = 0.1
    monkeypatch.setattr(init, "__defaults__", tuple(defaults))
    (new,) = [r for r in config.load_all(work / "configs", "tiny", check_models=False)[0].runs
              if r.config.seed == 0]
    assert new.config.train.label_smoothing == 0.1
    assert new.identity != spec.identity and stamp_text(new) != stamp_text(spec)


AXIS_DEMO = """\
title: Demo
description: one axis
base:
  model: {name: vit_micro_patch8_32}
  method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}
  data: {name: digits, image_size: 32, train_limit: 64}
  train: {epochs: 1, batch_size: 32}
axes:
  size:
    values:
      small: {data: {train_limit: 64}}
      large: {data: {train_limit: 128}}
report: {table: benchmark, caption: demo}
"""


def _load(tmp_path, tables, profile="tiny"):
    from helpers import workdir

    return config.load_all(workdir(tmp_path, tables) / "configs", profile, check_models=False)


@pytest.mark.parametrize("overlay, problem", [
    ("paper: {axes: {size: {values: {smal: {train: {epochs: 2}}}}}}",
     "profiles.paper.axes.size names 'smal', which is not a value of axis 'size' (did you mean "
     "'small'?)"),
    ("paper: {axes: {sise: {values: {small: {}}}}}",
     "profiles.paper.axes names 'sise', which is not an axis of this table (did you mean "
     "'size'?)"),
    ("paper: {configurations: {smal: {train: {lr: 0.1}}}}",
     "'configurations' names 'smal', which is not a configuration"),
])
def test_a_profile_overlay_cannot_add_an_axis_or_value_and_every_profile_is_checked(
        tmp_path, overlay, problem):
    """A typo in the paper overlay is an error even when tiny is planned: it would have dropped
    the change it meant and added a configuration."""
    with pytest.raises(UserError, match=re.escape(problem)):
        _load(tmp_path, {"demo": AXIS_DEMO + f"profiles:\n  {overlay}\n"})
    good = re.sub(r"\bsmal\b", "small", overlay).replace("sise", "size")
    assert len(_load(tmp_path, {"demo": AXIS_DEMO + f"profiles:\n  {good}\n"})[0].runs) == 2


@pytest.mark.parametrize("name", ["params", "clean", "all", "tune", "claims"])
def test_a_table_cannot_take_the_name_of_a_make_target_or_output(tmp_path, name):
    with pytest.raises(UserError, match=f"'{name}' is a Make target or an output"):
        _load(tmp_path, {name: AXIS_DEMO})


def test_every_makefile_target_is_a_reserved_table_name():
    from ftbench.config.experiments import RESERVED_TABLE_NAMES

    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", text, re.M))
    targets |= {t for line in re.findall(r"^\.PHONY:(.*)$", text, re.M) for t in line.split()}
    assert targets and targets <= RESERVED_TABLE_NAMES, targets - RESERVED_TABLE_NAMES


def test_an_empty_table_file_a_yml_file_and_names_differing_in_case_are_errors(tmp_path):
    with pytest.raises(UserError, match="the file is empty"):
        _load(tmp_path / "a", {"demo": ""})
    with pytest.raises(UserError, match=r"extra.yml: tables are read from \*.yaml files only"):
        work = tmp_path / "b"
        _load(work, {"demo": AXIS_DEMO})
        (work / "configs" / "extra.yml").write_text(AXIS_DEMO)
        config.load_all(work / "configs", "tiny", check_models=False)
    twins = AXIS_DEMO.replace("large:", "Small:")
    with pytest.raises(UserError, match="'demo/Small--s0' and 'demo/small--s0' differ only in "
                                        "case"):
        _load(tmp_path / "c", {"demo": twins})


@pytest.mark.parametrize("text, value", [
    ("1:30", "1:30"), ("010", 10), ("0x10", "0x10"), ("0o7", "0o7"), ("on", "on"), ("off", "off"),
    ("yes", "yes"), ("true", True), ("1e-3", 0.001), ("3.0e-4", 3.0e-4), ("1_000", 1000),
    (".inf", float("inf")), ("~", None)])
def test_plain_values_read_as_yaml_1_2_in_files_and_overrides(tmp_path, text, value):
    """YAML 1.1 would read 1:30 as 90, 010 as 8, 0x10 as 16 and on as True: silently not the
    value written. Files and overrides read one value the same way."""
    path = tmp_path / "c.yaml"
    path.write_text(f"a: {text}\n")
    assert load_yaml(path) == {"a": value}
    assert config.parse_overrides([f"a={text}"]) == {"a": value}


def test_a_sexagesimal_learning_rate_is_an_error_not_90(tmp_path):
    from helpers import workdir

    work = workdir(tmp_path, {"demo": AXIS_DEMO.replace("epochs: 1,", "epochs: 1:30,")})
    with pytest.raises(UserError, match="train.epochs"):
        config.load_all(work / "configs", "tiny", check_models=False)


def test_yaml_merge_keys_are_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("x: &x {lr: 1}\ntrain:\n  <<: *x\n  epochs: 2\n")
    with pytest.raises(UserError, match=r"merge keys \(<<\) are not read here; write the values "
                                        "out"):
        load_yaml(path)
