"""Change between two dates and "more like these" from the dock, the mark tool and Processing, against the real
backend (tiny random-weights model: plumbing, not quality) on real NAIP crops.

The change pair is a crop of the 2019 NAIP tile and a copy with one tile-sized block of other real imagery (the
Bing oil tanks of oils.tif) pasted in: every other tile is identical on both dates, so whatever the weights the
pasted tile has the largest change and must rank first.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsFeature,
    QgsGeometry,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsRenderContext,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from remoteclip_qgis.class_colours import class_colour
from remoteclip_qgis.jobs import Done, Failed
from remoteclip_qgis.marks import MARKS_PROPERTY, NEGATIVE_COLOUR, POSITIVE_COLOUR, marks_layer

from .conftest import TILE, wait_for
from .test_dock import plugin, with_backend  # noqa: F401 - the dock's fixtures: the plugin loaded, the backend

SHARED_RASTERS = Path(__file__).resolve().parents[3] / "shared" / "data" / "rasters"
NAIP_2019 = SHARED_RASTERS / "m_4709963_se_14_1_20190904.tif"
OILS = SHARED_RASTERS / "oils.tif"
COLS, ROWS = 4, 3  # the crops: 4 x 3 tiles of TILE px
PASTED = (1, 2)    # (tile row, tile col) of the block pasted into AFTER

pytestmark = pytest.mark.skipif(not NAIP_2019.exists() or not OILS.exists(), reason="shared NAIP rasters missing")


def _crop(out: Path, col_off: int = 200, row_off: int = 150) -> Path:
    window = Window(col_off, row_off, COLS * TILE, ROWS * TILE)
    with rasterio.open(NAIP_2019) as src:
        profile = src.profile | {"width": COLS * TILE, "height": ROWS * TILE, "transform": src.window_transform(window)}
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(src.read(window=window))
    return out


def _pasted(before: Path, out: Path) -> Path:
    with rasterio.open(before) as src, rasterio.open(OILS) as other:
        data, profile = src.read(), src.profile
        patch = other.read((1, 2, 3), window=Window(200, 100, TILE, TILE))
    r, c = PASTED
    data[:3, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = patch
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out


def _warped(path: Path, out: Path, crs: str = "EPSG:4326") -> Path:
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        with rasterio.open(out, "w", **(src.profile | {"crs": crs, "transform": transform, "width": width,
                                                       "height": height})) as dst:
            for b in range(1, src.count + 1):
                reproject(rasterio.band(src, b), rasterio.band(dst, b), resampling=rasterio.enums.Resampling.bilinear)
    return out


def _moved(path: Path, out: Path, dx: float = 200_000.0) -> Path:
    """The same pixels 200 km east: a raster that does not overlap ``path``."""
    with rasterio.open(path) as src:
        data, profile = src.read(), src.profile
    t = profile["transform"]
    moved = rasterio.Affine(t.a, t.b, t.c + dx, t.d, t.e, t.f)
    with rasterio.open(out, "w", **(profile | {"transform": moved})) as dst:
        dst.write(data)
    return out


@pytest.fixture(scope="module")
def dates(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dates")
    before = _crop(tmp / "before.tif")
    after = _pasted(before, tmp / "after.tif")
    return {"before": before, "after": after, "warped": _warped(after, tmp / "after_4326.tif"),
            "far": _moved(before, tmp / "far.tif"), "other": _crop(tmp / "other.tif", 20, 10)}


def tile_box(path: Path, row: int, col: int) -> QgsRectangle:
    """The map rectangle of tile (row, col) of ``path`` on the TILE px grid."""
    with rasterio.open(path) as src:
        t = src.transform
    x0, y0 = t.c + col * TILE * t.a, t.f + row * TILE * t.e
    return QgsRectangle(x0, y0 + TILE * t.e, x0 + TILE * t.a, y0)


def tile_centre(path: Path, row: int, col: int) -> QgsPointXY:
    return tile_box(path, row, col).center()


def same_box(a: QgsRectangle, b: QgsRectangle, tol: float = 1e-3) -> bool:
    return all(abs(u - v) < tol for u, v in ((a.xMinimum(), b.xMinimum()), (a.yMinimum(), b.yMinimum()),
                                             (a.xMaximum(), b.xMaximum()), (a.yMaximum(), b.yMaximum())))


def _layer(path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def _wait(plugin, timeout=300.0):  # noqa: F811 - the fixture's name
    wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, timeout,
             "the tasks did not finish")


def _groups() -> list[str]:
    return [node.name() for node in QgsProject.instance().layerTreeRoot().children() if node.nodeType() == 0]


def _one_error(qgis_iface) -> str:
    messages = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert len(messages) == 1, messages
    return messages[0]


def _embedded(client, params, raster: str) -> bool:
    return bool(client.estimate(**replace(params, raster=raster).embed_request()).get("embedded"))


# ---------------------------------------------------------------- change between two dates


def test_change_from_the_dock_embeds_both_dates_and_ranks_the_pasted_tile_first(plugin, with_backend, qgis_iface,  # noqa: F811
                                                                                 dates):
    before, after = _layer(dates["before"], "2019"), _layer(dates["after"], "2020")
    box = plugin.dock.change_box
    box.before_combo.setLayer(before)
    box.after_combo.setLayer(after)
    box.k_spin.setValue(3)
    task = box.run()
    assert task is not None and "2019 → 2020" in task.description()
    assert not box.run_button.isEnabled()  # off while the job runs
    _wait(plugin)
    assert isinstance(task.outcome, Done), task.outcome
    assert box.run_button.isEnabled()
    client = with_backend.client()
    # Neither date was embedded before: two 409s, each answered by embedding the raster it named, then the answer.
    assert _embedded(client, task.params, str(dates["before"])) and _embedded(client, task.params, str(dates["after"]))
    assert task.outcome.answer["summary"]["tiles_compared"] == COLS * ROWS
    assert "RemoteCLIP: change: 2019 → 2020" in _groups()

    changed = next(lyr for lyr in task.outcome.layers if isinstance(lyr, QgsVectorLayer))
    assert changed.name() == "change: 2019 → 2020 – most changed"
    ranked = sorted(changed.getFeatures(), key=lambda f: f["rank"])
    assert [f["rank"] for f in ranked] == [1, 2, 3]
    assert same_box(ranked[0].geometry().boundingBox(), tile_box(dates["before"], *PASTED))
    assert ranked[0]["change"] > 1e-3 and all(f["change"] < 1e-4 for f in ranked[1:])
    assert changed.labelsEnabled() and changed.labeling().settings().fieldName == "rank"

    # a local backend writes the change as a GeoTIFF too: it replaces the surface polygons, in rank classes
    heat = next(lyr for lyr in task.outcome.layers if isinstance(lyr, QgsRasterLayer))
    assert isinstance(heat.renderer(), QgsSingleBandPseudoColorRenderer)
    items = heat.renderer().shader().rasterShaderFunction().colorRampItemList()
    labels = [item.label for item in items]
    assert all("(change " in label for label in labels), labels
    best = items[-1]  # QGIS lists the classes low to high: the last is the most changed
    assert best.label.startswith("top ") and best.color.alpha() > 200
    provider = heat.dataProvider()
    centre = tile_centre(dates["before"], *PASTED)
    value = provider.sample(centre, 1)[0]
    assert value == pytest.approx(ranked[0]["change"], rel=1e-3) and value > items[-2].value  # in the top class

    row = plugin.dock.results_tree.topLevelItem(0)  # and in the dock's recent results
    assert row.text(1) == "change" and row.text(0) == "change: 2019 → 2020"


def test_a_long_change_is_asked_about_once_and_then_embeds_both_dates(plugin, with_backend, dates, tmp_path,  # noqa: F811
                                                                       monkeypatch):
    from remoteclip_qgis.jobs import RemoteClipTask, Unconfirmed

    asked = []

    def ask(estimate, iface=None) -> bool:  # the user says yes
        asked.append(estimate)
        return True

    monkeypatch.setattr(RemoteClipTask, "ask", staticmethod(ask))
    monkeypatch.setattr(with_backend.settings, "confirm_above_s", 1e-9)  # ask about any embedding
    before = _crop(tmp_path / "b.tif", 300, 200)  # dates no other test embedded
    after = _pasted(before, tmp_path / "a.tif")
    box = plugin.dock.change_box
    box.before_combo.setLayer(_layer(before, "b"))
    box.after_combo.setLayer(_layer(after, "a"))
    first = box.run()
    _wait(plugin)
    assert isinstance(first.outcome, Unconfirmed) and len(asked) == 1
    assert asked[0]["tiles"] == 2 * COLS * ROWS and "(before) and " in asked[0]["summary"]  # both dates, once
    follow = first.follow_up
    assert follow is not None and follow.confirmed and isinstance(follow.outcome, Done), follow.outcome
    assert len(asked) == 1  # yes once: the confirmed task embedded both dates without asking again
    jobs = [j["result"]["raster"] for j in with_backend.client().jobs() if j["kind"] == "embed" and j["result"]]
    assert jobs.count(str(before)) == 1 and jobs.count(str(after)) == 1
    changed = next(lyr for lyr in follow.outcome.layers if isinstance(lyr, QgsVectorLayer))
    best = min(changed.getFeatures(), key=lambda f: f["rank"])
    assert same_box(best.geometry().boundingBox(), tile_box(before, *PASTED))


def test_change_bad_input_is_one_line(plugin, with_backend, qgis_iface, dates):  # noqa: F811
    before, far = _layer(dates["before"], "here"), _layer(dates["far"], "far away")
    box = plugin.dock.change_box
    bar = qgis_iface.messageBar()

    bar.clear_messages()
    box.before_combo.setLayer(before)
    box.after_combo.setLayer(before)
    assert box.run() is None and not plugin.tasks
    assert "two different" in _one_error(qgis_iface)

    bar.clear_messages()
    box.after_combo.setLayer(None)
    assert box.run() is None
    assert "two dates" in _one_error(qgis_iface)

    bar.clear_messages()
    box.after_combo.setLayer(far)
    task = box.run()
    _wait(plugin)
    assert isinstance(task.outcome, Failed)
    assert "do not overlap" in _one_error(qgis_iface)
    assert not any(name.startswith("RemoteCLIP: change") for name in _groups())


def _change_params(dates, tiny_weights, after, **extra):
    params = {"BEFORE": str(dates["before"]), "AFTER": str(after), "MODEL": "tiny-local", "WEIGHTS": str(tiny_weights),
              "TILE_PIXELS": TILE, "OVERLAP": 0.0, "K": 2, "OUTPUT": "memory:", "CHANGE": "memory:"}
    return params | extra


def test_change_algorithm_with_an_after_on_another_grid(plugin, with_backend, processing, dates, tiny_weights):  # noqa: F811
    """AFTER in EPSG:4326: the backend puts it on BEFORE's grid as a warped VRT in its cache, which only its 409
    names; the algorithm embeds that view and ranks the pasted tile first."""
    from remoteclip_qgis.result_layers import style_layer

    res = processing.run("remoteclip:change", _change_params(dates, tiny_weights, dates["warped"]))
    changed, surface = res["OUTPUT"], res["CHANGE"]
    assert res["TILES_COMPARED"] == COLS * ROWS == surface.featureCount()
    ranked = sorted(changed.getFeatures(), key=lambda f: f["rank"])
    assert [f["rank"] for f in ranked] == [1, 2]
    assert same_box(ranked[0].geometry().boundingBox(), tile_box(dates["before"], *PASTED))
    assert changed.crs().authid() == "EPSG:26914"  # BEFORE's CRS

    style_layer(surface, "change")  # what Processing's post-processor applies on loading
    renderer = surface.renderer()
    assert isinstance(renderer, QgsGraduatedSymbolRenderer) and renderer.classAttribute() == "change"
    top = max(renderer.ranges(), key=lambda r: r.upperValue())
    assert top.label().startswith("top ") and "(change " in top.label()
    in_top = [f["tile_id"] for f in surface.getFeatures() if top.lowerValue() <= f["change"] <= top.upperValue()]
    assert in_top == [ranked[0]["tile_id"]]

    # a phrase ranks by gain toward it: both stores are there now, nothing is embedded again
    res = processing.run("remoteclip:change", _change_params(dates, tiny_weights, dates["warped"],
                                                             QUERY="storage tanks", K=COLS * ROWS))
    gains = [f["gain"] for f in sorted(res["OUTPUT"].getFeatures(), key=lambda f: f["rank"])]
    assert len(gains) == COLS * ROWS and gains == sorted(gains, reverse=True)
    assert {f["query"] for f in res["OUTPUT"].getFeatures()} == {"storage tanks"}


# ---------------------------------------------------------------- more like these: marks


def _canvas_on(qgis_iface, path: Path):
    """The interface's real QgsMapCanvas showing ``path``'s extent in its CRS."""
    layer = QgsRasterLayer(str(path), "scene")
    canvas = qgis_iface.mapCanvas()
    canvas.resize(640, 480)
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    canvas.refresh()
    QgsApplication.processEvents()
    return canvas


def _click(canvas, point: QgsPointXY, button=Qt.MouseButton.LeftButton,
           modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A mouse button released over ``point`` (map units) on the canvas, handed to its map tool."""
    pixel = canvas.getCoordinateTransform().transform(point)
    event = QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(round(pixel.x()), round(pixel.y())),
                             button, button, modifiers)
    canvas.mapTool().canvasReleaseEvent(event)


