"""Load a query's GeoPackage into the project, grouped per query ("RemoteCLIP: <query>"), and style it:
similarity as a graduated ramp with transparency, classes categorized with a legend, hits / similar
tiles as outlined boxes labelled with their rank, counts graduated and labelled with the count.

With a local backend a search or classification also comes as a GeoTIFF on the tile-stride grid (each cell
the mean of the tiles covering it; see ``backend/query/surface_raster.py``): it replaces the tile polygons
on the map, the similarity as a singleband pseudocolour layer in cosine-similarity units whose low end is
see-through, the classes as a paletted layer named by the raster's ``CLASSES`` tag."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsClassificationQuantile,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsPalLayerSettings,
    QgsProject,
    QgsRasterBandStats,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsStyle,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor

from .i18n import tr
from .params import OUTPUT_LAYERS, RASTER_OUTPUTS

GROUP_PREFIX = "RemoteCLIP: "
SURFACE_OPACITY = 0.6
# ColorBrewer "Set1" + "Dark2": distinct classes, colour-blind friendlier than random colours.
CLASS_COLOURS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf",
                 "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^\w]+", "_", text, flags=re.UNICODE).strip("_").lower()
    return s[:limit] or "result"


def gpkg_path(folder: str | Path, endpoint: str, title: str) -> Path:
    """A new GeoPackage name in ``folder``: ``<endpoint>_<query>_<time>_<random>.gpkg`` (two tasks queued
    in the same second must not share a file)."""
    stamp = time.strftime("%Y%m%d-%H%M%S") + "_" + uuid.uuid4().hex[:4]
    path = Path(folder) / f"{endpoint}_{slug(title)}_{stamp}.gpkg"
    n = 2
    while path.exists():
        path = Path(folder) / f"{endpoint}_{slug(title)}_{stamp}_{n}.gpkg"
        n += 1
    return path


# ---------------------------------------------------------------- styles


def _ramp(name: str, fallback: tuple[str, str]):
    ramp = QgsStyle.defaultStyle().colorRamp(name)
    return ramp if ramp is not None else QgsGradientColorRamp(QColor(fallback[0]), QColor(fallback[1]))


def _graduated(layer: QgsVectorLayer, field: str, ramp_name: str, classes: int = 7) -> QgsGraduatedSymbolRenderer:
    renderer = QgsGraduatedSymbolRenderer(field)
    renderer.setSourceSymbol(QgsFillSymbol.createSimple({"outline_style": "no"}))
    renderer.setSourceColorRamp(_ramp(ramp_name, ("#000004", "#fcfdbf")))
    renderer.setClassificationMethod(QgsClassificationQuantile())
    renderer.updateClasses(layer, classes)
    renderer.updateColorRamp(_ramp(ramp_name, ("#000004", "#fcfdbf")))
    return renderer


def _labels(layer: QgsVectorLayer, field: str, size: float = 10.0, colour: str = "#000000",
            buffer: str = "#ffffff") -> None:
    settings = QgsPalLayerSettings()
    settings.fieldName = field
    settings.isExpression = False
    settings.placement = QgsPalLayerSettings.Placement.OverPoint
    fmt = QgsTextFormat()
    fmt.setSize(size)
    fmt.setColor(QColor(colour))
    buf = QgsTextBufferSettings()
    buf.setEnabled(True)
    buf.setSize(1.0)
    buf.setColor(QColor(buffer))
    fmt.setBuffer(buf)
    settings.setFormat(fmt)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def style_similarity(layer: QgsVectorLayer) -> None:
    """Tile cores coloured by ``score`` (Magma, quantiles), see-through so the raster shows."""
    layer.setRenderer(_graduated(layer, "score", "Magma"))
    layer.setOpacity(SURFACE_OPACITY)


def style_hits(layer: QgsVectorLayer, colour: str = "#00e5ff") -> None:
    """Outlined boxes, no fill, labelled with their rank."""
    symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": "0.8",
                                         "outline_width_unit": "MM"})
    from qgis.core import QgsSingleSymbolRenderer

    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    _labels(layer, "rank", size=11.0, colour=colour, buffer="#000000")


def style_classes(layer: QgsVectorLayer) -> None:
    """One colour per class, a legend entry each (in the order the backend wrote them)."""
    idx = layer.fields().indexOf("class")
    values = []
    for feature in layer.getFeatures():
        value = feature[idx]
        if value not in values:
            values.append(value)
    categories = []
    for i, value in enumerate(sorted(values, key=str)):
        symbol = QgsFillSymbol.createSimple({"color": CLASS_COLOURS[i % len(CLASS_COLOURS)], "outline_style": "no"})
        categories.append(QgsRendererCategory(value, symbol, str(value)))
    layer.setRenderer(QgsCategorizedSymbolRenderer("class", categories))
    layer.setOpacity(SURFACE_OPACITY)


def style_counts(layer: QgsVectorLayer) -> None:
    """Graduated by the expected count, labelled with the most likely count."""
    layer.setRenderer(_graduated(layer, "expected_count", "Viridis", classes=5))
    layer.setOpacity(SURFACE_OPACITY)
    _labels(layer, "count", size=9.0)


HEAT_STOPS = 6  # legend entries of a heatmap, evenly spaced in score from the raster's minimum to its maximum


def style_heatmap(layer: QgsRasterLayer) -> None:
    """Magma from the lowest to the highest cell score, the lowest see-through (alpha rising to 230 at the
    top) so the raster under it shows where nothing matches; legend labels are scores (cosine similarity)."""
    stats = layer.dataProvider().bandStatistics(1, QgsRasterBandStats.Stats.Min | QgsRasterBandStats.Stats.Max)
    low, high = stats.minimumValue, stats.maximumValue
    if not high > low:
        high = low + 1e-6
    ramp = _ramp("Magma", ("#000004", "#fcfdbf"))
    items = []
    for i in range(HEAT_STOPS):
        t = i / (HEAT_STOPS - 1)
        colour = QColor(ramp.color(t))
        colour.setAlpha(round(230 * t))
        value = low + t * (high - low)
        items.append(QgsColorRampShader.ColorRampItem(value, colour, f"{value:.3f}"))
    shader_function = QgsColorRampShader(low, high)
    shader_function.setColorRampType(QgsColorRampShader.Type.Interpolated)
    shader_function.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_function)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    layer.setRenderer(renderer)


def raster_class_names(path: str | Path) -> list[str]:
    """The class names the backend wrote into a class raster's ``CLASSES`` tag (a JSON list)."""
    import json

    from osgeo import gdal  # QGIS ships GDAL's Python bindings

    ds = gdal.Open(str(path))
    text = ds.GetMetadataItem("CLASSES") if ds is not None else None
    return json.loads(text) if text else []


