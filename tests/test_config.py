"""Configuration: layering, expansion into runs, and one-line errors with exit status 2."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT, run_cli
from ftbench import config
from ftbench.errors import UserError


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
    o = config.parse_overrides(["train.lr=3e-4", "method.targets=[qkv.q, qkv.v]", "seed=3"])
    assert o == {"train": {"lr": "3e-4"}, "method": {"targets": ["qkv.q", "qkv.v"]}, "seed": 3}
    runs = _experiment("tiny", "vit-lora-vs-cnn-head", o).runs
    assert all(r.config.train.lr == 3e-4 and r.config.seed == 3 for r in runs)


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
def test_cli_rejects_bad_config_with_one_line_and_writes_nothing(configs, tmp_path, edit, message,
                                                                   command):
    _edit(configs / "vit-lora-vs-cnn-head.yaml", edit)
    results = tmp_path / "results"
    proc = run_cli(*command, "--configs", configs, "--results", results,
                   "--profile", "paper")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert lines[0].startswith("ftbench: error:") and "Traceback" not in proc.stderr
    assert not results.exists()


def test_malformed_yaml_and_unknown_profile(configs, tmp_path):
    (configs / "broken.yaml").write_text("base: {train: [1, 2\n")
    proc = run_cli("plan", "--configs", configs)
    assert proc.returncode == 2 and "malformed YAML at line" in proc.stderr
    proc = run_cli("plan", "--configs", ROOT / "configs", "--profile", "papr")
    assert proc.returncode == 2 and "unknown profile 'papr' (did you mean 'paper'?)" in proc.stderr


def test_stamp_holds_only_non_default_values_so_new_fields_do_not_rerun():
    cfg = config.from_dict(config.RunConfig, {"train": {"lr": 0.5}, "seed": 3}, "x")
    assert cfg.essential() == {"train": {"lr": 0.5}, "seed": 3}
    assert config.RunConfig().essential() == {}