def _colour_drawn(layer, feature) -> str:
    renderer = layer.renderer().clone()
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    try:
        context.expressionContext().setFeature(feature)
        return renderer.symbolForFeature(feature, context).color().name()
    finally:
        renderer.stopRender(context)


def test_the_mark_tool_places_labelled_marks_where_clicked(plugin, qgis_iface, dates):  # noqa: F811
    canvas = _canvas_on(qgis_iface, dates["before"])
    box = plugin.dock.fewshot_box
    bar = qgis_iface.messageBar()
    box.mark_button.setChecked(True)
    assert canvas.mapTool() is box.tool

    bar.clear_messages()
    _click(canvas, tile_centre(dates["before"], 0, 0))  # no label yet: nothing is marked
    assert "label" in _one_error(qgis_iface) and marks_layer(create=False) is None

    box.label_edit.setText("field")
    targets = [(0, 0), (2, 3), (1, 1), (0, 3)]
    _click(canvas, tile_centre(dates["before"], *targets[0]))
    box.label_edit.setText("pond")
    _click(canvas, tile_centre(dates["before"], *targets[1]))
    _click(canvas, tile_centre(dates["before"], *targets[2]), Qt.MouseButton.RightButton)  # a counter-example
    _click(canvas, tile_centre(dates["before"], *targets[3]), Qt.MouseButton.LeftButton,
           Qt.KeyboardModifier.ShiftModifier)  # so is a shift click
    layer = marks_layer(create=False)
    assert layer is not None and layer.customProperty(MARKS_PROPERTY)
    assert QgsProject.instance().layerTreeRoot().findLayer(layer.id()) is not None  # seen in the layer tree
    marks = list(layer.getFeatures())
    assert [f["label"] for f in marks] == ["field", "pond", "negative", "negative"]
    pixel = canvas.mapUnitsPerPixel()
    for feature, target in zip(marks, targets):
        point, centre = feature.geometry().asPoint(), tile_centre(dates["before"], *target)
        assert abs(point.x() - centre.x()) <= pixel and abs(point.y() - centre.y()) <= pixel
    assert isinstance(layer.renderer(), QgsCategorizedSymbolRenderer)
    assert [_colour_drawn(layer, f) for f in marks] == [POSITIVE_COLOUR, POSITIVE_COLOUR, NEGATIVE_COLOUR,
                                                        NEGATIVE_COLOUR]
    assert box.marks_label.text() == "Marks: field 1, negative 2, pond 1"

    box.clear()
    assert layer.featureCount() == 0 and box.marks_label.text().startswith("No marks")
    box.mark_button.setChecked(False)
    assert canvas.mapTool() is not box.tool


