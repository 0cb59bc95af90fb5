"""QgsTask jobs against the real backend (results to the project, cancel mid-embed) and result styling."""

from __future__ import annotations

import time

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRenderContext,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsTask,
)

from remoteclip_qgis.class_colours import class_colour
from remoteclip_qgis.jobs import Cancelled, Done, Failed
from remoteclip_qgis.params import ClassifyParams, CountParams, EmbedParams, SearchParams, SimilarParams
from remoteclip_qgis.result_layers import count_colour, rank_classes, rank_label

from .conftest import SAMPLE, TILE, run_task


@pytest.fixture
def clean_project():
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def parse_rank_label(label: str) -> tuple[float, float, float, float]:
    """(share from, share to, in %; lowest and highest cosine) of a rank legend label: "top 1 % (cosine a to b)",
    "top 1–5 % (cosine a to b)", "the rest, 50 % (cosine a to b)"."""
    head, scores = label.split(" (cosine ")
    low, high = (float(v) for v in scores.rstrip(")").split(" to "))
    if head.startswith("the rest, "):
        share = float(head[len("the rest, "):].rstrip(" %"))
        return 100.0 - share, 100.0, low, high
    shares = head[len("top "):].rstrip(" %").split("–")
    return (0.0 if len(shares) == 1 else float(shares[0])), float(shares[-1]), low, high


def symbols_drawn(layer, field: str = "count") -> list[tuple]:
    """(value of ``field``, colour name) of each feature as the layer's renderer would draw it (None: not drawn)."""
    renderer = layer.renderer().clone()
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    try:
        drawn = []
        for feature in layer.getFeatures():
            symbol = renderer.symbolForFeature(feature, context)
            if symbol is not None:
                drawn.append((feature[field], symbol.color().name()))
        return drawn
    finally:
        renderer.stopRender(context)


def _base(backend, raster=SAMPLE, **kw):
    s = backend.settings
    return dict(raster=str(raster), model=s.default_model, weights=s.weights, tile_size=TILE, **kw)


