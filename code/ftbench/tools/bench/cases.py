"""Cases a-d: each pair runs side by side in this process on the same model, data and batch.

a  our training step (device-resident uint8 data, batched transform) vs the write-ups' loop
b  write-up 004's per-sample PIL resize of 28 px images to 224 px vs DeviceTransform
c  classifier-only training, 10 epochs: features cached once vs recomputed every epoch
d  inference with LoRA merged (and unmerged) vs the base model
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch import nn

from ftbench.config import MethodConfig, ModelConfig, TrainConfig
from ftbench.data import synthetic
from ftbench.data.pipeline import Batches, DeviceTransform
from ftbench.data.splits import Split
from ftbench.models.factory import create_model
from ftbench.models.methods import apply_method, fuse_split_qkv
from ftbench.tools.bench import ours, reference
from ftbench.tools.bench.report import Row
from ftbench.tools.bench.timing import compare
from ftbench.train.engine import Trainer, train_epoch
from ftbench.train.features import CachedBatches, extract_features


@dataclass(frozen=True)
class Sizes:
    repeats: int  # timed calls per variant; the median is reported
    warmup: int  # untimed calls per variant first
    batch: int
    train_images: int  # a
    resize_images: int  # b
    head_images: int  # c
    head_epochs: int  # c
    infer_batches: int  # d
    e_steps: int  # e: training steps per timed call
    compile: bool  # e: torch.compile costs tens of seconds of compilation
    cnn: str = "resnet18"  # timm, random init, at 32 px: small enough for a 2-core CPU
    vit: str = "vit_tiny_patch16_224"
    vit_kwargs: tuple = (("img_size", 64),)  # ViT-Ti/16 at 64 px: 16 patches
    vit_size: int = 64


DEFAULT = Sizes(repeats=5, warmup=1, batch=64, train_images=512, resize_images=1024,
                head_images=512, head_epochs=10, infer_batches=4, e_steps=3, compile=True)
# --quick checks the machinery, not the numbers: the project's micro models, a few images
QUICK = Sizes(repeats=2, warmup=1, batch=32, train_images=64, resize_images=64,
              head_images=64, head_epochs=10, infer_batches=1, e_steps=1, compile=False,
              cnn="resnet34_micro", vit="vit_micro_patch8_32", vit_kwargs=(), vit_size=32)


@dataclass
class Context:
    device: torch.device
    sizes: Sizes
    autocast: Callable  # run.py's, for this device
    precision: str  # how the notes name it
    workers: int | None  # reference DataLoader workers (None: the reference's default)


def objects_split(n: int) -> Split:
    """synth-objects: 32 px RGB, the project's CIFAR-10 stand-in."""
    x, y, _ = synthetic.objects(n, seed=3000)
    return Split(torch.from_numpy(x), torch.from_numpy(y).long())


def digits28_split(n: int) -> Split:
    """28 px grayscale (synth-fashion cropped to 28 px): an MNIST stand-in for write-up 004."""
    x, y, _ = synthetic.fashion(n, seed=2000)
    return Split(torch.from_numpy(x[:, :, 2:30, 2:30].copy()), torch.from_numpy(y).long())


def _workers(ctx: Context) -> int:
    return reference.default_workers(ctx.device) if ctx.workers is None else ctx.workers


