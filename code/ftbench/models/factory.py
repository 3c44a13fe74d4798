"""Models from timm's registry, with pretrained weights from the hub, a pipeline run or a file."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

import ftbench.models.micro  # noqa: F401  (registers the scaled-down models with timm)
from ftbench.errors import UserError
from ftbench.store.layout import BACKBONE, run_path


def classifier_prefix(model: nn.Module) -> str:
    return model.pretrained_cfg.get("classifier", "head")


def backbone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """State dict without the classifier: what a later fine-tuning run starts from."""
    prefix = classifier_prefix(model) + "."
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if not k.startswith(prefix)}


def load_backbone(model: nn.Module, path: Path, run: str | None = None) -> None:
    """Load every weight but the classifier, which stays new; mismatches are user errors.
    `run`: the run that writes the file, if a run of the plan does."""
    path = Path(path)
    if not path.is_file():
        fix = f"run {run} first (make all)" if run else "check the path in model.pretrained"
        raise UserError(f"pretrained weights not found: {path}; {fix}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file: say which, not a traceback
        what = exc.__class__.__name__
        fix = (f"delete {path.parent} and re-run {run} (make all)" if run
               else "check the file named in model.pretrained")
        raise UserError(f"cannot read pretrained weights {path} ({what}: truncated or not "
                        f"weights); {fix}") from None
    prefix = classifier_prefix(model) + "."
    state = {k: v for k, v in state.items() if not k.startswith(prefix)}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(prefix)]
    if missing or result.unexpected_keys:
        what = missing[:3] or result.unexpected_keys[:3]
        raise UserError(f"pretrained weights {path} do not fit model {model.__class__.__name__}: "
                        f"mismatched keys {what}; check model.name and model.kwargs")


def use_cifar_stem(model: nn.Module) -> None:
    """ResNet for 32 px images: conv1 becomes 3x3 with stride 1 and the max-pool goes
    (write-up 001)."""
    if not (isinstance(getattr(model, "conv1", None), nn.Conv2d) and hasattr(model, "maxpool")):
        raise UserError(f"model.cifar_stem needs a ResNet with conv1 and maxpool; "
                        f"{model.__class__.__name__} has none")
    old = model.conv1
    model.conv1 = nn.Conv2d(old.in_channels, old.out_channels, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()


def _timm_model(cfg, num_classes: int, in_chans: int) -> nn.Module:
    kwargs = dict(num_classes=num_classes, in_chans=in_chans, **cfg.kwargs)
    if cfg.pretrained != "timm":
        return timm.create_model(cfg.name, pretrained=False, **kwargs)
    if not cfg.pretrained_file:
        try:
            return timm.create_model(cfg.name, pretrained=True, **kwargs)
        except OSError as exc:  # offline, or the hub is unreachable
            raise UserError(f"cannot fetch the pretrained weights of {cfg.name} "
                            f"({exc.__class__.__name__}); prefetch them with 'make weights', "
                            "or set model.pretrained_file to a local copy") from None
    path = Path(cfg.pretrained_file).expanduser()
    if not path.is_file():
        raise UserError(f"model.pretrained_file {path} not found; copy the weights of "
                        f"{cfg.name} there (see 'make weights')")
    try:  # timm's own loader: weights only, its checkpoint filters, a new head if needed
        return timm.create_model(cfg.name, pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(path)), **kwargs)
    except Exception as exc:
        raise UserError(f"cannot load model.pretrained_file {path} into {cfg.name}: "
                        f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}") from None


def prefetch_weights(name: str) -> str:
    """Download the hub weights of timm model `name` into timm's (Hugging Face) cache."""
    try:
        model = timm.create_model(name, pretrained=True)
    except OSError as exc:
        raise UserError(f"cannot fetch the weights of {name} ({exc.__class__.__name__}); "
                        "check the network") from None
    cfg = model.pretrained_cfg
    return cfg.get("hf_hub_id") or cfg.get("url") or "timm cache"


def untrained(cfg):
    """The same model configuration with random weights: counting and dry runs need no
    download."""
    import dataclasses

    return dataclasses.replace(cfg, pretrained="none", pretrained_file="")


def create_model(cfg, num_classes: int, in_chans: int, results_dir: Path | None) -> nn.Module:
    """A timm model with a new `num_classes` head, its backbone initialised as `cfg.pretrained`."""
    model = _timm_model(cfg, num_classes, in_chans)
    if cfg.cifar_stem:
        use_cifar_stem(model)
    if cfg.pretrained.startswith("run:"):
        key = cfg.pretrained[4:]
        load_backbone(model, run_path(results_dir, key) / BACKBONE, key)
    elif cfg.pretrained.startswith("file:"):
        load_backbone(model, Path(cfg.pretrained[5:]).expanduser())
    return model
