"""Where a raster layer's pixels come from, as the backend sees them.

A GeoTIFF (any GDAL file) on disk is read by a local backend itself: only its path is sent. A remote
backend (settings: URL and token) cannot see the plugin's files: the file is uploaded
(``PUT /uploads/<sha256>``; a file GDAL reads that is no GeoTIFF is copied to one first, all bands
kept) and named ``upload:<sha256>``. Any other raster layer (a WMS or XYZ basemap, a WCS, a virtual
raster) is rendered through QGIS, exactly as it is drawn, to a GeoTIFF over an extent at a pixel
size, then uploaded the same way. An upload is sent once per content hash (``GET /uploads/<sha256>``
first) and embedded only once.

``RenderSpec`` is captured on the main thread (it clones the layer's renderer); ``backend_raster``
(rendering, uploading) runs in a task's worker thread.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsProject,
    QgsProviderRegistry,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
    QgsRectangle,
)

from .backend_client import BackendClient, BackendError
from .i18n import tr

# 100 megapixels of RGBA: 400 MB uncompressed, well under the backend's default upload limit
MAX_RENDER_PIXELS = 100_000_000
DEFAULT_LONG_SIDE_PX = 4096  # a web layer rendered over an extent with no pixel size given


class RasterSourceError(Exception):
    """A layer that cannot be searched as it is; the message says what to do."""


def file_path(layer) -> str | None:
    """The local file behind a GDAL raster layer, or None (web, tile, virtual and remote layers)."""
    if layer is None or layer.providerType() != "gdal":
        return None
    path = QgsProviderRegistry.instance().decodeUri("gdal", layer.source()).get("path") or ""
    return path if path and os.path.isfile(path) else None


@dataclass
class RenderSpec:
    """A layer to render: its data source, a clone of its renderer, and the grid to render on.

    ``extent`` is in ``crs`` (the layer's CRS); ``width`` and ``height`` are in pixels.
    """

    name: str
    source: str
    provider: str
    renderer: object          # QgsRasterRenderer clone, owned here
    crs: QgsCoordinateReferenceSystem
    extent: QgsRectangle
    width: int
    height: int

    def label(self) -> str:
        return f"{self.name} ({self.width} x {self.height} px rendered)"

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Layer units per rendered pixel (x, y)."""
        return self.extent.width() / self.width, self.extent.height() / self.height


def render_spec(layer, extent: QgsRectangle, pixel_size: float | tuple[float, float]) -> RenderSpec:
    """A RenderSpec for ``layer`` over ``extent`` (layer CRS) at ``pixel_size`` layer units per pixel.

    Main thread only. Raises RasterSourceError for an empty extent or a rendering over MAX_RENDER_PIXELS.
    """
    px, py = (pixel_size, pixel_size) if isinstance(pixel_size, (int, float)) else pixel_size
    if extent is None or extent.isEmpty() or not px or not py or px <= 0 or py <= 0:
        raise RasterSourceError(tr("Layer '{0}' has no data in the area to search: pan or zoom to it").format(
            layer.name()))
    width, height = max(1, round(extent.width() / px)), max(1, round(extent.height() / py))
    if width * height > MAX_RENDER_PIXELS:
        raise RasterSourceError(
            tr("Rendering '{0}' at this resolution needs {1} x {2} pixels (over {3} million): zoom in, "
               "or choose a smaller extent or a larger pixel size").format(
                layer.name(), width, height, MAX_RENDER_PIXELS // 1_000_000))
    renderer = layer.renderer().clone() if layer.renderer() is not None else None
    return RenderSpec(layer.name(), layer.source(), layer.providerType(), renderer, QgsCoordinateReferenceSystem(
        layer.crs()), QgsRectangle(extent), width, height)


def visible_render_spec(layer, map_settings) -> RenderSpec:
    """What the map canvas shows of ``layer``, at the canvas's resolution: "search what you see"."""
    crs = layer.crs()
    visible = QgsRectangle(map_settings.visibleExtent())
    canvas_crs = map_settings.destinationCrs()
    if canvas_crs.isValid() and crs.isValid() and canvas_crs != crs:
        transform = QgsCoordinateTransform(canvas_crs, crs, QgsProject.instance())
        visible = transform.transformBoundingBox(visible)
    size = map_settings.outputSize()
    if size.width() <= 0 or size.height() <= 0 or visible.isEmpty():
        raise RasterSourceError(tr("The map canvas shows nothing to search yet"))
    pixel = (visible.width() / size.width(), visible.height() / size.height())
    area = visible.intersect(layer.extent()) if not layer.extent().isEmpty() else visible
    return render_spec(layer, area, pixel)


def extent_render_spec(layer, extent: QgsRectangle | None = None, pixel_size: float | None = None) -> RenderSpec:
    """``layer`` over ``extent`` (layer CRS; default: the layer's extent when it has a size of its own)
    at ``pixel_size`` (default: the layer's own pixel size, or DEFAULT_LONG_SIDE_PX on the long side)."""
    provider = layer.dataProvider()
    sized = provider is not None and provider.xSize() > 0 and provider.ySize() > 0
    if extent is None or extent.isEmpty():
        if not sized:
            raise RasterSourceError(tr("Layer '{0}' has no extent of its own (a web or tile layer): choose the "
                                       "extent to search").format(layer.name()))
        extent = layer.extent()
    if not pixel_size:
        if sized:
            pixel_size = (layer.extent().width() / provider.xSize(), layer.extent().height() / provider.ySize())
        else:
            pixel_size = max(extent.width(), extent.height()) / DEFAULT_LONG_SIDE_PX
    return render_spec(layer, extent, pixel_size)


def render_to_geotiff(spec: RenderSpec, path: str | Path, feedback=None) -> Path:
    """Render ``spec`` as it is drawn (its renderer: RGBA bytes) into a GeoTIFF at ``path``.

    Worker-thread safe: the layer is opened again from its source here, never shared with the canvas.
    """
    layer = QgsRasterLayer(spec.source, spec.name, spec.provider)
    if not layer.isValid():
        raise RasterSourceError(tr("Cannot open layer '{0}' for rendering: {1}").format(
            spec.name, layer.error().summary() or spec.provider))
    pipe = QgsRasterPipe()
    if not pipe.set(layer.dataProvider().clone()):
        raise RasterSourceError(tr("Layer '{0}' cannot be rendered (provider {1})").format(spec.name, spec.provider))
    renderer = spec.renderer.clone() if spec.renderer is not None else layer.renderer().clone()
    pipe.set(renderer)
    writer = QgsRasterFileWriter(str(path))
    writer.setOutputFormat("GTiff")
    writer.setOutputProviderKey("gdal")
    writer.setCreateOptions(["COMPRESS=DEFLATE", "TILED=YES"])
    status = writer.writeRaster(pipe, spec.width, spec.height, spec.extent, spec.crs,
                                QgsCoordinateTransformContext(), feedback)
    if feedback is not None and feedback.isCanceled():
        Path(path).unlink(missing_ok=True)
        raise RasterSourceError(tr("Rendering cancelled"))
    if status != QgsRasterFileWriter.WriterError.NoError:
        Path(path).unlink(missing_ok=True)
        raise RasterSourceError(tr("Rendering '{0}' failed (QgsRasterFileWriter error {1})").format(
            spec.name, int(status)))
    return Path(path)


_digests: dict[tuple[str, int, int], str] = {}  # (path, size in bytes, mtime in ns) -> SHA-256
_digests_lock = threading.Lock()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The file's SHA-256 (hex), remembered while its size and modification time stay the same."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    with _digests_lock:
        _digests[key] = digest.hexdigest()
    return digest.hexdigest()


def send_raster(client: BackendClient, path: str | Path) -> str:
    """Upload the GeoTIFF at ``path`` unless the backend already holds it; returns ``upload:<sha256>``."""
    digest = sha256_file(path)
    try:
        return client.upload_status(digest)["raster"]
    except BackendError as exc:
        if exc.status != 404:
            raise
    return client.upload(path, digest)["raster"]


def render_and_send(client: BackendClient, spec: RenderSpec, feedback=None) -> str:
    """Render ``spec`` to a temporary GeoTIFF, send it, delete it; returns the backend's raster name."""
    with tempfile.TemporaryDirectory(prefix="remoteclip-render-") as folder:
        path = Path(folder) / "render.tif"
        render_to_geotiff(spec, path, feedback)
        return send_raster(client, path)


def is_geotiff(path: str | Path) -> bool:
    from osgeo import gdal

    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER)
    return dataset is not None and dataset.GetDriver().ShortName == "GTiff"


def send_file(client: BackendClient, path: str | Path) -> str:
    """Upload a local raster file as it is (all bands); one GDAL reads but that is no GeoTIFF is copied to a
    temporary GeoTIFF first. Returns ``upload:<sha256>``."""
    if is_geotiff(path):
        return send_raster(client, path)
    from osgeo import gdal

    with tempfile.TemporaryDirectory(prefix="remoteclip-upload-") as folder:
        copy = Path(folder) / "raster.tif"
        if gdal.Translate(str(copy), str(path), format="GTiff", creationOptions=["COMPRESS=DEFLATE",
                                                                               "TILED=YES"]) is None:
            raise RasterSourceError(tr("Cannot convert {0} to a GeoTIFF to send it: {1}").format(
                path, gdal.GetLastErrorMsg()))
        return send_raster(client, copy)


def backend_raster(client: BackendClient, raster: str, render: RenderSpec | None, remote: bool) -> str:
    """What to name in requests for ``raster`` (a path from ``raster_input``, or a label when ``render``
    is set): rendered and sent, sent as it is to a ``remote`` backend (it cannot see this machine's files),
    else the path itself. Worker thread; an ``upload:`` name is returned as it is."""
    if raster.startswith("upload:"):
        return raster
    if render is not None:
        return render_and_send(client, render)
    if remote:
        return send_file(client, raster)
    return raster


def raster_input(layer, map_settings=None) -> tuple[str, RenderSpec | None]:
    """(what to send as ``raster``, what to render first) for a layer: a file's path and None, or a
    label and the RenderSpec of what the map shows (``map_settings``; the layer's own extent without)."""
    path = file_path(layer)
    if path is not None:
        return path, None
    spec = visible_render_spec(layer, map_settings) if map_settings is not None else extent_render_spec(layer)
    return spec.label(), spec