def test_tasks_add_styled_layers_grouped_per_query(backend, clean_project):
    from qgis.core import QgsLayerTreeModel
    from qgis.gui import QgsLayerTreeView

    from remoteclip_qgis.jobs import RemoteClipTask

    # the layer tree as desktop QGIS shows it: a view's expanded rows are what the user sees, not the nodes' flag
    view = QgsLayerTreeView()
    model = QgsLayerTreeModel(clean_project.layerTreeRoot())
    view.setModel(model)
    view.show()

    def shown_expanded(node) -> bool:
        return view.isExpanded(view.node2index(node))

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
    function = renderer.shader().rasterShaderFunction()
    assert function.colorRampType() == QgsColorRampShader.Discrete
    items = function.colorRampItemList()
    with rasterio.open(heat.source()) as src:
        cells = src.read(1, masked=True).compressed().astype(np.float64)  # QGIS compares cells as doubles
    # rank classes of the cells, best last in QGIS's ascending list: "top 1 % (cosine a to b)", ..., "the rest"
    labels = [item.label for item in items]
    assert labels[-1].startswith("top ") and labels[0].startswith("the rest, ") and len(items) >= 3, labels
    assert all("cosine " in label for label in labels), labels
    assert items[0].color.alpha() == 0 and items[-1].color.alpha() > 200  # the lower half is see-through
    assert items[-1].value == pytest.approx(float(cells.max()))
    bounds = [-np.inf] + [item.value for item in items]
    for i, label in enumerate(labels):  # each class holds the share of the cells its label names, in its range
        share_from, share_to, low, high = parse_rank_label(label)
        members = cells[(cells > bounds[i]) & (cells <= bounds[i + 1])]
        assert float((cells > bounds[i]).mean()) * 100 == pytest.approx(share_to, abs=0.5), (label, share_to)
        assert float((cells > bounds[i + 1]).mean()) * 100 == pytest.approx(share_from, abs=0.5), label
        assert (members.min(), members.max()) == (pytest.approx(low, abs=6e-4), pytest.approx(high, abs=6e-4))
    assert parse_rank_label(labels[-1])[:2] == (0.0, 1.0) or len(cells) < 100  # the top 1 %, or one cell of few
    legend = [label for label, _ in renderer.legendSymbologyItems()]
    assert legend == labels
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
    # name-keyed colours (resources/class_colours.json), written by the backend, the same as the polygons'
    assert [c.color.name() for c in renderer.classes()] == ["#d9ef8b", "#2b83ba", "#808080"]
    assert [c.color.name() for c in renderer.classes()] == [class_colour(n) for n in names]
    group = clean_project.layerTreeRoot().findGroup("RemoteCLIP: classes: farmland, lake, road")
    assert group is not None and group.isExpanded() and shown_expanded(group)  # expanded: the legend shows
    assert all(node.isExpanded() and shown_expanded(node) for node in group.findLayers())

    task = run_task(RemoteClipTask(CountParams(**_base(backend), object="storage tank"), manager=backend))
    (counts,) = task.outcome.layers
    renderer = counts.renderer()
    # coloured by the count each tile is labelled with: one category per whole count present, ascending
    assert isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == "count"
    assert counts.labelsEnabled() and counts.labeling().settings().fieldName == "count"
    present = sorted({f["count"] for f in counts.getFeatures()})
    assert [c.value() for c in renderer.categories()] == present and [c.label() for c in renderer.categories()] \
        == [str(n) for n in present]
    assert [c.symbol().color().name() for c in renderer.categories()] == [count_colour(n).name() for n in present]
    drawn = symbols_drawn(counts)
    assert drawn and all(colour == count_colour(n).name() for n, colour in drawn)  # a tile labelled n: n's colour
    assert count_colour(1).name() != count_colour(2).name() != count_colour(10).name()

    with rasterio.open(SAMPLE) as src:
        x, y = (float(v) for v in src.xy(300, 300))
    task = run_task(RemoteClipTask(SimilarParams(**_base(backend), x=x, y=y, k=3), manager=backend))
    assert isinstance(task.outcome, Done), task.outcome
    similar, surface = task.outcome.layers
    assert similar.featureCount() == 3 and similar.labelsEnabled()
    assert isinstance(surface.renderer(), QgsSingleBandPseudoColorRenderer)
    root = clean_project.layerTreeRoot()
    # the point in the raster's CRS, rounded to whole metres, and that CRS
    assert [g.name() for g in root.children()][:2] == [
        f"RemoteCLIP: similar to the tile at {x:.0f}, {y:.0f} (EPSG:26914)", "RemoteCLIP: storage tank"]
    assert all(g.isExpanded() and shown_expanded(g) for g in root.children())
    view.setModel(None)
    del model


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
    # rank classes of the tiles' scores, labelled with share and cosine range, the lower half see-through
    scores = np.array([f["score"] for f in sim.getFeatures()])
    ranges = sim.renderer().ranges()
    assert ranges[-1].label().startswith("top ") and ranges[0].label().startswith("the rest, ")
    assert ranges[0].symbol().color().alpha() == 0 and ranges[-1].symbol().color().alpha() > 200
    for r in ranges:
        share_from, share_to, low, high = parse_rank_label(r.label())
        members = scores[(scores >= r.lowerValue()) & (scores <= r.upperValue())]
        assert (members.min(), members.max()) == (pytest.approx(low, abs=6e-4), pytest.approx(high, abs=6e-4))
        assert float((scores >= r.lowerValue()).mean()) * 100 == pytest.approx(share_to, abs=0.5)
        assert float((scores > r.upperValue()).mean()) * 100 == pytest.approx(share_from, abs=0.5)
    assert len(symbols_drawn(sim, "score")) == sim.featureCount()  # every tile falls in one class
    assert task.params.heatmap is None and task.outcome.answer["raster"] is None
    assert remote.pid is None  # nothing was started


