"""The checks that span several fields of a run, or need a registry (datasets, timm's models).

Single-field choices and bounds are in the schema (`config.schema`); here is what would
otherwise fail mid-run, checked when the runs are planned.
"""

from __future__ import annotations

import math
import re

from ftbench.config.schema import ReportConfig, RunConfig
from ftbench.config.typed import choose, suggest
from ftbench.data.registry import DATASETS
from ftbench.errors import UserError


def _names(cfg: RunConfig, where: str, check_models: bool) -> None:
    choose(cfg.data.name, sorted(DATASETS), "data.name", where)
    if check_models:
        from ftbench.models.registry import check_model_name

        check_model_name(cfg.model.name, where)
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", cfg.device):
        raise UserError(f"{where}: device must be auto, cpu, cuda or cuda:N (got '{cfg.device}')")


def _method(cfg: RunConfig, where: str) -> None:
    if cfg.method.name == "lora" and not cfg.method.targets:
        raise UserError(f"{where}: method lora needs method.targets, e.g. [qkv.q, qkv.v]")
    if cfg.probe.enabled and cfg.method.name != "full":
        raise UserError(f"{where}: probe.enabled needs method.name full "
                        f"(got '{cfg.method.name}')")


def _weights(cfg: RunConfig, where: str) -> None:
    p = cfg.model.pretrained
    run_ref = re.fullmatch(r"run:[\w.+-]+/[\w.+-]+", p)
    if not (p in ("none", "timm") or run_ref or (p.startswith("file:") and len(p) > 5)):
        raise UserError(f"{where}: model.pretrained '{p}' is not none, timm, "
                        "run:<table>/<run-id> or file:<path>")
    if cfg.model.pretrained_file and p != "timm":
        raise UserError(f"{where}: model.pretrained_file replaces the hub's weights and needs "
                        f"model.pretrained: timm (got '{p}')")


def training_images(cfg: RunConfig) -> int | None:
    """How many images a run trains on, known from the registry without loading the data."""
    pool = DATASETS[cfg.data.name].train_size
    if pool is None:
        return None
    if cfg.data.val_from == "train":
        pool -= math.ceil(cfg.data.val_fraction * pool)
    return min(pool, cfg.data.train_limit) if cfg.data.train_limit else pool


def _batches(cfg: RunConfig, where: str) -> None:
    t, d = cfg.train, cfg.data
    if not d.mixing:
        return
    if t.batch_size % 2:
        raise UserError(f"{where}: MixUp/CutMix mix pairs of images and need an even "
                        f"train.batch_size (got {t.batch_size}); set e.g. "
                        f"train.batch_size={t.batch_size + 1}")
    n = training_images(cfg)
    if n is not None and n < t.batch_size:
        raise UserError(f"{where}: MixUp/CutMix drop a last partial batch, and the {n} training "
                        f"images fill no batch of train.batch_size {t.batch_size}; lower "
                        "train.batch_size or raise data.train_limit")


def _input_size(cfg: RunConfig, where: str) -> None:
    """A ViT is built for one input size: another fails only when the first batch arrives."""
    from ftbench.models.registry import fixed_input_size

    side = fixed_input_size(cfg.model.name, cfg.model.kwargs, where)
    if side is not None and side != cfg.data.image_size:
        raise UserError(f"{where}: model {cfg.model.name} takes {side} px inputs, but "
                        f"data.image_size is {cfg.data.image_size}; set data.image_size={side} "
                        "(or model.kwargs.img_size)")


def validate(cfg: RunConfig, where: str, check_models: bool = True) -> RunConfig:
    """Cross-field rules. `check_models` looks models up in timm (which costs importing timm:
    commands that only read results skip it)."""
    _names(cfg, where, check_models)
    _method(cfg, where)
    _weights(cfg, where)
    _batches(cfg, where)
    if check_models:
        _input_size(cfg, where)
    return cfg


# The CSV columns that hold a run's settings as numbers: what a grid table's axes can be.
GRID_COLUMNS = ("seed", "lora_r", "lora_alpha", "lora_dropout", "epochs", "lr", "batch_size",
                "weight_decay", "grad_clip")


def check_report(report: ReportConfig, runs: list, where: str) -> None:
    """The axes and columns a table's `report:` names must exist: a typo would otherwise fail
    when the table is rendered, after every run has trained."""
    if not runs:
        return
    axes = list(runs[0].axes)
    for axis in report.paired_by or []:
        if axis not in axes:
            raise UserError(f"{where}: report.paired_by names axis '{axis}', which the table "
                            f"lacks{suggest(axis, axes)}; choose from: "
                            f"{', '.join(axes) or '(none)'}")
    if report.table == "grid":
        for kind in ("rows", "cols", "panels"):
            column = getattr(report.grid, kind)
            if column not in GRID_COLUMNS:
                raise UserError(f"{where}: report.grid.{kind} '{column}' is not a numeric column "
                                f"of the table's CSV{suggest(column, GRID_COLUMNS)}; choose one "
                                f"of: {', '.join(GRID_COLUMNS)}")
    if report.table == "study":
        labels = sorted({r.axes.get("setting") for r in runs} - {None})
        if not labels:
            raise UserError(f"{where}: a study table needs an axis named 'setting'; rename its "
                            "axis or choose another report.table")
        if report.main and report.main not in labels:
            raise UserError(f"{where}: report.main '{report.main}' is not a setting of the table"
                            f"{suggest(report.main, labels)}; choose one of: {', '.join(labels)}")
