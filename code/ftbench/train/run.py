"""One run, in three steps: `setup` builds data, model and optimisation from the config; `fit`
trains, with validation choosing the epoch and a checkpoint after each; `finish` evaluates the
test split once, with the chosen weights, runs the post-run steps and writes the summary last.

Read top to bottom, it is one path (nanoGPT style); the loops are in `engine.py`. Under torchrun
the same path trains data-parallel (see distributed.py); only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from timm.data import resolve_data_config
from torch import nn

from ftbench import faults
from ftbench.config import RunSpec
from ftbench.config.inputs import inputs_of
from ftbench.data.pipeline import Batches, DeviceTransform
from ftbench.data.splits import Splits, load_splits
from ftbench.errors import UserError
from ftbench.models.card import base_reference, card_text
from ftbench.models.factory import create_model
from ftbench.models.methods import apply_method, count_parameters
from ftbench.store import atomic, runlock
from ftbench.store.layout import (
    CARD,
    CHECKPOINT,
    EPOCHS,
    PREDICTIONS,
    SUMMARY,
    WEIGHTS,
    check_own_folder,
    run_dir,
)
from ftbench.store.summary import Summary
from ftbench.train import checkpoint, distributed, engine
from ftbench.train.features import CachedBatches, exact_to_cache, extract_features
from ftbench.train.fingerprint import code_fingerprint
from ftbench.train.memory import MemoryMeter
from ftbench.train.metrics import classification_metrics
from ftbench.train.poststeps import POST_RUN
from ftbench.train.provenance import environment, loaded_weights
from ftbench.train.threads import slurm_step, threads_for


@dataclass
class Setup:
    """Everything a run trains with; built once, before the first epoch."""

    spec: RunSpec
    folder: Path
    results: Path
    device: torch.device
    data: Splits
    transform: DeviceTransform
    train_batches: Batches
    val_batches: Batches
    trainer: engine.Trainer  # model, optimizer, schedule, loss, mixing, autocast, ranks
    memory: MemoryMeter
    inputs: dict
    val_module: nn.Module = None  # what validation calls (the classifier alone when cached)
    cached: bool = False
    cache_s: float = 0.0
    held_bytes: int = 0  # what training holds besides the step's tensors: cached features
    params: tuple[int, int] = (0, 0)
    init_state: dict | None = None  # for write-up 001's loss landscape
    threads_from: str = ""  # where the thread count came from (ftbench.train.threads)
    log: object = print
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    wall0: float = field(default_factory=time.perf_counter)

    @property
    def cfg(self):
        return self.spec.config

    # the trainer's parts that the rest of a run reads
    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    @property
    def world(self) -> distributed.World:
        return self.trainer.world

    @property
    def autocast(self):
        return self.trainer.autocast

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def changing(self) -> set[str]:
        """Weights that can change: trainable ones and buffers (BatchNorm statistics)."""
        names = {n for n, p in self.model.named_parameters() if p.requires_grad}
        return names | {n for n, _ in self.model.named_buffers()}

    def snapshot(self) -> dict:
        keep = self.changing()
        return {k: v.detach().clone() for k, v in self.model.state_dict().items() if k in keep}


@dataclass
class Progress:
    """What fit has done so far: all a checkpoint has to hold to continue exactly."""

    history: list = field(default_factory=list)
    best_state: dict = field(default_factory=dict)
    best_acc: float = -1.0
    best_epoch: int = 0
    train_time: float = 0.0
    status: str = "ok"
    resumes: list = field(default_factory=list)
    prior_peak: float = 0.0  # the peak training memory of the processes before a resume
    first_epoch: int = 1


def _trainer(cfg, model: nn.Module, train_batches: Batches, num_classes: int, device,
             world) -> engine.Trainer:
    tcfg = cfg.train
    autocast = engine.make_autocast(device, tcfg.precision)
    params = [p for p in model.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(train_batches) / tcfg.accum_steps)
    optimizer = engine.make_optimizer(tcfg, params)
    scheduler = engine.make_scheduler(tcfg, optimizer, tcfg.epochs * steps_per_epoch,
                                      steps_per_epoch)
    if not cfg.data.mixing:
        loss = nn.CrossEntropyLoss(label_smoothing=tcfg.label_smoothing)
        return engine.Trainer(model, optimizer, scheduler, loss, autocast, tcfg, world=world)
    from timm.data import Mixup  # it folds label smoothing into its soft targets
    from timm.loss import SoftTargetCrossEntropy

    mixup = Mixup(mixup_alpha=cfg.data.mixup, cutmix_alpha=cfg.data.cutmix,
                  prob=cfg.data.mix_prob, switch_prob=0.5,
                  label_smoothing=tcfg.label_smoothing, num_classes=num_classes)
    return engine.Trainer(model, optimizer, scheduler, SoftTargetCrossEntropy(), autocast, tcfg,
                          mixup=mixup, world=world)


def _batches(cfg, data: Splits, transform, device, world):
    mixing = cfg.data.mixing
    share = (lambda n: distributed.share(world, n)) if world.enabled else None
    train = Batches(data.train, cfg.train.batch_size, transform, device, train=True,
                    seed=cfg.seed, drop_last=mixing, share=share)  # Mixup wants even batches
    val = Batches(distributed.chunk(world, data.val), cfg.train.eval_batch_size, transform,
                  device, train=False)
    return train, val


def setup(spec: RunSpec, results: Path, folder: Path, log=print) -> Setup:
    cfg = spec.config
    device = engine.resolve_device(cfg.device)
    world = distributed.init(device.type)
    device = distributed.device_for(world, device)
    threads, threads_from = threads_for(cfg.threads)
    torch.set_num_threads(threads)
    engine.seed_everything(cfg.seed)
    data = load_splits(cfg.data)
    distributed.check_sizes(world, cfg.train.batch_size, cfg.data.mixing,
                            len(data.train), min(len(data.val), len(data.test)))
    model = create_model(cfg.model, data.num_classes, cfg.data.channels, results)
    data_cfg = resolve_data_config({}, model=model)
    model = apply_method(model, cfg.method)
    transform = DeviceTransform(cfg.data.image_size, cfg.data.channels, data_cfg["mean"],
                                data_cfg["std"], tuple(cfg.data.augment))
    train_batches, val_batches = _batches(cfg, data, transform, device, world)
    memory = MemoryMeter(device, cfg.train.compile)  # the data are resident, the model not yet
    model = model.to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    trainer = _trainer(cfg, model, train_batches, data.num_classes, device, world)
    s = Setup(spec, folder, results, device, data, transform, train_batches, val_batches,
              trainer, memory, inputs_of(spec, results), val_module=model,
              params=count_parameters(model), threads_from=threads_from,
              log=log if world.is_main else (lambda *_: None))
    if cfg.probe.enabled:
        s.init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    _wrap(s)
    return s


def _wrap(s: Setup) -> None:
    """Cached features for a classifier-only run, then the data-parallel and compiled wrappers."""
    cfg = s.cfg
    if cfg.train.cache_features and not s.world.enabled and exact_to_cache(cfg, s.model):
        s.sync()
        t0 = time.perf_counter()
        clean = Batches(s.data.train, cfg.train.eval_batch_size, s.transform, s.device,
                        train=False)
        s.train_batches = CachedBatches(*extract_features(s.model, clean, s.autocast),
                                        cfg.train.batch_size, train=True, seed=cfg.seed,
                                        drop_last=s.train_batches.drop_last)
        s.val_batches = CachedBatches(*extract_features(s.model, s.val_batches, s.autocast),
                                      cfg.train.eval_batch_size, train=False)
        s.sync()
        s.cache_s, s.cached = time.perf_counter() - t0, True
        s.trainer.net = s.val_module = s.model.get_classifier()
        s.held_bytes = s.train_batches.x.nbytes + s.val_batches.x.nbytes  # held while training
    if s.world.enabled:
        from torch.nn.parallel import DistributedDataParallel

        s.trainer.net = DistributedDataParallel(
            s.model, device_ids=[s.device.index] if s.device.type == "cuda" else None)
    if cfg.train.compile:
        s.trainer.net = torch.compile(s.trainer.net)


def resume(s: Setup) -> Progress:
    """Where to start: after the last finished epoch of a checkpoint, or from the beginning."""
    p = Progress(best_state=s.snapshot())
    path = s.folder / CHECKPOINT
    # A summary here means a finished run is being redone: a checkpoint beside it is that old
    # run's last epoch (killed before deleting it), not a place to resume from.
    redo = (s.folder / SUMMARY).exists()
    state = None if redo else checkpoint.load(path, s.spec.identity)
    if state is not None and state["inputs"] != s.inputs:
        s.log(f"[{s.spec.key}] {path} was trained from other weights; starting over")
        state = None
    if s.world.is_main:
        for folder in (s.folder, s.folder / WEIGHTS):  # what a killed writer left behind
            atomic.remove_stale(folder)
            for tmp in folder.glob(".adapter.*"):  # a peft adapter folder, not yet renamed
                shutil.rmtree(tmp, ignore_errors=True)
        (s.folder / SUMMARY).unlink(missing_ok=True)  # from here on, the old result is stale
        if redo:
            path.unlink(missing_ok=True)
    if state is None:
        p.train_time = s.cache_s  # computing the features is part of training (counted once)
        return p
    if lacking := sorted(s.changing() - set(state["model"])):
        raise UserError(f"checkpoint {path} lacks weights of this model ({lacking[0]}, ...); "
                        "delete it to start this run over")
    s.model.load_state_dict(state["model"], strict=False)
    s.trainer.optimizer.load_state_dict(state["optimizer"])
    s.trainer.scheduler.load_state_dict(state["scheduler"])
    checkpoint.set_rng_state(state["rng"], s.train_batches.gen)
    p.history, p.best_state = state["history"], state["best_state"]
    p.best_acc, p.best_epoch = state["best_acc"], state["best_epoch"]
    p.train_time, p.first_epoch = state["train_time"], state["epoch"] + 1
    p.resumes, p.prior_peak = [*state["resumes"], state["epoch"]], state["peak_mib"]
    s.log(f"[{s.spec.key}] resuming from {path} after epoch {state['epoch']}")
    return p


def _save_log(s: Setup, p: Progress) -> None:
    atomic.write_text(s.folder / EPOCHS, "".join(json.dumps(h, sort_keys=True) + "\n"
                                                 for h in p.history))


def _save_epoch(s: Setup, p: Progress, epoch: int) -> None:
    _save_log(s, p)
    keep = s.changing()
    checkpoint.save(s.folder / CHECKPOINT, {
        "identity": s.spec.identity, "inputs": s.inputs, "epoch": epoch, "resumes": p.resumes,
        "peak_mib": max(p.prior_peak, s.memory.peak_mib()),
        "model": {k: v for k, v in s.model.state_dict().items() if k in keep},
        "optimizer": s.trainer.optimizer.state_dict(),
        "scheduler": s.trainer.scheduler.state_dict(),
        "rng": checkpoint.rng_state(s.train_batches.gen), "history": p.history,
        "best_state": p.best_state, "best_acc": p.best_acc, "best_epoch": p.best_epoch,
        "train_time": p.train_time})


def fit(s: Setup, p: Progress) -> Progress:
    """Train from `p.first_epoch`; validation keeps the best epoch's weights."""
    tcfg = s.cfg.train
    for epoch in range(p.first_epoch, tcfg.epochs + 1):
        s.sync()
        t0 = time.perf_counter()
        # the first epoch of a process counts the tensors a step holds (CPU; see memory.py)
        with (s.memory.watch(s.trainer.net, s.trainer.optimizer, s.held_bytes)
              if epoch == p.first_epoch else contextlib.nullcontext()):
            done = engine.train_epoch(s.trainer, s.train_batches, channels_last=not s.cached,
                                      desc=f"epoch {epoch}/{tcfg.epochs}")
        s.sync()
        epoch_time = time.perf_counter() - t0
        p.train_time += epoch_time
        loss_sum, correct, seen = distributed.total(s.world, done.loss_sum, done.correct,
                                                    done.seen)
        if not done.finite:
            p.status = "diverged"
            s.log(f"[{s.spec.key}] loss is not finite at epoch {epoch}: run diverged")
            break
        distributed.broadcast_buffers(s.world, s.model)  # one model scores every rank's chunk
        y_val, p_val, val_loss = distributed.gather(s.world, *engine.evaluate(
            s.val_module, s.val_batches, s.autocast, "validate"))
        val_acc = float((p_val.argmax(1) == y_val).mean())
        p.history.append({"epoch": epoch, "train_loss": loss_sum / seen,
                          "train_accuracy": correct / seen, "val_loss": val_loss,
                          "val_accuracy": val_acc,
                          "lr": s.trainer.optimizer.param_groups[0]["lr"],
                          "epoch_time_s": epoch_time})
        if val_acc > p.best_acc:
            p.best_acc, p.best_epoch, p.best_state = val_acc, epoch, s.snapshot()
        s.log(f"[{s.spec.key}] epoch {epoch}/{tcfg.epochs}: train loss {loss_sum / seen:.4f}, "
              f"val acc {val_acc:.4f} ({epoch_time:.1f}s)")
        if s.world.is_main:
            _save_epoch(s, p, epoch)
            faults.point("epoch-end")
    return p