def train_step_vs_dataloader(ctx: Context) -> list[Row]:
    s, dev = ctx.sizes, ctx.device
    split = objects_split(s.train_images)
    built = ours.build(s.cnn, 10, 3, 32, MethodConfig(name="full"), dev)
    ref_model = copy.deepcopy(built.model)
    tcfg = TrainConfig(batch_size=s.batch)
    steps = math.ceil(len(split) / s.batch)
    total = steps * (s.warmup + s.repeats)
    criterion = nn.CrossEntropyLoss()
    batches = Batches(split, s.batch, built.transform, dev, train=True, seed=0)
    opt, sched = ours.optimizer_for(built.model, tcfg, total, steps)
    loader = reference.writeup_loader(split, s.batch, reference.writeup_transform(
        32, 3, built.mean, built.std), dev, shuffle=True, workers=ctx.workers)
    ref_opt, ref_sched = reference.writeup_optimizer(ref_model, tcfg.lr, tcfg.weight_decay, total)
    t = compare({
        "ref": lambda: reference.train_epoch(ref_model, loader, ref_opt, ref_sched, criterion,
                                             dev, ctx.autocast),
        "ours": lambda: train_epoch(Trainer(built.model, opt, sched, criterion, ctx.autocast,
                                            tcfg), batches),
    }, dev, repeats=s.repeats, warmup=s.warmup)
    notes = (f"one epoch of timm {s.cnn} (random init) full fine-tuning, {len(split)} "
             f"synth-objects images at 32 px, batch {s.batch}, AdamW + cosine, {ctx.precision}; "
             f"reference: PIL image + ToTensor + Normalize per sample in a DataLoader "
             f"(num_workers={_workers(ctx)}), .to(device) per batch")
    return [Row("a-train-step", "write-ups' loop", "ours (Batches)", t["ref"], t["ours"],
                ">=1.0", notes)]


def resize_difference(split: Split, size: int, mean, std, n: int = 16) -> float:
    """Largest |PIL pipeline - DeviceTransform| over the first n images (normalised units)."""
    ref_tf = reference.writeup_transform(size, split.x.shape[1], mean, std)
    ds = reference.ArrayImageDataset(split, ref_tf)
    ref = torch.stack([ds[i][0] for i in range(min(n, len(ds)))])
    ours_x = DeviceTransform(size, 3, mean, std)(split.x[: len(ref)], False, None)
    return float((ref - ours_x).abs().max())


def resize_on_device_vs_pil(ctx: Context) -> list[Row]:
    s, dev = ctx.sizes, ctx.device
    split = digits28_split(s.resize_images)
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    transform = reference.writeup_transform(224, 1, mean, std)
    loader = reference.writeup_loader(split, s.batch, transform, dev, shuffle=True,
                                      workers=ctx.workers)
    batches = Batches(split, s.batch, DeviceTransform(224, 3, mean, std), dev, train=True,
                      seed=0)
    t = compare({
        "pil": lambda: reference.data_pass(loader, dev),
        "device": lambda: sum(len(y) for _, y in batches),
    }, dev, repeats=s.repeats, warmup=s.warmup)
    diff = resize_difference(split, 224, mean, std)
    notes = (f"input pipeline alone, {len(split)} grayscale 28 px images -> 3x224x224 "
             f"normalised, batch {s.batch}; reference: Resize + Grayscale(3) + ToTensor + "
             f"Normalize per PIL image (num_workers={_workers(ctx)}); max |difference| "
             f"{diff:.3f} (PIL rounds the resized image to uint8)")
    return [Row("b-resize-28-to-224", "PIL per sample", "DeviceTransform", t["pil"],
                t["device"], ">=3", notes)]


