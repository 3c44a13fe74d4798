"""The bad-input catalogue as data: `CASES`, each an input a user may give (a config file, an
override, a command line, a damaged results file, a full disk), the command that meets it, and
the one line it must print; with the setups that make each input. test_bad_input.py runs them.

CASES is also the table "Bad input" of docs/robustness.md: `test_the_page_lists_every_case`
keeps the two equal, so the documentation cannot drift from what the tool prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import fakes
from ftbench.cli.main import main
from ftbench.plan import treelock
from ftbench.store import atomic, runlock
from ftbench.train import checkpoint
from helpers import ONE_RUN, epoch_log, metrics_of

DEMO = ONE_RUN
# Two configurations of one table, for the cases that compare runs
PAIR = DEMO.replace("title: Demo", "title: Pair").replace(
    "report:", "axes:\n  rank:\n    values:\n      r4: {method: {r: 4}}\n"
               "      r8: {method: {r: 8}}\nreport:")
RUN = ["run", "demo/s0"]
RUN_DIR = Path("results/tiny/runs/demo/s0")
# what every finished fake run predicted: right on half of 20 test images
Y_TRUE = np.arange(20) % 10
Y_PRED = np.where(Y_TRUE < 5, Y_TRUE, 0)
PROBS = np.eye(10, dtype=np.float32)[Y_PRED] * 0.9 + 0.01
TRUE_F1 = metrics_of(Y_TRUE, PROBS, 10)["macro_f1"]
TRUE_AUC = metrics_of(Y_TRUE, PROBS, 10)["macro_auc"]
# image 0 (right) made wrong, image 5 (wrong) made right: the same accuracy, other images
SWAPPED = np.where(np.arange(20) == 0, 1, np.where(np.arange(20) == 5, 5, Y_PRED))
FILE = "configs/demo.yaml"  # where a config file's errors point
AT = f"{FILE} [s0]"  # where the errors of the run's planned values point
ONEOFF = "demo/s0 with overrides"  # where the errors of `ftbench run KEY key=value` point
FOREIGN = "0123456789abcdef"  # an identity no run of the demo has


@dataclass
class Ctx:
    """What a case's setup may use: its folder, pytest's monkeypatch, and a stack of contexts
    held while the command runs (a lock another process would hold)."""

    work: Path
    monkeypatch: pytest.MonkeyPatch
    stack: contextlib.ExitStack


@dataclass
class Case:
    input: str  # as docs/robustness.md shows it
    argv: list[str]
    message: str  # the line after "ftbench: error: ", exactly (<identity>: the demo run's)
    setup: Callable[[Ctx], None] | None = None
    env: dict = field(default_factory=dict)
    # files the failing command may leave: a run stopped by a full disk keeps the log of the
    # epoch it finished (the next attempt rewrites it), as it keeps any earlier checkpoint
    keeps: tuple[str, ...] = ()


def _override(args: str, message: str, at: str = ONEOFF) -> Case:
    """`ftbench run demo/s0 <args>`, shown in docs/robustness.md as the overrides themselves."""
    return Case(f"`{args}`", [*RUN, *shlex.split(args)], f"{at}: {message}" if at else message)


def _planned(args: str, message: str) -> Case:
    """`ftbench plan <args>`: overrides of the whole plan."""
    return Case(f"`ftbench plan {args}`", ["plan", *shlex.split(args)], f"{AT}: {message}")


def _write(rel: str, content: str | bytes):
    def setup(ctx: Ctx):
        path = ctx.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return setup


def _config(input: str, yaml_text: str, message: str, at: str = FILE,
            argv: tuple = ("plan",)) -> Case:
    """The demo's config file with `yaml_text` in it (`+...` appended to it, else replacing
    it), checked by `ftbench plan`."""
    text = DEMO + yaml_text[1:] if yaml_text.startswith("+") else yaml_text
    return Case(input, list(argv), f"{at}: {message}" if at else message,
                _write("configs/demo.yaml", text))


def _demo_with(old: str, new: str) -> str:
    assert old in DEMO, old
    return DEMO.replace(old, new)


def _axis(values: str) -> str:
    """The demo with one axis `v` whose values are `values` (YAML flow mapping or list)."""
    return "+axes:\n  v: " + values + "\n"


# ---------------------------------------------------------------------------------------------
# finished runs, made by hand: what `ftbench run` writes, without training


def _summary_of(spec) -> dict:
    from ftbench.store.summary import Summary

    c = spec.config
    return dataclasses.asdict(Summary(
        table=spec.table, run_id=spec.run_id, axes=spec.axes, status="ok",
        identity=spec.identity, config_hash=c.hash(), config=c.to_dict(), inputs={},
        dataset={"name": c.data.name, "display": "Digits", "classes": 10, "train": 64,
                 "val": 135, "test": 20},
        model={"name": c.model.name, "label": c.model.label, "method": c.method.name},
        params={"trainable": 4746, "total": 152266},
        test=metrics_of(Y_TRUE, PROBS, 10),
        best_epoch=c.train.epochs, best_val_accuracy=0.5, resumed_after=[],
        cached_features=False,
        time={"train_s": 1.0, "per_epoch_s": 1.0, "feature_cache_s": 0.0, "wall_s": 1.5},
        memory={"peak_mib": 50.0, "kind": "cpu_peak_rss"},
        env={"device_name": "cpu", "torch": "2", "timm": "1", "peft": "0", "python": "3.11",
             "torchvision": "0", "git_commit": "0" * 40, "git_dirty": False, "threads": 1,
             "cuda": None},
        world_size=1, started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        weights={"files": {"head.safetensors": 16}, "save_weights": "trainable"}))


def _finish(ctx: Ctx, *tables: str) -> None:
    """Every planned run of the demo (and of `tables`) finished, and each table aggregated."""
    from ftbench.config import load_all
    from ftbench.store.layout import run_dir

    for name in tables:
        (ctx.work / "configs" / f"{name}.yaml").write_text({"pair": PAIR}[name])
    for e in load_all(Path("configs"), "tiny"):
        for spec in e.runs:
            folder = ctx.work / run_dir(Path("results/tiny"), spec)
            (folder / "weights").mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps(_summary_of(spec), indent=2))
            (folder / "epochs.jsonl").write_text(epoch_log(spec.config.train.epochs, 0.5,
                                                           0.001))
            np.savez(folder / "predictions.npz", y_true=Y_TRUE.astype(np.int16),
                     y_pred=Y_PRED.astype(np.int16), probs=PROBS)
            (folder / "weights" / "head.safetensors").write_bytes(b"\0" * 16)
        assert main(["aggregate", e.name]) == 0


def _linked_run_folder(ctx: Ctx) -> None:
    """The run's folder a link to another run's (`ln -s`): writing there would overwrite it."""
    other = ctx.work / RUN_DIR.parent / "elsewhere"
    other.mkdir(parents=True)
    (other / "summary.json").write_text("{}\n")
    (ctx.work / RUN_DIR).symlink_to("elsewhere")  # a sibling run's folder


def _with_predictions(ctx: Ctx, y_pred: np.ndarray) -> None:
    """The finished run's predictions.npz with other predictions (its probabilities kept)."""
    path = ctx.work / RUN_DIR / "predictions.npz"
    with np.load(path) as z:
        arrays = dict(z)
    np.savez(path, **(arrays | {"y_pred": y_pred.astype(np.int16)}))


def _with_probs(ctx: Ctx, probs: np.ndarray) -> None:
    """The finished run's predictions.npz with other class probabilities."""
    path = ctx.work / RUN_DIR / "predictions.npz"
    with np.load(path) as z:
        arrays = dict(z)
    np.savez(path, **(arrays | {"probs": probs}))


def _finished(*tables: str, then=None):
    """A setup: finished runs (see `_finish`), then `then(ctx)` breaking something."""
    def setup(ctx: Ctx):
        _finish(ctx, *tables)
        if then:
            then(ctx)
    return setup


def _replace(rel: str, content: str | bytes | Callable[[bytes], bytes]):
    """`then`: the file `rel` replaced (by bytes, text, or a function of its bytes)."""
    def then(ctx: Ctx):
        path = ctx.work / rel
        if callable(content):
            path.write_bytes(content(path.read_bytes()))
        else:
            _write(rel, content)(ctx)
    return then


def _summary_edit(edit: Callable[[dict], None]):
    def then(ctx: Ctx):
        path = ctx.work / RUN_DIR / "summary.json"
        data = json.loads(path.read_text())
        edit(data)
        path.write_text(json.dumps(data))
    return then


def _csv_edit(edit: Callable[[str], str], table: str = "demo"):
    return _replace(f"results/tiny/{table}.csv", lambda b: edit(b.decode()).encode())


def _set_column(text: str, column: str, value: str) -> str:
    """The CSV `text` with `column` of its first row set to `value`."""
    header, row, *rest = text.split("\n")
    fields = row.split(",")
    fields[header.split(",").index(column)] = value
    return "\n".join([header, ",".join(fields), *rest])


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# ---------------------------------------------------------------------------------------------
# other setups


