"""One run: build data and model from a RunConfig, train, select by validation, test once.

The loop is deliberately flat (nanoGPT style): read it top to bottom. Validation picks the best
epoch; the test split is evaluated exactly once, with the best weights, at the end. Each epoch ends
with a checkpoint; a run that finds one resumes after that epoch (see checkpoint.py). Under
torchrun the same loop trains data-parallel (see distributed.py); only rank 0 writes.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from timm.data import resolve_data_config
from torch import nn
from tqdm import tqdm

from ftbench import atomic, checkpoint, distributed, faults
from ftbench.config import RunSpec
from ftbench.data.pipeline import Batches, DeviceTransform
from ftbench.data.registry import load_splits
from ftbench.errors import UserError
from ftbench.layout import CHECKPOINT, SUMMARY, run_dir, run_path
from ftbench.metrics import classification_metrics, peak_memory, reset_peak_memory
from ftbench.models.factory import BACKBONE_FILE, backbone_state, create_model
from ftbench.models.features import CachedBatches, exact_to_cache, extract_features
from ftbench.models.methods import apply_method, count_parameters, set_train_mode
from ftbench.provenance import environment


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device '{name}' requested but CUDA is not available here; "
                        "set device=cpu (or device=auto)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False


def make_optimizer(cfg, params):
    fused = {"fused": True} if cfg.fused else {}  # one kernel for all tensors' updates
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay, **fused)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)


def make_scheduler(cfg, optimizer, total_steps: int, steps_per_epoch: int):
    """Per-optimizer-step schedule: optional linear warm-up, then cosine/linear/constant decay."""
    sched = torch.optim.lr_scheduler
    if cfg.schedule == "onecycle":
        return sched.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total_steps)
    warmup = min(int(cfg.warmup_epochs * steps_per_epoch), total_steps - 1)
    rest = total_steps - warmup
    main = {
        "cosine": lambda: sched.CosineAnnealingLR(optimizer, T_max=rest),
        "linear": lambda: sched.LinearLR(optimizer, 1.0, 0.0, total_iters=rest),
        "constant": lambda: sched.ConstantLR(optimizer, factor=1.0, total_iters=0),
        "step": lambda: sched.MultiStepLR(optimizer, [rest // 2, rest * 3 // 4], gamma=0.1),
        "cosine_restarts": lambda: sched.CosineAnnealingWarmRestarts(optimizer,
                                                                     T_0=max(1, rest // 4)),
    }[cfg.schedule]()
    if not warmup:
        return main
    ramp = sched.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0,
                          total_iters=warmup)
    return sched.SequentialLR(optimizer, [ramp, main], milestones=[warmup])


def make_autocast(device: torch.device, precision: str):
    """A context factory: bf16 autocast under `bf16`, or `auto` on CUDA; fp32 otherwise."""
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


@dataclass
class Epoch:
    """One pass over the training batches, as this process saw it."""

    losses: list[float]  # per step
    loss_sum: float  # loss x images, summed
    correct: int
    seen: int
    finite: bool  # False: a loss was NaN or infinite (on any rank) and the pass stopped there


def train_epoch(model, batches, optimizer, scheduler, criterion, autocast, tcfg, *, net=None,
                mixup=None, world=distributed.ALONE, channels_last: bool = True,
                desc: str = "train") -> Epoch:
    """The training step, over every batch: forward, loss, backward, and every `accum_steps`
    steps clipping, the optimizer and the scheduler. `net` is what the step calls (the model,
    or its data-parallel or compiled wrapper, or the classifier alone on cached features);
    `channels_last=False` keeps inputs as they are where the switch cannot apply."""
    net = model if net is None else net
    params = [p for group in optimizer.param_groups for p in group["params"]]
    set_train_mode(model)
    done = Epoch([], 0.0, 0, 0, True)
    for step, (x, y) in enumerate(tqdm(batches, desc=desc, leave=False, disable=None)):
        if tcfg.channels_last and channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        target = y
        if mixup is not None:
            x, target = mixup(x, y)
        with autocast():
            logits = net(x)
            loss = criterion(logits.float(), target)
        if not distributed.all_finite(world, loss):
            done.finite = False
            break
        # a rank's share of the batch counts by its size, so that the ranks' averaged
        # gradient equals the one-process gradient even when a last batch splits unevenly
        share = len(y) * world.size / batches.global_size(step) if world.enabled else 1.0
        (loss * share / tcfg.accum_steps).backward()
        if (step + 1) % tcfg.accum_steps == 0 or step + 1 == len(batches):
            if tcfg.grad_clip and tcfg.grad_clip_mode == "norm":
                nn.utils.clip_grad_norm_(params, tcfg.grad_clip)
            elif tcfg.grad_clip:
                nn.utils.clip_grad_value_(params, tcfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
        faults.point("train-step")
        done.losses.append(loss.item())
        done.loss_sum += done.losses[-1] * len(y)
        done.correct += (logits.argmax(1) == y).sum().item()
        done.seen += len(y)
    return done


@torch.no_grad()
def evaluate(model, batches: Batches, autocast, desc: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, softmax probabilities, mean loss) over a split, in order."""
    model.eval()
    labels, probs, loss_sum = [], [], 0.0
    for x, y in tqdm(batches, desc=desc, leave=False, disable=None):
        with autocast():
            logits = model(x)
        logits = logits.float()
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        labels.append(y.cpu())
        probs.append(logits.softmax(1).cpu())
    y_all = torch.cat(labels).numpy()
    return y_all, torch.cat(probs).numpy(), loss_sum / len(y_all)


