"""Which model names a config may use, and the input size a model insists on: timm's own
registry, with the scaled-down models registered in it (`models.micro`). A leaf for the config
checks: it imports nothing of ftbench but the models that register with timm.
"""

from __future__ import annotations

import difflib
import functools
import json

import timm
import torch

import ftbench.models.micro  # noqa: F401  (registers the scaled-down models with timm)
from ftbench.errors import UserError


def check_model_name(name: str, where: str) -> None:
    if timm.is_model(name.split(".")[0]):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UserError(f"{where}: unknown model '{name}'{hint}; list names with timm.list_models()")


@functools.cache
def _fixed_input_size(name: str, kwargs_json: str) -> int | None:
    # On the meta device: shapes without memory or initialisation, in milliseconds.
    with torch.device("meta"):
        model = timm.create_model(name.split(".")[0], pretrained=False,
                                  **json.loads(kwargs_json))
    embed = getattr(model, "patch_embed", None)
    if embed is None or getattr(embed, "dynamic_img_size", False) or not embed.strict_img_size:
        return None
    size = embed.img_size
    return size[0] if size[0] == size[1] else None


def fixed_input_size(name: str, kwargs: dict, where: str = "model") -> int | None:
    """The input side a model is built for and insists on (a ViT's), or None (a CNN's)."""
    kwargs_json = json.dumps(kwargs, sort_keys=True)
    try:
        return _fixed_input_size(name, kwargs_json)
    except Exception as exc:  # whatever timm makes of unknown or impossible kwargs: one line
        detail = (str(exc).splitlines() or [""])[0][:160]
        raise UserError(f"{where}: model {name} cannot be built with model.kwargs {kwargs_json} "
                        f"({type(exc).__name__}: {detail}); fix model.kwargs") from None
