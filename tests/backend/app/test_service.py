"""The loopback service as a real process over real HTTP: auth, state file, jobs, queries, errors."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

import httpx
import numpy as np
import pytest
import rasterio

from ..conftest import PYTHON, ROOT, backend_env, start_serve


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_weights):
    tmp = tmp_path_factory.mktemp("service")
    state_file = tmp / "state" / "backend.json"
    proc, state = start_serve(state_file, backend_env(tmp / "cache"))
    client = httpx.Client(base_url=state["url"], headers={"Authorization": f"Bearer {state['token']}"},
                          timeout=60)
    yield {"proc": proc, "state": state, "state_file": state_file, "client": client, "tmp": tmp,
           "weights": str(tiny_weights)}
    client.close()
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


def _raster_body(server, raster, **extra):
    body = {"raster": str(raster), "model": "tiny-local", "weights": server["weights"], "tile_size": 64}
    body.update(extra)
    return body


def _wait(client, job_id, timeout=120):
    deadline = time.time() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.time() < deadline, job
        time.sleep(0.1)


def test_state_file_is_private_and_bound_to_loopback(server):
    st = server["state"]
    assert set(st) >= {"url", "token", "pid"}
    assert st["url"].startswith("http://127.0.0.1:") and st["pid"] == server["proc"].pid
    assert stat.S_IMODE(os.stat(server["state_file"]).st_mode) == 0o600
    assert len(st["token"]) >= 32


def test_health_is_open_everything_else_needs_the_token(server):
    url = server["state"]["url"]
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    for path in ("/models", "/jobs", "/openapi.json"):
        r = httpx.get(url + path)
        assert r.status_code == 401 and server["state"]["token"] not in r.text
        r = httpx.get(url + path, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
    r = httpx.post(f"{url}/search", json={"raster": "x", "queries": ["a"]})
    assert r.status_code == 401
    schema = server["client"].get("/openapi.json").json()
    assert {"/embed", "/search", "/classify", "/count", "/similar", "/jobs/{job_id}"} <= set(schema["paths"])


def test_foreign_host_header_is_refused(server):
    r = server["client"].get("/models", headers={"Host": "evil.example.com"})
    assert r.status_code == 403


def test_embed_then_query_every_job(server, tmp_path):
    c = server["client"]
    raster = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"
    r = c.post("/search", json=_raster_body(server, raster, queries=["lake"]))
    assert r.status_code == 409 and "POST /embed" in r.json()["error"]
    r = c.post("/embed", json=_raster_body(server, raster))
    assert r.status_code == 202
    job = _wait(c, r.json()["id"])
    assert job["state"] == "done", job
    assert job["done"] == job["total"] > 0 and job["result"]["n_tiles"] > 0

    t0 = time.perf_counter()
    r = c.post("/search", json=_raster_body(server, raster, queries=["lake", "pond"], k=5,
                                            output=str(tmp_path / "hits.gpkg")))
    latency = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    body = r.json()
    hits = body["layers"]["hits"]["features"]
    assert [f["properties"]["rank"] for f in hits] == [1, 2, 3, 4, 5]
    assert len(body["layers"]["similarity"]["features"]) == body["n_tiles"] == job["result"]["n_tiles"]
    assert (tmp_path / "hits.gpkg").exists() and body["output"].endswith("hits.gpkg") and body["raster"] is None
    r = c.post("/search", json=_raster_body(server, raster, queries=["lake"], heatmap=str(tmp_path / "heat.tif")))
    assert r.status_code == 200 and r.json()["raster"] == str(tmp_path / "heat.tif")
    with rasterio.open(tmp_path / "heat.tif") as src:
        assert src.dtypes == ("float32",) and src.overviews(1)
    assert latency < 30  # sanity bound only; latency is measured in the benchmarks

    r = c.post("/classify", json=_raster_body(server, raster, classes=["farmland", "lake", "road"],
                                              class_raster=str(tmp_path / "classes.tif")))
    assert r.status_code == 200 and r.json()["raster"] == str(tmp_path / "classes.tif")
    with rasterio.open(tmp_path / "classes.tif") as src:
        assert src.dtypes == ("uint8",) and src.tags()["CLASSES"] == '["farmland", "lake", "road"]'
    probs = r.json()["layers"]["classes"]["features"][0]["properties"]
    assert probs["p_farmland"] + probs["p_lake"] + probs["p_road"] == pytest.approx(1.0, abs=1e-4)
    r = c.post("/count", json=_raster_body(server, raster, object="storage tank"))
    assert r.status_code == 200 and r.json()["summary"]["total_expected"] > 0
    with rasterio.open(raster) as src:
        x, y = src.xy(200, 200)
    r = c.post("/similar", json=_raster_body(server, raster, x=x, y=y, k=3, include_surface=False,
                                             heatmap=str(tmp_path / "like.tif")))
    assert r.status_code == 200 and (tmp_path / "like.tif").exists()
    assert len(r.json()["layers"]["similar"]["features"]) == 3 and "similarity" not in r.json()["layers"]


def test_estimate_before_embedding(server, tmp_path):
    c = server["client"]
    raster = tmp_path / "copy.tif"
    raster.write_bytes((ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif").read_bytes())
    body = _raster_body(server, raster, tile_size=32)
    est = c.post("/estimate", json=body).json()
    with rasterio.open(raster) as src:
        grid = -(-src.width // 32) * -(-src.height // 32)
    assert est["tiles"] == grid and not est["embedded"]
    assert est["seconds"] > 0 and est["disk_bytes"] > grid * 64 * 4 and est["rate_tiles_per_s"] > 0
    assert est["summary"].startswith(f"{grid:,} tiles, about ")
    assert (est["tile_px"], est["read_px"], est["rate_source"]) == (32, 32, "probed")  # real tiles timed
    job = _wait(c, c.post("/embed", json=body).json()["id"])
    assert job["state"] == "done" and job["result"]["store"] == est["store"]  # the key the estimate named
    again = c.post("/estimate", json=body).json()
    assert again["embedded"] and again["rate_source"] == "measured"  # the finished job's rate, for this read size
    models = {m["name"]: m for m in c.get("/models").json()}
    assert models["remoteclip-qgis-small"]["tile_ground_m"] == 146.2  # what the dock's "model's default" says


def test_fast_path_over_http_has_stores_of_its_own(server, tmp_path):
    c = server["client"]
    raster = tmp_path / "fast.tif"
    raster.write_bytes((ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif").read_bytes())
    body = _raster_body(server, raster, precision="int8")
    assert _wait(c, c.post("/embed", json=body).json()["id"])["state"] == "done"
    r = c.post("/search", json=_raster_body(server, raster, precision="int8", queries=["lake"], k=2))
    assert r.status_code == 200, r.text
    r = c.post("/search", json=_raster_body(server, raster, queries=["lake"], k=2))   # exact: not embedded
    assert r.status_code == 409
    r = c.post("/embed", json=_raster_body(server, raster, precision="fp4"))
    assert r.status_code == 422 and "precision" in r.json()["error"]


def test_uploaded_raster_is_searched_like_a_file(server, tmp_path):
    import hashlib

    c = server["client"]
    data = (ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert c.get(f"/uploads/{digest}").status_code == 404
    r = c.put(f"/uploads/{digest}", content=data, headers={"Content-Type": "image/tiff"})
    assert r.status_code == 201, r.text
    name = r.json()["raster"]
    assert name == f"upload:{digest}" and c.get(f"/uploads/{digest}").json()["width"] == 934
    body = _raster_body(server, name)
    job = _wait(c, c.post("/embed", json=body).json()["id"])
    assert job["state"] == "done", job
    r = c.post("/search", json=_raster_body(server, name, queries=["lake"], k=3))
    assert r.status_code == 200 and len(r.json()["layers"]["hits"]["features"]) == 3
    # a declared length past the limit is refused before the body is read (the limit while reading a
    # body without a length is tested on UploadWriter)
    import http.client

    host, port = server["state"]["url"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("PUT", f"/uploads/{digest}")
    conn.putheader("Authorization", f"Bearer {server['state']['token']}")
    conn.putheader("Content-Length", str(1 << 40))
    conn.endheaders()
    conn.send(b"x" * 10)
    answer = conn.getresponse()
    assert answer.status == 413 and b"request body over" in answer.read()
    conn.close()
    r = c.put("/uploads/not-a-digest", content=data)
    assert r.status_code == 400 and "not an upload id" in r.json()["error"]
    r = c.post("/search", json=_raster_body(server, "upload:" + "b" * 64, queries=["lake"]))
    assert r.status_code == 404 and "send the rendered raster again" in r.json()["error"]


@pytest.mark.parametrize(
    "path, patch, status, needle",
    [
        ("/embed", {"raster": "/nonexistent/x.tif"}, 404, "raster not found"),
        ("/embed", {"model": "no-such"}, 404, "unknown model"),
        ("/embed", {"overlap": 2.0}, 400, "overlap"),
        ("/search", {"queries": [""]}, 400, "empty"),
        ("/search", {"queries": ["lake"], "k": 0}, 400, "k must be at least 1"),
        ("/classify", {"classes": ["a", "A"]}, 400, "listed twice"),
        ("/search", {"queries": ["lake"], "heatmap": "/nonexistent/heat.tif"}, 400, "does not exist"),
        ("/classify", {"classes": ["a", "b"], "class_raster": "/nonexistent/c.tif"}, 400, "does not exist"),
    ],
)
def test_bad_requests_get_one_line_errors(server, path, patch, status, needle):
    raster = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"
    body = _raster_body(server, raster)
    body.update(patch)
    r = server["client"].post(path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert needle in err and "\n" not in err and "Traceback" not in err
    assert server["state"]["token"] not in r.text


def test_cancel_stops_a_job_and_leaves_no_store(server):
    c = server["client"]
    big = server["tmp"] / "big.tif"
    rng = np.random.default_rng(1)
    with rasterio.open(big, "w", driver="GTiff", width=2400, height=2400, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.transform.from_origin(400000, 6000000, 1, 1),
                       tiled=True) as dst:
        dst.write(rng.integers(1, 255, (3, 2400, 2400), dtype=np.uint8))
    r = c.post("/embed", json=_raster_body(server, big, tile_size=32, batch_size=8))
    job_id = r.json()["id"]
    time.sleep(0.5)
    c.post(f"/jobs/{job_id}/cancel")
    t0 = time.perf_counter()
    job = _wait(c, job_id, timeout=30)
    assert job["state"] == "cancelled" and time.perf_counter() - t0 < 5
    stores = server["tmp"] / "cache" / "stores"
    leftovers = [p.name for p in stores.iterdir()] if stores.exists() else []
    r = c.post("/search", json=_raster_body(server, big, tile_size=32, queries=["x"]))
    assert r.status_code == 409  # nothing half-written was taken for a store
    assert all(not name.endswith(".tmp") for name in leftovers)


def test_sigterm_stops_and_removes_the_state_file(server):
    proc = server["proc"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert not server["state_file"].exists()


def test_backend_exits_when_its_parent_is_gone(tmp_path):
    """--parent-pid: a backend started by QGIS stops when QGIS dies without stopping it."""
    parent = subprocess.Popen(["sleep", "120"])
    state_file = tmp_path / "backend.json"
    proc, _ = start_serve(state_file, backend_env(tmp_path / "cache"), "--parent-pid", str(parent.pid))
    try:
        parent.kill()
        parent.wait()
        assert proc.wait(timeout=15) == 0
        assert not state_file.exists()
    finally:
        for p in (parent, proc):
            if p.poll() is None:
                p.kill()


def test_parent_pid_that_does_not_exist_is_refused(tmp_path):
    proc = subprocess.run([PYTHON, "-m", "backend", "serve", "--port", "0", "--state-file",
                           str(tmp_path / "b.json"), "--parent-pid", "999999"], cwd=ROOT,
                          env=backend_env(tmp_path / "cache"), capture_output=True, text=True, timeout=90)
    assert proc.returncode == 2 and "--parent-pid 999999 is not a running process" in proc.stderr
    assert not (tmp_path / "b.json").exists()

