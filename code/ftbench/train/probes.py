"""Write-up 001's looks inside a trained network, measured at the end of its run.

- filters: the first convolution's learned filters applied to sample test images;
- stride and padding: one learned filter applied with strides 1-3 and paddings 0-2, and the
  feature-map side each gives, floor((H + 2p - k) / s) + 1;
- loss landscape (Li et al. 2018): the training loss along one and two random directions around
  the initial and the trained weights. Each direction is filter-normalised: every filter (a slice
  along the first axis of a weight) gets the norm of the same filter of the weights it perturbs,
  so that plots of differently scaled networks compare; biases and BatchNorm are not moved.

The arrays go to `probes.npz` in the run's folder; `ftbench render` draws them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm import tqdm

from ftbench.train.engine import infer

STRIDES = (1, 2, 3)
PADDINGS = (0, 1, 2)
SAMPLE_IMAGES = 4
SHOWN_FILTERS = 8


def first_conv(model: nn.Module) -> nn.Conv2d:
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError(f"{model.__class__.__name__} has no convolution to probe")
    return conv


def random_directions(model: nn.Module, n: int, gen: torch.Generator) -> list[dict]:
    """`n` Gaussian directions over the weights (matrices and kernels; biases and norms stay)."""
    return [{name: torch.randn(p.shape, generator=gen) if p.dim() > 1 else torch.zeros(p.shape)
             for name, p in model.named_parameters()} for _ in range(n)]


def filter_normalise(direction: dict, weights: dict) -> dict:
    """Rescale each filter of `direction` to the norm of the same filter of `weights`."""
    out = {}
    for name, d in direction.items():
        w = weights[name]
        if d.dim() <= 1:
            out[name] = torch.zeros_like(w)
            continue
        dims = tuple(range(1, d.dim()))
        d = d.to(w.device, w.dtype)
        w_norm = torch.linalg.vector_norm(w, dim=dims, keepdim=True)
        out[name] = d * (w_norm / (torch.linalg.vector_norm(d, dim=dims, keepdim=True) + 1e-10))
    return out


def mean_loss(model, params: dict, batches: list, autocast) -> float:
    logits, y = infer(lambda x: functional_call(model, params, (x,)), batches, autocast)
    return F.cross_entropy(logits, y).item()


@torch.no_grad()
def loss_landscape(model, state: dict, raw_dirs: list[dict], batches: list, autocast,
                   points_1d: int, points_2d: int, desc: str) -> dict:
    """Loss on a line and on a plane through `state`, along `raw_dirs` filter-normalised to it."""
    model.load_state_dict(state)  # weights and BatchNorm statistics of this point
    model.eval()
    centre = {n: p.detach().clone() for n, p in model.named_parameters()}
    d1, d2 = (filter_normalise(d, centre) for d in raw_dirs)
    line = np.linspace(-1, 1, points_1d)
    side = np.linspace(-1, 1, points_2d)
    bar = tqdm(total=points_1d + points_2d**2, desc=desc, leave=False, disable=None)

    def at(a: float, b: float) -> float:
        bar.update()
        return mean_loss(model, {n: centre[n] + a * d1[n] + b * d2[n] for n in centre},
                         batches, autocast)

    out = {"line": line, "loss_1d": np.array([at(a, 0.0) for a in line]), "side": side,
           "loss_2d": np.array([[at(a, b) for a in side] for b in side])}
    bar.close()
    return out


@torch.no_grad()
def filter_responses(conv: nn.Conv2d, images: torch.Tensor) -> dict:
    """The first layer's filters on sample images, and one filter at each stride and padding."""
    w = conv.weight.detach().float()
    shown = w[:SHOWN_FILTERS]
    maps = F.conv2d(images, shown, padding=conv.padding)
    out = {"filters": shown.cpu().numpy(), "responses": maps.cpu().numpy()}
    side, k = images.shape[-1], w.shape[-1]
    for s in STRIDES:
        for p in PADDINGS:
            fmap = F.conv2d(images[:1], w[:1], stride=s, padding=p)[0, 0]
            assert fmap.shape[-1] == (side + 2 * p - k) // s + 1  # the formula the paper states
            out[f"stride{s}_pad{p}"] = fmap.cpu().numpy()
    return out


def run_probes(model, init_state: dict, best_state: dict, train_split, test_split, transform,
               device, autocast, cfg, seed: int) -> tuple[dict, dict]:
    """All of write-up 001's probes. Returns (arrays for probes.npz, scalars for the summary)."""
    gen = torch.Generator().manual_seed(seed)
    # the landscape: a fixed subset of clean training images, as the loss was minimised there
    take = torch.randperm(len(train_split.y), generator=gen)[: cfg.images]
    xs = transform(train_split.x[take].to(device), False, None)
    ys = train_split.y[take].to(device)
    batches = [(xs[i : i + 256], ys[i : i + 256]) for i in range(0, len(ys), 256)]
    dirs = random_directions(model, 2, gen)
    arrays = {}
    for tag, state in (("init", init_state), ("trained", best_state)):
        land = loss_landscape(model, state, dirs, batches, autocast, cfg.points_1d,
                              cfg.points_2d, f"landscape ({tag})")
        arrays |= {"line": land["line"], "side": land["side"],
                   f"loss_1d_{tag}": land["loss_1d"], f"loss_2d_{tag}": land["loss_2d"]}
    # the network is left at its trained weights; its first layer on sample test images
    model.load_state_dict(best_state)
    picks = torch.arange(SAMPLE_IMAGES) * max(1, len(test_split.y) // SAMPLE_IMAGES)
    images = transform(test_split.x[picks].to(device), False, None)
    arrays |= filter_responses(first_conv(model), images)
    shown = images - images.amin(dim=(1, 2, 3), keepdim=True)  # for display only
    arrays["images"] = (shown / shown.amax(dim=(1, 2, 3), keepdim=True)).cpu().numpy()
    mid = cfg.points_1d // 2
    scalars = {f"loss_{tag}_{where}": float(arrays[f"loss_1d_{tag}"][i])
               for tag in ("init", "trained") for where, i in (("centre", mid), ("edge", 0))}
    scalars["images"] = len(ys)
    return arrays, scalars
