"""One orchestration for both doors: how often a request opens its raster and its store, the plan it makes,
the stores a service keeps open, and the one table of HTTP statuses.

In-process (the CLI's ``main`` and Starlette's TestClient) because the counts come from wrapping
``rasterio.open`` and ``EmbeddingStore.load`` in this process.
"""

from __future__ import annotations

import pytest
import rasterio
from fastapi.testclient import TestClient

from backend.app import service
from backend.app.caches import OpenStores, open_stores_limit
from backend.app.cli import main
from backend.app.orchestration import plan_for
from backend.embedding.pipeline import embed_raster, plan_embedding
from backend.embedding.store import EmbeddingStore
from backend.errors import (
    ConflictError,
    InsufficientStorageError,
    JobNotFoundError,
    NotEmbeddedError,
    NotFoundError,
    TooLargeError,
    UserError,
)
from backend.raster.reader import TilingParams, describe
from backend.raster.uploads import UploadTooLarge

from ..conftest import wait_for_job


@pytest.fixture
def opens(monkeypatch) -> dict[str, int]:
    """Counts of ``rasterio.open`` calls (the raster opened) and ``EmbeddingStore.load`` calls (a store read)."""
    counts = {"raster": 0, "store": 0}
    real_open, real_load = rasterio.open, EmbeddingStore.load.__func__

    def counted_open(*args, **kwargs):
        counts["raster"] += 1
        return real_open(*args, **kwargs)

    def counted_load(cls, path):
        counts["store"] += 1
        return real_load(cls, path)

    monkeypatch.setattr(rasterio, "open", counted_open)
    monkeypatch.setattr(EmbeddingStore, "load", classmethod(counted_load))
    return counts


def test_plan_for_agrees_with_plan_embedding(sample_raster, tiny_model):
    params = TilingParams(tile_px=64, overlap=0.25, bands=(3, 2, 1))
    with rasterio.open(sample_raster) as src:
        info = describe(src)
    assert plan_for(info, tiny_model, params) == plan_embedding(str(sample_raster), tiny_model.identity,
                                                                tiny_model.spec.name, tiny_model.image_size, params)


def test_plan_tiles_by_the_models_training_ground_size(sample_raster, tiny_model):
    """With no tile size asked, a model whose registry entry has ``tile_ground_m`` gets tiles of that many
    metres (146.2 m for the small model: 29 px at the sample's 5 m pixels); one without gets its input size."""
    from dataclasses import replace

    with rasterio.open(sample_raster) as src:
        info = describe(src)
    small_like = replace(tiny_model, spec=replace(tiny_model.spec, tile_ground_m=146.2))
    assert plan_for(info, small_like, TilingParams()).grid.tile_px == 29
    assert plan_for(info, tiny_model, TilingParams()).grid.tile_px == tiny_model.image_size
    assert plan_for(info, small_like, TilingParams(tile_px=64)).grid.tile_px == 64


def test_cli_search_on_an_embedded_raster_opens_it_and_its_store_once(cache_dir, sample_raster, tiny_weights,
                                                                      tiny_model, opens, capsys):
    plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                          TilingParams(tile_px=64))
    embed_raster(plan, tiny_model, batch_size=64)
    opens.update(raster=0, store=0)
    argv = ["search", str(sample_raster), "lake", "-k", "3", "--model", "tiny-local", "--weights",
            str(tiny_weights), "--device", "cpu", "--tile-size", "64"]
    assert main(argv) == 0, capsys.readouterr().err
    assert opens == {"raster": 1, "store": 1}  # before: the raster 2 times, the store looked up twice


