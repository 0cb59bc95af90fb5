"""The plugin through QGIS's plugin entry point with pytest-qgis's interface: load, search, unload, reload."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsProject, QgsRasterLayer
from qgis.PyQt.QtWidgets import QLineEdit

from remoteclip_qgis.jobs import Done

from .conftest import SAMPLE, wait_for


def test_load_unload_reload(qgis_iface, processing):
    import remoteclip_qgis

    registry = QgsApplication.processingRegistry()
    for _ in range(2):  # a reload must register again after an unload
        plugin = remoteclip_qgis.classFactory(qgis_iface)
        plugin.initGui()
        assert registry.providerById("remoteclip") is not None
        assert registry.algorithmById("remoteclip:textsearch") is not None
        assert plugin.toolbar is not None and plugin.toolbar.findChild(QLineEdit, "RemoteClipSearch") is not None
        assert plugin.locator_filter.prefix() == "rc"
        plugin.unload()
        assert registry.providerById("remoteclip") is None
        assert plugin.toolbar is None and plugin.locator_filter is None and plugin.settings_action is None


def test_search_box_adds_hits_and_heatmap_and_zooms(qgis_iface, processing, backend):
    import remoteclip_qgis

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    from remoteclip_qgis.backend_process import set_manager

    set_manager(backend)  # the plugin's shared manager is the test backend (tiny model)
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    try:
        plugin.search_edit.setText("lake")
        plugin.search_edit.returnPressed.emit()
        assert len(plugin.tasks) == 1
        task = next(iter(plugin.tasks))
        wait_for(lambda: not plugin.tasks)
        assert isinstance(task.outcome, Done), task.outcome
        names = [layer.source().split("layername=")[-1] for layer in task.outcome.layers]
        assert names == ["hits", task.params.heatmap]  # the heatmap raster, not the similarity polygons
        group = QgsProject.instance().layerTreeRoot().findGroup("RemoteCLIP: lake")
        assert group is not None and len(group.findLayers()) == 2
        item = plugin.dock.results_tree.topLevelItem(0)  # listed in the dock's recent results too
        assert item.text(0) == "lake" and item.text(1) == "search" and item.text(2) == "2"
        best = min(task.outcome.layers[0].getFeatures(), key=lambda f: f["rank"])
        assert qgis_iface.mapCanvas().extent().contains(best.geometry().boundingBox().center())
    finally:
        set_manager(None)  # unload must not stop the module's backend
        plugin.unload()
        set_manager(backend)
        QgsProject.instance().removeAllMapLayers()
        QgsProject.instance().layerTreeRoot().removeAllChildren()


def test_search_without_a_raster_says_so(qgis_iface, processing):
    import remoteclip_qgis

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        qgis_iface.messageBar().clear_messages()
        assert plugin.search("lake") is None and not plugin.tasks
        assert any("raster layer" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
    finally:
        plugin.unload()


def test_locator_filter_offers_a_search(qgis_iface, processing):
    from qgis.core import QgsFeedback, QgsLocatorContext

    import remoteclip_qgis

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    try:
        found = []
        filt = plugin.locator_filter.clone()
        filt.resultFetched.connect(found.append)
        filt.fetchResults("storage tanks", QgsLocatorContext(), QgsFeedback())
        filt.fetchResults("a", QgsLocatorContext(), QgsFeedback())  # too short: nothing
        assert len(found) == 1 and "storage tanks" in found[0].displayString
        assert found[0].userData == "storage tanks"
        qgis_iface.messageBar().clear_messages()
        filt.triggerResult(found[0])  # no raster in the project: a message, no task
        assert not plugin.tasks
        assert any("raster layer" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
    finally:
        plugin.unload()


def test_click_on_the_map_finds_similar_tiles(qgis_iface, processing, backend):
    from qgis.core import QgsPointXY
    from qgis.PyQt.QtCore import Qt

    import remoteclip_qgis
    from remoteclip_qgis.backend_process import set_manager

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    set_manager(backend)
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    canvas = qgis_iface.mapCanvas()
    try:
        plugin.similar_action.trigger()
        assert canvas.mapTool() is plugin.map_tool
        c = raster.extent().center()
        plugin.map_tool.canvasClicked.emit(QgsPointXY(c.x(), c.y()), Qt.LeftButton)
        assert len(plugin.tasks) == 1
        task = next(iter(plugin.tasks))
        wait_for(lambda: not plugin.tasks)
        assert isinstance(task.outcome, Done), task.outcome
        similar, surface = task.outcome.layers
        assert similar.featureCount() == 10 and similar.labelsEnabled()
        assert plugin.dock.results_tree.topLevelItem(0).text(1) == "similar tiles"
        group = f"RemoteCLIP: similar to the tile at {c.x():.0f}, {c.y():.0f} (EPSG:26914)"  # metres: whole ones
        assert QgsProject.instance().layerTreeRoot().findGroup(group) is not None
        plugin.similar_action.trigger()
        assert canvas.mapTool() is not plugin.map_tool
    finally:
        set_manager(None)
        plugin.unload()
        set_manager(backend)
        QgsProject.instance().removeAllMapLayers()
        QgsProject.instance().layerTreeRoot().removeAllChildren()
