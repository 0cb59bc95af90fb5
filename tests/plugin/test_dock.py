"""The dock panel with pytest-qgis's interface and the real backend: created and removed with the plugin,
presets, classify / count from the dock, recent results with zoom-to, status refresh, bad input."""

from __future__ import annotations

import pytest
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt

from remoteclip_qgis.jobs import Done

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
    from remoteclip_qgis.backend_process import set_manager

    previous = set_manager(backend)
    yield backend
    set_manager(previous)


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


def test_classify_and_count_from_the_dock(plugin, qgis_iface, qgis_canvas, with_backend):
    dock = plugin.dock
    raster = _add_sample(qgis_iface)
    dock.tile_spin.setValue(TILE)
    dock.set_preset("RSSCN7")
    dock.classify_button.click()
    assert len(plugin.tasks) == 1 and len(dock.tasks) == 1
    dock.object_edit.setText("storage tank")
    dock.fast_check.setChecked(True)
    dock.count_button.click()
    assert len(plugin.tasks) == 2
    params = [t.params for t in dock.tasks]
    assert (params[0].precision, params[1].precision) == ("exact", "int8")  # "Fast (int8)"
    assert params[0].classes[:2] == ["grassland", "farmland"] and params[0].tile_size == TILE
    assert params[1].object == "storage tank" and params[1].model == with_backend.settings.default_model
    assert params[1].weights == with_backend.settings.weights and params[1].ground_size_m is None
    tasks = list(dock.tasks)
    _wait_for_tasks(plugin)
    assert not dock.tasks
    for task in tasks:
        assert isinstance(task.outcome, Done), task.outcome
    (classes,) = tasks[0].outcome.layers
    (counts,) = tasks[1].outcome.layers
    assert isinstance(classes.renderer(), QgsPalettedRasterRenderer)  # the class raster, not tile polygons
    assert isinstance(counts.renderer(), QgsGraduatedSymbolRenderer)
    project = QgsProject.instance()
    assert project.mapLayer(classes.id()) is classes and project.mapLayer(counts.id()) is counts
    root = project.layerTreeRoot()
    assert root.findGroup("RemoteCLIP: storage tank") is not None
    assert root.findGroup("RemoteCLIP: " + ", ".join(params[0].classes)) is not None

    tree = dock.results_tree
    assert tree.topLevelItemCount() == 2
    status = dock.status_label.text()
    assert "stopped" not in status and with_backend.client().connection.url in status  # updated by the jobs
    items = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(2)}  # in finishing order
    count_item, class_item = items["storage tank"], items[", ".join(params[0].classes)]
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
