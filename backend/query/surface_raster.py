"""Similarity heatmaps and class maps as GeoTIFF rasters on the tile-stride grid.

A tile polygon per tile hides its overlapping neighbours; here every cell of a grid whose cell is the tile
stride (``stride_px`` raster pixels, tile size x (1 - overlap)) gets the mean of the tiles covering it, so
overlap sharpens the map instead. Cell (row i, column j) covers raster pixels ``[j * stride, (j + 1) * stride)``
by ``[i * stride, (i + 1) * stride)``: the grid starts at the raster's origin, its transform is the raster's
times ``stride``, and tile windows (which start every ``stride`` pixels) are whole cells. Cells past the raster's
right or bottom edge only count the raster part; cells no scored tile covers are nodata. When the tile side is
not a multiple of the stride a tile covers part of its last cell, and counts with the covered fraction.

Values: heatmap cells are cosine similarity (float32, unitless, -1 to 1; nodata :data:`HEAT_NODATA`); class
cells are class indices (uint8, 0 = the first class; nodata :data:`CLASS_NODATA`). Pure functions compute the
array and its :class:`~affine.Affine`; the writers write tiled, DEFLATE-compressed GeoTIFFs with overviews,
atomically (a temporary file renamed over the target).

Large stores answer with a raster: past :func:`surface_raster_min_tiles` tiles (50,000; a GeoJSON surface of
50,000 polygons is ~10 MB and takes seconds to build and to draw) the service returns the heatmap as a GeoTIFF
held in memory (:class:`SurfaceRaster`, float32, LERC with a maximum error of 1e-4 in cosine, below the int8
first pass's own error: 1 M cells of noise in 1.5 MB in 25 ms, where DEFLATE level 1 took 3.7 MB in 82 ms and no
compression 4.2 MB) instead of the ``similarity`` polygons; a grid larger than the answer's cell budget comes at a
coarser level of exact block means (:mod:`.surface_levels`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from ..config import env_number
from ..embedding.store import EmbeddingStore
from ..errors import UserError
from .cell_grid import CellGrid, axis_cover, cell_grid  # noqa: F401 - the stride grid, also imported from here
from .class_colours import class_colour
from .vector_layer import check_output_folder

HEAT_NODATA = -9999.0
CLASS_NODATA = 255
BLOCK_PX = 256  # GeoTIFF tile side (GDAL's default block for tiled files)


SURFACE_RASTER_MIN_TILES = 50_000
SURFACE_MAX_ERROR = 1e-4  # cosine similarity: LERC's bound on |cell value carried - cell value|


def surface_raster_min_tiles() -> int:
    """Tiles from which a service answer carries the similarity as a raster (``$REMOTECLIP_SURFACE_RASTER_MIN_TILES``,
    read at each call)."""
    return int(env_number("REMOTECLIP_SURFACE_RASTER_MIN_TILES", SURFACE_RASTER_MIN_TILES, "tiles", 1, whole=True))


def class_rgba(name: str) -> tuple[int, int, int, int]:
    """The colour-table entry of class ``name``: its name-keyed colour (:mod:`.class_colours`, the same as the
    plugin's class polygons: water blue, forest green, whatever else was asked), opaque."""
    colour = class_colour(name)
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 255


def _coverage(starts: np.ndarray, size: int, stride: int, extent: int, n_cells: int):
    """``n_cells x len(starts)`` (scipy sparse): the fraction of each cell's raster part that each tile span
    covers (:func:`~.cell_grid.axis_cover`)."""
    from scipy import sparse  # imported here: 70 ms the service's start does not need

    cells, shares = axis_cover(np.asarray(starts), size, stride, extent)
    keep = shares > 0
    tiles = np.broadcast_to(np.arange(len(starts))[:, None], cells.shape)
    return sparse.csr_matrix((shares[keep], (cells[keep], tiles[keep])), shape=(n_cells, len(starts)))


def cell_means(store: EmbeddingStore, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, CellGrid]:
    """Per-cell mean of per-tile ``values`` (``N`` or ``N x C``, row-aligned with the store; non-finite rows do
    not count). Returns the means (``rows x cols`` or ``rows x cols x C``, NaN where no tile counts), the
    covering weight per cell (0: not scored) and the grid."""
    grid = cell_grid(store)
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(len(values), -1)
    scored = np.isfinite(flat).all(axis=1)
    tile_px = int(store.meta["tiling"]["tile_px"])
    if tile_px == grid.stride_px:
        # No overlap: each cell is one tile's (clipped at the raster's edge, it covers its cell's raster part
        # whole), so the mean is that tile's value. The sparse products below take ~1 s on 1 M tiles.
        ti, tj = store.windows[scored, 1] // tile_px, store.windows[scored, 0] // tile_px
        weight = np.zeros((grid.n_rows, grid.n_cols))
        weight[ti, tj] = 1.0
        means = np.full((grid.n_rows, grid.n_cols, flat.shape[1]), np.nan)
        means[ti, tj] = flat[scored]
        return (means[..., 0] if values.ndim == 1 else means), weight, grid
    return _sparse_cell_means(store, values)


def _sparse_cell_means(store: EmbeddingStore, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, CellGrid]:
    """The general case of :func:`cell_means`: sparse coverage products."""
    from scipy import sparse

    grid = cell_grid(store)
    raster = store.meta["raster"]
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(len(values), -1)
    scored = np.isfinite(flat).all(axis=1)
    tile_px = int(store.meta["tiling"]["tile_px"])
    # A store keeps only the tiles it embedded; their grid positions come back from the window origins.
    col_starts = np.unique(store.windows[:, 0])
    row_starts = np.unique(store.windows[:, 1])
    wx = _coverage(col_starts, tile_px, grid.stride_px, int(raster["width"]), grid.n_cols)
    wy = _coverage(row_starts, tile_px, grid.stride_px, int(raster["height"]), grid.n_rows)
    ti = np.searchsorted(row_starts, store.windows[scored, 1])
    tj = np.searchsorted(col_starts, store.windows[scored, 0])
    shape = (len(row_starts), len(col_starts))
    weight = (wy @ sparse.csr_matrix((np.ones(len(ti)), (ti, tj)), shape=shape) @ wx.T).toarray()
    means = np.empty((grid.n_rows, grid.n_cols, flat.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        for c in range(flat.shape[1]):
            total = (wy @ sparse.csr_matrix((flat[scored, c], (ti, tj)), shape=shape) @ wx.T).toarray()
            means[..., c] = np.where(weight > 0, total / weight, np.nan)
    return (means[..., 0] if values.ndim == 1 else means), weight, grid


def heatmap_array(store: EmbeddingStore, scores: np.ndarray) -> tuple[np.ndarray, Affine]:
    """Per-cell mean similarity of the covering tiles (float32, :data:`HEAT_NODATA` where unscored)."""
    means, weight, grid = cell_means(store, scores)
    return np.where(weight > 0, means, HEAT_NODATA).astype(np.float32), grid.transform


def class_array(store: EmbeddingStore, probabilities: np.ndarray) -> tuple[np.ndarray, Affine]:
    """Per-cell class: argmax of the covering tiles' mean probabilities (uint8, :data:`CLASS_NODATA` where
    unscored)."""
    if probabilities.shape[1] >= CLASS_NODATA:
        raise UserError(f"a class raster holds at most {CLASS_NODATA - 1} classes, got {probabilities.shape[1]}")
    means, weight, grid = cell_means(store, probabilities)
    classes = np.nan_to_num(means, nan=-1.0).argmax(axis=2)
    return np.where(weight > 0, classes, CLASS_NODATA).astype(np.uint8), grid.transform


@dataclass(frozen=True)
class SurfaceRaster:
    """A heatmap GeoTIFF in memory (float32 cosine similarity on the stride grid, nodata :data:`HEAT_NODATA`)."""

    name: str
    width: int
    height: int
    tiff: bytes


def surface_raster_of(store: EmbeddingStore, scores: np.ndarray | None, label: str, name: str = "similarity",
                      units: str = "cosine similarity", query: np.ndarray | None = None) -> SurfaceRaster:
    """The heatmap of per-tile ``scores`` as GeoTIFF bytes (tiled, LERC to within :data:`SURFACE_MAX_ERROR`), for
    an HTTP answer; a grid of more than :func:`~.surface_levels.surface_max_cells` cells comes at the coarser
    level that fits (block means, :mod:`.surface_levels`): from the pooled embeddings when the scores are a unit
    ``query``'s cosine similarities (``scores`` may then be None or partial), else from ``scores``."""
    from rasterio.io import MemoryFile

    from .surface_levels import answer_level, block_means, level_heatmap, surface_level

    grid = cell_grid(store)
    f = answer_level(store)
    if f > 1 and query is not None:
        level = surface_level(store, f)
        array, transform = level_heatmap(level, query, HEAT_NODATA), level.transform
    else:
        if query is not None and (scores is None or not np.isfinite(scores).all()):
            from .vector_index import exact_scores

            scores = exact_scores(store.embeddings, query)  # hits-only scores (the approximate index): all of them
        if scores is None:
            raise ValueError("a surface at full resolution needs every tile's score")
        array, transform = heatmap_array(store, scores)
        array, transform = block_means(array, HEAT_NODATA, f), transform @ Affine.scale(f)
    profile = {"driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": 1,
               "dtype": "float32", "crs": store.crs_wkt, "transform": transform, "nodata": HEAT_NODATA,
               "tiled": True, "blockxsize": BLOCK_PX, "blockysize": BLOCK_PX, "compress": "lerc",
               "max_z_error": SURFACE_MAX_ERROR}
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(array, 1)
            dst.set_band_description(1, units)
            dst.update_tags(QUERY=label, UNITS=units, STRIDE_PX=str(grid.stride_px), LEVEL=str(f),
                            CELL_PX=str(grid.stride_px * f))
        data = mem.read()
    return SurfaceRaster(name, int(array.shape[1]), int(array.shape[0]), data)


def check_raster_path(path: str | os.PathLike) -> Path:
    """Validate a raster output path before any work is done: a .tif in an existing, writable folder."""
    out = Path(path)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise UserError(f"raster output must be a GeoTIFF file ending in .tif, got '{out}'")
    return check_output_folder(out, "raster path")


def overview_factors(height: int, width: int) -> list[int]:
    """Powers of two until the coarsest level fits one GeoTIFF block (at least one level, so QGIS never
    builds its own)."""
    factors = [2]
    while max(height, width) / factors[-1] > BLOCK_PX:
        factors.append(factors[-1] * 2)
    return factors


def _write_tif(path: str | os.PathLike, array: np.ndarray, transform: Affine, crs_wkt: str | None,
               nodata: float, resampling: str, finish) -> Path:
    import rasterio  # imported here: the service starts faster and only writers pay for GDAL
    from rasterio.enums import Resampling

    out = check_raster_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tif", dir=out.parent or ".")
    os.close(fd)
    profile = {"driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": 1,
               "dtype": array.dtype.name, "crs": crs_wkt, "transform": transform, "nodata": nodata,
               "tiled": True, "blockxsize": BLOCK_PX, "blockysize": BLOCK_PX, "compress": "deflate",
               "predictor": 3 if array.dtype.kind == "f" else 2}
    try:
        with rasterio.open(tmp_name, "w", **profile) as dst:
            dst.write(array, 1)
            finish(dst)
            dst.build_overviews(overview_factors(*array.shape), getattr(Resampling, resampling))
            dst.update_tags(ns="rio_overview", resampling=resampling)
        os.replace(tmp_name, out)
    except BaseException as exc:  # nothing half-written stays; a disk error (full, quota) is one line
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
        raise
    return out


def write_heatmap(path: str | os.PathLike, store: EmbeddingStore, scores: np.ndarray, label: str,
                  units: str = "cosine similarity") -> Path:
    """Write the heatmap of per-tile ``scores`` (cosine similarity, or what ``units`` says) as a float32 GeoTIFF;
    non-finite scores (tiles not scored) do not count."""
    array, transform = heatmap_array(store, scores)

    def finish(dst) -> None:
        dst.set_band_description(1, units)
        dst.update_tags(QUERY=label, UNITS=units, STRIDE_PX=str(cell_grid(store).stride_px))

    # Average overviews: a zoomed-out cell is the mean similarity of the cells under it.
    return _write_tif(path, array, transform, store.crs_wkt, HEAT_NODATA, "average", finish)


def write_class_raster(path: str | os.PathLike, store: EmbeddingStore, probabilities: np.ndarray,
                       classes: Sequence[str]) -> Path:
    """Write the class map as a GeoTIFF: uint8 class indices, a colour table (name-keyed colours), the class
    names in the ``CLASSES`` tag (a JSON list) and as band tags ``CLASS_<i>``. (GDAL category names would go to
    a ``.aux.xml`` sidecar for GeoTIFF, which one rename cannot make atomic.)"""
    array, transform = class_array(store, probabilities)
    names = list(classes)

    def finish(dst) -> None:
        dst.write_colormap(1, {i: class_rgba(name) for i, name in enumerate(names)})
        dst.set_band_description(1, "class")
        dst.update_tags(CLASSES=json.dumps(names), STRIDE_PX=str(cell_grid(store).stride_px))
        dst.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(names)})

    # Nearest overviews: a zoomed-out cell is one of the classes under it, never an index between two.
    return _write_tif(path, array, transform, store.crs_wkt, CLASS_NODATA, "nearest", finish)

