"""The cost model: tiles from the grid, disk from the store's layout, time from the device's rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.embedding.cost_model import (
    Estimate,
    estimate,
    format_bytes,
    format_duration,
    rate_key,
    read_rates,
    record_job,
    store_bytes,
)
from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.raster.reader import TilingParams


def _store_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def test_disk_estimate_matches_a_real_store(cache_dir, tiny_model, sample_raster):
    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=64, min_valid=0.0))
    store = embed_raster(plan, tiny_model)
    assert store.n_tiles == plan.grid.n_tiles  # every tile of the NAIP sample is valid: the bound is exact
    actual = _store_size(store.path)
    predicted = store_bytes(plan.grid.n_tiles, tiny_model.embed_dim)
    assert abs(predicted - actual) / actual < 0.05, (predicted, actual)


def test_first_estimate_calibrates_and_keeps_the_rate(tmp_path, tiny_model):
    first = estimate(1000, tiny_model, root=tmp_path)
    assert first.rate_source == "calibrated" and first.rate_tiles_per_s > 0
    assert first.seconds == pytest.approx(1000 / first.rate_tiles_per_s, rel=0.01)
    assert first.disk_bytes == store_bytes(1000, tiny_model.embed_dim)
    again = estimate(2000, tiny_model, root=tmp_path)
    assert again.rate_source == "calibrated" and again.rate_tiles_per_s == first.rate_tiles_per_s
    assert again.seconds == pytest.approx(2 * first.seconds, rel=0.01)


def test_a_finished_job_replaces_the_calibration(tmp_path, tiny_model):
    estimate(10, tiny_model, root=tmp_path)
    record_job(tiny_model, 500, 10.0, root=tmp_path)  # 50 tiles/s end to end
    est = estimate(100, tiny_model, root=tmp_path)
    assert (est.rate_source, est.rate_tiles_per_s, est.seconds) == ("measured", 50.0, 2.0)
    record_job(tiny_model, 10, 100.0, root=tmp_path)  # too small to say anything about the rate
    key = rate_key(tiny_model.identity, str(tiny_model.device), tiny_model.image_size)
    assert read_rates(tmp_path)[key]["tiles_per_s"] == 50.0


def test_rates_are_kept_per_read_size_and_a_probe_replaces_the_calibration(tmp_path, tiny_model):
    record_job(tiny_model, 500, 10.0, root=tmp_path, read_px=64)  # 50 tiles/s reading 64 px tiles
    probes = []

    def probe() -> float:
        probes.append(1)
        return 20.0

    small = estimate(100, tiny_model, root=tmp_path, read_px=64, probe=probe)
    assert (small.rate_source, small.rate_tiles_per_s, probes) == ("measured", 50.0, [])
    large = estimate(100, tiny_model, root=tmp_path, read_px=1024, probe=probe)  # another read size: not 50/s
    assert (large.rate_source, large.rate_tiles_per_s, large.seconds, probes) == ("probed", 20.0, 5.0, [1])
    again = estimate(100, tiny_model, root=tmp_path, read_px=1024, probe=probe)  # the probe is kept
    assert (again.rate_source, again.rate_tiles_per_s, probes) == ("probed", 20.0, [1])
    record_job(tiny_model, 400, 4.0, root=tmp_path, read_px=1024)  # a finished job replaces the probe
    assert estimate(100, tiny_model, root=tmp_path, read_px=1024, probe=probe).rate_source == "measured"


def test_estimate_reads_as_one_line():
    est = Estimate(tiles=12345, seconds=250.0, disk_bytes=25_300_000, rate_tiles_per_s=49.4,
                   rate_source="measured", device="cpu")
    assert est.line() == "12,345 tiles, about 4 min, 25.3 MB of disk"
    assert format_duration(0.2) == "1 s" and format_duration(7200) == "2.0 h"
    assert format_bytes(999) == "999 B" and format_bytes(1_500_000_000) == "1.5 GB"


def test_nodata_tiles_are_not_counted_as_time(cache_dir, tmp_path, tiny_model):
    """A raster three quarters nodata: the estimate counts the quarter that will be embedded, and a job's
    measured rate is per embedded tile, so it holds for a raster without nodata too."""
    import numpy as np
    import rasterio

    from backend.embedding.pipeline import valid_share

    path = tmp_path / "quarter.tif"
    data = np.random.default_rng(3).integers(1, 255, (3, 512, 512), dtype=np.uint8)
    data[:, :, :384] = 0
    with rasterio.open(path, "w", driver="GTiff", width=512, height=512, count=3, dtype="uint8", nodata=0,
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000)) as dst:
        dst.write(data)
    plan = plan_embedding(str(path), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=32))
    share = valid_share(plan)
    assert share == pytest.approx(0.25, abs=0.02)
    record_job(tiny_model, 200, 4.0, root=tmp_path, read_px=32)  # 50 embedded tiles/s
    est = estimate(plan.grid.n_tiles, tiny_model, root=tmp_path, read_px=32, valid_share=share)
    assert est.tiles == 256 and est.seconds == pytest.approx(256 * share / 50.0)
    store = embed_raster(plan, tiny_model)
    assert store.n_tiles == round(256 * share)  # the share the estimate used is the share embedded


OILS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "rasters" / "oils.tif"


@pytest.mark.skipif(not OILS.exists(), reason="needs ../shared/data/rasters/oils.tif")
def test_the_estimate_is_within_half_again_of_a_real_embedding(cache_dir, tmp_path):
    """The shipped small model on a real raster: the probed estimate, then the real job, timed end to end (the
    same work the estimate stands for). Fails when the estimate is off by more than 1.5 times either way."""
    import shutil
    import time

    from backend.embedding.pipeline import probe_rate
    from backend.models.factory import load_model

    raster = tmp_path / OILS.name
    shutil.copy(OILS, raster)
    model = load_model("remoteclip-qgis-small", device="cpu")
    plan = plan_embedding(str(raster), model.identity, "remoteclip-qgis-small", model.image_size,
                          TilingParams(tile_px=32, overlap=0.0))
    assert plan.grid.n_tiles >= 300  # enough tiles that start-up is no large share of the job
    ratios = []
    # Two tries, each a fresh probe then the real job: one load spike from another process between the probe and
    # the job (measured once here, ratio 0.35 on a 2-core machine shared with four test runs) does not fail it.
    for attempt in range(2):
        est = estimate(plan.grid.n_tiles, model, root=tmp_path / f"rates{attempt}", read_px=plan.read_px,
                       probe=lambda: probe_rate(plan, model))
        assert est.rate_source == "probed"
        started = time.perf_counter()
        store = embed_raster(plan, model)
        seconds = time.perf_counter() - started
        assert store.n_tiles > 0
        ratios.append(est.seconds / seconds)
        print(f"estimate {est.seconds:.1f} s ({est.rate_tiles_per_s} tiles/s), real {seconds:.1f} s "
              f"({plan.grid.n_tiles / seconds:.1f} tiles/s), ratio {ratios[-1]:.2f}")
        if 1 / 1.5 <= ratios[-1] <= 1.5:
            break
        shutil.rmtree(store.path)  # the second try embeds again
    assert 1 / 1.5 <= ratios[-1] <= 1.5, ratios
