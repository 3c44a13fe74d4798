"""Write-up 001's probes: filter-normalised directions, the loss landscape and the filter maps."""

from __future__ import annotations

import pytest
import timm
import torch

import ftbench.models.micro  # noqa: F401  (registers resnet34_micro)
from ftbench.config import ProbeConfig, RunConfig, from_dict, validate
from ftbench.data.pipeline import DeviceTransform
from ftbench.data.splits import Split
from ftbench.errors import UserError
from ftbench.models.factory import use_cifar_stem
from ftbench.train.probes import (
    filter_normalise,
    first_conv,
    mean_loss,
    random_directions,
    run_probes,
)


def _model():
    torch.manual_seed(0)
    model = timm.create_model("resnet34_micro", num_classes=5)
    use_cifar_stem(model)
    return model.eval()


def test_filter_normalised_direction_matches_each_filter_norm_and_leaves_biases_still():
    model = _model()
    weights = dict(model.named_parameters())
    (raw,) = random_directions(model, 1, torch.Generator().manual_seed(0))
    d = filter_normalise(raw, weights)
    conv = d["conv1.weight"]
    assert torch.allclose(conv.flatten(1).norm(dim=1),
                          weights["conv1.weight"].flatten(1).norm(dim=1), rtol=1e-5)
    assert not torch.allclose(conv, weights["conv1.weight"])  # a direction, not the weights
    for name, p in weights.items():
        if p.dim() <= 1:  # biases and BatchNorm scales do not move
            assert torch.count_nonzero(d[name]) == 0, name


def _probe(model, init, trained, n=40):
    gen = torch.Generator().manual_seed(1)
    split = Split(torch.randint(0, 256, (n, 1, 8, 8), generator=gen, dtype=torch.uint8),
                  torch.randint(0, 5, (n,), generator=gen))
    transform = DeviceTransform(16, 3, (0.5,) * 3, (0.25,) * 3)
    cfg = ProbeConfig(enabled=True, images=32, points_1d=5, points_2d=3)
    arrays, scalars = run_probes(model, init, trained, split, split, transform,
                                 torch.device("cpu"), lambda: torch.autocast("cpu", enabled=False),
                                 cfg, seed=0)
    return split, transform, arrays, scalars


@pytest.mark.slow
def test_landscape_centre_is_the_loss_of_the_weights_themselves():
    model = _model()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():  # a "trained" state that differs from the initial one
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    split, transform, arrays, scalars = _probe(model, init, trained)

    take = torch.randperm(len(split.y), generator=torch.Generator().manual_seed(0))[:32]
    batch = [(transform(split.x[take], False, None), split.y[take])]
    model.load_state_dict(trained)
    plain = mean_loss(model, dict(model.named_parameters()), batch,
                      lambda: torch.autocast("cpu", enabled=False))
    assert arrays["loss_1d_trained"][2] == pytest.approx(plain, rel=1e-5)
    assert arrays["loss_2d_trained"][1, 1] == pytest.approx(plain, rel=1e-5)
    assert scalars["loss_trained_centre"] == pytest.approx(plain, rel=1e-5)
    assert arrays["loss_1d_init"][2] != pytest.approx(plain, rel=1e-3)  # its own centre
    # moving one unit along a direction changes the loss
    assert arrays["loss_1d_trained"][0] != pytest.approx(plain, rel=1e-3)
    # the model is left at its trained weights
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())


@pytest.mark.slow
def test_filter_maps_have_the_sizes_the_stride_and_padding_formula_gives():
    model = _model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    _, _, arrays, _ = _probe(model, state, state)
    k = first_conv(model).kernel_size[0]
    assert k == 3 and arrays["filters"].shape[1:] == (3, 3, 3)
    for s in (1, 2, 3):
        for p in (0, 1, 2):
            assert arrays[f"stride{s}_pad{p}"].shape == ((16 + 2 * p - k) // s + 1,) * 2
    assert arrays["responses"].shape == (4, 8, 16, 16)
    assert 0 <= arrays["images"].min() and arrays["images"].max() <= 1


def test_probes_need_full_training():
    cfg = from_dict(RunConfig, {"method": {"name": "lora", "targets": ["fc"]},
                                "probe": {"enabled": True}}, "test")
    with pytest.raises(UserError, match="probe.enabled needs method.name full"):
        validate(cfg, "test")