def _checkpoint(identity: str | None, truncate: bool = False, keys: dict | None = None):
    def setup(ctx: Ctx):
        from ftbench.config import find_run, load_all

        planned = find_run(load_all(Path("configs"), "tiny"), "demo/s0").identity
        path = ctx.work / RUN_DIR / "checkpoint.pt"
        checkpoint.save(path, {"identity": identity or planned, "epoch": 1, **(keys or {})})
        if truncate:
            path.write_bytes(_half(path.read_bytes()))
    return setup


def _data(fake: str, then=None):
    """A fake of a real dataset in its native format under data/ (tests/fakes.py)."""
    def setup(ctx: Ctx):
        root = ctx.work / "data"
        if fake == "cifar10":
            fakes.fake_cifar(root, monkeypatch=ctx.monkeypatch)
        else:
            getattr(fakes, f"fake_{fake}")(root)
        if then:
            then(root)
    return setup


def _truncate(rel: str):
    def then(root: Path):
        path = root / rel
        path.write_bytes(path.read_bytes()[:40])
    return then


def _food_lacks_class(root: Path) -> None:
    meta = root / "food-101" / "meta" / "test.json"
    listing = json.loads(meta.read_text())
    del listing["ramen"]
    meta.write_text(json.dumps(listing))


def _empty_class_folder(root: Path) -> None:
    for p in (root / "tiny-imagenet-200" / "train" / "n01629819" / "images").iterdir():
        p.unlink()


def _unknown_wnid(root: Path) -> None:
    path = root / "tiny-imagenet-200" / "val" / "val_annotations.txt"
    path.write_text(path.read_text().replace("n01641577", "n09999999", 1))


def _mnist_labels_short(root: Path) -> None:
    fakes.write_idx(root / "MNIST" / "raw" / "train-labels-idx1-ubyte", np.arange(59) % 10)


def _upstream(then=None):
    """A table `up` whose run saves a backbone, and the demo starting from it."""
    up = (DEMO.replace("title: Demo", "title: Up")
          .replace("method: {name: lora, r: 4, alpha: 8, targets: [qkv.q, qkv.v]}",
                   "method: {name: full}")
          .replace("device: cpu", "device: cpu\n  save_backbone: true"))
    down = _demo_with("label: ViT-micro}", "label: ViT-micro, pretrained: 'run:up/s0'}")

    def setup(ctx: Ctx):
        (ctx.work / "configs" / "up.yaml").write_text(up)
        (ctx.work / "configs" / "demo.yaml").write_text(down)
        if then:
            then(ctx)
    return setup


def _full_disk(what: str = "replace", error: int = errno.ENOSPC):
    """Every rename into place fails as on a full (or read-only) disk; or torch.save fails
    the way it does when the disk fills under it."""
    def setup(ctx: Ctx):
        if what == "torch.save":
            def save(*_args, **_kwargs):
                raise RuntimeError("[enforce fail at inline_container.cc:626] . "
                                   "PytorchStreamWriter failed writing central directory: "
                                   "iostream error")
            ctx.monkeypatch.setattr(checkpoint.torch, "save", save)
            return

        def replace(src, dst):
            raise OSError(error, os.strerror(error), str(dst))
        ctx.monkeypatch.setattr(atomic.os, "replace", replace)
    return setup


TUNED = DEMO + "tune: {key: train.lr, values: [0.1]}\n"  # the demo with a tune: block
TUNING_CSV = "results/tuning/tiny.csv"
TUNE_FIX = "delete it and run make tune to write it again"
MAKE_FIX = "pass --make with another file, e.g. results/tiny/plan.mk"
TORCHRUN = "run under torchrun, or unset WORLD_SIZE"


def _tuned_with_csv(content: str | bytes):
    """The demo with a tune: block, and an earlier tuning's CSV holding `content`."""
    def setup(ctx: Ctx):
        _write("configs/demo.yaml", TUNED)(ctx)
        _write(TUNING_CSV, content)(ctx)
    return setup


def _without_rank(ctx: Ctx) -> None:
    ctx.monkeypatch.delenv("RANK", raising=False)


def _pipe(ctx: Ctx) -> None:
    os.mkfifo(ctx.work / "pipe")  # as /dev/zero would, reading it would never end


def _locked(ctx: Ctx) -> None:
    ctx.stack.enter_context(runlock.hold(ctx.work / RUN_DIR))


def _make_holds_tree(ctx: Ctx) -> None:
    """A make (a stand-in process) writing the tree: it holds the tree's lock while it lives."""
    make = subprocess.Popen(["sleep", "120"])
    ctx.stack.callback(make.wait)
    ctx.stack.callback(make.kill)
    assert treelock.hold_for_make(ctx.work / "results" / "tiny", make.pid) == "ok"
    ctx.monkeypatch.delenv(treelock.HOLDER_ENV, raising=False)


def _blocker(ctx: Ctx) -> None:
    (ctx.work / "blocker").write_text("a file where a folder should be\n")


def _dangling(ctx: Ctx) -> None:
    os.symlink("nowhere", ctx.work / "link")


# ---------------------------------------------------------------------------------------------
# the catalogue

