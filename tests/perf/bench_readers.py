"""Reader threads or a torch DataLoader: which feeds the model faster while embedding a raster (tiles/s).

    python tests/perf/bench_readers.py [--model remoteclip-qgis-small] [--workers 1,2] [--rounds 3]

Both sides read the same windows of the same raster (a VRT mosaic of the NAIP sample, 4 x 4 copies)
with the same code (``pipeline._read_batch``: rasterio window reads, stretch, mirror padding), preprocess
and embed them the same way (``pipeline._encode_batch``) with the same model, and must give identical
embeddings. Only the feeding differs:

- ``threads``: today's pipeline (``pipeline._embed_share``): a ThreadPoolExecutor of ``workers`` reader
  threads, each with its own open dataset, ``READ_AHEAD_PER_WORKER`` batches ahead of the model.
- ``dataloader``: ``torch.utils.data.DataLoader`` over the same batches, ``num_workers`` worker processes
  (forkserver; each opens the raster once), ``prefetch_factor`` = ``READ_AHEAD_PER_WORKER``, ``batch_size=None``.

Rounds interleave the two (the machine may be shared: absolute rates drift, interleaved ratios less).
Prints JSON; ``tests/perf/bench.py --only readers`` runs the same and records it in results.json.
``--model remoteclip-vit-b-32`` uses random ViT-B-32 weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.mosaic import SAMPLE, mosaic_vrt  # noqa: E402


class _BatchDataset:
    """Map-style dataset: item ``i`` is batch ``i`` of grid positions, read as pipeline._read_batch does.

    Each DataLoader worker process opens the raster once (its own _ThreadDatasets)."""

    def __init__(self, plan, windows: np.ndarray, batches: list[np.ndarray], limits: np.ndarray) -> None:
        self.plan, self.windows, self.batches, self.limits = plan, windows, batches, limits
        self._datasets = None

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        from backend.embedding.pipeline import _read_batch, _ThreadDatasets

        if self._datasets is None:
            self._datasets = _ThreadDatasets(self.plan.info.path)
        return _read_batch(self._datasets, self.plan, self.windows, self.batches[i], self.limits, False)


def _collate(batch):
    return batch  # _ReadBatch as read (batch_size=None: no stacking)


def _dataloader_share(plan, model, windows, batches, limits, workers: int):
    """The pipeline's loop fed by a DataLoader: (grid_index, valid, embeddings) like _embed_share."""
    import torch

    from backend.embedding.pipeline import READ_AHEAD_PER_WORKER, _encode_batch

    loader = torch.utils.data.DataLoader(
        _BatchDataset(plan, windows, batches, limits), batch_size=None, shuffle=False, num_workers=workers,
        prefetch_factor=READ_AHEAD_PER_WORKER, collate_fn=_collate, persistent_workers=False,
        # Not fork: a forked worker deadlocked (0 % CPU for minutes) once the process had run reader and
        # torch threads; forkserver starts workers from a clean process.
        multiprocessing_context="forkserver",
    )
    kept, valid, out = [], [], []
    for batch in loader:
        if len(batch.grid_index):
            out.append(_encode_batch(model, batch))
            kept.append(batch.grid_index)
            valid.append(batch.valid)
    return np.concatenate(kept), np.concatenate(valid), np.concatenate(out)


def run(work: Path, model_name: str = "remoteclip-qgis-small", workers: tuple[int, ...] = (1, 2),
        rounds: int = 3, batch: int = 32, copies: int = 4) -> dict:
    """Interleaved rounds of both feeders for each worker count; returns the figures (tiles/s, ratios)."""
    import rasterio
    import torch

    from backend.embedding.pipeline import READ_CACHE_BYTES, _embed_share, plan_embedding
    from backend.models.factory import load_model
    from backend.raster.reader import TilingParams, open_raster, stretch_limits
    from backend.raster.tile_grid import tile_windows

    weights = None
    if model_name != "remoteclip-qgis-small":
        from tests.perf.bench import random_weights

        weights = str(random_weights(model_name, work))
    model = load_model(model_name, weights=weights, device="cpu")
    with rasterio.open(SAMPLE) as src:
        width, height = src.width * copies, src.height * copies
    raster = mosaic_vrt(work / "readers.vrt", width, height)
    plan = plan_embedding(str(raster), model.identity, model.spec.name, model.image_size,
                          TilingParams(tile_px=model.image_size))
    windows, _ = tile_windows(plan.grid)
    positions = np.arange(len(windows), dtype=np.int64)
    batches = [positions[i:i + batch] for i in range(0, len(positions), batch)]
    with open_raster(plan.info.path) as src:
        limits = stretch_limits(src, plan.bands.bands)
    model.encode_images(torch.zeros(2, 3, model.image_size, model.image_size))  # warm-up

    feeders = {
        "threads": lambda w: _embed_share(plan, model, windows, batches, limits, w, None, None),
        "dataloader": lambda w: _dataloader_share(plan, model, windows, batches, limits, w),
    }
    rates: dict[str, list[float]] = {f"{f}_{w}": [] for w in workers for f in feeders}
    reference = None
    with rasterio.Env(GDAL_CACHEMAX=READ_CACHE_BYTES):
        for rnd in range(rounds):
            for w in workers:
                for name, feed in feeders.items():
                    t0 = time.perf_counter()
                    kept, valid, emb = feed(w)
                    seconds = time.perf_counter() - t0
                    if reference is None:
                        reference = (kept, valid, emb)
                    else:  # same tiles, same embeddings, whichever feeder
                        np.testing.assert_array_equal(kept, reference[0])
                        np.testing.assert_array_equal(valid, reference[1])
                        np.testing.assert_allclose(emb, reference[2], rtol=0, atol=1e-6)
                    rates[f"{name}_{w}"].append(len(kept) / seconds)
                    print(f"[readers] round {rnd + 1}/{rounds} {name} workers={w}: "
                          f"{len(kept) / seconds:.1f} tiles/s", file=sys.stderr, flush=True)
    out: dict = {
        "readers_model": f"{model.spec.name} ({model.spec.arch}), {model.image_size} px, float32, CPU",
        "readers_raster": f"VRT mosaic of the NAIP sample, {width} x {height} px, {len(windows)} tiles of "
                          f"{model.image_size} px, batches of {batch}",
        "readers_rounds": rounds,
    }
    for w in workers:
        for name in feeders:
            out[f"readers_{name}_{w}_tiles_per_s"] = round(statistics.median(rates[f"{name}_{w}"]), 1)
        # Per round, threads over DataLoader (> 1: the threads are faster).
        out[f"readers_threads_over_dataloader_{w}"] = round(statistics.median(
            t / d for t, d in zip(rates[f"threads_{w}"], rates[f"dataloader_{w}"])), 3)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="remoteclip-qgis-small")
    p.add_argument("--workers", default="1,2", help="reader counts to compare (comma-separated)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--copies", type=int, default=4, help="the mosaic is copies x copies NAIP samples")
    args = p.parse_args()
    os.environ.setdefault("REMOTECLIP_EXTRA_MODELS", str(ROOT / "tests" / "fixtures" / "extra_models.json"))
    with tempfile.TemporaryDirectory(prefix="rc-readers-") as tmp:
        os.environ["REMOTECLIP_CACHE"] = str(Path(tmp) / "cache")
        result = run(Path(tmp), args.model, tuple(int(w) for w in args.workers.split(",")), args.rounds,
                     args.batch_size, args.copies)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