def test_plugin_flow_plans_once_and_a_second_search_reads_nothing(client, sample_raster, tiny_weights, opens,
                                                                 monkeypatch):
    """The plugin's search of a new raster: /search (409), /estimate, /embed, /search; then /search again."""
    import backend.app.caches as caches

    planned = []  # openings to plan (the embedding job opens the raster again, to read its tiles)
    real_open_raster = caches.open_raster
    monkeypatch.setattr(caches, "open_raster", lambda path: planned.append(path) or real_open_raster(path))
    body = {"raster": str(sample_raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 64}
    search = dict(body, queries=["lake"], k=3)
    assert client.post("/search", json=search).status_code == 409
    assert client.post("/estimate", json=body).json()["embedded"] is False
    r = client.post("/embed", json=body)
    assert r.status_code == 202
    assert len(planned) == 1  # the 409, the estimate and the embed request planned from one opening
    assert wait_for_job(client, {"id": r.json()["id"]})["state"] == "done"
    opens.update(raster=0, store=0)
    first = client.post("/search", json=search)
    assert first.status_code == 200, first.text
    assert opens == {"raster": 0, "store": 0}  # the store the job wrote is kept open
    second = client.post("/search", json=search)
    assert second.json()["layers"] == first.json()["layers"]
    assert opens == {"raster": 0, "store": 0} and len(planned) == 1
    assert client.app.state.workspace.stores.loads == 0


def test_a_store_changed_under_the_service_is_looked_up_again(client, sample_raster, tiny_weights, opens):
    body = {"raster": str(sample_raster), "model": "tiny-local", "weights": str(tiny_weights), "tile_size": 64}
    job = wait_for_job(client, client.post("/embed", json=body).json())
    store = client.app.state.workspace.stores.get(job["result"]["store"])
    (store.path / "tiles.npz").write_bytes(b"damaged")
    r = client.post("/search", json=dict(body, queries=["lake"]))
    assert r.status_code == 409 and "POST /embed first" in r.json()["error"]  # set aside, not served
    assert not store.path.exists() and list(store.path.parent.glob(f".damaged-{store.key}-*"))


def test_open_stores_are_bounded(cache_dir, sample_raster, tiny_model, monkeypatch):
    stores = OpenStores(limit=2)
    for tile in (32, 48, 64):
        plan = plan_embedding(str(sample_raster), tiny_model.identity, "tiny-local", tiny_model.image_size,
                              TilingParams(tile_px=tile))
        stores.put(embed_raster(plan, tiny_model, batch_size=64))
    assert len(stores) == 2
    monkeypatch.setenv("REMOTECLIP_OPEN_STORES", "3")
    assert open_stores_limit() == 3
    monkeypatch.setenv("REMOTECLIP_OPEN_STORES", "0")
    with pytest.raises(UserError, match="REMOTECLIP_OPEN_STORES must be a whole number of stores"):
        open_stores_limit()


def test_errors_are_builtins_and_their_status_comes_from_one_table():
    assert isinstance(NotFoundError("raster not found: x"), FileNotFoundError)
    assert isinstance(InsufficientStorageError("full"), OSError)
    assert isinstance(TooLargeError("big"), ValueError)
    assert str(NotEmbeddedError("/r.tif", "tiny-local")).startswith("/r.tif is not embedded yet with tiny-local")
    cases = [(UserError("x"), 400), (NotFoundError("x"), 404), (JobNotFoundError("abc"), 404),
             (ConflictError("x"), 409), (NotEmbeddedError("r", "m"), 409), (UploadTooLarge("x"), 413),
             (InsufficientStorageError("x"), 507), (ValueError("x"), 500)]
    for exc, status in cases:
        assert service.http_status(exc) == status, exc
    assert not any(hasattr(cls, "status_code") for cls in service.HTTP_STATUS)


def test_host_refusal_and_token_refusal_are_one_line_json(cache_dir):
    app = service.create_app("tok")
    r = TestClient(app, base_url="http://evil.example.com").get("/health")
    assert r.status_code == 403 and r.json() == {"error": "Host header not allowed: use 127.0.0.1 or localhost"}
    r = TestClient(app, base_url="http://[::1]:8000").get("/models", headers={"Authorization": "Bearer tok"})
    assert r.status_code == 200
    anonymous = TestClient(app, base_url="http://localhost")
    # refusals FastAPI makes before the token dependency runs go to a client without the token as 401 too
    for r in (anonymous.get("/openapi.json"), anonymous.get("/no-such-path"), anonymous.delete("/search"),
              anonymous.post("/search", content=b"not json", headers={"Content-Type": "application/json"})):
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and set(r.json()) == {"error"}
    r = anonymous.get("/no-such-path", headers={"Authorization": "Bearer tok"})
    assert (r.status_code, r.json()) == (404, {"error": "Not Found"})


@pytest.mark.parametrize("field, value, line", [
    ("k", 0, "k must be at least 1, got 0"),
    ("k", 10_001, "k = 10001 is too large: ask for at most 10000 hits"),
    ("overlap", 0.95, "overlap must be a fraction from 0 to 0.9, got 0.95"),
    ("min_valid", 2, "minimum valid fraction must be from 0 to 1, got 2"),
    ("tile_size", 4, "tile size must be at least 8 pixels, got 4"),
    ("bands", [1, 2], "bands must name 1 or 3 bands, got 2"),
    ("queries", [], "the query is empty: type what to look for, e.g. 'storage tanks'"),
])
def test_bounds_give_the_same_line_through_both_doors(client, sample_raster, tiny_weights, capsys, field, value,
                                                      line):
    body = {"raster": str(sample_raster), "model": "tiny-local", "queries": ["lake"], field: value}
    r = client.post("/search", json=body)
    assert (r.status_code, r.json()) == (400, {"error": line})
    option = {"k": ["-k", str(value)], "overlap": ["--overlap", str(value)], "min_valid": ["--min-valid", str(value)],
              "tile_size": ["--tile-size", str(value)], "bands": ["--bands", "1,2"], "queries": []}[field]
    argv = ["search", str(sample_raster), *(["lake"] if field != "queries" else [" "]), *option,
            "--model", "tiny-local", "--weights", str(tiny_weights)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    if field != "bands":  # the CLI's --bands is text, parsed with its own line naming the option
        assert err.strip() == f"error: {line}"


def test_no_bands_leaves_the_choice_to_the_raster():
    from backend.app.schemas import RasterRequest

    assert RasterRequest(raster="x", bands=[]).tiling().bands is None
    assert RasterRequest(raster="x", bands=None).tiling().bands is None
    assert RasterRequest(raster="x", bands=[3, 2, 1]).tiling().bands == (3, 2, 1)
