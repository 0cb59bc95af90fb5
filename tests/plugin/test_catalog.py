"""Catalogues from the plugin, against the real backend process (tiny random model): the dock's "Add the active
layer to the catalogue…" builds one of two real GeoTIFFs in different CRSs, the toolbar's search box searches it
("Search in"), one layer of hits in EPSG:4326 names both rasters and lies inside them; a raster changed on disk
is offered for embedding again and searched; the choice persists; bad input is one line."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
)

from remoteclip_qgis.catalog import CatalogAddTask, CatalogSearchTask, Stale
from remoteclip_qgis.jobs import Done, Failed

from .conftest import wait_for

SIZE = 256  # two 128 px tiles a side: 4 tiles a raster at the backend fixture's tile size


def write_geotiff(path, crs: str | None, x0: float, y0: float, pixel: float, seed: int):
    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 3, "dtype": "uint8",
               "transform": rasterio.Affine(pixel, 0, x0, 0, -pixel, y0)}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rng.integers(0, 255, (3, SIZE, SIZE), dtype=np.uint8))
    return path.resolve()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalogue-scenes")
    return [write_geotiff(folder / "utm.tif", "EPSG:32633", 400000, 6000000, 1.0, 1),
            write_geotiff(folder / "mercator.tif", "EPSG:3857", 1113194, 6800000, 2.0, 2)]


@pytest.fixture
def plugin(qgis_iface, processing, backend):
    import remoteclip_qgis
    from remoteclip_qgis.backend_process import set_manager

    saved = backend.settings.search_in
    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    set_manager(backend)  # the plugin's shared manager is the test backend (tiny model)
    yield plugin
    set_manager(None)  # unload must not stop the module's backend
    plugin.unload()
    set_manager(backend)
    backend.settings.search_in = saved
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def layer_of(path) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), path.stem)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def finish(plugin, task):
    assert task is not None
    wait_for(lambda: task.outcome is not None and task not in plugin.tasks, 240, "task did not finish")
    return task


def add_scenes(plugin, qgis_iface, scenes, name: str) -> list[QgsRasterLayer]:
    """Both scenes into catalogue ``name`` through the dock's add button (the first asks for the name)."""
    dock = plugin.dock
    dock.set_search_in("")
    dock.ask_catalog_name = lambda parent: name
    layers = [layer_of(p) for p in scenes]
    for i, layer in enumerate(layers):
        qgis_iface.setActiveLayer(layer)
        task = finish(plugin, dock.add_active_layer_to_catalog())
        assert isinstance(task, CatalogAddTask) and isinstance(task.outcome, Done), task.outcome
        assert task.outcome.answer["result"]["rasters"] == i + 1 and task.outcome.answer["result"]["embedded"] == i + 1
        assert task.progress() == 100.0
        assert backend_settings(plugin).search_in == name  # the new catalogue is what the search box searches now
    return layers


def backend_settings(plugin):
    from remoteclip_qgis.backend_process import get_manager

    return get_manager().settings


def test_a_catalogue_made_by_the_add_action_is_searched_from_the_toolbar(plugin, qgis_iface, scenes):
    layers = add_scenes(plugin, qgis_iface, scenes, "city")
    wait_for(lambda: plugin.dock.catalog_infos.get("city", {}).get("rasters") == 2, 30, "GET /catalogs not shown")
    combo = plugin.dock.search_in_combo
    assert combo.currentData() == "city" and "city" in combo.currentText()

    plugin.search_edit.setText("lake")
    plugin.search_edit.returnPressed.emit()
    task = next(iter(plugin.tasks))
    assert isinstance(task, CatalogSearchTask)
    finish(plugin, task)
    assert isinstance(task.outcome, Done), task.outcome
    assert len(task.outcome.layers) == 1
    hits = task.outcome.layers[0]
    assert hits.name() == "'lake' in catalogue city"
    assert hits.crs().authid() == "EPSG:4326"
    assert QgsProject.instance().mapLayer(hits.id()) is not None
    features = list(hits.getFeatures())
    assert len(features) == 8  # k = 10, and the two rasters have 4 tiles each, none overlapping
    assert {f["raster"] for f in features} == {str(p) for p in scenes}
    assert sorted(f["rank"] for f in features) == list(range(1, 9))
    lonlat = QgsCoordinateReferenceSystem("EPSG:4326")
    by_path = {str(p): layer for p, layer in zip(scenes, layers)}
    for feature in features:
        layer = by_path[feature["raster"]]
        extent = QgsCoordinateTransform(layer.crs(), lonlat, QgsProject.instance()).transformBoundingBox(
            layer.extent())
        extent.grow(1e-7)
        assert extent.contains(feature.geometry().boundingBox()), (feature["raster"], feature.geometry().asWkt())
    # the raster's name in the label and the map tip; the hits are labelled with their rank too
    assert "raster" in hits.labeling().settings().fieldName and "rank" in hits.labeling().settings().fieldName
    assert "raster" in hits.mapTipTemplate()
    item = plugin.dock.results_tree.topLevelItem(0)
    assert item.text(0) == "'lake' in catalogue city"
    # the locator searches the catalogue too
    found = []
    from qgis.core import QgsFeedback, QgsLocatorContext

    filt = plugin.locator_filter.clone()
    filt.resultFetched.connect(found.append)
    filt.fetchResults("storage tanks", QgsLocatorContext(), QgsFeedback())
    assert found and "catalogue city" in found[0].displayString


def test_a_changed_raster_is_offered_for_embedding_again_then_searched(plugin, qgis_iface, scenes, tmp_path,
                                                                       monkeypatch):
    import shutil

    copies = []
    for p in scenes:  # copies of their own: this test changes one
        copies.append((tmp_path / p.name).resolve())
        shutil.copy(p, copies[-1])
    add_scenes(plugin, qgis_iface, copies, "dates")
    with rasterio.open(copies[0], "r+") as dst:  # new content, same file
        dst.write(np.full((3, SIZE, SIZE), 9, dtype=np.uint8))
    os.utime(copies[0], ns=(os.stat(copies[0]).st_atime_ns, os.stat(copies[0]).st_mtime_ns + 10**9))

    asked = []
    monkeypatch.setattr(CatalogSearchTask, "ask", staticmethod(lambda raster, name, iface: asked.append(
        (raster, name)) or len(asked) == 1))  # yes the first time, no the second
    first = finish(plugin, plugin.search("lake"))
    assert isinstance(first.outcome, Stale) and first.outcome.raster == str(copies[0])
    assert asked == [(str(copies[0]), "dates")]
    wait_for(lambda: isinstance(first.follow_up, CatalogSearchTask), 240, "no search after embedding again")
    again = finish(plugin, first.follow_up)
    assert isinstance(again.outcome, Done), again.outcome
    assert {f["raster"] for f in again.outcome.layers[0].getFeatures()} == {str(p) for p in copies}

    with rasterio.open(copies[1], "r+") as dst:
        dst.write(np.full((3, SIZE, SIZE), 3, dtype=np.uint8))
    os.utime(copies[1], ns=(os.stat(copies[1]).st_atime_ns, os.stat(copies[1]).st_mtime_ns + 10**9))
    qgis_iface.messageBar().clear_messages()
    refused = finish(plugin, plugin.search("lake"))
    assert isinstance(refused.outcome, Stale) and refused.follow_up is None and not plugin.tasks
    assert any("cannot be searched until" in m and str(copies[1]) in m
               for m in qgis_iface.messageBar().get_messages(Qgis.Critical))


def test_the_search_in_choice_persists(plugin, qgis_iface):
    from remoteclip_qgis.backend_process import get_manager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    dock = plugin.dock
    dock.ask_catalog_name = lambda parent: "kept"
    combo = dock.search_in_combo
    combo.activated.emit(combo.findData(dock.NEW_CATALOG))  # "New catalogue…": asks the name, then searches in it
    assert combo.currentData() == "kept"
    assert PluginSettings.load().search_in == "kept" and QgsSettings().value("remoteclip/search_in") == "kept"
    # a QGIS started again: settings read anew, a new panel; its choice is still the catalogue
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.dock import RemoteClipDock

    before = get_manager()
    set_manager(BackendManager(PluginSettings.load()))
    again = RemoteClipDock(plugin)
    try:
        assert again.search_in_combo.currentData() == "kept" and plugin.search_target() == "kept"
        again.search_in_combo.activated.emit(again.search_in_combo.findData(""))
        assert PluginSettings.load().search_in == "" and plugin.search_target() == ""
    finally:
        again.deleteLater()
        set_manager(before)


def test_bad_input_is_one_line(plugin, qgis_iface, tmp_path):
    bar = qgis_iface.messageBar()
    plugin.dock.set_search_in("nowhere")
    bar.clear_messages()
    task = finish(plugin, plugin.search("lake"))
    assert isinstance(task.outcome, Failed) and "no catalogue 'nowhere'" in task.outcome.reason
    assert "\n" not in task.outcome.reason
    assert any("no catalogue 'nowhere'" in m for m in bar.get_messages(Qgis.Critical))

    nocrs = layer_of(write_geotiff(tmp_path / "nocrs.tif", None, 0, 0, 1.0, 3))
    qgis_iface.setActiveLayer(nocrs)
    bar.clear_messages()
    task = finish(plugin, plugin.dock.add_active_layer_to_catalog())  # to catalogue "nowhere": it would be made
    assert isinstance(task.outcome, Failed) and "has no CRS" in task.outcome.reason
    assert any("has no CRS" in m for m in bar.get_messages(Qgis.Critical))

    plugin.dock.set_search_in("")
    plugin.dock.ask_catalog_name = lambda parent: "bad name!"
    bar.clear_messages()
    assert plugin.dock.add_active_layer_to_catalog() is None and not plugin.tasks
    assert any("catalogue's name" in m for m in bar.get_messages(Qgis.Critical))


def test_adding_a_layer_can_be_cancelled(plugin, qgis_iface, tmp_path):
    """The add task follows the backend's job (progress over its tiles); a cancel stops that job and nothing is
    made: the catalogue is not listed."""
    from remoteclip_qgis.catalog import fetch_catalogs
    from remoteclip_qgis.jobs import Cancelled

    rng = np.random.default_rng(4)
    path = tmp_path / "large.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4096, height=4096, count=3, dtype="uint8", crs="EPSG:32633",
                       transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000), tiled=True) as dst:
        dst.write(rng.integers(0, 255, (3, 4096, 4096), dtype=np.uint8))
    qgis_iface.setActiveLayer(layer_of(path))
    plugin.dock.set_search_in("large")
    task = plugin.dock.add_active_layer_to_catalog()
    wait_for(lambda: task.job_id is not None or task.outcome is not None, 60, "no job started")
    assert task.outcome is None, task.outcome  # 1024 tiles: still running
    task.cancel()
    finish(plugin, task)
    assert isinstance(task.outcome, Cancelled), task.outcome
    from remoteclip_qgis.backend_process import get_manager

    client = get_manager().client()
    wait_for(lambda: client.job(task.job_id)["state"] != "running", 60, "the backend's job did not stop")
    job = client.job(task.job_id)
    assert job["state"] == "cancelled" and job["kind"] == "catalog" and job["done"] < job["total"] == 1024
    assert "large" not in {c["name"] for c in fetch_catalogs(get_manager())}


def test_a_remote_backend_is_sent_the_layer_and_answers_geojson(plugin, qgis_iface, backend, scenes):
    """With a backend elsewhere (URL and token) the layer's file is uploaded (upload:<sha256>) and added as that;
    the hits come back as GeoJSON and are written here, still one layer in EPSG:4326."""
    import hashlib
    from dataclasses import replace

    from remoteclip_qgis.backend_process import BackendManager, set_manager

    connection = backend.client().connection
    remote = BackendManager(replace(backend.settings, mode="remote", url=connection.url, token=connection.token,
                                    search_in=""))
    set_manager(remote)
    try:
        plugin.dock.ask_catalog_name = lambda parent: "sent"
        qgis_iface.setActiveLayer(layer_of(scenes[1]))
        task = finish(plugin, plugin.dock.add_active_layer_to_catalog())
        assert isinstance(task.outcome, Done), task.outcome
        search = finish(plugin, plugin.search("lake"))
        assert isinstance(search.outcome, Done), search.outcome
        hits = search.outcome.layers[0]
        assert hits.crs().authid() == "EPSG:4326" and hits.featureCount() == 4
        digest = hashlib.sha256(scenes[1].read_bytes()).hexdigest()
        rasters = {f["raster"] for f in hits.getFeatures()}
        assert len(rasters) == 1 and digest in rasters.pop()  # the upload, not this machine's path
    finally:
        set_manager(backend)
