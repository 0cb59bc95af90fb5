"""Load a query's GeoPackage into the project, grouped per query ("RemoteCLIP: <query>", expanded so the legend
shows), and style it: similarity in rank classes (top 1 %, 1-5 %, ... of the tiles, each labelled with its range of
cosine similarity), classes categorized by name-keyed colours (``class_colours.py``: water blue, forest green) with
every asked class in the legend, hits / similar tiles as outlined boxes labelled with their rank, counts
categorized by the count they are labelled with (a whole number of objects, 1 to 10, one colour per count).

With a local backend a search or classification also comes as a GeoTIFF on the tile-stride grid (each cell
the mean of the tiles covering it; see ``backend/query/surface_raster.py``): it replaces the tile polygons
on the map, the similarity as a singleband pseudocolour layer in the same rank classes (of the cells), whose
lower half is see-through, the classes as a paletted layer named by the raster's ``CLASSES`` tag and coloured by
its colour table (the backend writes the same name-keyed colours)."""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGraduatedSymbolRenderer,
    QgsPalettedRasterRenderer,
    QgsPalLayerSettings,
    QgsProject,
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

from .class_colours import class_colour
from .i18n import tr
from .params import OUTPUT_LAYERS, RASTER_OUTPUTS

GROUP_PREFIX = "RemoteCLIP: "
SURFACE_OPACITY = 0.6
# Similarity classes by rank: the top 1 %, 1-5 %, 5-10 %, 10-25 % and 25-50 % of the values, then the rest. A
# cosine similarity means little by itself (its range differs per model and query; quantiles of raw cosines gave
# legends like "-0.1849 - -0.1269"), its rank in the raster is what a user looks for.
TOP_SHARES = (0.01, 0.05, 0.10, 0.25, 0.50)
# Magma position and alpha (0-255) per class, best first: the lower half is see-through, so the image shows.
RANK_STYLE = ((1.0, 235), (0.82, 210), (0.64, 180), (0.46, 140), (0.28, 90), (0.0, 0))
COUNT_MAX = 10  # the backend counts 1 to 10 objects per tile (backend/query/counting.py); colours span that


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


def rank_classes(values: Sequence[float]) -> list[tuple[float, float, float, float]]:
    """Rank classes of ``values`` (any order, finite): ``(share_from, share_to, low, high)`` best first, the
    shares the fraction of the values ranked above the class's first and last member (0.0 to 0.01 for the top
    1 %), ``low`` and ``high`` its smallest and largest value. Shares are the real ones (a class of a few
    tiles, or of tied values, can be wider than asked); classes left empty by ties are merged away."""
    ordered = sorted(values, reverse=True)
    n = len(ordered)
    classes: list[tuple[float, float, float, float]] = []
    start = 0
    for share in (*TOP_SHARES, 1.0):
        end = max(start, math.ceil(share * n - 1e-9))  # this class: ordered[start:end], then every tie of its last
        if end <= start:
            continue
        low = ordered[end - 1]
        while end < n and ordered[end] == low:
            end += 1
        classes.append((start / n, end / n, low, ordered[start]))
        start = end
        if start >= n:
            break
    return classes


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.0f}" if value >= 1.0 or value == 0.0 else f"{value:.1f}"


def unit_range(unit: str, low: float, high: float) -> str:
    """A range of values in ``unit`` (3 decimals): "cosine" (similarity), "change" (1 - cosine between two dates),
    "gain" (cosine toward a phrase, after minus before) or "score" (a few-shot ranking's score)."""
    a, b = f"{low:.3f}", f"{high:.3f}"
    if unit == "change":
        return tr("change {0} to {1}").format(a, b)
    if unit == "gain":
        return tr("gain {0} to {1}").format(a, b)
    if unit == "score":
        return tr("score {0} to {1}").format(a, b)
    return tr("cosine {0} to {1}").format(a, b)


def rank_label(share_from: float, share_to: float, low: float, high: float, unit: str = "cosine") -> str:
    """The legend label of a rank class: its share and its range of values in ``unit`` (see unit_range)."""
    scores = unit_range(unit, low, high)
    if share_from == 0.0:
        return tr("top {0} % ({1})").format(_percent(share_to), scores)
    if share_to >= 1.0:
        return tr("the rest, {0} % ({1})").format(_percent(1.0 - share_from), scores)
    return tr("top {0}–{1} % ({2})").format(_percent(share_from), _percent(share_to), scores)


def _rank_colour(share_from: float) -> QColor:
    """The colour of the rank class whose best member is ranked below ``share_from`` of the values: the style of
    the nominal class it starts in (:data:`TOP_SHARES`), so from the lower half on it is see-through."""
    bucket = sum(share_from >= share for share in TOP_SHARES)
    position, alpha = RANK_STYLE[bucket]
    colour = QColor(_ramp("Magma", ("#000004", "#fcfdbf")).color(position))
    colour.setAlpha(alpha)
    return colour


