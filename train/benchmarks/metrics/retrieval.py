"""Image-text retrieval recall, RemoteCLIP's protocol.

Captions are grouped per image (RSITMD, RSICD and UCM-captions have five per image). Scores are
dot products of unit features. Image -> text R@k: an image is a hit when **any** of its captions is
among its k best-scoring captions. Text -> image R@k: a caption is a hit when its image is among its
k best-scoring images. Mean recall is the mean of the six values (R@1/5/10 both ways), as in
RemoteCLIP's ``remoteclip_retrieval.py``, which computes these with clip_benchmark's
``recall_at_k(...) > 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import as_features, as_labels, percent

DEFAULT_KS = (1, 5, 10)
_BLOCK = 2048  # rows per block of the score matrix


def _hits_at_k(scores: np.ndarray, positives: np.ndarray, k: int) -> np.ndarray:
    """Per row: whether any positive column is among the row's ``k`` highest scores.

    ``positives`` is a boolean matrix the shape of ``scores``.
    """
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(positives, top, axis=1).any(axis=1)


def retrieval_metrics(
    image_features: np.ndarray, text_features: np.ndarray, caption_image: np.ndarray, ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, float]:
    """``{"i2t_R@1", ..., "t2i_R@10", "mean_recall"}`` in percent.

    ``caption_image[j]`` is the index (row of ``image_features``) of the image caption ``j`` describes.
    """
    images = as_features(image_features, "image features")
    texts = as_features(text_features, "text features")
    owner = as_labels(caption_image, len(texts), "caption_image")
    if len(owner) and (owner.min() < 0 or owner.max() >= len(images)):
        raise ValueError("caption_image holds an index outside the image features")
    i2t = {k: [] for k in ks}
    t2i = {k: [] for k in ks}
    for start in range(0, len(texts), _BLOCK):
        scores = texts[start:start + _BLOCK] @ images.T  # captions x images
        positives = owner[start:start + _BLOCK, None] == np.arange(len(images))[None, :]
        for k in ks:
            t2i[k].append(_hits_at_k(scores, positives, k))
    for start in range(0, len(images), _BLOCK):
        block = np.arange(start, min(start + _BLOCK, len(images)))
        scores = images[block] @ texts.T  # images x captions
        positives = block[:, None] == owner[None, :]
        for k in ks:
            i2t[k].append(_hits_at_k(scores, positives, k))
    out = {f"i2t_R@{k}": percent(np.concatenate(i2t[k]).mean()) for k in ks}
    out.update({f"t2i_R@{k}": percent(np.concatenate(t2i[k]).mean()) for k in ks})
    out["mean_recall"] = float(np.mean(list(out.values())))
    return out
