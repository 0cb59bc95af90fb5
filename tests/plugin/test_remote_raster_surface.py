"""A remote backend's large store answers its similarity as a GeoTIFF: the plugin writes it beside the local
GeoPackage and shows it as the query's heatmap (a real backend told that every store is large)."""

from __future__ import annotations

import sys

import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsSingleBandPseudoColorRenderer

from remoteclip_qgis.jobs import Done
from remoteclip_qgis.params import SearchParams

from .conftest import SAMPLE, TILE, run_task


@pytest.fixture
def large_store_backend(tmp_path, tiny_weights):
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.settings import PluginSettings

    settings = PluginSettings(interpreter=sys.executable, default_model="tiny-local", weights=str(tiny_weights),
                              output_folder=str(tmp_path / "results"), tile_size=TILE, overlap=0.0, confirm_above_s=0)
    manager = BackendManager(settings, state_dir=tmp_path / "state",
                             extra_env={"REMOTECLIP_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1",
                                        "REMOTECLIP_SURFACE_RASTER_MIN_TILES": "1"})
    yield manager
    manager.stop()
    QgsProject.instance().removeAllMapLayers()


def test_remote_raster_surface_becomes_the_heatmap_layer(large_store_backend, tmp_path):
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.settings import PluginSettings

    s = large_store_backend.settings
    connection = large_store_backend.client().connection
    remote = BackendManager(PluginSettings(mode="remote", url=connection.url, token=connection.token,
                                           output_folder=str(tmp_path / "out")))
    params = SearchParams(raster=str(SAMPLE), model=s.default_model, weights=s.weights, tile_size=TILE,
                          queries=["pond"], k=3)
    task = run_task(RemoteClipTask(params, manager=remote))
    assert isinstance(task.outcome, Done), task.outcome
    answer = task.outcome.answer
    assert "similarity" not in answer["layers"] and set(answer["rasters"]) == {"similarity"}
    tif = answer["raster"]
    assert tif.endswith(".tif") and tif.startswith(str(tmp_path / "out"))
    rasters = [layer for layer in task.outcome.layers if isinstance(layer, QgsRasterLayer)]
    assert len(rasters) == 1 and rasters[0].source() == tif and rasters[0].isValid()
    assert isinstance(rasters[0].renderer(), QgsSingleBandPseudoColorRenderer)
    assert rasters[0].crs().authid() == "EPSG:26914"
