"""Large stores answer /search and /similar with the similarity as a GeoTIFF, not polygons (through Starlette's
TestClient, the real routes); the no-overlap heatmap shortcut equals the general sparse computation."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile

from backend.embedding.store import write_store
from backend.query import surface_raster

from ..conftest import wait_for_job


def _embed(client: TestClient, body: dict) -> None:
    job = wait_for_job(client, client.post("/embed", json=body).json())
    assert job["state"] == "done", job


def test_a_large_store_answers_with_the_heatmap_raster(client, sample_raster, tiny_weights, monkeypatch, tmp_path):
    body = {"raster": str(sample_raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 64}
    _embed(client, body)
    polygons = client.post("/search", json=dict(body, queries=["lake"], k=3)).json()
    n = polygons["n_tiles"]
    assert len(polygons["layers"]["similarity"]["features"]) == n and polygons["rasters"] == {}

    monkeypatch.setenv("REMOTECLIP_SURFACE_RASTER_MIN_TILES", str(n))  # this store now counts as large
    r = client.post("/search", json=dict(body, queries=["lake"], k=3, heatmap=str(tmp_path / "heat.tif")))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert "similarity" not in answer["layers"] and set(answer["rasters"]) == {"similarity"}
    assert answer["layers"]["hits"] == polygons["layers"]["hits"]  # the same hits either way
    carried = answer["rasters"]["similarity"]
    with MemoryFile(base64.b64decode(carried["data"])) as mem, mem.open() as src, \
            rasterio.open(tmp_path / "heat.tif") as written:
        assert (src.width, src.height) == (carried["width"], carried["height"]) == (written.width, written.height)
        assert src.dtypes == ("float32",) and src.nodata == surface_raster.HEAT_NODATA
        assert src.transform == written.transform and src.crs == written.crs
        carried_cells, cells = src.read(1), written.read(1)  # the --heatmap GeoTIFF's cells, to LERC's bound
        np.testing.assert_array_equal(carried_cells == surface_raster.HEAT_NODATA, cells == surface_raster.HEAT_NODATA)
        np.testing.assert_allclose(carried_cells, cells, rtol=0, atol=surface_raster.SURFACE_MAX_ERROR * 1.001)
        assert src.tags()["QUERY"] == "lake"

    # A GeoPackage asked for gets its polygons; include_surface false gets neither.
    r = client.post("/search", json=dict(body, queries=["lake"], k=3, output=str(tmp_path / "hits.gpkg"))).json()
    assert len(r["layers"]["similarity"]["features"]) == n and r["rasters"] == {}
    r = client.post("/search", json=dict(body, queries=["lake"], k=3, include_surface=False)).json()
    assert set(r["layers"]) == {"hits"} and r["rasters"] == {}
    r = client.post("/similar", json=dict(body, tile_id=0, k=3)).json()
    assert set(r["layers"]) == {"similar"} and set(r["rasters"]) == {"similarity"}

    monkeypatch.setenv("REMOTECLIP_SURFACE_RASTER_MIN_TILES", "many")
    r = client.post("/search", json=dict(body, queries=["lake"]))
    assert r.status_code == 400 and "REMOTECLIP_SURFACE_RASTER_MIN_TILES must be a whole number" in r.json()["error"]


@pytest.mark.parametrize("width", [640, 650])  # whole tiles, and a clipped last column
def test_no_overlap_cell_means_equal_the_sparse_ones(tmp_path, width):
    tile, height = 64, 300
    cols, rows = -(-width // tile), -(-height // tile)
    keep = [(r, c) for r in range(rows) for c in range(cols) if (r * cols + c) % 5]  # some tiles skipped
    windows = np.array([[c * tile, r * tile, tile, tile] for r, c in keep], dtype=np.int64)
    n = len(windows)
    ring = np.zeros((n, 4, 2))
    tiles = {"grid_index": np.arange(n), "windows": windows, "cores": windows, "footprints": ring,
             "core_footprints": ring, "valid": np.ones(n, np.float32)}
    meta = {"raster": {"crs_wkt": None, "transform": [1, 0, 0, 0, -1, 0], "width": width, "height": height},
            "tiling": {"tile_px": tile, "stride_px": tile}}
    store = write_store("s" * 32, np.eye(n, 8, dtype=np.float32), tiles, meta, root=tmp_path)
    values = np.random.default_rng(0).standard_normal(n)
    values[3] = np.nan  # an unscored tile counts nowhere
    fast, weight, _ = surface_raster.cell_means(store, values)
    slow, slow_weight, _ = surface_raster._sparse_cell_means(store, values)
    np.testing.assert_array_equal(weight > 0, slow_weight > 0)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, equal_nan=True)


def test_past_the_index_size_the_hits_stay_exact_and_the_surface_comes_at_a_coarser_level(
        client, sample_raster, tiny_weights, monkeypatch, tmp_path):
    from backend.query.surface_levels import block_means

    body = {"raster": str(sample_raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 64,
            "overlap": 0.5}
    _embed(client, body)
    exact = client.post("/search", json=dict(body, queries=["lake"], k=3, heatmap=str(tmp_path / "heat.tif"))).json()
    with rasterio.open(tmp_path / "heat.tif") as src:
        cells = src.read(1)
        transform = src.transform
    n, (rows, cols) = exact["n_tiles"], cells.shape
    monkeypatch.setenv("REMOTECLIP_SURFACE_RASTER_MIN_TILES", str(n))
    monkeypatch.setenv("REMOTECLIP_ANN_MIN_TILES", str(n))  # hits from the approximate index's candidates
    monkeypatch.setenv("REMOTECLIP_SURFACE_MAX_CELLS", str(-(-rows // 2) * -(-cols // 2)))  # level 2 fits
    r = client.post("/search", json=dict(body, queries=["lake"], k=3))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["layers"]["hits"] == exact["layers"]["hits"]
    with MemoryFile(base64.b64decode(answer["rasters"]["similarity"]["data"])) as mem, mem.open() as src:
        coarse, tags = src.read(1), src.tags()
        assert src.shape == (-(-rows // 2), -(-cols // 2)) and tags["LEVEL"] == "2"
        assert src.transform == transform @ rasterio.Affine.scale(2)
    expected = block_means(cells, surface_raster.HEAT_NODATA, 2)
    np.testing.assert_array_equal(coarse == surface_raster.HEAT_NODATA, expected == surface_raster.HEAT_NODATA)
    assert np.abs(coarse - expected).max() < 5e-3  # the int8 mirror of the pooled embeddings (and LERC's 1e-4)
    from backend.config import cache_root

    store_dir = cache_root() / "stores" / answer["store"]
    assert (store_dir / "ann.faiss").is_file() and (store_dir / "surface_level2.json").is_file()
    similar = client.post("/similar", json=dict(body, tile_id=0, k=3)).json()
    assert set(similar["rasters"]) == {"similarity"} and len(similar["layers"]["similar"]["features"]) == 3


def test_embedding_a_large_store_builds_its_index_and_answer_level(client, sample_raster, tiny_weights, monkeypatch):
    from backend.config import cache_root

    monkeypatch.setenv("REMOTECLIP_ANN_MIN_TILES", "1")  # every store counts as large
    monkeypatch.setenv("REMOTECLIP_SURFACE_MAX_CELLS", "4")
    body = {"raster": str(sample_raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 64}
    job = wait_for_job(client, client.post("/embed", json=body).json())
    assert job["state"] == "done", job
    found = client.post("/search", json=dict(body, queries=["lake"], k=2, include_surface=False)).json()
    folder = cache_root() / "stores" / found["store"]
    assert (folder / "ann.faiss").is_file()
    assert len(list(folder.glob("surface_level*.json"))) == 1  # the one level its answers carry
