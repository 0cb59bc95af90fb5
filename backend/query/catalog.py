"""A catalogue of rasters searched as one: their stores behind one faiss index, each hit naming its raster.

A catalogue is a name, one model and one tiling, and a list of rasters (path and identity: size and
modification time, as a store key records them) with the key of each one's store. It lives in
``<cache>/catalogs/<name>/``: ``catalog.json``, and the index ``index.faiss`` (inner product over the unit
embeddings of every store, in entry order) with ``rows.npy`` (``N x 2``: entry, store row) and the store keys it
was built from (``index.json``). Adding rasters appends their stores to the index; when a store it was built
from is no longer the entry's (a raster changed and was embedded again), the index is rebuilt, so an answer
never comes from stale embeddings.

Search scores a phrase against the index (exact inner product, so the best tiles are the exact ones), keeps the
distinct best tiles of each raster (no two overlapping) and merges them by score. Hits are written in
longitude/latitude (EPSG:4326), the one CRS every raster of a catalogue can share; ``score`` is cosine
similarity (unitless).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..config import cache_root
from ..embedding.store import EmbeddingStore
from ..errors import NotFoundError, UserError
from .hit_selection import select_distinct
from .vector_layer import VectorLayer

CATALOGS_DIR = "catalogs"
LONLAT = "EPSG:4326"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class CatalogEntry:
    path: str
    identity: dict
    store: str | None = None  # the store key, once embedded


@dataclass
class Catalog:
    name: str
    model: str
    tiling: dict  # TilingParams' fields (tile_px, ground_m, gsd, overlap, bands, min_valid)
    entries: list[CatalogEntry] = field(default_factory=list)
    weights: str | None = None  # a checkpoint file instead of the registry's

    def entry(self, path: str) -> CatalogEntry | None:
        return next((e for e in self.entries if e.path == path), None)


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise UserError(f"catalogue name '{name}' must be 1 to 64 letters, digits, '_', '.' or '-'")
    return name


def catalog_dir(name: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / CATALOGS_DIR / check_name(name)


def list_catalogs(root: Path | None = None) -> list[str]:
    folder = (root or cache_root()) / CATALOGS_DIR
    return sorted(p.name for p in folder.iterdir() if (p / "catalog.json").is_file()) if folder.is_dir() else []


def load_catalog(name: str, root: Path | None = None, must_exist: bool = True) -> Catalog | None:
    path = catalog_dir(name, root) / "catalog.json"
    if not path.is_file():
        if must_exist:
            known = ", ".join(list_catalogs(root)) or "none yet"
            raise NotFoundError(f"no catalogue '{name}' (catalogues: {known}): create it with catalog add")
        return None
    data = json.loads(path.read_text())
    return Catalog(data["name"], data["model"], data["tiling"], [CatalogEntry(**e) for e in data["entries"]],
                   data.get("weights"))


def _write_json(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1)
    os.replace(tmp, path)


def save_catalog(catalog: Catalog, root: Path | None = None) -> Path:
    folder = catalog_dir(catalog.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "catalog.json", {"name": catalog.name, "model": catalog.model, "weights": catalog.weights,
                                          "tiling": catalog.tiling, "entries": [asdict(e) for e in catalog.entries]})
    return folder / "catalog.json"


def remove_catalog(name: str, root: Path | None = None) -> None:
    folder = catalog_dir(name, root)
    if not (folder / "catalog.json").is_file():
        raise NotFoundError(f"no catalogue '{name}'")
    shutil.rmtree(folder)


# ---------------------------------------------------------------- the index


@dataclass
class CatalogIndex:
    index: object  # faiss.IndexFlatIP
    rows: np.ndarray  # N x 2 int64: entry, store row
    keys: list[str]  # store key of each entry, as indexed


def _read_index(folder: Path) -> CatalogIndex | None:
    import faiss

    try:
        keys = json.loads((folder / "index.json").read_text())["keys"]
        return CatalogIndex(faiss.read_index(str(folder / "index.faiss")), np.load(folder / "rows.npy"), keys)
    except (OSError, ValueError, KeyError, RuntimeError):
        return None


def _write_index(folder: Path, built: CatalogIndex) -> None:
    import faiss

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".faiss", dir=folder)
    os.close(fd)
    faiss.write_index(built.index, tmp)
    os.replace(tmp, folder / "index.faiss")
    fd, tmp = tempfile.mkstemp(prefix=".rows.", suffix=".npy", dir=folder)
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, built.rows)
    os.replace(tmp, folder / "rows.npy")
    _write_json(folder / "index.json", {"keys": built.keys})


def _append(built: CatalogIndex, entry: int, store: EmbeddingStore) -> None:
    for start in range(0, store.n_tiles, 65536):  # the store is memory-mapped: add it in slices
        part = np.ascontiguousarray(store.embeddings[start:start + 65536], dtype=np.float32)
        built.index.add(part)
    rows = np.stack([np.full(store.n_tiles, entry), np.arange(store.n_tiles)], axis=1).astype(np.int64)
    built.rows = np.concatenate([built.rows, rows])
    built.keys.append(store.key)


def update_index(catalog: Catalog, stores: list[EmbeddingStore], root: Path | None = None) -> CatalogIndex:
    """The index over ``stores`` (one per entry, in order): the one on disk when it was built from these stores,
    extended when they only add to it, rebuilt otherwise; written atomically."""
    import faiss

    folder = catalog_dir(catalog.name, root)
    keys = [s.key for s in stores]
    built = _read_index(folder)
    if built is not None and built.keys == keys:
        return built
    dim = int(stores[0].embeddings.shape[1]) if stores else 1
    if built is None or built.keys != keys[:len(built.keys)] or built.index.d != dim:
        built = CatalogIndex(faiss.IndexFlatIP(dim), np.empty((0, 2), dtype=np.int64), [])
    for entry in range(len(built.keys), len(stores)):
        _append(built, entry, stores[entry])
    _write_index(folder, built)
    return built


# ---------------------------------------------------------------- search


@dataclass
class CatalogHit:
    entry: int
    row: int
    score: float


def search_index(built: CatalogIndex, stores: list[EmbeddingStore], query: np.ndarray, k: int) -> list[CatalogHit]:
    """The ``k`` best distinct tiles over every raster: exact scores of the index's best candidates, distinct
    within each raster (no two overlapping), merged by score."""
    n = int(built.index.ntotal)
    if n == 0:
        return []
    want = min(n, max(1024, 64 * k))
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    while True:
        scores, ids = built.index.search(q, want)
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        hits: list[CatalogHit] = []
        for entry in np.unique(built.rows[ids, 0]):
            mine = built.rows[ids, 0] == entry
            store = stores[int(entry)]
            full = np.full(store.n_tiles, -np.inf, dtype=np.float32)
            full[built.rows[ids[mine], 1]] = scores[mine]
            for row in select_distinct(full, store.windows, k):
                hits.append(CatalogHit(int(entry), int(row), float(full[row])))
        hits.sort(key=lambda h: -h.score)
        if len(hits) >= k or want >= n:
            return hits[:k]
        want = min(n, want * 8)


def lonlat_rings(store: EmbeddingStore, rows: np.ndarray) -> np.ndarray:
    """The footprints of ``rows`` in longitude/latitude (``len(rows) x 4 x 2``)."""
    from rasterio.warp import transform

    rings = np.asarray(store.footprints[rows], dtype=np.float64)
    if len(rings) == 0:
        return rings
    xs, ys = transform(store.crs_wkt, LONLAT, rings[..., 0].ravel().tolist(), rings[..., 1].ravel().tolist())
    return np.stack([np.asarray(xs).reshape(rings.shape[:2]), np.asarray(ys).reshape(rings.shape[:2])], axis=2)


def hit_layer(catalog: Catalog, stores: list[EmbeddingStore], hits: list[CatalogHit], label: str) -> VectorLayer:
    """Layer ``catalog_hits`` in EPSG:4326: rank, score, raster (its path), tile_id, query."""
    rings = [lonlat_rings(stores[h.entry], np.array([h.row]))[0] for h in hits]
    return VectorLayer("catalog_hits", {"rank": int, "score": float, "raster": str, "tile_id": int, "query": str},
                       np.asarray(rings).reshape(len(hits), 4, 2),
                       [{"rank": r + 1, "score": h.score, "raster": catalog.entries[h.entry].path, "tile_id": h.row,
                         "query": label} for r, h in enumerate(hits)])
