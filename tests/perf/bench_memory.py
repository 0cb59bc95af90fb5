"""Peak resident memory of embedding one large raster (a VRT repeating the NAIP sample), in this process.

    python tests/perf/bench_memory.py --size 40000 --tile-size 256 --work /tmp/x

Uses the tiny test model (random weights): memory here is tiles in flight plus the N x D embeddings,
not the model. Prints one JSON line: size, tiles, seconds, tiles_per_s, peak_rss_gb.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.mosaic import mosaic_vrt  # noqa: E402


def peak_rss_kib() -> int:
    """This program's peak resident set (KiB): VmHWM, which starts afresh at exec. Not ru_maxrss: Linux
    carries it over fork and exec, so a child started by a big parent reports the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, a fallback elsewhere


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, required=True, help="raster side in pixels")
    p.add_argument("--tile-size", type=int, default=256, help="tile side in raster pixels")
    p.add_argument("--work", required=True, help="folder for the VRT, weights and cache")
    args = p.parse_args()
    work = Path(args.work) / f"memory-{args.size}"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["REMOTECLIP_CACHE"] = str(work / "cache")

    import open_clip
    import torch

    from backend.embedding.pipeline import embed_raster, plan_embedding
    from backend.models.factory import load_model
    from backend.models.registry import register_arch_configs
    from backend.raster.reader import TilingParams

    register_arch_configs()
    torch.manual_seed(1234)
    weights = work / "tiny.pt"
    torch.save(open_clip.create_model("Tiny-ViT-Test", pretrained=None).state_dict(), weights)
    model = load_model("tiny-local", weights=str(weights), device="cpu")
    raster = mosaic_vrt(work / f"mosaic-{args.size}.vrt", args.size, args.size)
    plan = plan_embedding(str(raster), model.identity, model.spec.name, model.image_size,
                          TilingParams(tile_px=args.tile_size))
    t0 = time.perf_counter()
    store = embed_raster(plan, model)
    seconds = time.perf_counter() - t0
    peak_kib = peak_rss_kib()
    print(json.dumps({"size": args.size, "tiles": store.n_tiles, "seconds": round(seconds, 1),
                      "tiles_per_s": round(store.n_tiles / seconds, 1),
                      "peak_rss_gb": round(peak_kib * 1024 / 1e9, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
