"""Embedding a raster into a store: stream tiles, run the image tower in batches, write once.

The pipeline: worker threads read batches of windows (one rasterio dataset per thread, since a
dataset handle is not thread-safe; GDAL releases the GIL while it reads) a few batches ahead of the
model, so reading overlaps inference. Batches are preprocessed on tensors on the model's device; on
CUDA the tiles sit in pinned memory and are copied without blocking. Memory stays bounded by a few
batches of tiles plus the ``N x D`` embeddings, whatever the raster's size.

Under torchrun each rank embeds every ``world_size``-th batch and rank 0 writes the store
(:mod:`backend.embedding.distributed`).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace

import numpy as np
import rasterio
import torch
from rasterio.windows import Window

from ..errors import JobCancelled, UserError
from ..raster.bands import BandChoice
from ..raster.reader import (
    RasterInfo,
    TilingParams,
    describe,
    footprints,
    open_raster,
    read_tile,
    resolve_grid,
    select_bands,
    stretch_limits,
)
from ..raster.tile_grid import GridSpec, clip_windows, tile_windows
from .checkpoint import EmbeddingCheckpoint, checkpoint_seconds
from .distributed import SINGLE, Ranks, broadcast, gather
from .preprocess import to_model_input
from .store import EmbeddingStore, find_store, store_key, write_store

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Tiles per forward pass on the CPU: past 32, ViT-B-32's throughput on a few cores no longer grows.
CPU_BATCH = 32
# Batches read ahead of the model per reader thread: enough to hide a slow read, few enough to bound memory.
READ_AHEAD_PER_WORKER = 2
# GDAL's block cache while embedding (bytes), unless GDAL_CACHEMAX is set: GDAL's default, 5 % of RAM,
# filled 1.2 GB of a 24 GB machine on a 20,000 px raster whose tiles are each read once. 512 MB still holds
# two rows of 512 px blocks of a 60,000 px wide 4-band 8-bit raster, so neighbouring tiles share decodes.
READ_CACHE_BYTES = 512 * 2**20


def default_batch_size(device: torch.device) -> int:
    """Tiles per forward pass for ``device``: 32 on the CPU; on a GPU, by its memory (ViT-L-14 at
    224 px in float16 needs about 25 MB of activations per tile)."""
    if device.type == "cuda":
        gib = torch.cuda.get_device_properties(device).total_memory / 2**30
        return 256 if gib >= 20 else 128 if gib >= 8 else 64
    if device.type == "mps":
        return 64
    return CPU_BATCH


def default_read_workers(device: torch.device | None = None) -> int:
    """Reader threads for a model on ``device``.

    On the CPU the model's threads use every core and a 224 px tile takes ~0.7 ms to read against ~140 ms
    of ViT-B-32 (2 cores): one reader keeps up a hundred times over, and more would only preempt the model
    (one reader per 4 cores on big machines). A GPU eats tiles as fast as they are read: up to 8 readers.
    """
    cores = os.cpu_count() or 1
    if device is not None and device.type in ("cuda", "mps"):
        return max(1, min(8, cores - 1))
    return max(1, min(4, cores // 4))


@dataclass(frozen=True)
class EmbeddingPlan:
    """Everything decided before the first tile is read: the raster, bands, grid and store key."""

    info: RasterInfo
    bands: BandChoice
    grid: GridSpec
    read_px: int
    params: TilingParams
    model_name: str
    key: str

    @property
    def tiling(self) -> dict:
        """The tiling as stored in the key and the store's metadata."""
        return {
            "tile_px": self.grid.tile_px,
            "stride_px": self.grid.stride_px,
            "read_px": self.read_px,
            "bands": list(self.bands.bands),
            "min_valid": self.params.min_valid,
        }


def plan_for_raster(info: RasterInfo, model_identity: str, model_name: str, image_size: int,
                    params: TilingParams, default_ground_m: float | None = None) -> EmbeddingPlan:
    """Choose bands and grid for a raster already opened and described, and compute the store key.

    ``default_ground_m``: the model's default tile side on the ground, metres (:func:`resolve_grid`)."""
    bands = select_bands(info, params.bands)
    grid, read_px = resolve_grid(info, params, image_size, default_ground_m)
    plan = EmbeddingPlan(info, bands, grid, read_px, params, model_name, key="")
    return replace(plan, key=store_key(info.identity, model_identity, plan.tiling))


