"""More like these: classes or a ranking learned from a few marked tiles, over a raster's cached embeddings.

Examples are labelled points or polygons in the raster's CRS. A point marks the tile whose core holds it; a
polygon marks every tile whose core centre lies inside it (or, for a polygon smaller than a tile, the tile under
its first vertex). Then, with no model call beyond the labels' text:

- **classes** (two or more labels): with at least :data:`LOGISTIC_MIN_PER_CLASS` examples of every label a
  multinomial logistic regression (L2, L-BFGS) on the unit embeddings; with fewer, prototypes (the normalised
  sum of a label's examples). A label that is also a phrase ("water", not "c3") adds its zero-shot text
  embedding as one more example of itself: the text is the prior, and the marks move it.
- **ranking** (one label, optionally with negatives marked :data:`NEGATIVE_LABEL`): a tile's score is its cosine
  to the positives' prototype minus its cosine to the negatives' (unitless, -2 to 2), so marking more refines it.

Probabilities are unitless (0 to 1). Fitting sees only the example tiles; scoring is one matrix product over the
store (100,000 tiles x 384 in well under a second).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embedding.store import EmbeddingStore
from ..errors import UserError
from ..raster.reader import pixel_of
from ..raster.tile_grid import core_containing
from .hit_selection import select_distinct
from .vector_layer import VectorLayer, field_name

NEGATIVE_LABEL = "negative"
# Below this many examples of some label, prototypes; a logistic regression on 4 points in 384 dimensions only
# memorises them, and the prototypes' nearest-mean rule is the better few-shot classifier (Snell et al. 2017).
LOGISTIC_MIN_PER_CLASS = 5
LOGISTIC_L2 = 1.0  # inverse strength, as scikit-learn's C: weights of unit-norm embeddings stay moderate
PROTOTYPE_SCALE = 50.0  # softmax temperature of prototype cosines (CLIP's zero-shot scale is about 100)
# How many examples a label's text counts as: chosen on RSSCN7's mosaic (1-shot 75 -> 84 % from weights 1 to 4).
TEXT_PRIOR_WEIGHT = 4.0
MODES = ("auto", "classify", "rank")
_PHRASE = re.compile(r"^[^\W\d_][^\W\d_ '\-]*(?:[ '\-][^\W\d_]+)*$")


@dataclass(frozen=True)
class Example:
    """One marked place: a label and a GeoJSON geometry (Point, Polygon or Multi-) in the raster's CRS."""

    label: str
    geometry: dict


@dataclass
class FewShotResult:
    """Per-tile answers, row-aligned with the store.

    ``mode`` "classify": ``probabilities`` (N x C) over ``labels``; "rank": ``scores`` (N) and ``hits``.
    ``example_rows`` maps each label to the store rows its examples marked; ``method`` says how it was fitted.
    """

    mode: str
    labels: list[str]
    method: str
    example_rows: dict[str, np.ndarray]
    probabilities: np.ndarray | None = None
    scores: np.ndarray | None = None
    hits: np.ndarray | None = None

    @property
    def classes(self) -> np.ndarray:
        return np.asarray(self.probabilities).argmax(axis=1)


def is_phrase(label: str) -> bool:
    """True for labels that read as words ("water", "bare soil"), whose text embedding can be a prior."""
    return bool(_PHRASE.match(label.strip())) and sum(ch.isalpha() for ch in label) >= 3


def _rings(geometry: dict) -> list[np.ndarray]:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        return [np.asarray(coords[0], dtype=np.float64)[:, :2]]
    if kind == "MultiPolygon":
        return [np.asarray(poly[0], dtype=np.float64)[:, :2] for poly in coords]
    return []


def _points(geometry: dict) -> np.ndarray:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        return np.asarray([coords[:2]], dtype=np.float64)
    if kind == "MultiPoint":
        return np.asarray([c[:2] for c in coords], dtype=np.float64)
    return np.empty((0, 2))


