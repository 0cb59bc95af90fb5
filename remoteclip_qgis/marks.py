"""Marked examples for "more like these": a point layer of marks in the project, the map tool that places them,
and marks (or any vector layer's features) as the GeoJSON examples the backend's POST /fewshot takes.

The marks live in a memory layer ("RemoteCLIP marks": points, one text field ``label``, green for a label,
red for "negative") found again by a custom property, so the user sees them, can edit or delete them with
QGIS's own tools and save them (Make Permanent). A left click adds a mark with the current label; a right
click or a shift click adds a "negative" mark (a counter-example of a ranking).
"""

from __future__ import annotations

import json

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsMarkerSymbol,
    QgsPointXY,
    QgsProject,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.gui import QgsMapTool
from qgis.PyQt.QtCore import Qt

from .i18n import tr
from .params import NEGATIVE_LABEL

MARKS_PROPERTY = "remoteclip/marks"
LABEL_FIELD = "label"
POSITIVE_COLOUR = "#2ca02c"
NEGATIVE_COLOUR = "#d62728"


def _marker(colour: str) -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple({"name": "circle", "color": colour, "outline_color": "#ffffff",
                                         "outline_width": "0.4", "size": "3.2"})


def style_marks(layer: QgsVectorLayer) -> None:
    """Green points for labels, red for "negative", each labelled with its label."""
    kind = f"CASE WHEN \"{LABEL_FIELD}\" = '{NEGATIVE_LABEL}' THEN '{NEGATIVE_LABEL}' ELSE 'example' END"
    categories = [QgsRendererCategory("example", _marker(POSITIVE_COLOUR), tr("example")),
                  QgsRendererCategory(NEGATIVE_LABEL, _marker(NEGATIVE_COLOUR), tr("negative (counter-example)"))]
    layer.setRenderer(QgsCategorizedSymbolRenderer(kind, categories))
    from .result_layers import _labels

    _labels(layer, LABEL_FIELD, size=9.0)


def marks_layer(project: QgsProject | None = None, crs: QgsCoordinateReferenceSystem | None = None,
                create: bool = True) -> QgsVectorLayer | None:
    """The project's marks layer; made (in ``crs``, default the project's) and added on top when there is none
    and ``create``."""
    project = project or QgsProject.instance()
    for layer in project.mapLayers().values():
        if layer.customProperty(MARKS_PROPERTY):
            return layer
    if not create:
        return None
    crs = crs if crs is not None and crs.isValid() else project.crs()
    uri = f"Point?field={LABEL_FIELD}:string(80)"
    if crs.isValid():
        uri += "&crs=" + (crs.authid() or "wkt:" + crs.toWkt())
    layer = QgsVectorLayer(uri, tr("RemoteCLIP marks"), "memory")
    if crs.isValid() and layer.crs() != crs:
        layer.setCrs(crs)
    layer.setCustomProperty(MARKS_PROPERTY, True)
    style_marks(layer)
    project.addMapLayer(layer, False)
    project.layerTreeRoot().insertLayer(0, layer)
    return layer


def add_mark(layer: QgsVectorLayer, point: QgsPointXY, label: str,
             crs: QgsCoordinateReferenceSystem | None = None) -> QgsFeature:
    """A mark at ``point`` (in ``crs``, default the layer's) with ``label``; added through the layer's edit
    buffer when it is being edited (so undo works), else to its provider."""
    if crs is not None and crs.isValid() and layer.crs().isValid() and crs != layer.crs():
        point = QgsCoordinateTransform(crs, layer.crs(), QgsProject.instance()).transform(point)
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(point))
    feature.setAttribute(LABEL_FIELD, label)
    if layer.isEditable():
        layer.addFeature(feature)
    else:
        layer.dataProvider().addFeatures([feature])
        layer.updateExtents()
    layer.triggerRepaint()
    return feature


def clear_marks(layer: QgsVectorLayer) -> None:
    ids = [f.id() for f in layer.getFeatures()]
    if layer.isEditable():
        layer.deleteFeatures(ids)
    else:
        layer.dataProvider().deleteFeatures(ids)
    layer.triggerRepaint()


def mark_counts(layer: QgsVectorLayer | None) -> dict[str, int]:
    """Marks per label, e.g. {"forest": 2, "negative": 1}."""
    counts: dict[str, int] = {}
    if layer is None:
        return counts
    idx = layer.fields().indexOf(LABEL_FIELD)
    for feature in layer.getFeatures():
        value = feature[idx] if idx >= 0 else None
        label = "" if value is None else str(value).strip()
        counts[label] = counts.get(label, 0) + 1
    return counts


def examples_geojson(features, label_field: str, crs: QgsCoordinateReferenceSystem | None) -> dict:
    """Features (any QGIS geometry kind; points and polygons mark tiles) as the GeoJSON FeatureCollection of
    POST /fewshot's ``examples``: only ``label_field`` as a property, the CRS as ``crs_wkt`` (the backend
    reprojects to the raster's). A feature without a geometry goes as such: the backend says which one."""
    out = []
    for feature in features:
        geometry = feature.geometry()
        geojson = json.loads(geometry.asJson()) if geometry is not None and not geometry.isNull() else None
        value = feature[label_field]
        if value is not None and not isinstance(value, (str, int, float, bool)):  # a NULL QVariant
            value = None if (hasattr(value, "isNull") and value.isNull()) else str(value)
        out.append({"type": "Feature", "geometry": geojson, "properties": {label_field: value}})
    collection: dict = {"type": "FeatureCollection", "features": out}
    if crs is not None and crs.isValid():
        collection["crs_wkt"] = crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL)
    return collection


class MarkTool(QgsMapTool):
    """Click to mark tiles: left click a mark with ``label()`` (the dock's label field), right or shift click a
    "negative" mark. ``marked(feature)`` is called after each; ``refused(message)`` when there is no label."""

    def __init__(self, canvas, label, marked=None, refused=None) -> None:
        super().__init__(canvas)
        self.label = label
        self.marked = marked
        self.refused = refused
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasReleaseEvent(self, event) -> None:  # noqa: N802 - QGIS API name
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        negative = event.button() == Qt.MouseButton.RightButton or shift
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        label = NEGATIVE_LABEL if negative else (self.label() or "").strip()
        if not label:
            if self.refused is not None:
                self.refused(tr("Type a label for the marks first (e.g. forest); a right click marks a "
                                "counter-example"))
            return
        canvas = self.canvas()
        crs = canvas.mapSettings().destinationCrs()
        layer = marks_layer(crs=crs)
        feature = add_mark(layer, QgsPointXY(event.mapPoint()), label, crs)
        if self.marked is not None:
            self.marked(feature)
