"""Chunks of an interrupted embedding job: whole chunks or none, resumed in order, cleared after."""

from __future__ import annotations

import numpy as np

from backend.embedding.checkpoint import EmbeddingCheckpoint, partial_path


def _chunk(start: int, n: int, dim: int = 4):
    rng = np.random.default_rng(start)
    return np.arange(start, start + n), rng.normal(size=(n, dim)).astype(np.float32), np.ones(n, np.float32)


def test_chunks_resume_in_order(tmp_path):
    cp = EmbeddingCheckpoint("k", 4, root=tmp_path)
    assert cp.load() is None
    a, b = _chunk(0, 3), _chunk(5, 2)
    cp.save(*a, next_window=4)
    cp.save(*b, next_window=9)
    again = EmbeddingCheckpoint("k", 4, root=tmp_path)
    resumed = again.load()
    assert resumed.next_window == 9 and resumed.n_tiles == 5
    assert resumed.grid_index.tolist() == [0, 1, 2, 5, 6]
    assert np.array_equal(resumed.embeddings, np.concatenate([a[1], b[1]]))
    again.save(*_chunk(10, 1), next_window=11)   # numbering goes on after the resumed chunks
    assert sorted(p.name for p in partial_path("k", tmp_path).iterdir())[-1] == "chunk-000002.npz"
    again.clear()
    assert not partial_path("k", tmp_path).exists()


def test_a_damaged_chunk_ends_what_is_resumed(tmp_path):
    cp = EmbeddingCheckpoint("k", 4, root=tmp_path)
    cp.save(*_chunk(0, 2), next_window=2)
    cp.save(*_chunk(2, 2), next_window=4)
    cp.save(*_chunk(4, 2), next_window=6)
    second = partial_path("k", tmp_path) / "chunk-000001.npz"
    second.write_bytes(second.read_bytes()[:50])     # a torn write
    (partial_path("k", tmp_path) / "chunk-000009.tmp").write_bytes(b"half")  # never renamed: ignored
    resumed = EmbeddingCheckpoint("k", 4, root=tmp_path).load()
    assert resumed.next_window == 2 and resumed.grid_index.tolist() == [0, 1]
    assert EmbeddingCheckpoint("k", 8, root=tmp_path).load() is None  # another model's width: not resumed
