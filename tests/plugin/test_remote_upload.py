"""A remote backend cannot see the plugin's files: a local GeoTIFF is uploaded (once per content hash)
and searched as ``upload:<sha256>``.

The backend runs in a mount namespace of its own with an empty tmpfs over the raster's folder, so the
path the plugin has is really invisible to it (needs ``unshare``, as root); it is reached through the
settings' URL and token, as a backend on another machine is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from qgis.core import QgsRasterLayer

from remoteclip_qgis.backend_client import BackendClient, BackendConnection, BackendError

from .conftest import ROOT, SAMPLE, TILE, algorithm_params


def _can_hide_folders() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs none /mnt"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_hide_folders(), reason="needs unshare and mount (root)")


@pytest.fixture(scope="module")
def blind_backend(tmp_path_factory):
    """(client, hidden folder, cache folder): a backend that sees an empty tmpfs where the folder is."""
    tmp = tmp_path_factory.mktemp("blind-backend")
    hidden, cache, state = tmp / "hidden", tmp / "cache", tmp / "state" / "backend.json"
    hidden.mkdir()
    state.parent.mkdir()
    shutil.copy(SAMPLE, hidden / "scene.tif")
    env = dict(os.environ, REMOTECLIP_CACHE=str(cache), HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = (f"mount -t tmpfs none {shlex.quote(str(hidden))} && exec {shlex.quote(sys.executable)} -m backend "
               f"serve --port 0 --state-file {shlex.quote(str(state))}")
    log = open(tmp / "backend.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", command], cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 120
    while not state.exists():
        assert proc.poll() is None, (tmp / "backend.log").read_text()[-2000:]
        assert time.time() < deadline, "the backend did not start"
        time.sleep(0.1)
    connection = BackendConnection.from_state_file(state)
    client = BackendClient(connection)
    while True:
        try:
            client.health()
            break
        except BackendError:
            assert time.time() < deadline, "the backend did not answer"
            time.sleep(0.1)
    yield client, hidden, cache
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture
def remote_manager(blind_backend, tiny_weights, tmp_path):
    """The plugin's settings pointed at the blind backend (URL and token), as for another machine."""
    from remoteclip_qgis.backend_process import BackendManager, set_manager
    from remoteclip_qgis.settings import PluginSettings

    client, _, _ = blind_backend
    manager = BackendManager(PluginSettings(mode="remote", url=client.connection.url, token=client.connection.token,
                                            default_model="tiny-local", weights=str(tiny_weights), tile_size=TILE,
                                            output_folder=str(tmp_path / "results"), confirm_above_s=0))
    previous = set_manager(manager)
    yield manager
    set_manager(previous)



def test_the_backend_cannot_see_the_raster(blind_backend, tiny_weights):
    client, hidden, _ = blind_backend
    assert (hidden / "scene.tif").is_file()  # here it is
    with pytest.raises(BackendError) as caught:
        client.estimate(raster=str(hidden / "scene.tif"), model="tiny-local", weights=str(tiny_weights))
    assert caught.value.status == 404, caught.value


def test_a_text_search_on_a_local_geotiff_goes_through_an_upload(provider, processing, blind_backend,
                                                                remote_manager, tiny_weights):
    client, hidden, cache = blind_backend
    path = hidden / "scene.tif"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(BackendError):
        client.upload_status(digest)  # nothing sent yet
    layer = QgsRasterLayer(str(path), "scene")
    assert layer.isValid()
    result = processing.run("remoteclip:textsearch", algorithm_params(
        layer, tiny_weights, QUERY="lake", K=5, OUTPUT="memory:", SIMILARITY="memory:"))
    assert result["OUTPUT"].featureCount() == 5 and result["BEST_SCORE"] is not None
    assert client.upload_status(digest)["raster"] == f"upload:{digest}"
    upload = cache / "uploads" / f"{digest}.tif"
    assert upload.is_file() and hashlib.sha256(upload.read_bytes()).hexdigest() == digest
    sent = upload.stat().st_mtime_ns
    again = processing.run("remoteclip:textsearch", algorithm_params(layer, tiny_weights, QUERY="road", K=3,
                                                                     OUTPUT="memory:"))
    assert again["OUTPUT"].featureCount() == 3
    assert upload.stat().st_mtime_ns == sent  # the backend had it: not sent again
    embeds = [j for j in client.jobs() if j["kind"] == "embed"]
    assert len(embeds) == 1 and json.dumps(embeds[0]["result"]).count(digest) >= 1


