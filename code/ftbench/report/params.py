"""The params table: trainable and total parameters of every configuration at full size.

Counted on the `paper` profile's configurations whatever the profile being built, by
instantiating each full-size model on the meta device (shapes without weights: no download, no
training, no memory) and applying its method, so the numbers are those of the paper's models in
every profile.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch
from tqdm import tqdm

from ftbench.config import Experiment
from ftbench.config.identity import params_key
from ftbench.data.registry import DATASETS
from ftbench.errors import UserError
from ftbench.models.factory import create_model, untrained
from ftbench.models.methods import apply_method, count_parameters
from ftbench.store import atomic

COLUMNS = ["table", "writeup", "variant", "model", "model_label", "method", "lora_r", "lora_alpha",
           "lora_targets", "lora_modules", "classes", "trainable_params", "total_params"]


def configurations(experiments: list[Experiment]) -> list[dict]:
    """One entry per distinct (model, method, classes) of each table, in config order."""
    out, seen = [], set()
    for e in experiments:
        for r in e.runs:
            c = r.config
            classes = DATASETS[c.data.name].num_classes
            key = params_key(e.name, c)
            if key in seen:
                continue
            seen.add(key)
            variant = "/".join(v for k, v in r.axes.items() if k != "dataset") or r.run_id
            out.append({"experiment": e, "config": c, "classes": classes, "variant": variant,
                        "key": key})
    return out


def adapted_modules(model) -> str:
    """The modules LoRA adapts, as a reader names them: 'conv1, conv2 of layer3, layer4 (12)'
    rather than the regular expression that chose them."""
    names = [n.removeprefix("base_model.model.") for n, m in model.named_modules()
             if hasattr(m, "lora_A")]
    if not names:
        return ""
    stages = dict.fromkeys(n.split(".")[0] for n in names)
    leaves = dict.fromkeys(".".join(p for p in n.split(".")[1:] if not p.isdigit())
                           for n in names)
    return f"{', '.join(leaves)} of {', '.join(stages)} ({len(names)})"


def count_all(experiments: list[Experiment]) -> list[dict]:
    rows = []
    for item in tqdm(configurations(experiments), desc="params", disable=None):
        c, e = item["config"], item["experiment"]
        with torch.device("meta"):  # shapes without values: counting needs no weights (4x faster)
            model = create_model(untrained(c.model), item["classes"], c.data.channels, None)
            model = apply_method(model, c.method)
        trainable, total = count_parameters(model)
        lora = c.method.name == "lora"
        rows.append({
            "table": e.name, "writeup": e.writeup, "variant": item["variant"],
            "model": c.model.name,
            "model_label": c.model.label or c.model.name, "method": c.method.name,
            "lora_r": c.method.r if lora else "", "lora_alpha": c.method.alpha if lora else "",
            "lora_targets": " ".join(c.method.targets) if lora else "",
            "lora_modules": adapted_modules(model) if lora else "",
            "classes": item["classes"], "trainable_params": trainable, "total_params": total,
        })
    return rows


def params_text(experiments: list[Experiment]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(count_all(experiments))
    return buf.getvalue()


def write_params(experiments: list[Experiment], path: Path) -> None:
    atomic.write_text(Path(path), params_text(experiments))


def check_params(experiments: list[Experiment], path: Path) -> None:
    """params.csv is a recount of the paper profile's configurations: the parameter claims
    and the params table read it, so an edited or outdated one stops the build."""
    if Path(path).read_text(encoding="utf-8") != params_text(experiments):
        raise UserError(f"{path} differs from a recount of the paper profile's configurations "
                        "(edited by hand, or written from other configs or by another version "
                        "of ftbench); write it again with: ftbench params (make params)")
