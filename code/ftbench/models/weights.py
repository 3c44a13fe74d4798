"""What a finished run keeps of what it trained, in the formats its users load.

    weights/adapter/           LoRA runs: peft's adapter folder (adapter_config.json and
                               adapter_model.safetensors); PeftModel.from_pretrained loads it onto
                               `base_model(...)`, the model ftbench's factory builds
    weights/head.safetensors   LoRA and classifier-only runs: the new classifier
    weights/model.safetensors  full fine-tuning (train.save_weights: trainable), or any run with
                               train.save_weights: all: every weight and buffer of the model

Everything is safetensors: data, never code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ftbench.errors import UserError
from ftbench.models.factory import create_model
from ftbench.models.methods import apply_method, split_fused_qkv, wants_split_qkv
from ftbench.store import atomic
from ftbench.store.atomic import DIR_MODE, FILE_MODE
from ftbench.store.layout import WEIGHTS

ADAPTER, HEAD, MODEL = "adapter", "head.safetensors", "model.safetensors"


def _plain(state: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _save(state: dict, path: Path, write) -> None:
    atomic.write_atomic(path, lambda tmp: write(state, tmp))


def save(model: nn.Module, cfg, folder: Path) -> dict:
    """Write what `cfg.train.save_weights` asks for; returns {file: bytes} for the summary."""
    out = Path(folder) / WEIGHTS
    how = cfg.train.save_weights
    if how == "none":
        return {}
    if how == "all" or cfg.method.name == "full":
        _save(_plain(model.state_dict()), out / MODEL, lambda s, t: save_file(s, str(t)))
    else:
        head = _unwrapped(model).get_classifier()
        _save(_plain(head.state_dict()), out / HEAD, lambda s, t: save_file(s, str(t)))
        if cfg.method.name == "lora":
            _save_adapter(model, out / ADAPTER)
    return {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def _save_adapter(model, folder: Path) -> None:
    """peft's own files, written in a temporary folder and renamed into place whole."""
    import os
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".adapter."))
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "README.md").unlink(missing_ok=True)  # peft's empty model card
        _sort_target_modules(tmp / "adapter_config.json")

        for p in tmp.iterdir():  # mkdtemp and peft's writes: as readable as any other output
            os.chmod(p, FILE_MODE)
        os.chmod(tmp, DIR_MODE)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sort_target_modules(path: Path) -> None:
    """peft keeps target_modules as a set and writes it in hash order, which changes from one
    process to the next: sorted, a rebuilt adapter folder is byte-identical to the last."""
    import json

    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        path.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def base_model(cfg, num_classes: int, results: Path, folder: Path) -> nn.Module:
    """The model as the run built it before training (its backbone from `model.pretrained`,
    timm's fused qkv split where LoRA targets q or v), with the run's trained classifier: what
    `PeftModel.from_pretrained(base_model(...), <run>/weights/adapter)` expects."""
    model = create_model(cfg.model, num_classes, cfg.data.channels, results)
    if cfg.method.name == "lora" and wants_split_qkv(cfg.method.targets):
        split_fused_qkv(model)
    head = Path(folder) / WEIGHTS / HEAD
    if head.exists():
        model.get_classifier().load_state_dict(_read(head))
    return model


def _read(path: Path) -> dict:
    try:
        return load_file(str(path))
    except Exception as exc:  # truncated or foreign: one line, not safetensors' traceback
        run = path.parent.parent  # <run>/weights/<file>
        raise UserError(f"{path} cannot be read ({type(exc).__name__}: truncated or corrupt); "
                        f"delete {run} and re-run it (make all)") from None


def load(cfg, num_classes: int, results: Path, folder: Path) -> nn.Module:
    """The trained model of a finished run, rebuilt from its saved weights."""
    out = Path(folder) / WEIGHTS
    if (out / MODEL).exists():
        model = apply_method(create_model(cfg.model, num_classes, cfg.data.channels, results),
                             cfg.method)
        model.load_state_dict(_read(out / MODEL))
        return model
    if cfg.method.name == "full" or not (out / HEAD).exists():
        raise UserError(f"{folder} keeps no weights (train.save_weights was "
                        f"'{cfg.train.save_weights}'); re-run it with train.save_weights="
                        "trainable to evaluate it")
    model = base_model(cfg, num_classes, results, folder)
    if cfg.method.name == "head":
        return model
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(model, str(out / ADAPTER))
    except (OSError, ValueError) as exc:
        raise UserError(f"{out / ADAPTER} cannot be loaded ({type(exc).__name__}); re-run the "
                        "run to write it again") from None