def test_remote_class_polygons_keep_name_colours_and_every_asked_class(backend, clean_project, tmp_path):
    """50 classes over the sample's 48 tiles: some are absent, and still in the legend; each class has its
    name's colour (water blue, forest green) whatever its place in the list; the group says "50 classes"."""
    from remoteclip_qgis.backend_process import BackendManager
    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.settings import PluginSettings

    connection = backend.client().connection
    remote = BackendManager(PluginSettings(mode="remote", url=connection.url, token=connection.token,
                                           output_folder=str(tmp_path / "out")))
    asked = ["forest", "water", "Dense Residential", "road"] + [f"class {i}" for i in range(46)]
    task = run_task(RemoteClipTask(ClassifyParams(**_base(backend), classes=asked), manager=remote))
    assert isinstance(task.outcome, Done), task.outcome
    (classes,) = task.outcome.layers
    renderer = classes.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer) and renderer.classAttribute() == "class"
    present = {f["class"] for f in classes.getFeatures()}
    assert len(present) < len(asked) and present <= set(asked)
    assert [c.value() for c in renderer.categories()] == asked  # present or not, in the asked order
    colours = {c.value(): c.symbol().color().name() for c in renderer.categories()}
    assert colours["water"] == "#1f78b4" and colours["forest"] == "#1b7837" and colours["road"] == "#808080"
    assert colours == {name: class_colour(name) for name in asked}
    assert clean_project.layerTreeRoot().findGroup("RemoteCLIP: classes: 50 classes") is not None
    # without the asked list (Processing's post-processor), the fields still name all 50, in order
    from remoteclip_qgis.result_layers import layer_class_names

    names = layer_class_names(classes)
    assert len(names) == 50 and names[:2] == ["forest", "water"] and names[2] in ("dense residential",
                                                                                   "Dense Residential")
    assert all(class_colour(a) == class_colour(b) for a, b in zip(asked, names))


def test_processing_post_processor_styles_loaded_outputs(backend, clean_project, tmp_path):
    from qgis.core import QgsVectorLayer

    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.processing_algorithms import StylePostProcessor

    task = run_task(RemoteClipTask(CountParams(**_base(backend), object="car"), manager=backend, add_layers=False))
    assert isinstance(task.outcome, Done) and task.outcome.layers == []
    layer = QgsVectorLayer(f"{task.params.output}|layername=counts", "counts", "ogr")
    StylePostProcessor("counts").postProcessLayer(layer, None, None)
    assert isinstance(layer.renderer(), QgsCategorizedSymbolRenderer) and layer.labelsEnabled()
    assert layer.renderer().classAttribute() == "count" == layer.labeling().settings().fieldName


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


@pytest.mark.parametrize("n", [1, 4, 28, 1000, 100_000])
def test_rank_classes_cut_at_the_top_shares(qgis_app, n):
    """Classes by rank hold the shares they say (the top 1 % of 100,000 values: 1,000 of them), merge when a few
    values cannot fill them, and are labelled in cosine units."""
    values = np.random.default_rng(n).normal(0.2, 0.05, n).tolist()
    classes = rank_classes(values)
    ordered = sorted(values, reverse=True)
    assert classes[0][0] == 0.0 and classes[-1][1] == 1.0 and classes[0][3] == ordered[0]
    for (a, b, low, high), nxt in zip(classes, classes[1:] + [None]):
        members = [v for v in values if low <= v <= high]
        assert len(members) == round((b - a) * n)
        if nxt is not None:
            assert nxt[0] == b and nxt[3] < low
    if n >= 1000:
        assert [round(b, 4) for _, b, _, _ in classes] == [0.01, 0.05, 0.1, 0.25, 0.5, 1.0]
    label = rank_label(*classes[0])
    assert label.startswith("top ") and f"cosine {classes[0][2]:.3f} to {classes[0][3]:.3f}" in label
    assert parse_rank_label(rank_label(*classes[-1]))[1] == 100.0
    tied = rank_classes([0.5] * 10 + [0.1] * 10)  # ties never split: two classes, half each
    assert [(a, b) for a, b, _, _ in tied] == [(0.0, 0.5), (0.5, 1.0)]


