"""Choosing the top-k tiles so that the k are distinct places (greedy non-maximum suppression), ranked by score
(cosine similarity, unitless) discounted for the share of each tile that is padding or nodata (``valid``, 0 to 1)."""

from __future__ import annotations

import numpy as np

from ..errors import UserError

# k above this is refused: a result layer is for looking at, not a dump of the store.
MAX_K = 10_000


def check_k(k: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise UserError(f"k must be a whole number, got {k!r}")
    if k <= 0:
        raise UserError(f"k must be at least 1, got {k}")
    if k > MAX_K:
        raise UserError(f"k = {k} is too large: ask for at most {MAX_K} hits")
    return int(k)


def overlap_fraction(window: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection area of ``window`` with each of ``others`` over the smaller window's area (pixels)."""
    c0 = np.maximum(window[0], others[:, 0])
    r0 = np.maximum(window[1], others[:, 1])
    c1 = np.minimum(window[0] + window[2], others[:, 0] + others[:, 2])
    r1 = np.minimum(window[1] + window[3], others[:, 1] + others[:, 3])
    inter = np.clip(c1 - c0, 0, None) * np.clip(r1 - r0, 0, None)
    smaller = np.minimum(window[2] * window[3], others[:, 2] * others[:, 3])
    return inter / np.maximum(smaller, 1)


def ranking_scores(scores: np.ndarray, valid: np.ndarray | None, mean: float | None = None) -> np.ndarray:
    """The scores hits are ranked by: each tile's distance from the raster's mean score trusted in proportion
    to its valid fraction (``mean + valid * (score - mean)`` above the mean; below it the distance is stretched
    by the padded share instead, ``score - (1 - valid) * (mean - score)``). A full tile keeps its score; a padded
    one always ranks below a full tile of the same score. Non-finite scores stay as they are. ``mean``: the mean
    score of all the raster's tiles when ``scores`` holds only some of them (a first pass's candidates); by default
    the mean of the finite ``scores``.

    Why: an edge tile is padded by mirroring its own pixels, so the model sees a synthetic image in which the
    strip's content fills the tile several times over. On oils.tif (856 x 409 px, 125 px tiles, the small model)
    the bottom row is a 34 px strip (valid 0.27): by raw score it took ranks 6, 7 and 9 of 10 for "road" and
    "parking lot" and rank 9 for "storage tanks"; discounted, the 27 % of real imagery counts as 27 % of the
    evidence and the strips fall behind the full tiles unless their own part is far above the raster's mean.
    A penalty relative to the mean needs no constant in cosine units, which differ between models.
    """
    scores = np.asarray(scores)
    if valid is None:
        return scores
    valid = np.clip(np.asarray(valid, dtype=np.float64), 0.0, 1.0)
    finite = np.isfinite(scores)
    if not finite.any() or np.all(valid[finite] >= 1.0):
        return scores
    if mean is None:
        mean = float(scores[finite].astype(np.float64).mean())
    distance = scores.astype(np.float64) - mean
    padded = 1.0 - valid
    with np.errstate(invalid="ignore"):  # unscored (-inf) rows: replaced by their own score just below
        adjusted = np.where(distance >= 0, mean + valid * distance, scores + padded * distance)
    return np.where(finite, adjusted, scores).astype(np.float64)


def select_distinct(
    scores: np.ndarray, windows: np.ndarray, k: int, max_overlap: float = 0.0,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of up to ``k`` best-scoring windows, none overlapping a better one by more than ``max_overlap``.

    ``windows`` are ``N x 4`` pixel windows; ``exclude`` is an optional boolean mask of rows that may
    not be chosen (the example tile of a similarity query). Returned best first.
    """
    from .vector_index import top_indices

    k = check_k(k)
    n = len(scores)
    # Sorting a million scores takes ~150 ms; the hits nearly always come from the best few hundred,
    # so rank a prefix (the same order as a full stable sort) and widen it only when it runs out.
    prefix = min(n, max(1024, 64 * k))
    while True:
        chosen: list[int] = []
        for i in top_indices(scores, prefix):
            if scores[i] == -np.inf:
                break  # unscored tiles (outside an approximate index's candidates) are never hits
            if exclude is not None and exclude[i]:
                continue
            if chosen and np.any(overlap_fraction(windows[i], windows[chosen]) > max_overlap):
                continue
            chosen.append(int(i))
            if len(chosen) == k:
                break
        if len(chosen) == k or prefix >= n:
            return np.asarray(chosen, dtype=np.int64)
        prefix = min(n, prefix * 8)
