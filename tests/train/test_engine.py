"""The training loop (ftbench.train.engine): schedules, optimizers, autocast, the one inference
loop, the CPU memory meter, colour jitter, the CIFAR stem. (Whole runs: tests/train/test_run.py.)"""

from __future__ import annotations

import pytest
import torch

from ftbench.config import ModelConfig, TrainConfig
from ftbench.data.pipeline import colour_jitter
from ftbench.errors import UserError
from ftbench.models.factory import create_model
from ftbench.train.engine import (
    evaluate,
    infer,
    make_autocast,
    make_optimizer,
    make_scheduler,
    resolve_device,
)
from ftbench.train.memory import MemoryMeter


def _lrs(schedule: str, steps: int = 40) -> list[float]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make_scheduler(TrainConfig(schedule=schedule, lr=1.0), opt, steps, 10)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_schedule_decays_tenfold_at_half_and_three_quarters():
    lrs = _lrs("step")
    assert lrs[19] == 1.0 and lrs[20] == pytest.approx(0.1) and lrs[30] == pytest.approx(0.01)


def test_cosine_restarts_returns_to_the_full_rate_each_quarter():
    lrs = _lrs("cosine_restarts")
    assert lrs[0] == lrs[10] == lrs[20] == lrs[30] == 1.0 and lrs[9] < 0.05


def test_warmup_ramps_linearly_then_the_schedule_takes_over():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make_scheduler(TrainConfig(schedule="constant", warmup_epochs=0.5, lr=1.0), opt,
                           40, 10)
    lrs = []
    for _ in range(40):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # 5 warm-up steps from 1/5 of the rate, in equal steps, to the full rate
    assert lrs[:7] == pytest.approx([0.2, 0.36, 0.52, 0.68, 0.84, 1.0, 1.0])
    assert lrs[-1] == 1.0


@pytest.mark.parametrize("name, cls", [("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam),
                                       ("sgd", torch.optim.SGD),
                                       ("rmsprop", torch.optim.RMSprop)])
def test_optimizers_take_the_configs_settings(name, cls):
    cfg = TrainConfig(optimizer=name, lr=0.02, weight_decay=0.001, momentum=0.8)
    opt = make_optimizer(cfg, [torch.zeros(2, requires_grad=True)])
    group = opt.param_groups[0]
    assert type(opt) is cls and group["lr"] == 0.02 and group["weight_decay"] == 0.001
    if name in ("sgd", "rmsprop"):
        assert group["momentum"] == 0.8


def test_autocast_is_bf16_only_where_asked():
    cpu = torch.device("cpu")
    with make_autocast(cpu, "auto")():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32  # fp32 on a CPU
    with make_autocast(cpu, "bf16")():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with make_autocast(cpu, "fp32")():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert resolve_device("cpu") == cpu


def test_one_inference_loop_keeps_order_and_evaluate_gives_probabilities():
    model = torch.nn.Linear(3, 4)
    x = torch.randn(10, 3)
    batches = [(x[:4], torch.arange(4)), (x[4:], torch.arange(4, 10) % 4)]
    off = make_autocast(torch.device("cpu"), "fp32")
    logits, labels = infer(model, batches, off)
    assert torch.equal(labels, torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]))
    torch.testing.assert_close(logits, model(x).detach())
    model.train()
    y, probs, loss = evaluate(model, batches, off, "test")
    assert not model.training, "evaluation runs in eval mode"
    assert probs.shape == (10, 4) and abs(probs.sum(1) - 1).max() < 1e-6
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item())


def _step_bytes(model: torch.nn.Module, batch: int) -> float:
    """The CPU meter's figure (MiB) for one training step of `model` on a random batch."""
    meter = MemoryMeter(torch.device("cpu"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-3)
    with meter.watch(model, optimizer):
        loss = torch.nn.functional.cross_entropy(model(torch.randn(batch, 3, 16, 16)),
                                                 torch.arange(batch) % 10)
        loss.backward()
        optimizer.step()
    assert meter.kind == "cpu_tensors"
    return meter.peak_mib()


def _micro(head_only: bool = False) -> torch.nn.Module:
    model = create_model(ModelConfig(name="resnet34_micro"), 10, 3, "results")
    if head_only:
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("fc.")
    return model


def test_the_cpu_memory_meter_counts_what_a_step_holds():
    """Parameters, a gradient per trainable one, AdamW's two moments: at least that much; the
    activations saved for backward come on top and grow with the batch."""
    model = _micro()
    params = sum(p.numel() for p in model.parameters()) * 4 / 2**20
    small, large = _step_bytes(_micro(), 4), _step_bytes(_micro(), 16)
    assert small >= params * 4  # weights, gradients, two moments
    assert large > small  # saved activations scale with the batch
    # a frozen backbone saves almost nothing for backward and keeps no moments of its own
    assert _step_bytes(_micro(head_only=True), 16) < large / 2


def test_the_cpu_memory_figure_does_not_depend_on_what_ran_before():
    """The resident set keeps the high-water mark of earlier runs in a process; the tensor
    count is the same wherever the run stands in its process."""
    torch.manual_seed(0)
    first = _step_bytes(_micro(), 8)
    block = torch.ones(128 * 2**20 // 4)  # 128 MiB held by "an earlier run"
    torch.manual_seed(1)
    again = _step_bytes(_micro(), 8)
    del block
    assert again == first


def test_colour_jitter_stays_in_range_and_is_seeded():
    x = torch.rand(6, 3, 8, 8)
    a = colour_jitter(x, torch.Generator().manual_seed(1))
    b = colour_jitter(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert a.min() >= 0 and a.max() <= 1


def test_cifar_stem_keeps_resolution_through_the_stem():
    plain = create_model(ModelConfig(name="resnet34_micro"), 10, 3, "results").eval()
    cifar = create_model(ModelConfig(name="resnet34_micro", cifar_stem=True), 10, 3,
                         "results").eval()
    x = torch.randn(1, 3, 32, 32)
    assert cifar.conv1.kernel_size == (3, 3) and cifar.conv1.stride == (1, 1)
    assert cifar.forward_features(x).shape[-1] == 4 * plain.forward_features(x).shape[-1]
    with pytest.raises(UserError, match="cifar_stem needs a ResNet"):
        create_model(ModelConfig(name="vit_micro_patch8_32", cifar_stem=True), 10, 3, "results")
