"""Classification scores shared by every task: top-k accuracy and mean per-class recall.

They follow clip_benchmark (``metrics/zeroshot_classification.py``): top-k counts a hit when the
true class is among the k highest scores (``torch.topk``), and mean per-class recall is
``sklearn.metrics.balanced_accuracy_score`` (recall averaged over the classes present in the labels).
"""

from __future__ import annotations

import numpy as np

from ._common import as_labels, percent


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float | None:
    """Percentage of rows of ``scores`` (``N x C``) whose true class is among the ``k`` highest.

    None when there are fewer than ``k`` classes (clip_benchmark reports NaN then; None keeps
    the JSON valid).
    """
    scores = np.asarray(scores)
    labels = as_labels(labels, len(scores))
    if scores.shape[1] < k:
        return None
    if len(labels) == 0:
        return None
    # argpartition is O(C) per row; which of the top k comes first does not matter for a hit.
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return percent((top == labels[:, None]).any(axis=1).mean())


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float | None:
    """Percentage of ``predictions`` equal to ``labels`` (None for no rows)."""
    labels = as_labels(labels)
    predictions = as_labels(predictions, len(labels), "predictions")
    if len(labels) == 0:
        return None
    return percent((predictions == labels).mean())


def mean_per_class_recall(predictions: np.ndarray, labels: np.ndarray) -> float | None:
    """Recall averaged over the classes that occur in ``labels``, in percent.

    Same value as ``balanced_accuracy_score(labels, predictions)``: classes that only occur among
    the predictions have no recall and are left out, as sklearn does.
    """
    labels = as_labels(labels)
    predictions = as_labels(predictions, len(labels), "predictions")
    if len(labels) == 0:
        return None
    classes = np.unique(labels)
    recalls = [(predictions[labels == c] == c).mean() for c in classes]
    return percent(float(np.mean(recalls)))


def classification_scores(scores: np.ndarray, labels: np.ndarray) -> dict[str, float | None]:
    """``{"top1", "top5", "mean_per_class_recall"}`` for a score matrix (``N x C``)."""
    predictions = np.asarray(scores).argmax(axis=1)
    return {
        "top1": top_k_accuracy(scores, labels, 1),
        "top5": top_k_accuracy(scores, labels, 5),
        "mean_per_class_recall": mean_per_class_recall(predictions, labels),
    }
