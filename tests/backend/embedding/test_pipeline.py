"""The threaded embedding pipeline against a straightforward reference loop, on real GeoTIFFs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from backend.embedding.pipeline import default_batch_size, default_read_workers, embed_raster, plan_embedding
from backend.embedding.preprocess import to_model_input
from backend.errors import UserError
from backend.raster.reader import TilingParams, open_raster, read_tile, stretch_limits
from backend.raster.tile_grid import tile_windows

from ..conftest import SHARED_RASTERS


def _reference_embeddings(plan, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One window, one read, one forward per tile, in grid order: (grid index, valid, embeddings)."""
    windows, _ = tile_windows(plan.grid)
    kept, valid, rows = [], [], []
    with open_raster(plan.info.path) as src:
        limits = stretch_limits(src, plan.bands.bands)
        for i, (c, r, w, h) in enumerate(windows):
            tile, fraction = read_tile(src, Window(int(c), int(r), int(w), int(h)), plan.bands.bands,
                                       plan.read_px, limits)
            if fraction >= plan.params.min_valid and fraction > 0:
                pixels = to_model_input(torch.from_numpy(tile[None]), model.image_size, model.mean, model.std)
                rows.append(model.encode_images(pixels).numpy()[0])
                kept.append(i)
                valid.append(fraction)
    return np.asarray(kept), np.asarray(valid, np.float32), np.stack(rows)


@pytest.mark.parametrize(("raster", "params", "batch_size", "workers"), [
    ("sample", TilingParams(tile_px=100, overlap=0.25), 7, 3),  # resized tiles, mirrored edges, ragged batches
    (SHARED_RASTERS / "RGB.byte.tif", TilingParams(tile_px=48), 16, 2),  # nodata collar: tiles dropped
])
def test_pipeline_equals_reference_loop(cache_dir, sample_raster, tiny_model, raster, params, batch_size, workers):
    path = sample_raster if raster == "sample" else raster
    plan = plan_embedding(str(path), tiny_model.identity, "tiny-local", tiny_model.image_size, params)
    seen = []
    store = embed_raster(plan, tiny_model, batch_size=batch_size, workers=workers,
                         progress=lambda done, total: seen.append((done, total)))
    kept, valid, expected = _reference_embeddings(plan, tiny_model)
    with np.load(store.path / "tiles.npz") as tiles:
        np.testing.assert_array_equal(tiles["grid_index"], kept)
    np.testing.assert_array_equal(store.valid, valid)
    np.testing.assert_allclose(np.asarray(store.embeddings), expected, atol=2e-5)
    assert seen[-1] == (plan.grid.n_tiles, plan.grid.n_tiles)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    if raster != "sample":
        assert len(kept) < plan.grid.n_tiles


def test_reader_error_surfaces_as_one_line(cache_dir, sample_raster, tiny_model):
    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=64))
    sample_raster.write_bytes(sample_raster.read_bytes()[:4096])  # cut after planning: reads now fail
    with pytest.raises(UserError):
        embed_raster(plan, tiny_model, batch_size=8, workers=2)
    assert not (cache_dir / "stores").exists() or not any((cache_dir / "stores").iterdir())


@pytest.mark.parametrize(("batch_size", "workers"), [(0, None), (4, 0)])
def test_bad_batch_size_or_workers(cache_dir, sample_raster, tiny_model, batch_size, workers):
    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=64))
    with pytest.raises(UserError, match="at least 1"):
        embed_raster(plan, tiny_model, batch_size=batch_size, workers=workers)


def test_default_batch_size_and_readers_on_cpu(monkeypatch):
    assert default_batch_size(torch.device("cpu")) == 32
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_read_workers(torch.device("cpu")) == 1  # the model's threads own the cores
    assert default_read_workers(torch.device("cuda")) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    assert default_read_workers(torch.device("cpu")) == 4
    assert default_read_workers(torch.device("cuda")) == 8
