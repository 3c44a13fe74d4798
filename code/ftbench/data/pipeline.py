"""Batches from in-memory uint8 images, transformed on the device (airbench style).

The whole split sits on the device as uint8; each batch is indexed, converted to float, given
3 channels if the model wants them, resized to the model's input size, augmented and normalised
there, in one batched pass. A CPU `torch.Generator` drives all randomness, so a seed gives the
same batches on any device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ftbench.data.splits import Split


@dataclass
class DeviceTransform:
    image_size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: tuple[str, ...] = ()

    def __call__(self, x: torch.Tensor, train: bool, gen: torch.Generator | None) -> torch.Tensor:
        x = x.float().div_(255)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.image_size)
        if x.shape[1] == 1 and self.channels == 3:  # after resizing: one channel, not three
            x = x.expand(-1, 3, -1, -1)
        if train and "resized-crop" in self.augment:
            x = random_resized_crop(x, gen=gen)
        if train and "crop" in self.augment:
            x = random_crop(x, pad=max(1, self.image_size // 8), gen=gen)
        if train and "jitter" in self.augment:
            x = colour_jitter(x, gen=gen)
        if train and "flip" in self.augment:
            flip = torch.rand(len(x), generator=gen).lt(0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        mean = torch.tensor(self.mean[: x.shape[1]], device=x.device)[None, :, None, None]
        std = torch.tensor(self.std[: x.shape[1]], device=x.device)[None, :, None, None]
        return (x - mean) / std


def random_crop(x: torch.Tensor, pad: int, gen: torch.Generator | None) -> torch.Tensor:
    """Per-sample random crop of a zero-padded batch (the CIFAR recipe), with no Python loop."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, n), generator=gen)).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # n, h, 1
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # n, 1, w
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def colour_jitter(x: torch.Tensor, gen: torch.Generator | None, strength: float = 0.1):
    """Per-image brightness, contrast and saturation factors in [1 - s, 1 + s] (write-up 001's
    ColorJitter(0.1, 0.1, 0.1); its hue shift of 0.02 is left out), on [0, 1] images."""
    n = len(x)
    b, c, s = (1 + (torch.rand(3, n, 1, 1, 1, generator=gen) * 2 - 1) * strength).to(x.device)
    x = x * b
    x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) * c + x.mean(dim=(1, 2, 3), keepdim=True)
    if x.shape[1] == 3:
        grey = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = grey + (x - grey) * s
    return x.clamp(0, 1)


def random_resized_crop(x: torch.Tensor, gen: torch.Generator | None,
                        scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """Per-sample random-resized crop (torchvision's ranges), batched with one grid_sample.

    Each sample gets a box of random area fraction and aspect ratio at a random position,
    resampled bilinearly back to the input size. Boxes are clipped to fit the image.
    """
    n = len(x)
    area = torch.empty(n).uniform_(*scale, generator=gen)
    log_r = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=gen)
    r = log_r.exp()
    w = (area * r).sqrt().clamp(max=1.0)  # fractions of the side
    h = (area / r).sqrt().clamp(max=1.0)
    cx = (torch.rand(n, generator=gen) * 2 - 1) * (1 - w)  # centre in [-1, 1] coordinates
    cy = (torch.rand(n, generator=gen) * 2 - 1) * (1 - h)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w, cx, h, cy
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class Batches:
    """One pass over a split per iteration: shuffled (train) or in order (evaluation)."""

    def __init__(self, split: Split, batch_size: int, transform: DeviceTransform,
                 device: torch.device, *, train: bool, seed: int = 0, drop_last: bool = False,
                 share=None):
        self.x = split.x.to(device)
        self.y = split.y.to(device)
        self.batch_size = batch_size
        self.transform = transform
        self.train = train
        self.drop_last = drop_last
        self.gen = torch.Generator().manual_seed(seed)
        # data-parallel training: n -> this rank's slice of a global batch of n (see
        # ftbench.train.distributed); every rank still draws the whole batch's randomness
        self.share = share

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.y) // self.batch_size
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.gen) if self.train else torch.arange(n)
        order = order.to(self.x.device)
        end = len(self) * self.batch_size if self.drop_last else n
        for start in range(0, end, self.batch_size):
            idx = order[start : start + self.batch_size]
            x, y = self.batch(idx)
            if self.share is not None:
                part = self.share(len(idx))
                x, y = x[part], y[part]
            yield x, y

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.x[idx], self.train, self.gen), self.y[idx]

    def global_size(self, step: int) -> int:
        """How many images the whole (all-rank) batch number `step` holds."""
        return min(self.batch_size, len(self.y) - step * self.batch_size)
