"""Cosine search over a store's embeddings at any size: exact for small and mid-sized stores,
an approximate (faiss IVF) index past :data:`ANN_MIN_TILES` tiles.

Embeddings are unit vectors, so cosine similarity is a dot product. Stores are memory-mapped
(``EmbeddingStore.embeddings`` is an ``np.memmap``): every path here streams the array in chunks
and never loads it whole, so a store larger than memory can still be searched.

- :func:`exact_scores`: every tile's score, float32, chunked matmul (identical to ``E @ q`` for
  stores up to one chunk).
- :func:`exact_top_k` / :func:`half_first_pass`: the exact top k, optionally (``half``) with a
  float16 copy of the embeddings (``embeddings_f16.npy`` beside the store, built when missing) is scanned first: it is
  half the bytes, and the scan is memory-bound. Every tile whose float16 score could reach the k-th
  best (within the float16 error bound) is then rescored in float32, so the result is still exact.
- :func:`int8_first_pass`: the same idea with a quarter of the bytes. Past :data:`INT8_MIN_TILES` tiles the
  text search scans an int8 copy (``embeddings_i8.npy``, one scale per row, built when missing) with an int8 x int8
  product (``torch._int_mm``); every row whose int8 score could reach the wanted best, by a bound computed from
  the quantisation residuals of the rows and the query, is rescored in float32: the top is exact.
- :class:`AnnIndex`: faiss ``IVF`` with 8-bit scalar-quantised vectors (``ann.faiss`` beside the
  store, built when missing), its ``nprobe`` tuned at build time for recall@10 >= 0.97 on queries
  drawn from the store; candidates are rescored exactly from the store.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import env_number


def _env_tiles(name: str, default: int) -> int:
    """A tile-count threshold from the environment; a bad value is a one-line UserError."""
    return int(env_number(name, default, "tiles", 1, whole=True))


# Rows per matmul when streaming a memory-mapped store (256 MiB of 512-d float32).
CHUNK_ROWS = 131_072
# From this many tiles text and tile searches scan the int8 mirror first. Measured on the loaded 2-core bench
# machine, 384-d synthetic stores, rank_tiles median of 20 text queries: 100 k tiles float32 19 ms, int8 28 ms;
# 1 M float32 118 ms, int8 142 ms in one run, 67.6 against 51.7 ms in `make bench` (the int8 product alone takes
# half float32's time; choosing and reading the rows to rescore cost the rest). Below a million tiles the
# float32 scan is cheap and the mirror not worth a file. $REMOTECLIP_INT8_MIN_TILES overrides it.
INT8_MIN_TILES = 1_000_000
# From this many tiles a search that answers its hits alone (its surface comes from the pooled levels of
# ``surface_levels``) takes them from the approximate index: a float32 scan of a million 384-d tiles reads 1.5 GB
# (50-60 ms on the 2-core bench machine), the index's candidates ~1 ms. $REMOTECLIP_ANN_MIN_TILES overrides it.
ANN_MIN_TILES = 1_000_000


def int8_min_tiles() -> int:
    """Tiles from which searches take the int8 first pass (read from the environment at each call)."""
    return _env_tiles("REMOTECLIP_INT8_MIN_TILES", INT8_MIN_TILES)


def ann_min_tiles() -> int:
    """Tiles from which searches use the approximate index (read from the environment at each call)."""
    return _env_tiles("REMOTECLIP_ANN_MIN_TILES", ANN_MIN_TILES)
# Bound on |float16 score - float32 score| for unit vectors: q and each row rounded to float16 (unit
# roundoff u = 2**-11 each, so at most 2u by Cauchy-Schwarz), the float16 result rounded (u), and
# float32 accumulation slack: 4u. The largest error measured on 1.5 M scores was 1.7e-4.
HALF_SCORE_ERROR = 4.0 * 2.0**-11
HALF_FILE = "embeddings_f16.npy"
INT8_FILE = "embeddings_i8.npy"
INT8_META_FILE = "embeddings_i8.npz"  # per-row scales, the residual bounds and the column means
ANN_FILE = "ann.faiss"
ANN_META_FILE = "ann.json"
# Recall@10 the IVF probe count is tuned for, on queries drawn from the store.
ANN_TARGET_RECALL = 0.97
# Fewest lists probed whatever the tuning says (queries unlike stored tiles, such as text, need more;
# 8 of 1024 lists cost about 1.5 ms on a million tiles).
ANN_MIN_NPROBE = 8


def _unit_query(query: np.ndarray, dim: int) -> np.ndarray:
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if q.shape[0] != dim:
        raise ValueError(f"query has {q.shape[0]} dimensions, the store {dim}")
    return q


def exact_scores(embeddings: np.ndarray, query: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Dot product of every row of ``embeddings`` (``N x D``, may be a memmap) with ``query``, float32."""
    q = _unit_query(query, embeddings.shape[1])
    n = embeddings.shape[0]
    if n <= chunk_rows:
        return np.asarray(embeddings @ q, dtype=np.float32)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk_rows):
        np.matmul(embeddings[start:start + chunk_rows], q, out=out[start:start + chunk_rows])
    return out