def style_class_raster(layer: QgsRasterLayer) -> None:
    """The raster's own colour table, one legend entry per class, labelled with the class name."""
    names = raster_class_names(layer.source())
    table = QgsPalettedRasterRenderer.colorTableToClassData(layer.dataProvider().colorTable(1))
    classes = []
    for entry in table:
        if 0 <= int(entry.value) < len(names):  # GeoTIFF pads colour tables to 256 entries
            classes.append(QgsPalettedRasterRenderer.Class(entry.value, entry.color, names[int(entry.value)]))
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    layer.setOpacity(SURFACE_OPACITY)


RASTER_STYLES = {"heatmap": style_heatmap, "class_raster": style_class_raster}


def load_raster(path: str | Path, endpoint: str, title: str) -> QgsRasterLayer | None:
    """The query's heatmap or class raster as a styled layer, or None when it is not there."""
    field_name = RASTER_OUTPUTS[endpoint][0]
    name = tr("heatmap") if field_name == "heatmap" else tr("class map")
    layer = QgsRasterLayer(str(path), f"{title} – {name}" if title else name, "gdal")
    if not layer.isValid():
        return None
    RASTER_STYLES[field_name](layer)
    return layer


STYLES = {"similarity": style_similarity, "hits": style_hits, "similar": style_hits,
          "classes": style_classes, "counts": style_counts}


def style_layer(layer: QgsVectorLayer, kind: str) -> None:
    styler = STYLES.get(kind)
    if styler is not None and layer.featureCount() > 0:
        styler(layer)
        layer.triggerRepaint()


# ---------------------------------------------------------------- loading


def layer_title(name: str) -> str:
    titles = {"hits": tr("hits"), "similarity": tr("similarity"), "classes": tr("classes"),
              "counts": tr("counts"), "similar": tr("similar tiles")}
    return titles.get(name, name)


