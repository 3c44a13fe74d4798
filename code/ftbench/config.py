"""Configuration as plain data.

A run is described by `RunConfig` (dataclasses below). Experiments live in `configs/<table>.yaml`,
one file per benchmark table; each expands into runs over its axes (datasets, variants, sweeps)
and seeds. Values are layered, lowest first:

    dataclass defaults < configs/profiles/<profile>.yaml `run:` < experiment `base:`
    < experiment `profiles.<profile>:` overlay < axis values < key=value overrides

Every layer is checked: unknown keys (with a did-you-mean), wrong types and unknown names raise
`UserError`, which the CLI prints as one line with exit status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import itertools
import json
import re
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ftbench.errors import UserError

METHODS = ("full", "head", "lora")
OPTIMIZERS = ("adamw", "adam", "sgd", "rmsprop")
SCHEDULES = ("cosine", "linear", "onecycle", "constant", "step", "cosine_restarts")
PRECISIONS = ("auto", "bf16", "fp32")
CLIP_MODES = ("norm", "value")
AUGMENTATIONS = ("flip", "crop", "resized-crop", "jitter")


@dataclass
class ModelConfig:
    name: str = "resnet50"  # a timm model name (timm.list_models)
    label: str = ""  # how tables name it; scaled-down models must say so
    # none | timm (the hub weights of `name`) | run:<table>/<run-id> (a pipeline checkpoint)
    # | file:<path> (a local state dict, for offline machines)
    pretrained: str = "none"
    # with pretrained: timm, read the hub weights from this local copy (.safetensors or .pth,
    # loaded weights-only) instead of downloading them: for offline machines
    pretrained_file: str = ""
    kwargs: dict = field(default_factory=dict)  # passed to timm.create_model
    cifar_stem: bool = False  # ResNet: 3x3 stride-1 conv1 and no max-pool, for 32 px inputs


@dataclass
class MethodConfig:
    name: str = "full"  # full: every weight trains; head: classifier only; lora: peft adapters
    r: int = 8
    alpha: float = 16.0  # the update is scaled by alpha / r, as a float
    dropout: float = 0.0
    # peft target_modules: names matched as suffixes (`qkv.q` hits `blocks.0.attn.qkv.q`),
    # or a single regex matched against full module names. `qkv.q`/`qkv.k`/`qkv.v` split
    # timm's fused attention projection so that q and v can be adapted alone.
    targets: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    name: str = "digits"  # see ftbench.data.registry
    label: str = ""  # how tables name it (default: the registry's name), e.g. a stand-in's role
    image_size: int = 32  # the model's input side; images are resized on the device
    channels: int = 3  # grayscale images are repeated to 3 channels for RGB backbones
    val_fraction: float = 0.1  # carved from train, stratified, where a dataset has no val split
    val_from: str = "train"  # train | test: seed 003 carves val (70%) and test (30%) from test
    split_seed: int = 0  # fixed for every run, so all methods see the same split
    train_limit: int = 0  # use at most this many training images (0: all)
    # flip; crop (random crop with padding); resized-crop (random area 8-100%, ratio 3/4-4/3);
    # jitter (brightness, contrast, saturation +-10%, per image)
    augment: list[str] = field(default_factory=list)
    mixup: float = 0.0  # MixUp alpha (timm's Mixup; 0: off)
    cutmix: float = 0.0  # CutMix alpha; with both on, each batch uses one of them


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 64
    eval_batch_size: int = 256
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd and rmsprop only
    # stepped once per optimizer step; step: x0.1 at 50% and 75% of training;
    # cosine_restarts: cosine over each quarter of training, restarting at the full rate
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    grad_clip: float = 0.0  # 0: off
    grad_clip_mode: str = "norm"
    accum_steps: int = 1
    label_smoothing: float = 0.0
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    # speed switches (make bench measures each): NHWC tensors for CNNs; torch.compile of the
    # training forward; the optimizer's fused kernel (adamw, adam, sgd)
    channels_last: bool = False
    compile: bool = False
    fused: bool = False
    # classifier-only runs with nothing random before the classifier (no augmentation, MixUp or
    # dropout) train on the frozen backbone's features computed once: the same result, without
    # the backbone's forward pass every epoch (ftbench.models.features); false: recompute
    cache_features: bool = True


@dataclass
class ProbeConfig:
    """Seed 001's looks inside the trained network (ftbench.probes); full training only."""

    enabled: bool = False
    images: int = 1024  # clean training images the loss landscape is measured on
    points_1d: int = 25  # steps along one direction, from -1 to 1
    points_2d: int = 13  # steps per side of the two-direction grid


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads (0: torch's default)
    save_backbone: bool = False  # keep the trained backbone for later fine-tuning runs
    merge_check: bool = False  # LoRA: time merged vs unmerged inference, compare predictions
    eval_train: bool = False  # also report accuracy on the clean training set (train-test gap)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    def essential(self) -> dict:
        """The values that differ from the defaults: what a result depends on. A new config
        field whose default keeps the old behaviour leaves this, and so every result, as it is."""
        return _non_default(self, RunConfig())

    def hash(self) -> str:
        """Content hash of the essential config."""
        blob = json.dumps(self.essential(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def _non_default(obj, default) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        value, base = getattr(obj, f.name), getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            if nested := _non_default(value, base):
                out[f.name] = nested
        elif value != base:
            out[f.name] = value
    return out


# ---------------------------------------------------------------------------------------------
# dict -> dataclass, with one-line errors


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, key: str, where: str):
    origin = typing.get_origin(tp)
    bad = UserError(
        f"{where}: '{key}' must be {_type_name(origin or tp)}, got {value!r}; fix the value"
    )
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise bad
        return [_coerce(v, item_tp, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if tp is dict:
        if not isinstance(value, dict):
            raise bad
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        # YAML 1.1 reads `1e-3` as a string; accept any numeric literal.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad
        return str(value)
    raise TypeError(f"unsupported config type {tp}")  # a programming error, not user input


def from_dict(cls, data: dict, where: str, prefix: str = ""):
    """Build dataclass `cls` from a (partial) dict; unknown keys and wrong types raise."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.') or 'config'}' must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            all_keys = [prefix + n for n in names]
            raise UserError(
                f"{where}: unknown key '{prefix}{key}'{_suggest(prefix + str(key), all_keys)}"
            )
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value, where, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, tp, prefix + key, where)
    return cls(**kwargs)


def deep_merge(base: dict, *overlays: dict) -> dict:
    """Recursive dict merge; lists and scalars in an overlay replace what is below."""
    out = copy.deepcopy(base)
    for overlay in overlays:
        for key, value in (overlay or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def parse_overrides(items: list[str]) -> dict:
    """`train.lr=3e-4 method.targets=[qkv.q,qkv.v]` -> nested dict (values parsed as YAML)."""
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w.]*", key):
            raise UserError(f"override '{item}' is not key=value; write e.g. train.epochs=3")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


# ---------------------------------------------------------------------------------------------
# semantic checks


def _choice(value: str, options, key: str, where: str) -> None:
    if value not in options:
        raise UserError(
            f"{where}: unknown {key} '{value}'{_suggest(value, options)}; "
            f"choose one of: {', '.join(options)}"
        )


def _at_least(value, low, key: str, where: str, example) -> None:
    if value < low:
        raise UserError(
            f"{where}: {key} must be at least {low} (got {value}); set e.g. {key}={example}"
        )


def validate(cfg: RunConfig, where: str, check_models: bool = True) -> RunConfig:
    """Semantic checks. `check_models` looks model names up in timm's registry (which costs
    importing timm: commands that only read results skip it)."""
    from ftbench.data.registry import DATASETS

    m, t, d = cfg.method, cfg.train, cfg.data
    _choice(m.name, METHODS, "method.name", where)
    _choice(t.optimizer, OPTIMIZERS, "train.optimizer", where)
    _choice(t.schedule, SCHEDULES, "train.schedule", where)
    _choice(t.precision, PRECISIONS, "train.precision", where)
    _choice(t.grad_clip_mode, CLIP_MODES, "train.grad_clip_mode", where)
    for aug in d.augment:
        _choice(aug, AUGMENTATIONS, "data.augment", where)
    _choice(d.name, sorted(DATASETS), "data.name", where)
    _choice(d.val_from, ("train", "test"), "data.val_from", where)
    if check_models:
        from ftbench.models.factory import check_model_name

        check_model_name(cfg.model.name, where)
    if m.name == "lora":
        _at_least(m.r, 1, "method.r", where, 8)
        if m.alpha <= 0:
            raise UserError(f"{where}: method.alpha must be positive (got {m.alpha})")
        if not 0 <= m.dropout < 1:
            raise UserError(f"{where}: method.dropout must be in [0, 1) (got {m.dropout})")
        if not m.targets:
            raise UserError(f"{where}: method lora needs method.targets, e.g. [qkv.q, qkv.v]")
    _at_least(t.epochs, 1, "train.epochs", where, 5)
    _at_least(t.batch_size, 1, "train.batch_size", where, 64)
    _at_least(t.eval_batch_size, 1, "train.eval_batch_size", where, 256)
    _at_least(t.accum_steps, 1, "train.accum_steps", where, 1)
    _at_least(d.image_size, 8, "data.image_size", where, 224)
    _at_least(d.train_limit, 0, "data.train_limit", where, 0)
    _at_least(d.mixup, 0, "data.mixup", where, 0.8)
    _at_least(d.cutmix, 0, "data.cutmix", where, 1.0)
    if (d.mixup or d.cutmix) and t.batch_size % 2:
        raise UserError(f"{where}: MixUp/CutMix mix pairs of images and need an even "
                        f"train.batch_size (got {t.batch_size}); set e.g. "
                        f"train.batch_size={t.batch_size + 1}")
    _at_least(t.weight_decay, 0, "train.weight_decay", where, 0.0)
    _at_least(t.grad_clip, 0, "train.grad_clip", where, 1.0)
    _at_least(t.warmup_epochs, 0, "train.warmup_epochs", where, 0)
    if cfg.probe.enabled:
        if m.name != "full":
            raise UserError(f"{where}: probe.enabled needs method.name full (got '{m.name}')")
        _at_least(cfg.probe.images, 1, "probe.images", where, 1024)
        _at_least(cfg.probe.points_1d, 3, "probe.points_1d", where, 25)
        _at_least(cfg.probe.points_2d, 3, "probe.points_2d", where, 13)
    if t.lr <= 0:
        raise UserError(f"{where}: train.lr must be positive (got {t.lr}); set e.g. train.lr=1e-3")
    if not 0 <= t.label_smoothing < 1:
        raise UserError(
            f"{where}: train.label_smoothing must be in [0, 1) (got {t.label_smoothing})")
    if not 0 < d.val_fraction < 1:
        raise UserError(f"{where}: data.val_fraction must be in (0, 1) (got {d.val_fraction})")
    if d.channels not in (1, 3):
        raise UserError(f"{where}: data.channels must be 1 or 3 (got {d.channels})")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", cfg.device):
        raise UserError(f"{where}: device must be auto, cpu, cuda or cuda:N (got '{cfg.device}')")
    p = cfg.model.pretrained
    run_ref = re.fullmatch(r"run:[\w.-]+/[\w.-]+", p)
    if not (p in ("none", "timm") or run_ref or p.startswith("file:")):
        raise UserError(f"{where}: model.pretrained '{p}' is not none, timm, "
                        "run:<table>/<run-id> or file:<path>")
    if cfg.model.pretrained_file and p != "timm":
        raise UserError(f"{where}: model.pretrained_file replaces the hub's weights and needs "
                        f"model.pretrained: timm (got '{p}')")
    return cfg


# ---------------------------------------------------------------------------------------------
# experiments and profiles

EXPERIMENT_KEYS = ("title", "seed", "description", "enabled", "base", "axes", "seeds", "report",
                   "profiles")
PROFILE_KEYS = ("description", "run", "seeds")


@dataclass
class RunSpec:
    table: str
    run_id: str
    axes: dict  # axis name -> value label, e.g. {"dataset": "cifar10", "variant": "vit-lora"}
    config: RunConfig

    @property
    def key(self) -> str:
        return f"{self.table}/{self.run_id}"

    @property
    def depends_on(self) -> list[str]:
        """Run keys whose outputs this run reads (a pipeline-pretrained backbone)."""
        p = self.config.model.pretrained
        return [p.removeprefix("run:")] if p.startswith("run:") else []


@dataclass
class Experiment:
    name: str
    path: Path
    title: str
    seed: str  # which seed write-up it comes from ("" if none)
    description: str
    report: dict
    runs: list[RunSpec]


def load_yaml(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: malformed YAML{at}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def _check_keys(doc: dict, allowed, where: str, prefix: str = "") -> None:
    for key in doc:
        if key not in allowed:
            raise UserError(f"{where}: unknown key '{prefix}{key}'{_suggest(str(key), allowed)}")


def list_profiles(config_dir: Path) -> list[str]:
    return sorted(p.stem for p in (Path(config_dir) / "profiles").glob("*.yaml"))


def load_profile(config_dir: Path, profile: str) -> dict:
    path = Path(config_dir) / "profiles" / f"{profile}.yaml"
    if not path.exists():
        names = list_profiles(config_dir)
        raise UserError(
            f"unknown profile '{profile}'{_suggest(profile, names)}; "
            f"choose one of: {', '.join(names) or '(none found in ' + str(config_dir) + ')'}"
        )
    doc = load_yaml(path)
    _check_keys(doc, PROFILE_KEYS, str(path))
    # Check the profile's run defaults on their own, so a typo is blamed on this file.
    from_dict(RunConfig, doc.get("run") or {}, str(path), "run.")
    return doc


def experiment_paths(config_dir: Path) -> list[Path]:
    return sorted(Path(config_dir).glob("*.yaml"))


def _axis_values(name: str, axis, where: str) -> list[tuple[str, dict]]:
    """An axis is {key: dotted.path, values: [..]} or {values: {label: overlay, ..}}."""
    if not isinstance(axis, dict) or "values" not in axis:
        raise UserError(f"{where}: axis '{name}' needs 'values' (a list with 'key', or a mapping)")
    _check_keys(axis, ("key", "values"), where, f"axes.{name}.")
    values = axis["values"]
    if isinstance(values, dict):
        return [(str(label), overlay or {}) for label, overlay in values.items()]
    if "key" not in axis or not isinstance(values, list):
        raise UserError(f"{where}: axis '{name}' with a list of values needs 'key: dotted.path'")
    out = []
    for v in values:
        label = str(v) if isinstance(v, str) else f"{name}{v}"
        overlay = parse_overrides([f"{axis['key']}={json.dumps(v)}"])
        out.append((label, overlay))
    return out


def load_experiment(path: Path, profile: str, config_dir: Path, overrides: dict | None = None,
                    profile_doc: dict | None = None, check_models: bool = True) -> Experiment:
    path = Path(path)
    where = str(path)
    doc = load_yaml(path)
    _check_keys(doc, EXPERIMENT_KEYS, where)
    overlay = (doc.get("profiles") or {}).get(profile) or {}
    _check_keys(overlay, [k for k in EXPERIMENT_KEYS if k != "profiles"], where,
                f"profiles.{profile}.")
    doc = deep_merge({k: v for k, v in doc.items() if k != "profiles"}, overlay)
    profile_doc = profile_doc if profile_doc is not None else load_profile(config_dir, profile)
    name = path.stem
    runs: list[RunSpec] = []
    if doc.get("enabled", True):
        base = deep_merge(profile_doc.get("run") or {}, doc.get("base") or {})
        axes = doc.get("axes") or {}
        names = list(axes)
        choices = [_axis_values(n, axes[n], where) for n in names]
        seeds = doc.get("seeds", profile_doc.get("seeds", [0]))  # else the profile's
        if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds) or not seeds:
            raise UserError(f"{where}: 'seeds' must be a non-empty list of integers")
        for combo in itertools.product(*choices):
            for seed in seeds:
                merged = deep_merge(base, *(ov for _, ov in combo), {"seed": seed},
                                   overrides or {})
                run_id = "--".join([label for label, _ in combo] + [f"s{seed}"])
                cfg = validate(from_dict(RunConfig, merged, f"{where} [{run_id}]"),
                               f"{where} [{run_id}]", check_models)
                axes_labels = {n: label for n, (label, _) in zip(names, combo, strict=True)}
                runs.append(RunSpec(name, run_id, axes_labels, cfg))
    return Experiment(
        name=name, path=path, title=str(doc.get("title", name)), seed=str(doc.get("seed", "")),
        description=str(doc.get("description", "")), report=doc.get("report") or {}, runs=runs,
    )


def load_all(config_dir: Path, profile: str, overrides: dict | None = None,
             check_models: bool = True) -> list[Experiment]:
    profile_doc = load_profile(config_dir, profile)
    exps = [load_experiment(p, profile, config_dir, overrides, profile_doc, check_models)
            for p in experiment_paths(config_dir)]
    keys = {r.key for e in exps for r in e.runs}
    for e in exps:
        for r in e.runs:
            for dep in r.depends_on:
                if dep not in keys:
                    raise UserError(
                        f"{e.path} [{r.run_id}]: model.pretrained names run '{dep}', which the "
                        f"'{profile}' profile does not plan; check the table and run id"
                    )
    return exps


def find_run(experiments: list[Experiment], key: str) -> RunSpec:
    runs = {r.key: r for e in experiments for r in e.runs}
    if key not in runs:
        raise UserError(f"unknown run '{key}'{_suggest(key, runs)}; list them with: ftbench plan")
    return runs[key]
