"""Counting, RemoteCount-style: each image against text prompts for one to ten objects.

Counting is zero-shot classification over the counts 1..10 (``text_features`` row ``i`` is the
prompt for ``i + 1`` objects, see ``backend.query.prompts.count_prompts``). Top-1 is the share of images
whose most similar prompt is the true count; within-one also accepts a prediction off by one.
The mean absolute error is in objects, not percent.
"""

from __future__ import annotations

import numpy as np

from ._common import as_labels, percent
from .zero_shot import zero_shot_logits


def counting_metrics(image_features: np.ndarray, counts: np.ndarray, text_features: np.ndarray) -> dict[str, float]:
    """``{"top1", "within_one", "mean_abs_error"}`` for true ``counts`` (1-based) and count prompts."""
    logits = zero_shot_logits(image_features, text_features)
    counts = as_labels(counts, len(logits), "counts")
    if len(counts) == 0:
        raise ValueError("no images to count")
    predicted = logits.argmax(axis=1) + 1  # prompt i is the count i + 1
    error = np.abs(predicted - counts)
    return {
        "top1": percent((error == 0).mean()),
        "within_one": percent((error <= 1).mean()),
        "mean_abs_error": float(error.mean()),
    }
