"""A catalogue of rasters searched as one: incremental index, hits naming their rasters in EPSG:4326, rasters
that change or vanish, the HTTP routes and torchrun sharing rasters out by rank (tiny random model: plumbing)."""

from __future__ import annotations

import json
import os
import subprocess

import fiona
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from backend.app import service
from backend.app.cli import main
from backend.embedding.store import EmbeddingStore
from backend.query import catalog as catalogs

from .. import raster_factory as rf
from ..conftest import PYTHON, ROOT, backend_env, wait_for_job


def model_args(weights) -> list[str]:
    return ["--model", "tiny-local", "--weights", str(weights), "--device", "cpu", "--tile-size", "32"]


@pytest.fixture
def rasters(tmp_path):
    return [rf.rgb_uint8(tmp_path, 96, 64, name=f"r{i}.tif", seed=i) for i in range(3)]


def hits_of(capsys) -> list[list[str]]:
    out = capsys.readouterr().out.splitlines()
    return [line.split() for line in out[2:]]


def test_add_then_search_across_rasters(cache_dir, rasters, tiny_weights, tmp_path, capsys):
    assert main(["catalog", "add", "scenes", str(rasters[0]), str(rasters[1]), *model_args(tiny_weights)]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added == {"catalog": "scenes", "rasters": 2, "embedded": 2, "model": "tiny-local"}
    folder = catalogs.catalog_dir("scenes")
    first_keys = json.loads((folder / "index.json").read_text())["keys"]
    assert main(["search", "--catalog", "scenes", "lake", "-k", "8", "-o", str(tmp_path / "hits.gpkg")]) == 0
    rows = hits_of(capsys)
    assert len(rows) == 8 and {r[3] for r in rows} <= {str(rasters[0]), str(rasters[1])}
    scores = [float(r[1]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    with fiona.open(tmp_path / "hits.gpkg", layer="catalog_hits") as layer:
        assert layer.crs.to_epsg() == 4326 and len(layer) == 8
        for f in layer:
            lon, lat = np.asarray(f.geometry["coordinates"][0]).T
            assert (-180 <= lon).all() and (lon <= 180).all() and (-90 <= lat).all() and (lat <= 90).all()
    # Incremental: the third raster's store is appended to the same index.
    assert main(["catalog", "add", "scenes", str(rasters[2]), *model_args(tiny_weights)]) == 0
    capsys.readouterr()
    keys = json.loads((folder / "index.json").read_text())["keys"]
    assert keys[:2] == first_keys and len(keys) == 3
    built = catalogs.update_index(catalogs.load_catalog("scenes"),
                                  [EmbeddingStore.load(cache_dir / "stores" / k) for k in keys])
    assert built.index.ntotal == sum(EmbeddingStore.load(cache_dir / "stores" / k).n_tiles for k in keys)


def test_the_best_hit_is_the_exact_best_tile_over_all_rasters(cache_dir, rasters, tiny_weights, tiny_model):
    from backend.app.orchestration import RasterSpec, Workspace, catalog_add, catalog_search, embed
    from backend.query.prompts import phrase_embedding
    from backend.raster.reader import TilingParams

    ws = Workspace("cpu", load_model=lambda *a, **k: tiny_model)
    ws.when_missing = lambda prepared: embed(ws, prepared).store
    spec = RasterSpec("", "tiny-local", str(tiny_weights), tiling=TilingParams(tile_px=32, overlap=0.5))
    cat = catalog_add(ws, "exact", [str(r) for r in rasters], spec)
    answer = catalog_search(ws, "exact", ["forest"], k=5)
    stores = [EmbeddingStore.load(cache_dir / "stores" / e.store) for e in cat.entries]
    q = phrase_embedding(tiny_model, ["forest"], tiny_model.spec.prompt_templates)
    best = max((float(np.max(np.asarray(s.embeddings) @ q)), i) for i, s in enumerate(stores))
    assert answer.result[0].score == pytest.approx(best[0], abs=1e-5) and answer.result[0].entry == best[1]
    for entry in {h.entry for h in answer.result}:  # distinct within each raster: no two hits overlap
        windows = stores[entry].windows[[h.row for h in answer.result if h.entry == entry]]
        for i in range(len(windows)):
            for j in range(i + 1, len(windows)):
                a, b = windows[i], windows[j]
                assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_a_changed_raster_is_embedded_again_and_a_vanished_one_is_one_line(cache_dir, rasters, tiny_weights, capsys):
    assert main(["catalog", "add", "dates", str(rasters[0]), str(rasters[1]), *model_args(tiny_weights)]) == 0
    capsys.readouterr()
    old = catalogs.load_catalog("dates").entries[1].store
    with rasterio.open(rasters[1], "r+") as dst:  # new content, same file
        dst.write(np.full((3, 64, 96), 200, dtype=np.uint8))
    os.utime(rasters[1], ns=(os.stat(rasters[1]).st_atime_ns, os.stat(rasters[1]).st_mtime_ns + 10**9))
    assert main(["search", "--catalog", "dates", "lake", "-k", "3"]) == 0
    capsys.readouterr()
    new = catalogs.load_catalog("dates").entries[1].store
    assert new != old and json.loads((catalogs.catalog_dir("dates") / "index.json").read_text())["keys"][1] == new
    rasters[0].unlink()
    assert main(["search", "--catalog", "dates", "lake"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is gone: restore it, or remove it with 'catalog remove dates" in err[0]
    assert main(["catalog", "remove", "dates", str(rasters[0])]) == 0
    assert main(["search", "--catalog", "dates", "lake", "-k", "2"]) == 0
    assert len(hits_of(capsys)) == 2


def test_refusals(cache_dir, rasters, tiny_weights, tmp_path, capsys):
    nocrs = rf.no_crs(tmp_path)
    assert main(["catalog", "add", "bad", str(rasters[0]), str(nocrs), *model_args(tiny_weights)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no CRS" in err[0] and not catalogs.catalog_dir("bad").exists()
    assert main(["search", "--catalog", "nope", "lake"]) == 2
    assert "no catalogue 'nope'" in capsys.readouterr().err
    assert main(["catalog", "add", "bad name!", str(rasters[0]), *model_args(tiny_weights)]) == 2
    assert "catalogue name" in capsys.readouterr().err


def test_http_lists_and_searches_and_names_a_raster_to_embed_again(cache_dir, rasters, tiny_weights, capsys):
    assert main(["catalog", "add", "web", str(rasters[0]), str(rasters[1]), *model_args(tiny_weights)]) == 0
    capsys.readouterr()
    headers = {"Authorization": "Bearer t"}
    with TestClient(service.create_app("t", device="cpu"), base_url="http://127.0.0.1") as client:
        assert client.get("/catalogs", headers=headers).json() == [
            {"name": "web", "model": "tiny-local", "rasters": 2, "embedded": 2}]
        r = client.post("/catalog/search", json={"catalog": "web", "queries": ["lake"], "k": 4}, headers=headers)
        assert r.status_code == 200, r.text
        features = r.json()["layers"]["catalog_hits"]["features"]
        assert len(features) == 4 and {f["properties"]["raster"] for f in features} <= {str(p) for p in rasters}
        with rasterio.open(rasters[0], "r+") as dst:
            dst.write(np.zeros((3, 64, 96), dtype=np.uint8))
        os.utime(rasters[0], ns=(os.stat(rasters[0]).st_atime_ns, os.stat(rasters[0]).st_mtime_ns + 10**9))
        r = client.post("/catalog/search", json={"catalog": "web", "queries": ["lake"]}, headers=headers)
        assert r.status_code == 409 and r.json()["raster"] == str(rasters[0])
        missing = client.post("/catalog/search", json={"catalog": "none", "queries": ["lake"]}, headers=headers)
        assert missing.status_code == 404


def test_torchrun_shares_the_rasters_out_by_rank(tmp_path, rasters, tiny_weights):
    """Two CPU processes: each embeds its share of whole rasters, rank 0 writes the index; the stores are the
    ones a single process writes (same keys)."""
    cache = tmp_path / "cache"
    torchrun = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    args = ["-m", "backend", "catalog", "add", "spread", *map(str, rasters), *model_args(tiny_weights)]
    done = subprocess.run(torchrun + args, cwd=ROOT, env=backend_env(cache), capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1 and json.loads(reports[0])["embedded"] == 3  # rank 0 alone reports
    for rank in (0, 1):
        assert f"embedding (rank {rank})" not in done.stderr  # whole rasters per rank, not shared batches
    spread = json.loads((cache / "catalogs" / "spread" / "catalog.json").read_text())
    single_cache = tmp_path / "single"
    one = subprocess.run([PYTHON, *args[:4], "one", *args[5:]], cwd=ROOT, env=backend_env(single_cache),
                         capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-3000:]
    single = json.loads((single_cache / "catalogs" / "one" / "catalog.json").read_text())
    assert [e["store"] for e in spread["entries"]] == [e["store"] for e in single["entries"]]


def test_http_adds_rasters_as_a_job_re_embeds_a_changed_one_and_removes(cache_dir, rasters, tiny_weights, tmp_path):
    """POST /catalogs/{name}/rasters over HTTP: a job over the tiles of every raster to embed; a raster changed on
    disk makes the search answer 409 naming it, adding it again embeds it again and the search answers 200."""
    headers = {"Authorization": "Bearer t"}
    body = {"rasters": [str(rasters[0]), str(rasters[1])], "model": "tiny-local", "weights": str(tiny_weights),
            "tile_size": 32}
    with TestClient(service.create_app("t", device="cpu"), base_url="http://127.0.0.1") as client:
        r = client.post("/catalogs/city/rasters", json=body, headers=headers)
        assert r.status_code == 202, r.text
        job = wait_for_job(client, r.json(), headers)
        assert job["state"] == "done", job
        assert job["kind"] == "catalog" and job["total"] == 12 and job["done"] == 12  # 2 rasters x 3 x 2 tiles
        assert job["result"] == {"name": "city", "model": "tiny-local", "rasters": 2, "embedded": 2, "added": 2}
        assert client.get("/catalogs", headers=headers).json() == [
            {"name": "city", "model": "tiny-local", "rasters": 2, "embedded": 2}]
        search = {"catalog": "city", "queries": ["lake"], "k": 12}
        r = client.post("/catalog/search", json=search, headers=headers)
        assert r.status_code == 200, r.text
        assert {f["properties"]["raster"] for f in r.json()["layers"]["catalog_hits"]["features"]} == {
            str(rasters[0]), str(rasters[1])}
        # adding a raster already embedded embeds nothing (its store is reused): no tiles to do
        readd = client.post("/catalogs/city/rasters", json={"rasters": [str(rasters[1])]}, headers=headers)
        again = wait_for_job(client, readd.json(), headers)
        assert again["state"] == "done" and again["result"]["rasters"] == 2 and again["total"] == 1

        with rasterio.open(rasters[0], "r+") as dst:  # new content, same file
            dst.write(np.full((3, 64, 96), 7, dtype=np.uint8))
        os.utime(rasters[0], ns=(os.stat(rasters[0]).st_atime_ns, os.stat(rasters[0]).st_mtime_ns + 10**9))
        r = client.post("/catalog/search", json=search, headers=headers)
        assert r.status_code == 409 and r.json()["raster"] == str(rasters[0])
        old = catalogs.load_catalog("city").entries[0].store
        redo = client.post("/catalogs/city/rasters", json={"rasters": [r.json()["raster"]]}, headers=headers)
        job = wait_for_job(client, redo.json(), headers)
        assert job["state"] == "done" and job["total"] == 6 and job["done"] == 6  # that raster alone, again
        assert catalogs.load_catalog("city").entries[0].store not in (None, old)
        r = client.post("/catalog/search", json=search, headers=headers)
        assert r.status_code == 200, r.text

        r = client.post("/catalogs/city/remove", json={"rasters": [str(rasters[1])]}, headers=headers)
        assert r.status_code == 200 and r.json()["rasters"] == 1, r.text
        r = client.post("/catalog/search", json=search, headers=headers)
        assert {f["properties"]["raster"] for f in r.json()["layers"]["catalog_hits"]["features"]} == {
            str(rasters[0])}
        r = client.post("/catalogs/city/remove", json={"rasters": [str(rasters[1])]}, headers=headers)
        assert r.status_code == 404 and "has no raster" in r.json()["error"]
        assert client.delete("/catalogs/city", headers=headers).status_code == 200
        assert client.get("/catalogs", headers=headers).json() == []
        assert client.delete("/catalogs/city", headers=headers).status_code == 404


def test_http_add_refuses_bad_input_in_one_line_and_cancels(cache_dir, rasters, tiny_weights, tmp_path):
    headers = {"Authorization": "Bearer t"}
    model = {"model": "tiny-local", "weights": str(tiny_weights), "tile_size": 32}
    nocrs = rf.no_crs(tmp_path)
    with TestClient(service.create_app("t", device="cpu"), base_url="http://127.0.0.1") as client:
        r = client.post("/catalogs/bad/rasters", json={"rasters": [str(rasters[0]), str(nocrs)], **model},
                        headers=headers)
        assert r.status_code == 400 and "has no CRS" in r.json()["error"] and "\n" not in r.json()["error"]
        assert not catalogs.catalog_dir("bad").exists()
        r = client.post("/catalogs/bad name!/rasters", json={"rasters": [str(rasters[0])], **model}, headers=headers)
        assert r.status_code == 400 and "catalogue name" in r.json()["error"]
        r = client.post("/catalogs/bad/rasters", json={"rasters": [str(tmp_path / "none.tif")], **model},
                        headers=headers)
        assert r.status_code == 404 and "not found" in r.json()["error"]
        assert client.post("/catalogs/bad/rasters", json={"rasters": [], **model}, headers=headers).status_code == 422
        r = client.post("/catalogs/nope/remove", json={"rasters": [str(rasters[0])]}, headers=headers)
        assert r.status_code == 404 and "no catalogue 'nope'" in r.json()["error"]
        # cancelled: the job stops, nothing is written for the catalogue
        big = rf.rgb_uint8(tmp_path, 1024, 1024, name="big.tif", seed=5)
        r = client.post("/catalogs/big/rasters", json={"rasters": [str(big)], **model, "tile_size": 8},
                        headers=headers)
        client.post(f"/jobs/{r.json()['id']}/cancel", headers=headers)
        job = wait_for_job(client, r.json(), headers)
        assert job["state"] == "cancelled", job
        assert not (catalogs.catalog_dir("big") / "catalog.json").exists()
