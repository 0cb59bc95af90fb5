"""Zero-shot classification: each image against one text embedding per class.

With several prompt templates (``T x C x D`` text features) the class embedding is CLIP's prompt
ensemble: the per-template unit vectors are averaged over templates and renormalised, exactly as
``clip_benchmark.metrics.zeroshot_classification.zero_shot_classifier`` does.
"""

from __future__ import annotations

import numpy as np

from ._common import as_features, as_labels, normalise
from .accuracy import classification_scores

# CLIP's learned temperature is ~100; scaling does not change rankings, only softmax probabilities.
DEFAULT_LOGIT_SCALE = 100.0


def class_embeddings(text_features: np.ndarray) -> np.ndarray:
    """``C x D`` unit class vectors from ``C x D`` or per-template ``T x C x D`` text features."""
    text = np.asarray(text_features, dtype=np.float32)
    if text.ndim == 3:
        # Each template's vector is made unit first, so no template outweighs another.
        text = normalise(normalise(text).mean(axis=0))
    elif text.ndim == 2:
        text = normalise(text)
    else:
        raise ValueError(f"text features should be C x D or T x C x D, got shape {text.shape}")
    return text


def zero_shot_logits(
    image_features: np.ndarray, text_features: np.ndarray, logit_scale: float = DEFAULT_LOGIT_SCALE
) -> np.ndarray:
    """``N x C`` scaled cosine similarities between images and class embeddings."""
    images = as_features(image_features, "image features")
    classes = class_embeddings(text_features)
    if classes.shape[-1] != images.shape[1]:
        raise ValueError(f"text features have {classes.shape[-1]} dims, image features {images.shape[1]}")
    return logit_scale * images @ classes.T


def zero_shot_metrics(
    image_features: np.ndarray, labels: np.ndarray, text_features: np.ndarray
) -> dict[str, float | None]:
    """Top-1, top-5 (None with fewer than 5 classes) and mean per-class recall, in percent."""
    logits = zero_shot_logits(image_features, text_features)
    return classification_scores(logits, as_labels(labels, len(logits)))
