"""What one backend process keeps between requests: open stores and described rasters.

``OpenStores``: the last ``$REMOTECLIP_OPEN_STORES`` (default 8) stores opened, by store key. Opening a store
maps its embeddings and reads its tile records (``tiles.npz``) whole: 20 MB in 22 ms for 100,000 tiles of
ViT-B-32, 204 MB in 190 ms for a million (page cache warm), two thirds of the time the exact scores of a
search take. A kept store is checked before each use against its files' inode, size and modification time
(three ``stat`` calls, no reads): a store replaced or damaged under the cache is forgotten and looked up
again, where :func:`~backend.embedding.store.find_store` sets a damaged one aside as before.

``RasterInfos``: what opening a raster told (:class:`~backend.raster.reader.RasterInfo`), by the file's real
path, inode, size, modification and change times; a raster is opened again only once it changed (a write
changes its modification time, a ``chmod`` its change time).
"""

from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path

from ..config import env_number
from ..embedding.store import EMBEDDINGS_FILE, META_FILE, TILES_FILE, EmbeddingStore, find_store
from ..raster.reader import RasterInfo, describe, open_raster
from ..raster.sources import real_name, source_file

OPEN_STORES_ENV = "REMOTECLIP_OPEN_STORES"
DEFAULT_OPEN_STORES = 8  # the plugin queries one or two rasters at a time; a kept store costs its tile records
RASTER_INFOS = 64  # a RasterInfo is a few hundred bytes


def open_stores_limit() -> int:
    """How many stores a service keeps open: ``$REMOTECLIP_OPEN_STORES`` (a whole number, at least 1), else 8."""
    return int(env_number(OPEN_STORES_ENV, DEFAULT_OPEN_STORES, "stores", 1, whole=True))


def _files_stamp(folder: Path, names: tuple[str, ...]) -> tuple | None:
    """(inode, size, mtime) of each file, or None when one is missing."""
    try:
        return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in (os.stat(folder / n) for n in names))
    except OSError:
        return None


def store_stamp(store: EmbeddingStore) -> tuple | None:
    return _files_stamp(store.path, (META_FILE, TILES_FILE, EMBEDDINGS_FILE))


class OpenStores:
    """An LRU of open stores keyed by store key; ``loads`` counts stores read from disk (tests and logs)."""

    def __init__(self, limit: int = DEFAULT_OPEN_STORES) -> None:
        self.limit = max(1, limit)
        self.loads = 0
        self._stores: OrderedDict[str, tuple[EmbeddingStore, tuple | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> EmbeddingStore | None:
        """The store for ``key``: the open one while its files are unchanged, else read from the cache (None:
        not embedded, or damaged and set aside)."""
        with self._lock:
            kept = self._stores.get(key)
            if kept is not None:
                if store_stamp(kept[0]) == kept[1]:
                    self._stores.move_to_end(key)
                    return kept[0]
                del self._stores[key]  # replaced or damaged under us: look it up afresh
        store = find_store(key)
        if store is not None:
            with self._lock:
                self.loads += 1
            self.put(store)
        return store

    def put(self, store: EmbeddingStore) -> None:
        """Keep ``store`` (just written or just read), evicting the least recently used past the limit."""
        with self._lock:
            self._stores[store.key] = (store, store_stamp(store))
            self._stores.move_to_end(store.key)
            while len(self._stores) > self.limit:
                self._stores.popitem(last=False)

    def __len__(self) -> int:
        return len(self._stores)


def raster_stamp(path: str) -> tuple | None:
    """(real path, device, inode, size, mtime, ctime) of a regular file; None for anything else (missing, a
    folder, a pipe): those are never cached, so :func:`open_raster` says what is wrong each time."""
    real = real_name(path)  # a subdataset name (NETCDF:"f.nc":var) keeps its form, its file made real
    try:
        st = os.stat(source_file(real))
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class RasterInfos:
    """RasterInfo of rasters opened before; a raster is opened (and checked) again once its file changed."""

    def __init__(self, limit: int = RASTER_INFOS) -> None:
        self.limit = limit
        self._infos: OrderedDict[tuple, RasterInfo] = OrderedDict()
        self._lock = threading.Lock()

    def describe(self, path: str) -> RasterInfo:
        """The raster's info; opens it (one-line errors for a bad one) unless this version was opened before."""
        stamp = raster_stamp(path)
        with self._lock:
            info = self._infos.get(stamp) if stamp is not None else None
            if info is not None:
                self._infos.move_to_end(stamp)
                return info
        with open_raster(path) as src:
            info = describe(src)
        if stamp is not None:
            with self._lock:
                self._infos[stamp] = info
                while len(self._infos) > self.limit:
                    self._infos.popitem(last=False)
        return info
