"""Heatmap and class rasters on the stride grid: alignment, means of covering tiles, nodata, file layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from backend.embedding.store import EmbeddingStore
from backend.errors import UserError
from backend.query import surface_raster
from backend.raster.tile_grid import grid_spec, tile_windows

ORIGIN = Affine(0.5, 0.0, 1000.0, 0.0, -0.5, 2000.0)  # 0.5 m pixels


def make_store(width: int, height: int, tile: int, overlap: float, keep: np.ndarray | None = None) -> EmbeddingStore:
    """A store of the grid's tiles (all, or the grid positions ``keep``), with no embeddings to speak of."""
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    keep = np.arange(len(windows)) if keep is None else keep
    meta = {"raster": {"width": width, "height": height, "transform": list(ORIGIN)[:6], "crs_wkt": "EPSG:32633"},
            "tiling": {"tile_px": tile, "stride_px": spec.stride_px}}
    n = len(keep)
    return EmbeddingStore(Path("mem"), meta, np.zeros((n, 2), np.float32), windows[keep], cores[keep],
                          np.zeros((n, 4, 2)), np.zeros((n, 4, 2)), np.ones(n, np.float32))


def brute_mean(store: EmbeddingStore, scores: np.ndarray) -> np.ndarray:
    """Per-pixel mean of covering tiles, then per stride block: the definition, pixel by pixel."""
    raster = store.meta["raster"]
    total = np.zeros((raster["height"], raster["width"]))
    count = np.zeros_like(total)
    for (c, r, w, h), s in zip(store.windows, scores):
        if np.isfinite(s):
            total[r:r + h, c:c + w] += s
            count[r:r + h, c:c + w] += 1
    s = store.meta["tiling"]["stride_px"]
    grid = surface_raster.cell_grid(store)
    out = np.full((grid.n_rows, grid.n_cols), surface_raster.HEAT_NODATA)
    for i in range(grid.n_rows):
        for j in range(grid.n_cols):
            t, n = total[i * s:(i + 1) * s, j * s:(j + 1) * s], count[i * s:(i + 1) * s, j * s:(j + 1) * s]
            if n.sum():
                out[i, j] = t.sum() / n.sum() if (n == n.flat[0]).all() else (t / np.maximum(n, 1)).mean()
    return out


def test_cells_are_stride_blocks_of_the_tile_grid() -> None:
    store = make_store(100, 70, tile=20, overlap=0.5)
    array, transform = surface_raster.heatmap_array(store, np.arange(store.n_tiles, dtype=np.float32))
    assert transform == ORIGIN @ Affine.scale(10)
    assert array.shape == (7, 10)
    # Every tile window is exactly a block of whole cells, its corners on the raster's pixel corners.
    for c, r, w, h in store.windows:
        x0, y0 = transform @ (c / 10, r / 10)
        assert (x0, y0) == ORIGIN @ (c, r)
        assert (w % 10, h % 10) == (0, 0)


def test_each_cell_is_the_mean_of_the_tiles_covering_it() -> None:
    store = make_store(100, 70, tile=20, overlap=0.5)
    rng = np.random.default_rng(1)
    scores = rng.uniform(-1, 1, store.n_tiles).astype(np.float32)
    array, _ = surface_raster.heatmap_array(store, scores)
    np.testing.assert_allclose(array, brute_mean(store, scores), rtol=1e-6)
    # Hand check: cell (1, 1) lies under tiles (0,0), (0,1), (1,0), (1,1) of the 9-column grid.
    n_cols = grid_spec(100, 70, 20, 0.5).n_cols
    assert array[1, 1] == pytest.approx(scores[[0, 1, n_cols, n_cols + 1]].mean(), rel=1e-6)
    assert array[0, 0] == pytest.approx(scores[0])


def test_overlap_zero_is_the_tile_scores() -> None:
    store = make_store(60, 40, tile=20, overlap=0.0)
    scores = np.arange(store.n_tiles, dtype=np.float32)
    array, transform = surface_raster.heatmap_array(store, scores)
    np.testing.assert_array_equal(array, scores.reshape(2, 3))
    assert transform.a == 10.0  # 20 px of 0.5 m


def test_tiles_not_a_multiple_of_the_stride_count_by_covered_fraction() -> None:
    store = make_store(50, 30, tile=15, overlap=0.4)  # stride 9: a tile covers 1 2/3 cells
    scores = np.random.default_rng(2).uniform(-1, 1, store.n_tiles)
    array, _ = surface_raster.heatmap_array(store, scores)
    weights = surface_raster.cell_means(store, scores)[1]
    assert (weights > 0).all()
    assert np.isfinite(array).all() and (array >= scores.min() - 1e-6).all() and (array <= scores.max() + 1e-6).all()


