"""Change between two dates: each tile of BEFORE against the same tile of AFTER, on BEFORE's grid.

Both stores are embeddings of one grid (AFTER read on BEFORE's grid, :mod:`backend.raster.alignment`), so a tile
is matched by its pixel window. A tile's ``change`` is ``1 - cosine`` of its two embeddings (unitless, 0: the
same content, up to 2); tiles kept in only one store (nodata, outside the overlap) are not compared. With a
phrase, ``gain`` is how much closer AFTER moved to it, ``cos(after, q) - cos(before, q)`` (unitless, -2 to 2), and
tiles are ranked by gain instead of change: "new buildings" finds tiles that became more like buildings, not
every tile that changed (clouds, a harvest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embedding.store import EmbeddingStore
from ..errors import UserError
from .hit_selection import select_distinct
from .prompts import DEFAULT_TEMPLATES, clean_phrases, phrase_embedding
from .vector_layer import VectorLayer


@dataclass
class ChangeResult:
    """Per-tile change, row-aligned with BEFORE's store (NaN where a tile is not in both), and the chosen hits.

    ``scores`` is what ranks: ``change``, or ``gain`` when a phrase was given. ``hits``: BEFORE rows, best first.
    """

    change: np.ndarray
    gain: np.ndarray | None
    after_rows: np.ndarray  # AFTER's row of each BEFORE row, -1 where unmatched
    hits: np.ndarray
    query: str | None

    @property
    def scores(self) -> np.ndarray:
        return self.change if self.gain is None else self.gain

    @property
    def n_compared(self) -> int:
        return int((self.after_rows >= 0).sum())


def matched_rows(before: EmbeddingStore, after: EmbeddingStore) -> np.ndarray:
    """AFTER's row holding each BEFORE row's window (-1 where AFTER skipped that tile); refuses other grids."""
    tb, ta = before.meta["tiling"], after.meta["tiling"]
    if (tb["tile_px"], tb["stride_px"]) != (ta["tile_px"], ta["stride_px"]):
        raise UserError(f"the two stores are tiled differently ({tb['tile_px']}/{tb['stride_px']} px and "
                        f"{ta['tile_px']}/{ta['stride_px']} px): embed both with the same tiling")
    rows_of = {tuple(w): i for i, w in enumerate(np.asarray(after.windows).tolist())}
    found = np.array([rows_of.get(tuple(w), -1) for w in np.asarray(before.windows).tolist()], dtype=np.int64)
    if not (found >= 0).any():
        raise UserError("no tile has imagery on both dates: the rasters' valid areas do not overlap")
    return found


def tile_change(before: EmbeddingStore, after: EmbeddingStore, k: int = 10, query: np.ndarray | None = None,
                label: str | None = None) -> ChangeResult:
    """Change of every tile both stores hold and the ``k`` most changed distinct tiles (or those that moved
    most toward the unit vector ``query``)."""
    rows = matched_rows(before, after)
    both = rows >= 0
    change = np.full(before.n_tiles, np.nan, dtype=np.float32)
    gain = None if query is None else np.full(before.n_tiles, np.nan, dtype=np.float32)
    idx = np.flatnonzero(both)
    for start in range(0, len(idx), 65536):  # chunks: the stores are memory-mapped, never read whole
        b_rows = idx[start:start + 65536]
        eb = np.asarray(before.embeddings[b_rows], dtype=np.float32)
        ea = np.asarray(after.embeddings[rows[b_rows]], dtype=np.float32)
        change[b_rows] = 1.0 - np.einsum("ij,ij->i", eb, ea)
        if gain is not None:
            gain[b_rows] = ea @ query - eb @ query
    scores = change if gain is None else gain
    ranked = np.where(np.isfinite(scores), scores, -np.inf).astype(np.float32)
    hits = select_distinct(ranked, before.windows, k)
    return ChangeResult(change, gain, rows, hits, label)


def change_layers(before: EmbeddingStore, result: ChangeResult) -> list[VectorLayer]:
    """``changed`` (the hits: tile boxes with rank, change and gain) and ``change`` (every compared tile's core)."""
    fields: dict[str, type] = {"rank": int, "change": float, "tile_id": int}
    surface_fields: dict[str, type] = {"tile_id": int, "change": float}
    if result.gain is not None:
        fields |= {"gain": float, "query": str}
        surface_fields["gain"] = float

    def row(i: int) -> dict:
        out = {"tile_id": int(i), "change": float(result.change[i])}
        if result.gain is not None:
            out["gain"] = float(result.gain[i])
        return out

    hits = VectorLayer("changed", fields, before.footprints[result.hits],
                       [{"rank": r + 1, **row(i), **({"query": result.query or ""} if result.gain is not None else {})}
                        for r, i in enumerate(result.hits)])
    compared = np.flatnonzero(result.after_rows >= 0)
    surface = VectorLayer("change", surface_fields, before.core_footprints[compared], [row(i) for i in compared])
    return [hits, surface]


def change_search(before: EmbeddingStore, after: EmbeddingStore, model=None, k: int = 10,
                  queries: Sequence[str] | None = None, templates: Sequence[str] = DEFAULT_TEMPLATES
                  ) -> tuple[ChangeResult, list[VectorLayer]]:
    """Change between two stores of one grid, ranked by change or (``queries`` and ``model``) by gain."""
    query = label = None
    if queries:
        phrases = clean_phrases(queries)
        query, label = phrase_embedding(model, phrases, templates), " | ".join(phrases)
    result = tile_change(before, after, k, query, label)
    return result, change_layers(before, result)
