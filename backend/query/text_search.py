"""Text search: rank a raster's tiles by cosine similarity to a phrase."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embedding.store import EmbeddingStore
from .hit_selection import ranking_scores, select_distinct
from .prompts import DEFAULT_TEMPLATES, clean_phrases, phrase_embedding
from .vector_index import ann_min_tiles, exact_scores, int8_approx, int8_min_tiles, int8_mirror, rescore_best, store_ann
from .vector_layer import VectorLayer


@dataclass
class RankedTiles:
    """Scores of the stored tiles and the chosen hits (row indices into the store, best first); ``query`` is the
    unit vector they were scored against. Tiles not scored (hits only, from the approximate index) are -inf."""

    scores: np.ndarray
    hits: np.ndarray
    query: np.ndarray | None = None


# Candidates per wanted hit taken from the approximate index (more than k: overlapping ones are dropped).
ANN_CANDIDATES_PER_HIT = 64


def rank_tiles(store: EmbeddingStore, query: np.ndarray, k: int, max_overlap: float = 0.0,
               exclude: np.ndarray | None = None, every_score: bool = True) -> RankedTiles:
    """Cosine similarity of the tiles to a unit ``query`` vector, and the top-k distinct tiles.

    With ``every_score`` (a caller that shows or writes every tile's score): below
    :func:`~.vector_index.int8_min_tiles` tiles (1,000,000) exact, streamed over the memory-mapped store in
    chunks; from there the int8 first pass (:func:`~.vector_index.int8_first_pass`), whose candidates are rescored
    exactly, so the hits are the exact search's (checked: when padded candidates rank below what a left-out tile
    could score, every tile is scored exactly); the other tiles keep their int8 scores (typically within 1e-3).

    Without it (hits only: a service answer whose surface comes from :mod:`.surface_levels`), from
    :func:`~.vector_index.ann_min_tiles` tiles (1,000,000) the approximate index gives the candidates, scored
    exactly; the other tiles are -inf.

    Hits are chosen by :func:`~.hit_selection.ranking_scores` (padded edge tiles discounted by their padded
    share); ``scores`` stay the raw cosine similarities, which the layers show.
    """
    n = store.n_tiles
    query = np.asarray(query, dtype=np.float32)
    want = min(n, max(1024, ANN_CANDIDATES_PER_HIT * k))
    if not every_score and n >= ann_min_tiles():
        ann = store_ann(store)
        mean = float(ann.column_mean @ query)  # the mean score of every tile, for the padded-tile discount
        # First the few best (4k + 32: each rescored candidate is a random read of the store), then ``want``
        # when overlaps or exclusions use them up.
        for wanted in sorted({min(want, 4 * k + 32), want}):
            ids, candidate_scores = ann.search(store.embeddings, query, wanted)
            order = np.argsort(ids)  # in tile order: ties go to the lower tile id, as in the exact search
            ids, candidate_scores = ids[order], candidate_scores[order]
            chosen = select_distinct(ranking_scores(candidate_scores, store.valid[ids], mean), store.windows[ids],
                                     k, max_overlap, None if exclude is None else exclude[ids])
            if len(chosen) == min(k, n):
                break
        scores = np.full(n, -np.inf, dtype=np.float32)
        scores[ids] = candidate_scores
        return RankedTiles(scores, ids[chosen], query)
    if n >= int8_min_tiles():
        mirror = int8_mirror(store.path, store.embeddings)
        approx, bound = int8_approx(mirror, query)
        # The exact search discounts padded tiles from the mean of every tile's score: the same mean, exactly.
        mean = float(mirror.column_mean @ np.asarray(query, dtype=np.float64))
        # First the few best (4k + 32), then ``want`` when overlaps or exclusions use them up: the rows to
        # rescore are those within twice the bound of the wanted-th int8 score, and the bound is loose (0.020
        # against a largest error of 0.0024 on 100 k synthetic 384-d tiles, 6,500 rows rescored for 1024).
        for wanted in sorted({min(want, 4 * k + 32), want}):
            scores, candidates, floor = rescore_best(store.embeddings, approx, bound, query, wanted)
            exact_only = np.full(n, -np.inf, dtype=np.float32)
            exact_only[candidates] = scores[candidates]
            ranks = ranking_scores(exact_only, store.valid, mean)
            hits = select_distinct(ranks, store.windows, k, max_overlap, exclude)
            # A left-out tile scores below ``floor``, and its ranking score is at most its score: hits ranked
            # at least there are the exact search's.
            if len(candidates) == n or (len(hits) == min(k, n) and ranks[hits[-1]] >= floor):
                return RankedTiles(scores, hits, query)
        # Overlaps, exclusions or padded tiles used up the candidates before k sure hits: score every tile.
    scores = exact_scores(store.embeddings, query)
    return RankedTiles(scores, select_distinct(ranking_scores(scores, store.valid), store.windows, k, max_overlap,
                                               exclude), query)


def hit_layers(store: EmbeddingStore, ranked: RankedTiles, label: str, hits_name: str = "hits",
               surface: bool = True) -> list[VectorLayer]:
    """The hits (tile boxes with rank and score) and, with ``surface``, the similarity surface (tile cores with
    score; a million polygons take seconds to build, so a caller answering with a raster asks for none)."""
    hits = VectorLayer(
        hits_name,
        {"rank": int, "score": float, "tile_id": int, "query": str},
        store.footprints[ranked.hits],
        [{"rank": r + 1, "score": float(ranked.scores[i]), "tile_id": int(i), "query": label}
         for r, i in enumerate(ranked.hits)],
    )
    if not surface:
        return [hits]
    scored = np.flatnonzero(np.isfinite(ranked.scores))  # every tile, except past the approximate-index size
    surface = VectorLayer(
        "similarity",
        {"tile_id": int, "score": float},
        store.core_footprints[scored],
        [{"tile_id": int(i), "score": float(ranked.scores[i])} for i in scored],
    )
    return [hits, surface]


def text_search(store: EmbeddingStore, model, queries: Sequence[str], k: int = 10,
                templates: Sequence[str] = DEFAULT_TEMPLATES, max_overlap: float = 0.0, surface: bool = True,
                every_score: bool = True) -> tuple[RankedTiles, list[VectorLayer]]:
    """Search a store for one or more phrases (their embeddings averaged); returns ranks and layers (the
    similarity polygons only with ``surface``, which needs ``every_score``)."""
    phrases = clean_phrases(queries)
    ranked = rank_tiles(store, phrase_embedding(model, phrases, templates), k, max_overlap,
                        every_score=every_score or surface)
    return ranked, hit_layers(store, ranked, " | ".join(phrases), surface=surface)