def _classes_by_tile(gpkg: str) -> dict[int, tuple[str, str]]:
    layer = QgsVectorLayer(f"{gpkg}|layername=fewshot_classes", "c", "ogr")
    assert layer.isValid()
    return {f["tile_id"]: (f["class"], f["example"] or "") for f in layer.getFeatures()}


def _tile_id(path: Path, row: int, col: int) -> int:
    return row * COLS + col  # the backend numbers full tiles row by row


def test_fewshot_from_marks_gives_classes_and_a_rerun_replaces_them(plugin, with_backend, qgis_iface, dates):  # noqa: F811
    raster = _layer(dates["before"], "scene")
    canvas = _canvas_on(qgis_iface, dates["before"])
    box = plugin.dock.fewshot_box
    box.raster_combo.setLayer(raster)
    box.text_prior_check.setChecked(False)  # random weights: the words would only add noise
    box.mark_button.setChecked(True)
    box.label_edit.setText("field")
    _click(canvas, tile_centre(dates["before"], 0, 0))
    box.label_edit.setText("pond")
    _click(canvas, tile_centre(dates["before"], 2, 3))

    listed = [box.raster_combo.layer(i) for i in range(box.raster_combo.count())]
    assert raster in listed and marks_layer(create=False) not in listed  # the picker lists raster layers only
    task = box.run()
    _wait(plugin)
    assert isinstance(task.outcome, Done), task.outcome
    assert task.outcome.answer["summary"]["mode"] == "classify"
    assert task.params.examples["crs_wkt"] and len(task.params.examples["features"]) == 2
    classes = _classes_by_tile(task.params.output)
    assert len(classes) == COLS * ROWS
    # one example a label, no text: each label's prototype is its marked tile, which therefore gets its label
    assert classes[_tile_id(dates["before"], 0, 0)] == ("field", "field")
    assert classes[_tile_id(dates["before"], 2, 3)] == ("pond", "pond")
    assert {c for c, _ in classes.values()} <= {"field", "pond"}
    assert _groups().count("RemoteCLIP: more like these: field, pond") == 1
    class_map = next(lyr for lyr in task.outcome.layers if isinstance(lyr, QgsRasterLayer))
    assert isinstance(class_map.renderer(), QgsPalettedRasterRenderer)
    assert [(c.label, c.color.name()) for c in class_map.renderer().classes()] == [
        ("field", class_colour("field")), ("pond", class_colour("pond"))]
    first_ids = [lyr.id() for lyr in task.outcome.layers]

    box.label_edit.setText("field")
    _click(canvas, tile_centre(dates["before"], 1, 2))  # refine: one more example
    again = box.run()
    _wait(plugin)
    assert isinstance(again.outcome, Done), again.outcome
    assert _groups().count("RemoteCLIP: more like these: field, pond") == 1  # the new result replaced the old
    assert all(QgsProject.instance().mapLayer(i) is None for i in first_ids)
    assert all(QgsProject.instance().mapLayer(lyr.id()) is not None for lyr in again.outcome.layers)
    assert _classes_by_tile(again.params.output)[_tile_id(dates["before"], 1, 2)][1] == "field"
    assert marks_layer(create=False).featureCount() == 3  # the marks stay


