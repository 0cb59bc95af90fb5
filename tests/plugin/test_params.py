"""One parameters object, one builder, one band parser (params.py), and what a task's outcome shows."""

from __future__ import annotations

import pytest
from qgis.core import Qgis

from remoteclip_qgis.jobs import Cancelled, Done, Failed, RemoteClipTask
from remoteclip_qgis.params import (
    EMBED_FIELDS,
    ClassifyParams,
    JobOptions,
    SearchParams,
    build_params,
    parse_bands,
    request_fields,
)
from remoteclip_qgis.settings import PluginSettings

from .conftest import SAMPLE, algorithm_params


def test_the_builder_fills_unset_choices_from_the_settings():
    settings = PluginSettings(default_model="m", weights="/w.pt", tile_size=64, precision="int8")
    params = build_params("search", "/r.tif", JobOptions(), settings, queries=["lake"], k=3)
    assert isinstance(params, SearchParams)
    assert params.request() == {"raster": "/r.tif", "model": "m", "weights": "/w.pt", "tile_size": 64,
                                "overlap": 0.25, "batch_size": 32, "precision": "int8", "queries": ["lake"], "k": 3,
                                "include_surface": False}
    assert set(params.embed_request()) <= EMBED_FIELDS and "queries" not in params.embed_request()
    chosen = build_params("classify", "/r.tif", JobOptions(model="other", ground_size_m=120.0, bands=[3, 2, 1],
                                                           precision="exact", overlap=0.25), settings,
                          classes=["a", "b"])
    assert isinstance(chosen, ClassifyParams) and chosen.classes == ["a", "b"]
    # another model than the settings' does not take the settings' weights; ground size replaces pixels
    assert (chosen.model, chosen.weights, chosen.tile_size, chosen.ground_size_m) == ("other", None, None, 120.0)
    assert (chosen.bands, chosen.precision, chosen.overlap) == ([3, 2, 1], "exact", 0.25)
    assert build_params("embed", "/r.tif", JobOptions(), PluginSettings()).request() == {
        "raster": "/r.tif", "overlap": 0.25, "batch_size": 32, "precision": "exact"}  # the plugin's default overlap
    assert build_params("embed", "/r.tif", JobOptions(overlap=0.0), PluginSettings()).overlap == 0.0  # a choice
    with pytest.raises(ValueError, match="Overlap"):
        build_params("embed", "/r.tif", JobOptions(overlap=0.95), PluginSettings())
    with pytest.raises(ValueError, match="Precision"):
        build_params("embed", "/r.tif", JobOptions(precision="fp16"), settings)
    assert {"min_valid", "precision"} <= request_fields("/estimate") and "queries" in request_fields("/search")


def test_the_settings_tiling_is_the_tiling_of_every_unset_choice():
    """The dock's Tiling panel lives in the settings: ground size (replacing pixels), overlap, bands, precision."""
    settings = PluginSettings(tile_size=64, ground_size_m=150.0, overlap=0.5, bands="3,2,1", precision="int8")
    unset = build_params("search", "/r.tif", JobOptions(), settings, queries=["lake"])
    assert (unset.tile_size, unset.ground_size_m, unset.overlap, unset.bands, unset.precision) == (
        None, 150.0, 0.5, [3, 2, 1], "int8")
    pixels = build_params("search", "/r.tif", JobOptions(tile_size=32), settings, queries=["lake"])
    assert (pixels.tile_size, pixels.ground_size_m) == (32, None)  # a size chosen replaces the settings' size
    settings.bands = "1,2"
    with pytest.raises(ValueError, match="one band or three"):  # a bad panel is one message from every entry point
        build_params("search", "/r.tif", JobOptions(), settings, queries=["lake"])


@pytest.mark.parametrize(("text", "bands"), [("", None), ("3,2,1", [3, 2, 1]), ("3 2 1", [3, 2, 1]), ("4", [4]),
                                             ("1; 2; 3", [1, 2, 3])])
def test_one_band_parser(text, bands):
    assert parse_bands(text) == bands


@pytest.mark.parametrize(("text", "message"), [("1,2", "one band or three"), ("0", "one band or three"),
                                               ("red", "band numbers")])
def test_bad_bands_are_one_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_bands(text)
    with pytest.raises(ValueError, match="one band or three"):
        build_params("embed", "/r.tif", JobOptions(bands=[1, 2]), PluginSettings())


def _finish_with(outcome, iface) -> RemoteClipTask:
    task = RemoteClipTask(SearchParams(raster=str(SAMPLE), queries=["x"], output="/unused.gpkg"), iface=iface)
    task.outcome = outcome
    task.finished(isinstance(outcome, Done))
    return task


def test_cancelled_is_said_as_cancelled_and_failed_as_its_reason(qgis_iface):
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    task = _finish_with(Cancelled(), qgis_iface)
    assert task.outcome == Cancelled() and not bar.get_messages(Qgis.Critical)
    assert bar.get_messages(Qgis.Info) == ["RemoteCLIP:RemoteCLIP: search 'x' on " + SAMPLE.stem + ": cancelled"]
    bar.clear_messages()
    task = _finish_with(Failed("raster not found: /x.tif (HTTP 404)"), qgis_iface)
    assert task.outcome == Failed("raster not found: /x.tif (HTTP 404)")
    assert bar.get_messages(Qgis.Critical) == ["RemoteCLIP:raster not found: /x.tif (HTTP 404)"]
    bar.clear_messages()


def test_processing_takes_the_fast_precision(processing, backend, sample_layer, tiny_weights):
    from qgis.core import QgsApplication

    from remoteclip_qgis.processing_provider import RemoteClipProvider

    registry = QgsApplication.processingRegistry()
    provider = RemoteClipProvider()
    assert registry.addProvider(provider)
    try:
        res = processing.run("remoteclip:textsearch", algorithm_params(
            sample_layer, tiny_weights, QUERY="lake", K=3, OUTPUT="memory:", PRECISION="int8"))
        assert res["OUTPUT"].featureCount() == 3
        stores = {j["result"]["store"] for j in backend.client().jobs() if j["kind"] == "embed" and j["result"]}
        res = processing.run("remoteclip:embedraster", algorithm_params(sample_layer, tiny_weights, PRECISION="int8"))
        assert res["STORE"] in stores  # the int8 store the search made, found again
        exact = processing.run("remoteclip:embedraster", algorithm_params(sample_layer, tiny_weights))
        assert exact["STORE"] != res["STORE"]  # exact embeddings are a store of their own
    finally:
        registry.removeProvider(provider)
