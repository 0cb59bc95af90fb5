"""Fixtures for backend tests that run the tiny random-weight model over real rasters.

Random weights test plumbing only: no assertion here is about retrieval quality.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"
SHARED_RASTERS = ROOT.parent / "shared" / "data" / "rasters"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private embedding cache for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("REMOTECLIP_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_weights):
    from backend.models.factory import load_model

    return load_model("tiny-local", weights=str(tiny_weights), device="cpu")


@pytest.fixture
def sample_raster(tmp_path) -> Path:
    """A private copy of the shipped NAIP sample (tests may touch or change it)."""
    dst = tmp_path / SAMPLE.name
    shutil.copy(SAMPLE, dst)
    return dst


def wait_for_job(client, job: dict, headers: dict | None = None, timeout: float = 120.0) -> dict:
    """Poll a service job (a ``POST /embed`` or catalogue answer, or ``{"id": ...}``) until it leaves queued/running;
    returns its last status. Fails the test past ``timeout`` seconds."""
    deadline = time.time() + timeout
    job = job if "state" in job else client.get(f"/jobs/{job['id']}", headers=headers).json()
    while job["state"] in ("queued", "running"):
        assert time.time() < deadline, job
        time.sleep(0.05)
        job = client.get(f"/jobs/{job['id']}", headers=headers).json()
    return job


def backend_env(cache: Path, **extra: str) -> dict[str, str]:
    """Environment for a backend subprocess: private cache, offline hub, the tests' extra models."""
    env = dict(os.environ)
    env.update({"REMOTECLIP_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


PYTHON = sys.executable


def start_serve(state_file: Path, env: dict[str, str], *args: str, stderr=None, text: bool = False,
                timeout: float = 90.0) -> tuple[subprocess.Popen, dict]:
    """``python -m backend serve --port 0 --state-file STATE_FILE *ARGS`` as a real process; waits for its
    state file and returns (process, state). Fails the test if the process dies or does not start."""
    proc = subprocess.Popen([PYTHON, "-m", "backend", "serve", "--port", "0", "--state-file", str(state_file),
                             *args], cwd=ROOT, env=env, stderr=stderr, stdout=subprocess.DEVNULL, text=text)
    deadline = time.time() + timeout
    while not state_file.exists():
        assert proc.poll() is None, f"backend exited with {proc.returncode} while starting"
        assert time.time() < deadline, "backend did not start"
        time.sleep(0.1)
    return proc, json.loads(state_file.read_text())
