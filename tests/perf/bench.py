"""`make bench`: embedding, fast-path, memory, query and reader figures, into tests/perf/results.json.

    python tests/perf/bench.py [--only embed,memory,query,readers] [--rounds 3] [-o tests/perf/results.json]

Every ratio is measured within one run with both sides interleaved round by round (the machine may be
shared, so absolute rates drift; ratios of interleaved measurements do not). Random weights are used
for ViT-B-32: speed does not depend on what the weights are. The table in docs/PERFORMANCE.md between
the ``bench:table`` markers is rewritten from the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.mosaic import mosaic_vrt  # noqa: E402

DOC = ROOT / "docs" / "PERFORMANCE.md"
SECTIONS = ("embed", "memory", "query", "readers")
TARGETS = {  # key: (comparison, target)
    "e2e_over_model": (">=", 0.9),
    "e2e_over_naive": (">=", 1.5),
    "fast_path_speedup": (">=", 1.5),
    "fast_path_cosine_min": (">=", 0.99),
    "fast_path_top10_overlap": (">=", 0.9),
    "query_1m_ms": ("<=", 150.0),
    "ann_recall_at_10": (">=", 0.95),
    "ann_query_ms": ("<=", 10.0),
    "peak_rss_gb": ("<=", 3.0),
}
QUERIES = ["a lake", "farmland", "a road", "a river", "houses", "a forest", "a parking lot", "bare soil",
           "a football field", "a farm building", "grassland", "a highway", "a pond", "trees", "a bridge",
           "crops in rows", "a dirt track", "a village", "wetland", "a railway"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def random_weights(arch_name: str, folder: Path) -> Path:
    """A state dict of ``arch_name``'s architecture with random (seeded) weights."""
    import torch

    from backend.models.factory import build_model
    from backend.models.registry import get_model_spec

    torch.manual_seed(0)
    model = build_model(get_model_spec(arch_name))
    path = folder / f"{arch_name}-random.pt"
    torch.save(model.state_dict(), path)
    return path


# --------------------------------------------------------------------------- embedding and fast path


def _naive_tiles(model, raster: Path, windows: np.ndarray) -> int:
    """The naive loop: one window read, one PIL transform (open_clip's), one forward per tile."""
    import rasterio
    import torch
    from open_clip.transform import image_transform
    from PIL import Image
    from rasterio.windows import Window

    transform = image_transform(model.image_size, is_train=False, mean=model.mean, std=model.std)
    with rasterio.open(raster) as src:
        for c, r, w, h in windows:
            arr = src.read([1, 2, 3], window=Window(int(c), int(r), int(w), int(h)))
            pixels = transform(Image.fromarray(np.moveaxis(arr, 0, -1)))[None]
            with torch.inference_mode():
                model.model.encode_image(pixels)
    return len(windows)


