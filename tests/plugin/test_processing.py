"""Every algorithm through processing.run("remoteclip:...") against a real backend on the NAIP sample."""

from __future__ import annotations

import json

import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsVectorLayer

from .conftest import SAMPLE, TILE, algorithm_params


def _n_tiles(width=934, height=723, tile=TILE):
    return -(-width // tile) * -(-height // tile)


def test_algorithms_are_registered(provider):
    names = {alg.name() for alg in provider.algorithms()}
    assert names == {"embedraster", "textsearch", "zeroshot", "countobjects", "similartiles", "change", "fewshot"}


def test_the_model_picker_lists_get_models_once_a_backend_is_up(provider, backend, tmp_path):
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    registry = QgsApplication.processingRegistry()
    stopped = BackendManager(PluginSettings(interpreter=str(tmp_path / "no-python")))
    previous = set_manager(stopped)
    try:  # no backend up: no list (and nothing started), any name can still be typed
        alg = registry.createAlgorithmById("remoteclip:textsearch")
        assert "widget_wrapper" not in alg.parameterDefinition("MODEL").metadata() and stopped.pid is None
    finally:
        set_manager(previous)
    backend.client()
    alg = registry.createAlgorithmById("remoteclip:textsearch")
    assert "tiny-local" in alg.parameterDefinition("MODEL").metadata()["widget_wrapper"]["value_hints"]
    assert backend.models() == backend.models() and backend._models is not None  # cached per connection


def test_embed_then_every_query(provider, processing, backend, sample_layer, tiny_weights):
    c = sample_layer.extent().center()
    res = processing.run("remoteclip:embedraster", algorithm_params(sample_layer, tiny_weights))
    assert res["N_TILES"] == _n_tiles() and res["STORE"]

    res = processing.run("remoteclip:textsearch", algorithm_params(
        str(SAMPLE), tiny_weights, QUERY="lake; pond", K=5, OUTPUT="memory:hits", SIMILARITY="memory:sim"))
    hits, sim = res["OUTPUT"], res["SIMILARITY"]
    assert isinstance(hits, QgsVectorLayer) and hits.featureCount() == 5
    assert [f["rank"] for f in hits.getFeatures()] == [1, 2, 3, 4, 5]
    assert {"rank", "score", "tile_id"} <= set(hits.fields().names()) and "fid" not in hits.fields().names()
    assert sim.featureCount() == _n_tiles() and "score" in sim.fields().names()
    assert hits.crs().authid() == "EPSG:26914"
    assert res["BEST_SCORE"] == pytest.approx(max(f["score"] for f in hits.getFeatures()), abs=1e-5)

    res = processing.run("remoteclip:zeroshot", algorithm_params(
        str(SAMPLE), tiny_weights, CLASSES="farmland, lake, road", OUTPUT="memory:"))
    classes = res["OUTPUT"]
    assert classes.featureCount() == _n_tiles()
    assert {"class", "prob", "p_farmland", "p_lake", "p_road"} <= set(classes.fields().names())
    assert set(json.loads(res["CLASS_SHARES"])) <= {"farmland", "lake", "road"}

    res = processing.run("remoteclip:countobjects", algorithm_params(
        str(SAMPLE), tiny_weights, OBJECT="storage tank", OUTPUT="memory:"))
    counts = res["OUTPUT"]
    assert counts.featureCount() == _n_tiles()
    assert {"count", "expected_count", "confidence"} <= set(counts.fields().names())
    assert res["TOTAL_EXPECTED"] > 0

    res = processing.run("remoteclip:similartiles", algorithm_params(
        str(SAMPLE), tiny_weights, POINT=f"{c.x()},{c.y()} [EPSG:26914]", K=3, OUTPUT="memory:",
        SIMILARITY="memory:"))
    assert res["OUTPUT"].featureCount() == 3 and res["EXAMPLE_TILE"] is not None
    assert res["SIMILARITY"].featureCount() == _n_tiles()


def test_ground_tile_size_in_metres(provider, processing, backend, sample_layer, tiny_weights):
    """Metres on the ground become a pixel tile size in the backend (UTM, 1 m pixels here): same grid as 128 px.
    On EPSG:3857, where layer units are not ground metres, see test_dock's oils.tif test."""
    size = TILE * sample_layer.rasterUnitsPerPixelX()
    res = processing.run("remoteclip:embedraster", algorithm_params(
        str(SAMPLE), tiny_weights, TILE_PIXELS=0, TILE_SIZE=size))
    assert res["N_TILES"] == _n_tiles()


def test_backend_errors_are_one_line(provider, processing, backend, sample_layer, tiny_weights):
    with pytest.raises(QgsProcessingException) as info:
        processing.run("remoteclip:zeroshot", algorithm_params(
            str(SAMPLE), tiny_weights, CLASSES="lake, Lake", OUTPUT="memory:"))
    assert "listed twice" in str(info.value) and "\n" not in str(info.value)
    assert SAMPLE.exists()


def test_cancel_through_feedback_cancels_the_embed_job(provider, processing, backend, tiny_weights, tmp_path):
    import numpy as np
    import rasterio
    from qgis.core import QgsProcessingFeedback

    big = tmp_path / "big.tif"
    rng = np.random.default_rng(2)
    with rasterio.open(big, "w", driver="GTiff", width=2400, height=2400, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000), tiled=True) as dst:
        dst.write(rng.integers(1, 255, (3, 2400, 2400), dtype=np.uint8))
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda p: feedback.cancel() if p > 0 else None)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("remoteclip:embedraster", algorithm_params(str(big), tiny_weights, TILE_PIXELS=32),
                       feedback=feedback)
    import time

    client = backend.client()
    job = max((j for j in client.jobs() if j["kind"] == "embed"), key=lambda j: j["created"])
    deadline = time.time() + 30
    while job["state"] in ("queued", "running"):
        assert time.time() < deadline
        time.sleep(0.1)
        job = client.job(job["id"])
    assert job["state"] == "cancelled" and job["done"] < job["total"]