def finish(s: Setup, p: Progress) -> Summary | None:
    """The test split, once, with the chosen weights; then the post-run steps, the predictions
    and the summary, written last (its existence marks the run finished)."""
    cfg = s.cfg
    s.model.load_state_dict(p.best_state, strict=False)
    faults.point("test")
    test_batches = Batches(distributed.chunk(s.world, s.data.test), cfg.train.eval_batch_size,
                           s.transform, s.device, train=False)
    y_test, p_test, test_loss = distributed.gather(s.world, *engine.evaluate(
        s.model, test_batches, s.autocast, "test"))
    distributed.finish(s.world)  # the rest (report, probes, files) is rank 0's alone
    if not s.world.is_main:
        return None
    # The metrics are computed from exactly the float32 probabilities predictions.npz stores,
    # so anyone recomputing them from that file gets the same numbers bit for bit.
    p_test = np.asarray(p_test, dtype=np.float32)
    metrics = classification_metrics(y_test, p_test, s.data.num_classes) | {"loss": test_loss}
    peak_mib = max(p.prior_peak, s.memory.peak_mib())  # before the post-run steps: not training
    _save_log(s, p)  # also for a run that diverged before its first epoch ended (no epochs)
    added: dict = {}
    for step in POST_RUN:
        added |= step(s, p)
    atomic.write_atomic(s.folder / PREDICTIONS, lambda tmp: np.savez_compressed(
        tmp, y_true=y_test.astype(np.int16), y_pred=p_test.argmax(1).astype(np.int16),
        probs=p_test))  # its argmax is y_pred
    summary = _summary(s, p, metrics, peak_mib, added)
    if (s.folder / WEIGHTS).is_dir():  # what it saved, described for whoever finds it
        atomic.write_text(s.folder / WEIGHTS / CARD, card_text(
            dataclasses.asdict(summary), base_reference(s.cfg.model, s.results),
            str(s.folder / WEIGHTS), Path(s.results).name))
    atomic.write_text(s.folder / SUMMARY, summary.to_json())  # last: the run is finished
    (s.folder / CHECKPOINT).unlink(missing_ok=True)  # what it trained is in weights/
    s.log(f"[{s.spec.key}] test acc {metrics['accuracy']:.4f}, macro-F1 "
          f"{metrics['macro_f1']:.4f}, AUC {metrics['macro_auc']:.4f} (best epoch "
          f"{p.best_epoch}; {p.train_time:.1f}s training)")
    return summary


