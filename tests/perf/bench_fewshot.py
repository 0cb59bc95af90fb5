"""How fast "more like these" answers over 100,000 embedded tiles: fitting, scoring, the layer, the HTTP body.

    python tests/perf/bench_fewshot.py [--tiles 100000] [--rounds 5]

A synthetic store (unit embeddings in 21 clusters, 384 dimensions: the shipped model's size; a 317 x 316 grid of
64 px tiles) is written to a temporary cache; marks are points at tile centres. Times, in milliseconds (median
of ``--rounds``), of what ``backend.app.orchestration.fewshot`` runs after the store is found and the labels'
text is encoded (the workspace keeps phrase embeddings, so a refinement encodes nothing):

- ``fit_score_ms``: ``few_shot.few_shot`` (examples to tiles, the classifier, every tile's answer);
- ``layers_ms``: ``few_shot.few_shot_layers`` (one row per tile);
- ``geojson_ms``: the layer as a GeoJSON body, what ``POST /fewshot`` sends.

for prototypes (2 marks x 21 labels), logistic regression (5 x 21) and a ranking (3 marks, 2 negatives).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TILE = 64
DIM = 384


def synthetic_store(n_tiles: int, root: Path):
    from backend.embedding.store import write_store
    from backend.raster.reader import footprints

    side = int(np.ceil(np.sqrt(n_tiles)))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(21, DIM))
    labels = rng.integers(0, 21, n_tiles)
    emb = centres[labels] + 0.8 * rng.normal(size=(n_tiles, DIM))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    cols, rows = np.arange(n_tiles) % side, np.arange(n_tiles) // side
    windows = np.stack([cols * TILE, rows * TILE, np.full(n_tiles, TILE), np.full(n_tiles, TILE)], axis=1)
    transform = (0.5, 0.0, 500000.0, 0.0, -0.5, 5200000.0)
    rings = footprints(transform, windows)
    meta = {"key": "bench-fewshot", "raster": {"width": side * TILE, "height": side * TILE, "transform": transform,
                                               "crs_wkt": None, "path": "synthetic"},
            "tiling": {"tile_px": TILE, "stride_px": TILE}}
    tiles = {"windows": windows, "cores": windows, "footprints": rings, "core_footprints": rings,
             "valid": np.ones(n_tiles, dtype=np.float32)}
    return write_store("bench-fewshot", emb, tiles, meta, root=root), labels


def marks(store, labels: np.ndarray, per_label: int, rank: bool = False) -> list:
    from backend.query.few_shot import Example

    centre = store.core_footprints.mean(axis=1)
    out = []
    chosen = range(1) if rank else range(21)
    for c in chosen:
        for i in np.flatnonzero(labels == c)[:per_label]:
            out.append(Example(f"c{c}", {"type": "Point", "coordinates": centre[i].tolist()}))
    if rank:
        for i in np.flatnonzero(labels == 1)[:2]:
            out.append(Example("negative", {"type": "Point", "coordinates": centre[i].tolist()}))
    return out


def timed(fn, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(1000.0 * (time.perf_counter() - started))
    return round(float(np.median(times)), 1), result


def run(n_tiles: int = 100_000, rounds: int = 5) -> dict:
    from backend.query.few_shot import few_shot, few_shot_layers

    with tempfile.TemporaryDirectory() as tmp:
        store, labels = synthetic_store(n_tiles, Path(tmp))
        out: dict = {"tiles": int(store.n_tiles), "dim": DIM, "rounds": rounds}
        for name, examples, mode in (("prototypes", marks(store, labels, 2), "classify"),
                                     ("logistic_regression", marks(store, labels, 5), "classify"),
                                     ("ranking", marks(store, labels, 3, rank=True), "rank")):
            fit_ms, result = timed(lambda e=examples, m=mode: few_shot(store, e, mode=m), rounds)
            layers_ms, layers = timed(lambda r=result: few_shot_layers(store, r), rounds)
            geojson_ms, body = timed(lambda la=layers: json.dumps(la[0].geojson(None)), max(1, rounds // 2))
            out[name] = {"method": result.method, "fit_score_ms": fit_ms, "layers_ms": layers_ms,
                         "geojson_ms": geojson_ms, "geojson_mb": round(len(body) / 1e6, 1)}
        return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiles", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    print(json.dumps(run(args.tiles, args.rounds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
