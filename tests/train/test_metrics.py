"""Metrics agree with hand computation; AUC copes with a class missing from a small split."""

from __future__ import annotations

import numpy as np

from ftbench.train.metrics import classification_metrics


def test_metrics_on_a_small_known_case():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1],
                      [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.1, 0.3]], dtype=np.float32)
    m = classification_metrics(y, probs, 3)
    assert m["accuracy"] == 4 / 6
    # per class F1: class 0: p=1/2 r=1/2 -> .5; class 1: p=2/3 r=1 -> .8; class 2: p=1 r=1/2 -> 2/3
    assert abs(m["macro_f1"] - (0.5 + 0.8 + 2 / 3) / 3) < 1e-12
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert 0.5 < m["macro_auc"] <= 1.0


def test_perfect_and_chance_auc():
    y = np.array([0, 1, 2] * 10)
    perfect = np.eye(3, dtype=np.float32)[y] * 0.9 + 0.1 / 3
    assert classification_metrics(y, perfect, 3)["macro_auc"] == 1.0
    uniform = np.full((30, 3), 1 / 3, dtype=np.float32)
    assert classification_metrics(y, uniform, 3)["macro_auc"] == 0.5


def test_auc_with_a_class_absent_from_the_split():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    m = classification_metrics(y, probs, 3)
    assert m["macro_auc"] == 1.0 and m["accuracy"] == 1.0