def test_remote_backend_through_processing(provider, processing, backend, tiny_weights):
    """With a remote backend (URL + token, nothing started) the GeoJSON answer fills the sinks."""
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    connection = backend.client().connection
    remote = BackendManager(PluginSettings(mode="remote", url=connection.url, token=connection.token))
    previous = set_manager(remote)
    try:
        res = processing.run("remoteclip:zeroshot", algorithm_params(
            str(SAMPLE), tiny_weights, CLASSES="water, forest", OUTPUT="memory:"))
    finally:
        set_manager(previous)
    layer = res["OUTPUT"]
    assert layer.featureCount() == _n_tiles() and {"class", "prob", "p_water", "p_forest"} <= set(
        layer.fields().names())
    assert layer.crs().authid() == "EPSG:26914" and remote.pid is None


def test_processing_zeroshot_takes_transductive(provider, processing, backend, sample_layer, tiny_weights):
    algorithm = QgsApplication.processingRegistry().algorithmById("remoteclip:zeroshot")
    assert algorithm.parameterDefinition("TRANSDUCTIVE").defaultValue() is False
    res = processing.run("remoteclip:zeroshot", algorithm_params(
        sample_layer, tiny_weights, CLASSES="farmland, lake, road", TRANSDUCTIVE=True, OUTPUT="memory:"))
    assert res["OUTPUT"].featureCount() > 3


def test_processing_count_with_a_model_that_cannot_count_fails_with_the_backends_line(provider, processing, backend,
                                                                                      sample_layer, tiny_weights):
    with pytest.raises(QgsProcessingException) as info:
        processing.run("remoteclip:countobjects", algorithm_params(
            sample_layer, tiny_weights, MODEL="tiny-nocount", OBJECT="storage tank", OUTPUT="memory:"))
    assert "tiny-nocount cannot count: its counts are no better than a constant guess" in str(info.value)
    assert "\n" not in str(info.value)
