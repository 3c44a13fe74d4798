"""Checkpoints (ftbench.train.checkpoint, ftbench.train.run), in this process: a checkpoint is
keyed by its run's identity, an unchanged backbone resumes, and a checkpoint from before its
backbone was rebuilt starts over. (Killed subprocesses that resume:
tests/e2e/test_kill_and_resume.py.)"""

from __future__ import annotations

import pytest


def _two_epoch_head_run(spec_class, upstream: dict):
    """A short classifier-only run (augmented, so its features are not cached)."""
    from ftbench.config import RunConfig, from_dict, validate
    from ftbench.config.identity import run_identity

    cfg = validate(from_dict(RunConfig, {
        "model": {"name": "vit_micro_patch8_32"}, "method": {"name": "head"},
        "data": {"name": "digits", "train_limit": 64, "augment": ["flip"]},
        "train": {"epochs": 2, "batch_size": 32}, "device": "cpu", "threads": 1}, "t"), "t")
    spec = spec_class("t", "r", {}, cfg)
    spec.identity = run_identity(cfg, upstream)
    return spec


def _stop_after_first_epoch(spec, results, monkeypatch) -> None:
    """Train until the first epoch's checkpoint is written, then stop as a kill would."""
    from ftbench import faults
    from ftbench.train.run import train

    def die_after_first_epoch(name):
        if name == "epoch-end":
            raise SystemExit("killed")

    with monkeypatch.context() as m:
        m.setattr(faults, "point", die_after_first_epoch)
        with pytest.raises(SystemExit):
            train(spec, results, log=lambda *_: None)

def test_a_checkpoint_from_before_its_backbone_was_rebuilt_starts_over(tmp_path, monkeypatch,
                                                                       restore_threads):
    """The checkpoint records the sha256 of the backbone a run starts from; a rebuilt one
    invalidates it."""
    from ftbench.config import RunSpec
    from ftbench.store.hashing import file_sha256
    from ftbench.train.run import train

    class Spec(RunSpec):  # as if started from a pipeline backbone, without loading one
        @property
        def depends_on(self):
            return ["dep/x"]

    backbone = tmp_path / "runs" / "dep" / "x" / "backbone.safetensors"
    backbone.parent.mkdir(parents=True)
    backbone.write_bytes(b"the first build's weights")
    file_sha256.cache_clear()
    spec = _two_epoch_head_run(Spec, {"dep/x": "0" * 16})
    _stop_after_first_epoch(spec, tmp_path, monkeypatch)
    assert (tmp_path / "runs" / "t" / "r" / "checkpoint.pt").exists()
    backbone.write_bytes(b"the rebuilt weights")
    file_sha256.cache_clear()  # what a new process, the one that resumes, sees
    said = []
    try:
        summary = train(spec, tmp_path, log=said.append)
    finally:
        file_sha256.cache_clear()
    assert any("starting over" in s for s in said) and summary.resumed_after == []
    assert summary.inputs == {"dep/x": file_sha256(backbone)}


def test_an_unchanged_backbone_resumes(tmp_path, monkeypatch, restore_threads):
    from ftbench.config import RunSpec
    from ftbench.train.run import train

    spec = _two_epoch_head_run(RunSpec, {})
    _stop_after_first_epoch(spec, tmp_path, monkeypatch)
    said = []
    summary = train(spec, tmp_path, log=said.append)
    assert any("resuming from" in s for s in said) and summary.resumed_after == [1]


def test_a_checkpoint_is_keyed_by_the_runs_identity(tmp_path):
    from ftbench.errors import UserError
    from ftbench.train import checkpoint

    path = tmp_path / "checkpoint.pt"
    assert checkpoint.load(path, "a" * 16) is None
    complete = dict.fromkeys(getattr(checkpoint, "KEYS", ()), 0)
    checkpoint.save(path, complete | {"identity": "a" * 16, "epoch": 1})
    assert checkpoint.load(path, "a" * 16)["epoch"] == 1
    with pytest.raises(UserError) as err:
        checkpoint.load(path, "b" * 16)
    assert str(err.value) == (f"checkpoint {path} was saved by a different configuration "
                              f"(identity {'a' * 16}, this run's is {'b' * 16}); delete it to "
                              "start this run over")
