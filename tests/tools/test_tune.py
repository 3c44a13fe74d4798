"""The tuned settings are the ones the configs hold: for every table with a `tune:` block, the
tiny plan uses the value `ftbench tune` chose on validation accuracy (results/tuning/tiny.csv)
for each configuration it tuned; with `on_label`, every configuration of the table uses the
value chosen for the labelled ones (an ablation changes one thing at a time)."""

from __future__ import annotations

import csv
import functools
import math

import pytest

from ftbench.config import leaves, load_all
from ftbench.errors import UserError
from ftbench.report.tuning import COLUMNS, edges, read_scores
from ftbench.tools.tune import _tunable
from helpers import ROOT

PROFILE = "tiny"
CSV = ROOT / "results" / "tuning" / f"{PROFILE}.csv"


def _chosen() -> dict[str, dict[str, dict]]:
    """table -> run_id of each tuned configuration's first seed -> {key, value}."""
    with open(CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        if r["chosen"] == "True":
            runs = out.setdefault(r["table"], {})
            assert r["run_id"] not in runs, f"{CSV}: two values chosen for {r['run_id']}"
            runs[r["run_id"]] = {"key": r["key"], "value": float(r["value"])}
    return out


@functools.cache
def _experiments() -> tuple:
    """The tiny profile's tables, planned once for the module (a second each): tests read them."""
    return tuple(load_all(ROOT / "configs", PROFILE, check_models=False))


def _tuned_tables():
    return [e for e in _experiments() if e.runs and e.tune.key]


def test_some_tables_are_tuned():
    assert _tuned_tables(), "no table of the tiny profile has a tune: block"


@pytest.mark.parametrize("table", [e.name for e in _tuned_tables()])
def test_the_configs_hold_the_chosen_values(table):
    if not CSV.exists():
        pytest.skip(f"{CSV.relative_to(ROOT)} does not exist yet; `make tune` writes it")
    (e,) = [e for e in _tuned_tables() if e.name == table]
    chosen = _chosen().get(table)
    assert chosen, f"{table} has a tune: block but no chosen value in {CSV}; run make tune"
    first = min(r.config.seed for r in e.runs)
    by_id = {r.run_id: r for r in e.runs}
    for run_id, pick in chosen.items():
        assert run_id in by_id, f"{CSV}: {table}/{run_id} is not a planned run any more"
        assert pick["key"] == e.tune.key, (table, pick["key"], e.tune.key)
        assert by_id[run_id].config.seed == first, "tuned on the first seed only"
    tuned = {run_id: by_id[run_id].axes for run_id in chosen}
    if e.tune.on_label:
        assert all(e.tune.on_label in axes.values() for axes in tuned.values()), \
            f"{table}: tuned configurations without the label {e.tune.on_label}"
        values = {pick["value"] for pick in chosen.values()}
        assert len(values) == 1, f"{table}: several values chosen for {e.tune.on_label}"
        (value,) = values
        want = {r.key: value for r in e.runs}  # every configuration of the table
    else:
        # every configuration tuned: the seeds of a configuration share its axes
        missing = {tuple(r.axes.items()) for r in e.runs} - {tuple(a.items())
                                                             for a in tuned.values()}
        assert not missing, f"{table}: configurations never tuned: {sorted(missing)}"
        value_of = {tuple(tuned[run_id].items()): pick["value"]
                    for run_id, pick in chosen.items()}
        want = {r.key: value_of[tuple(r.axes.items())] for r in e.runs}
    for r in e.runs:
        held = leaves(r.config)[e.tune.key]
        assert math.isclose(held, want[r.key], rel_tol=1e-9), (
            f"{r.key}: {e.tune.key} is {held:g}, but make tune chose {want[r.key]:g}; "
            f"put the chosen value in configs/{table}.yaml")


def test_tune_all_skips_the_tables_without_a_tune_block_but_a_named_one_is_refused():
    tables = [e for e in _experiments() if e.runs]
    untuned = [e for e in tables if not e.tune.key]
    assert untuned, "every table is tuned: this test needs one that is not"
    assert _tunable(tables, PROFILE, named=False) == _tuned_tables()
    with pytest.raises(UserError, match=f"table {untuned[0].name} has no tune: block"):
        _tunable(untuned[:1], PROFILE, named=True)
    with pytest.raises(UserError, match="no table of the tiny profile has a tune: block"):
        _tunable(untuned, PROFILE, named=False)


def test_a_tuning_csv_with_only_its_header_holds_no_rows(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(",".join(COLUMNS) + "\n")
    assert read_scores(path) == []
    assert read_scores(tmp_path / "absent.csv") == []


@pytest.mark.parametrize("table", [e.name for e in _tuned_tables()])
def test_the_scores_are_for_the_candidates_the_config_lists(table):
    """A tune: block edited after `make tune` (values added or dropped) needs new scores: each
    tuned configuration was scored on exactly the listed candidates."""
    if not CSV.exists():
        pytest.skip(f"{CSV.relative_to(ROOT)} does not exist yet; `make tune` writes it")
    (e,) = [e for e in _tuned_tables() if e.name == table]
    with open(CSV, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["table"] == table]
    scored: dict[str, set[float]] = {}
    for r in rows:
        scored.setdefault(r["run_id"], set()).add(float(r["value"]))
    listed = {float(v) for v in e.tune.values}
    for run_id, values in scored.items():
        if e.tune.target:  # the smallest values up to the first that reaches the target
            assert values == set(sorted(listed)[:len(values)]), (table, run_id, values)
            continue
        assert values == listed, (f"{table}/{run_id} was scored on {sorted(values)}, the config "
                                  f"lists {sorted(listed)}; run make tune")


def test_every_chosen_value_lies_inside_what_was_tried():
    """A best value at the top or the bottom of its grid (or a target that the smallest value
    already reaches) says the grid was too narrow: widen it and tune again."""
    if not CSV.exists():
        pytest.skip(f"{CSV.relative_to(ROOT)} does not exist yet; `make tune` writes it")
    assert edges(read_scores(CSV), _tuned_tables()) == []


def test_the_edge_check_can_fail():
    rows = [{"table": "t", "run_id": "a--s0", "value": v, "best_val_accuracy": acc,
             "chosen": str(chosen)} for v, acc, chosen in
            (("0.001", "0.5", False), ("0.01", "0.7", False), ("0.1", "0.9", True))]
    class E:  # noqa: D101 - the one attribute edges reads
        name = "t"
        tune = type("T", (), {"target": 0.0, "key": "train.lr"})()
    assert edges(rows, [E]) == ["t/a--s0"]  # the best is the largest tried
    E.tune.target = 0.85  # a target first reached by the largest tried: inside
    assert edges(rows, [E]) == []
    rows[0]["chosen"], rows[2]["chosen"] = "True", "False"  # reached by the smallest: an edge
    assert edges(rows, [E]) == ["t/a--s0"]
    E.tune.key = "train.epochs"  # ... unless nothing lies below it: one epoch
    for r, v in zip(rows, ("1", "2", "3"), strict=True):
        r["value"] = v
    assert edges(rows, [E]) == []


def test_a_target_takes_the_smallest_value_that_reaches_it_and_stops_there(monkeypatch):
    """Pretraining epochs: tried in ascending order, the first that reaches the target wins,
    and nothing above it is trained."""
    from ftbench.tools import tune as tuning

    (e,) = [e for e in _tuned_tables() if e.name == "pretrain"]
    spec = e.runs[0]
    scores = {1.0: 0.62, 2.0: 0.80, 3.0: 0.89, 4.0: 0.93, 6.0: 0.951, 8.0: 0.97}
    tried = []

    def fake_score(candidate, results, root):
        value = float(candidate.run_id.rsplit("=", 1)[1])
        tried.append(value)
        return scores[value]

    monkeypatch.setattr(tuning, "_score", fake_score)
    got, chosen = tuning._choose(e, spec, ROOT / "results" / "tiny", ROOT)
    assert chosen == 6.0 and tried == [1.0, 2.0, 3.0, 4.0, 6.0] and list(got) == tried
    scores.update({v: 0.5 for v in scores})
    monkeypatch.setattr(e.tune, "values", list(scores))
    with pytest.raises(UserError, match="reaches validation accuracy 0.95"):
        tuning._choose(e, spec, ROOT / "results" / "tiny", ROOT)


def test_the_papers_tuning_sentence_counts_the_choices_of_the_best_score_only():
    """'N configurations, each choosing among ... values, every chosen value strictly inside its
    grid' is about learning rates chosen by their best score; the pretraining length, chosen by
    a target (its last rung by construction), is stated apart and must not be counted."""
    from ftbench.report.render import _tuning_macros

    experiments = list(_experiments())
    targets = {e.name for e in experiments if e.tune.key and e.tune.target}
    rows = read_scores(CSV)
    assert targets and any(r["table"] in targets for r in rows)
    best_of = [r for r in rows if r["chosen"] == "True" and r["table"] not in targets]
    sentence = str(_tuning_macros(CSV, experiments)["tuning/summary"])
    assert sentence.startswith(f"{len(best_of)} configurations, each choosing among ")
    assert sentence.endswith("every chosen value strictly inside its grid")