def _half_scores(half: np.ndarray, query: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Float16 rows times the float16-rounded query, accumulated in float32 (torch: numpy has no fast
    float16 matmul)."""
    import torch

    q = torch.from_numpy(np.asarray(query, dtype=np.float16).copy())
    out = torch.empty(half.shape[0], dtype=torch.float16)
    for start in range(0, half.shape[0], chunk_rows):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a read-only memmap: torch only reads it here
            rows = torch.from_numpy(np.ascontiguousarray(half[start:start + chunk_rows]))
        torch.mv(rows, q, out=out[start:start + chunk_rows])
    return out.float().numpy()


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, ties by index (as a stable argsort of ``-scores``)."""
    n = len(scores)
    if k >= n:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    threshold = scores[part].min()
    candidates = np.flatnonzero(scores >= threshold)  # every tie of the k-th score, in index order
    return candidates[np.argsort(-scores[candidates], kind="stable")][:k]


def half_mirror(store_dir: Path, embeddings: np.ndarray) -> np.ndarray:
    """The float16 copy of a store's embeddings, memory-mapped; written (atomically) when missing."""
    path = Path(store_dir) / HALF_FILE
    if not path.is_file():
        fd, tmp = tempfile.mkstemp(prefix=".f16.", suffix=".npy", dir=store_dir)
        os.close(fd)
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=embeddings.shape)
            for start in range(0, embeddings.shape[0], CHUNK_ROWS):
                out[start:start + CHUNK_ROWS] = embeddings[start:start + CHUNK_ROWS]
            out.flush()
            del out
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return np.load(path, mmap_mode="r")