def style_similarity(layer: QgsVectorLayer, field: str = "score", unit: str = "cosine") -> None:
    """Tile cores in rank classes of ``field`` (:func:`rank_classes`), labelled with their range in ``unit``."""
    from qgis.core import QgsRendererRange

    idx = layer.fields().indexOf(field)
    values = [float(f[idx]) for f in layer.getFeatures() if f[idx] is not None and math.isfinite(float(f[idx]))]
    classes = rank_classes(values)
    ranges = []
    for i, (share_from, share_to, low, high) in enumerate(reversed(classes)):  # QGIS lists ranges low to high
        symbol = QgsFillSymbol.createSimple({"outline_style": "no"})
        symbol.setColor(_rank_colour(share_from))
        upper = high if i == len(classes) - 1 else math.nextafter(classes[len(classes) - 2 - i][2], -math.inf)
        ranges.append(QgsRendererRange(low, upper, symbol, rank_label(share_from, share_to, low, high, unit)))
    renderer = QgsGraduatedSymbolRenderer(field, ranges)
    renderer.setSourceSymbol(QgsFillSymbol.createSimple({"outline_style": "no"}))
    layer.setRenderer(renderer)
    layer.setOpacity(SURFACE_OPACITY / 0.9)  # each class carries its own alpha; the layer as a whole less so


def style_change(layer: QgsVectorLayer) -> None:
    """A change surface in rank classes: by ``gain`` toward the phrases when there is one, else by ``change``
    (1 - cosine between the two dates), the most changed first, each class labelled with its range."""
    if layer.fields().indexOf("gain") >= 0:
        style_similarity(layer, "gain", "gain")
    else:
        style_similarity(layer, "change", "change")


def style_fewshot_scores(layer: QgsVectorLayer) -> None:
    style_similarity(layer, "score", "score")


def style_hits(layer: QgsVectorLayer, colour: str = "#00e5ff") -> None:
    """Outlined boxes, no fill, labelled with their rank."""
    symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": "0.8",
                                         "outline_width_unit": "MM"})
    from qgis.core import QgsSingleSymbolRenderer

    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    _labels(layer, "rank", size=11.0, colour=colour, buffer="#000000")


def layer_class_names(layer: QgsVectorLayer) -> list[str]:
    """Every class a classes layer was asked for, in the backend's order: the names of the classes present (by
    ``class_id``), and for the others the name behind their ``p_<class>`` field (lower case, ``_`` as spaces)."""
    names = [f.name()[2:].replace("_", " ") for f in layer.fields() if f.name().startswith("p_")]
    id_idx, class_idx = layer.fields().indexOf("class_id"), layer.fields().indexOf("class")
    for feature in layer.getFeatures():
        if id_idx >= 0 and class_idx >= 0 and feature[id_idx] is not None:
            i = int(feature[id_idx])
            if 0 <= i < len(names):
                names[i] = str(feature[class_idx])
            elif i == len(names):
                names.append(str(feature[class_idx]))
        elif class_idx >= 0 and str(feature[class_idx]) not in names:
            names.append(str(feature[class_idx]))
    return names


def style_classes(layer: QgsVectorLayer, classes: Sequence[str] | None = None) -> None:
    """One name-keyed colour per class (:func:`~.class_colours.class_colour`, the class raster's colours too),
    a legend entry for every asked class (``classes``, else :func:`layer_class_names`), present or not, in the
    order they were asked."""
    names = list(classes) if classes else layer_class_names(layer)
    categories = []
    for name in names:
        symbol = QgsFillSymbol.createSimple({"color": class_colour(name), "outline_style": "no"})
        categories.append(QgsRendererCategory(name, symbol, str(name)))
    layer.setRenderer(QgsCategorizedSymbolRenderer("class", categories))
    layer.setOpacity(SURFACE_OPACITY)


def count_colour(count: int) -> QColor:
    """Viridis at the count's place in 1 .. COUNT_MAX: the same count has the same colour in every layer."""
    position = (min(max(int(count), 1), COUNT_MAX) - 1) / (COUNT_MAX - 1)
    return QColor(_ramp("Viridis", ("#440154", "#fde725")).color(position))


