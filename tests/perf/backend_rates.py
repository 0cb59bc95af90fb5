"""Embedding rate and cached-query latency of the backend on this machine.

    python tests/perf/backend_rates.py --model tiny-local --weights W.pt
    python tests/perf/backend_rates.py --model remoteclip-vit-b-32 --weights W.pt

Random weights are fine here: speed does not depend on what the weights are. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--weights")
    p.add_argument("--tile-size", type=int, default=64)
    p.add_argument("--overlap", type=float, default=0.25)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--queries", type=int, default=20)
    args = p.parse_args()
    os.environ["REMOTECLIP_CACHE"] = tempfile.mkdtemp(prefix="rc-bench-")

    import torch

    from backend.embedding.pipeline import embed_raster, plan_embedding
    from backend.models.factory import load_model
    from backend.query.text_search import text_search
    from backend.raster.reader import TilingParams

    model = load_model(args.model, weights=args.weights, device="cpu")
    plan = plan_embedding(str(SAMPLE), model.identity, model.spec.name, model.image_size,
                          TilingParams(tile_px=args.tile_size, overlap=args.overlap))
    t0 = time.perf_counter()
    store = embed_raster(plan, model, batch_size=args.batch_size)
    embed_s = time.perf_counter() - t0
    latencies = []
    for i in range(args.queries):
        t0 = time.perf_counter()
        text_search(store, model, [f"query {i}"], k=10)
        latencies.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "model": args.model, "arch": model.spec.arch, "threads": torch.get_num_threads(),
        "tiles": store.n_tiles, "tile_px": args.tile_size, "input_px": model.image_size,
        "embed_seconds": round(embed_s, 2), "tiles_per_second": round(store.n_tiles / embed_s, 1),
        "query_ms_median": round(statistics.median(latencies), 2), "query_ms_max": round(max(latencies), 2),
    }))


if __name__ == "__main__":
    main()
