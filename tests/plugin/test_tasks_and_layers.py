"""QgsTask jobs against the real backend (results to the project, cancel mid-embed) and result styling."""

from __future__ import annotations

import time

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsTask,
)

from remoteclip_qgis.jobs import Cancelled, Done, Failed
from remoteclip_qgis.params import ClassifyParams, CountParams, EmbedParams, SearchParams, SimilarParams

from .conftest import SAMPLE, TILE, run_task


@pytest.fixture
def clean_project():
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def _base(backend, raster=SAMPLE, **kw):
    s = backend.settings
    return dict(raster=str(raster), model=s.default_model, weights=s.weights, tile_size=TILE, **kw)


def test_tasks_add_styled_layers_grouped_per_query(backend, clean_project):
    from remoteclip_qgis.jobs import RemoteClipTask

    task = run_task(RemoteClipTask(SearchParams(**_base(backend), queries=["lake"], k=4), manager=backend))
    assert isinstance(task.outcome, Done) and task.status() == QgsTask.Complete
    hits, heat = task.outcome.layers  # the heatmap raster replaces the tile polygons of "similarity"
    assert hits.featureCount() == 4
    assert isinstance(hits.renderer(), QgsSingleSymbolRenderer)
    fill = hits.renderer().symbol().symbolLayer(0)
    assert fill.brushStyle() == 0  # Qt.NoBrush: outlined boxes only
    assert hits.labelsEnabled() and hits.labeling().settings().fieldName == "rank"
    assert isinstance(heat, QgsRasterLayer) and heat.source() == task.params.heatmap
    assert task.params.heatmap == str(task.params.output)[:-len(".gpkg")] + ".tif"
    renderer = heat.renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    items = renderer.shader().rasterShaderFunction().colorRampItemList()
    stats = heat.dataProvider().bandStatistics(1)
    assert items[0].value == pytest.approx(stats.minimumValue) and items[-1].value == pytest.approx(stats.maximumValue)
    assert items[0].color.alpha() == 0 and items[-1].color.alpha() > 200  # the low end is see-through
    assert items[-1].label == f"{stats.maximumValue:.3f}"  # the legend is in score units
    legend = [label for label, _ in renderer.legendSymbologyItems()]
    assert legend == [item.label for item in items]
    assert clean_project.layerTreeRoot().findGroup("RemoteCLIP: lake") is not None
    assert str(task.params.output).startswith(backend.settings.output_folder)

    task = run_task(RemoteClipTask(ClassifyParams(**_base(backend), classes=["farmland", "lake", "road"]),
                                    manager=backend))
    (classes,) = task.outcome.layers
    renderer = classes.renderer()
    assert isinstance(classes, QgsRasterLayer) and isinstance(renderer, QgsPalettedRasterRenderer)
    with rasterio.open(task.params.class_raster) as src:
        present = set(np.unique(src.read(1, masked=True).compressed()).tolist())
    names = ["farmland", "lake", "road"]
    assert [c.label for c in renderer.classes()] == names  # the legend names the classes, in index order
    assert [c.value for c in renderer.classes()] == [0, 1, 2] and present <= {0, 1, 2}
    assert [label for label, _ in renderer.legendSymbologyItems()] == names

    task = run_task(RemoteClipTask(CountParams(**_base(backend), object="storage tank"), manager=backend))
    (counts,) = task.outcome.layers
    assert isinstance(counts.renderer(), QgsGraduatedSymbolRenderer)
    assert counts.renderer().classAttribute() == "expected_count"
    assert counts.labelsEnabled() and counts.labeling().settings().fieldName == "count"

    with rasterio.open(SAMPLE) as src:
        x, y = (float(v) for v in src.xy(300, 300))
    task = run_task(RemoteClipTask(SimilarParams(**_base(backend), x=x, y=y, k=3), manager=backend))
    assert isinstance(task.outcome, Done), task.outcome
    similar, surface = task.outcome.layers
    assert similar.featureCount() == 3 and similar.labelsEnabled()
    assert isinstance(surface.renderer(), QgsSingleBandPseudoColorRenderer)
    root = clean_project.layerTreeRoot()
    assert [g.name() for g in root.children()][:2] == [f"RemoteCLIP: {x:.1f}, {y:.1f}", "RemoteCLIP: storage tank"]


def test_backend_error_is_reported_in_one_line(backend, clean_project):
    from qgis.core import QgsMessageLog

    from remoteclip_qgis.jobs import RemoteClipTask

    logged = []

    def grab(message, tag, level):
        logged.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(grab)
    try:
        task = run_task(RemoteClipTask(SearchParams(**_base(backend, raster="/nonexistent/x.tif"), queries=["a"]),
                                        manager=backend))
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(grab)
    assert task.status() == QgsTask.Terminated and isinstance(task.outcome, Failed)
    assert "raster not found" in task.outcome.reason and "\n" not in task.outcome.reason
    assert ("RemoteCLIP", task.outcome.reason) in logged
    assert QgsMessageLog  # imported for the signal's owner


