"""The tile grid: which pixel windows of a raster become model inputs.

All values here are in raster pixels (columns, rows) of the full-resolution raster. Pure functions,
no I/O, so the grid can be tested exhaustively.

Tiles start every ``stride`` pixels and are ``size`` pixels wide; the last row and column of tiles
start at ``stride * i`` as well and may run past the raster edge (they are padded when read).
Each tile also owns a *core*: the part of the raster it is responsible for in a non-overlapping
mosaic (the similarity surface). Cores tile the raster exactly: every pixel lies in one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridSpec:
    """A resolved grid: tile side and stride in raster pixels, and the raster size it covers."""

    raster_width: int
    raster_height: int
    tile_px: int
    stride_px: int

    @property
    def n_cols(self) -> int:
        return _count(self.raster_width, self.tile_px, self.stride_px)

    @property
    def n_rows(self) -> int:
        return _count(self.raster_height, self.tile_px, self.stride_px)

    @property
    def n_tiles(self) -> int:
        return self.n_cols * self.n_rows


def _count(extent: int, size: int, stride: int) -> int:
    """Tiles along one axis so that the last tile reaches the raster's end."""
    if extent <= size:
        return 1
    return 1 + math.ceil((extent - size) / stride)


def grid_spec(raster_width: int, raster_height: int, tile_px: int, overlap: float) -> GridSpec:
    """A grid of ``tile_px`` tiles whose neighbours share ``overlap`` (a fraction in [0, 0.9]) of a side."""
    if raster_width <= 0 or raster_height <= 0:
        raise ValueError(f"raster has no pixels ({raster_width} x {raster_height})")
    if tile_px < 1:
        raise ValueError(f"tile size must be at least 1 pixel, got {tile_px}")
    if not 0.0 <= overlap <= 0.9:
        raise ValueError(f"overlap must be a fraction between 0 and 0.9, got {overlap}")
    stride = max(1, round(tile_px * (1.0 - overlap)))
    return GridSpec(raster_width, raster_height, tile_px, stride)


def _core_edges(extent: int, n: int, size: int, stride: int) -> np.ndarray:
    """Core boundaries along one axis: n + 1 increasing edges from 0 to ``extent``.

    Interior boundaries sit halfway through each overlap, so a pixel belongs to the tile whose
    centre is nearest along this axis.
    """
    edges = np.empty(n + 1, dtype=np.int64)
    edges[0] = 0
    edges[n] = extent
    half_overlap = (size - stride) // 2
    for i in range(1, n):
        edges[i] = min(extent, i * stride + half_overlap)
    return edges


def tile_windows(spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """All tile windows and their cores, row-major, as two ``N x 4`` int arrays (col, row, width, height).

    Tile windows may extend past the raster (padded on read); cores are clipped to the raster and
    partition it.
    """
    cols = np.arange(spec.n_cols, dtype=np.int64) * spec.stride_px
    rows = np.arange(spec.n_rows, dtype=np.int64) * spec.stride_px
    cc, rr = np.meshgrid(cols, rows)
    windows = np.stack(
        [cc.ravel(), rr.ravel(), np.full(cc.size, spec.tile_px), np.full(cc.size, spec.tile_px)], axis=1
    )
    ce = _core_edges(spec.raster_width, spec.n_cols, spec.tile_px, spec.stride_px)
    re = _core_edges(spec.raster_height, spec.n_rows, spec.tile_px, spec.stride_px)
    c0, r0 = np.meshgrid(ce[:-1], re[:-1])
    c1, r1 = np.meshgrid(ce[1:], re[1:])
    cores = np.stack([c0.ravel(), r0.ravel(), (c1 - c0).ravel(), (r1 - r0).ravel()], axis=1)
    return windows, cores


def clip_windows(windows: np.ndarray, width: int, height: int) -> np.ndarray:
    """Windows (``N x 4``) clipped to a ``width`` x ``height`` raster; fully outside ones get size 0."""
    c0 = np.clip(windows[:, 0], 0, width)
    r0 = np.clip(windows[:, 1], 0, height)
    c1 = np.clip(windows[:, 0] + windows[:, 2], 0, width)
    r1 = np.clip(windows[:, 1] + windows[:, 3], 0, height)
    return np.stack([c0, r0, c1 - c0, r1 - r0], axis=1)


def core_containing(cores: np.ndarray, col: float, row: float) -> int | None:
    """Index of the core that holds pixel position (col, row), or None outside the raster."""
    inside = (
        (cores[:, 0] <= col)
        & (col < cores[:, 0] + cores[:, 2])
        & (cores[:, 1] <= row)
        & (row < cores[:, 1] + cores[:, 3])
    )
    hits = np.flatnonzero(inside)
    return int(hits[0]) if hits.size else None
