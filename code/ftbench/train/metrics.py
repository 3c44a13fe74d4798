"""Classification metrics through scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, num_classes: int) -> dict:
    """Accuracy, macro-F1, macro one-vs-rest AUC (from softmax probabilities), confusion matrix."""
    y_pred = probs.argmax(1)
    labels = list(range(num_classes))
    present = np.unique(y_true)
    probs64 = probs.astype(np.float64)
    probs64 /= probs64.sum(1, keepdims=True)  # float32 softmax may miss 1 by rounding
    if len(present) == num_classes:
        auc = roc_auc_score(y_true, probs64, multi_class="ovr", average="macro", labels=labels)
    elif len(present) > 1:
        # A small split can lack a class; average the one-vs-rest AUC over classes present.
        auc = float(np.mean([roc_auc_score(y_true == c, probs64[:, c]) for c in present]))
    else:
        auc = float("nan")
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=labels,
                                   zero_division=0)),
        "macro_auc": float(auc),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
