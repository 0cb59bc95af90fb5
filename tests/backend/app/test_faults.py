"""Faults during embedding, injected for real: the process killed with SIGKILL half-way (the job resumes
after its last chunk and the store equals an uninterrupted run's), the disk refusing writes (the kernel's
file size limit: EFBIG, as a full disk gives ENOSPC) and pixels that cannot be read mid-job (one-line
error, no store, no partial chunks)."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import rasterio

from backend.embedding.checkpoint import partial_path
from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.embedding.store import find_store
from backend.raster.reader import TilingParams

from ..conftest import ROOT, SAMPLE, backend_env, start_serve

PARAMS = TilingParams(tile_px=16)  # 2,714 tiles of the NAIP sample: a few seconds for the tiny model

EMBED_SCRIPT = textwrap.dedent("""
    import sys
    from backend.embedding.pipeline import embed_raster, plan_embedding
    from backend.models.factory import load_model
    from backend.raster.reader import TilingParams
    model = load_model("tiny-local", weights=sys.argv[2], device="cpu")
    plan = plan_embedding(sys.argv[1], model.identity, "tiny-local", model.image_size, TilingParams(tile_px=16))
    print(plan.key, flush=True)
    embed_raster(plan, model, batch_size=32, workers=1)
    print("done", flush=True)
""")


def _embed_in_process(raster, tiny_model, progress=None):
    plan = plan_embedding(str(raster), tiny_model.identity, "tiny-local", tiny_model.image_size, PARAMS)
    return plan, embed_raster(plan, tiny_model, batch_size=32, workers=1, progress=progress)


def _chunks(cache: Path, key: str) -> list[Path]:
    folder = partial_path(key, cache)
    return sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []


def test_killed_job_resumes_after_its_last_chunk_and_equals_an_uninterrupted_run(tmp_path, tiny_weights,
                                                                                 tiny_model, monkeypatch):
    raster = tmp_path / "scene.tif"
    raster.write_bytes(SAMPLE.read_bytes())
    cache = tmp_path / "cache"
    env = backend_env(cache, REMOTECLIP_CHECKPOINT_S="0")  # a chunk after every batch
    proc = subprocess.Popen([sys.executable, "-c", EMBED_SCRIPT, str(raster), str(tiny_weights)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    key = proc.stdout.readline().strip()
    deadline = time.time() + 120
    while len(_chunks(cache, key)) < 10:
        assert proc.poll() is None, "the job ended before it could be killed: " + proc.stderr.read()[-2000:]
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert find_store(key, cache) is None               # no store, and nothing a query could mistake for one
    assert not list((cache / "stores").glob("*")) if (cache / "stores").exists() else True
    saved = len(_chunks(cache, key))

    monkeypatch.setenv("REMOTECLIP_CACHE", str(cache))
    seen: list[int] = []
    plan, resumed = _embed_in_process(raster, tiny_model, progress=lambda done, total: seen.append(done))
    assert plan.key == key
    assert seen[0] >= saved * 32                          # started after the finished batches
    assert not partial_path(key, cache).exists()          # chunks removed once the store is written

    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "fresh"))
    _, fresh = _embed_in_process(raster, tiny_model)
    assert resumed.n_tiles == fresh.n_tiles == plan.grid.n_tiles
    assert np.array_equal(resumed.windows, fresh.windows) and np.array_equal(resumed.valid, fresh.valid)
    assert np.allclose(resumed.embeddings, fresh.embeddings, atol=1e-6)


def _limit_file_size(limit: int):
    def apply() -> None:  # in the child: the kernel refuses writes past ``limit`` bytes (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_refusing_writes_ends_the_job_in_one_line_with_nothing_left(tmp_path, tiny_weights):
    raster = tmp_path / "scene.tif"
    raster.write_bytes(SAMPLE.read_bytes())
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "backend", "embed", str(raster), "--model", "tiny-local", "--weights",
           str(tiny_weights), "--tile-size", "16"]
    # chunks (32 tiles each) fit under 64 kB; the store's embeddings (2,714 tiles) do not
    proc = subprocess.run(cmd, cwd=ROOT, env=backend_env(cache, REMOTECLIP_CHECKPOINT_S="0"),
                          capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size(64_000))
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip() and "embedding:" not in ln]
    assert lines and "cannot write embeddings" in lines[-1] and "free some disk space" in lines[-1], proc.stderr[-2000:]
    assert "File too large" in lines[-1] or "the disk took only part of a write" in lines[-1]
    assert "Traceback" not in proc.stderr
    stores = cache / "stores"
    assert not stores.exists() or not any(stores.iterdir())   # no store, no temporary folder
    assert not any((cache / "partial").glob("*/*")) if (cache / "partial").exists() else True


def test_unreadable_pixels_mid_job_end_it_in_one_line(tmp_path, tiny_weights):
    raster = tmp_path / "damaged.tif"
    rng = np.random.default_rng(3)
    with rasterio.open(raster, "w", driver="GTiff", width=1024, height=1024, count=3, dtype="uint8",
                       crs="EPSG:32633", transform=rasterio.Affine(1, 0, 400000, 0, -1, 6000000), tiled=True,
                       blockxsize=256, blockysize=256, compress="deflate") as dst:
        dst.write(rng.integers(0, 255, (3, 1024, 1024), dtype=np.uint8))
    data = bytearray(raster.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(4096)            # a damaged stretch in the middle of the file
    raster.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "backend", "embed", str(raster), "--model", "tiny-local", "--weights",
           str(tiny_weights), "--tile-size", "64"]
    proc = subprocess.run(cmd, cwd=ROOT, env=backend_env(cache, REMOTECLIP_CHECKPOINT_S="0"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1]
    assert "cannot read the pixels" in last or "damaged" in last, proc.stderr[-2000:]
    stores = cache / "stores"
    assert not stores.exists() or not any(stores.iterdir())
    assert not (cache / "partial").exists() or not any((cache / "partial").glob("*/*"))


def test_cancel_through_the_service_stops_within_a_second(tmp_path, tiny_weights):
    """A real service process: cancel a running embed job; the time until the job says so is reported."""
    import httpx

    proc, state = start_serve(tmp_path / "state.json", backend_env(tmp_path / "cache"), stderr=subprocess.DEVNULL)
    try:
        client = httpx.Client(base_url=state["url"], headers={"Authorization": f"Bearer {state['token']}"},
                              timeout=60)
        raster = tmp_path / "scene.tif"
        raster.write_bytes(SAMPLE.read_bytes())
        body = {"raster": str(raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 8}
        job = client.post("/embed", json=body).json()
        while job["done"] < 200:
            job = client.get(f"/jobs/{job['id']}").json()
            assert job["state"] in ("queued", "running"), job
        t0 = time.monotonic()
        client.post(f"/jobs/{job['id']}/cancel")
        while job["state"] in ("queued", "running"):
            time.sleep(0.01)
            job = client.get(f"/jobs/{job['id']}").json()
        latency = time.monotonic() - t0
        print(f"cancel latency: {latency * 1000:.0f} ms")
        assert job["state"] == "cancelled" and job["done"] < job["total"]
        assert latency < 5.0   # the target is one second; CI machines are shared, docs/RELIABILITY.md has it
        cache = tmp_path / "cache"
        assert not (cache / "stores").exists() or not any((cache / "stores").iterdir())
        assert not (cache / "partial").exists() or not any((cache / "partial").glob("*/*"))
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
