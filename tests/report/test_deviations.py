"""The paper's table of every setting in which the miniature differs from the paper profile is
read from the resolved configs of both: a config edit that changes a setting changes it."""

from __future__ import annotations

from ftbench.config import load_all
from ftbench.report.deviations import deviations
from helpers import ROOT


def _table(rows, name):
    (t,) = [t for t in rows if t["table"] == name]
    return {r["key"]: (r["paper"], r["profile"]) for r in t["rows"]}


def test_every_table_lists_its_stand_ins_and_changed_settings():
    paper = load_all(ROOT / "configs", "paper", check_models=False)
    tiny = load_all(ROOT / "configs", "tiny", check_models=False)
    rows = deviations(paper, tiny)
    assert {t["table"] for t in rows} == {e.name for e in tiny if e.runs} - {"pretrain"}
    seed000 = _table(rows, "resnet34-lora")
    assert seed000["data.name"] == ("cifar100 / food101", "synth-objects-20 / synth-food")
    assert seed000["train.epochs"] == ("10 / 20", "5 / 10")
    assert seed000["data.image_size"] == ("224", "32")
    assert "seed" not in seed000 and "model.label" not in seed000
    assert list(seed000)[:3] == ["data.name", "model.name", "model.pretrained"]  # stand-ins first


def test_a_profile_equal_to_the_paper_has_no_deviation():
    paper = load_all(ROOT / "configs", "paper", check_models=False)
    assert all(not t["rows"] for t in deviations(paper, paper))
