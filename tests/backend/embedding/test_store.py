"""The embedding store: stable keys, atomic writes, round trips, leftovers of killed writers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.config import cache_root
from backend.embedding import store as embedding_store
from backend.embedding.store import (
    EMBEDDINGS_FILE,
    META_FILE,
    STORE_VERSION,
    TILES_FILE,
    EmbeddingStore,
    find_store,
    store_key,
    store_path,
    write_store,
)
from backend.errors import UserError

RASTER = {"path": "/data/a.tif", "size": 1234, "mtime_ns": 1_700_000_000_000_000_000}
MODEL = "remoteclip-vit-b-32:sha256:abc"
TILING = {"tile_px": 224, "stride_px": 224, "read_px": 224, "bands": [1, 2, 3], "min_valid": 0.01}


def sample(n: int = 6, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    windows = np.stack([np.arange(n) * 32, np.zeros(n, int), np.full(n, 32), np.full(n, 32)], axis=1)
    tiles = {
        "grid_index": np.arange(n, dtype=np.int64),
        "windows": windows,
        "cores": windows.copy(),
        "footprints": rng.normal(size=(n, 4, 2)),
        "core_footprints": rng.normal(size=(n, 4, 2)),
        "valid": rng.uniform(0.5, 1.0, n).astype(np.float32),
    }
    meta = {"raster": {"crs_wkt": "EPSG:32633", "transform": [10.0, 0.0, 5e5, 0.0, -10.0, 6e6]},
            "tiling": TILING, "seconds": 0.5}
    return emb, tiles, meta


# --- keys -------------------------------------------------------------------------------------


def test_store_key_is_stable_and_hex() -> None:
    key = store_key(RASTER, MODEL, TILING)
    assert key == store_key(dict(RASTER), MODEL, dict(TILING))
    assert len(key) == 32 and all(ch in "0123456789abcdef" for ch in key)
    # dict order does not matter
    assert key == store_key(dict(reversed(list(RASTER.items()))), MODEL, dict(reversed(list(TILING.items()))))


def test_store_key_same_in_another_process() -> None:
    code = ("import json, sys; from backend.embedding.store import store_key; "
            "r, m, t = json.loads(sys.argv[1]); print(store_key(r, m, t))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps([RASTER, MODEL, TILING])],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == store_key(RASTER, MODEL, TILING)


@pytest.mark.parametrize(
    ("raster", "model", "tiling"),
    [
        ({**RASTER, "path": "/data/b.tif"}, MODEL, TILING),
        ({**RASTER, "size": 1235}, MODEL, TILING),
        ({**RASTER, "mtime_ns": RASTER["mtime_ns"] + 1}, MODEL, TILING),
        (RASTER, MODEL + "x", TILING),
        (RASTER, "remoteclip-vit-l-14:sha256:abc", TILING),
        (RASTER, MODEL, {**TILING, "tile_px": 225}),
        (RASTER, MODEL, {**TILING, "stride_px": 112}),
        (RASTER, MODEL, {**TILING, "read_px": 112}),
        (RASTER, MODEL, {**TILING, "bands": [3, 2, 1]}),
        (RASTER, MODEL, {**TILING, "min_valid": 0.5}),
    ],
)
def test_store_key_sensitive_to_each_input(raster: dict, model: str, tiling: dict) -> None:
    assert store_key(raster, model, tiling) != store_key(RASTER, MODEL, TILING)


def test_store_key_depends_on_store_version(monkeypatch: pytest.MonkeyPatch) -> None:
    key = store_key(RASTER, MODEL, TILING)
    monkeypatch.setattr(embedding_store, "STORE_VERSION", STORE_VERSION + 1)
    assert store_key(RASTER, MODEL, TILING) != key


# --- round trip -------------------------------------------------------------------------------


def test_write_then_find_round_trips(tmp_path: Path) -> None:
    emb, tiles, meta = sample()
    key = store_key(RASTER, MODEL, TILING)
    written = write_store(key, emb.astype(np.float64), tiles, meta, root=tmp_path)
    found = find_store(key, root=tmp_path)
    assert found is not None
    for store in (written, found):
        assert isinstance(store, EmbeddingStore)
        assert store.path == tmp_path / "stores" / key == store_path(key, tmp_path)
        assert store.key == key
        assert store.n_tiles == 6
        assert store.embeddings.dtype == np.float32
        assert isinstance(store.embeddings, np.memmap), "embeddings must be memory-mapped"
        np.testing.assert_array_equal(store.embeddings, emb)
        for name in ("windows", "cores", "footprints", "core_footprints", "valid"):
            np.testing.assert_array_equal(getattr(store, name), tiles[name])
        assert store.meta["key"] == key
        assert store.meta["n_tiles"] == 6
        assert store.meta["store_version"] == STORE_VERSION
        assert store.meta["tiling"] == TILING
        assert store.crs_wkt == "EPSG:32633"
        assert store.transform == (10.0, 0.0, 5e5, 0.0, -10.0, 6e6)
    assert sorted(p.name for p in (tmp_path / "stores").iterdir()) == [key]


def test_find_store_missing_is_none(tmp_path: Path) -> None:
    assert find_store("0" * 32, root=tmp_path) is None


def test_second_writer_of_same_key_keeps_the_first(tmp_path: Path) -> None:
    emb, tiles, meta = sample()
    first = write_store("k" * 32, emb, tiles, meta, root=tmp_path)
    second = write_store("k" * 32, emb, tiles, dict(meta, seconds=9.0), root=tmp_path)
    assert second.path == first.path
    assert second.meta["seconds"] == 0.5
    assert [p.name for p in (tmp_path / "stores").iterdir()] == ["k" * 32]


# --- killed and failing writers ---------------------------------------------------------------


@pytest.mark.parametrize("files", [(), (EMBEDDINGS_FILE,), (EMBEDDINGS_FILE, TILES_FILE),
                                   (EMBEDDINGS_FILE, TILES_FILE, META_FILE)])
def test_leftover_temp_folder_is_never_returned(tmp_path: Path, files: tuple[str, ...]) -> None:
    key = store_key(RASTER, MODEL, TILING)
    emb, tiles, meta = sample()
    stores = tmp_path / "stores"
    tmp = stores / f".{key}.x1y2z3.tmp"  # what a writer killed before its rename leaves behind
    tmp.mkdir(parents=True)
    if EMBEDDINGS_FILE in files:
        np.save(tmp / EMBEDDINGS_FILE, emb)
    if TILES_FILE in files:
        np.savez(tmp / TILES_FILE, **tiles)
    if META_FILE in files:
        (tmp / META_FILE).write_text(json.dumps(meta))
    assert find_store(key, root=tmp_path) is None
    # A later complete write is found, and is the final folder, not the leftover.
    store = write_store(key, emb, tiles, meta, root=tmp_path)
    found = find_store(key, root=tmp_path)
    assert found is not None and found.path == store.path == stores / key


def test_final_folder_without_meta_is_not_a_store(tmp_path: Path) -> None:
    key = "a" * 32
    folder = store_path(key, tmp_path)
    folder.mkdir(parents=True)
    np.save(folder / EMBEDDINGS_FILE, sample()[0])
    assert find_store(key, root=tmp_path) is None


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emb, tiles, meta = sample()
    key = store_key(RASTER, MODEL, TILING)

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(UserError, match="cannot write embeddings .*disk full.*free some disk space"):
        write_store(key, emb, tiles, meta, root=tmp_path)
    stores = tmp_path / "stores"
    assert list(stores.iterdir()) == [], "no final and no temporary folder may remain"
    assert find_store(key, root=tmp_path) is None


def test_unserialisable_meta_leaves_nothing(tmp_path: Path) -> None:
    emb, tiles, meta = sample()
    with pytest.raises(TypeError):
        write_store("b" * 32, emb, tiles, dict(meta, bad=object()), root=tmp_path)
    assert list((tmp_path / "stores").iterdir()) == []


def test_interrupt_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emb, tiles, meta = sample()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_store("c" * 32, emb, tiles, meta, root=tmp_path)
    assert list((tmp_path / "stores").iterdir()) == []


# --- cache location ---------------------------------------------------------------------------


def test_cache_env_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "my cache"
    monkeypatch.setenv("REMOTECLIP_CACHE", str(cache))
    assert cache_root() == cache
    emb, tiles, meta = sample()
    key = store_key(RASTER, MODEL, TILING)
    store = write_store(key, emb, tiles, meta)
    assert store.path == cache / "stores" / key
    assert (cache / "stores" / key / META_FILE).is_file()
    found = find_store(key)
    assert found is not None and found.path == store.path
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "elsewhere"))
    assert find_store(key) is None


def test_cache_default_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMOTECLIP_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "remoteclip-qgis"
    monkeypatch.setenv("REMOTECLIP_CACHE", "")
    assert cache_root() == tmp_path / ".cache" / "remoteclip-qgis"
