"""k-nearest-neighbour classification on cosine similarity of frozen image features.

Two votes are offered. ``"majority"`` (the default): each of the k nearest training images casts one
vote; a tie between classes goes to the class whose tied voters are more similar in total.
``"weighted"``: the weighted k-NN used in self-supervised evaluation (Wu et al. 2018, DINO): each
neighbour votes ``exp(similarity / T)`` with ``T = 0.07``.
"""

from __future__ import annotations

import numpy as np

from ._common import as_features, as_labels, normalise
from .accuracy import accuracy, mean_per_class_recall

DEFAULT_K = 20
TEMPERATURE = 0.07
_BLOCK = 1024  # test rows per similarity block, to bound memory on large sets


def knn_predict(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, k: int = DEFAULT_K, vote: str = "majority",
) -> np.ndarray:
    """Predicted class for each test row from its ``k`` most cosine-similar training rows."""
    if vote not in ("majority", "weighted"):
        raise ValueError(f"vote must be 'majority' or 'weighted', got {vote!r}")
    train = normalise(as_features(train_x, "train features"))
    test = normalise(as_features(test_x, "test features"))
    labels = as_labels(train_y, len(train), "train labels")
    classes, label_index = np.unique(labels, return_inverse=True)
    k = max(1, min(k, len(train)))
    out = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), _BLOCK):
        sims = test[start:start + _BLOCK] @ train.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        near_sims = np.take_along_axis(sims, nearest, axis=1)
        near_cls = label_index[nearest]
        votes = np.zeros((len(sims), len(classes)))
        if vote == "majority":
            weight = np.ones_like(near_sims)
            # Similarity, scaled far below one vote, only decides between classes with equal counts.
            tie_break = (near_sims + 1.0) / (2.0 * k + 2.0)
            np.add.at(votes, (np.arange(len(sims))[:, None], near_cls), weight + tie_break)
        else:
            np.add.at(votes, (np.arange(len(sims))[:, None], near_cls), np.exp(near_sims / TEMPERATURE))
        out[start:start + len(sims)] = classes[votes.argmax(axis=1)]
    return out


def knn_metrics(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
    k: int = DEFAULT_K, vote: str = "majority",
) -> dict[str, float | int | str | None]:
    """Top-1 accuracy and mean per-class recall (percent) of k-NN, with the ``k`` and vote used."""
    predictions = knn_predict(train_x, train_y, test_x, k, vote)
    test_y = as_labels(test_y, len(predictions), "test labels")
    return {
        "top1": accuracy(predictions, test_y),
        "mean_per_class_recall": mean_per_class_recall(predictions, test_y),
        "k": int(min(k, len(train_y))),
        "vote": vote,
    }