def test_one_label_and_counter_examples_rank_the_tiles_like_search_hits(plugin, with_backend, qgis_iface,  # noqa: F811
                                                                         dates):
    raster = _layer(dates["before"], "scene")
    canvas = _canvas_on(qgis_iface, dates["before"])
    box = plugin.dock.fewshot_box
    box.raster_combo.setLayer(raster)
    box.k_spin.setValue(3)
    box.mark_button.setChecked(True)
    box.label_edit.setText("field")
    _click(canvas, tile_centre(dates["before"], 0, 0))
    _click(canvas, tile_centre(dates["before"], 0, 1))
    _click(canvas, tile_centre(dates["before"], 2, 3), Qt.MouseButton.RightButton)
    task = box.run()
    _wait(plugin)
    assert isinstance(task.outcome, Done), task.outcome
    assert task.outcome.answer["summary"]["mode"] == "rank"
    assert _groups() == ["RemoteCLIP: more like these: field"]
    hits, heat = task.outcome.layers  # the hits, and the score raster in place of the score polygons
    assert isinstance(hits, QgsVectorLayer) and hits.source().endswith("layername=fewshot_hits")
    assert [f["rank"] for f in sorted(hits.getFeatures(), key=lambda f: f["rank"])] == [1, 2, 3]
    assert hits.labelsEnabled() and hits.labeling().settings().fieldName == "rank"
    assert not {0, 1, 2 * COLS + 3} & {f["tile_id"] for f in hits.getFeatures()}  # no marked tile is a hit
    assert isinstance(heat, QgsRasterLayer) and isinstance(heat.renderer(), QgsSingleBandPseudoColorRenderer)
    labels = [item.label for item in heat.renderer().shader().rasterShaderFunction().colorRampItemList()]
    assert labels and all("(score " in label for label in labels), labels


