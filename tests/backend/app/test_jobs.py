"""Embedding and every job over a store, on the real NAIP sample with the tiny test model."""

from __future__ import annotations

import os

import fiona
import numpy as np
import pytest
import rasterio
import torch

from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.embedding.preprocess import to_model_input
from backend.errors import JobCancelled, UserError
from backend.query.counting import count_objects
from backend.query.similar_tiles import similar_tiles
from backend.query.text_search import text_search
from backend.query.vector_layer import write_gpkg
from backend.query.zero_shot import zero_shot
from backend.raster.reader import TilingParams

from ..conftest import SHARED_RASTERS

PARAMS = TilingParams(tile_px=64, overlap=0.25)


def _embed(raster, model, params=PARAMS, **kw):
    plan = plan_embedding(str(raster), model.identity, model.spec.name, model.image_size, params)
    return plan, embed_raster(plan, model, batch_size=16, **kw)


def test_embed_sample_caches_and_never_reruns_image_tower(cache_dir, sample_raster, tiny_model, monkeypatch):
    plan, store = _embed(sample_raster, tiny_model)
    assert plan.bands.bands == (1, 2, 3)  # NAIP: band 1 tagged Gray, then untagged G, B, NIR
    assert plan.grid.tile_px == 64 and plan.grid.stride_px == 48
    assert 0 < store.n_tiles <= plan.grid.n_tiles
    assert store.embeddings.shape == (store.n_tiles, tiny_model.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(store.embeddings, axis=1), 1.0, atol=1e-4)
    assert store.path.parent.parent == cache_dir

    def boom(*_):
        raise AssertionError("image tower ran on a cached raster")

    monkeypatch.setattr(tiny_model, "encode_images", boom)
    _, again = _embed(sample_raster, tiny_model)
    assert again.path == store.path
    np.testing.assert_array_equal(np.asarray(again.embeddings), np.asarray(store.embeddings))


def test_store_key_follows_file_modification_and_tiling(cache_dir, sample_raster, tiny_model):
    plan_a, _ = _embed(sample_raster, tiny_model)
    plan_b = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                            TilingParams(tile_px=96))
    assert plan_b.key != plan_a.key
    st = os.stat(sample_raster)
    os.utime(sample_raster, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    plan_c = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size, PARAMS)
    assert plan_c.key != plan_a.key


def test_stored_embedding_equals_model_on_the_tile_read_directly(cache_dir, sample_raster, tiny_model):
    _, store = _embed(sample_raster, tiny_model)
    i = store.n_tiles // 2
    c, r, w, h = store.windows[i]
    with rasterio.open(sample_raster) as src:
        arr = src.read([1, 2, 3], window=rasterio.windows.Window(c, r, w, h)).astype(np.float32) / 255.0
    pixels = to_model_input(torch.from_numpy(arr[None]), tiny_model.image_size, tiny_model.mean, tiny_model.std)
    expected = tiny_model.encode_images(pixels).numpy()[0]
    np.testing.assert_allclose(store.embeddings[i], expected, atol=1e-5)


def test_nodata_collar_tiles_are_skipped(cache_dir, tiny_model):
    plan, store = _embed(SHARED_RASTERS / "RGB.byte.tif", tiny_model, TilingParams(tile_px=64))
    assert store.n_tiles < plan.grid.n_tiles  # the black collar round the rotated scene is nodata
    assert float(store.valid.min()) >= 0.01


def test_cancel_writes_nothing(cache_dir, sample_raster, tiny_model):
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 20

    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size, PARAMS)
    with pytest.raises(JobCancelled):
        embed_raster(plan, tiny_model, batch_size=8, cancelled=cancelled)
    stores = cache_dir / "stores"
    assert not stores.exists() or list(stores.iterdir()) == []


def test_all_nodata_raster_has_no_usable_tiles(cache_dir, tmp_path, tiny_model):
    path = tmp_path / "empty.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=80, count=3, dtype="uint8", nodata=0,
                       crs="EPSG:32633", transform=rasterio.transform.from_origin(500000, 6000000, 1, 1)) as dst:
        data = np.zeros((3, 80, 100), np.uint8)
        data[:, 0, 0] = 5  # one valid pixel: past the probe (which refuses none at all), below 1 % of any tile
        dst.write(data)
    with pytest.raises(UserError, match="no usable tiles"):
        _embed(path, tiny_model, TilingParams(tile_px=32))


