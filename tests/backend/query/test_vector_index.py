"""Searching stores: exact chunked scores, the float16 and int8 first passes, the faiss index, memory mapping."""

from __future__ import annotations

import numpy as np
import pytest

from backend.embedding.store import EmbeddingStore, write_store
from backend.query import text_search, vector_index
from backend.query.hit_selection import select_distinct
from backend.query.vector_index import AnnIndex, exact_scores, exact_top_k, half_mirror, store_ann, top_indices


def _clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors in clusters, like tile embeddings (neighbouring tiles look alike)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(clusters, size=n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _store(tmp_path, embeddings: np.ndarray) -> EmbeddingStore:
    n = len(embeddings)
    windows = np.stack([np.arange(n) * 10, np.zeros(n), np.full(n, 10), np.full(n, 10)], axis=1).astype(np.int64)
    ring = np.zeros((n, 4, 2))
    tiles = {"grid_index": np.arange(n), "windows": windows, "cores": windows, "footprints": ring,
             "core_footprints": ring, "valid": np.ones(n, np.float32)}
    meta = {"raster": {"crs_wkt": None, "transform": [1, 0, 0, 0, -1, 0], "width": 10 * n, "height": 10}}
    return write_store("k" * 32, embeddings, tiles, meta, root=tmp_path)


def test_store_embeddings_are_memory_mapped(tmp_path):
    store = _store(tmp_path, _clustered(500))
    assert isinstance(store.embeddings, np.memmap)
    assert not store.embeddings.flags.writeable
    scores = exact_scores(store.embeddings, store.embeddings[3])
    assert type(scores) is np.ndarray and scores.dtype == np.float32  # a result, not a mapped view


def test_chunked_scores_and_partial_ranking_equal_the_simple_ones(tmp_path):
    e = _clustered(5000)
    q = e[17]
    np.testing.assert_array_equal(exact_scores(e, q), e @ q)  # one chunk: identical to the plain matmul
    np.testing.assert_allclose(exact_scores(e, q, chunk_rows=333), e @ q, atol=1e-6)
    scores = np.round(e @ q, 2)  # many ties: the order must still be a stable sort's
    full = np.argsort(-scores, kind="stable")
    for k in (1, 10, 999, 5000, 6000):
        np.testing.assert_array_equal(top_indices(scores, k), full[:k])
    windows = np.stack([np.arange(5000) % 70 * 8, np.arange(5000) // 70 * 8, np.full(5000, 16),
                        np.full(5000, 16)], axis=1)
    for k, overlap in ((10, 0.0), (400, 0.0), (30, 0.5)):  # 400 distinct hits need a widened prefix
        hits = select_distinct(scores, windows, k, overlap)
        chosen: list[int] = []  # the greedy selection over a full sort, written out
        for i in full:
            c0 = np.maximum(windows[i, 0], windows[chosen, 0])
            c1 = np.minimum(windows[i, 0] + 16, windows[chosen, 0] + 16)
            r0 = np.maximum(windows[i, 1], windows[chosen, 1])
            r1 = np.minimum(windows[i, 1] + 16, windows[chosen, 1] + 16)
            if not chosen or np.all(np.clip(c1 - c0, 0, None) * np.clip(r1 - r0, 0, None) / 256 <= overlap):
                chosen.append(int(i))
            if len(chosen) == k:
                break
        np.testing.assert_array_equal(hits, chosen)


def test_float16_first_pass_gives_the_exact_top_k(tmp_path):
    e = _clustered(20000, dim=128)
    half = half_mirror(tmp_path, e)
    assert half.dtype == np.float16 and isinstance(half, np.memmap)
    rng = np.random.default_rng(1)
    for _ in range(10):
        q = e[rng.integers(len(e))] + 0.1 * rng.standard_normal(128).astype(np.float32)
        q /= np.linalg.norm(q)
        ids, scores = exact_top_k(e, q, 10, half)
        expected = top_indices(e @ q, 10)
        np.testing.assert_array_equal(ids, expected)
        np.testing.assert_allclose(scores, (e @ q)[expected], atol=1e-6)  # float32, rescored rows only


def test_ann_index_recall_persistence_and_rebuild(tmp_path, monkeypatch):
    store = _store(tmp_path, _clustered(30000, dim=64, clusters=200))
    rng = np.random.default_rng(2)
    queries = store.embeddings[rng.integers(store.n_tiles, size=50)] + 0.05 * rng.standard_normal((50, 64))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    found = [store_ann(store).search(store.embeddings, q, 10)[0] for q in queries]
    assert (store.path / vector_index.ANN_FILE).is_file() and (store.path / vector_index.ANN_META_FILE).is_file()
    truth = [top_indices(exact_scores(store.embeddings, q), 10) for q in queries]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
    assert recall >= 0.9, recall
    loaded = AnnIndex.load(store.path, store.n_tiles)
    assert loaded is not None and loaded.index.nprobe >= 1
    np.testing.assert_array_equal(loaded.search(store.embeddings, queries[0], 10)[0], found[0])
    assert AnnIndex.load(store.path, store.n_tiles + 1) is None  # an index of another store is not used
    (store.path / vector_index.ANN_FILE).unlink()
    rebuilt = store_ann(store).search(store.embeddings, queries[0], 10)[0]
    np.testing.assert_array_equal(rebuilt, found[0])  # rebuilt the same
    assert (store.path / vector_index.ANN_FILE).is_file()


def test_rank_tiles_past_the_ann_size_scores_candidates_only_for_hits_alone(tmp_path, monkeypatch):
    store = _store(tmp_path, _clustered(12000, dim=32, clusters=100))
    q = np.asarray(store.embeddings[5])
    exact = text_search.rank_tiles(store, q, k=5)
    monkeypatch.setenv("REMOTECLIP_ANN_MIN_TILES", "10000")
    approx = text_search.rank_tiles(store, q, k=5, every_score=False)
    np.testing.assert_array_equal(approx.hits, exact.hits)
    assert np.isfinite(approx.scores).sum() >= 5 * 4 and np.isneginf(approx.scores).any()
    finite = np.isfinite(approx.scores)
    np.testing.assert_allclose(approx.scores[finite], exact.scores[finite], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(approx.query, q)
    # A caller that shows every score (polygons, a heatmap file) gets every score, past the index's size too.
    complete = text_search.rank_tiles(store, q, k=5)
    assert np.isfinite(complete.scores).all()
    np.testing.assert_array_equal(complete.hits, exact.hits)


@pytest.mark.parametrize("dim", [3, 100])
def test_query_of_the_wrong_size(dim):
    with pytest.raises(ValueError, match="dimensions"):
        exact_scores(_clustered(10), np.ones(dim, np.float32))


@pytest.mark.parametrize("text", ["lots", "0", "-5"])
def test_bad_threshold_in_the_environment(monkeypatch, text):
    from backend.errors import UserError

    monkeypatch.setenv("REMOTECLIP_ANN_MIN_TILES", text)
    with pytest.raises(UserError, match="REMOTECLIP_ANN_MIN_TILES must be a whole number"):
        vector_index._env_tiles("REMOTECLIP_ANN_MIN_TILES", 5)
    monkeypatch.setenv("REMOTECLIP_ANN_MIN_TILES", " 300 ")
    assert vector_index._env_tiles("REMOTECLIP_ANN_MIN_TILES", 5) == 300


@pytest.mark.parametrize(("k", "max_overlap"), [(1, 0.0), (10, 0.0), (50, 0.5), (300, 0.0)])
def test_rank_tiles_past_the_int8_size_gives_the_exact_hits(tmp_path, monkeypatch, k, max_overlap):
    # A 2-D grid of overlapping windows (stride half a tile), so distinct hits skip neighbours.
    n, side = 40_000, 200
    e = _clustered(n, dim=64, clusters=300, seed=3)
    store = _store(tmp_path, e)
    windows = np.stack([np.arange(n) % side * 8, np.arange(n) // side * 8, np.full(n, 16), np.full(n, 16)], axis=1)
    monkeypatch.setattr(store, "windows", windows)
    rng = np.random.default_rng(4)
    queries = [np.asarray(store.embeddings[i]) for i in rng.integers(n, size=3)]
    queries += [q / np.linalg.norm(q) for q in rng.standard_normal((2, 64)).astype(np.float32)]  # unlike any tile
    exact = [text_search.rank_tiles(store, q, k, max_overlap) for q in queries]
    assert not (store.path / vector_index.INT8_FILE).exists()  # below the threshold: exact, no mirror
    monkeypatch.setenv("REMOTECLIP_INT8_MIN_TILES", "10000")
    mirror = vector_index.int8_mirror(store.path, store.embeddings)
    for q, ex in zip(queries, exact):
        fast = text_search.rank_tiles(store, q, k, max_overlap)
        np.testing.assert_array_equal(fast.hits, ex.hits)
        # Float32 scores for hits (a gathered product may round its last bit unlike the full one).
        np.testing.assert_allclose(fast.scores[fast.hits], ex.scores[ex.hits], rtol=0, atol=1e-6)
        assert np.all(np.isfinite(fast.scores))  # every tile stays on the similarity surface
        assert np.max(np.abs(fast.scores - ex.scores)) <= mirror.bound(q)[2]
    assert (store.path / vector_index.INT8_FILE).is_file() and (store.path / vector_index.INT8_META_FILE).is_file()


def test_int8_scan_gives_the_exact_top_10_and_a_sound_bound(tmp_path):
    e = _clustered(20_000, dim=128, clusters=40, seed=8)
    mirror = vector_index.int8_mirror(tmp_path, e)
    assert mirror.codes.dtype == np.int8 and isinstance(mirror.codes, np.memmap)
    np.testing.assert_allclose(mirror.column_mean, e.astype(np.float64).mean(axis=0), atol=1e-9)
    rng = np.random.default_rng(9)
    queries = [e[rng.integers(len(e))] + 0.1 * rng.standard_normal(128).astype(np.float32) for _ in range(6)]
    queries += list(rng.standard_normal((4, 128)).astype(np.float32))  # text-like: unlike every tile
    for q in queries:
        q = (q / np.linalg.norm(q)).astype(np.float32)
        exact = e @ q
        scores, candidates, floor = vector_index.int8_first_pass(e, mirror, q, 10)
        best = candidates[top_indices(scores[candidates], 10)]
        np.testing.assert_array_equal(best, top_indices(exact, 10))
        np.testing.assert_allclose(scores[candidates], exact[candidates], rtol=0, atol=1e-6)  # rescored in float32
        bound = mirror.bound(q)[2]
        left_out = np.setdiff1d(np.arange(len(e)), candidates)
        assert np.all(exact[left_out] < floor) and np.max(np.abs(scores - exact)) <= bound
        assert len(candidates) < len(e) // 4  # the bound rules most rows out
    stale = vector_index.int8_mirror(tmp_path, e[:100])  # another store's shape: rebuilt, not reused
    assert stale.codes.shape == (100, 128)


def test_rank_tiles_int8_keeps_the_padded_tile_ranking(tmp_path, monkeypatch):
    # Padded edge tiles are discounted from the mean of every tile's score: the int8 path must use that mean,
    # not the mean of its candidates, or the hits change.
    n = 30_000
    e = _clustered(n, dim=32, clusters=60, seed=10)
    store = _store(tmp_path, e)
    valid = np.ones(n, np.float32)
    valid[::7] = 0.3
    monkeypatch.setattr(store, "valid", valid)
    rng = np.random.default_rng(11)
    queries = [np.asarray(e[i]) for i in rng.integers(n, size=3)]
    exact = [text_search.rank_tiles(store, q, 20) for q in queries]
    monkeypatch.setenv("REMOTECLIP_INT8_MIN_TILES", "10000")
    for q, ex in zip(queries, exact):
        np.testing.assert_array_equal(text_search.rank_tiles(store, q, 20).hits, ex.hits)


def test_similar_tiles_past_the_int8_size_gives_the_exact_hits(tmp_path, monkeypatch):
    from backend.query.similar_tiles import similar_tiles

    n = 30_000
    store = _store(tmp_path, _clustered(n, dim=32, clusters=100, seed=5))
    exact = [similar_tiles(store, k=10, tile_id=t)[1] for t in (0, 123, 29_999)]
    monkeypatch.setenv("REMOTECLIP_INT8_MIN_TILES", "10000")
    for t, ex in zip((0, 123, 29_999), exact):
        _, fast, _ = similar_tiles(store, k=10, tile_id=t)
        np.testing.assert_array_equal(fast.hits, ex.hits)
        assert t not in fast.hits.tolist()


def test_rank_tiles_falls_back_to_exact_when_candidates_run_out(tmp_path, monkeypatch):
    n = 12_000
    store = _store(tmp_path, _clustered(n, dim=32, clusters=50, seed=6))
    q = np.asarray(store.embeddings[7])
    exclude = np.zeros(n, bool)
    exclude[np.argsort(-(np.asarray(store.embeddings) @ q))[:2000]] = True  # the best 2000 may not be hits
    exact = text_search.rank_tiles(store, q, 5, exclude=exclude)
    monkeypatch.setenv("REMOTECLIP_INT8_MIN_TILES", "10000")
    fast = text_search.rank_tiles(store, q, 5, exclude=exclude)
    np.testing.assert_array_equal(fast.hits, exact.hits)
    np.testing.assert_array_equal(fast.scores, exact.scores)  # the fallback scored every tile exactly
