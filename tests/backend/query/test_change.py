"""Change between two dates on real NAIP imagery with the shipped model: controlled changes, twice the same
raster, a warped AFTER, the 2019/2020 pair, and the refusals (no overlap, other bands) before a model loads."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from backend.app.cli import main
from backend.app.orchestration import RasterSpec, Workspace, change
from backend.models.factory import load_model
from backend.raster.reader import TilingParams

from ..conftest import SHARED_RASTERS, wait_for_job

NAIP_2019 = SHARED_RASTERS / "m_4709963_se_14_1_20190904.tif"
NAIP_2020 = SHARED_RASTERS / "m_4709963_se_14_1_20200831.tif"
OILS = SHARED_RASTERS / "oils.tif"
TILE = 64
CROP = Window(128, 64, 8 * TILE, 6 * TILE)  # 48 tiles of 64 px (320 m at 5 m) of farmland and ponds
PASTED = [(1, 2), (3, 5), (4, 0)]  # (tile row, tile col) of the blocks pasted into the copy


def crop(src_path: Path, out: Path, window: Window = CROP) -> Path:
    with rasterio.open(src_path) as src:
        profile = src.profile | {"width": int(window.width), "height": int(window.height),
                                 "transform": src.window_transform(window)}
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=window))
    return out


def pasted_copy(before: Path, out: Path) -> Path:
    """``before`` with three tile-sized blocks of another real image (Bing oil tanks at ~2 m) pasted in."""
    with rasterio.open(before) as src, rasterio.open(OILS) as other:
        data = src.read()
        profile = src.profile
        patch = other.read((1, 2, 3), window=Window(200, 100, TILE, TILE))
    for i, (r, c) in enumerate(PASTED):
        data[:3, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = np.roll(patch, 17 * i, axis=2)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out


def reprojected(path: Path, out: Path, crs: str = "EPSG:4326") -> Path:
    """``path`` warped to another CRS (another grid): the same place, other pixels."""
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        profile = src.profile | {"crs": crs, "transform": transform, "width": width, "height": height}
        with rasterio.open(out, "w", **profile) as dst:
            for b in range(1, src.count + 1):
                reproject(rasterio.band(src, b), rasterio.band(dst, b), resampling=rasterio.enums.Resampling.bilinear)
    return out


@pytest.fixture(scope="module")
def small_model():
    return load_model("remoteclip-qgis-small", device="cpu")


@pytest.fixture
def workspace(cache_dir, small_model) -> Workspace:
    from backend.app.orchestration import embed

    ws = Workspace("cpu", load_model=lambda *a, **k: small_model)
    ws.when_missing = lambda prepared: embed(ws, prepared).store
    return ws


def tile_of(store, i: int) -> tuple[int, int]:
    col, row = store.windows[i][:2]
    return int(row) // TILE, int(col) // TILE


def test_pasted_blocks_rank_first(tmp_path, workspace):
    before = crop(NAIP_2019, tmp_path / "before.tif")
    after = pasted_copy(before, tmp_path / "after.tif")
    answer = change(workspace, RasterSpec(str(before), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE)),
                    str(after), k=3)
    assert sorted(tile_of(answer.store, i) for i in answer.result.hits) == sorted(PASTED)
    unchanged = np.delete(answer.result.change, answer.result.hits)
    assert answer.summary["tiles_compared"] == 48
    assert float(unchanged.max()) < 1e-5 < float(answer.result.change[answer.result.hits].min())


def test_the_same_raster_twice_shows_no_change(tmp_path, workspace):
    before = crop(NAIP_2019, tmp_path / "before.tif")
    answer = change(workspace, RasterSpec(str(before), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE)),
                    str(before), k=5)
    assert answer.summary["tiles_compared"] == 48
    assert np.abs(answer.result.change).max() < 1e-6
    assert answer.summary["after_store"] == answer.store.key  # one store: embedded once


def test_a_warped_after_is_put_on_befores_grid(tmp_path, workspace):
    before = crop(NAIP_2019, tmp_path / "before.tif")
    after = reprojected(pasted_copy(before, tmp_path / "pasted.tif"), tmp_path / "after_4326.tif")
    spec = RasterSpec(str(before), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE))
    answer = change(workspace, spec, str(after), k=3)
    assert answer.summary["after_raster"].endswith(".vrt")  # read through a warped view in the cache
    with rasterio.open(answer.summary["after_raster"]) as view, rasterio.open(before) as src:
        assert (view.crs, view.transform, view.shape) == (src.crs, src.transform, src.shape)
    assert sorted(tile_of(answer.store, i) for i in answer.result.hits) == sorted(PASTED)
    again = change(workspace, spec, str(after), k=3)  # the view and both stores are reused
    assert again.summary["after_raster"] == answer.summary["after_raster"]


def test_a_query_ranks_by_the_gain_toward_the_phrase(tmp_path, workspace):
    before = crop(NAIP_2019, tmp_path / "before.tif")
    after = pasted_copy(before, tmp_path / "after.tif")
    spec = RasterSpec(str(before), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE))
    answer = change(workspace, spec, str(after), k=48, queries=["storage tanks"])
    gain = answer.result.gain
    assert answer.summary["query"] == "storage tanks"
    assert list(answer.result.hits) == list(np.argsort(-gain, kind="stable"))  # ranked by gain, not change
    layer = {la.name: la for la in answer.layers}["changed"]
    assert layer.rows[0]["gain"] == pytest.approx(float(gain.max())) and layer.rows[0]["query"] == "storage tanks"


def test_naip_2019_and_2020(tmp_path, workspace):
    """The shared pair (same grid, a year apart): every tile compared, changes spread, the heatmap written."""
    before, after = crop(NAIP_2019, tmp_path / "b.tif"), crop(NAIP_2020, tmp_path / "a.tif")
    spec = RasterSpec(str(before), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE, overlap=0.5))
    answer = change(workspace, spec, str(after), k=5, output=str(tmp_path / "c.gpkg"),
                    heatmap=str(tmp_path / "c.tif"))
    change_values = answer.result.change
    assert answer.summary["tiles_compared"] == answer.store.n_tiles
    assert 0.0 < float(np.median(change_values)) < float(change_values.max()) <= 2.0
    with rasterio.open(tmp_path / "c.tif") as heat:
        assert heat.tags()["UNITS"] == "1 - cosine similarity" and heat.crs is not None
        values = heat.read(1, masked=True)
        assert values.count() > 0 and float(values.max()) <= float(change_values.max()) + 1e-6
    import fiona

    assert set(fiona.listlayers(tmp_path / "c.gpkg")) == {"changed", "change"}


# ------------------------------------------------------------------ bad input: one line, before the model


def no_model(*args, **kwargs):
    raise AssertionError("the model was loaded for a request the rasters alone refuse")


@pytest.mark.parametrize("case", ["no_overlap", "bands"])
def test_refusals_come_before_the_model_and_write_nothing(tmp_path, cache_dir, monkeypatch, capsys, case):
    before = crop(NAIP_2019, tmp_path / "before.tif", Window(0, 0, 256, 256))
    if case == "no_overlap":
        after = crop(NAIP_2019, tmp_path / "after.tif", Window(600, 400, 256, 256))
        expected = "do not overlap"
    else:
        after = tmp_path / "after.tif"
        with rasterio.open(before) as src:
            with rasterio.open(after, "w", **(src.profile | {"count": 3})) as dst:
                dst.write(src.read((1, 2, 3)))
        expected = "4 bands"
    monkeypatch.setattr("backend.models.factory.load_model", no_model)
    started = time.perf_counter()
    code = main(["change", str(before), str(after), "--tile-size", "64", "-o", str(tmp_path / "out.gpkg"),
                 "--heatmap", str(tmp_path / "out.tif")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0] and err[0].startswith("error: ")
    assert time.perf_counter() - started < 5.0
    assert not (tmp_path / "out.gpkg").exists() and not (tmp_path / "out.tif").exists()
    assert not (cache_dir / "aligned").exists()


def test_cli_prints_the_ranked_changes(tmp_path, cache_dir, capsys):
    before = crop(NAIP_2019, tmp_path / "before.tif")
    after = pasted_copy(before, tmp_path / "after.tif")
    assert main(["change", str(before), str(after), "--tile-size", "64", "-k", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("tiles compared: 48; mean change: ")
    assert out[1].split() == ["rank", "change", "gain", "tile", "centre", "(x,", "y)"] and len(out) == 5


def test_change_over_http_names_the_raster_to_embed(tmp_path, cache_dir, small_model):
    from fastapi.testclient import TestClient

    from backend.app import service

    before = crop(NAIP_2019, tmp_path / "before.tif")
    after = reprojected(pasted_copy(before, tmp_path / "pasted.tif"), tmp_path / "after.tif")
    headers = {"Authorization": "Bearer t"}
    body = {"raster": str(before), "after": str(after), "model": "remoteclip-qgis-small", "tile_size": TILE, "k": 3}
    with TestClient(service.create_app("t", device="cpu"), base_url="http://127.0.0.1") as client:
        for _ in range(3):  # 409 for BEFORE, then for AFTER's warped view, then the answer
            r = client.post("/change", json=body, headers=headers)
            if r.status_code != 409:
                break
            to_embed = r.json()["raster"]
            job = client.post("/embed", json={**body, "raster": to_embed}, headers=headers).json()
            state = wait_for_job(client, job, headers)
            assert state["state"] == "done", json.dumps(state)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer["layers"]) == {"changed", "change"} and answer["summary"]["tiles_compared"] == 48
        assert len(answer["layers"]["changed"]["features"]) == 3
        bad = client.post("/change", json={**body, "after": str(tmp_path / "missing.tif")}, headers=headers)
        assert bad.status_code == 404 and "missing.tif" in bad.json()["error"]