def test_text_search_hits_are_distinct_and_ranked(cache_dir, sample_raster, tiny_model, tmp_path):
    _, store = _embed(sample_raster, tiny_model)
    ranked, layers = text_search(store, tiny_model, ["lake", "pond"], k=8)
    hits, surface = layers
    assert hits.name == "hits" and surface.name == "similarity"
    assert len(ranked.hits) == 8 == len(hits)
    from backend.query.hit_selection import ranking_scores

    # best first by the ranking score (padded edge tiles discounted); among full tiles that is the raw cosine
    adjusted = ranking_scores(ranked.scores, store.valid)
    assert np.all(np.diff(adjusted[ranked.hits]) <= 0)
    assert adjusted[ranked.hits[0]] == adjusted.max()
    full = ranked.hits[store.valid[ranked.hits] >= 1.0]
    assert len(full) >= 2 and np.all(np.diff(ranked.scores[full]) <= 0)
    assert (store.valid < 1.0).any()  # the sample's right and bottom edge tiles are padded: the case is here
    w = store.windows[ranked.hits]
    for a in range(len(w)):
        for b in range(a + 1, len(w)):
            overlap_c = min(w[a, 0] + w[a, 2], w[b, 0] + w[b, 2]) - max(w[a, 0], w[b, 0])
            overlap_r = min(w[a, 1] + w[a, 3], w[b, 1] + w[b, 3]) - max(w[a, 1], w[b, 1])
            assert overlap_c <= 0 or overlap_r <= 0, "two hits cover the same place"
    assert len(surface) == store.n_tiles
    # several phrases: the query is the normalised mean of their template embeddings
    t = tiny_model.encode_texts(["a satellite photo of lake.", "a satellite photo of pond."]).numpy().mean(0)
    t /= np.linalg.norm(t)
    np.testing.assert_allclose(ranked.scores, np.asarray(store.embeddings) @ t, atol=1e-5)

    out = write_gpkg(tmp_path / "hits.gpkg", layers, store.crs_wkt)
    assert set(fiona.listlayers(out)) == {"hits", "similarity"}
    with fiona.open(out, layer="hits") as src:
        assert src.crs.to_epsg() == 26914
        feats = list(src)
        assert [f["properties"]["rank"] for f in feats] == list(range(1, 9))
        assert set(src.schema["properties"]) >= {"rank", "score", "tile_id", "query"}


def test_zero_shot_probabilities(cache_dir, sample_raster, tiny_model):
    _, store = _embed(sample_raster, tiny_model)
    result, [layer] = zero_shot(store, tiny_model, "farmland, lake, road")
    assert result.probabilities.shape == (store.n_tiles, 3)
    np.testing.assert_allclose(result.probabilities.sum(1), 1.0, atol=1e-5)
    row = layer.rows[0]
    assert row["class"] in {"farmland", "lake", "road"}
    assert {"p_farmland", "p_lake", "p_road"} <= set(row)
    assert row["prob"] == pytest.approx(max(row["p_farmland"], row["p_lake"], row["p_road"]))
    assert sum(result.class_shares().values()) == pytest.approx(1.0)


def test_counting(cache_dir, sample_raster, tiny_model):
    _, store = _embed(sample_raster, tiny_model)
    result, [layer] = count_objects(store, tiny_model, "storage tank")
    assert result.prompts[0] == "one storage tank"
    assert result.prompts[2] == "three storage tanks"
    assert np.all((result.expected >= 1) & (result.expected <= 10))
    assert set(np.unique(result.counts)) <= set(range(1, 11))
    # cores tile the raster, so the share-weighted total is between 1 and 10 per tile-area of raster
    assert result.core_share.sum() * 1 <= result.total_expected <= result.core_share.sum() * 10
    assert {"count", "expected_count", "confidence"} <= set(layer.fields)


def test_similar_from_point_excludes_the_example(cache_dir, sample_raster, tiny_model):
    _, store = _embed(sample_raster, tiny_model)
    ring = store.core_footprints[10]
    x, y = ring[:, 0].mean(), ring[:, 1].mean()
    example, ranked, layers = similar_tiles(store, k=5, point=(x, y))
    assert example == 10
    assert 10 not in ranked.hits and len(ranked.hits) == 5
    assert ranked.scores[10] == pytest.approx(1.0, abs=1e-4)  # a tile is most like itself
    assert layers[0].name == "similar"
    with pytest.raises(UserError, match="outside the raster"):
        similar_tiles(store, k=5, point=(0.0, 0.0))