def half_first_pass(embeddings: np.ndarray, half: np.ndarray, query: np.ndarray,
                    want: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every row from the float16 mirror ``half``, with the rows that could be among the
    ``want`` best rescored exactly: (float32 scores ``N``, the rescored row indices in order).

    A row left out scores below the ``want``-th best float16 score minus twice the error bound, so its
    exact score is below that of each of the ``want`` best float16 rows: the ``want`` best exact
    scores are all among the rescored rows. The others keep float16 accuracy (:data:`HALF_SCORE_ERROR`).
    """
    q = _unit_query(query, embeddings.shape[1])
    want = min(int(want), embeddings.shape[0])
    scores = _half_scores(half, q)
    kth = scores[np.argpartition(-scores, want - 1)[want - 1]]
    candidates = np.flatnonzero(scores >= kth - 2 * HALF_SCORE_ERROR)  # sorted: memmap reads go forward
    scores[candidates] = np.asarray(embeddings[candidates] @ q, dtype=np.float32)
    return scores, candidates


def exact_top_k(embeddings: np.ndarray, query: np.ndarray, k: int,
                half: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact top ``k`` rows by cosine: (row indices best first, float32 scores).

    ``half`` (the float16 mirror of ``embeddings``) makes a first pass over half the bytes
    (:func:`half_first_pass`); only the rows it cannot rule out are scored in float32.
    """
    q = _unit_query(query, embeddings.shape[1])
    k = min(int(k), embeddings.shape[0])
    if half is None:
        scores = exact_scores(embeddings, q)
        ids = top_indices(scores, k)
        return ids, scores[ids]
    scores, candidates = half_first_pass(embeddings, half, q, k)
    best = top_indices(scores[candidates], k)
    return candidates[best], scores[candidates][best]


@dataclass
class Int8Mirror:
    """An int8 copy of a store's embeddings: row r is ``scale[r] * codes[r]`` plus a residual of norm at most
    ``max_residual``; ``max_norm`` bounds ``||scale[r] * codes[r]||``; ``column_mean`` (float64, ``D``) is the
    mean embedding, so the mean score over all tiles is ``column_mean @ q`` without a scan."""

    codes: np.ndarray  # N x D int8, memory-mapped
    scale: np.ndarray  # N float32
    max_residual: float
    max_norm: float
    column_mean: np.ndarray

    def bound(self, q: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The query's int8 codes (``D``), its scale, and the bound on |int8 score - float32 score| over all rows:
        ``(e_r + d_r) . (t c_q + d_q)`` differs from the int8 score by ``s_r c_r . d_q + d_r . q``, at most
        ``max_norm * ||d_q|| + max_residual * ||q||`` (Cauchy-Schwarz), plus float32 rounding of the products."""
        t = float(np.abs(q).max()) / 127.0 or 1.0
        codes = np.clip(np.rint(q / t), -127, 127).astype(np.int8)
        residual = float(np.linalg.norm(q.astype(np.float64) - t * codes.astype(np.float64)))
        bound = self.max_norm * residual + self.max_residual * float(np.linalg.norm(q)) + 1e-6
        return codes, t, bound


def load_int8_mirror(store_dir: Path, shape: tuple[int, int], name: str = "embeddings") -> Int8Mirror | None:
    """The int8 mirror ``<name>_i8.npy`` / ``.npz`` beside a store (codes memory-mapped), or None when missing,
    unreadable or not of ``shape`` rows x dimensions."""
    store_dir = Path(store_dir)
    n, dim = shape
    try:
        codes = np.load(store_dir / f"{name}_i8.npy", mmap_mode="r")
        with np.load(store_dir / f"{name}_i8.npz") as meta:
            scale, bounds, column_mean = meta["scale"], meta["bounds"], meta["column_mean"]
    except (OSError, ValueError, KeyError):
        return None
    if codes.shape == (n, dim) and scale.shape == (n,) and column_mean.shape == (dim,):
        return Int8Mirror(codes, scale, float(bounds[0]), float(bounds[1]), column_mean)
    return None


def int8_mirror(store_dir: Path, embeddings: np.ndarray, name: str = "embeddings") -> Int8Mirror:
    """The int8 mirror of ``embeddings`` (``N x D``, may be a memmap; the store's own are ``embeddings_i8.npy``
    and ``embeddings_i8.npz``, other arrays' go by ``name``): loaded, or written (atomically) when missing or not
    matching their shape."""
    store_dir = Path(store_dir)
    n, dim = embeddings.shape
    found = load_int8_mirror(store_dir, (n, dim), name)
    if found is not None:
        return found
    codes_path, meta_path = store_dir / f"{name}_i8.npy", store_dir / f"{name}_i8.npz"
    fd, tmp = tempfile.mkstemp(prefix=".i8.", suffix=".npy", dir=store_dir)
    os.close(fd)
    tmp_meta = store_dir / f".{name}_i8.tmp.npz"
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int8, shape=(n, dim))
        scale = np.empty(n, dtype=np.float32)
        total = np.zeros(dim, dtype=np.float64)
        max_residual = max_norm = 0.0
        for start in range(0, n, CHUNK_ROWS):
            rows = np.asarray(embeddings[start:start + CHUNK_ROWS], dtype=np.float32)
            s = np.abs(rows).max(axis=1) / 127.0
            s[s == 0] = 1.0
            c = np.clip(np.rint(rows / s[:, None]), -127, 127).astype(np.int8)
            approx = c.astype(np.float64) * s[:, None].astype(np.float64)
            max_residual = max(max_residual, float(np.linalg.norm(rows - approx, axis=1).max()))
            max_norm = max(max_norm, float(np.linalg.norm(approx, axis=1).max()))
            out[start:start + len(rows)] = c
            scale[start:start + len(rows)] = s
            total += rows.sum(axis=0, dtype=np.float64)
        out.flush()
        del out
        column_mean = total / max(n, 1)
        np.savez(tmp_meta, scale=scale, bounds=np.array([max_residual, max_norm]), column_mean=column_mean)
        os.replace(tmp, codes_path)
        os.replace(tmp_meta, meta_path)  # last: codes without matching metadata are rebuilt
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
        raise
    return Int8Mirror(np.load(codes_path, mmap_mode="r"), scale, max_residual, max_norm, column_mean)


def _int8_scores(mirror: Int8Mirror, codes: np.ndarray, t: float) -> np.ndarray:
    """Int8 rows times int8 query codes, accumulated exactly in int32 (``torch._int_mm``: numpy has no int8
    product), times the row and query scales: float32 ``N``."""
    import torch

    q = torch.from_numpy(codes.reshape(-1, 1).copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a read-only memmap: torch only reads it here
        rows = torch.from_numpy(mirror.codes)
    dots = torch._int_mm(rows, q)[:, 0].numpy()  # |c_r . c_q| <= D * 127^2 < 2^24 up to D = 1040: exact in float32
    return dots.astype(np.float32) * (mirror.scale * np.float32(t))


def int8_first_pass(embeddings: np.ndarray, mirror: Int8Mirror, query: np.ndarray,
                    want: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Scores of every row from the int8 mirror, with the rows that could be among the ``want`` best rescored
    exactly: (float32 scores ``N``, the rescored row indices in order, ``floor``).

    A row left out has an exact score below ``floor`` (the ``want``-th best int8 score minus the bound), and
    each of the ``want`` best int8 rows scores at least ``floor`` exactly: the ``want`` best exact scores are all
    among the rescored rows. The other rows keep their int8 scores (within the bound; typically 1e-3).
    """
    q = _unit_query(query, embeddings.shape[1])
    approx, bound = int8_approx(mirror, q)
    return rescore_best(embeddings, approx, bound, q, want)


def int8_approx(mirror: Int8Mirror, query: np.ndarray) -> tuple[np.ndarray, float]:
    """Every row's int8 score (float32 ``N``) and the bound on its distance to the float32 score."""
    q = _unit_query(query, mirror.codes.shape[1])
    codes, t, bound = mirror.bound(q)
    return _int8_scores(mirror, codes, t), bound


def rescore_best(embeddings: np.ndarray, approx: np.ndarray, bound: float, query: np.ndarray,
                 want: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``approx`` (scores within ``bound`` of exact) with every row that could be among the ``want`` best
    rescored in float32: (scores, rescored rows in order, ``floor``), as :func:`int8_first_pass`."""
    q = _unit_query(query, embeddings.shape[1])
    want = min(int(want), embeddings.shape[0])
    kth = approx[np.argpartition(-approx, want - 1)[want - 1]]
    candidates = np.flatnonzero(approx >= kth - 2 * bound)  # sorted: memmap reads go forward
    scores = approx.copy()
    scores[candidates] = np.asarray(embeddings[candidates] @ q, dtype=np.float32)
    return scores, candidates, float(kth - bound)


@dataclass
class AnnIndex:
    """An IVF-SQ8 inner-product index over a store's embeddings (faiss), with its tuned probe count."""

    index: object  # faiss.IndexIVFScalarQuantizer
    nprobe: int
    rescore: int  # candidates per wanted hit that are rescored exactly
    # The mean embedding (float64, D): the mean score of every tile is ``column_mean @ q`` without a scan, which
    # the padded-tile discount of hits taken from candidates alone needs. None for an index saved without it.
    column_mean: np.ndarray | None = None

    @staticmethod
    def build(embeddings: np.ndarray, seed: int = 0) -> AnnIndex:
        """Train and fill an index over ``embeddings`` (``N x D`` unit rows, may be a memmap).

        ``nlist`` grows with the square root of N; k-means trains on 64 rows per list. The probe
        count is the smallest power of two from :data:`ANN_MIN_NPROBE` reaching :data:`ANN_TARGET_RECALL`
        recall@10 on 200 stored rows (slightly perturbed) used as queries.
        """
        import faiss

        n, dim = embeddings.shape
        rng = np.random.default_rng(seed)
        nlist = int(max(16, min(4096, 2 ** round(np.log2(np.sqrt(n))))))
        train_rows = np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(embeddings[train_rows], dtype=np.float32))
        total = np.zeros(dim, dtype=np.float64)
        for start in range(0, n, CHUNK_ROWS):
            rows = np.ascontiguousarray(embeddings[start:start + CHUNK_ROWS], dtype=np.float32)
            index.add(rows)
            total += rows.sum(axis=0, dtype=np.float64)
        ann = AnnIndex(index, nprobe=1, rescore=4, column_mean=total / max(n, 1))
        ann.nprobe = ann._tune(embeddings, rng)
        return ann

    def _tune(self, embeddings: np.ndarray, rng: np.random.Generator, n_queries: int = 200) -> int:
        rows = np.sort(rng.choice(embeddings.shape[0], size=min(n_queries, embeddings.shape[0]), replace=False))
        queries = np.asarray(embeddings[rows], dtype=np.float32)
        queries = queries + rng.normal(0, 0.02, queries.shape).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth = [set(exact_top_k(embeddings, q, 10)[0].tolist()) for q in queries]
        nprobe = min(ANN_MIN_NPROBE, int(self.index.nlist))
        while True:
            self.nprobe = nprobe
            found = [set(self.search(embeddings, q, 10)[0].tolist()) for q in queries]
            recall = float(np.mean([len(a & b) / len(b) for a, b in zip(found, truth)]))
            if recall >= ANN_TARGET_RECALL or nprobe >= self.index.nlist:
                return nprobe
            nprobe *= 2

    def search(self, embeddings: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top ``k``: (row indices best first, exact float32 scores of those rows)."""
        import faiss

        q = _unit_query(query, embeddings.shape[1])[None]
        want = min(embeddings.shape[0], max(k * self.rescore, k))
        # Enough lists to hold ``want`` rows twice over on average (many candidates need many lists).
        ntotal, nlist = int(self.index.ntotal), int(self.index.nlist)
        nprobe = min(nlist, max(self.nprobe, int(np.ceil(2 * want * nlist / max(ntotal, 1)))))
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        _, ids = self.index.search(q, want, params=params)
        ids = np.unique(ids[0][ids[0] >= 0])  # sorted: memmap reads go forward
        scores = np.asarray(embeddings[ids] @ q[0], dtype=np.float32)  # SQ8 scores are rough: rescore
        best = top_indices(scores, k)
        return ids[best], scores[best]

    def save(self, store_dir: Path) -> None:
        """Write ``ann.faiss`` and ``ann.json`` beside the store (each atomically)."""
        import faiss

        store_dir = Path(store_dir)
        fd, tmp = tempfile.mkstemp(prefix=".ann.", suffix=".tmp", dir=store_dir)
        os.close(fd)
        try:
            faiss.write_index(self.index, tmp)
            os.replace(tmp, store_dir / ANN_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        meta = json.dumps({"nprobe": self.nprobe, "rescore": self.rescore, "ntotal": int(self.index.ntotal),
                           "column_mean": None if self.column_mean is None else self.column_mean.tolist()})
        tmp_meta = store_dir / f".{ANN_META_FILE}.tmp"
        tmp_meta.write_text(meta)
        os.replace(tmp_meta, store_dir / ANN_META_FILE)

    @staticmethod
    def load(store_dir: Path, n_rows: int) -> AnnIndex | None:
        """The saved index, or None when missing, unreadable or not matching the store's ``n_rows``."""
        import faiss

        store_dir = Path(store_dir)
        try:
            meta = json.loads((store_dir / ANN_META_FILE).read_text())
            index = faiss.read_index(str(store_dir / ANN_FILE))
        except (OSError, ValueError, RuntimeError):
            return None
        if int(index.ntotal) != n_rows or int(meta.get("ntotal", -1)) != n_rows:
            return None
        mean = meta.get("column_mean")
        return AnnIndex(index, nprobe=int(meta["nprobe"]), rescore=int(meta["rescore"]),
                        column_mean=None if mean is None else np.asarray(mean, dtype=np.float64))


class HeldByStore:
    """What a store's searches read on every query and is costly to open (its approximate index, its surface
    levels), held in memory for the last ``limit`` keys, most recent last; a value whose file was removed under it
    is made again. Reading a million tiles' index from disk took ~80 ms per query, its search ~3 ms. Two: a store
    and its change partner, or two stores searched in turn (an index is ~400 MB per million 384-d tiles)."""

    def __init__(self, limit: int = 2) -> None:
        self.limit = limit
        self._held: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, file: Path, make):
        """The value held for ``key``, or ``make()`` (held from now on) when there is none or ``file`` is gone."""
        with self._lock:
            value = self._held.get(key)
            if value is None or not Path(file).is_file():
                value = self._held[key] = make()
                while len(self._held) > self.limit:
                    self._held.popitem(last=False)
            self._held.move_to_end(key)
            return value

    def clear(self) -> None:
        """Forget every held value (the next ``get`` of each makes it again)."""
        with self._lock:
            self._held.clear()


_ANN_HELD = HeldByStore()


def store_ann(store) -> AnnIndex:
    """The approximate index of an EmbeddingStore: held in memory, else loaded from beside it, else built and
    saved there (tens of seconds on a million tiles)."""
    return _ANN_HELD.get((str(store.path), store.n_tiles), Path(store.path) / ANN_FILE,
                         lambda: _load_or_build_ann(store))


def _load_or_build_ann(store) -> AnnIndex:
    ann = AnnIndex.load(store.path, store.n_tiles)
    if ann is None or ann.column_mean is None:
        ann = AnnIndex.build(store.embeddings)
        ann.save(store.path)
    return ann