def cached_features_vs_recompute(ctx: Context) -> list[Row]:
    s, dev = ctx.sizes, ctx.device
    split = objects_split(s.head_images)
    built = ours.build(s.cnn, 10, 3, 32, MethodConfig(name="head"), dev)
    model, clf = built.model, built.model.get_classifier()
    init = copy.deepcopy(clf.state_dict())
    tcfg = TrainConfig(batch_size=s.batch, epochs=s.head_epochs)
    steps = math.ceil(len(split) / s.batch)
    criterion = nn.CrossEntropyLoss()
    final = {}

    def recompute():  # the whole model forward every epoch
        clf.load_state_dict(init)
        batches = Batches(split, s.batch, built.transform, dev, train=True, seed=0)
        opt, sched = ours.optimizer_for(model, tcfg, steps * tcfg.epochs, steps)
        for _ in range(tcfg.epochs):
            train_epoch(Trainer(model, opt, sched, criterion, ctx.autocast, tcfg), batches)
        final["recompute"] = copy.deepcopy(clf.state_dict())

    def cached():  # the backbone once, then the classifier alone; extraction is timed too
        clf.load_state_dict(init)
        clean = Batches(split, tcfg.eval_batch_size, built.transform, dev, train=False)
        feats, labels = extract_features(model, clean, ctx.autocast)
        batches = CachedBatches(feats, labels, s.batch, train=True, seed=0)
        opt, sched = ours.optimizer_for(clf, tcfg, steps * tcfg.epochs, steps)
        for _ in range(tcfg.epochs):
            train_epoch(Trainer(clf, opt, sched, criterion, ctx.autocast, tcfg), batches)
        final["cached"] = copy.deepcopy(clf.state_dict())

    t = compare({"recompute": recompute, "cached": cached}, dev, repeats=s.repeats,
                warmup=s.warmup)
    diff = max(float((final["recompute"][k] - final["cached"][k]).abs().max())
               for k in final["cached"])
    notes = (f"timm {s.cnn} (random init) head-only, {tcfg.epochs} epochs over {len(split)} "
             f"synth-objects images at 32 px, batch {s.batch}, {ctx.precision}; cached time "
             f"includes extracting the features; same batch order, final classifier weights "
             f"differ by at most {diff:.1e}")
    return [Row("c-head-cached-features", "recompute each epoch", "cached features",
                t["recompute"], t["cached"], ">=5", notes)]


def lora_merged_vs_base(ctx: Context) -> list[Row]:
    s, dev = ctx.sizes, ctx.device
    torch.manual_seed(0)
    base = create_model(ModelConfig(name=s.vit, kwargs=dict(s.vit_kwargs)), 10, 3, ".")
    method = MethodConfig(name="lora", r=8, alpha=16.0, targets=["qkv.q", "qkv.v"])
    unmerged = apply_method(copy.deepcopy(base), method)
    for name, p in unmerged.named_parameters():  # B starts at zero; make the update non-trivial
        if "lora_B" in name:
            nn.init.normal_(p, std=0.02)
    merged = copy.deepcopy(unmerged).merge_and_unload()  # as ftbench.train.merge does it
    fuse_split_qkv(merged)
    # an identical copy of the base model, timed alongside: the noise floor of "same cost"
    models = {"base": base, "merged": merged, "unmerged": unmerged, "copy": copy.deepcopy(base)}
    for m in models.values():
        m.to(dev).eval()
    inputs = [torch.randn(s.batch, 3, s.vit_size, s.vit_size, device=dev)
              for _ in range(s.infer_batches)]

    @torch.no_grad()
    def infer(model):
        for x in inputs:
            with ctx.autocast():
                model(x)

    with torch.no_grad(), ctx.autocast():
        diff = float((merged(inputs[0]).float() - unmerged(inputs[0]).float()).abs().max())
    t = compare({k: (lambda m=m: infer(m)) for k, m in models.items()}, dev,
                repeats=2 * s.repeats + 1, warmup=s.warmup)
    setup = (f"timm {s.vit} at {s.vit_size} px (random init), LoRA r=8 on qkv.q, qkv.v, "
             f"{s.infer_batches} batches of {s.batch}, eval, {ctx.precision}")
    return [
        Row("d-lora-merged", "LoRA merged", "base", t["merged"], t["base"], "<=1.05",
            f"{setup}; merged with merge_and_unload + fuse_split_qkv; max |logit difference| "
            f"merged vs unmerged {diff:.1e}; noise floor: an identical copy of the base model "
            f"timed alongside gives {t['copy'].median / t['base'].median:.3f}"),
        Row("d-lora-unmerged", "LoRA unmerged", "base", t["unmerged"], t["base"], "",
            f"{setup}; the cost of leaving the adapters unmerged (peft layers, split qkv)"),
    ]