def test_a_local_backend_still_gets_the_path(backend):
    from remoteclip_qgis.raster_source import backend_raster

    assert backend_raster(backend.client(), str(SAMPLE), None, remote=False) == str(SAMPLE)


def test_a_local_file_of_another_format_is_sent_as_a_geotiff(blind_backend):
    from osgeo import gdal

    from remoteclip_qgis.raster_source import send_file

    client, hidden, cache = blind_backend
    vrt = hidden / "scene.vrt"  # a VRT names its source file: the backend could not read it even when sent as is
    gdal.Translate(str(vrt), str(hidden / "scene.tif"), format="VRT", srcWin=[0, 0, 256, 256])
    raster = send_file(client, vrt)
    digest = raster.removeprefix("upload:")
    assert raster.startswith("upload:") and client.upload_status(digest)["raster"] == raster
    sent = gdal.Open(str(cache / "uploads" / f"{digest}.tif"))
    assert sent.GetDriver().ShortName == "GTiff" and (sent.RasterXSize, sent.RasterCount) == (256, 4)


def test_change_and_fewshot_with_a_remote_backend_upload_both_dates_and_send_the_examples(
        provider, processing, blind_backend, remote_manager, tiny_weights):
    """Both dates are uploaded (the backend cannot see them) and embedded after its two 409s; the examples go as
    GeoJSON in their layer's CRS; the answers come back as GeoJSON, written into local GeoPackages."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    from .test_change_and_fewshot import COLS, PASTED, ROWS, _crop, _pasted, same_box, tile_box, tile_centre

    client, hidden, cache = blind_backend
    before = _crop(hidden / "before.tif")
    after = _pasted(before, hidden / "after.tif")
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (before, after)]
    common = {"MODEL": "tiny-local", "WEIGHTS": str(tiny_weights), "TILE_PIXELS": TILE, "OVERLAP": 0.0}
    res = processing.run("remoteclip:change", common | {"BEFORE": str(before), "AFTER": str(after), "K": 2,
                                                        "OUTPUT": "memory:", "CHANGE": "memory:"})
    assert all((cache / "uploads" / f"{d}.tif").is_file() for d in digests)
    ranked = sorted(res["OUTPUT"].getFeatures(), key=lambda f: f["rank"])
    assert same_box(ranked[0].geometry().boundingBox(), tile_box(before, *PASTED))
    assert res["CHANGE"].featureCount() == COLS * ROWS == res["TILES_COMPARED"]

    examples = QgsVectorLayer("Point?crs=EPSG:26914&field=label:string", "examples", "memory")
    marks = []
    for (row, col), label in (((0, 0), "field"), ((2, 3), "pond")):
        feature = QgsFeature(examples.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(tile_centre(before, row, col)))
        feature.setAttribute("label", label)
        marks.append(feature)
    examples.dataProvider().addFeatures(marks)
    res = processing.run("remoteclip:fewshot", common | {"INPUT": str(before), "EXAMPLES": examples,
                                                         "TEXT_PRIOR": False, "OUTPUT": "memory:"})
    classes = {f["tile_id"]: (f["class"], f["example"]) for f in res["OUTPUT"].getFeatures()}
    assert res["MODE_USED"] == "classify" and len(classes) == COLS * ROWS
    assert classes[0] == ("field", "field") and classes[2 * COLS + 3] == ("pond", "pond")
