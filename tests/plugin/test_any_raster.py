"""Any raster layer: a file is read by the backend; a web or tile layer (here a real XYZ tile set cut
from the NAIP sample, served through a file:// URL as QGIS serves a tile server) is rendered through
QGIS, uploaded, embedded and searched. Before embedding, the backend's estimate is shown."""

from __future__ import annotations

import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)

from remoteclip_qgis.jobs import Done, Failed
from remoteclip_qgis.raster_source import (
    RasterSourceError,
    extent_render_spec,
    raster_input,
    render_to_geotiff,
    visible_render_spec,
)

from .conftest import SAMPLE, algorithm_params, wait_for
from .xyz_tiles import write_xyz_tiles, xyz_uri

ZOOM = 15
WEB = QgsCoordinateReferenceSystem("EPSG:3857")


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xyz")
    assert write_xyz_tiles(SAMPLE, folder, ZOOM) > 0
    return folder


@pytest.fixture
def xyz_layer(qgis_app, tiles):
    layer = QgsRasterLayer(xyz_uri(tiles, ZOOM), "naip tiles", "wms")
    assert layer.isValid(), layer.error().summary()
    yield layer
    del layer


@pytest.fixture(scope="module")
def naip_web_extent(qgis_app):
    """The NAIP sample's extent in Web Mercator metres."""
    layer = QgsRasterLayer(str(SAMPLE), "naip")
    transform = QgsCoordinateTransform(layer.crs(), WEB, QgsProject.instance())
    return transform.transformBoundingBox(layer.extent())


def test_a_file_is_sent_by_path_a_tile_layer_is_rendered(sample_layer, xyz_layer, naip_web_extent):
    assert raster_input(sample_layer) == (str(SAMPLE), None)
    with pytest.raises(RasterSourceError, match="no extent of its own"):
        raster_input(xyz_layer)
    spec = extent_render_spec(xyz_layer, naip_web_extent, 4.0)
    assert (spec.width, spec.height) == (round(naip_web_extent.width() / 4), round(naip_web_extent.height() / 4))
    with pytest.raises(RasterSourceError, match="zoom in"):
        extent_render_spec(xyz_layer, naip_web_extent, 0.05)   # 137,000 x 106,000 pixels


def test_rendering_keeps_the_pixels_and_the_georeferencing(xyz_layer, naip_web_extent, tmp_path):
    spec = extent_render_spec(xyz_layer, naip_web_extent, 4.0)
    path = render_to_geotiff(spec, tmp_path / "render.tif")
    with rasterio.open(path) as out, rasterio.open(SAMPLE) as src:
        assert out.crs.to_epsg() == 3857 and (out.width, out.height) == (spec.width, spec.height)
        assert out.bounds.left == pytest.approx(naip_web_extent.xMinimum(), abs=4)
        assert out.bounds.top == pytest.approx(naip_web_extent.yMaximum(), abs=4)
        pixels = out.read()
        reference = src.read([1, 2, 3])
    assert pixels.shape[0] == 4  # rendered as drawn: red, green, blue, alpha
    inside = pixels[3] > 0
    assert inside.mean() > 0.6    # the sample, turned into Web Mercator, covers most of its bounding box
    for band in range(3):         # the same scene: band means within a few grey levels of the file's
        assert abs(pixels[band][inside].mean() - reference[band].mean()) < 6


def test_processing_searches_a_tile_layer(processing, backend, xyz_layer, naip_web_extent, tiny_weights):
    from remoteclip_qgis.processing_provider import RemoteClipProvider

    registry = QgsApplication.processingRegistry()
    provider = RemoteClipProvider()
    assert registry.addProvider(provider)
    try:
        e = naip_web_extent
        extent = f"{e.xMinimum()},{e.xMaximum()},{e.yMinimum()},{e.yMaximum()} [EPSG:3857]"
        res = processing.run("remoteclip:textsearch", algorithm_params(
            xyz_layer, tiny_weights, QUERY="lake", K=5, EXTENT=extent, RENDER_PIXEL_SIZE=6.0, OUTPUT="memory:",
            SIMILARITY="memory:"))
        hits = res["OUTPUT"]
        assert hits.featureCount() == 5 and hits.crs().authid() == "EPSG:3857"
        grown = QgsRectangle(e)
        grown.grow(6.0 * 128)
        assert all(grown.contains(f.geometry().boundingBox()) for f in hits.getFeatures())
        embeds = [j for j in backend.client().jobs() if j["kind"] == "embed" and j["state"] == "done"]
        assert any("/uploads/" in (j["result"] or {}).get("raster", "") for j in embeds)
        with pytest.raises(Exception, match="no extent of its own"):
            processing.run("remoteclip:textsearch", algorithm_params(xyz_layer, tiny_weights, QUERY="lake",
                                                                     OUTPUT="memory:"))
    finally:
        registry.removeProvider(provider)


