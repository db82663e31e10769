"""Classification metrics, including the SemEval-2017 Task 4A measures.

- AvgRec: recall averaged over the classes (macro recall), the task's main metric.
- F1-PN: mean of the F1 scores of the positive and the negative class (binary: same).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Labels = Sequence[int] | np.ndarray  # label ids: a list or a 1-d integer array


def confusion_matrix(y_true: Labels, y_pred: Labels, num_labels: int) -> np.ndarray:
    """Rows are true labels, columns predicted labels."""
    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    flat = true * num_labels + pred
    return np.bincount(flat, minlength=num_labels * num_labels).reshape(num_labels, num_labels)


def metrics_from_confusion(matrix: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """accuracy, macro precision/recall/F1, AvgRec and F1-PN from a confusion matrix."""
    matrix = matrix.astype(np.float64)
    tp = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = matrix.sum()
    polar = [i for i, name in enumerate(labels) if name in ("positive", "negative")]
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "avgrec": float(recall.mean()),
        "f1_pn": float(f1[polar].mean()) if polar else float(f1.mean()),
    }


def compute_metrics(y_true: Labels, y_pred: Labels, labels: Sequence[str]) -> dict[str, float]:
    return metrics_from_confusion(confusion_matrix(y_true, y_pred, len(labels)), labels)


METRIC_NAMES = ("loss", "accuracy", "precision", "recall", "f1", "avgrec", "f1_pn")
