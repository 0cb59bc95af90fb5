"""Zero-shot classification of every tile against class names (CLIP's prompt ensembling), tile by tile or
all tiles together (transductive, :mod:`backend.query.transductive`). Probabilities are in 0..1, rows sum to 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from ..embedding.store import EmbeddingStore
from .prompts import DEFAULT_TEMPLATES, class_embeddings, parse_class_list
from .transductive import transductive_or_zero_shot
from .vector_layer import VectorLayer, field_name


@dataclass
class Classification:
    """Per-tile class probabilities (``N x C``) for ``classes``."""

    classes: list[str]
    probabilities: np.ndarray
    note: str | None = None  # why transduction fell back to plain zero-shot, when it was asked and did

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    def class_shares(self) -> dict[str, float]:
        """Fraction of tiles assigned to each class."""
        counts = np.bincount(self.predicted, minlength=len(self.classes))
        return {c: float(n) / max(1, len(self.predicted)) for c, n in zip(self.classes, counts)}


def classify_embeddings(image: np.ndarray, text: np.ndarray, logit_scale: float) -> np.ndarray:
    """Softmax over ``logit_scale * cosine`` of unit image (``N x D``) and class (``C x D``) vectors."""
    return softmax(logit_scale * (np.asarray(image, dtype=np.float32) @ text.T.astype(np.float32)), axis=-1)


def zero_shot(store: EmbeddingStore, model, classes: str | Sequence[str],
              templates: Sequence[str] = DEFAULT_TEMPLATES,
              transductive: bool = False) -> tuple[Classification, list[VectorLayer]]:
    """Classify every tile; the layer has the class, its probability and one probability per class.
    ``transductive``: TransCLIP over all tiles, or plain zero-shot and a note when the input does not allow it."""
    names = parse_class_list(classes)
    text = class_embeddings(model, names, templates)
    note = None
    if transductive:
        probs, note = transductive_or_zero_shot(store.embeddings, text, model.logit_scale)
    else:
        probs = classify_embeddings(store.embeddings, text, model.logit_scale)
    result = Classification(names, probs, note)
    taken = {"tile_id", "class", "class_id", "prob"}
    prob_fields = [field_name("p_" + c, taken) for c in names]
    fields: dict[str, type] = {"tile_id": int, "class": str, "class_id": int, "prob": float}
    fields.update({f: float for f in prob_fields})
    rows = []
    for i, (p, c) in enumerate(zip(probs, result.predicted)):
        row = {"tile_id": i, "class": names[c], "class_id": int(c), "prob": float(p[c])}
        row.update({f: float(v) for f, v in zip(prob_fields, p)})
        rows.append(row)
    return result, [VectorLayer("classes", fields, store.core_footprints, rows)]