def test_skipped_and_unscored_tiles_leave_nodata() -> None:
    full = make_store(60, 40, tile=20, overlap=0.0)
    keep = np.array([0, 1, 3, 4])  # tiles 2 and 5 (the right column) were skipped as empty
    store = make_store(60, 40, tile=20, overlap=0.0, keep=keep)
    scores = np.array([0.1, 0.2, 0.3, -np.inf])  # and grid tile 4 unscored (past the approximate index)
    array, _ = surface_raster.heatmap_array(store, scores)
    assert full.n_tiles == 6
    np.testing.assert_array_equal(array, np.float32([[0.1, 0.2, -9999], [0.3, -9999, -9999]]))


def test_class_cells_without_a_kept_tile_are_nodata() -> None:
    store = make_store(60, 40, tile=20, overlap=0.0, keep=np.array([0, 4]))
    array, _ = surface_raster.class_array(store, np.array([[0.2, 0.8], [0.7, 0.3]]))
    np.testing.assert_array_equal(array, [[1, 255, 255], [255, 0, 255]])


def test_heatmap_file_is_tiled_compressed_with_overviews(tmp_path) -> None:
    store = make_store(3000, 2000, tile=20, overlap=0.5)  # 300 x 200 cells
    scores = np.linspace(-0.2, 0.4, store.n_tiles, dtype=np.float32)
    out = surface_raster.write_heatmap(tmp_path / "heat.tif", store, scores, "lake")
    with rasterio.open(out) as src:
        assert src.dtypes == ("float32",) and src.nodata == -9999
        assert src.transform == ORIGIN @ Affine.scale(10) and src.crs.to_epsg() == 32633
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.compression.name == "deflate"
        assert src.overviews(1) == [2]
        assert src.tags()["QUERY"] == "lake" and src.descriptions == ("cosine similarity",)
        np.testing.assert_allclose(src.read(1), surface_raster.heatmap_array(store, scores)[0])
    assert [p.name for p in tmp_path.iterdir()] == ["heat.tif"]  # the temporary file is gone


def test_class_raster_has_palette_and_names(tmp_path) -> None:
    store = make_store(60, 40, tile=20, overlap=0.5)
    probs = np.zeros((store.n_tiles, 3))
    probs[:, 2] = 0.5
    probs[0] = [0.9, 0.05, 0.05]  # the top-left tile alone is "water"
    out = surface_raster.write_class_raster(tmp_path / "classes.tif", store, probs, ["water", "building", "road"])
    with rasterio.open(out) as src:
        assert src.dtypes == ("uint8",) and src.nodata == 255
        array = src.read(1)
        assert array[0, 0] == 0 and array[1, 1] == 2  # cell (1,1): 0.9/4 < (0.5*3 + 0.05)/4 for road
        colours = src.colormap(1)
        # name-keyed colours from resources/class_colours.json: water blue, building red, road grey
        assert [colours[i] for i in range(3)] == [(0x1F, 0x78, 0xB4, 255), (0xD7, 0x30, 0x1F, 255),
                                                  (0x80, 0x80, 0x80, 255)]
        assert json.loads(src.tags()["CLASSES"]) == ["water", "building", "road"]
        assert src.tags(1)["CLASS_1"] == "building"
        assert src.overviews(1) == [2]
    assert [p.name for p in tmp_path.iterdir()] == ["classes.tif"]
    # the same name keeps its colour whatever else is asked, in whatever order
    out = surface_raster.write_class_raster(tmp_path / "other.tif", store, probs[:, ::-1], ["road", "forest", "water"])
    with rasterio.open(out) as src:
        assert src.colormap(1)[0][:3] == (0x80, 0x80, 0x80) and src.colormap(1)[2][:3] == (0x1F, 0x78, 0xB4)


@pytest.mark.parametrize("name", ["missing/heat.tif", "heat.png"])
def test_a_bad_path_is_one_line_and_writes_nothing(tmp_path, name) -> None:
    store = make_store(60, 40, tile=20, overlap=0.0)
    with pytest.raises(UserError) as err:
        surface_raster.write_heatmap(tmp_path / name, store, np.zeros(store.n_tiles), "x")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []
