"""The dock panel with pytest-qgis's interface and the real backend: created and removed with the plugin,
presets, classify / count from the dock, recent results with zoom-to, status refresh, bad input."""

from __future__ import annotations

import pytest
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt

from remoteclip_qgis.jobs import Cancelled, Done

from .conftest import SAMPLE, TILE, wait_for


def _wait_for_tasks(plugin, timeout=180.0):
    wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, timeout)


@pytest.fixture
def plugin(qgis_iface, processing):
    """The plugin, loaded; unload leaves any module backend running; the project is emptied after."""
    import remoteclip_qgis
    from remoteclip_qgis.backend_process import get_manager, set_manager

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    qgis_iface.messageBar().clear_messages()
    yield plugin
    manager = get_manager()
    set_manager(None)  # unload must not stop the module's backend
    plugin.unload()
    set_manager(manager)
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


@pytest.fixture
def with_backend(backend):
    """The module's backend as the plugin's; the dock writes its Tiling panel into the settings: put them back."""
    from dataclasses import fields, replace

    from qgis.core import QgsSettings

    from remoteclip_qgis.backend_process import set_manager

    saved = replace(backend.settings)
    previous = set_manager(backend)
    yield backend
    set_manager(previous)
    for f in fields(saved):
        setattr(backend.settings, f.name, getattr(saved, f.name))
    QgsSettings().remove("remoteclip")


def _add_sample(qgis_iface):
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    assert raster.isValid()
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    return raster


def test_dock_comes_and_goes_with_the_plugin(qgis_iface, processing):
    import remoteclip_qgis
    from remoteclip_qgis.dock import RemoteClipDock

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    dock = plugin.dock
    assert isinstance(dock, RemoteClipDock) and dock.objectName() == "RemoteClipDock"
    assert plugin.dock_action is not None and plugin.dock_action.isCheckable()
    assert plugin.dock_action in plugin.toolbar.actions()
    assert dock.similar_button.defaultAction() is plugin.similar_action  # the click-for-similar map tool
    # the default, and the backend's models when one is up already (never read from the backend's files)
    from remoteclip_qgis.backend_process import get_manager

    assert dock.model_combo.count() >= 1  # the picker shows the settings' model (all entry points use it)
    assert dock.model_combo.currentData() == get_manager().settings.default_model
    assert "stopped" in dock.status_label.text() or "running" in dock.status_label.text()
    plugin.unload()
    assert plugin.dock is None and plugin.dock_action is None


def test_presets_fill_the_class_list(plugin):
    from remoteclip_qgis.dock import PRESETS

    dock = plugin.dock
    index = dock.preset_combo.findData("RSSCN7")
    dock.preset_combo.activated.emit(index)
    assert dock.classes() == ["grassland", "farmland", "industrial area", "river or lake", "forest",
                              "residential area", "parking lot"]
    assert dock.preset_combo.currentIndex() == 0  # back to "Presets…" so the same one can be chosen again
    dock.set_preset("DIOR")
    assert len(dock.classes()) == 20 and "expressway toll station" in dock.classes()
    dock.set_preset("UC Merced")
    assert len(dock.classes()) == 21 and dock.classes() == PRESETS["UC Merced"]
    dock.classes_edit.setPlainText("forest\n\n  lake  \nForest\nroad, field")
    assert dock.classes() == ["forest", "lake", "road", "field"]


def test_the_precision_choice_offers_every_engine_and_is_the_requests(plugin, qgis_iface, with_backend):
    """The dock offers each precision the backend takes (exact, int8, OpenVINO, OpenVINO bf16); the choice is
    saved with the tiling and sent by every entry point."""
    from remoteclip_qgis.params import PRECISIONS
    from remoteclip_qgis.settings import PluginSettings

    dock = plugin.dock
    offered = [dock.precision_combo.itemData(i) for i in range(dock.precision_combo.count())]
    assert offered == list(PRECISIONS)
    _add_sample(qgis_iface)
    dock.set_precision("openvino")
    assert with_backend.settings.precision == "openvino" and PluginSettings.load().precision == "openvino"
    assert plugin._job("search", queries=["lake"], k=10)[0].embed_request()["precision"] == "openvino"
    assert dock._job("classify", classes=["a", "b"])[0].embed_request()["precision"] == "openvino"
    dock.set_precision("exact")  # the module's backend is shared: leave it as found
    assert with_backend.settings.precision == "exact"


def test_bad_input_says_so_and_starts_no_task(plugin, qgis_iface):
    dock = plugin.dock
    bar = qgis_iface.messageBar()

    def check(action, words):
        bar.clear_messages()
        assert action() is None
        assert not plugin.tasks and not dock.tasks
        messages = bar.get_messages(Qgis.Critical)
        assert len(messages) == 1 and words in messages[0], messages

    dock.set_preset("RSSCN7")
    dock.object_edit.setText("storage tank")
    check(dock.classify, "raster layer")  # no layer at all
    check(dock.count, "raster layer")
    vector = QgsVectorLayer("Polygon?crs=EPSG:26914", "boxes", "memory")
    QgsProject.instance().addMapLayer(vector)
    qgis_iface.setActiveLayer(vector)
    check(dock.classify, "not a raster layer")
    check(dock.count, "not a raster layer")
    _add_sample(qgis_iface)
    dock.classes_edit.setPlainText("  \n")
    check(dock.classify, "classes")
    dock.classes_edit.setPlainText("forest")
    check(dock.classify, "at least two")
    dock.object_edit.setText("   ")
    check(dock.count, "object to count")
    dock.object_edit.setText("car")
    dock.bands_edit.setText("1,2")
    check(dock.count, "Bands")
    dock.classify_button.click()  # the buttons go the same way: a message, no task, no traceback
    assert not plugin.tasks
    dock.bands_edit.setText("")  # the Tiling panel is saved into the current backend's settings: leave it clean


def test_classify_and_count_from_the_dock(plugin, qgis_iface, qgis_canvas, with_backend):
    dock = plugin.dock
    raster = _add_sample(qgis_iface)
    dock.tile_spin.setValue(TILE)
    dock.set_preset("RSSCN7")
    dock.classify_button.click()
    assert len(plugin.tasks) == 1 and len(dock.tasks) == 1
    tasks = list(dock.tasks)
    dock.object_edit.setText("storage tank")
    dock.set_precision("int8")
    assert not dock.count_button.isEnabled() and not dock.classify_button.isEnabled()  # while a job runs
    dock.count_button.click()
    assert len(plugin.tasks) == 1
    _wait_for_tasks(plugin)
    assert dock.count_button.isEnabled() and dock.classify_button.isEnabled()  # on again when it is done
    dock.count_button.click()
    assert len(plugin.tasks) == 1
    tasks += dock.tasks
    params = [t.params for t in tasks]
    assert (params[0].precision, params[1].precision) == ("exact", "int8")  # "Fast (int8)"
    assert params[0].classes[:2] == ["grassland", "farmland"] and params[0].tile_size == TILE
    assert params[1].object == "storage tank" and params[1].model == with_backend.settings.default_model
    assert params[1].weights == with_backend.settings.weights and params[1].ground_size_m is None
    _wait_for_tasks(plugin)
    assert not dock.tasks
    for task in tasks:
        assert isinstance(task.outcome, Done), task.outcome
    (classes,) = tasks[0].outcome.layers
    (counts,) = tasks[1].outcome.layers
    assert isinstance(classes.renderer(), QgsPalettedRasterRenderer)  # the class raster, not tile polygons
    assert isinstance(counts.renderer(), QgsCategorizedSymbolRenderer)  # by the count each tile is labelled with
    project = QgsProject.instance()
    assert project.mapLayer(classes.id()) is classes and project.mapLayer(counts.id()) is counts
    root = project.layerTreeRoot()
    assert root.findGroup("RemoteCLIP: storage tank") is not None
    title = (f"classes: {len(params[0].classes)} classes" if len(params[0].classes) > 4
             else "classes: " + ", ".join(params[0].classes))
    assert root.findGroup("RemoteCLIP: " + title) is not None

    tree = dock.results_tree
    assert tree.topLevelItemCount() == 2
    status = dock.status_label.text()
    assert "stopped" not in status and with_backend.client().connection.url in status  # updated by the jobs
    items = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(2)}  # in finishing order
    count_item, class_item = items["storage tank"], items[title]
    assert count_item.text(1) == "counts" and count_item.data(0, Qt.UserRole) == [counts.id()]
    assert class_item.data(0, Qt.UserRole) == [classes.id()]

    canvas = qgis_iface.mapCanvas()
    assert canvas is qgis_canvas
    canvas.setDestinationCrs(raster.crs())
    far = QgsRectangle(0, 0, 10, 10)
    canvas.setExtent(far)
    tree.itemDoubleClicked.emit(count_item, 0)
    extent = canvas.extent()
    assert extent.contains(counts.extent().center())
    assert extent.width() < counts.extent().width() * 3  # zoomed to the result, not anywhere near (0, 0)
    canvas.setExtent(far)
    tree.setCurrentItem(class_item)
    dock.zoom_button.click()
    assert canvas.extent().contains(classes.extent().center())

    project.removeMapLayer(counts.id())  # a result whose layers are gone: a message, the extent stays
    qgis_iface.messageBar().clear_messages()
    before = canvas.extent()
    assert dock.zoom_to(count_item) is False
    assert canvas.extent() == before
    assert any("no longer" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))


def test_refresh_shows_backend_and_models(plugin, with_backend):
    dock = plugin.dock
    dock.refresh()
    assert dock.is_refreshing() and not dock.refresh_button.isEnabled()
    wait_for(lambda: not dock.is_refreshing(), 60)
    url = with_backend.client().connection.url
    assert url in dock.status_label.text() and "running" in dock.status_label.text()
    labels = [dock.model_combo.itemText(i) for i in range(dock.model_combo.count())]
    names = [dock.model_combo.itemData(i) for i in range(dock.model_combo.count())]
    assert "tiny-local" in names
    assert any("weights present" in t or "no weights" in t for t in labels)


def test_refresh_with_an_unreachable_backend_says_stopped(plugin, tmp_path):
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    previous = set_manager(BackendManager(PluginSettings(mode="remote", url="http://127.0.0.1:9",
                                                         output_folder=str(tmp_path))))
    try:
        plugin.dock.refresh()
        wait_for(lambda: not plugin.dock.is_refreshing(), 30)
        assert "stopped" in plugin.dock.status_label.text() and "not reachable" in plugin.dock.status_label.text()
    finally:
        set_manager(previous)


# ---------------------------------------------------------------- one tiling state, progress, cancel, joining

@pytest.fixture
def oils(tmp_path):
    """A private copy of ../shared/data/rasters/oils.tif: EPSG:3857 at 54° N (2 Mercator units = 1.17 m)."""
    import shutil
    from pathlib import Path

    source = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rasters" / "oils.tif"
    if not source.exists():
        pytest.skip("needs ../shared/data/rasters/oils.tif")
    path = tmp_path / "oils.tif"
    shutil.copy(source, path)
    return path


def _big_raster(path, size: int = 2400):
    import numpy as np
    import rasterio

    rng = np.random.default_rng(5)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000), tiled=True) as dst:
        dst.write(rng.integers(0, 255, (3, size, size), dtype=np.uint8))
    layer = QgsRasterLayer(str(path), path.stem)
    assert layer.isValid()
    return layer


def _embed_stores(backend, raster) -> set[str]:
    return {j["result"]["store"] for j in backend.client().jobs()
            if j["kind"] == "embed" and j["result"] and j["result"]["raster"] == str(raster)}


def test_every_entry_point_uses_the_docks_tiling(plugin, qgis_iface, with_backend, processing):
    """Set 128 px / overlap 0.5 / bands in the dock: toolbar (and locator), map tool, dock and Processing build
    the same POST /embed body, and the backend names one store for them: one embedding, never a second."""
    from qgis.core import QgsPointXY, QgsProcessingContext, QgsProcessingFeedback

    from remoteclip_qgis.settings import PluginSettings

    raster = _add_sample(qgis_iface)
    dock = plugin.dock
    dock.tile_spin.setValue(TILE)
    dock.overlap_spin.setValue(0.5)
    dock.bands_edit.setText("1,2,3")
    assert (with_backend.settings.tile_size, with_backend.settings.overlap, with_backend.settings.bands) == (
        TILE, 0.5, "1,2,3")
    assert PluginSettings.load().overlap == 0.5  # persisted: a restarted QGIS keeps the panel
    toolbar = plugin._job("search", queries=["lake"], k=10)[0]  # plugin.search: the toolbar box and the locator
    map_tool = plugin._job("similar", k=10)[0]  # plugin.similar_at
    from_dock = dock._job("classify", classes=["a", "b"])[0]
    alg = QgsApplication.processingRegistry().createAlgorithmById("remoteclip:textsearch")
    parameters = {"INPUT": raster, "TILE_PIXELS": TILE, "OVERLAP": 0.5, "BANDS": [1, 2, 3], "QUERY": "lake"}
    context = QgsProcessingContext()
    assert alg.prepareAlgorithm(parameters, context, QgsProcessingFeedback())
    _, from_processing = alg.job(parameters, context, queries=["lake"])
    bodies = [p.embed_request() for p in (toolbar, map_tool, from_dock, from_processing)]
    assert bodies[0]["tile_size"] == TILE and bodies[0]["overlap"] == 0.5 and bodies[0]["bands"] == [1, 2, 3]
    assert all(body == bodies[0] for body in bodies), bodies
    store = with_backend.client().estimate(**toolbar.embed_request())["store"]
    res = processing.run("remoteclip:embedraster", {"INPUT": str(SAMPLE), "TILE_PIXELS": TILE, "OVERLAP": 0.5,
                                                    "BANDS": [1, 2, 3]})
    assert res["STORE"] == store
    # the path: Classify in the dock, then Find similar and a toolbar search: no second embedding
    dock.set_preset("RSSCN7")
    dock.classify()
    _wait_for_tasks(plugin)
    centre = raster.extent().center()
    qgis_iface.mapCanvas().setDestinationCrs(raster.crs())
    plugin.similar_at(QgsPointXY(centre.x(), centre.y()))
    _wait_for_tasks(plugin)
    plugin.search("lake")
    _wait_for_tasks(plugin)
    assert _embed_stores(with_backend, SAMPLE) & {store} == {store}
    assert len([s for s in _embed_stores(with_backend, SAMPLE) if s == store]) == 1
    jobs = [j for j in with_backend.client().jobs() if j["kind"] == "embed" and j["result"]
            and j["result"]["store"] == store]
    assert len(jobs) == 1  # Processing embedded it; classify, similar and search found it


def test_ground_metres_are_true_metres_in_the_dock_and_in_processing(plugin, qgis_iface, with_backend,
                                                                     processing, oils):
    """oils.tif is EPSG:3857 at 54° N: 150 m on the ground is about 128 px, not 75 (150 Mercator units)."""
    import re

    layer = QgsRasterLayer(str(oils), "oils")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    dock = plugin.dock
    dock.ground_spin.setValue(150.0)
    hint = dock.tile_hint.text()
    shown = int(re.fullmatch(r"150 m = (\d+) px on this layer", hint).group(1))
    params = dock._job("search", queries=["tank"])[0]
    assert (params.ground_size_m, params.tile_size) == (150.0, None)
    estimate = with_backend.client().estimate(**params.embed_request())
    assert estimate["tile_px"] == shown and 120 <= shown <= 135, (estimate["tile_px"], hint)
    res = processing.run("remoteclip:embedraster", {"INPUT": str(oils), "TILE_SIZE": 150.0, "TILE_PIXELS": 0,
                                                    "OVERLAP": dock.overlap_spin.value()})
    assert res["STORE"] == estimate["store"]  # the same tile px, the same store as the dock
    # the model's default, said in metres and pixels of this layer, as the backend plans it
    dock.ground_spin.setValue(0.0)
    dock.tile_spin.setValue(0)
    dock._fill_models(with_backend.models(start=True))
    dock.model_combo.setCurrentIndex(dock.model_combo.findData("remoteclip-qgis-small"))
    hint = dock.tile_hint.text()
    shown = int(re.fullmatch(r"model's default: 146 m = (\d+) px on this layer", hint).group(1))
    params = dock._job("search", queries=["tank"])[0]
    assert params.model == "remoteclip-qgis-small" and params.tile_size is None and params.ground_size_m is None
    assert with_backend.client().estimate(**params.embed_request())["tile_px"] == shown


def test_the_dock_shows_progress_and_cancels_the_running_job(plugin, qgis_iface, with_backend, tmp_path):
    from qgis.core import QgsTask

    layer = _big_raster(tmp_path / "big.tif")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    dock = plugin.dock
    assert dock.progress_bar.isHidden() and dock.classify_button.isEnabled()
    dock.tile_spin.setValue(32)
    task = plugin.search("storage tanks")  # from the toolbar: the dock shows it too
    assert task.name == "RemoteCLIP: search 'storage tanks' on big"
    assert dock.running_task() is task and not dock.progress_bar.isHidden() and not dock.cancel_button.isHidden()
    assert not dock.classify_button.isEnabled() and not dock.count_button.isEnabled()
    statuses = []
    finish = task.on_finished
    task.on_finished = lambda t: (statuses.append((t.status(), t.description())), finish(t))
    wait_for(lambda: task.job_id is not None, 120, "no embedding started")
    assert "storage tanks" in task.description()  # the query stays in the name while embedding
    qgis_iface.messageBar().clear_messages()
    dock.cancel_button.click()
    _wait_for_tasks(plugin)
    assert task.outcome == Cancelled()
    assert statuses == [(QgsTask.Complete, "RemoteCLIP: search 'storage tanks' on big: cancelled")]  # not "failed"
    bar = qgis_iface.messageBar()
    assert not bar.get_messages(Qgis.Critical)
    assert "RemoteCLIP:RemoteCLIP: search 'storage tanks' on big: cancelled" in bar.get_messages(Qgis.Info)
    assert with_backend.client().job(task.job_id)["state"] == "cancelled"
    assert dock.running_task() is None and dock.progress_bar.isHidden() and dock.classify_button.isEnabled()


def test_a_second_request_joins_the_running_embedding(plugin, qgis_iface, with_backend, tmp_path, monkeypatch):
    from remoteclip_qgis.jobs import RemoteClipTask

    asked = []

    def ask(estimate, iface=None):
        asked.append(estimate)
        return True

    monkeypatch.setattr(RemoteClipTask, "ask", staticmethod(ask))
    monkeypatch.setattr(with_backend.settings, "confirm_above_s", 1)
    layer = _big_raster(tmp_path / "huge.tif", 3000)
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    dock = plugin.dock
    dock.tile_spin.setValue(16)
    dock.set_preset("RSSCN7")
    first = dock.classify()
    wait_for(lambda: first.follow_up is not None and first.follow_up.job_id is not None, 120, "no embedding")
    assert len(asked) == 1 and asked[0]["seconds"] > 1
    running = first.follow_up
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    assert not dock.classify_button.isEnabled()
    again = dock.classify()  # Classify again (Enter, another window): the same job is the running task
    assert again is running and len(plugin.tasks) == 1
    assert any("already running" in m for m in bar.get_messages(Qgis.Info))
    search = plugin.search("lake")  # another query on the store being embedded waits for that embedding
    assert search is not running and search.confirmed and len(plugin.tasks) == 2
    assert any("waits for the embedding already running" in m for m in bar.get_messages(Qgis.Info))
    wait_for(lambda: search.job_id is not None, 120, "the search did not join")
    assert search.job_id == running.job_id  # the backend joined the second POST /embed
    assert len(asked) == 1  # never asked again
    search.cancel()
    running.cancel()
    _wait_for_tasks(plugin)
    assert isinstance(running.outcome, Cancelled) and isinstance(search.outcome, Cancelled)
    assert not bar.get_messages(Qgis.Critical)