def _where(s: Setup) -> dict:
    """What the environment does not say by itself: the weights loaded, where the thread count
    came from, and the SLURM job step that ran the run (if one did)."""
    step = slurm_step()
    return ({"weights_sha256": loaded_weights(s.cfg.model, s.results),
             "threads_from": s.threads_from} | ({"slurm": step} if step else {}))


def _summary(s: Setup, p: Progress, metrics: dict, peak_mib: float, added: dict) -> Summary:
    cfg, data = s.cfg, s.data
    return Summary(
        table=s.spec.table, run_id=s.spec.run_id, axes=s.spec.axes, status=p.status,
        identity=s.spec.identity, config_hash=cfg.hash(), config=cfg.to_dict(), inputs=s.inputs,
        dataset={"name": data.name, "display": data.display, "classes": data.num_classes,
                 "train": len(data.train), "val": len(data.val), "test": len(data.test)},
        model={"name": cfg.model.name, "label": cfg.model.label or cfg.model.name,
               "method": cfg.method.name},
        params={"trainable": s.params[0], "total": s.params[1]}, test=metrics,
        best_epoch=p.best_epoch, best_val_accuracy=p.best_acc, resumed_after=p.resumes,
        cached_features=s.cached,
        time={"train_s": p.train_time, "per_epoch_s": p.train_time / max(len(p.history), 1),
              "feature_cache_s": s.cache_s, "wall_s": time.perf_counter() - s.wall0},
        memory={"peak_mib": peak_mib, "kind": s.memory.kind},
        env=environment(s.device) | _where(s),
        code=code_fingerprint(),
        world_size=s.world.size,
        started=s.started.isoformat(timespec="seconds"),
        finished=datetime.now(UTC).isoformat(timespec="seconds"), **added)


def train(spec: RunSpec, results: Path, folder: Path | None = None, log=print) -> Summary | None:
    """Train, select, test; returns the summary (None on ranks other than 0 under torchrun).
    `folder` defaults to the planned run's; one-off runs pass their own."""
    folder = Path(folder) if folder else run_dir(results, spec)
    if folder == run_dir(results, spec):  # the planned run's own, never a link to another's
        check_own_folder(folder, results)
    s = setup(spec, results, folder, log)  # nothing is written before the lock is held
    with runlock.hold(folder) if s.world.is_main else contextlib.nullcontext():
        c = spec.config
        s.log(f"[{spec.key}] {s.data.display}: {len(s.data.train)}/{len(s.data.val)}/"
              f"{len(s.data.test)} train/val/test; {c.model.label or c.model.name} "
              f"{c.method.name}: {s.params[0]:,} of {s.params[1]:,} parameters train; {s.device}")
        return finish(s, fit(s, resume(s)))
