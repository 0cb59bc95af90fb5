"""A model that cannot count (``"counts": false`` in GET /models): the dock's Count button is off with a tooltip
saying why, and a count job sent anyway fails with the backend's one line in the message bar. The dock's
Transductive checkbox reaches the classify request (Processing's TRANSDUCTIVE: test_processing.py)."""

from __future__ import annotations

import pytest
from qgis.core import Qgis, QgsProject, QgsRasterLayer

from remoteclip_qgis.jobs import Done, Failed
from remoteclip_qgis.params import CountParams

from .conftest import SAMPLE, TILE, run_task, wait_for

REFUSAL = "tiny-nocount cannot count: its counts are no better than a constant guess (see its model card)"



@pytest.fixture
def plugin(qgis_iface, processing, backend):
    import remoteclip_qgis
    from remoteclip_qgis.backend_process import get_manager, set_manager

    previous = set_manager(backend)
    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    qgis_iface.messageBar().clear_messages()
    yield plugin
    set_manager(None)  # unload must not stop the module's backend
    plugin.unload()
    set_manager(previous if previous is not None else get_manager())
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def test_count_button_is_off_for_a_model_that_cannot_count(plugin, backend, qgis_iface):
    dock = plugin.dock
    dock._fill_models(backend.models(start=True))
    assert "tiny-nocount" in dock.cannot_count and "tiny-local" not in dock.cannot_count
    assert dock.count_button.isEnabled()  # "Default": the settings' tiny-local counts
    dock.model_combo.setCurrentIndex(dock.model_combo.findData("tiny-nocount"))
    assert not dock.count_button.isEnabled() and dock.count_button.toolTip().startswith(REFUSAL)
    raster = QgsRasterLayer(str(SAMPLE), "naip")
    QgsProject.instance().addMapLayer(raster)
    qgis_iface.setActiveLayer(raster)
    dock.object_edit.setText("storage tank")
    qgis_iface.messageBar().clear_messages()
    assert dock.count() is None and not plugin.tasks  # Enter in the object field: a message, no task
    assert any(REFUSAL in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
    dock.model_combo.setCurrentIndex(dock.model_combo.findData("tiny-local"))
    assert dock.count_button.isEnabled()

    dock.transductive_check.setChecked(True)
    dock.tile_spin.setValue(TILE)
    dock.set_preset("RSSCN7")
    task = dock.classify()
    assert task is not None and task.params.transductive is True
    assert task.params.request()["transductive"] is True
    wait_for(lambda: not plugin.tasks, 180)
    assert isinstance(task.outcome, Done), task.outcome


def test_a_refused_count_shows_the_backends_line(backend, qgis_iface):
    from remoteclip_qgis.jobs import RemoteClipTask

    qgis_iface.messageBar().clear_messages()
    params = CountParams(raster=str(SAMPLE), model="tiny-nocount", weights=backend.settings.weights, tile_size=TILE,
                         object="storage tank")
    task = run_task(RemoteClipTask(params, manager=backend, iface=qgis_iface))
    assert isinstance(task.outcome, Failed) and REFUSAL in task.outcome.reason
    messages = qgis_iface.messageBar().get_messages(Qgis.Critical)
    assert len(messages) == 1 and REFUSAL in messages[0] and "--" not in messages[0], messages  # no CLI flags
