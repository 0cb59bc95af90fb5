"""``GET /models`` (sizes, downloadable) and ``POST /models/{name}/download`` on a real backend process over real
HTTP, the weights served by a loopback server (Hugging Face is not reachable here); every error line an HTTP client
shows its user is free of command-line flags."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request

import pytest

from tests.backend.conftest import backend_env, start_serve
from tests.weights_server import WeightsServer, random_file


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_weights):
    """A backend whose registry adds three local models: one from a release URL, one slow and large, one with no
    download address; its data home (where downloads go) is private."""
    tmp = tmp_path_factory.mktemp("download-http")
    server = WeightsServer()
    data = tiny_weights.read_bytes()
    big = random_file(tmp / "big.pt", 4_000_000)
    entries = [
        {"name": "release-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/release-model.pt", "download_url": server.add_file("r.pt", tiny_weights),
         "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        {"name": "slow-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/slow-model.pt", "download_url": server.add_file("big.pt", big)},
        {"name": "no-url-model", "arch": "Tiny-ViT-Test", "source": "local", "licence": "test only",
         "default_path": "{home}/weights/no-url.pt"},
    ]
    registry = tmp / "models.json"
    registry.write_text(json.dumps(entries))
    home = tmp / "home"
    env = backend_env(tmp / "cache", REMOTECLIP_HOME=str(home), REMOTECLIP_EXTRA_MODELS=str(registry))
    proc, state = start_serve(tmp / "state.json", env)
    try:
        yield state, server, home, data
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.close()


def call(state, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    req = urllib.request.Request(state["url"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {state['token']}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait(state, job_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, job = call(state, "GET", f"/jobs/{job_id}")
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_download_job_fetches_the_weights_and_models_report_them(served):
    state, server, home, data = served
    _, models = call(state, "GET", "/models")
    entry = {m["name"]: m for m in models}["release-model"]
    assert entry["present"] is False and entry["downloadable"] is True and entry["size_bytes"] == len(data)
    status, job = call(state, "POST", "/models/release-model/download")
    assert status == 202 and job["kind"] == "download"
    job = wait(state, job["id"])
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == len(data) and job["result"]["size_bytes"] == len(data)
    assert (home / "weights" / "release-model.pt").read_bytes() == data
    _, models = call(state, "GET", "/models")
    entry = {m["name"]: m for m in models}["release-model"]
    assert entry["present"] is True and entry["size_bytes"] == len(data)


def test_a_cancelled_download_keeps_nothing(served):
    state, server, home, _ = served
    server.slow_s = 0.05  # 64 KiB every 50 ms: about 3 s for the 4 MB file
    try:
        _, job = call(state, "POST", "/models/slow-model/download")
        deadline = time.monotonic() + 20
        while job["done"] == 0:  # some bytes have arrived
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
            _, job = call(state, "GET", f"/jobs/{job['id']}")
        again = call(state, "POST", "/models/slow-model/download")[1]
        assert again["id"] == job["id"]  # a second click joins the running download
        call(state, "POST", f"/jobs/{job['id']}/cancel")
        job = wait(state, job["id"])
    finally:
        server.slow_s = 0.0
    assert job["state"] == "cancelled" and 0 < job["done"] < 4_000_000
    assert sorted(p.name for p in (home / "weights").iterdir() if "slow" in p.name) == []


def test_refusals_are_one_line_without_command_line_flags(served, sample_raster):
    state = served[0]
    status, body = call(state, "POST", "/models/no-url-model/download")
    assert status == 400 and "no download address" in body["error"]
    status, body = call(state, "POST", "/models/no-such-model/download")
    assert status == 404 and "unknown model 'no-such-model'" in body["error"]
    lines = [body["error"]]
    for extra in ({"model": "no-url-model"}, {"model": "remoteclip-vit-l-14"}, {"tile_size": 3},
                  {"bands": [9, 9, 9]}):
        status, body = call(state, "POST", "/estimate", {"raster": str(sample_raster), "model": "release-model",
                                                         **extra})
        assert 400 <= status < 500, body
        lines.append(body["error"])
    _, models = call(state, "GET", "/models")
    lines += [m["where"] for m in models]
    assert all("\n" not in line and "--" not in line for line in lines), lines
    assert any("choose its weights file" in line for line in lines), lines
