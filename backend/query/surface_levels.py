"""Coarser levels of the similarity surface, answered without scoring every tile.

A surface answered over HTTP holds at most :func:`surface_max_cells` cells (131,072, about 362 x 362: a preview
of the whole raster, ~0.2 MB of LERC; the heatmap GeoTIFF a local client asks for keeps every cell). A larger
stride grid (:mod:`.surface_raster`) is answered at level ``f``, the smallest whole factor whose ``f x f`` blocks
of cells fit: each block is the mean of its scored cells, as an "average" overview of the heatmap at that factor
is. Why not more cells: on the 2-core bench machine the level's scan is the largest part of a million-tile
``/search`` after the phrase's encoding (10 ms); at 250,000 cells (level 2) it took 5-15 ms from run to run
(memory bandwidth shared with other machines), at 111,556 (level 3) a little under half that.

That mean is exact without a per-tile score. A cell's value is ``sum_t w_ct s_t / W_c`` (``w_ct``: the share of
cell ``c`` tile ``t`` covers, ``W_c = sum_t w_ct``), and a tile's score ``s_t = e_t . q`` is linear in its
embedding, so block ``b``'s value is ``P_b . q`` with the block's pooled embedding
``P_b = sum_{c in b, W_c > 0} sum_t w_ct e_t / (W_c n_b)`` (``n_b``: the block's scored cells). The pooled
embeddings are computed once per (store, level), kept beside the store as an int8 mirror
(:class:`~.vector_index.Int8Mirror`: a quarter of the bytes, within its bound of the float32 product; typically
1e-3 in cosine), and a query scans ``f**2`` times fewer rows: on a million 384-d tiles (1000 x 1000 cells, level 3)
111,556 int8 rows, 43 MB instead of the 1.5 GB a float32 scan of the tiles reads.

Units: cells and blocks count stride cells of the store's raster; values are cosine similarity (unitless).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from ..config import env_number
from ..embedding.store import EmbeddingStore
from .cell_grid import axis_cover, cell_grid
from .vector_index import CHUNK_ROWS, HeldByStore, Int8Mirror, int8_approx, int8_mirror, load_int8_mirror

SURFACE_MAX_CELLS = 2**17
LEVEL_META = "surface_level{f}.json"  # the level's grid and which blocks are scored (the rows of its mirror)


def surface_max_cells() -> int:
    """Cells an answered surface holds at most (``$REMOTECLIP_SURFACE_MAX_CELLS``, read at each call)."""
    return int(env_number("REMOTECLIP_SURFACE_MAX_CELLS", SURFACE_MAX_CELLS, "cells", 1, whole=True))


def level_for(n_rows: int, n_cols: int, max_cells: int) -> int:
    """The smallest whole ``f`` with ``ceil(n_rows / f) * ceil(n_cols / f) <= max_cells`` (1: the grid fits as it
    is)."""
    f = max(1, int(np.sqrt(n_rows * n_cols / max_cells)))  # a lower bound: ceil(r / f) ceil(c / f) >= r c / f^2
    while -(-n_rows // f) * -(-n_cols // f) > max_cells:
        f += 1
    return f


def answer_level(store: EmbeddingStore) -> int:
    """The level a service answer carries the store's surface at (:func:`level_for` its stride grid and
    :func:`surface_max_cells`)."""
    grid = cell_grid(store)
    return level_for(grid.n_rows, grid.n_cols, surface_max_cells())


def block_means(array: np.ndarray, nodata: float, f: int) -> np.ndarray:
    """Mean of the valid cells of each ``f x f`` block of ``array`` (2-D; ``nodata`` cells do not count; a block
    with none is ``nodata``): the heatmap's "average" overview at level ``f``, float32."""
    if f == 1:
        return np.asarray(array, dtype=np.float32)
    rows, cols = array.shape
    br, bc = -(-rows // f), -(-cols // f)
    padded = np.full((br * f, bc * f), np.nan)
    padded[:rows, :cols] = np.where(array == nodata, np.nan, array)
    blocks = padded.reshape(br, f, bc, f)
    counts = np.isfinite(blocks).sum(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        means = np.nansum(blocks, axis=(1, 3)) / np.maximum(counts, 1)
    return np.where(counts > 0, means, nodata).astype(np.float32)


def pooling_matrix(store: EmbeddingStore, f: int):
    """The sparse ``blocks x tiles`` matrix ``M`` with ``M @ scores`` = the level-``f`` block means of the
    heatmap of per-tile ``scores`` (every tile scored), and the scored blocks' flat indices (row-major over the
    level's ``ceil(n_rows / f) x ceil(n_cols / f)`` grid): ``(M restricted to scored blocks, block ids, shape)``."""
    from scipy import sparse

    grid = cell_grid(store)
    raster = store.meta["raster"]
    tile_px = int(store.meta["tiling"]["tile_px"])
    col_starts, tj = np.unique(store.windows[:, 0], return_inverse=True)
    row_starts, ti = np.unique(store.windows[:, 1], return_inverse=True)
    cx, wx = axis_cover(col_starts, tile_px, grid.stride_px, int(raster["width"]))
    cy, wy = axis_cover(row_starts, tile_px, grid.stride_px, int(raster["height"]))
    n = store.n_tiles
    # Every (tile, covered row cell, covered column cell) with its share: n x Ky x Kx, padding weighs 0.
    cell_r = np.broadcast_to(cy[ti][:, :, None], (n, cy.shape[1], cx.shape[1]))
    cell_c = np.broadcast_to(cx[tj][:, None, :], (n, cy.shape[1], cx.shape[1]))
    share = wy[ti][:, :, None] * wx[tj][:, None, :]
    keep = share > 0
    tiles = np.broadcast_to(np.arange(n)[:, None, None], share.shape)[keep]
    cell = cell_r[keep] * grid.n_cols + cell_c[keep]
    share = share[keep]
    cell_weight = np.bincount(cell, weights=share, minlength=grid.n_rows * grid.n_cols)
    rows_b, cols_b = -(-grid.n_rows // f), -(-grid.n_cols // f)
    block_of_cell = (np.arange(grid.n_rows)[:, None] // f * cols_b + np.arange(grid.n_cols)[None, :] // f).ravel()
    scored_cells = np.bincount(block_of_cell, weights=(cell_weight > 0), minlength=rows_b * cols_b)
    block = block_of_cell[cell]
    value = share / (cell_weight[cell] * scored_cells[block])
    blocks = np.flatnonzero(scored_cells > 0)
    row_of_block = np.full(rows_b * cols_b, -1, dtype=np.int64)
    row_of_block[blocks] = np.arange(len(blocks))
    matrix = sparse.csc_matrix((value, (row_of_block[block], tiles)), shape=(len(blocks), n))
    return matrix, blocks, (rows_b, cols_b)


@dataclass(frozen=True)
class SurfaceLevel:
    """One coarser level of a store's surface: the int8 mirror of its scored blocks' pooled embeddings, which
    blocks those are (flat, row-major) and the level's grid."""

    f: int
    shape: tuple[int, int]
    blocks: np.ndarray
    mirror: Int8Mirror
    transform: Affine


def _pooled_embeddings(store: EmbeddingStore, f: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    matrix, blocks, shape = pooling_matrix(store, f)
    pooled = np.zeros((len(blocks), store.embeddings.shape[1]), dtype=np.float32)
    for start in range(0, store.n_tiles, CHUNK_ROWS):  # the memory-mapped store is streamed, never read whole
        stop = min(start + CHUNK_ROWS, store.n_tiles)
        part = matrix[:, start:stop]
        if part.nnz:
            pooled += (part @ np.asarray(store.embeddings[start:stop], dtype=np.float64)).astype(np.float32)
    return pooled, blocks, shape


# Levels held in memory (their codes memory-mapped), as the approximate indexes are.
_LEVELS = HeldByStore()


def surface_level(store: EmbeddingStore, f: int) -> SurfaceLevel:
    """Level ``f`` of the store's surface: held in memory, else loaded from beside the store, else computed and
    written there (atomically; a few seconds on a million tiles)."""
    meta_path = Path(store.path) / LEVEL_META.format(f=f)
    return _LEVELS.get((str(store.path), store.n_tiles, f), meta_path, lambda: _load_or_make_level(store, f))


def _load_or_make_level(store: EmbeddingStore, f: int) -> SurfaceLevel:
    folder = Path(store.path)
    meta_path = folder / LEVEL_META.format(f=f)
    name = f"surface_level{f}"
    try:
        meta = json.loads(meta_path.read_text())
        if meta["n_tiles"] != store.n_tiles:
            raise ValueError("a level of another store")
        blocks = np.asarray(meta["blocks"], dtype=np.int64)
        shape = (int(meta["shape"][0]), int(meta["shape"][1]))
        mirror = load_int8_mirror(folder, (len(blocks), store.embeddings.shape[1]), name)
        if mirror is None:
            raise ValueError("no mirror of this level")
    except (OSError, ValueError, KeyError):
        pooled, blocks, shape = _pooled_embeddings(store, f)
        mirror = int8_mirror(folder, pooled, name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".json", dir=folder)
        with os.fdopen(fd, "w") as fh:
            json.dump({"n_tiles": store.n_tiles, "shape": list(shape), "blocks": blocks.tolist()}, fh)
        os.replace(tmp, meta_path)  # last: a mirror without its blocks is computed again
    return SurfaceLevel(f, shape, blocks, mirror, cell_grid(store).transform @ Affine.scale(f))


def level_heatmap(level: SurfaceLevel, query: np.ndarray, nodata: float) -> np.ndarray:
    """The level's similarity to a unit ``query`` (float32 ``rows x cols``, ``nodata`` where no tile is)."""
    scores, _ = int8_approx(level.mirror, query)
    if len(level.blocks) == level.shape[0] * level.shape[1]:
        return scores.reshape(level.shape)  # every block scored (blocks are in order): no scatter
    out = np.full(level.shape[0] * level.shape[1], nodata, dtype=np.float32)
    out[level.blocks] = scores
    return out.reshape(level.shape)
