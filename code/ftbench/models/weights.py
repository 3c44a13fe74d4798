"""What a finished run keeps of what it trained, in the formats its users load.

    weights/adapter/           LoRA runs: peft's adapter folder (adapter_config.json and
                               adapter_model.safetensors), complete for peft alone: it names its
                               base model and holds the new classifier as a module to save, so
                               PeftModel.from_pretrained restores both onto the base model
    weights/head.safetensors   classifier-only runs: the new classifier
    weights/model.safetensors  full fine-tuning (train.save_weights: trainable), or any run with
                               train.save_weights: all: every weight and buffer of the model
    weights/README.md          the model card (ftbench.models.card), written with the summary

Everything is safetensors: data, never code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ftbench import faults
from ftbench.errors import UserError
from ftbench.models.factory import classifier_prefix, create_model
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


def save(model: nn.Module, cfg, folder: Path, base: str) -> dict:
    """Write what `cfg.train.save_weights` asks for; returns {file: bytes} for the summary.
    `base` is what the adapter names as its base model (ftbench.models.card.base_reference)."""
    out = Path(folder) / WEIGHTS
    # a redone or resumed run starts its folder afresh: an earlier attempt's files (another
    # save_weights, another method, its card) must not be listed or loaded as this run's
    shutil.rmtree(out, ignore_errors=True)
    how = cfg.train.save_weights
    if how == "none":
        return {}
    if how == "all" or cfg.method.name == "full":
        _save(_plain(model.state_dict()), out / MODEL, lambda s, t: save_file(s, str(t)))
    elif cfg.method.name == "lora":
        _save_adapter(model, out / ADAPTER, base)
    else:
        head = _unwrapped(model).get_classifier()
        _save(_plain(head.state_dict()), out / HEAD, lambda s, t: save_file(s, str(t)))
    return {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def _save_adapter(model, folder: Path, base: str) -> None:
    """peft's own files, completed (`_complete_adapter`), written in a temporary folder and
    renamed into place whole."""
    import os
    import shutil
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".adapter."))
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "README.md").unlink(missing_ok=True)  # peft's empty model card
        _complete_adapter(tmp, _unwrapped(model), base)

        for p in tmp.iterdir():  # mkdtemp and peft's writes: as readable as any other output
            os.chmod(p, FILE_MODE)
        os.chmod(tmp, DIR_MODE)
        shutil.rmtree(folder, ignore_errors=True)
        faults.point("write:adapter")  # written but not yet in place
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _complete_adapter(folder: Path, base_model: nn.Module, base: str) -> None:
    """What peft leaves out of an adapter we train: the base model's name, and the new
    classifier, which we train unfrozen in place (peft's `modules_to_save` would keep a second,
    frozen copy in the model and count it twice). Saved as peft saves a module to save (its
    weights beside the adapter's, the module listed in the config), `PeftModel.from_pretrained`
    restores it. peft writes target_modules in set order, which changes from one process to the
    next: sorted, a rebuilt adapter folder is byte-identical to the last."""
    import json

    prefix = classifier_prefix(base_model)
    path = folder / "adapter_model.safetensors"
    weights = load_file(str(path))
    weights |= {f"base_model.model.{prefix}.{k}": v
                for k, v in _plain(base_model.get_classifier().state_dict()).items()}
    save_file(dict(sorted(weights.items())), str(path))
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config |= {"base_model_name_or_path": base, "modules_to_save": [prefix]}
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


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
    if cfg.method.name == "full" or not ((out / HEAD).exists() or (out / ADAPTER).is_dir()):
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
