"""The embedding store: a raster's tile embeddings and tile geometry, cached on disk.

A store is a folder named by a key that hashes everything its contents depend on: the raster's
identity (real path, size, modification time), the model and its weights, and the tiling. Queries
read it and never run the image tower again. A store is written to a temporary sibling folder and
renamed into place, so a kill leaves either a whole store or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import cache_root
from ..errors import write_failed

STORE_VERSION = 2  # bump when tiles are read or preprocessed differently (2: mirrored edge padding)
EMBEDDINGS_FILE = "embeddings.npy"
TILES_FILE = "tiles.npz"
META_FILE = "meta.json"


def store_key(raster_identity: dict, model_identity: str, tiling: dict) -> str:
    """A stable key for a raster embedded by one model with one tiling."""
    payload = json.dumps(
        {"v": STORE_VERSION, "raster": raster_identity, "model": model_identity, "tiling": tiling},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass
class EmbeddingStore:
    """A loaded store. Arrays are row-aligned: row i is one kept tile.

    ``embeddings``: ``N x D`` float32, L2-normalised (memory-mapped, not read whole).
    ``windows`` / ``cores``: ``N x 4`` int (col, row, width, height) in raster pixels; windows may
    run past the raster edge, cores partition it. ``footprints`` / ``core_footprints``: ``N x 4 x 2``
    corner coordinates in the raster's CRS, clipped to the raster. ``valid``: fraction of valid pixels.
    ``meta``: raster info, model, tiling and band choice as written by the embedding job.
    """

    path: Path
    meta: dict
    embeddings: np.ndarray
    windows: np.ndarray
    cores: np.ndarray
    footprints: np.ndarray
    core_footprints: np.ndarray
    valid: np.ndarray

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def n_tiles(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def crs_wkt(self) -> str | None:
        return self.meta["raster"]["crs_wkt"]

    @property
    def transform(self) -> tuple:
        return tuple(self.meta["raster"]["transform"])

    @classmethod
    def load(cls, path: Path) -> EmbeddingStore:
        """Open a complete store folder (embeddings memory-mapped)."""
        meta = json.loads((path / META_FILE).read_text())
        with np.load(path / TILES_FILE) as tiles:  # closes the file; the arrays are read whole
            arrays = {name: tiles[name] for name in ("windows", "cores", "footprints", "core_footprints", "valid")}
        return cls(path=path, meta=meta, embeddings=np.load(path / EMBEDDINGS_FILE, mmap_mode="r"), **arrays)


def store_path(key: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / "stores" / key


def find_store(key: str, root: Path | None = None) -> EmbeddingStore | None:
    """The complete store for ``key``, or None. Half-written temporary folders are never returned.

    A store damaged after it was written (a disk error, a file edited or cut under the cache) is moved
    aside as ``.damaged-<key>-<n>`` and treated as absent: the raster is embedded again, never served
    from broken files.
    """
    path = store_path(key, root)
    if not (path / META_FILE).is_file():
        return None
    try:
        store = EmbeddingStore.load(path)
        if store.meta.get("key") != key or store.embeddings.shape[0] != store.windows.shape[0]:
            raise ValueError("files do not belong together")
        return store
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        n = 0
        while (path.parent / f".damaged-{key}-{n}").exists():
            n += 1
        try:
            os.rename(path, path.parent / f".damaged-{key}-{n}")
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
        return None


def _write_fsync(path: Path, write) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def write_store(
    key: str,
    embeddings: np.ndarray,
    tiles: dict[str, np.ndarray],
    meta: dict,
    root: Path | None = None,
) -> EmbeddingStore:
    """Write a store atomically and return it loaded.

    Files go to a temporary folder beside the final one and are fsynced; the folder is then renamed
    into place (atomic on one file system). The metadata file, written last, marks completeness.
    """
    final = store_path(key, root)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=final.parent))
    try:
        _write_fsync(tmp / EMBEDDINGS_FILE, lambda fh: np.save(fh, np.ascontiguousarray(embeddings, np.float32)))
        _write_fsync(tmp / TILES_FILE, lambda fh: np.savez(fh, **tiles))
        full_meta = dict(meta, store_version=STORE_VERSION, key=key, n_tiles=int(embeddings.shape[0]))
        _write_fsync(tmp / META_FILE, lambda fh: fh.write(json.dumps(full_meta, indent=1).encode()))
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / META_FILE).is_file():
                raise
            # Another process finished the same store first; theirs is identical.
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:  # disk full, quota, file size limit: one line, and nothing half-written stays
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_failed(final, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return EmbeddingStore.load(final)