def test_marks_outside_the_raster_are_one_line(plugin, with_backend, qgis_iface, dates):  # noqa: F811
    raster = _layer(dates["before"], "scene")
    box = plugin.dock.fewshot_box
    box.raster_combo.setLayer(raster)
    bar = qgis_iface.messageBar()
    bar.clear_messages()
    assert box.run() is None and "Mark some tiles" in _one_error(qgis_iface)

    from remoteclip_qgis.marks import add_mark

    layer = marks_layer(crs=raster.crs())
    far = tile_centre(dates["far"], 1, 1)
    add_mark(layer, far, "field")
    add_mark(layer, QgsPointXY(far.x() + 300, far.y()), "pond")
    box.update_marks()
    bar.clear_messages()
    task = box.run()
    _wait(plugin)
    assert isinstance(task.outcome, Failed)
    assert "outside the raster" in _one_error(qgis_iface)
    assert not any(name.startswith("RemoteCLIP: more like these") for name in _groups())


def _examples_layer(points: list[tuple[QgsPointXY, str]], crs: str) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"Point?crs={crs}&field=kind:string", "examples", "memory")
    features = []
    for point, label in points:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(point))
        feature.setAttribute("kind", label)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_fewshot_algorithm_classifies_and_ranks_from_a_layer_in_another_crs(plugin, with_backend, processing, dates,  # noqa: F811
                                                                            tiny_weights):
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform

    to_wgs84 = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:26914"),
                                      QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())

    def at(row, col):
        return to_wgs84.transform(tile_centre(dates["other"], row, col))

    base = {"INPUT": str(dates["other"]), "MODEL": "tiny-local", "WEIGHTS": str(tiny_weights), "TILE_PIXELS": TILE,
            "OVERLAP": 0.0, "LABEL_FIELD": "kind", "TEXT_PRIOR": False, "OUTPUT": "memory:", "SCORES": "memory:"}
    examples = _examples_layer([(at(0, 1), "road"), (at(2, 2), "crop")], "EPSG:4326")
    res = processing.run("remoteclip:fewshot", base | {"EXAMPLES": examples})
    assert res["MODE_USED"] == "classify"
    classes = {f["tile_id"]: f["class"] for f in res["OUTPUT"].getFeatures()}
    assert len(classes) == COLS * ROWS and res["OUTPUT"].crs().authid() == "EPSG:26914"
    assert classes[_tile_id(dates["other"], 0, 1)] == "road" and classes[_tile_id(dates["other"], 2, 2)] == "crop"
    assert {"p_road", "p_crop", "prob", "example"} <= set(res["OUTPUT"].fields().names())

    examples = _examples_layer([(at(1, 1), "crop"), (at(1, 2), "crop"), (at(0, 0), "negative")], "EPSG:4326")
    res = processing.run("remoteclip:fewshot", base | {"EXAMPLES": examples, "MODE": "rank", "K": 4})
    assert res["MODE_USED"] == "rank"
    hits = sorted(res["OUTPUT"].getFeatures(), key=lambda f: f["rank"])
    assert [f["rank"] for f in hits] == [1, 2, 3, 4] and {f["label"] for f in hits} == {"crop"}
    marked = {_tile_id(dates["other"], 1, 1), _tile_id(dates["other"], 1, 2), _tile_id(dates["other"], 0, 0)}
    assert not marked & {f["tile_id"] for f in hits}  # the examples themselves are no hits
    scores = {f["tile_id"]: f["score"] for f in res["SCORES"].getFeatures()}
    assert len(scores) == COLS * ROWS
    ranked = sorted((t for t in scores if t not in marked), key=lambda t: -scores[t])
    assert [f["tile_id"] for f in hits] == ranked[:4]
    assert np.isclose([f["score"] for f in hits], [scores[t] for t in ranked[:4]]).all()
