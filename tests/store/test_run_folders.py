"""Where runs write (ftbench.store.layout): no two runs of any profile share a folder, an
identity within a table, or a one-off folder, so parallel runs never write the same file."""

from __future__ import annotations

from ftbench.config import load_all
from ftbench.store.layout import oneoff_dir, run_dir
from helpers import ROOT


def test_no_two_runs_share_a_folder():
    for profile in ("tiny", "quick", "paper"):
        runs = [r for e in load_all(ROOT / "configs", profile, check_models=False)
                for r in e.runs]
        folders = [run_dir("results", r) for r in runs]
        assert len(folders) == len(set(folders)), profile
        # nor an identity within a table (load_all refuses it), nor a one-off folder
        assert len({(r.table, r.identity) for r in runs}) == len(runs), profile
        assert len({oneoff_dir("results", r) for r in runs}) == len(runs), profile
