"""Partial results of an embedding job, so that a job killed half-way resumes where it stopped.

While a raster is embedded, every few batches the embeddings computed so far are appended to
``<cache>/partial/<store key>/`` as numbered chunk files, each written to a temporary name, flushed
to disk and renamed (a crash leaves whole chunks or none). A chunk records the tiles kept (grid
index, embedding, valid fraction) and how far through the grid's windows the job had got, so that
tiles skipped as empty are not read again either. The partial folder is never a store: queries only
ever see a complete store (written atomically by ``embedding_store.write_store``). It is removed when
the store is written, when the job is cancelled and when it fails on bad input.

The store key covers the raster (path, size, modification time), the model and its weights, and the
tiling: a chunk can only ever be resumed into the very job that wrote it.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import cache_root, env_number
from ..errors import write_failed

PARTIAL_FOLDER = "partial"
CHUNK_PREFIX = "chunk-"
DEFAULT_CHECKPOINT_S = 10.0  # at most this much work is redone after a kill; a chunk costs one fsync


def checkpoint_seconds() -> float:
    """Seconds between chunks: ``$REMOTECLIP_CHECKPOINT_S`` (0: after every batch), else 10."""
    return float(env_number("REMOTECLIP_CHECKPOINT_S", DEFAULT_CHECKPOINT_S, "seconds", 0))


@dataclass(frozen=True)
class Resumed:
    """What earlier runs of a job finished: kept tiles' grid indices, embeddings and valid fractions,
    and ``next_window``: the first window (in grid order) not yet processed."""

    grid_index: np.ndarray   # int64, (n,)
    embeddings: np.ndarray   # float32, (n, d)
    valid: np.ndarray        # float32, (n,)
    next_window: int

    @property
    def n_tiles(self) -> int:
        return int(self.grid_index.shape[0])


def partial_path(key: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / PARTIAL_FOLDER / key



class EmbeddingCheckpoint:
    """Chunks of one job's finished batches (see the module's docstring)."""

    def __init__(self, key: str, embed_dim: int, root: Path | None = None) -> None:
        self.folder = partial_path(key, root)
        self.embed_dim = int(embed_dim)
        self._next_chunk = 0

    def _chunks(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.name.startswith(CHUNK_PREFIX) and p.suffix == ".npz")

    def load(self) -> Resumed | None:
        """The finished part of an interrupted run, or None. Unreadable or inconsistent chunks (a disk
        that lied about a flush) end the resumable part there: later chunks are dropped."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        next_window = 0
        for path in self._chunks():
            try:
                with np.load(path) as z:
                    index, emb, valid, upto = z["grid_index"], z["embeddings"], z["valid"], int(z["next_window"])
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                break
            if emb.ndim != 2 or emb.shape[1] != self.embed_dim or len(index) != len(emb) != len(valid) \
                    or upto < next_window or (len(index) and index.min() < next_window):
                break
            parts.append((index, emb, valid))
            next_window = upto
            self._next_chunk = int(path.stem[len(CHUNK_PREFIX):]) + 1
        if not parts:
            return None
        return Resumed(np.concatenate([p[0] for p in parts]).astype(np.int64),
                       np.concatenate([p[1] for p in parts]).astype(np.float32),
                       np.concatenate([p[2] for p in parts]).astype(np.float32), next_window)

    def save(self, grid_index: np.ndarray, embeddings: np.ndarray, valid: np.ndarray, next_window: int) -> None:
        """Append one chunk: tiles kept since the last chunk, and the first window not yet processed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{CHUNK_PREFIX}{self._next_chunk:06d}.npz"
        tmp = final.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, grid_index=np.asarray(grid_index, np.int64),
                         embeddings=np.asarray(embeddings, np.float32), valid=np.asarray(valid, np.float32),
                         next_window=np.int64(next_window))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise write_failed(final, exc) from None
        self._next_chunk += 1

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
