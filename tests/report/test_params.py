"""The params table: full-size counts from the paper configurations, each tensor once, and a
params.csv edited by hand refused."""

from __future__ import annotations

import shutil

import pytest

from ftbench import config
from ftbench.errors import UserError
from ftbench.report.params import check_params, count_all
from helpers import ROOT


@pytest.mark.slow
def test_seed_003_configuration_counts_1257317_trainable():
    exps = [e for e in config.load_all(ROOT / "configs", "paper") if e.name == "vit-lora-food101"]
    (row,) = count_all(exps)
    assert (row["trainable_params"], row["total_params"]) == (1_257_317, 87_055_973)
    assert (row["classes"], row["lora_r"], row["lora_alpha"]) == (101, 32, 16.0)


@pytest.mark.slow
def test_params_are_the_paper_models_in_every_profile():
    tiny = [e for e in config.load_all(ROOT / "configs", "tiny") if e.name == "vit-lora-food101"]
    assert tiny[0].runs[0].config.model.name == "vit_micro_patch8_32"  # tiny trains a micro model
    # ...but `ftbench params` always counts the paper profile's configurations:
    proc_rows = count_all([e for e in config.load_all(ROOT / "configs", "paper")
                           if e.name == "vit-lora-vs-cnn-head"])
    by_variant = {r["variant"]: r for r in proc_rows}
    assert by_variant["vit-lora"]["trainable_params"] == 12 * 2 * 16 * (768 + 768) + 768 * 10 + 10
    assert by_variant["resnet50-head"]["trainable_params"] == 2048 * 10 + 10


def test_seed_001_counts_the_cifar_stem():
    exps = [e for e in config.load_all(ROOT / "configs", "paper") if e.name == "resnet34-scratch"]
    (row,) = count_all(exps)  # every setting trains the same full network: counted once
    # ResNet-34 with 100 classes has 21,335,972 parameters; the 3x3 stem replaces a 7x7 conv1
    assert row["trainable_params"] == row["total_params"] == 21_335_972 - 64 * 3 * (49 - 9)


@pytest.mark.slow
def test_an_edited_params_table_is_refused(tmp_path):
    """The parameter claims read params.csv: a hand edit (7690 -> 76900 trainable) is refused
    in one line, since it is not what a recount of the paper profile gives."""
    paper = config.load_all(ROOT / "configs", "paper")
    path = tmp_path / "params.csv"
    shutil.copy(ROOT / "results" / "tiny" / "params.csv", path)
    check_params(paper, path)
    path.write_text(path.read_text().replace(",7690,", ",76900,", 1))
    with pytest.raises(UserError, match="differs from a recount of the paper profile"):
        check_params(paper, path)
