"""Before embedding, the backend's estimate (tiles, time, disk) is shown; a long one is asked about
first, and a second query while a job runs waits for that job instead of starting another."""

from __future__ import annotations

import shutil
import time

import pytest
from qgis.core import QgsApplication, QgsTask

from remoteclip_qgis.jobs import Cancelled, Done, RemoteClipTask, Unconfirmed
from remoteclip_qgis.params import SearchParams

from .conftest import SAMPLE, TILE, wait_for


def _params(backend, raster, **kw):
    s = backend.settings
    return SearchParams(raster=str(raster), model=s.default_model, weights=s.weights, tile_size=TILE,
                        queries=["lake"], k=3, **kw)


def _stretched_vrt(path, size_px: int) -> None:
    """A ``size_px`` square VRT over the NAIP sample (one source, resampled): a huge raster on no disk."""
    import rasterio

    with rasterio.open(SAMPLE) as src:
        a, _, c, _, e, f = src.transform[:6]
        scale_x, scale_y = src.width / size_px, src.height / size_px
        bands = "".join(
            f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="0">{SAMPLE}'
            f'</SourceFilename><SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{src.width}" '
            f'ySize="{src.height}"/><DstRect xOff="0" yOff="0" xSize="{size_px}" ySize="{size_px}"/>'
            f'</SimpleSource></VRTRasterBand>' for b in (1, 2, 3))
        path.write_text(
            f'<VRTDataset rasterXSize="{size_px}" rasterYSize="{size_px}"><SRS>{src.crs.to_wkt()}</SRS>'
            f'<GeoTransform>{c}, {a * scale_x}, 0, {f}, 0, {e * scale_y}</GeoTransform>{bands}</VRTDataset>')


@pytest.fixture
def asked(monkeypatch):
    """The estimates the user was asked about; ``answer`` is what the user says."""
    record = {"estimates": [], "answer": False}

    def ask(estimate, iface=None):
        record["estimates"].append(estimate)
        return record["answer"]

    monkeypatch.setattr(RemoteClipTask, "ask", staticmethod(ask))
    return record


def _finish(task, timeout=180.0):
    """Start ``task``; returns the list its on_finished fills (a follow-up reports there too). The task
    manager deletes finished tasks: C++ calls are made in on_finished, Python attributes survive."""
    done = []

    def record(finished) -> None:
        finished.final_description = finished.description()
        done.append(finished)

    task.on_finished = record
    QgsApplication.taskManager().addTask(task)
    wait_for(lambda: bool(done), timeout=timeout)
    return done


def _embed_jobs(backend, raster) -> list[dict]:
    return [j for j in backend.client().jobs() if j["kind"] == "embed" and j["result"]
            and j["result"]["raster"] == str(raster)]


def test_a_huge_raster_is_estimated_and_declining_embeds_nothing(backend, asked, tmp_path, monkeypatch):
    huge = tmp_path / "huge.vrt"
    _stretched_vrt(huge, 200_000)
    monkeypatch.setattr(backend.settings, "confirm_above_s", 60)
    n_jobs = len(backend.client().jobs())
    done = _finish(RemoteClipTask(_params(backend, huge), manager=backend))
    task = done[0]
    (estimate,) = asked["estimates"]
    tiles = (-(-200_000 // TILE)) ** 2
    assert estimate["tiles"] == tiles and not estimate["embedded"]
    assert estimate["seconds"] > 60 and estimate["disk_bytes"] > tiles * 4
    assert estimate["summary"].startswith(f"{tiles:,} tiles, about ")
    assert task.outcome == Cancelled() and task.follow_up is None
    assert len(backend.client().jobs()) == n_jobs   # declined before anything started


def test_yes_starts_the_embedding_and_it_can_be_cancelled(backend, asked, tmp_path, monkeypatch):
    raster = tmp_path / "copy.tif"
    shutil.copy(SAMPLE, raster)
    monkeypatch.setattr(backend.settings, "confirm_above_s", 1e-9)  # ask about anything
    asked["answer"] = True
    done = _finish(RemoteClipTask(_params(backend, raster), manager=backend))
    first = done[0]
    assert len(asked["estimates"]) == 1 and first.follow_up is not None and first.follow_up.confirmed
    wait_for(lambda: len(done) == 2)   # the follow-up reports through the same on_finished
    follow = done[1]
    assert isinstance(first.outcome, Unconfirmed) and first.outcome.estimate == asked["estimates"][0]
    assert follow is first.follow_up and isinstance(follow.outcome, Done) and len(follow.outcome.layers) == 2
    assert follow.estimate["tiles"] == asked["estimates"][0]["tiles"]
    assert "tiles, about" in follow.final_description

    big = tmp_path / "big.vrt"
    _stretched_vrt(big, 6000)
    done = _finish(RemoteClipTask(_params(backend, big), manager=backend))
    follow = done[0].follow_up
    wait_for(lambda: follow.job_id is not None and follow.progress() > 0, timeout=120)
    follow.cancel()
    wait_for(lambda: len(done) == 2, timeout=60)
    assert follow.outcome == Cancelled()
    job = backend.client().job(follow.job_id)
    deadline = time.time() + 30
    while job["state"] in ("queued", "running"):
        assert time.time() < deadline
        time.sleep(0.1)
        job = backend.client().job(follow.job_id)
    assert job["state"] == "cancelled" and job["done"] < job["total"]


def test_a_query_while_a_job_runs_waits_for_it(backend, tmp_path):
    raster = tmp_path / "fresh.tif"
    shutil.copy(SAMPLE, raster)
    results = []

    def record(task) -> None:  # the task manager deletes finished tasks: keep what is checked
        results.append({"outcome": task.outcome, "complete": task.status() == QgsTask.Complete,
                        "job": task.job_id})

    tasks = [RemoteClipTask(_params(backend, raster), manager=backend, on_finished=record) for _ in range(2)]
    tasks[1].params.queries = ["road"]
    for task in tasks:
        QgsApplication.taskManager().addTask(task)
    wait_for(lambda: len(results) == 2, timeout=180)
    assert all(isinstance(r["outcome"], Done) and r["complete"] and len(r["outcome"].layers) == 2
               for r in results), results
    assert len(_embed_jobs(backend, raster)) == 1   # both waited on one embedding
    assert results[0]["job"] == results[1]["job"] is not None