def style_counts(layer: QgsVectorLayer) -> None:
    """Categorized by ``count``, the most likely count each tile is labelled with: one colour per whole number
    of objects (the counts present, ascending; the expected count stays in the attributes)."""
    idx = layer.fields().indexOf("count")
    present = sorted({int(f[idx]) for f in layer.getFeatures() if f[idx] is not None})
    categories = []
    for count in present:
        symbol = QgsFillSymbol.createSimple({"outline_style": "no"})
        symbol.setColor(count_colour(count))
        categories.append(QgsRendererCategory(count, symbol, str(count)))
    layer.setRenderer(QgsCategorizedSymbolRenderer("count", categories))
    layer.setOpacity(SURFACE_OPACITY)
    _labels(layer, "count", size=9.0)


def style_heatmap(layer: QgsRasterLayer, unit: str = "cosine") -> None:
    """The cells in rank classes (:func:`rank_classes` of the cell values: top 1 % of the scored area, ...),
    Magma from the best class down, the lower half see-through so the raster under it shows; each legend entry
    says its share and its range in cosine similarity."""
    from osgeo import gdal  # QGIS ships GDAL's Python bindings

    ds = gdal.Open(layer.source())
    band = ds.GetRasterBand(1)
    array = band.ReadAsArray()  # the stride grid: one cell per tile stride, small next to the raster
    nodata = band.GetNoDataValue()
    values = array[(array != nodata) & (array == array)] if nodata is not None else array[array == array]
    classes = rank_classes(values.astype(float).tolist())
    items = []
    for i, (share_from, share_to, low, high) in enumerate(reversed(classes)):  # ascending upper bounds
        upper = high if i == len(classes) - 1 else math.nextafter(classes[len(classes) - 2 - i][2], -math.inf)
        items.append(QgsColorRampShader.ColorRampItem(upper, _rank_colour(share_from),
                                                      rank_label(share_from, share_to, low, high, unit)))
    low = classes[-1][2] if classes else 0.0
    high = classes[0][3] if classes else 1.0
    shader_function = QgsColorRampShader(low, high)
    shader_function.setColorRampType(QgsColorRampShader.Type.Discrete)
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


def raster_tag(path: str | Path, name: str) -> str:
    """A dataset tag the backend wrote into a raster (``UNITS``, ``CLASSES``), or ""."""
    from osgeo import gdal  # QGIS ships GDAL's Python bindings

    ds = gdal.Open(str(path))
    return (ds.GetMetadataItem(name) if ds is not None else None) or ""


def raster_kind(path: str | Path, endpoint: str) -> tuple[str, str]:
    """(style, unit) of a query's raster: "class_raster" or "heatmap" and the heatmap's unit. A few-shot raster
    is a class map when it names classes (``CLASSES``), else a ranking's score; a change heatmap holds the gain
    toward a phrase or the change itself, as its ``UNITS`` tag says."""
    if endpoint == "fewshot":
        return ("class_raster", "") if raster_tag(path, "CLASSES") else ("heatmap", "score")
    if endpoint == "change":
        return "heatmap", "gain" if raster_tag(path, "UNITS").startswith("gain") else "change"
    return RASTER_OUTPUTS[endpoint][0], "cosine"


def replaced_layer(endpoint: str, raster: QgsRasterLayer) -> str:
    """The GeoPackage layer a query's raster stands in for on the map."""
    if endpoint == "fewshot" and raster_kind(raster.source(), endpoint)[0] == "heatmap":
        return "fewshot_scores"
    return RASTER_OUTPUTS[endpoint][1]


def load_raster(path: str | Path, endpoint: str, title: str) -> QgsRasterLayer | None:
    """The query's heatmap or class raster as a styled layer, or None when it is not there."""
    style, unit = raster_kind(path, endpoint)
    name = tr("heatmap") if style == "heatmap" else tr("class map")
    layer = QgsRasterLayer(str(path), f"{title} – {name}" if title else name, "gdal")
    if not layer.isValid():
        return None
    if style == "heatmap":
        style_heatmap(layer, unit)
    else:
        RASTER_STYLES[style](layer)
    return layer


STYLES = {"similarity": style_similarity, "hits": style_hits, "similar": style_hits,
          "classes": style_classes, "counts": style_counts, "changed": style_hits, "change": style_change,
          "fewshot_classes": style_classes, "fewshot_hits": style_hits, "fewshot_scores": style_fewshot_scores}


def style_layer(layer: QgsVectorLayer, kind: str, classes: Sequence[str] | None = None) -> None:
    """Style a result layer of ``kind`` (its GeoPackage layer name); ``classes``: the asked classes of a classes
    layer (else read from its fields)."""
    styler = STYLES.get(kind)
    if styler is not None and layer.featureCount() > 0:
        if kind in ("classes", "fewshot_classes"):
            style_classes(layer, classes)
        else:
            styler(layer)
        layer.triggerRepaint()


# ---------------------------------------------------------------- loading