def tiles_under(store: EmbeddingStore, geometry: dict, centres: np.ndarray) -> set[int]:
    """Store rows an example marks (see the module docstring); ``centres``: the tile cores' centres, N x 2."""
    from matplotlib.path import Path as Polygon  # point-in-polygon without a geometry library

    raster = store.meta["raster"]
    rows: set[int] = set()
    probes = list(_points(geometry))
    for ring in _rings(geometry):
        inside = np.flatnonzero(Polygon(ring).contains_points(centres))
        if len(inside):
            rows.update(int(i) for i in inside)
        else:
            probes.append(ring[0])
    if not probes and not _rings(geometry):
        raise UserError(f"an example's geometry is a {geometry.get('type')}: mark points or polygons")
    for x, y in probes:
        col, row = pixel_of(store.transform, float(x), float(y))
        if 0 <= col < raster["width"] and 0 <= row < raster["height"]:
            found = core_containing(store.cores, col, row)
            if found is not None:
                rows.add(int(found))
    return rows


def example_rows(store: EmbeddingStore, examples: Sequence[Example]) -> dict[str, np.ndarray]:
    """Store rows per label (a tile marked with two labels counts for both); refuses examples off the imagery."""
    if not examples:
        raise UserError("no examples: mark at least one tile")
    centres = store.core_footprints.mean(axis=1)
    by_label: dict[str, set[int]] = {}
    off = 0
    for example in examples:
        rows = tiles_under(store, example.geometry, centres)
        off += not rows
        if rows:
            by_label.setdefault(example.label, set()).update(rows)
    if not by_label:
        raise UserError(f"all {len(examples)} examples lie outside the raster or on tiles skipped as nodata: "
                        "mark tiles on the imagery (in the raster's CRS)")
    if off:
        raise UserError(f"{off} of {len(examples)} examples lie outside the raster or on tiles skipped as nodata: "
                        "move or delete them")
    return {label: np.array(sorted(rows), dtype=np.int64) for label, rows in by_label.items()}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int, c: float = LOGISTIC_L2,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (weights D x C, biases C): weighted mean cross-entropy + ||W||² / (2 c n),
    by L-BFGS; ``weight``: per-sample weights (default 1)."""
    from scipy.optimize import minimize

    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    sw = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    sw = sw * (n / sw.sum())

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d * n_classes].reshape(d, n_classes), theta[d * n_classes:]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(sw * np.log(p[np.arange(n), y] + 1e-12)) + (w * w).sum() / (2 * c * n)
        grad = sw[:, None] * (p - onehot) / n
        return value, np.concatenate([(x.T @ grad + w / (c * n)).ravel(), grad.sum(axis=0)])

    theta = minimize(loss, np.zeros(d * n_classes + n_classes), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500}).x
    return theta[:d * n_classes].reshape(d, n_classes), theta[d * n_classes:]


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def few_shot(store: EmbeddingStore, examples: Sequence[Example], text_embeddings: dict[str, np.ndarray] | None = None,
             mode: str = "auto", k: int = 10) -> FewShotResult:
    """Classes of every tile from the marked examples, or (one label) a ranking by example; see the module docstring.

    ``text_embeddings``: unit text vectors of the labels that are phrases (the prior); ``mode``: "auto" (classify
    with two or more labels besides negatives, else rank), "classify" or "rank".
    """
    if mode not in MODES:
        raise UserError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    rows = example_rows(store, examples)
    text = text_embeddings or {}
    positives = [label for label in rows if label != NEGATIVE_LABEL]
    if mode == "auto":
        mode = "classify" if len(positives) >= 2 else "rank"
    if mode == "classify" and len(rows) < 2:
        raise UserError(f"classes need examples of at least two labels; these have only '{next(iter(rows))}': "
                        "mark another class, or rank by example")
    if mode == "rank" and len(positives) != 1:
        raise UserError(f"ranking by example takes one label (and '{NEGATIVE_LABEL}'), these have "
                        f"{len(positives)}: {', '.join(positives) or 'none'}")
    emb = store.embeddings
    if mode == "rank":
        label = positives[0]
        proto = np.asarray(emb[rows[label]], dtype=np.float64).sum(axis=0) + TEXT_PRIOR_WEIGHT * text.get(label, 0.0)
        scores = np.asarray(emb, dtype=np.float32) @ _unit(proto).astype(np.float32)
        if NEGATIVE_LABEL in rows:
            scores -= np.asarray(emb, dtype=np.float32) @ _unit(
                np.asarray(emb[rows[NEGATIVE_LABEL]], dtype=np.float64).sum(axis=0)).astype(np.float32)
        marked = np.zeros(store.n_tiles, dtype=bool)
        for r in rows.values():
            marked[r] = True
        method = "prototype" + (" with negatives" if NEGATIVE_LABEL in rows else "") + (
            " and a text prior" if label in text else "")
        return FewShotResult("rank", [label], method, rows, scores=scores,
                             hits=select_distinct(scores, store.windows, k, exclude=marked))
    labels = list(rows)
    counts = [len(rows[label]) for label in labels]
    x = np.concatenate([np.asarray(emb[rows[label]], dtype=np.float64) for label in labels])
    y = np.concatenate([np.full(n, i) for i, n in enumerate(counts)])
    prior = [i for i, label in enumerate(labels) if label in text]
    if prior:  # each phrase's text counts as one more example of its label
        x = np.concatenate([x, np.stack([text[labels[i]] for i in prior])])
        y = np.concatenate([y, np.array(prior)])
        weight = np.concatenate([np.ones(len(y) - len(prior)), np.full(len(prior), TEXT_PRIOR_WEIGHT)])
    else:
        weight = np.ones(len(y))
    all_x = np.asarray(emb, dtype=np.float32)
    if min(counts) >= LOGISTIC_MIN_PER_CLASS:
        w, b = fit_logistic(x, y, len(labels), weight=weight)
        probabilities = _softmax(all_x @ w.astype(np.float32) + b.astype(np.float32))
        method = "logistic regression"
    else:
        protos = _unit(np.stack([(weight[y == i, None] * x[y == i]).sum(axis=0)
                                 for i in range(len(labels))])).astype(np.float32)
        probabilities = _softmax(PROTOTYPE_SCALE * (all_x @ protos.T))
        method = "prototypes"
    if prior:
        method += f" with a text prior for {len(prior)} of {len(labels)} labels"
    return FewShotResult("classify", labels, method, rows, probabilities=probabilities.astype(np.float32))


def few_shot_layers(store: EmbeddingStore, result: FewShotResult) -> list[VectorLayer]:
    """classify: ``fewshot_classes`` (every tile: ``class``, ``prob``, ``p_<label>``); rank: ``fewshot_hits`` (the
    hits: ``rank``, ``score``) and ``fewshot_scores`` (every tile's core: ``score``)."""
    if result.mode == "rank":
        hits = VectorLayer("fewshot_hits", {"rank": int, "score": float, "tile_id": int, "label": str},
                           store.footprints[result.hits],
                           [{"rank": r + 1, "score": float(result.scores[i]), "tile_id": int(i),
                             "label": result.labels[0]} for r, i in enumerate(result.hits)])
        surface = VectorLayer("fewshot_scores", {"tile_id": int, "score": float}, store.core_footprints,
                              [{"tile_id": i, "score": float(s)} for i, s in enumerate(result.scores)])
        return [hits, surface]
    taken = {"class", "prob", "tile_id", "example"}
    prob_fields = [field_name(f"p_{label}", taken) for label in result.labels]
    marked = {int(r): label for label, rows in result.example_rows.items() for r in rows}
    fields: dict[str, type] = {"tile_id": int, "class": str, "prob": float, "example": str}
    fields |= {f: float for f in prob_fields}
    p, best = result.probabilities, result.classes
    rows = [{"tile_id": i, "class": result.labels[best[i]], "prob": float(p[i, best[i]]), "example": marked.get(i, ""),
             **{f: float(p[i, j]) for j, f in enumerate(prob_fields)}} for i in range(store.n_tiles)]
    return [VectorLayer("fewshot_classes", fields, store.core_footprints, rows)]
