"""Seconds for transductive zero-shot over synthetic tiles (default 100,000 x 512, 20 classes); not a unit test.

    python tests/perf/bench_transductive.py [--n 100000] [--dim 512] [--classes 20] [--neighbors 3]
                                            [--recall-queries 1000]

Tiles are Gaussian clusters with CLIP-like geometry (unit vectors, a shared image/text offset, noisy text
prototypes), so the accuracies printed beside the times mean something; speed does not depend on them. Prints
one JSON object: wall-clock and CPU seconds (the machine may be shared: CPU seconds drift less) for plain
zero-shot, for the neighbour graph alone and for the whole transductive call (graph included), top-1 of both
in percent, and, past the exact limit, the neighbour recall: the share of each of ``--recall-queries`` tiles'
true k nearest neighbours (exact search) that the approximate graph links it to.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.query.transductive import (  # noqa: E402
    EXACT_NEIGHBORS_MAX,
    knn_affinity,
    transductive_zero_shot,
    zero_shot_probabilities,
)


def synthetic(n: int, dim: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit tiles ``n x dim`` (float32), labels, unit text prototypes ``classes x dim``; zero-shot about 45 %."""
    rng = np.random.default_rng(seed)

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    centres = unit(rng.normal(size=(classes, dim)))
    labels = rng.integers(0, classes, size=n)
    gap_image, gap_text = unit(rng.normal(size=(2, dim)))
    tiles = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 20_000):  # chunks keep the float64 noise small
        lab = labels[s:s + 20_000]
        noise = rng.normal(scale=1.0 / np.sqrt(dim), size=(len(lab), dim))
        tiles[s:s + 20_000] = unit(centres[lab] + noise + 2.0 * gap_image)
    text = unit(centres + 7.0 * rng.normal(size=(classes, dim)) / np.sqrt(dim) + 2.0 * gap_text)
    return tiles, labels, text


def neighbour_recall(x: np.ndarray, k: int, queries: int) -> float:
    """Share of the exact k nearest neighbours (self excluded) that the graph holds, over ``queries`` tiles."""
    graph = knn_affinity(x, k)  # W + W^T: a row holds its own k neighbours and those that chose it
    rows = np.random.default_rng(1).choice(len(x), size=queries, replace=False)
    sims = x[rows] @ x.T
    sims[np.arange(queries), rows] = -np.inf
    exact = np.argpartition(-sims, k, axis=1)[:, :k]
    found = [len(set(exact[i]) & set(graph.indices[graph.indptr[r]:graph.indptr[r + 1]])) for i, r in enumerate(rows)]
    return float(np.sum(found) / (queries * k))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--neighbors", type=int, default=3)
    p.add_argument("--recall-queries", type=int, default=1000)
    args = p.parse_args()
    x, y, t = synthetic(args.n, args.dim, args.classes)

    clocks = [(time.perf_counter(), time.process_time())]
    plain = zero_shot_probabilities(x, t, 100.0)
    clocks.append((time.perf_counter(), time.process_time()))
    knn_affinity(x, args.neighbors)
    clocks.append((time.perf_counter(), time.process_time()))
    probs = transductive_zero_shot(x, t, 100.0, n_neighbors=args.neighbors)
    clocks.append((time.perf_counter(), time.process_time()))
    wall = [round(b[0] - a[0], 3) for a, b in zip(clocks, clocks[1:])]
    cpu = [round(b[1] - a[1], 3) for a, b in zip(clocks, clocks[1:])]
    out = {
        "tiles": args.n, "dim": args.dim, "classes": args.classes, "neighbors": args.neighbors,
        "neighbour_index": "exact" if args.n <= EXACT_NEIGHBORS_MAX else "cells",
        "plain_seconds": wall[0], "graph_seconds": wall[1], "transductive_seconds": wall[2],
        "plain_cpu_seconds": cpu[0], "graph_cpu_seconds": cpu[1], "transductive_cpu_seconds": cpu[2],
        "plain_top1": round(100 * float((plain.argmax(1) == y).mean()), 2),
        "transductive_top1": round(100 * float((probs.argmax(1) == y).mean()), 2),
    }
    if args.n > EXACT_NEIGHBORS_MAX and args.recall_queries:
        out["neighbour_recall"] = round(neighbour_recall(x, args.neighbors, min(args.recall_queries, args.n)), 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
