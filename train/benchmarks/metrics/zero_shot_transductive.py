"""Transductive zero-shot: all test images classified together (TransCLIP, :mod:`backend.query.transductive`).

The same inputs and output fields as :mod:`.zero_shot` (top-1, top-5, mean per-class recall, in percent), scored
on the transductive probabilities; the class embeddings are the same prompt ensemble and the prior's logit
scale the same 100 (CLIP's, TransCLIP's). A set with fewer images than classes falls back to plain zero-shot
and says so in a ``note`` field. Unlike the other tasks the result depends on the whole test set at once (that
is the point), so it is not comparable with papers' inductive zero-shot numbers.
"""

from __future__ import annotations

import numpy as np

from backend.query.transductive import transductive_or_zero_shot

from ._common import as_features, as_labels
from .accuracy import classification_scores
from .zero_shot import DEFAULT_LOGIT_SCALE, class_embeddings


def zero_shot_transductive_metrics(
    image_features: np.ndarray, labels: np.ndarray, text_features: np.ndarray,
    logit_scale: float = DEFAULT_LOGIT_SCALE, **options,
) -> dict[str, float | str | None]:
    """Top-1, top-5 (None with fewer than 5 classes) and mean per-class recall of transductive zero-shot, percent.

    ``options`` go to :func:`backend.query.transductive.transductive_zero_shot` (``n_neighbors``, ``rounds``...).
    """
    images = as_features(image_features, "image features")
    classes = class_embeddings(text_features)
    if classes.shape[-1] != images.shape[1]:
        raise ValueError(f"text features have {classes.shape[-1]} dims, image features {images.shape[1]}")
    probs, note = transductive_or_zero_shot(images, classes, logit_scale, **options)
    scores: dict[str, float | str | None] = dict(classification_scores(probs, as_labels(labels, len(probs))))
    if note:
        scores["note"] = note
    return scores