def load_layers(gpkg: str | Path, names: tuple[str, ...], title: str) -> list[QgsVectorLayer]:
    """The named layers of ``gpkg`` as styled vector layers (not yet in a project)."""
    layers = []
    for name in names:
        label = f"{title} – {layer_title(name)}" if title else layer_title(name)
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", label, "ogr")
        if not layer.isValid():
            continue
        style_layer(layer, name)
        layers.append(layer)
    return layers


def add_to_project(layers: list[QgsVectorLayer], title: str, project: QgsProject | None = None):
    """Add ``layers`` (first on top) to a new group "RemoteCLIP: <title>" at the top of the layer tree."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, GROUP_PREFIX + (title or tr("result")))
    for layer in layers:
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    return group


def add_result(gpkg: str | Path, endpoint: str, title: str, project: QgsProject | None = None,
               raster: str | Path | None = None) -> list:
    """Load, style and add a query's GeoPackage, and its heatmap / class ``raster`` in place of the tile
    polygons it replaces; returns the layers (hits / similar first)."""
    names = OUTPUT_LAYERS.get(endpoint, ())
    raster_layer = load_raster(raster, endpoint, title) if raster and endpoint in RASTER_OUTPUTS else None
    if raster_layer is not None:
        names = tuple(n for n in names if n != RASTER_OUTPUTS[endpoint][1])
    layers = load_layers(gpkg, names, title) + ([raster_layer] if raster_layer is not None else [])
    if layers:
        add_to_project(layers, title, project)
    return layers


def best_hit(layer: QgsVectorLayer):
    """The rank-1 feature of a hits / similar layer, or None."""
    best = None
    for feature in layer.getFeatures():
        if best is None or feature["rank"] < best["rank"]:
            best = feature
    return best


# ---------------------------------------------------------------- remote backends: GeoJSON -> local GeoPackage


def _field_for(name: str, values: list):
    from qgis.core import QgsField
    from qgis.PyQt.QtCore import QVariant

    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int, bool}:
        return QgsField(name, QVariant.LongLong)
    if kinds and kinds <= {int, float, bool}:
        return QgsField(name, QVariant.Double)
    return QgsField(name, QVariant.String)


def geojson_layer(collection: dict, name: str, crs_wkt: str | None) -> QgsVectorLayer:
    """A memory polygon layer from one of the backend's GeoJSON layers (coordinates in the raster's CRS)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsFields, QgsGeometry, QgsPointXY

    features = collection.get("features") or []
    names: list[str] = []
    for feature in features:
        for key in feature.get("properties") or {}:
            if key not in names:
                names.append(key)
    fields = QgsFields()
    for key in names:
        fields.append(_field_for(key, [(f.get("properties") or {}).get(key) for f in features]))
    layer = QgsVectorLayer("Polygon", name, "memory")
    if crs_wkt:
        layer.setCrs(QgsCoordinateReferenceSystem.fromWkt(crs_wkt))
    provider = layer.dataProvider()
    provider.addAttributes(fields.toList())
    layer.updateFields()
    out = []
    for feature in features:
        geom = feature.get("geometry") or {}
        rings = [[QgsPointXY(float(x), float(y)) for x, y, *_ in ring] for ring in geom.get("coordinates") or []]
        qf = QgsFeature(layer.fields())
        qf.setGeometry(QgsGeometry.fromPolygonXY(rings))
        props = feature.get("properties") or {}
        qf.setAttributes([props.get(key) for key in names])
        out.append(qf)
    provider.addFeatures(out)
    layer.updateExtents()
    return layer


def write_geojson_gpkg(layers: dict, crs_wkt: str | None, path: str | Path) -> Path:
    """Write the backend's GeoJSON layers into one local GeoPackage (what a local backend writes itself)."""
    from qgis.core import QgsCoordinateTransformContext, QgsVectorFileWriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    first = True
    for name, collection in layers.items():
        layer = geojson_layer(collection, name, crs_wkt)
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = name
        options.actionOnExistingFile = (QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile if first
                                        else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer)
        write = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) \
            or QgsVectorFileWriter.writeAsVectorFormatV2  # V3: QGIS 3.20+
        result = write(layer, str(path), QgsCoordinateTransformContext(), options)
        if result[0] != QgsVectorFileWriter.WriterError.NoError:
            raise OSError(f"cannot write {path} ({result[1]})")
        first = False
    return path
