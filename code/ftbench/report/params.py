"""The params table: trainable and total parameters of every configuration at full size.

Counted on the `paper` profile's configurations whatever the profile being built, by
instantiating each full-size model with random weights on the CPU (no download, no training)
and applying its method, so the numbers are those of the paper's models in every profile.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import timm
from tqdm import tqdm

from ftbench import atomic
from ftbench.config import Experiment
from ftbench.data.registry import DATASETS
from ftbench.models.factory import use_cifar_stem
from ftbench.models.methods import apply_method, count_parameters

COLUMNS = ["table", "seed", "variant", "model", "model_label", "method", "lora_r", "lora_alpha",
           "lora_targets", "classes", "trainable_params", "total_params"]


def config_key(table: str, c) -> tuple:
    """What the counts depend on: runs of a table that share it share one row."""
    return (table, c.model.name, json.dumps(c.model.kwargs, sort_keys=True), c.model.cifar_stem,
            json.dumps(c.method.__dict__, sort_keys=True), DATASETS[c.data.name].num_classes,
            c.data.channels)


def configurations(experiments: list[Experiment]) -> list[dict]:
    """One entry per distinct (model, method, classes) of each table, in config order."""
    out, seen = [], set()
    for e in experiments:
        for r in e.runs:
            c = r.config
            classes = DATASETS[c.data.name].num_classes
            key = config_key(e.name, c)
            if key in seen:
                continue
            seen.add(key)
            variant = "/".join(v for k, v in r.axes.items() if k != "dataset") or r.run_id
            out.append({"experiment": e, "config": c, "classes": classes, "variant": variant,
                        "key": key})
    return out


def count_all(experiments: list[Experiment]) -> list[dict]:
    rows = []
    for item in tqdm(configurations(experiments), desc="params", disable=None):
        c, e = item["config"], item["experiment"]
        model = timm.create_model(c.model.name.split(".")[0], pretrained=False,
                                  num_classes=item["classes"], in_chans=c.data.channels,
                                  **c.model.kwargs)
        if c.model.cifar_stem:
            use_cifar_stem(model)
        trainable, total = count_parameters(apply_method(model, c.method))
        lora = c.method.name == "lora"
        rows.append({
            "table": e.name, "seed": e.seed, "variant": item["variant"], "model": c.model.name,
            "model_label": c.model.label or c.model.name, "method": c.method.name,
            "lora_r": c.method.r if lora else "", "lora_alpha": c.method.alpha if lora else "",
            "lora_targets": " ".join(c.method.targets) if lora else "",
            "classes": item["classes"], "trainable_params": trainable, "total_params": total,
        })
    return rows


def write_params(experiments: list[Experiment], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(count_all(experiments))
    atomic.write_text(Path(path), buf.getvalue())
