"""Embedding a raster into a store: stream tiles, run the image tower in batches, write once.

Memory stays bounded by one batch of tiles plus the ``N x D`` embeddings, whatever the raster's size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .bands import BandChoice
from .embedding_store import EmbeddingStore, find_store, store_key, write_store
from .errors import JobCancelled, UserError
from .preprocess import to_model_input
from .raster_reader import (
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
from .tile_grid import GridSpec, PixelWindow, clip_windows, tile_windows

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


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


def plan_embedding(raster: str, model_identity: str, model_name: str, image_size: int,
                   params: TilingParams) -> EmbeddingPlan:
    """Open the raster, choose bands and grid, and compute the store key; reads no pixels."""
    with open_raster(raster) as src:
        info = describe(src)
    bands = select_bands(info, params.bands)
    grid, read_px = resolve_grid(info, params, image_size)
    plan = EmbeddingPlan(info, bands, grid, read_px, params, model_name, key="")
    key = store_key(info.identity, model_identity, plan.tiling)
    return EmbeddingPlan(info, bands, grid, read_px, params, model_name, key)


def cached_store(plan: EmbeddingPlan) -> EmbeddingStore | None:
    """The store for this plan if the raster was embedded before."""
    return find_store(plan.key)


def embed_raster(
    plan: EmbeddingPlan,
    model,
    batch_size: int = 32,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> EmbeddingStore:
    """Embed every usable tile of the planned raster with ``model`` (a LoadedModel); return the store.

    Returns the cached store at once when it exists. ``progress(done, total)`` is called after each
    batch; when ``cancelled()`` turns true the job stops with JobCancelled and writes nothing.
    Raises UserError when no tile holds enough valid pixels.
    """
    existing = find_store(plan.key)
    if existing is not None:
        if progress:
            progress(plan.grid.n_tiles, plan.grid.n_tiles)
        return existing
    windows, cores = tile_windows(plan.grid)
    total = len(windows)
    kept: list[int] = []
    valid_fractions: list[float] = []
    chunks: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    batch_index: list[int] = []
    started = time.perf_counter()

    def flush() -> None:
        if not batch:
            return
        pixels = to_model_input(torch.from_numpy(np.stack(batch)), model.image_size, model.mean, model.std)
        chunks.append(model.encode_images(pixels).numpy().astype(np.float32, copy=False))
        kept.extend(batch_index)
        batch.clear()
        batch_index.clear()

    with open_raster(plan.info.path) as src:
        limits = stretch_limits(src, plan.bands.bands)
        for i, (c, r, w, h) in enumerate(windows):
            if cancelled is not None and cancelled():
                raise JobCancelled("embedding cancelled")
            tile, valid = read_tile(src, PixelWindow(int(c), int(r), int(w), int(h)), plan.bands.bands,
                                    plan.read_px, limits)
            if valid >= plan.params.min_valid and valid > 0:
                batch.append(tile)
                batch_index.append(i)
                valid_fractions.append(valid)
            if len(batch) >= batch_size:
                flush()
                if progress:
                    progress(i + 1, total)
        flush()
    if progress:
        progress(total, total)
    if not kept:
        raise UserError(
            f"no usable tiles in {plan.info.path}: all {total} tiles are nodata, masked or padding "
            f"(below {plan.params.min_valid:.0%} valid pixels)"
        )
    index = np.asarray(kept, dtype=np.int64)
    win = windows[index]
    core = cores[index]
    raster = plan.info
    tiles = {
        "grid_index": index,
        "windows": win,
        "cores": core,
        "footprints": footprints(raster.transform, clip_windows(win, raster.width, raster.height)),
        "core_footprints": footprints(raster.transform, core),
        "valid": np.asarray(valid_fractions, dtype=np.float32),
    }
    meta = {
        "raster": raster.to_dict(),
        "model": {"name": plan.model_name, "identity": model.identity, "embed_dim": int(model.embed_dim),
                  "image_size": int(model.image_size)},
        "tiling": plan.tiling,
        "params": asdict(plan.params),
        "bands_reason": plan.bands.reason,
        "stretch_limits": limits.tolist(),
        "grid": {"n_cols": plan.grid.n_cols, "n_rows": plan.grid.n_rows, "n_tiles": total},
        "seconds": round(time.perf_counter() - started, 3),
    }
    return write_store(plan.key, np.concatenate(chunks), tiles, meta)
