"""The stride grid of a store's raster: the cells heatmaps and class maps are drawn on.

Cell (row i, column j) covers raster pixels ``[j * stride, (j + 1) * stride)`` by ``[i * stride, (i + 1) * stride)``
(``stride``: the tiling's stride in raster pixels, tile size x (1 - overlap)); the grid starts at the raster's origin
and its transform is the raster's times ``stride``, in the raster's CRS units.
"""

from __future__ import annotations

from dataclasses import dataclass

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