def plan_embedding(raster: str, model_identity: str, model_name: str, image_size: int,
                   params: TilingParams, default_ground_m: float | None = None) -> EmbeddingPlan:
    """Open the raster and plan it (:func:`plan_for_raster`); reads no pixels."""
    with open_raster(raster) as src:
        info = describe(src)
    return plan_for_raster(info, model_identity, model_name, image_size, params, default_ground_m)


class _ThreadDatasets:
    """One open rasterio dataset per reader thread (dataset handles must not be shared across threads)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list = []
        self._lock = threading.Lock()

    def get(self):
        src = getattr(self._local, "src", None)
        if src is None:
            src = open_raster(self.path, probe=False)  # probed when planned
            self._local.src = src
            with self._lock:
                self._opened.append(src)
        return src

    def close(self) -> None:
        with self._lock:
            for src in self._opened:
                src.close()
            self._opened.clear()


@dataclass
class _ReadBatch:
    """Tiles of one batch of windows that hold enough valid pixels."""

    grid_index: np.ndarray  # int64, positions in the grid's window list
    valid: np.ndarray  # float32, fraction of valid pixels per tile
    tiles: torch.Tensor  # n x 3 x read_px x read_px float32 in [0, 1] (pinned when feeding a GPU)


def _read_batch(datasets: _ThreadDatasets, plan: EmbeddingPlan, windows: np.ndarray, grid_index: np.ndarray,
                limits: np.ndarray, pin: bool) -> _ReadBatch:
    """Read the windows at ``grid_index`` (runs in a reader thread)."""
    src = datasets.get()
    size = plan.read_px
    buf = torch.empty((len(grid_index), 3, size, size), dtype=torch.float32, pin_memory=pin)
    out = buf.numpy()
    keep = np.zeros(len(grid_index), dtype=bool)
    valid = np.zeros(len(grid_index), dtype=np.float32)
    for j, i in enumerate(grid_index):
        c, r, w, h = windows[i]
        tile, fraction = read_tile(src, Window(int(c), int(r), int(w), int(h)), plan.bands.bands, size, limits)
        if fraction >= plan.params.min_valid and fraction > 0:
            keep[j] = True
            valid[j] = fraction
            out[j] = tile
    if keep.all():
        tiles = buf
    else:
        tiles = buf[torch.from_numpy(keep)]
        if pin:
            tiles = tiles.pin_memory()
    return _ReadBatch(grid_index[keep], valid[keep], tiles)


def _encode_batch(model, batch: _ReadBatch) -> np.ndarray:
    """Embeddings (float32, ``n x D``) of one read batch: preprocessed on the model's device."""
    pixels = batch.tiles.to(model.device, non_blocking=True) if model.device.type == "cuda" else batch.tiles
    pixels = to_model_input(pixels, model.image_size, model.mean, model.std)
    return model.encode_images(pixels).numpy().astype(np.float32, copy=False)