def bench_embed(work: Path, rounds: int, batch: int) -> dict:
    import torch

    from backend.embedding.pipeline import embed_raster, plan_embedding
    from backend.models.factory import load_model
    from backend.raster.reader import TilingParams
    from backend.raster.tile_grid import tile_windows

    weights = random_weights("remoteclip-vit-b-32", work)
    exact = load_model("remoteclip-vit-b-32", weights=str(weights), device="cpu")
    fast = load_model("remoteclip-vit-b-32", weights=str(weights), device="cpu", precision="int8")
    size = exact.image_size
    raster = mosaic_vrt(work / "mosaic.vrt", 12 * size, 10 * size)  # 120 tiles of 224 px, 3 x 4 NAIP tiles
    params = TilingParams(tile_px=size)
    ready = torch.rand(batch, 3, size, size)  # model-only input: normalised tensors already in memory
    ready = (ready - 0.45) / 0.27
    exact.encode_images(ready[:2])  # warm-up: first calls allocate
    fast.encode_images(ready[:2])
    totals = {k: [0, 0.0] for k in ("model", "fast_model", "e2e", "fast_e2e", "naive")}
    per_round: list[dict[str, float]] = []  # tiles/s of each measurement, per round
    stores = {}
    for rnd in range(rounds):
        os.environ["REMOTECLIP_CACHE"] = str(work / f"cache-{rnd}")  # every round embeds afresh
        per_round.append({})
        for name in ("model", "e2e", "naive", "fast_model", "fast_e2e"):
            t0 = time.perf_counter()
            if name in ("model", "fast_model"):
                m = exact if name == "model" else fast
                n = 0
                for _ in range(120 // batch):
                    m.encode_images(ready)
                    n += batch
            elif name in ("e2e", "fast_e2e"):
                m = exact if name == "e2e" else fast
                plan = plan_embedding(str(raster), m.identity, m.spec.name, m.image_size, params)
                store = embed_raster(plan, m, batch_size=batch)
                n = store.n_tiles
                stores[name] = store
            else:
                plan = plan_embedding(str(raster), exact.identity, exact.spec.name, size, params)
                windows, _ = tile_windows(plan.grid)
                n = _naive_tiles(exact, raster, windows[:24])
            seconds = time.perf_counter() - t0
            totals[name][0] += n
            totals[name][1] += seconds
            per_round[-1][name] = n / seconds
            log(f"round {rnd + 1}/{rounds} {name}: {n / seconds:.2f} tiles/s")
    rate = {k: n / s for k, (n, s) in totals.items()}

    def ratio(a: str, b: str) -> float:
        """Median over rounds of a round's rate ``a`` over the same round's rate ``b`` (measured minutes apart
        at most, so a busy spell on the shared machine slows both)."""
        return round(statistics.median(r[a] / r[b] for r in per_round), 3)

    # Fast path accuracy: the same tiles, exact vs int8 embeddings, and text-search top-10 overlap.
    a = np.asarray(stores["e2e"].embeddings)
    b = np.asarray(stores["fast_e2e"].embeddings)
    cosine = np.sum(a * b, axis=1)
    texts = exact.encode_texts([f"a satellite photo of {q}." for q in QUERIES]).numpy()
    text_overlap = [len(set(np.argsort(-(a @ t))[:10]) & set(np.argsort(-(b @ t))[:10])) / 10 for t in texts]
    image_overlap = [len(set(np.argsort(-(a @ a[i]))[:10]) & set(np.argsort(-(b @ b[i]))[:10])) / 10
                     for i in range(0, len(a), 6)]
    # Spread of the exact scores next to the int8 error: random weights make all tiles look alike.
    text_spread = float(np.mean([np.std(a @ t) for t in texts]))
    text_error = float(np.mean([np.std(a @ t - b @ t) for t in texts]))
    return {
        "embed_model": "remoteclip-vit-b-32 (ViT-B-32, random weights), 224 px, float32, CPU",
        "embed_raster": f"VRT mosaic of the NAIP sample, {12 * size} x {10 * size} px, 120 tiles of {size} px",
        "batch_size": batch, "rounds": rounds, "torch_threads": torch.get_num_threads(),
        "model_only_tiles_per_s": round(rate["model"], 2),
        "e2e_tiles_per_s": round(rate["e2e"], 2),
        "naive_tiles_per_s": round(rate["naive"], 2),
        "fast_model_only_tiles_per_s": round(rate["fast_model"], 2),
        "fast_e2e_tiles_per_s": round(rate["fast_e2e"], 2),
        "e2e_over_model": ratio("e2e", "model"),
        "e2e_over_naive": ratio("e2e", "naive"),
        "fast_path_speedup": ratio("fast_model", "model"),
        "fast_path_e2e_speedup": ratio("fast_e2e", "e2e"),
        "e2e_over_model_per_round": [round(r["e2e"] / r["model"], 3) for r in per_round],
        "fast_path_speedup_per_round": [round(r["fast_model"] / r["model"], 3) for r in per_round],
        "fast_path_cosine": round(float(cosine.mean()), 5),
        "fast_path_cosine_min": round(float(cosine.min()), 5),
        "fast_path_top10_overlap": round(float(np.mean(text_overlap)), 3),
        "fast_path_top10_overlap_min": round(float(np.min(text_overlap)), 3),
        "fast_path_image_top10_overlap": round(float(np.mean(image_overlap)), 3),
        "fast_path_text_score_std": round(text_spread, 5),
        "fast_path_text_score_error_std": round(text_error, 5),
    }


# --------------------------------------------------------------------------- memory


def bench_memory(work: Path, sizes: list[int], tile_px: int) -> dict:
    """Peak RSS of embedding ``size`` x ``size`` px VRTs with the tiny test model, each in its own process."""
    out: dict = {"memory_model": "Tiny-ViT-Test (tests/fixtures), 64 px input, CPU", "memory_tile_px": tile_px}
    peaks = []
    for size in sizes:
        cmd = [sys.executable, str(ROOT / "tests" / "perf" / "bench_memory.py"), "--size", str(size),
               "--tile-size", str(tile_px), "--work", str(work)]
        env = dict(os.environ, REMOTECLIP_EXTRA_MODELS=str(ROOT / "tests" / "fixtures" / "extra_models.json"),
                   PYTHONPATH=str(ROOT))
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"error: memory run for {size} px failed: {done.stderr.strip().splitlines()[-1:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"memory {size} px: {row}")
        out[f"peak_rss_gb_{size}"] = row["peak_rss_gb"]
        out[f"memory_tiles_{size}"] = row["tiles"]
        out[f"memory_tiles_per_s_{size}"] = row["tiles_per_s"]
        peaks.append(row["peak_rss_gb"])
    out["peak_rss_gb"] = max(peaks)
    return out


# --------------------------------------------------------------------------- queries


def mixture_centres(dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True), rng


def clustered_embeddings(n: int, dim: int, clusters: int, seed: int, chunk: int = 100_000,
                         point_seed: int | None = None) -> np.ndarray:
    """``n`` unit vectors from a mixture of ``clusters`` directions (tiles of a scene look alike).

    The centres come from ``seed``; the points from ``point_seed`` when given (new points of the same
    mixture), else from the same generator.
    """
    centres, rng = mixture_centres(dim, clusters, seed)
    if point_seed is not None:
        rng = np.random.default_rng(point_seed)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        x = centres[rng.integers(clusters, size=m)] + rng.standard_normal((m, dim), dtype=np.float32) * 0.04
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _median_ms(fn, queries: np.ndarray) -> float:
    fn(queries[0])  # warm-up (page cache, lazily built files)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_query(work: Path, n: int, n_queries: int) -> dict:
    from backend.embedding.store import write_store
    from backend.query import vector_index
    from backend.query.text_search import rank_tiles

    dim, clusters = 512, 4096
    log(f"query: {n} x {dim} clustered embeddings")
    emb = clustered_embeddings(n, dim, clusters, seed=0)
    windows = np.stack([np.arange(n) % 1000 * 224, np.arange(n) // 1000 * 224, np.full(n, 224), np.full(n, 224)],
                       axis=1).astype(np.int64)
    ring = np.zeros((n, 4, 2), dtype=np.float32)
    tiles = {"grid_index": np.arange(n), "windows": windows, "cores": windows, "footprints": ring,
             "core_footprints": ring, "valid": np.ones(n, np.float32)}
    meta = {"raster": {"crs_wkt": None, "transform": [1, 0, 0, 0, -1, 0], "width": 224_000, "height": 224_000}}
    store = write_store("q" * 32, emb, tiles, meta, root=work / "query-cache")
    del emb, tiles, ring
    e = store.embeddings
    assert isinstance(e, np.memmap)
    # Half the queries are image-like (new points of the stored mixture: "tiles like this one"), half
    # text-like (a cluster's direction at half weight plus as much noise: scores near 0.4, as CLIP's
    # text-to-image cosines are low).
    n_image = n_queries // 2
    image_queries = clustered_embeddings(n_image, dim, clusters, seed=0, point_seed=99)
    centres, _ = mixture_centres(dim, clusters, seed=0)
    rng = np.random.default_rng(98)
    text_queries = (0.5 * centres[rng.integers(clusters, size=n_queries - n_image)]
                    + rng.standard_normal((n_queries - n_image, dim), dtype=np.float32) / np.sqrt(dim))
    text_queries /= np.linalg.norm(text_queries, axis=1, keepdims=True)
    queries = np.concatenate([image_queries, text_queries]).astype(np.float32)

    out: dict = {"query_store": f"{n} x {dim} float32 unit vectors, {clusters}-direction mixture, memory-mapped"}
    half = vector_index.half_mirror(store.path, e)
    # Interleaved: float32 scan, float16-first exact scan, full rank_tiles (all scores + distinct hits).
    f32, f16, ranked = [], [], []
    for q in queries:
        for bucket, fn in ((f32, lambda q: vector_index.exact_top_k(e, q, 10)),
                           (f16, lambda q: vector_index.exact_top_k(e, q, 10, half)),
                           (ranked, lambda q: rank_tiles(store, q, 10))):
            t0 = time.perf_counter()
            fn(q)
            bucket.append((time.perf_counter() - t0) * 1000)
    out["query_1m_ms_float32"] = round(statistics.median(f32[1:]), 1)
    out["query_1m_ms"] = round(statistics.median(f16[1:]), 1)
    out["rank_tiles_1m_ms"] = round(statistics.median(ranked[1:]), 1)
    log(f"exact top-10: float32 {out['query_1m_ms_float32']} ms, float16-first {out['query_1m_ms']} ms, "
        f"rank_tiles {out['rank_tiles_1m_ms']} ms")

    t0 = time.perf_counter()
    ann = vector_index.AnnIndex.build(e)
    out["ann_build_s"] = round(time.perf_counter() - t0, 1)
    ann.save(store.path)
    out["ann_index"] = f"faiss IVF{ann.index.nlist},SQ8 inner product, nprobe {ann.nprobe}, exact rescoring"
    truth = [set(vector_index.exact_top_k(e, q, 10, half)[0].tolist()) for q in queries]
    found = [set(ann.search(e, q, 10)[0].tolist()) for q in queries]
    recall = [len(a & b) / 10 for a, b in zip(found, truth)]
    out["ann_recall_at_10"] = round(float(np.mean(recall)), 4)
    out["ann_recall_at_10_image_queries"] = round(float(np.mean(recall[:n_image])), 4)
    out["ann_recall_at_10_text_queries"] = round(float(np.mean(recall[n_image:])), 4)
    out["ann_recall_at_10_worst_query"] = round(float(np.min(recall)), 2)
    out["ann_query_ms"] = round(_median_ms(lambda q: ann.search(e, q, 10), queries), 2)
    log(f"ann: {out}")
    return out


# --------------------------------------------------------------------------- report


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, no GPU used, Linux {platform.release()}"


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def table(results: dict) -> str:
    rows = ["| figure | target | measured | met |", "|---|---|---|---|"]
    for key, (op, target) in TARGETS.items():
        if key not in results:
            continue
        value = results[key]
        met = value >= target if op == ">=" else value <= target
        rows.append(f"| `{key}` | {op} {_fmt(target)} | {_fmt(value)} | {'yes' if met else '**no**'} |")
    extra = [k for k in results if k not in TARGETS and k not in ("command", "machine", "date")]
    rows.append("")
    rows.append("| other figure | measured |")
    rows.append("|---|---|")
    rows.extend(f"| `{k}` | {_fmt(results[k])} |" for k in extra)
    head = (f"Measured {results['date']} on {results['machine']} with\n`{results['command']}`\n"
            f"(full results: `tests/perf/results.json`).\n")
    return head + "\n" + "\n".join(rows) + "\n"


def update_doc(results: dict) -> None:
    if not DOC.is_file():
        return
    text = DOC.read_text()
    start, end = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        DOC.write_text(f"{before}{start}\n{table(results)}{end}{after}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(SECTIONS), help="sections to run (comma-separated)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the embedding figures")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--memory-sizes", default="20000,40000", help="raster sides (px) for the peak RSS runs")
    p.add_argument("--memory-tile-size", type=int, default=512)
    p.add_argument("--query-tiles", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("-o", "--output", default=str(ROOT / "tests" / "perf" / "results.json"))
    args = p.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        print(f"error: unknown section(s) {', '.join(sorted(unknown))}: use {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    os.environ.setdefault("REMOTECLIP_EXTRA_MODELS", str(ROOT / "tests" / "fixtures" / "extra_models.json"))
    started = time.perf_counter()
    out = Path(args.output)
    results = json.loads(out.read_text()) if out.is_file() and sections != set(SECTIONS) else {}
    with tempfile.TemporaryDirectory(prefix="rc-bench-") as tmp:
        work = Path(tmp)
        if "embed" in sections:
            results.update(bench_embed(work, args.rounds, args.batch_size))
        if "memory" in sections:
            sizes = [int(s) for s in args.memory_sizes.split(",")]
            results.update(bench_memory(work, sizes, args.memory_tile_size))
        if "query" in sections:
            results.update(bench_query(work, args.query_tiles, args.queries))
        if "readers" in sections:
            from tests.perf.bench_readers import run as bench_readers

            results.update(bench_readers(work, rounds=args.rounds, batch=args.batch_size))
    results["machine"] = machine()
    results["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["command"] = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)]
                                              + sys.argv[1:])
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(results, indent=1) + "\n")
    update_doc(results)
    log(f"wrote {out} in {results['bench_seconds']} s")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