def test_toolbar_search_on_a_basemap_searches_what_the_map_shows(qgis_iface, processing, backend, xyz_layer,
                                                                 naip_web_extent):
    import remoteclip_qgis
    from remoteclip_qgis.backend_process import set_manager

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    set_manager(backend)
    QgsProject.instance().addMapLayer(xyz_layer, False)
    qgis_iface.setActiveLayer(xyz_layer)
    canvas = qgis_iface.mapCanvas()
    window = canvas.window()
    window.show()  # a hidden canvas keeps a placeholder output size; a shown one has the size the user sees
    wait_for(lambda: canvas.mapSettings().outputSize().width() > 500, timeout=10)
    canvas.setDestinationCrs(WEB)
    canvas.setExtent(naip_web_extent)
    try:
        spec = visible_render_spec(xyz_layer, canvas.mapSettings())
        assert naip_web_extent.contains(spec.extent.center()) and spec.width > 0
        uploads = []
        for _ in range(2):  # the same view twice: rendered again, sent and embedded once
            canvas.setExtent(naip_web_extent)  # a search zooms to its best hit: back to the same view
            task = plugin.search("lake")
            assert task is not None and task.render is not None
            wait_for(lambda: not plugin.tasks, timeout=180)
            assert isinstance(task.outcome, Done), task.outcome
            uploads.append(task.params.raster)
            hits = task.outcome.layers[0]
            assert hits.featureCount() == 10 and hits.crs().authid() == "EPSG:3857"
        assert uploads[0] == uploads[1] and uploads[0].startswith("upload:")
        jobs = [j for j in backend.client().jobs() if j["kind"] == "embed" and j["result"]
                and j["result"]["raster"].endswith(uploads[0].removeprefix("upload:") + ".tif")]
        assert len(jobs) == 1   # the second search found the store (no second embed job)
    finally:
        window.hide()
        set_manager(None)
        plugin.unload()
        set_manager(backend)
        QgsProject.instance().removeAllMapLayers()
        QgsProject.instance().layerTreeRoot().removeAllChildren()


def test_a_view_without_imagery_is_one_clear_error(qgis_iface, processing, backend, xyz_layer):
    """Searching a basemap where it has no tiles: rendered (transparent), sent, refused in one line."""
    from qgis.core import Qgis

    import remoteclip_qgis
    from remoteclip_qgis.backend_process import set_manager

    plugin = remoteclip_qgis.classFactory(qgis_iface)
    plugin.initGui()
    set_manager(backend)
    QgsProject.instance().addMapLayer(xyz_layer, False)
    qgis_iface.setActiveLayer(xyz_layer)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(WEB)
    canvas.setExtent(QgsRectangle(-1000, -1000, 1000, 1000))  # the Gulf of Guinea: no tiles were cut there
    try:
        qgis_iface.messageBar().clear_messages()
        task = plugin.search("lake")
        assert task is not None and task.render is not None
        wait_for(lambda: not plugin.tasks, timeout=120)
        assert isinstance(task.outcome, Failed), task.outcome
        # refused before the model loads (the raster's pixels are probed): "has no valid pixels"
        assert "no valid pixels" in task.outcome.reason and "\n" not in task.outcome.reason
        assert any("no valid pixels" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
    finally:
        set_manager(None)
        plugin.unload()
        set_manager(backend)
        QgsProject.instance().removeAllMapLayers()