def inputs_of(spec: RunSpec, results_dir: Path) -> dict:
    """What a run starts from besides its config: the runs whose weights it loads, by the
    config hash and finish time their summaries record (a rebuilt backbone is a new input)."""
    stamps = {}
    for key in spec.depends_on:
        try:
            s = json.loads((run_path(results_dir, key) / SUMMARY).read_text())
            stamps[key] = f"{s.get('config_hash')}@{s.get('finished')}"
        except (OSError, ValueError):
            stamps[key] = "missing"
    return stamps


def train(spec: RunSpec, results_dir: Path, log=print) -> dict | None:
    """Train, select, test; returns the summary (None on ranks other than 0 under torchrun)."""
    cfg, tcfg = spec.config, spec.config.train
    out = run_dir(results_dir, spec)
    started = datetime.now(UTC)
    wall0 = time.perf_counter()
    device = resolve_device(cfg.device)
    world = distributed.init(device.type)
    device = distributed.device_for(world, device)
    if not world.is_main:
        log = lambda *_: None  # noqa: E731 (one voice)
    ckpt_path = out / CHECKPOINT
    # A run that finished before is being redone: a checkpoint beside its summary is that old
    # run's last epoch (killed before deleting it), not a place to resume from.
    redo = (out / SUMMARY).exists()
    resume = None if redo else checkpoint.load(ckpt_path, cfg.hash())  # before any write
    inputs = inputs_of(spec, results_dir)
    if resume is not None and resume["inputs"] != inputs:
        log(f"[{spec.key}] {ckpt_path} was trained from other weights ({resume['inputs']}); "
            "starting over")
        resume = None
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)

    # data and model
    data = load_splits(cfg.data)
    mixing = cfg.data.mixup > 0 or cfg.data.cutmix > 0
    distributed.check_sizes(world, tcfg.batch_size, mixing, len(data.train),
                            min(len(data.val), len(data.test)))
    model = create_model(cfg.model, data.num_classes, cfg.data.channels, results_dir)
    data_cfg = resolve_data_config({}, model=model)
    model = apply_method(model, cfg.method).to(device)
    if tcfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    trainable, total = count_parameters(model)
    transform = DeviceTransform(cfg.data.image_size, cfg.data.channels, data_cfg["mean"],
                                data_cfg["std"], tuple(cfg.data.augment))
    train_batches = Batches(data.train, tcfg.batch_size, transform, device, train=True,
                            seed=cfg.seed, drop_last=mixing,  # timm's Mixup wants even batches
                            share=(lambda n: distributed.share(world, n)) if world.enabled
                            else None)
    val_batches = Batches(distributed.chunk(world, data.val), tcfg.eval_batch_size, transform,
                          device, train=False)
    test_batches = Batches(distributed.chunk(world, data.test), tcfg.eval_batch_size, transform,
                           device, train=False)

    # optimisation
    params = [p for p in model.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(train_batches) / tcfg.accum_steps)
    optimizer = make_optimizer(tcfg, params)
    scheduler = make_scheduler(tcfg, optimizer, tcfg.epochs * steps_per_epoch, steps_per_epoch)
    criterion = nn.CrossEntropyLoss(label_smoothing=tcfg.label_smoothing)
    mixup = None
    if mixing:  # MixUp/CutMix through timm; it folds label smoothing into the soft targets
        from timm.data import Mixup
        from timm.loss import SoftTargetCrossEntropy

        mixup = Mixup(mixup_alpha=cfg.data.mixup, cutmix_alpha=cfg.data.cutmix,
                      label_smoothing=tcfg.label_smoothing, num_classes=data.num_classes)
        criterion = SoftTargetCrossEntropy()
    autocast = make_autocast(device, tcfg.precision)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def evaluate_all(batches: Batches, desc: str, module=model):  # ranks' chunks, in order
        return distributed.gather(world, *evaluate(module, batches, autocast, desc))

    net = model  # what the training step calls: maybe data-parallel, maybe compiled
    val_module, cache_s = model, 0.0
    cached = tcfg.cache_features and not world.enabled and exact_to_cache(cfg, model)
    if cached:  # classifier only, nothing random before it: the backbone's features, once
        sync()
        t0 = time.perf_counter()
        clean = Batches(data.train, tcfg.eval_batch_size, transform, device, train=False)
        train_batches = CachedBatches(*extract_features(model, clean, autocast), tcfg.batch_size,
                                      train=True, seed=cfg.seed, drop_last=mixing)
        val_batches = CachedBatches(*extract_features(model, val_batches, autocast),
                                    tcfg.eval_batch_size, train=False)
        sync()
        cache_s = time.perf_counter() - t0
        net = val_module = model.get_classifier()
    if world.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                      else None)
    if tcfg.compile:
        net = torch.compile(net)

    # Only trainable weights and buffers (BatchNorm statistics) can change: keep just those.
    changing = {n for n, p in model.named_parameters() if p.requires_grad}
    changing |= {n for n, _ in model.named_buffers()}

    def snapshot():
        return {k: v.detach().clone() for k, v in model.state_dict().items() if k in changing}

    log(f"[{spec.key}] {data.display}: {len(data.train)}/{len(data.val)}/{len(data.test)} "
        f"train/val/test; {cfg.model.label or cfg.model.name} {cfg.method.name}: "
        f"{trainable:,} of {total:,} parameters train; {device}")
    init_state = ({k: v.detach().clone() for k, v in model.state_dict().items()}
                  if cfg.probe.enabled else None)
    reset_peak_memory(device)
    history, best_state, best_acc, best_epoch = [], snapshot(), -1.0, 0
    train_time, status, resumes, first_epoch = 0.0, "ok", [], 1
    prior_peak = 0.0  # the peak memory of the processes before a resume
    if world.is_main:
        atomic.remove_stale(out)  # temporary files of a writer that was killed
        (out / SUMMARY).unlink(missing_ok=True)  # from here on, the old result is not current
        if redo:
            ckpt_path.unlink(missing_ok=True)
    if resume is not None:  # continue after the last finished epoch, as if never stopped
        if lacking := sorted(changing - set(resume["model"])):
            raise UserError(f"checkpoint {ckpt_path} lacks weights of this model ({lacking[0]}, "
                            "...); delete it to start this run over")
        model.load_state_dict(resume["model"], strict=False)
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        checkpoint.set_rng_state(resume["rng"], train_batches.gen)
        history, best_state = resume["history"], resume["best_state"]
        best_acc, best_epoch = resume["best_acc"], resume["best_epoch"]
        train_time, first_epoch = resume["train_time"], resume["epoch"] + 1
        resumes = [*resume["resumes"], resume["epoch"]]
        prior_peak = resume["peak_mib"]
        log(f"[{spec.key}] resuming from {ckpt_path} after epoch {resume['epoch']}")
    if resume is None:  # computing the features is part of training's cost (counted once)
        train_time += cache_s
    for epoch in range(first_epoch, tcfg.epochs + 1):
        sync()
        t0 = time.perf_counter()
        done = train_epoch(model, train_batches, optimizer, scheduler, criterion, autocast, tcfg,
                           net=net, mixup=mixup, world=world, channels_last=not cached,
                           desc=f"epoch {epoch}/{tcfg.epochs}")
        sync()
        epoch_time = time.perf_counter() - t0
        train_time += epoch_time
        loss_sum, correct, seen = distributed.total(world, done.loss_sum, done.correct, done.seen)
        if not done.finite:
            status = "diverged"
            log(f"[{spec.key}] loss is not finite at epoch {epoch}: run diverged")
            break
        distributed.broadcast_buffers(world, model)  # one model scores every rank's chunk
        y_val, p_val, val_loss = evaluate_all(val_batches, "validate", val_module)
        val_acc = float((p_val.argmax(1) == y_val).mean())
        history.append({"epoch": epoch, "train_loss": loss_sum / seen,
                        "train_accuracy": correct / seen, "val_loss": val_loss,
                        "val_accuracy": val_acc, "lr": optimizer.param_groups[0]["lr"],
                        "epoch_time_s": epoch_time})
        if val_acc > best_acc:
            best_acc, best_epoch, best_state = val_acc, epoch, snapshot()
        log(f"[{spec.key}] epoch {epoch}/{tcfg.epochs}: train loss {loss_sum / seen:.4f}, "
            f"val acc {val_acc:.4f} ({epoch_time:.1f}s)")
        if not world.is_main:
            continue
        atomic.write_text(out / "epochs.jsonl", "".join(
            json.dumps(h, sort_keys=True) + "\n" for h in history))
        checkpoint.save(ckpt_path, {
            "config_hash": cfg.hash(), "inputs": inputs, "epoch": epoch, "resumes": resumes,
            "peak_mib": max(prior_peak, peak_memory(device)[0]),
            "model": {k: v for k, v in model.state_dict().items() if k in changing},
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": checkpoint.rng_state(train_batches.gen), "history": history,
            "best_state": best_state, "best_acc": best_acc, "best_epoch": best_epoch,
            "train_time": train_time})
        faults.point("epoch-end")

    # final report: best-by-validation weights, test split evaluated once
    model.load_state_dict(best_state, strict=False)
    faults.point("test")
    y_test, p_test, test_loss = evaluate_all(test_batches, "test")
    distributed.finish(world)  # the rest (report, probes, files) is rank 0's alone
    if not world.is_main:
        return None
    if world.enabled:  # from here on one process: the whole test split again
        test_batches = Batches(data.test, tcfg.eval_batch_size, transform, device, train=False)
    metrics = classification_metrics(y_test, p_test, data.num_classes)
    metrics["loss"] = test_loss
    if cfg.eval_train:  # clean (unaugmented) training images, best weights: the train-test gap
        clean = Batches(data.train, tcfg.eval_batch_size, transform, device, train=False)
        y_tr, p_tr, _ = evaluate(model, clean, autocast, "train set")
        metrics["train_accuracy"] = float((p_tr.argmax(1) == y_tr).mean())
    peak_mib, peak_kind = peak_memory(device)
    peak_mib = max(peak_mib, prior_peak)
    probe = None
    if cfg.probe.enabled:  # after the memory peak is read: probing is not training
        from ftbench.probes import run_probes

        arrays, probe = run_probes(model, init_state, best_state, data.train, data.test,
                                   transform, device, autocast, cfg.probe, cfg.seed)
        atomic.write_atomic(out / "probes.npz", lambda tmp: np.savez_compressed(tmp, **arrays))
    if cfg.save_backbone:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        state = backbone_state(base)
        atomic.write_atomic(out / BACKBONE_FILE, lambda tmp: torch.save(state, tmp))
    merge = None
    if cfg.merge_check and cfg.method.name == "lora":
        from ftbench.merge import merge_report

        merge = merge_report(model, test_batches, autocast)  # last use of `model`: it merges
    atomic.write_atomic(out / "predictions.npz", lambda tmp: np.savez_compressed(
        tmp, y_true=y_test.astype(np.int16), y_pred=p_test.argmax(1).astype(np.int16)))
    epochs_run = max(len(history), 1)
    summary = {
        "table": spec.table, "run_id": spec.run_id, "axes": spec.axes, "status": status,
        "config": cfg.to_dict(), "config_hash": cfg.hash(),
        "dataset": {"name": data.name, "display": data.display, "classes": data.num_classes,
                    "train": len(data.train), "val": len(data.val), "test": len(data.test)},
        "model": {"name": cfg.model.name, "label": cfg.model.label or cfg.model.name,
                  "method": cfg.method.name},
        "params": {"trainable": trainable, "total": total},
        "test": metrics,
        "best_epoch": best_epoch, "best_val_accuracy": best_acc, "resumed_after": resumes,
        "cached_features": cached,
        "time": {"train_s": train_time, "per_epoch_s": train_time / epochs_run,
                 "feature_cache_s": cache_s,
                 "wall_s": time.perf_counter() - wall0},
        "memory": {"peak_mib": peak_mib, "kind": peak_kind},
        "merge": merge,
        "probe": probe,
        "env": environment(device), "world_size": world.size,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic.write_json(out / SUMMARY, summary)  # last: its existence marks the run finished
    ckpt_path.unlink(missing_ok=True)  # the summary holds the result; weights are not kept
    log(f"[{spec.key}] test acc {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}, "
        f"AUC {metrics['macro_auc']:.4f} (best epoch {best_epoch}; {train_time:.1f}s training)")
    return summary
