"""One real backend process (``python -m backend serve``) shared by the reliability tests.

Started once per session because a start costs seconds (torch import): access, bad-input, fuzzing
and load tests all talk to it over real HTTP on loopback. It runs with a disk budget
(``REMOTECLIP_DISK_BUDGET_MB``) small enough that a large raster is refused and the test rasters fit.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT, backend_env, start_serve

DISK_BUDGET_MB = 50
MAX_UPLOAD_MB = 2
SAMPLE = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"


class LiveServer:
    """A running backend: its URL, token, process, and an authorised client."""

    def __init__(self, proc: subprocess.Popen, state: dict, tmp: Path, weights: str, log: Path) -> None:
        self.proc, self.state, self.tmp, self.weights, self.log = proc, state, tmp, weights, log
        self.expected_tracebacks = 0  # internal errors a test provokes on purpose
        self.url: str = state["url"]
        self.token: str = state["token"]
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"},
                                   timeout=120)

    def body(self, raster: str | Path, **extra) -> dict:
        """A request body for ``raster`` with the tiny test model and 64 px tiles."""
        body = {"raster": str(raster), "model": "tiny-local", "weights": self.weights, "tile_size": 64}
        body.update(extra)
        return body

    def wait(self, job_id: str, timeout: float = 120) -> dict:
        deadline = time.time() + timeout
        while True:
            job = self.client.get(f"/jobs/{job_id}").json()
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            assert time.time() < deadline, job
            time.sleep(0.05)

    def embed(self, raster: str | Path, **extra) -> dict:
        """Embed ``raster`` and wait for the job; returns the finished job."""
        r = self.client.post("/embed", json=self.body(raster, **extra))
        assert r.status_code == 202, r.text
        return self.wait(r.json()["id"])

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, tiny_weights) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("reliability-server")
    state_file = tmp / "state" / "backend.json"
    log = tmp / "stderr.log"
    env = backend_env(tmp / "cache", REMOTECLIP_DISK_BUDGET_MB=str(DISK_BUDGET_MB),
                      REMOTECLIP_MAX_UPLOAD_MB=str(MAX_UPLOAD_MB))
    with open(log, "w") as err:
        proc, state = start_serve(state_file, env, stderr=err)
    server = LiveServer(proc, state, tmp, str(tiny_weights), log)
    try:
        yield server
    finally:
        server.client.close()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
    # whatever the tests sent, the server printed no traceback but for the internal errors provoked on purpose
    text = log.read_text(errors="replace")
    assert text.count("Traceback") == server.expected_tracebacks, text[-5000:]