def _embed_share(plan: EmbeddingPlan, model, windows: np.ndarray, batches: list[np.ndarray], limits: np.ndarray,
                 workers: int, progress: Progress | None, cancelled: Cancelled | None,
                 checkpoint: EmbeddingCheckpoint | None = None, done_before: int = 0,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embed the given batches of grid positions, in order; returns (grid_index, valid, embeddings).

    ``checkpoint``: every ``checkpoint_seconds()`` the tiles finished since the last chunk are saved,
    so a killed job resumes after them; ``done_before``: windows finished by earlier runs (progress).
    """
    share_total = int(sum(len(b) for b in batches))
    total = done_before + share_total
    embeddings = np.empty((share_total, int(model.embed_dim)), dtype=np.float32)
    kept = np.empty(share_total, dtype=np.int64)
    valid = np.empty(share_total, dtype=np.float32)
    n_kept = 0
    done = done_before
    n_saved = 0
    every = checkpoint_seconds()
    last_save = time.monotonic()
    pin = model.device.type == "cuda"
    datasets = _ThreadDatasets(plan.info.path)
    pending: deque[Future] = deque()
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tile-reader") as pool:
            queued = consumed = 0
            try:
                while queued < len(batches) or pending:
                    while queued < len(batches) and len(pending) < workers * READ_AHEAD_PER_WORKER:
                        pending.append(pool.submit(_read_batch, datasets, plan, windows, batches[queued], limits, pin))
                        queued += 1
                    if cancelled is not None and cancelled():
                        raise JobCancelled("embedding cancelled")
                    batch = pending.popleft().result()
                    done += len(batches[consumed])
                    consumed += 1
                    n = len(batch.grid_index)
                    if n:
                        embeddings[n_kept:n_kept + n] = _encode_batch(model, batch)
                        kept[n_kept:n_kept + n] = batch.grid_index
                        valid[n_kept:n_kept + n] = batch.valid
                        n_kept += n
                    if checkpoint is not None and time.monotonic() - last_save >= every:
                        next_window = int(batches[consumed][0]) if consumed < len(batches) else len(windows)
                        checkpoint.save(kept[n_saved:n_kept], embeddings[n_saved:n_kept], valid[n_saved:n_kept],
                                        next_window)
                        n_saved, last_save = n_kept, time.monotonic()
                    if progress:
                        progress(done, total)
            finally:
                for fut in pending:  # on cancel or error: do not read batches nobody will use
                    fut.cancel()
    finally:
        datasets.close()
    return kept[:n_kept], valid[:n_kept], embeddings[:n_kept]


PROBE_BATCHES = 2  # timed batches of a probe (after one untimed warm-up batch)
PROBE_WARMUP_TILES = 4


VALID_SAMPLE_TILES = 256  # tiles read (no model) to tell the share of the grid that will be embedded


def _spread(total: int, n: int) -> np.ndarray:
    """Up to ``n`` grid positions spread evenly over ``total``."""
    return np.unique(np.linspace(0, total - 1, min(total, n)).round().astype(np.int64))


def valid_share(plan: EmbeddingPlan, samples: int = VALID_SAMPLE_TILES) -> float:
    """The share (0 to 1) of the plan's tiles that will be embedded, from ``samples`` tiles spread evenly over
    the grid: the rest are nodata, masked or padding and are skipped (read, never embedded)."""
    windows, _ = tile_windows(plan.grid)
    positions = _spread(len(windows), samples)
    with open_raster(plan.info.path) as src:
        limits = stretch_limits(src, plan.bands.bands)
    datasets = _ThreadDatasets(plan.info.path)
    try:
        kept = len(_read_batch(datasets, plan, windows, positions, limits, False).grid_index)
    finally:
        datasets.close()
    return kept / len(positions)


def probe_rate(plan: EmbeddingPlan, model, batch_size: int | None = None, workers: int | None = None) -> float | None:
    """Embedded tiles per second of this plan's own tiles through the pipeline embed_raster runs (reader
    threads, preprocessing, the model): a warm-up batch, then ``PROBE_BATCHES`` batches of tiles spread evenly
    over the grid, timed. None when the sample holds no tile to embed. Writes nothing."""
    batch_size = default_batch_size(model.device) if batch_size is None else max(1, int(batch_size))
    workers = default_read_workers(model.device) if workers is None else max(1, int(workers))
    windows, _ = tile_windows(plan.grid)
    positions = _spread(len(windows), PROBE_BATCHES * batch_size)
    batches = [positions[i:i + batch_size] for i in range(0, len(positions), batch_size)]
    with open_raster(plan.info.path) as src:
        limits = stretch_limits(src, plan.bands.bands)
    warmup = [positions[:PROBE_WARMUP_TILES]]
    _embed_share(plan, model, windows, warmup, limits, workers, None, None)  # first calls allocate, pick kernels
    started = time.perf_counter()
    kept = len(_embed_share(plan, model, windows, batches, limits, workers, None, None)[0])
    elapsed = max(time.perf_counter() - started, 1e-6)
    return kept / elapsed if kept else None


def embed_raster(
    plan: EmbeddingPlan,
    model,
    batch_size: int | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    workers: int | None = None,
    ranks: Ranks = SINGLE,
) -> EmbeddingStore | None:
    """Embed every usable tile of the planned raster with ``model`` (a LoadedModel); return the store.

    Returns the cached store at once when it exists. ``batch_size`` is tiles per forward pass
    (default: :func:`default_batch_size` for the model's device); ``workers`` is reader threads
    (default: :func:`default_read_workers`). ``progress(done, total)`` is called after each batch;
    when ``cancelled()`` turns true the job stops with JobCancelled and writes nothing.
    Raises UserError when no tile holds enough valid pixels.

    With ``ranks`` of several processes (torchrun, process group already joined) each rank embeds every
    ``world_size``-th batch and rank 0 writes the store; the other ranks return the store if they can
    see rank 0's cache folder, else None.
    """
    existing = find_store(plan.key) if ranks.is_main else None
    if broadcast(existing is not None, ranks):
        if progress:
            progress(plan.grid.n_tiles, plan.grid.n_tiles)
        return existing if ranks.is_main else find_store(plan.key)
    batch_size = default_batch_size(model.device) if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    workers = default_read_workers(model.device) if workers is None else int(workers)
    if workers < 1:
        raise UserError(f"reader threads must be at least 1, got {workers}")
    windows, cores = tile_windows(plan.grid)
    total = len(windows)
    # A single process keeps chunks of finished batches: a job killed half-way resumes after them.
    checkpoint = None if ranks.distributed else EmbeddingCheckpoint(plan.key, model.embed_dim)
    resumed = checkpoint.load() if checkpoint is not None else None
    start = resumed.next_window if resumed is not None else 0
    positions = np.arange(start, total, dtype=np.int64)
    batches = [positions[i:i + batch_size] for i in range(0, len(positions), batch_size)][ranks.rank::ranks.world_size]
    started = time.perf_counter()
    with open_raster(plan.info.path, probe=False) as src:
        limits = stretch_limits(src, plan.bands.bands)
    cache_limit = nullcontext() if os.environ.get("GDAL_CACHEMAX") else rasterio.Env(GDAL_CACHEMAX=READ_CACHE_BYTES)
    try:
        with cache_limit:
            share = _embed_share(plan, model, windows, batches, limits, workers, progress, cancelled, checkpoint,
                                 done_before=start)
    except (JobCancelled, UserError):  # cancelled, or bad input: nothing of this job is kept
        if checkpoint is not None:
            checkpoint.clear()
        raise
    if resumed is not None:
        share = (np.concatenate([resumed.grid_index, share[0]]), np.concatenate([resumed.valid, share[1]]),
                 np.concatenate([resumed.embeddings, share[2]]))
    shares = gather(share, ranks)
    error: str | None = None
    store: EmbeddingStore | None = None
    if shares is not None:  # rank 0 (or the only process)
        kept = np.concatenate([s[0] for s in shares])
        order = np.argsort(kept, kind="stable")  # ranks hold interleaved batches: back to grid order
        kept = kept[order]
        valid = np.concatenate([s[1] for s in shares])[order]
        embeddings = np.concatenate([s[2] for s in shares])[order]
        del shares, share
        if progress:
            progress(total, total)
        if not len(kept):
            if checkpoint is not None:
                checkpoint.clear()
            error = (f"no usable tiles in {plan.info.path}: all {total} tiles are nodata, masked or padding "
                     f"(below {plan.params.min_valid:.0%} valid pixels)")
        else:
            try:
                store = _write(plan, model, windows, cores, kept, valid, embeddings, limits,
                               time.perf_counter() - started)
            except Exception as exc:
                if checkpoint is not None and isinstance(exc, UserError):
                    checkpoint.clear()
                if not ranks.distributed:
                    raise
                error = f"rank 0 could not write the store: {exc}"
            if checkpoint is not None:
                checkpoint.clear()
    # Every rank learns the outcome, so a failure on rank 0 is the same one-line error everywhere.
    error = broadcast(error, ranks)
    if error is not None:
        raise UserError(error)
    return store if ranks.is_main else find_store(plan.key)


def _write(plan: EmbeddingPlan, model, windows: np.ndarray, cores: np.ndarray, kept: np.ndarray,
           valid: np.ndarray, embeddings: np.ndarray, limits: np.ndarray, seconds: float) -> EmbeddingStore:
    """Write the store of the kept tiles (grid positions ``kept``, in grid order)."""
    win = windows[kept]
    core = cores[kept]
    raster = plan.info
    tiles = {
        "grid_index": kept,
        "windows": win,
        "cores": core,
        "footprints": footprints(raster.transform, clip_windows(win, raster.width, raster.height)),
        "core_footprints": footprints(raster.transform, core),
        "valid": valid.astype(np.float32, copy=False),
    }
    meta = {
        "raster": raster.to_dict(),
        "model": {"name": plan.model_name, "identity": model.identity, "embed_dim": int(model.embed_dim),
                  "image_size": int(model.image_size), "precision": getattr(model, "precision", "exact")},
        "tiling": plan.tiling,
        "params": asdict(plan.params),
        "bands_reason": plan.bands.reason,
        "stretch_limits": limits.tolist(),
        "grid": {"n_cols": plan.grid.n_cols, "n_rows": plan.grid.n_rows, "n_tiles": len(windows)},
        "seconds": round(seconds, 3),
    }
    return write_store(plan.key, embeddings, tiles, meta)
