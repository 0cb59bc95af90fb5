"""GPU figures, for a machine with a CUDA GPU: ViT-B-32 end to end from a GeoTIFF on disk, beside the model alone.

    python tests/perf/gpu_bench.py [--tiles 20000] [--batch-size 256] [--dtypes bf16,fp16] [--no-doc]

Writes a 3-band GeoTIFF of the NAIP sample mosaic (``--tiles`` tiles of 224 px, on local disk: the OS page cache
holds it after the first pass, as it would a raster the user just opened), then for each dtype, interleaved over
``--rounds`` rounds: model-only (``encode_images`` on ready normalised batches already on the GPU, synchronised)
and end to end (``embed_raster``: reader threads, pinned copies, batched preprocessing on the GPU, the forward
passes, the store write). Rates are tiles per second (medians of the rounds); ``e2e_over_model`` is the median
of the per-round ratios. Random ViT-B-32 weights (speed does not depend on them). Results go to
``tests/perf/gpu_results.json`` and, unless ``--no-doc``, between the ``bench:gpu`` markers of
docs/PERFORMANCE.md with the device named. Goals: >= 5,000 tiles/s end to end on an H100/H200-class GPU, and
>= 0.9 of model-only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.bench import random_weights, rgb_geotiff  # noqa: E402

DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:gpu:start -->", "<!-- bench:gpu:end -->"
GOAL_TILES_PER_S, GOAL_RATIO = 5000.0, 0.9


def log(msg: str) -> None:
    print(f"[gpu-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure(work: Path, n_tiles: int, batch: int, dtypes: list[str], rounds: int) -> dict:
    import torch

    from backend.embedding.pipeline import embed_raster, plan_embedding
    from backend.models.factory import load_model
    from backend.raster.reader import TilingParams

    if not torch.cuda.is_available():
        raise SystemExit("error: no CUDA GPU is visible to torch: run this on the GPU machine")
    device = torch.cuda.get_device_name(0)
    weights = random_weights("remoteclip-vit-b-32", work)
    size = 224
    cols = max(1, int(round(n_tiles ** 0.5)))
    rows = -(-n_tiles // cols)
    tif = rgb_geotiff(work / "mosaic.tif", cols * size, rows * size)
    log(f"{device}: {cols * rows} tiles of {size} px in {tif}")
    dtype_of = {"bf16": torch.bfloat16, "fp16": torch.float16}
    out: dict = {"device": device, "tiles": cols * rows, "batch_size": batch, "rounds": rounds,
                 "torch": torch.__version__, "cuda": torch.version.cuda}
    for name in dtypes:
        loaded = load_model("remoteclip-vit-b-32", weights=str(weights), device="cuda")
        loaded.model.to(dtype_of[name])
        model = dataclasses.replace(loaded, dtype=dtype_of[name])  # encode_images' autocast dtype (fp16 default)
        ready = ((torch.rand(batch, 3, size, size, device="cuda") - 0.45) / 0.27).to(dtype_of[name])
        for _ in range(3):
            model.encode_images(ready)  # warm-up: cuDNN autotuning, allocator
        torch.cuda.synchronize()
        params = TilingParams(tile_px=size)
        per_round = []
        for rnd in range(rounds):
            os.environ["REMOTECLIP_CACHE"] = str(work / f"cache-{name}-{rnd}")
            t0 = time.perf_counter()
            n = 0
            while n < cols * rows:
                model.encode_images(ready)  # returns float32 on the CPU: synchronised by the copy
                n += batch
            model_rate = n / (time.perf_counter() - t0)
            plan = plan_embedding(str(tif), model.identity, model.spec.name, size, params)
            t0 = time.perf_counter()
            store = embed_raster(plan, model, batch_size=batch)
            e2e_rate = store.n_tiles / (time.perf_counter() - t0)
            per_round.append((model_rate, e2e_rate))
            log(f"{name} round {rnd + 1}: model-only {model_rate:.0f} tiles/s, end to end {e2e_rate:.0f} tiles/s")
        out[f"model_only_tiles_per_s_{name}"] = round(statistics.median(m for m, _ in per_round), 1)
        out[f"e2e_tiles_per_s_{name}"] = round(statistics.median(e for _, e in per_round), 1)
        out[f"e2e_over_model_{name}"] = round(statistics.median(e / m for m, e in per_round), 3)
        del model, ready
        torch.cuda.empty_cache()
    return out


def table(results: dict, dtypes: list[str], command: str) -> str:
    rows = [f"Measured {results['date']} on **{results['device']}** (torch {results['torch']}, CUDA "
            f"{results['cuda']}) with `{command}`: ViT-B-32, {results['tiles']} tiles of 224 px from a GeoTIFF "
            f"on disk, batches of {results['batch_size']}, {results['rounds']} rounds.", "",
            "| dtype | model-only (tiles/s) | end to end (tiles/s) | end to end / model-only | goals met "
            f"(>= {GOAL_TILES_PER_S:,.0f} tiles/s, >= {GOAL_RATIO}) |", "|---|---|---|---|---|"]
    for name in dtypes:
        e2e, ratio = results[f"e2e_tiles_per_s_{name}"], results[f"e2e_over_model_{name}"]
        met = "yes" if e2e >= GOAL_TILES_PER_S and ratio >= GOAL_RATIO else "**no**"
        rows.append(f"| {name} | {results[f'model_only_tiles_per_s_{name}']:,.1f} | {e2e:,.1f} | {ratio} | {met} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiles", type=int, default=20_000, help="tiles of 224 px in the GeoTIFF")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--dtypes", default="bf16,fp16")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-doc", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    p.add_argument("-o", "--output", default=str(ROOT / "tests" / "perf" / "gpu_results.json"))
    args = p.parse_args()
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad = set(dtypes) - {"bf16", "fp16"}
    if bad:
        print(f"error: unknown dtype(s) {', '.join(sorted(bad))}: use bf16, fp16", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rc-gpu-bench-") as tmp:
        results = measure(Path(tmp), args.tiles, args.batch_size, dtypes, args.rounds)
    results["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    if not args.no_doc and DOC.is_file():
        text = DOC.read_text()
        if START in text and END in text:
            before, rest = text.split(START, 1)
            DOC.write_text(f"{before}{START}\n{table(results, dtypes, command)}{END}{rest.split(END, 1)[1]}")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