CASES = {
    # --- config files: YAML itself
    "malformed-yaml": Case(
        "a config file with broken YAML", ["plan"],
        "configs/broken.yaml: malformed YAML at line 2, column 1: expected ',' or ']', "
        "but got '<stream end>'", _write("configs/broken.yaml", "a: [b\n")),
    "yaml-not-mapping": Case(
        "a config file that is a list", ["plan"],
        "configs/list.yaml: expected a mapping at the top level",
        _write("configs/list.yaml", "- a\n- b\n")),
    "yaml-two-documents": Case(
        "a config file holding two YAML documents", ["plan"],
        "configs/two.yaml: malformed YAML at line 2, column 1: expected a single document in "
        "the stream but found another document",
        _write("configs/two.yaml", "title: One\n---\ntitle: Two\n")),
    "duplicate-key": _config(
        "`title:` written twice in a config", "+title: Demo again\n",
        "malformed YAML at line 10, column 1: key 'title' appears twice (lines 1 and 10); "
        "keep one"),
    "duplicate-nested-key": _config(
        "`epochs` written twice under `train:`",
        _demo_with("train: {epochs: 1,", "train: {epochs: 1, epochs: 2,"),
        "malformed YAML at line 7, column 22: key 'epochs' appears twice (lines 7 and 7); "
        "keep one"),
    "list-as-key": _config(
        "a list used as a key (`? [a, b]`)", "+? [a, b]\n: c\n",
        "malformed YAML at line 10, column 3: a key is a list or a mapping; keys must be "
        "plain names"),
    "recursive-alias": _config(
        "a value that contains itself through a YAML alias", "+tune: &t {values: [*t]}\n",
        "a value contains itself through a YAML alias (*name); write it out instead"),
    "not-utf8": Case(
        "a config file in Latin-1, not UTF-8", ["plan"],
        "configs/latin1.yaml: not UTF-8 text (byte 10); save the file as UTF-8",
        _write("configs/latin1.yaml", b"title: Caf\xe9\n")),
    "config-is-folder": Case(
        "a folder named `configs/extra.yaml`", ["plan"],
        "configs/extra.yaml: a folder where a config file should be",
        lambda ctx: (ctx.work / "configs" / "extra.yaml").mkdir()),
    # --- config files: the blocks of an experiment
    "unknown-key-in-file": _config(
        "`lerning_rate: 0.1` under `train:` in a config",
        _demo_with("epochs: 1,", "lerning_rate: 0.1, epochs: 1,"),
        "unknown key 'train.lerning_rate' (did you mean 'train.lr'?)", at=AT),
    "unknown-top-level-key": _config(
        "`titel:` at the top of a config", "+titel: Demo\n",
        "unknown key 'titel' (did you mean 'title'?)"),
    "unknown-profile-overlay": _config(
        "`profiles: {tinny: ...}` (no such profile)", "+profiles: {tinny: {seeds: [0]}}\n",
        "unknown profile 'tinny' under 'profiles' (did you mean 'tiny'?); choose one of: "
        "paper, quick, tiny"),
    "unknown-overlay-key": _config(
        "`profiles: {tiny: {bsae: ...}}`", "+profiles: {tiny: {bsae: {}}}\n",
        "unknown key 'profiles.tiny.bsae' (did you mean 'profiles.tiny.base'?)"),
    "overlay-unknown-axis-value": _config(
        "`profiles: {paper: {axes: {v: {values: {c: ...}}}}}` (no value c)",
        _axis("{values: {a: {}, b: {train: {lr: 0.1}}}}")
        + "profiles: {paper: {axes: {v: {values: {c: {}}}}}}\n",
        "profiles.paper.axes.v names 'c', which is not a value of axis 'v'; add it under "
        "axes.v.values first"),
    "overlay-unknown-axis": _config(
        "`profiles: {paper: {axes: {w: ...}}}` (no axis w)",
        "+profiles: {paper: {axes: {w: {values: {a: {}}}}}}\n",
        "profiles.paper.axes names 'w', which is not an axis of this table; add the axis under "
        "'axes' first"),
    "other-profile-configuration": _config(
        "`profiles: {paper: {configurations: {x: ...}}}` while planning tiny",
        "+profiles: {paper: {configurations: {x: {}}}}\n",
        "configs/demo.yaml (profile paper): 'configurations' names 'x', which is not a "
        "configuration of this table; name one as its axis labels joined by '--'", at=""),
    "table-named-like-target": Case(
        "`configs/params.yaml` (a Make target as a table name)", ["plan"],
        "configs/params.yaml: 'params' is a Make target or an output of the pipeline, not a "
        "table name; rename the file", _write("configs/params.yaml", DEMO)),
    "empty-config": _config(
        "an empty config file", "",
        "the file is empty; give the table a title, base and report (see "
        "configs/factorial.yaml), or delete it"),
    "yml-config": Case(
        "`configs/extra.yml` (not .yaml)", ["plan"],
        "configs/extra.yml: tables are read from *.yaml files only; rename it to extra.yaml",
        _write("configs/extra.yml", DEMO)),
    "names-differ-in-case": _config(
        "axis values `a` and `A`", _axis("{values: {a: {}, A: {train: {lr: 0.1}}}}"),
        "'demo/A--s0' and 'demo/a--s0' differ only in case and would share a folder on a "
        "case-insensitive file system; rename one", at=""),
    "sexagesimal-value": _config(
        "`epochs: 1:30` (YAML 1.1 would read 90)", _demo_with("epochs: 1,", "epochs: 1:30,"),
        "'train.epochs' must be int, got '1:30'; fix the value", at=AT),
    "yaml-merge-key": _config(
        "a YAML merge key (`<<: {...}`)", _demo_with("train: {epochs: 1,",
                                                    "train: {<<: {epochs: 1},"),
        "malformed YAML at line 7, column 11: merge keys (<<) are not read here; write the "
        "values out"),
    "overlay-not-mapping": _config(
        "`profiles: {tiny: 5}`", "+profiles: {tiny: 5}\n",
        "'profiles.tiny' must be a mapping of keys to values, got 5; fix the block"),
    "profiles-not-mapping": _config(
        "`profiles: [tiny]`", "+profiles: [tiny]\n",
        "'profiles' must map profile names to overlays"),
    "base-not-mapping": _config(
        "`base: [model, data]`", "title: Demo\nbase: [model, data]\n",
        "'base' must be a mapping of keys to values, got ['model', 'data']; fix the block"),
    "section-not-mapping": _override(
        "train=5", "'train' must be a mapping of keys to values, got 5; fix the block"),
    "enabled-not-bool": _config(
        "`enabled: sometimes`", "+enabled: sometimes\n",
        "'enabled' must be true or false, got 'sometimes'; fix the value"),
    "title-not-text": _config(
        "`title: [a, b]`", _demo_with("title: Demo", "title: [a, b]"),
        "'title' must be text, got ['a', 'b']; fix the value"),
    "unknown-profile-file-key": Case(
        "`runn:` in `configs/profiles/tiny.yaml`", ["plan"],
        "configs/profiles/tiny.yaml: unknown key 'runn' (did you mean 'run'?)",
        _write("configs/profiles/tiny.yaml", "runn: {device: cpu}\n")),
    "table-name-space": Case(
        "a config file named `my table.yaml`", ["plan"],
        "configs/my table.yaml: table name 'my table' may hold only letters, digits and "
        ". _ + - (no spaces, '/' or '..'), since it names a folder; rename it",
        _write("configs/my table.yaml", DEMO)),
    # --- axes
    "axes-not-mapping": _config(
        "`axes: [lr]`", "+axes: [lr]\n",
        "'axes' must be a mapping of keys to values, got ['lr']; fix the block"),
    "axis-without-values": _config(
        "an axis with `key:` but no `values:`", _axis("{key: train.lr}"),
        "axis 'v' needs 'values' (a list with 'key', or a mapping)"),
    "axis-list-without-key": _config(
        "an axis listing values without `key:`", _axis("{values: [0.1, 0.2]}"),
        "axis 'v' with a list of values needs 'key: dotted.path'"),
    "axis-value-twice": _config(
        "an axis listing the same value twice", _axis("{key: train.lr, values: [0.1, 0.1]}"),
        "axis 'v' lists the same value twice; keep one"),
    "axis-overlay-not-mapping": _config(
        "an axis value whose overlay is a list", _axis("{values: {a: [1]}}"),
        "'axes.v.values.a' must be a mapping of keys to values, got [1]; fix the block"),
    "axis-label-dotdot": _config(
        "an axis value labelled `a..b`",
        _axis("{values: {a..b: {train: {lr: 0.1}}, c: {train: {lr: 0.2}}}}"),
        "axis value 'a..b' may hold only letters, digits and . _ + - (no spaces, '/' or '..'), "
        "since it names a folder; rename it"),
    "axis-label-slash": _config(
        "an axis value labelled `a/b`",
        _axis("{values: {a/b: {train: {lr: 0.1}}, c: {train: {lr: 0.2}}}}"),
        "axis value 'a/b' may hold only letters, digits and . _ + - (no spaces, '/' or '..'), "
        "since it names a folder; rename it"),
    "axis-label-space": _config(
        "an axis value labelled `a b`",
        _axis("{values: {a b: {train: {lr: 0.1}}, c: {train: {lr: 0.2}}}}"),
        "axis value 'a b' may hold only letters, digits and . _ + - (no spaces, '/' or '..'), "
        "since it names a folder; rename it"),
    "axis-label-dash": _config(
        "an axis value labelled `-a`",
        _axis("{values: {-a: {train: {lr: 0.1}}, c: {train: {lr: 0.2}}}}"),
        "axis value '-a' may hold only letters, digits and . _ + - (no spaces, '/' or '..'), "
        "since it names a folder; rename it"),
    "axis-name-space": _config(
        "an axis named `learning rate`",
        "+axes:\n  learning rate: {key: train.lr, values: [0.1, 0.2]}\n",
        "axis name 'learning rate' may hold only letters, digits and . _ + - (no spaces, '/' "
        "or '..'), since it names a folder; rename it"),
    "axis-value-not-plain": _config(
        "an axis listing a date (`!!timestamp 2024-01-01`)",
        _axis("{key: model.label, values: [!!timestamp 2024-01-01]}"),
        "'axes.v.values[0]' must hold only text, numbers, true/false and lists or mappings of "
        "them (with text keys), got datetime.date(2024, 1, 1); fix the value"),
    "identical-runs": _config(
        "two axis values giving identical runs",
        _axis("{values: {a: {train: {lr: 0.1}}, b: {train: {lr: 0.1}}}}"),
        "table demo: runs a--s0 and b--s0 have the same configuration, so one result would be "
        "counted twice; make them differ or drop one", at=""),
    # --- seeds
    "duplicate-seeds": _config(
        "`seeds: [0, 1, 0]`", "+seeds: [0, 1, 0]\n",
        "seed 0 is listed twice in 'seeds'; the runs would be identical and counted twice"),
    "negative-seed": _config(
        "`seeds: [-1]`", "+seeds: [-1]\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got [-1])"),
    "fractional-seed": _config(
        "`seeds: [0.5]`", "+seeds: [0.5]\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got [0.5])"),
    "text-seed": _config(
        "`seeds: [one]`", "+seeds: [one]\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got ['one'])"),
    "huge-seed": _config(
        "`seeds: [4294967296]` (NumPy takes seeds below 2**32)", "+seeds: [4294967296]\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got [4294967296])"),
    "seeds-not-list": _config(
        "`seeds: 3`", "+seeds: 3\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got 3)"),
    "empty-seeds": _config(
        "`seeds: []`", "+seeds: []\n",
        "'seeds' must be a non-empty list of integers from 0 to 4294967295 (got [])"),
    "seed-override": _override(
        "seed=7", "override 'seed' would give every seed of a table the same seed; set "
        "'seeds:' in the experiment's config instead", at=""),
    # --- numbers that are not numbers
    "nan-in-file": _config(
        "`lr: .nan` under `train:`", _demo_with("epochs: 1,", "lr: .nan, epochs: 1,"),
        "'train.lr' must be a finite number, got nan; fix the value", at=AT),
    "inf-in-file": _config(
        "`lr: .inf` under `train:`", _demo_with("epochs: 1,", "lr: .inf, epochs: 1,"),
        "'train.lr' must be a finite number, got inf; fix the value", at=AT),
    "minus-inf-in-file": _config(
        "`weight_decay: -.inf` under `train:`",
        _demo_with("epochs: 1,", "weight_decay: -.inf, epochs: 1,"),
        "'train.weight_decay' must be a finite number, got -inf; fix the value", at=AT),
    "huge-float-in-file": _config(
        "`lr: 1e999` under `train:` (overflows to inf)",
        _demo_with("epochs: 1,", "lr: 1.0e+999, epochs: 1,"),
        "'train.lr' must be a finite number, got inf; fix the value", at=AT),
    "nan-override": _planned(
        "train.lr=nan", "'train.lr' must be a finite number, got 'nan'; fix the value"),
    "inf-override": _override(
        "train.lr=inf", "'train.lr' must be a finite number, got 'inf'; fix the value"),
    "minus-inf-override": _override(
        "train.weight_decay=-inf",
        "'train.weight_decay' must be a finite number, got '-inf'; fix the value"),
    "nan-in-kwargs": _override(
        "model.kwargs='{drop_rate: .nan}'",
        "'model.kwargs.drop_rate' must be a finite number, got nan; fix the value"),
    # --- wrong types, one per kind of field
    "unknown-key": _override(
        "train.eopchs=3", "unknown key 'train.eopchs' (did you mean 'train.epochs'?)"),
    "wrong-type": _override(
        "train.epochs=ten", "'train.epochs' must be int, got 'ten'; fix the value"),
    "int-given-fraction": _override(
        "train.epochs=2.5", "'train.epochs' must be int, got 2.5; fix the value"),
    "float-given-text": _override(
        "train.lr=fast", "'train.lr' must be float, got 'fast'; fix the value"),
    "float-given-bool": _override(
        "train.lr=true", "'train.lr' must be float, got True; fix the value"),
    "bool-given-text": _override(
        "train.compile=maybe", "'train.compile' must be bool, got 'maybe'; fix the value"),
    "bool-given-number": _override(
        "train.compile=1", "'train.compile' must be bool, got 1; fix the value"),
    "text-given-list": _override(
        "model.label=[a,b]", "'model.label' must be str, got ['a', 'b']; fix the value"),
    "list-given-mapping": _override(
        "method.targets='{q: 1}'", "'method.targets' must be list, got {'q': 1}; fix the value"),
    "list-of-lists": _override(
        "method.targets=[[qkv.q]]",
        "'method.targets[0]' must be str, got ['qkv.q']; fix the value"),
    "mapping-given-list": _override(
        "model.kwargs=[1,2]", "'model.kwargs' must be dict, got [1, 2]; fix the value"),
    "mapping-with-date": _override(
        "model.kwargs='{since: !!timestamp 2024-01-01}'",
        "'model.kwargs.since' must hold only text, numbers, true/false and lists or mappings of "
        "them (with text keys), got datetime.date(2024, 1, 1); fix the value"),
    "literal-not-a-choice": _override(
        "data.channels=2", "unknown data.channels '2'; choose one of: 1, 3"),
    "literal-given-float": _override(
        "data.channels=3.0", "'data.channels' must be one of 1, 3, got 3.0; fix the value"),
    "literal-given-bool": _override(
        "data.channels=true", "'data.channels' must be one of 1, 3, got True; fix the value"),
    "optional-list-given-mapping": _config(
        "`report: {paired_by: {a: 1}}`", _demo_with("caption: demo}", "paired_by: {a: 1}}"),
        "'report.paired_by' must be list, got {'a': 1}; fix the value"),
    "unknown-model": _override(
        "model.name=vit_bse_patch16_224",
        "unknown model 'vit_bse_patch16_224' (did you mean 'vit_base_patch16_224'?); "
        "list names with timm.list_models()"),
    "unknown-dataset": _override(
        "data.name=cifar1000",
        "unknown data.name 'cifar1000' (did you mean 'cifar100'?); choose one of: "),
    "unknown-method": _override(
        "method.name=lora2",
        "unknown method.name 'lora2' (did you mean 'lora'?); choose one of: full, head, lora"),
    "unknown-optimizer": _override(
        "train.optimizer=adamm",
        "unknown train.optimizer 'adamm' (did you mean 'adam'?); "
        "choose one of: adamw, adam, sgd, rmsprop"),
    "unknown-schedule": _override(
        "train.schedule=cosin",
        "unknown train.schedule 'cosin' (did you mean 'cosine'?); "
        "choose one of: cosine, linear, onecycle, constant, step, cosine_restarts"),
    "unknown-precision": _override(
        "train.precision=fp8", "unknown train.precision 'fp8'; choose one of: auto, bf16, fp32"),
    "unknown-augmentation": _override(
        "data.augment=[rotate]",
        "unknown data.augment[0] 'rotate'; choose one of: flip, crop, resized-crop, jitter"),
    "unknown-save-weights": _override(
        "train.save_weights=some",
        "unknown train.save_weights 'some'; choose one of: trainable, all, none"),
    "bad-device": _override(
        "device=gpu", "device must be auto, cpu, cuda or cuda:N (got 'gpu')"),
    "kwargs-timm-rejects": _override(
        "model.kwargs='{depth_of_field: 3}'",
        "model vit_micro_patch8_32 cannot be built with model.kwargs {\"depth_of_field\": 3} "
        "(TypeError: VisionTransformer.__init__() got an unexpected keyword argument "
        "'depth_of_field'); fix model.kwargs"),
    # --- the report: and tune: blocks
    "report-unknown-key": _config(
        "`report: {captoin: ...}`", _demo_with("caption: demo}", "captoin: demo}"),
        "unknown key 'report.captoin' (did you mean 'report.caption'?)"),
    "report-table-kind": _config(
        "`report: {table: histogram}`", _demo_with("table: benchmark", "table: histogram"),
        "unknown report.table 'histogram'; choose one of: benchmark, paired, ablation, study, "
        "grid"),
    "report-figure-kind": _config(
        "`report: {figures: [roc]}`", _demo_with("caption: demo}", "figures: [roc]}"),
        "unknown report.figures[0] 'roc'; choose one of: confusion"),
    "report-paired-by-unknown-axis": _config(
        "`report: {paired_by: [datset]}` (no such axis)",
        _demo_with("caption: demo}", "paired_by: [datset]}"),
        "report.paired_by names axis 'datset', which the table lacks; choose from: (none)"),
    "report-grid-column": _config(
        "a grid table whose `rows:` names no column",
        _demo_with("table: benchmark", "table: grid, grid: {rows: batchsize, cols: lr, "
                   "panels: weight_decay}"),
        "report.grid.rows 'batchsize' is not a numeric column of the table's CSV (did you mean "
        "'batch_size'?); choose one of: seed, lora_r, lora_alpha, lora_dropout, epochs, lr, "
        "batch_size, weight_decay, grad_clip"),
    "report-study-without-setting": _config(
        "a study table without a `setting` axis", _demo_with("table: benchmark", "table: study"),
        "a study table needs an axis named 'setting'; rename its axis or choose another "
        "report.table"),
    "tune-unknown-key": _config(
        "`tune: {kye: train.lr}`", "+tune: {kye: train.lr}\n",
        "unknown key 'tune.kye' (did you mean 'tune.key'?)"),
    "tune-key-no-field": _config(
        "`tune: {key: train.lrr, values: [0.1]}`", "+tune: {key: train.lrr, values: [0.1]}\n",
        "tune.key 'train.lrr' is not a field a run can tune (did you mean 'train.lr'?); name "
        "one such as train.lr"),
    "tune-without-values": _config(
        "`tune: {key: train.lr}` without values", "+tune: {key: train.lr}\n",
        "tune.key train.lr needs tune.values: list the candidates, e.g. values: [1.0e-3, "
        "3.0e-3]"),
    "tune-value-out-of-bounds": _config(
        "`tune: {key: train.lr, values: [0.1, 0]}`",
        "+tune: {key: train.lr, values: [0.1, 0]}\n",
        "train.lr must be positive (got 0.0); set e.g. train.lr=1e-3",
        at=f"{FILE} [s0] tune.values 0"),
    "tune-on-unknown-label": _config(
        "`tune: {on_label: r4, ...}` with no axis value r4",
        "+tune: {key: train.lr, values: [0.1], on_label: r4}\n",
        "tune.on_label 'r4' is not an axis value of the table; choose one of: (none)"),
    # --- bounds, one per bounded field
    "rank-zero": _override(
        "method.r=0", "method.r must be at least 1 (got 0); set e.g. method.r=8"),
    "rank-negative": _override(
        "method.r=-4", "method.r must be at least 1 (got -4); set e.g. method.r=8"),
    "alpha": _override("method.alpha=0", "method.alpha must be positive (got 0.0)"),
    "dropout": _override("method.dropout=1.5", "method.dropout must be in [0, 1) (got 1.5)"),
    "dropout-negative": _override(
        "method.dropout=-0.1", "method.dropout must be in [0, 1) (got -0.1)"),
    "image-size": _override(
        "data.image_size=4", "data.image_size must be at least 8 (got 4); set e.g. "
        "data.image_size=224"),
    "val-fraction-zero": _override(
        "data.val_fraction=0", "data.val_fraction must be in (0, 1) (got 0.0)"),
    "val-fraction-one": _override(
        "data.val_fraction=1", "data.val_fraction must be in (0, 1) (got 1.0)"),
    "split-seed-negative": _override(
        "data.split_seed=-1", "data.split_seed must be at least 0 (got -1); set e.g. "
        "data.split_seed=0"),
    "split-seed-huge": _override(
        "data.split_seed=4294967295", "data.split_seed must be at most 4294967293 (got "
        "4294967295); set e.g. data.split_seed=0"),
    "train-limit": _override(
        "data.train_limit=-5", "data.train_limit must be at least 0 (got -5); set e.g. "
        "data.train_limit=0"),
    "mixup-negative": _override(
        "data.mixup=-0.5", "data.mixup must be at least 0 (got -0.5); set e.g. data.mixup=0.8"),
    "cutmix-negative": _override(
        "data.cutmix=-1", "data.cutmix must be at least 0 (got -1.0); set e.g. data.cutmix=1.0"),
    "mix-prob": _override("data.mix_prob=1.5", "data.mix_prob must be in [0, 1] (got 1.5)"),
    "epochs-negative": _override(
        "train.epochs=-1", "train.epochs must be at least 1 (got -1); set e.g. train.epochs=5"),
    "batch-zero": _override(
        "train.batch_size=0", "train.batch_size must be at least 1 (got 0); "
        "set e.g. train.batch_size=64"),
    "eval-batch-zero": _override(
        "train.eval_batch_size=0", "train.eval_batch_size must be at least 1 (got 0); "
        "set e.g. train.eval_batch_size=256"),
    "lr-zero": _override(
        "train.lr=0", "train.lr must be positive (got 0.0); set e.g. train.lr=1e-3"),
    "weight-decay-negative": _override(
        "train.weight_decay=-0.1", "train.weight_decay must be at least 0 (got -0.1); set e.g. "
        "train.weight_decay=0.0"),
    "momentum-one": _override("train.momentum=1", "train.momentum must be in [0, 1) (got 1.0)"),
    "warmup-negative": _override(
        "train.warmup_epochs=-1", "train.warmup_epochs must be at least 0 (got -1.0); set e.g. "
        "train.warmup_epochs=0"),
    "grad-clip-negative": _override(
        "train.grad_clip=-1", "train.grad_clip must be at least 0 (got -1.0); set e.g. "
        "train.grad_clip=1.0"),
    "accum-zero": _override(
        "train.accum_steps=0", "train.accum_steps must be at least 1 (got 0); set e.g. "
        "train.accum_steps=1"),
    "label-smoothing-one": _override(
        "train.label_smoothing=1", "train.label_smoothing must be in [0, 1) (got 1.0)"),
    "threads-negative": _override(
        "threads=-1", "threads must be at least 0 (got -1); set e.g. threads=1"),
    "probe-images-zero": _override(
        "probe.images=0", "probe.images must be at least 1 (got 0); set e.g. probe.images=1024"),
    "probe-points-1d": _override(
        "probe.points_1d=2", "probe.points_1d must be at least 3 (got 2); set e.g. "
        "probe.points_1d=25"),
    "probe-points-2d": _override(
        "probe.points_2d=1", "probe.points_2d must be at least 3 (got 1); set e.g. "
        "probe.points_2d=13"),
    # --- rules across fields
    "odd-mixup-batch": _override(
        "data.mixup=0.8 train.batch_size=33", "MixUp/CutMix mix pairs of images and need an "
        "even train.batch_size (got 33); set e.g. train.batch_size=34"),
    "mixup-batch-over-train-set": _override(
        "data.mixup=0.8 data.train_limit=20 train.batch_size=64",
        "MixUp/CutMix drop a last partial batch, and the 20 training images fill no batch of "
        "train.batch_size 64; lower train.batch_size or raise data.train_limit"),
    "vit-image-size": _override(
        "data.image_size=16", "model vit_micro_patch8_32 takes 32 px inputs, but "
        "data.image_size is 16; set data.image_size=32 (or model.kwargs.img_size)"),
    "pretrained-malformed": _override(
        "model.pretrained=hub", "model.pretrained 'hub' is not none, timm, run:<table>/<run-id> "
        "or file:<path>"),
    "pretrained-empty-file": _config(
        "`pretrained: 'file:'` (no path)",
        _demo_with("label: ViT-micro}", "label: ViT-micro, pretrained: 'file:'}"),
        "model.pretrained 'file:' is not none, timm, run:<table>/<run-id> or file:<path>", at=AT),
    "pretrained-run-without-id": _override(
        "model.pretrained=run:pretrain", "model.pretrained 'run:pretrain' is not none, timm, "
        "run:<table>/<run-id> or file:<path>"),
    "pretrained-file-without-timm": _override(
        "model.pretrained_file=w.safetensors", "model.pretrained_file replaces the hub's "
        "weights and needs model.pretrained: timm (got 'none')"),
    "pretrained-run-not-planned": _config(
        "`pretrained: run:pretrain/vit-micro--s9` (no such run)",
        _demo_with("label: ViT-micro}",
                   "label: ViT-micro, pretrained: 'run:pretrain/vit-micro--s9'}"),
        "model.pretrained names run 'pretrain/vit-micro--s9', which the 'tiny' profile does not "
        "plan; check the table and run id", at=AT),
    "pretrained-run-not-planned-oneoff": _override(
        "model.pretrained=run:up/s0", "model.pretrained names run 'up/s0', which the 'tiny' "
        "profile does not plan; check the table and run id"),
    "pretrained-run-itself": _planned(
        "model.pretrained=run:demo/s0", "run demo/s0 starts from itself (its model.pretrained "
        "names it); name the run whose weights it starts from"),
    "probes-not-full": _override(
        "probe.enabled=true", "probe.enabled needs method.name full (got 'lora')"),
    "lora-without-targets": _override(
        "method.targets=[]", "method lora needs method.targets, e.g. [qkv.q, qkv.v]"),
    "target-matches-nothing": Case(
        "`method.targets=[attn.query]` (no such module)", [*RUN, "method.targets=[attn.query]"],
        "method.targets ['attn.query'] match no module of the model; name Linear/Conv2d "
        "modules such as qkv.q, fc1 or conv2"),
    "no-cuda": Case(
        "`device=cuda` on a machine without CUDA", [*RUN, "device=cuda"],
        "device 'cuda' requested but CUDA is not available here; set device=cpu "
        "(or device=auto)"),
    "missing-pretrained-file": Case(
        "`model.pretrained=timm model.pretrained_file=w.safetensors` (no such file)",
        [*RUN, "model.name=resnet18", "model.pretrained=timm",
         "model.pretrained_file=w.safetensors", "method.targets=[conv2]"],
        "model.pretrained_file w.safetensors not found; copy the weights of resnet18 there "
        "(see 'make weights')"),
    # --- ftbench tune
    "tune-without-block": Case(
        "`ftbench tune demo` on a table without a `tune:` block", ["tune", "demo"],
        "table demo has no tune: block, so there is nothing to tune; add one to "
        "configs/demo.yaml (e.g. tune: {key: train.lr, values: [1.0e-3, 3.0e-3]}) or name a "
        "table that has one"),
    "tune-nothing-to-tune": Case(
        "`ftbench tune` when no table has a `tune:` block", ["tune"],
        "no table of the tiny profile has a tune: block, so there is nothing to tune; add one "
        "to a table's config (e.g. tune: {key: train.lr, values: [1.0e-3, 3.0e-3]})"),
    "tune-csv-lacks-column": Case(
        "a tuning CSV (`results/tuning/tiny.csv`) without the `table` column", ["tune", "demo"],
        f"{TUNING_CSV} lacks the column 'table'; {TUNE_FIX}", _tuned_with_csv("a,b\n1,2\n")),
    "tune-csv-junk": Case(
        "a tuning CSV of binary junk", ["tune", "demo"],
        f"{TUNING_CSV} cannot be read (UnicodeDecodeError); {TUNE_FIX}",
        _tuned_with_csv(b"\xff\xfe\0a,b")),
    # --- torchrun's variables
    "world-size-not-a-number": Case(
        "`WORLD_SIZE=abc ftbench run demo/s0`", RUN,
        f"WORLD_SIZE='abc' is not a whole number; {TORCHRUN}", env={"WORLD_SIZE": "abc"}),
    "world-size-without-rank": Case(
        "`WORLD_SIZE=2 ftbench run demo/s0` (no `RANK`: not under torchrun)", RUN,
        f"WORLD_SIZE is 2 but RANK is not set; {TORCHRUN}", _without_rank,
        env={"WORLD_SIZE": "2"}),
    # --- the command line
    "override-twice": Case(
        "`train.lr=1e-3 train.lr=2e-3` (a key given twice)",
        [*RUN, "train.lr=1e-3", "train.lr=2e-3"],
        "override 'train.lr' is given twice ('train.lr=1e-3', then 'train.lr=2e-3'); keep one"),
    "override-overlaps": Case(
        "`train={lr: 0.1} train.lr=0.2` (a key given twice, once inside a mapping)",
        [*RUN, "train={lr: 0.1}", "train.lr=0.2"],
        "override 'train.lr=0.2' sets 'train.lr', which another override sets too; keep one"),
    "make-over-config": Case(
        "`ftbench plan --make configs/demo.yaml`", ["plan", "--make", "configs/demo.yaml"],
        f"--make configs/demo.yaml is inside the config folder configs; {MAKE_FIX}"),
    "make-in-runs-folder": Case(
        "`ftbench plan --make results/tiny/runs/plan.mk`",
        ["plan", "--make", "results/tiny/runs/plan.mk"],
        f"--make results/tiny/runs/plan.mk is inside the runs folder results/tiny/runs; "
        f"{MAKE_FIX}"),
    "make-over-pipe": Case(
        "`ftbench plan --make pipe` where `pipe` is a named pipe (or a device: /dev/full)",
        ["plan", "--make", "pipe"], f"--make pipe is not a regular file; {MAKE_FIX}", _pipe),
    "make-over-other-file": Case(
        "`ftbench plan --make notes.txt` (a file `plan` did not write)",
        ["plan", "--make", "notes.txt"],
        f"--make notes.txt exists and is not a plan ftbench wrote (it lacks the header line a "
        f"generated plan starts with); {MAKE_FIX}, or delete it",
        _write("notes.txt", "my notes\n")),
    "unknown-command": Case(
        "`ftbench trian`", ["trian"],
        "argument command: invalid choice: 'trian' (choose from 'plan', 'run', 'aggregate', "
        "'render', 'params', 'data', 'weights', 'dryrun', 'eval', 'status', 'explain', 'verify', "
        "'compare', 'tune'); "
        "see ftbench --help"),
    "unknown-option": Case(
        "`ftbench run demo/s0 --epochs 3`", [*RUN, "--epochs", "3"],
        "unrecognized arguments: --epochs 3; see ftbench --help"),
    "option-without-value": Case(
        "`ftbench plan --profile` (no value)", ["plan", "--profile"],
        "argument --profile: expected one argument; see ftbench plan --help"),
    "run-without-key": Case(
        "`ftbench run`", ["run"],
        "the following arguments are required: TABLE/RUN; see ftbench run --help"),
    "run-only-overrides": Case(
        "`ftbench run train.epochs=2` (no run key)", ["run", "train.epochs=2"],
        "run needs a run key, e.g. pretrain/vit-micro--s0; see ftbench --help"),
    "not-key-value": Case(
        "`ftbench run demo/s0 train.epochs` (no `=`)", [*RUN, "train.epochs"],
        "unknown run 'train.epochs': a run key is TABLE/RUN (list them with: ftbench plan), an "
        "override is key=value, e.g. train.epochs=3"),
    "override-bad-key": Case(
        "`ftbench plan 1train.epochs=3`", ["plan", "1train.epochs=3"],
        "override '1train.epochs=3' is not key=value; write e.g. train.epochs=3"),
    "unknown-profile": Case(
        "`--profile tinny`", ["plan", "--profile", "tinny"],
        "unknown profile 'tinny' (did you mean 'tiny'?); choose one of: paper, quick, tiny"),
    "missing-configs": Case(
        "`--configs nowhere`", ["plan", "--configs", "nowhere"],
        "unknown profile 'tiny'; choose one of: (none found in nowhere)"),
    "unknown-run": Case(
        "`ftbench run demo/s9`", ["run", "demo/s9"],
        "unknown run 'demo/s9' (did you mean 'demo/s0'?); list them with: ftbench plan"),
    "unknown-table": Case(
        "`ftbench aggregate dmeo`", ["aggregate", "dmeo"],
        "unknown table 'dmeo' (did you mean 'demo'?); choose one of: demo"),
    "aggregate-without-table": Case(
        "`ftbench aggregate` (no table, no `--all`)", ["aggregate"],
        "aggregate needs a table name or --all"),
    "explain-unknown-run": Case(
        "`ftbench explain demo/s9`", ["explain", "demo/s9"],
        "unknown run 'demo/s9' (did you mean 'demo/s0'?); list them with: ftbench plan"),
    "eval-unfinished": Case(
        "`ftbench eval demo/s0` before the run finished", ["eval", "demo/s0"],
        f"run demo/s0 has not finished ({RUN_DIR} has no summary.json); train it first "
        "(make all)"),
    # --- result files: summaries
    "missing-summary": Case(
        "`ftbench aggregate demo` before its runs finished", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is missing; run it first (make all)"),
    "corrupt-summary": Case(
        "a `summary.json` of binary junk", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not JSON); delete its folder and re-run",
        _finished(then=_replace(f"{RUN_DIR}/summary.json", b"\x89PNG\r\n\x1a\n\0\0"))),
    "truncated-summary": Case(
        "a `summary.json` cut off halfway", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not JSON); delete its folder and re-run",
        _finished(then=_replace(f"{RUN_DIR}/summary.json", _half))),
    "empty-summary": Case(
        "an empty `summary.json`", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not JSON); delete its folder and re-run",
        _finished(then=_replace(f"{RUN_DIR}/summary.json", b""))),
    "summary-not-object": Case(
        "a `summary.json` holding a JSON list", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not a JSON object); delete its folder "
        "and re-run", _finished(then=_replace(f"{RUN_DIR}/summary.json", "[1, 2]"))),
    "summary-missing-field": Case(
        "a `summary.json` without its `test` metrics", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (no 'test'); delete its folder and "
        "re-run", _finished(then=_summary_edit(lambda d: d.pop("test")))),
    "summary-wrong-type": Case(
        "a `summary.json` whose `test` is a string", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt ('test' is not dict); delete its folder "
        "and re-run", _finished(then=_summary_edit(lambda d: d.update(test="0.9")))),
    "summary-nan-accuracy": Case(
        "a `summary.json` with accuracy `NaN`", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt ('test.accuracy' is nan, not within "
        "[0, 1]); delete its folder and re-run",
        _finished(then=_summary_edit(lambda d: d["test"].update(accuracy=float("nan"))))),
    "summary-accuracy-percent": Case(
        "a `summary.json` with accuracy 93.1 (a percentage)", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt ('test.accuracy' is 93.1, not within "
        "[0, 1]); delete its folder and re-run",
        _finished(then=_summary_edit(lambda d: d["test"].update(accuracy=93.1)))),
    "summary-bad-status": Case(
        "a `summary.json` with status `done`", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (status 'done' is neither 'ok' nor "
        "'diverged'); delete its folder and re-run",
        _finished(then=_summary_edit(lambda d: d.update(status="done")))),
    "summary-lacks-config-value": Case(
        "a `summary.json` whose config lacks `method`", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (it lacks 'method'); delete its folder "
        "and re-run", _finished(then=_summary_edit(lambda d: d["config"].pop("method")))),
    "foreign-summary": Case(
        "a `summary.json` written under another identity", ["aggregate", "demo"],
        f"run summary {RUN_DIR}/summary.json is not the planned run's (identity {FOREIGN}, "
        "planned <identity>: its configuration, a default or a run it starts from changed); "
        "re-run it with make all",
        _finished(then=_summary_edit(lambda d: d.update(identity=FOREIGN)))),
    "eval-corrupt-summary": Case(
        "`ftbench eval demo/s0` with a truncated `summary.json`", ["eval", "demo/s0"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not JSON); delete its folder and re-run",
        _finished(then=_replace(f"{RUN_DIR}/summary.json", _half))),
    "eval-truncated-head": Case(
        "`ftbench eval demo/s0` with a truncated `weights/head.safetensors`", ["eval", "demo/s0"],
        f"{RUN_DIR}/weights/head.safetensors cannot be read (SafetensorError: truncated or "
        f"corrupt); delete {RUN_DIR} and re-run it (make all)", _finished()),
    # --- result files: what render reads
    "render-missing-csv": Case(
        "`ftbench render demo` before `aggregate`", ["render", "demo"],
        "results/tiny/demo.csv is missing; build it with: make all"),
    "render-corrupt-csv": Case(
        "a CSV of binary junk", ["render", "demo"],
        "results/tiny/demo.csv cannot be read (UnicodeDecodeError); delete it and run make all "
        "to write it again", _finished(then=_replace("results/tiny/demo.csv", b"\xff\xfe\0a,b"))),
    "render-cut-off-csv": Case(
        "a CSV cut off in its last row", ["render", "demo"],
        "results/tiny/demo.csv is empty or cut off (a row has the wrong number of fields); "
        "delete it and run make all to write it again",
        _finished(then=_replace("results/tiny/demo.csv", lambda b: b[:-200]))),
    "render-empty-csv": Case(
        "an empty CSV", ["render", "demo"],
        "results/tiny/demo.csv is empty or cut off (a row has the wrong number of fields); "
        "delete it and run make all to write it again",
        _finished(then=_replace("results/tiny/demo.csv", b""))),
    "render-csv-lacks-column": Case(
        "a CSV without the `accuracy` column", ["render", "demo"],
        "results/tiny/demo.csv lacks the column 'accuracy'; write it again with: ftbench "
        "aggregate demo (make all)",
        _finished(then=_csv_edit(lambda t: t.replace(",accuracy,", ",acc,", 1)))),
    "render-csv-not-a-number": Case(
        "a CSV whose accuracy reads `n/a`", ["render", "demo"],
        "results/tiny/demo.csv: run s0 has accuracy 'n/a', which is not a valid number; write "
        "it again with: ftbench aggregate demo (make all)",
        _finished(then=_csv_edit(lambda t: _set_column(t, "accuracy", "n/a")))),
    "render-stale-csv": Case(
        "a CSV aggregated from runs of an older configuration", ["render", "demo"],
        f"results/tiny/demo.csv does not hold the planned runs (run s0 has identity {FOREIGN}, "
        "the plan <identity>); write it again with: ftbench aggregate demo (make all)",
        _finished(then=_csv_edit(lambda t: re.sub(r",[0-9a-f]{16},[0-9a-f]{16},",
                                                  f",{FOREIGN},{FOREIGN},", t)))),
    "render-edited-csv": Case(
        "a CSV whose accuracy was edited by hand", ["render", "demo"],
        "results/tiny/demo.csv differs from what its runs' summaries give (edited by hand, or "
        "written by another version of ftbench); write it again with: ftbench aggregate demo "
        "(make all)", _finished(then=_csv_edit(lambda t: _set_column(t, "accuracy", "0.95")))),
    "aggregate-metric-edited": Case(
        "a summary whose macro-F1 is not what its predictions give", ["aggregate", "demo"],
        f"{RUN_DIR}/summary.json: test.macro_f1 is not what predictions.npz gives 0.999, its "
        f"predictions {TRUE_F1!r}; delete the run's folder and re-run it (make all)",
        _finished(then=_summary_edit(lambda d: d["test"].update(macro_f1=0.999)))),
    "aggregate-auc-edited": Case(
        "a summary whose macro-AUC is not what its predictions give", ["aggregate", "demo"],
        f"{RUN_DIR}/summary.json: test.macro_auc is not what predictions.npz gives 0.9999, its "
        f"predictions {TRUE_AUC!r}; delete the run's folder and re-run it (make all)",
        _finished(then=_summary_edit(lambda d: d["test"].update(macro_auc=0.9999)))),
    "aggregate-config-edited": Case(
        "a summary whose config is not the planned run's, its identity kept",
        ["aggregate", "demo"],
        f"{RUN_DIR}/summary.json: its config says train.lr = 0.5, the planned run 0.001; delete "
        "the run's folder and re-run it (make all)",
        _finished(then=_summary_edit(lambda d: d["config"]["train"].update(lr=0.5)))),
    "aggregate-predictions-swapped": Case(
        "`predictions.npz` whose `y_pred` was swapped between right and wrong images",
        ["aggregate", "demo"],
        f"{RUN_DIR}/predictions.npz: the argmax of its probabilities is not its y_pred; delete "
        "the run's folder and re-run it (make all)",
        _finished(then=lambda ctx: _with_predictions(ctx, SWAPPED))),
    "aggregate-epochs-invented": Case(
        "an epoch log with more epochs than the config trains", ["aggregate", "demo"],
        f"{RUN_DIR}/epochs.jsonl holds 4 epochs, numbered [1, 2, 3, 4]..., the config trains 1; "
        "delete the run's folder and re-run it (make all)",
        _finished(then=_replace(str(RUN_DIR / "epochs.jsonl"), lambda b: b + b"".join(
            b.replace(b'"epoch": 1,', f'"epoch": {e},'.encode()) for e in (2, 3, 4))))),
    "aggregate-epochs-huge": Case(
        "an epoch log of megabytes", ["aggregate", "demo"],
        f"{RUN_DIR}/epochs.jsonl is 2,097,152 bytes, far more than any epoch log; delete the "
        "run's folder and re-run it (make all)",
        _finished(then=_replace(str(RUN_DIR / "epochs.jsonl"), b" " * 2**21))),
    "render-predictions-disagree": Case(
        "`predictions.npz` that disagrees with its summary", ["render", "demo"],
        f"{RUN_DIR}/predictions.npz gives test accuracy 1.0000, its summary 0.5000: one was "
        "edited or belongs to another run; delete the run's folder and re-run it",
        _finished(then=lambda ctx: np.savez(
            ctx.work / RUN_DIR / "predictions.npz", y_true=np.arange(20, dtype=np.int16) % 10,
            y_pred=np.arange(20, dtype=np.int16) % 10,
            probs=np.eye(10, dtype=np.float32)[np.arange(20) % 10]))),
    "render-probabilities-disagree": Case(
        "`predictions.npz` whose probabilities' argmax is not its `y_pred`", ["render", "demo"],
        f"{RUN_DIR}/predictions.npz: the argmax of its probabilities is not its y_pred (written "
        "by an older ftbench, or edited); delete the run's folder and re-run it",
        _finished(then=lambda ctx: _with_probs(ctx, np.full((20, 10), 0.1, np.float32)))),
    "render-csv-missing-run": Case(
        "a CSV lacking one of the table's runs", ["render", "pair"],
        "results/tiny/pair.csv does not hold the planned runs (run r8--s0 is missing); write "
        "it again with: ftbench aggregate pair (make all)",
        _finished("pair", then=_csv_edit(lambda t: t[:t.index("\npair,r8--s0")] + "\n", "pair"))),
    "render-corrupt-summary": Case(
        "`ftbench render demo` with a corrupt `summary.json`", ["render", "demo"],
        f"run summary {RUN_DIR}/summary.json is corrupt (not JSON); delete its folder and re-run",
        _finished(then=_replace(f"{RUN_DIR}/summary.json", b"{\"table\": "))),
    "render-corrupt-epochs": Case(
        "a corrupt `epochs.jsonl`", ["render", "demo"],
        f"{RUN_DIR}/epochs.jsonl is corrupt; delete the run's folder and re-run it",
        _finished(then=_replace(f"{RUN_DIR}/epochs.jsonl", _half))),
    "render-epochs-not-records": Case(
        "an `epochs.jsonl` whose lines are not epochs", ["render", "demo"],
        f"{RUN_DIR}/epochs.jsonl is corrupt (line 1 is not an epoch's record); delete the run's "
        "folder and re-run it", _finished(then=_replace(f"{RUN_DIR}/epochs.jsonl", "[1, 2]\n"))),
    "render-missing-epochs": Case(
        "a finished run without `epochs.jsonl`", ["render", "demo"],
        f"{RUN_DIR}/epochs.jsonl is missing; re-run demo/s0",
        _finished(then=lambda ctx: (ctx.work / RUN_DIR / "epochs.jsonl").unlink())),
    "render-corrupt-predictions": Case(
        "a truncated `predictions.npz`", ["render", "demo"],
        f"{RUN_DIR}/predictions.npz is corrupt; delete the run's folder and re-run it",
        _finished(then=_replace(f"{RUN_DIR}/predictions.npz", _half))),
    "render-missing-predictions": Case(
        "a finished run without `predictions.npz`", ["render", "demo"],
        f"{RUN_DIR}/predictions.npz is missing; re-run demo/s0",
        _finished(then=lambda ctx: (ctx.work / RUN_DIR / "predictions.npz").unlink())),
    "render-different-test-images": Case(
        "two runs of a table tested on different images", ["render", "pair"],
        "pair: runs r4--s0 and r8--s0 were tested on different images; re-run both",
        _finished("pair", then=lambda ctx: np.savez(
            ctx.work / "results/tiny/runs/pair/r8--s0/predictions.npz",
            y_true=np.zeros(20, np.int16), y_pred=np.zeros(20, np.int16),
            probs=np.full((20, 10), 0.1, np.float32)))),
    "render-params-corrupt": Case(
        "`ftbench render --params` with a params.csv of text counts", ["render", "--params"],
        "results/tiny/params.csv line 2: the parameter counts are not whole numbers; write it "
        "again with: ftbench params (make params)",
        _write("results/tiny/params.csv", "table,seed,variant,model,model_label,method,lora_r,"
               "lora_alpha,lora_targets,lora_modules,classes,trainable_params,total_params\n"
               "demo,,vit,vit,ViT,lora,4,8,qkv.q,2,10,many,all\n")),
    # --- result files: checkpoints and weights
    "truncated-checkpoint": Case(
        "a truncated `checkpoint.pt` in the run's folder", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt cannot be read (RuntimeError: truncated or "
        "corrupt); delete it to start this run over", _checkpoint(None, truncate=True)),
    "foreign-checkpoint": Case(
        "a `checkpoint.pt` saved under another identity", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt was saved by a different configuration (identity "
        f"{FOREIGN}, this run's is <identity>); delete it to start this run over",
        _checkpoint(FOREIGN)),
    "incomplete-checkpoint": Case(
        "a `checkpoint.pt` lacking what a resume reads", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt is incomplete (no 'inputs'); delete it to start "
        "this run over", _checkpoint(None)),
    "not-a-checkpoint": Case(
        "a `checkpoint.pt` that holds a list", RUN,
        f"checkpoint {RUN_DIR}/checkpoint.pt is not an ftbench checkpoint (format 2); delete it "
        "to start this run over",
        lambda ctx: atomic.write_atomic(ctx.work / RUN_DIR / "checkpoint.pt",
                                        lambda tmp: checkpoint.torch.save([1, 2], tmp))),
    "truncated-backbone": Case(
        "a truncated `backbone.safetensors` of the run it starts from", RUN,
        "cannot read pretrained weights results/tiny/runs/up/s0/backbone.safetensors "
        "(SafetensorError: truncated or not weights); delete results/tiny/runs/up/s0 and "
        "re-run up/s0 (make all)",
        _upstream(then=_write("results/tiny/runs/up/s0/backbone.safetensors", b"\x08\0\0"))),
    "missing-backbone": Case(
        "a run whose upstream backbone was never trained", RUN,
        "pretrained weights not found: results/tiny/runs/up/s0/backbone.safetensors; run up/s0 "
        "first (make all)", _upstream()),
    # --- data
    "missing-dataset": Case(
        "`data.name=cifar10` with an empty `DATA_DIR`", [*RUN, "data.name=cifar10"],
        "dataset cifar10 not found or incomplete at data/cifar-10-batches-py; fetch it with "
        "'make data' (or set DATA_DIR to where it is)", env={"DATA_DIR": "data"}),
    "missing-mnist": Case(
        "`data.name=mnist` with an empty `DATA_DIR`", [*RUN, "data.name=mnist"],
        "dataset mnist not found or incomplete at data/MNIST; fetch it with 'make data' (or set "
        "DATA_DIR to where it is)", env={"DATA_DIR": "data"}),
    "missing-food101": Case(
        "`data.name=food101` with an empty `DATA_DIR`", [*RUN, "data.name=food101"],
        "dataset food101 not found at data/food-101; fetch it with 'make data' (or set DATA_DIR "
        "to where it is)", env={"DATA_DIR": "data"}),
    "missing-tiny-imagenet": Case(
        "`data.name=tiny-imagenet` with an empty `DATA_DIR`", [*RUN, "data.name=tiny-imagenet"],
        "dataset tiny-imagenet not found at data/tiny-imagenet-200; fetch it with 'make data' "
        "(or set DATA_DIR to where it is)", env={"DATA_DIR": "data"}),
    "corrupt-image": Case(
        "a truncated JPEG inside Food-101",
        [*RUN, "data.name=food101", "data.val_fraction=0.5", "data.check_counts=false"],
        "image data/food-101/images/apple_pie/test0.jpg is unreadable (Truncated File Read); "
        "delete the dataset's folder and run 'make data' again",
        _data("food101", _truncate("food-101/images/apple_pie/test0.jpg")), {"DATA_DIR": "data"}),
    "corrupt-tiny-imagenet-image": Case(
        "a truncated JPEG inside Tiny-ImageNet",
        [*RUN, "data.name=tiny-imagenet", "data.val_fraction=0.2", "data.check_counts=false"],
        "image data/tiny-imagenet-200/val/images/val_0.JPEG is unreadable (Truncated File "
        "Read); delete the dataset's folder and run 'make data' again",
        _data("tiny_imagenet", _truncate("tiny-imagenet-200/val/images/val_0.JPEG")),
        {"DATA_DIR": "data"}),
    "partial-mnist": Case(
        "a copy of MNIST with 60 training images", [*RUN, "data.name=mnist"],
        "dataset mnist at data/MNIST is not the published copy (train split has 60 images, not "
        "60,000); delete it and run 'make data' again, or set data.check_counts=false for a "
        "copy that is partial on purpose", _data("mnist"), {"DATA_DIR": "data"}),
    "partial-cifar10": Case(
        "a copy of CIFAR-10 with 50 training images", [*RUN, "data.name=cifar10"],
        "dataset cifar10 at data/cifar-10-batches-py is not the published copy (train split has "
        "50 images, not 50,000; class 'c0' has 5, not 5,000); delete it and run 'make data' "
        "again, or set data.check_counts=false for a copy that is partial on purpose",
        _data("cifar10"), {"DATA_DIR": "data"}),
    "partial-food101": Case(
        "a copy of Food-101 missing an image its index names",
        [*RUN, "data.name=food101", "data.check_counts=false"],
        "dataset food101 is incomplete (1 of 12 images missing, e.g. images/ramen/train1.jpg) "
        "at data/food-101; fetch it with 'make data' (or set DATA_DIR to where it is)",
        _data("food101", lambda root: (root / "food-101/images/ramen/train1.jpg").unlink()),
        {"DATA_DIR": "data"}),
    "food101-meta-lacks-class": Case(
        "a Food-101 whose test.json lacks a class", [*RUN, "data.name=food101"],
        "dataset food101 at data/food-101/meta is inconsistent (test.json lacks class 'ramen' "
        "that train.json names); delete it and run 'make data' again",
        _data("food101", _food_lacks_class), {"DATA_DIR": "data"}),
    "tiny-imagenet-empty-class": Case(
        "a Tiny-ImageNet class folder with no images", [*RUN, "data.name=tiny-imagenet"],
        "dataset tiny-imagenet is incomplete (class folder n01629819/images is empty) at "
        "data/tiny-imagenet-200/train; fetch it with 'make data' (or set DATA_DIR to where it "
        "is)", _data("tiny_imagenet", _empty_class_folder), {"DATA_DIR": "data"}),
    "tiny-imagenet-unknown-wnid": Case(
        "a Tiny-ImageNet annotation naming a class wnids.txt lacks",
        [*RUN, "data.name=tiny-imagenet"],
        "dataset tiny-imagenet at data/tiny-imagenet-200/val/val_annotations.txt is "
        "inconsistent (line 3 names wnid 'n09999999', which wnids.txt lacks); delete it and run "
        "'make data' again", _data("tiny_imagenet", _unknown_wnid), {"DATA_DIR": "data"}),
    "mnist-labels-short": Case(
        "an MNIST with fewer labels than images", [*RUN, "data.name=mnist"],
        "dataset mnist at data/MNIST is inconsistent (train split: 60 images but 59 labels); "
        "delete it and run 'make data' again", _data("mnist", _mnist_labels_short),
        {"DATA_DIR": "data"}),
    "mnist-wrong-format": Case(
        "an MNIST images file that is not IDX", [*RUN, "data.name=mnist"],
        "dataset mnist is unreadable (AssertionError) at data/MNIST; delete that folder and run "
        "'make data' again", _data("mnist", lambda root: (
            root / "MNIST/raw/train-images-idx3-ubyte").write_bytes(b"not an idx file")),
        {"DATA_DIR": "data"}),
    "split-too-small": _override(
        "data.train_limit=5", "a stratified split of 1212 images into 1207 and 5 cannot hold "
        "all 10 classes on both sides; raise data.train_limit or change data.val_fraction",
        at=""),
    # --- the file system
    "unwritable-results": Case(
        "`--results blocker` where `blocker` is a file (or a read-only folder)",
        [*RUN, "--results", "blocker"],
        "results folder blocker/tiny is not writable (blocker is not a folder); pass --results "
        "DIR (make: RESULTS=DIR) or fix its permissions", _blocker),
    "dangling-results-link": Case(
        "`--results link` where `link` points nowhere", [*RUN, "--results", "link"],
        "results folder link/tiny is not writable (link is a link to nowhere, which does not "
        "exist); pass --results DIR (make: RESULTS=DIR) or fix the link", _dangling),
    "unwritable-generated": Case(
        "`ftbench render demo --generated blocker/sub` (under a file)",
        ["render", "demo", "--generated", "blocker/sub"],
        "LaTeX output folder blocker/sub/tiny is not writable (blocker is not a folder); pass "
        "--generated DIR (make: GENERATED_ROOT=DIR) or fix its permissions",
        lambda ctx: (_finish(ctx), _blocker(ctx))),
    "unwritable-make-file": Case(
        "`ftbench plan --make blocker/rules.mk`", ["plan", "--make", "blocker/rules.mk"],
        "Make rules folder blocker is not writable (blocker is not a folder); pass --make with a "
        "file in another folder or fix its permissions", _blocker),
    "full-disk-run": Case(
        "a full disk when a run writes its epoch log", RUN,
        f"cannot write {RUN_DIR}/epochs.jsonl (No space left on device); free some space there "
        "(or choose another folder), then run the command again", _full_disk()),
    "full-disk-aggregate": Case(
        "a full disk when `aggregate` writes the CSV", ["aggregate", "demo"],
        "cannot write results/tiny/demo.csv (No space left on device); free some space there "
        "(or choose another folder), then run the command again",
        lambda ctx: (_finish(ctx), _full_disk()(ctx))),
    "full-disk-render": Case(
        "a full disk when `render` writes a figure", ["render", "demo"],
        "cannot write paper/generated/tiny/demo/fig-acc-vs-params.pdf (No space left on "
        "device); free some space there (or choose another folder), then run the command again",
        lambda ctx: (_finish(ctx), _full_disk()(ctx))),
    "read-only-file-system": Case(
        "a read-only file system when `aggregate` writes the CSV", ["aggregate", "demo"],
        "cannot write results/tiny/demo.csv (Read-only file system); the file system is "
        "read-only: choose another folder",
        lambda ctx: (_finish(ctx), _full_disk(error=errno.EROFS)(ctx))),
    "full-disk-checkpoint": Case(
        "a full disk when torch.save writes the checkpoint (its iostream error)", RUN,
        f"cannot write {RUN_DIR}/checkpoint.pt (the write failed: out of space?); free some "
        "space there (or choose another folder), then run the command again",
        _full_disk("torch.save"), keeps=(f"{RUN_DIR}/epochs.jsonl",)),
    "run-folder-is-a-link": Case(
        "a planned run's folder that is a link to another folder", RUN,
        f"{RUN_DIR} is a link (to elsewhere), not the run's own folder: a run must not write "
        "over another's files; delete the link and run again", _linked_run_folder),
    "run-locked": Case(
        "a second process on a run the first one holds", RUN,
        f"another process is working on {RUN_DIR} (it holds run.lock); wait for it to finish, "
        "or stop it", _locked),
    "tree-held-by-make": Case(
        "`ftbench run` (or a second `make`) while a make is writing the same results tree", RUN,
        "results/tiny is being written by make (", _make_holds_tree),
}