def test_cancel_an_embed_task(backend, tmp_path):
    """Cancel while embedding a bigger raster: the task ends Terminated and the backend job is cancelled."""
    from remoteclip_qgis.jobs import RemoteClipTask

    big = tmp_path / "big.tif"
    rng = np.random.default_rng(1)
    with rasterio.open(big, "w", driver="GTiff", width=2400, height=2400, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000),
                       tiled=True) as dst:
        dst.write(rng.integers(1, 255, (3, 2400, 2400), dtype=np.uint8))
    params = EmbedParams(raster=str(big), model=backend.settings.default_model, weights=backend.settings.weights,
                         tile_size=32, batch_size=8)
    task = RemoteClipTask(params, manager=backend)
    done = []
    task.on_finished = done.append
    QgsApplication.taskManager().addTask(task)
    deadline = time.time() + 120
    while not (task.job_id and task.progress() > 0):
        assert time.time() < deadline and not done, (task.outcome, task.progress())
        QgsApplication.processEvents()
        time.sleep(0.05)
    t0 = time.time()
    task.cancel()
    while not done:
        assert time.time() - t0 < 30
        QgsApplication.processEvents()
        time.sleep(0.05)
    # Complete, not Terminated: QGIS announces a terminated task as "Task failed", and a cancel is no failure
    assert task.outcome == Cancelled() and task.status() == QgsTask.Complete
    assert task.description() == "RemoteCLIP: embed big: cancelled"
    job = backend.client().job(task.job_id)
    deadline = time.time() + 30
    while job["state"] not in ("cancelled", "done", "failed"):
        assert time.time() < deadline
        time.sleep(0.1)
        job = backend.client().job(task.job_id)
    assert job["state"] == "cancelled" and job["done"] < job["total"]


def test_remote_backend_results_come_back_as_geojson(backend, clean_project, tmp_path):
    """A remote backend cannot write our files: its GeoJSON answer is written to a local GeoPackage."""
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.settings import PluginSettings

    connection = backend.client().connection
    remote = BackendManager(PluginSettings(mode="remote", url=connection.url, token=connection.token,
                                           output_folder=str(tmp_path / "out")))
    task = run_task(RemoteClipTask(SearchParams(**_base(backend), queries=["pond"], k=3), manager=remote))
    assert isinstance(task.outcome, Done), task.outcome
    hits, sim = task.outcome.layers
    assert str(task.params.output).startswith(str(tmp_path / "out")) and hits.source().startswith(task.params.output)
    assert hits.featureCount() == 3 and [f["rank"] for f in hits.getFeatures()] == [1, 2, 3]
    assert {"rank", "score", "tile_id"} <= set(hits.fields().names())
    assert hits.crs().authid() == "EPSG:26914" and hits.labelsEnabled()
    assert sim.featureCount() == task.outcome.answer["n_tiles"]
    assert isinstance(sim.renderer(), QgsGraduatedSymbolRenderer)  # polygons: QGIS cannot read the backend's files
    assert task.params.heatmap is None and task.outcome.answer["raster"] is None
    assert remote.pid is None  # nothing was started


def test_processing_post_processor_styles_loaded_outputs(backend, clean_project, tmp_path):
    from qgis.core import QgsVectorLayer

    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.processing_algorithms import StylePostProcessor

    task = run_task(RemoteClipTask(CountParams(**_base(backend), object="car"), manager=backend, add_layers=False))
    assert isinstance(task.outcome, Done) and task.outcome.layers == []
    layer = QgsVectorLayer(f"{task.params.output}|layername=counts", "counts", "ogr")
    StylePostProcessor("counts").postProcessLayer(layer, None, None)
    assert isinstance(layer.renderer(), QgsGraduatedSymbolRenderer) and layer.labelsEnabled()


def test_a_dead_backend_is_noticed_said_and_restarted(backend, clean_project, qgis_iface, tmp_path):
    """The backend killed (out of memory, say) between jobs: the next task restarts it and says so."""
    import os
    import signal

    from qgis.core import Qgis

    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.jobs import RemoteClipTask

    manager = BackendManager(backend.settings, state_dir=tmp_path / "state", extra_env=backend.extra_env)
    try:
        manager.client()
        pid = manager.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 10
        while manager.process_alive():  # the kill lands asynchronously
            assert time.time() < deadline
            time.sleep(0.05)
        qgis_iface.messageBar().clear_messages()
        task = run_task(RemoteClipTask(SearchParams(**_base(backend), queries=["lake"], k=2), manager=manager,
                                        iface=qgis_iface))
        assert isinstance(task.outcome, Done) and len(task.outcome.layers) == 2
        assert manager.restarts == 1 and manager.pid != pid
        assert task.restarted and f"pid {pid}" in task.restarted and "restarted" in task.restarted
        assert any(f"pid {pid}" in m for m in qgis_iface.messageBar().get_messages(Qgis.Warning))
    finally:
        manager.stop()
