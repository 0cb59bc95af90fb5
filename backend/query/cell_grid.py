"""The stride grid of a store's raster: the cells heatmaps and class maps are drawn on.

Cell (row i, column j) covers raster pixels ``[j * stride, (j + 1) * stride)`` by ``[i * stride, (i + 1) * stride)``
(``stride``: the tiling's stride in raster pixels, tile size x (1 - overlap)); the grid starts at the raster's origin
and its transform is the raster's times ``stride``, in the raster's CRS units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine

from ..embedding.store import EmbeddingStore


@dataclass(frozen=True)
class CellGrid:
    """The stride grid of a store's raster: ``n_rows`` x ``n_cols`` cells of ``stride_px`` raster pixels."""

    stride_px: int
    n_rows: int
    n_cols: int
    transform: Affine


def cell_grid(store: EmbeddingStore) -> CellGrid:
    """The stride grid over the store's raster (origin and CRS of the raster, cell = stride pixels)."""
    raster = store.meta["raster"]
    stride = int(store.meta["tiling"]["stride_px"])
    n_rows = -(-int(raster["height"]) // stride)
    n_cols = -(-int(raster["width"]) // stride)
    return CellGrid(stride, n_rows, n_cols, Affine(*store.transform[:6]) @ Affine.scale(stride))


def axis_cover(starts: np.ndarray, size: int, stride: int, extent: int) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis, for tiles of ``size`` px starting at ``starts`` (px) on a raster ``extent`` px long: the cells
    each covers (``len(starts) x K``, -1 padding) and the fraction of each cell's raster part it covers (0 for the
    padding). A cell past the raster's edge counts its raster part only."""
    cells, shares = [], []
    for start in starts.tolist():
        end = min(start + size, extent)
        row_c, row_w = [], []
        for cell in range(start // stride, -(-end // stride)):
            c0, c1 = cell * stride, min((cell + 1) * stride, extent)
            covered = min(c1, end) - max(c0, start)
            if covered > 0:
                row_c.append(cell)
                row_w.append(covered / (c1 - c0))
        cells.append(row_c)
        shares.append(row_w)
    k = max(1, max((len(c) for c in cells), default=1))
    out_c = np.full((len(starts), k), -1, dtype=np.int64)
    out_w = np.zeros((len(starts), k))
    for i, (c, w) in enumerate(zip(cells, shares)):
        out_c[i, :len(c)] = c
        out_w[i, :len(w)] = w
    return out_c, out_w
