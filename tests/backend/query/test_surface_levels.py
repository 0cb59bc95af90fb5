"""Coarser surface levels: block means of the heatmap, exact from pooled embeddings; the answer's level."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from backend.embedding.store import EmbeddingStore
from backend.query import surface_levels, surface_raster
from backend.query.surface_levels import block_means, level_for, level_heatmap, pooling_matrix, surface_level
from backend.raster.tile_grid import grid_spec, tile_windows

ORIGIN = Affine(2.0, 0.0, 500000.0, 0.0, -2.0, 4100000.0)  # 2 m pixels
NODATA = surface_raster.HEAT_NODATA


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n, dim)).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def make_store(folder: Path, width: int, height: int, tile: int, overlap: float, keep=None, dim: int = 24,
               seed: int = 0) -> EmbeddingStore:
    """A store of the grid's tiles (all, or the grid positions ``keep``) with random unit embeddings, in
    ``folder`` (levels are written beside it)."""
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    keep = np.arange(len(windows)) if keep is None else np.asarray(keep)
    meta = {"raster": {"width": width, "height": height, "transform": list(ORIGIN)[:6], "crs_wkt": "EPSG:32633"},
            "tiling": {"tile_px": tile, "stride_px": spec.stride_px}}
    folder.mkdir(parents=True, exist_ok=True)
    n = len(keep)
    return EmbeddingStore(folder, meta, unit_rows(n, dim, seed), windows[keep], cores[keep],
                          np.zeros((n, 4, 2)), np.zeros((n, 4, 2)), np.ones(n, np.float32))


def test_the_level_is_the_smallest_factor_that_fits():
    assert level_for(100, 100, 10_000) == 1
    assert level_for(1000, 1000, surface_levels.SURFACE_MAX_CELLS) == 3  # a million tiles: 334 x 334 cells
    assert level_for(1000, 1000, 250_000) == 2
    assert level_for(1001, 1000, 250_000) == 3  # 501 x 500 > 250,000
    assert level_for(3, 5, 1) == 5
    for rows, cols, cap in ((7, 9, 4), (1000, 10, 37), (250, 400, 131_072), (12, 1, 5)):
        f = level_for(rows, cols, cap)
        assert -(-rows // f) * -(-cols // f) <= cap and (f == 1 or -(-rows // (f - 1)) * -(-cols // (f - 1)) > cap)


def test_block_means_average_the_valid_cells_of_each_block():
    a = np.array([[1.0, 2.0, 3.0], [3.0, NODATA, 5.0], [NODATA, NODATA, 7.0]], dtype=np.float32)
    out = block_means(a, NODATA, 2)
    np.testing.assert_allclose(out, [[2.0, 4.0], [NODATA, 7.0]])  # (1+2+3)/3; (3+5)/2; nothing; 7
    assert out.dtype == np.float32
    np.testing.assert_array_equal(block_means(a, NODATA, 1), a)


@pytest.mark.parametrize(("width", "height", "tile", "overlap", "f"), [
    (200, 120, 10, 0.0, 2),     # no overlap, whole blocks
    (205, 117, 10, 0.5, 2),     # half overlap, the raster's edge inside the last cells and blocks
    (230, 190, 16, 0.25, 3),    # a tile side that is not a multiple of the stride (16 over 12 px), blocks of 3
])
def test_a_pooled_level_is_the_block_mean_of_the_full_heatmap(tmp_path, width, height, tile, overlap, f):
    store = make_store(tmp_path / "s", width, height, tile, overlap)
    rng = np.random.default_rng(1)
    level = surface_level(store, f)
    for _ in range(3):
        q = rng.standard_normal(store.embeddings.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        full, _ = surface_raster.heatmap_array(store, store.embeddings @ q)
        expected = block_means(full, NODATA, f)
        # The pooling matrix is exact (float64); the level's int8 mirror is within its own bound.
        matrix, blocks, shape = pooling_matrix(store, f)
        exact = np.full(shape[0] * shape[1], NODATA)
        exact[blocks] = matrix @ (store.embeddings.astype(np.float64) @ q)
        np.testing.assert_allclose(exact.reshape(shape), expected, rtol=0, atol=1e-5)
        got = level_heatmap(level, q, NODATA)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got == NODATA, expected == NODATA)
        assert np.abs(got - expected).max() <= level.mirror.bound(q)[2] + 1e-5
    assert level.transform == surface_raster.cell_grid(store).transform @ Affine.scale(f)


def test_skipped_tiles_leave_blocks_without_any_nodata(tmp_path):
    # 20 x 12 tiles of 10 px, no overlap; the first 4 rows of tiles kept, and one tile of the fifth row.
    keep = np.r_[np.arange(4 * 20), 4 * 20 + 7]
    store = make_store(tmp_path / "s", 200, 120, 10, 0.0, keep=keep)
    q = unit_rows(1, store.embeddings.shape[1], 5)[0]
    got = level_heatmap(surface_level(store, 2), q, NODATA)
    full, _ = surface_raster.heatmap_array(store, store.embeddings @ q)
    expected = block_means(full, NODATA, 2)
    assert (got[3:] == NODATA).all() and (got[:2] != NODATA).all()
    assert got[2, 3] != NODATA and (np.delete(got[2], 3) == NODATA).all()  # only the block with tile 87
    np.testing.assert_allclose(got[got != NODATA], expected[expected != NODATA], atol=2e-2)


def test_a_level_is_kept_beside_the_store_and_made_again_when_removed(tmp_path):
    store = make_store(tmp_path / "s", 120, 80, 10, 0.5)
    q = unit_rows(1, store.embeddings.shape[1], 2)[0]
    first = level_heatmap(surface_level(store, 2), q, NODATA)
    meta = store.path / surface_levels.LEVEL_META.format(f=2)
    assert meta.is_file() and (store.path / "surface_level2_i8.npy").is_file()
    surface_levels._LEVELS.clear()  # a new process: loaded from disk, the same values
    np.testing.assert_array_equal(level_heatmap(surface_level(store, 2), q, NODATA), first)
    meta.unlink()
    np.testing.assert_array_equal(level_heatmap(surface_level(store, 2), q, NODATA), first)
    assert meta.is_file()


def _read(surface) -> tuple[np.ndarray, rasterio.Affine, dict]:
    with rasterio.open(io.BytesIO(surface.tiff)) as src:
        return src.read(1), src.transform, src.tags()


def test_an_answered_surface_past_the_cell_budget_comes_at_the_coarser_level(tmp_path, monkeypatch):
    store = make_store(tmp_path / "s", 205, 117, 10, 0.5)  # 41 x 24 cells
    q = unit_rows(1, store.embeddings.shape[1], 3)[0]
    scores = store.embeddings @ q
    full = surface_raster.surface_raster_of(store, scores, "q")
    array, transform, tags = _read(full)
    assert array.shape == (24, 41) and tags["LEVEL"] == "1" and tags["CELL_PX"] == tags["STRIDE_PX"] == "5"
    monkeypatch.setenv("REMOTECLIP_SURFACE_MAX_CELLS", str(21 * 12))  # 41 x 24 cells do not fit; 21 x 12 do
    from_scores = _read(surface_raster.surface_raster_of(store, scores, "q"))
    from_query = _read(surface_raster.surface_raster_of(store, None, "q", query=q))
    for coarse, coarse_transform, coarse_tags in (from_scores, from_query):
        assert coarse.shape == (12, 21) and coarse_tags["LEVEL"] == "2" and coarse_tags["CELL_PX"] == "10"
        assert coarse_transform == transform @ Affine.scale(2)  # the same origin, cells twice the side
    expected = block_means(array, NODATA, 2)
    np.testing.assert_allclose(from_scores[0], expected, atol=2e-4)  # LERC's bound, twice
    bound = surface_level(store, 2).mirror.bound(q)[2]
    assert np.abs(from_query[0] - expected).max() <= bound + 2e-4
