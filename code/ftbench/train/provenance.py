"""What produced a number: hardware and software, recorded in every run summary."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from ftbench.store.commit import git_commit
from ftbench.store.hashing import file_sha256
from ftbench.store.layout import BACKBONE, run_path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({len(os.sched_getaffinity(0))} cores)"


def environment(device: torch.device) -> dict:
    from importlib.metadata import version

    import timm
    import torchvision

    commit, dirty = git_commit()
    return {
        "device": str(device),
        "device_name": device_name(device),
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        # from its metadata: importing peft (and with it transformers) costs a run without
        # LoRA about 3 s, as much as its training on the tiny profile
        "peft": version("peft"),
        "git_commit": commit,
        "git_dirty": dirty,
        "threads": torch.get_num_threads(),  # float sums, and so the numbers, depend on it
    }


def _hub_file(name: str) -> Path | None:
    """The local copy of a timm model's hub weights, if they are in the Hugging Face cache."""
    import timm
    from huggingface_hub import try_to_load_from_cache

    repo = (timm.models.get_pretrained_cfg(name) or {}).__dict__.get("hf_hub_id") or ""
    for filename in ("model.safetensors", "open_clip_pytorch_model.bin", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo, filename) if repo else None
        if isinstance(found, str):
            return Path(found)
    return None


def loaded_weights(model_cfg, results: Path) -> dict[str, str]:
    """sha256 of every pretrained weight file a run loads, by what it is."""
    p = model_cfg.pretrained
    if p.startswith("run:"):
        path = run_path(results, p[4:]) / BACKBONE
    elif p.startswith("file:"):
        path = Path(p[5:]).expanduser()
    elif p == "timm":
        path = (Path(model_cfg.pretrained_file).expanduser() if model_cfg.pretrained_file
                else _hub_file(model_cfg.name))
    else:
        return {}
    return {str(path): file_sha256(path)} if path else {p: "not found in the cache"}
