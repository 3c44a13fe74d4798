"""The write-ups' way, as they write it: the baseline each benchmark case is measured against.

A torchvision-style Dataset keeps uint8 images as NumPy arrays and makes a PIL image per sample
(as torchvision's CIFAR10 and MNIST do); per-sample transforms (Resize, Grayscale, ToTensor,
Normalize) run in a DataLoader; each batch is moved with `.to(device)`; the loop is write-up 002's
zero_grad / forward / loss / backward / step / scheduler step, with `loss.item()` for logging.
Nothing here is tuned: a faster baseline would make our numbers look worse, not better.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from ftbench.data.splits import Split


class ArrayImageDataset(Dataset):
    """Images as HWC (RGB) or HW (grayscale) uint8 arrays, a PIL image per sample."""

    def __init__(self, split: Split, transform):
        x = split.x.permute(0, 2, 3, 1).numpy()  # N, H, W, C as torchvision stores CIFAR
        self.images = x[..., 0] if x.shape[-1] == 1 else x
        self.targets = split.y.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        img = Image.fromarray(np.ascontiguousarray(self.images[index]))
        return self.transform(img), self.targets[index]


def writeup_transform(image_size: int, in_channels: int, mean, std) -> T.Compose:
    """Write-up 004's recipe: resize to the model's input, 3 channels for RGB models, ToTensor,
    Normalize. The resize comes first, on one channel: the cheaper order for the baseline.
    (PIL returns a plain copy when the size is already right.)"""
    steps = [T.Resize((image_size, image_size))]
    if in_channels == 1:
        steps.append(T.Grayscale(num_output_channels=3))
    return T.Compose([*steps, T.ToTensor(), T.Normalize(mean, std)])


def default_workers(device: torch.device) -> int:
    """Write-up 000 uses 8 loader workers on a GPU machine. On a CPU-only machine workers would
    compete with the training threads for the same cores, so the baseline runs in-process."""
    return min(8, os.cpu_count() or 1) if device.type == "cuda" else 0


def writeup_loader(split: Split, batch_size: int, transform, device: torch.device, *,
                shuffle: bool, workers: int | None = None) -> DataLoader:
    workers = default_workers(device) if workers is None else workers
    return DataLoader(ArrayImageDataset(split, transform), batch_size=batch_size,
                      shuffle=shuffle, num_workers=workers, pin_memory=device.type == "cuda")


def writeup_optimizer(model, lr: float, weight_decay: float, total_steps: int):
    """AdamW over all parameters with a cosine schedule, as write-ups 000 and 002 set them up."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def train_epoch(model, loader, optimizer, scheduler, criterion, device, autocast) -> list[float]:
    """Write-up 002's training loop; returns the per-step losses."""
    model.train()
    losses = []
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        with autocast():
            outputs = model(images)
            loss = criterion(outputs.float(), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def data_pass(loader, device) -> int:
    """Every batch of a loader, moved to the device: the input pipeline alone."""
    n = 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        n += len(labels)
    return n