def layer_title(name: str) -> str:
    titles = {"hits": tr("hits"), "similarity": tr("similarity"), "classes": tr("classes"),
              "counts": tr("counts"), "similar": tr("similar tiles"), "changed": tr("most changed"),
              "change": tr("change"), "fewshot_classes": tr("classes"), "fewshot_hits": tr("hits"),
              "fewshot_scores": tr("scores")}
    return titles.get(name, name)


def load_layers(gpkg: str | Path, names: tuple[str, ...], title: str,
                classes: Sequence[str] | None = None) -> list[QgsVectorLayer]:
    """The named layers of ``gpkg`` as styled vector layers (not yet in a project)."""
    layers = []
    for name in names:
        label = f"{title} – {layer_title(name)}" if title else layer_title(name)
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", label, "ogr")
        if not layer.isValid():
            continue
        style_layer(layer, name, classes)
        layers.append(layer)
    return layers


def add_to_project(layers: list[QgsVectorLayer], title: str, project: QgsProject | None = None):
    """Add ``layers`` (first on top) to a new group "RemoteCLIP: <title>" at the top of the layer tree, the group
    and its layers expanded (desktop QGIS otherwise shows a new group folded, its legend hidden)."""
    from qgis.core import QgsLayerTreeGroup

    project = project or QgsProject.instance()
    group = QgsLayerTreeGroup(GROUP_PREFIX + (title or tr("result")))
    for layer in layers:
        project.addMapLayer(layer, False)
        group.addLayer(layer).setExpanded(True)
    project.layerTreeRoot().insertChildNode(0, group)
    # QGIS 3.22's QgsLayerTreeView expands an inserted row from its node's flag before its filter proxy has the
    # row, so the newest group showed folded while its node said expanded (measured with a QgsLayerTreeView and
    # in desktop QGIS). Setting the flag again once the row is in reaches the view.
    group.setExpanded(False)
    group.setExpanded(True)
    return group


def crs_title(title: str, layers: list) -> str:
    """``title`` with the authority id of the layers' CRS appended ("... (EPSG:26914)"): coordinates in a title
    say which CRS they are in."""
    crs = next((lyr.crs() for lyr in layers if lyr.crs().isValid()), None)
    authid = crs.authid() if crs is not None else ""
    return f"{title} ({authid})" if title and authid else title


def add_result(gpkg: str | Path, endpoint: str, title: str, project: QgsProject | None = None,
               raster: str | Path | None = None, params=None) -> list:
    """Load, style and add a query's GeoPackage, and its heatmap / class ``raster`` in place of the tile
    polygons it replaces; returns the layers (hits / similar first). ``params``, the job's parameters when known:
    a classification's asked classes all go in its legend, and a similar-tiles group at a point names the CRS
    of the point's coordinates."""
    classes = params.labels() if endpoint == "fewshot" and params is not None else getattr(params, "classes", None)
    names = OUTPUT_LAYERS.get(endpoint, ())
    raster_layer = load_raster(raster, endpoint, title) if raster and endpoint in RASTER_OUTPUTS else None
    if raster_layer is not None:
        names = tuple(n for n in names if n != replaced_layer(endpoint, raster_layer))
    layers = load_layers(gpkg, names, title, classes) + ([raster_layer] if raster_layer is not None else [])
    if layers:
        at_point = endpoint == "similar" and getattr(params, "x", None) is not None
        add_to_project(layers, crs_title(title, layers) if at_point else title, project)
    return layers


def style_catalog_hits(layer: QgsVectorLayer) -> None:
    """Hits of a catalogue: outlined boxes like a search's, labelled with their rank and their raster's file
    name; the map tip and the display name give the raster's path and the score."""
    style_hits(layer)
    settings = QgsPalLayerSettings(layer.labeling().settings())
    settings.fieldName = "concat(\"rank\", '  ', base_file_name(\"raster\"))"
    settings.isExpression = True
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setDisplayExpression("concat(\"rank\", '. ', \"raster\")")
    layer.setMapTipTemplate('[% "rank" %]. [% base_file_name("raster") %] ([% format_number("score", 3) %])'
                            '<br>[% "raster" %]')


def add_catalog_result(gpkg: str | Path, title: str, project: QgsProject | None = None) -> list:
    """The hits of a catalogue search (one GeoPackage layer in EPSG:4326, every raster's hits) as one styled
    layer named ``title`` ("'storage tanks' in catalogue city"), added in its group; [] when it has none."""
    layer = QgsVectorLayer(f"{gpkg}|layername=catalog_hits", title, "ogr")
    if not layer.isValid() or layer.featureCount() == 0:
        return []
    style_catalog_hits(layer)
    add_to_project([layer], title, project)
    return [layer]


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
