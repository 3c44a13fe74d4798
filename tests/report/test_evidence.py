"""The test loss a summary records, checked against the probabilities predictions.npz stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ftbench.errors import UserError
from ftbench.report.evidence import _check_loss


def _loss_and_p_true(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, np.ndarray]:
    """What a run records (cross-entropy from logits) and stores (float32 softmax)."""
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    probs = logits.softmax(1).numpy().astype(np.float32)
    return loss, probs[np.arange(len(y)), y.numpy()]


def test_a_loss_from_well_represented_probabilities_must_equal_the_record():
    logits = torch.randn(50, 10, generator=torch.Generator().manual_seed(0))
    y = torch.arange(50) % 10
    loss, p_true = _loss_and_p_true(logits, y)
    _check_loss(loss, p_true, Path("run"))
    with pytest.raises(UserError, match="test.loss .* is not what predictions.npz gives"):
        _check_loss(loss + 0.05, p_true, Path("run"))


def test_underflowed_probabilities_bound_the_loss_from_below_only():
    """A barely trained run that is confidently wrong on some images: their float32 softmax is
    0, the record (from the logits) is far above what the probabilities can show."""
    logits = torch.zeros(20, 10)
    logits[:5, 1] = 300.0  # images 0-4 (true class 0) confidently wrong
    y = torch.zeros(20, dtype=torch.long)
    loss, p_true = _loss_and_p_true(logits, y)
    assert (p_true[:5] == 0).all() and loss > 50
    _check_loss(loss, p_true, Path("run"))
    with pytest.raises(UserError, match="is below the least that predictions.npz allows"):
        _check_loss(1.0, p_true, Path("run"))