def test_an_unsaved_project_says_where_its_results_go(backend, clean_project, qgis_iface, tmp_path, monkeypatch):
    """No output folder set: an unsaved project's results go to the cache folder the settings name, and the
    message bar says so once; once the project is saved they go beside it, without a note."""
    from pathlib import Path

    from qgis.core import Qgis

    from remoteclip_qgis.jobs import RemoteClipTask
    from remoteclip_qgis.settings import fallback_output_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fallback = tmp_path / "xdg" / "remoteclip-qgis" / "results"
    assert fallback_output_folder() == fallback
    chosen = backend.settings.output_folder
    backend.settings.output_folder = ""
    try:
        assert clean_project.fileName() == "" and clean_project.homePath() == ""
        qgis_iface.messageBar().clear_messages()
        first = run_task(RemoteClipTask(CountParams(**_base(backend), object="car"), manager=backend,
                                         iface=qgis_iface))
        assert isinstance(first.outcome, Done) and Path(first.params.output).parent == fallback
        notes = [m for m in qgis_iface.messageBar().get_messages(Qgis.Info) if str(fallback) in m]
        assert len(notes) == 1 and "not saved" in notes[0] and "\n" not in notes[0], notes
        second = run_task(RemoteClipTask(CountParams(**_base(backend), object="tree"), manager=backend,
                                          iface=qgis_iface))
        assert Path(second.params.output).parent == fallback
        assert len([m for m in qgis_iface.messageBar().get_messages(Qgis.Info) if str(fallback) in m]) == 1

        (tmp_path / "project").mkdir()
        clean_project.setFileName(str(tmp_path / "project" / "analysis.qgz"))
        assert clean_project.write()
        qgis_iface.messageBar().clear_messages()
        saved = run_task(RemoteClipTask(CountParams(**_base(backend), object="house"), manager=backend,
                                         iface=qgis_iface))
        assert Path(saved.params.output).parent == tmp_path / "project" / "remoteclip"
        assert not [m for m in qgis_iface.messageBar().get_messages(Qgis.Info) if "not saved" in m]
    finally:
        backend.settings.output_folder = chosen
        clean_project.setFileName("")


def test_result_titles_are_short_and_rounded(qgis_app):
    """Group names: coordinates rounded to whole metres (projected) or 5 decimals (degrees); four classes listed,
    more only counted."""
    assert SimilarParams(raster="r.tif", x=487512.3456, y=5207001.49).title() == \
        "similar to the tile at 487512, 5207001"
    assert SimilarParams(raster="r.tif", x=-93.1234567, y=47.5).title() == "similar to the tile at -93.12346, 47.5"
    assert SimilarParams(raster="r.tif", tile_id=12).title() == "similar to tile 12"
    assert ClassifyParams(raster="r.tif", classes=["water", "forest", "road", "field"]).title() == \
        "classes: water, forest, road, field"
    assert ClassifyParams(raster="r.tif", classes=[f"c{i}" for i in range(7)]).title() == "classes: 7 classes"


def test_settings_dialog_names_where_an_unsaved_project_s_results_go(qgis_app, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QFormLayout

    from remoteclip_qgis.settings import PluginSettings, fallback_output_folder, short_path
    from remoteclip_qgis.settings_dialog import SettingsDialog

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    dialog = SettingsDialog(PluginSettings())
    try:
        forms = [f for f in dialog.findChildren(QFormLayout) if f.labelForField(dialog.output) is not None]
        assert len(forms) == 1  # the output folder is in one of the dialog's forms
        label = forms[0].labelForField(dialog.output).text()
        where = short_path(fallback_output_folder())
        assert where == str(tmp_path / "xdg" / "remoteclip-qgis" / "results")  # not under home here: kept whole
        assert "the project's folder" in label and where in label and "unsaved" in label
        assert where in dialog.output.lineEdit().placeholderText()
    finally:
        dialog.deleteLater()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert short_path(fallback_output_folder()) == "~/.cache/remoteclip-qgis/results"
