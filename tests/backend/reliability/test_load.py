"""Load on loopback: 16 concurrent clients send a fixed number of /search and /classify requests while
an embedding job runs in the same server. Every request must succeed; p50/p99 latency is reported
(printed, and written as JSON to ``$REMOTECLIP_RELIABILITY_OUT`` or pytest's tmp folder).
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import numpy as np

from .. import raster_factory as rf
from .conftest import LiveServer

CLIENTS = 16
REQUESTS_PER_CLIENT = 25


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1)}


def test_sixteen_clients_query_while_an_embedding_runs(live_server: LiveServer, tmp_path):
    c = live_server.client
    queried = rf.rgb_uint8(tmp_path, width=640, height=640, name="queried.tif", seed=11)  # 100 tiles of 64 px
    assert live_server.embed(queried)["state"] == "done"
    # the background job: big enough to outlast the load (cancelled at the end)
    busy = rf.rgb_uint8(tmp_path, width=2048, height=2048, name="busy.tif", seed=12)
    job_id = c.post("/embed", json=live_server.body(busy, tile_size=32, batch_size=16)).json()["id"]
    deadline = time.time() + 30
    while c.get(f"/jobs/{job_id}").json()["state"] != "running":
        assert time.time() < deadline
        time.sleep(0.05)

    bodies = [
        ("/search", live_server.body(queried, queries=["storage tanks"], k=5)),
        ("/search", live_server.body(queried, queries=["湖", "lake"], k=3, include_surface=False)),
        ("/classify", live_server.body(queried, classes=["forest", "water", "buildings"])),
    ]
    latencies: dict[str, list[float]] = {"/search": [], "/classify": []}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=120,
                          headers={"Authorization": f"Bearer {live_server.token}"}) as own:
            start.wait()  # all 16 start together
            for n in range(REQUESTS_PER_CLIENT):
                route, body = bodies[(index + n) % len(bodies)]
                t0 = time.perf_counter()
                try:
                    r = own.post(route, json=body)
                    ok = r.status_code == 200 and "layers" in r.json()
                    problem = None if ok else f"{route} {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    problem = f"{route} {type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies[route].append(elapsed)
                    if problem:
                        errors.append(problem)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    wall = time.perf_counter() - t0
    job = c.get(f"/jobs/{job_id}").json()
    embedding_overlapped = job["state"] == "running" or (job["finished"] or 0) > job["created"] + wall * 0.5
    c.post(f"/jobs/{job_id}/cancel")
    final = live_server.wait(job_id, timeout=60)

    served = sum(len(v) for v in latencies.values())
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "clients": CLIENTS, "requests": served, "errors": len(errors), "wall_s": round(wall, 2),
        "throughput_rps": round(served / wall, 1),
        "all": _percentiles(latencies["/search"] + latencies["/classify"]),
        "search": _percentiles(latencies["/search"]), "classify": _percentiles(latencies["/classify"]),
        "embedding_job": {"tiles_done_during_load": job["done"], "tiles": job["total"],
                          "state_after_load": job["state"], "final_state": final["state"]},
    }
    out = Path(os.environ.get("REMOTECLIP_RELIABILITY_OUT") or tmp_path) / "load_test.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print("\nload test:", json.dumps(report))

    assert not errors, errors[:5]
    assert served == CLIENTS * REQUESTS_PER_CLIENT
    assert embedding_overlapped and job["done"] > 0, job  # the queries really ran beside an embedding
    assert final["state"] in ("cancelled", "done")
    assert c.get("/health").json()["status"] == "ok"
