"""Counting, RemoteCount-style: each tile against prompts for one to ten of an object (counts in objects per
tile, probabilities 0..1). The count phrases ("three storage tanks") go through the model's prompt templates,
each ensembled like a class name; with the one default template that is RemoteCount's own
"a satellite photo of three storage tanks."."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embedding.store import EmbeddingStore
from .prompts import DEFAULT_TEMPLATES, class_embeddings, count_phrases
from .vector_layer import VectorLayer
from .zero_shot import classify_embeddings


@dataclass
class CountResult:
    """Per-tile probabilities over counts 1..10 (``N x 10``) and the estimates derived from them."""

    object_name: str
    prompts: list[str]  # the ten count phrases ("three storage tanks"), before the templates
    probabilities: np.ndarray
    core_share: np.ndarray  # fraction of each tile's area that is its own core (avoids double counting)

    @property
    def counts(self) -> np.ndarray:
        """Most likely count per tile (1..10)."""
        return self.probabilities.argmax(axis=1) + 1

    @property
    def expected(self) -> np.ndarray:
        """Expected count per tile: sum of n * p(n)."""
        return self.probabilities @ np.arange(1, self.probabilities.shape[1] + 1, dtype=np.float64)

    @property
    def total_expected(self) -> float:
        """Raster-wide estimate: expected counts weighted by each tile's share of the mosaic."""
        return float((self.expected * self.core_share).sum())


def count_objects(store: EmbeddingStore, model, obj: str,
                  templates: Sequence[str] = DEFAULT_TEMPLATES) -> tuple[CountResult, list[VectorLayer]]:
    """Count ``obj`` per tile; the layer holds the count, the expected count and its confidence."""
    prompts = count_phrases(obj)
    text = class_embeddings(model, prompts, templates)
    probs = classify_embeddings(store.embeddings, text, model.logit_scale)
    core_area = store.cores[:, 2] * store.cores[:, 3]
    tile_area = store.windows[:, 2] * store.windows[:, 3]
    result = CountResult(obj, prompts, probs, core_area / np.maximum(tile_area, 1))
    rows = [
        {"tile_id": i, "object": obj, "count": int(c), "expected_count": float(e), "confidence": float(p.max())}
        for i, (c, e, p) in enumerate(zip(result.counts, result.expected, probs))
    ]
    fields = {"tile_id": int, "object": str, "count": int, "expected_count": float, "confidence": float}
    return result, [VectorLayer("counts", fields, store.core_footprints, rows)]
