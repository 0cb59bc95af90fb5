"""``make demo``: text search, zero-shot classification and counting on the shipped NAIP sample (counting left
out, in one line, for a model whose registry entry says it cannot count).

It refuses to run on random weights: results are only shown from trained weights.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import UserError

SAMPLE_RASTER = Path(__file__).resolve().parents[2] / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"
QUERY = "lake"
CLASSES = ("farmland", "lake", "grassland", "road", "residential area", "bare land")
COUNT_OBJECT = "lake"
TILE_PX = 64  # 320 m at the sample's 5 m pixels: fields and ponds fill a tile
OVERLAP = 0.25
EXIT_NO_WEIGHTS = 3


def choose_model(requested: str | None) -> str:
    """The requested model, or the registry's default (the best one whose weights are present)."""
    from ..models.registry import default_model_name

    name = requested or default_model_name()
    if name is None:
        raise LookupError
    return name


def run_demo(model: str | None = None, weights: str | None = None, device: str | None = None,
             output_dir: str = "demo_output") -> int:
    from ..query.surface_map import render_surface_png
    from ..raster.reader import TilingParams
    from . import orchestration
    from .orchestration import Prepared, RasterSpec, Workspace
    from .progress import progress_bar

    try:
        name = choose_model(model)
    except LookupError:
        print(
            "no trained weights are present, so the demo stops here rather than show results from random weights.\n"
            "  Get RemoteCLIP weights (e.g. RemoteCLIP-ViT-B-32.pt from https://huggingface.co/chendelong/RemoteCLIP)\n"
            "  into the Hugging Face cache, or run: make demo DEMO_ARGS='--model remoteclip-vit-b-32 --weights PATH'\n"
            "  'python -m backend models' shows what is present.",
            file=sys.stderr,
        )
        return EXIT_NO_WEIGHTS
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    introduced: list[Prepared] = []

    def introduce(prepared: Prepared) -> None:  # told at each of the three queries; said once
        if introduced:
            return
        introduced.append(prepared)
        loaded = prepared.model
        print(f"model:   {loaded.spec.name} ({loaded.spec.arch}) on {loaded.device}")
        print(f"weights: {loaded.weights_path}")
        print(f"raster:  {SAMPLE_RASTER.name} (NAIP 2019, 5 m, public domain)")

    def embed_now(prepared: Prepared):
        bar, update = progress_bar("embedding")
        try:
            return orchestration.embed(workspace, prepared, progress=update).store
        finally:
            bar.close()

    # get_model (the default loader) keeps the model between the three queries
    workspace = Workspace(device, when_missing=embed_now, on_prepared=introduce)
    spec = RasterSpec(str(SAMPLE_RASTER), model=name, weights=weights,
                      tiling=TilingParams(tile_px=TILE_PX, overlap=OVERLAP))
    started = time.perf_counter()
    search = orchestration.search(workspace, spec, [QUERY], k=5, output=str(out / "search.gpkg"))
    store, loaded, ranked = search.store, search.model, search.result
    print(f"tiles:   {store.n_tiles} of {TILE_PX} px ({TILE_PX * 5} m), embedded or cached in "
          f"{time.perf_counter() - started:.1f} s")
    classes = orchestration.classify(workspace, spec, list(CLASSES), output=str(out / "classes.gpkg"))
    counts = None  # left out for a model whose registry entry says it cannot count (its model card measured it)
    if loaded.spec.counts:
        counts = orchestration.count(workspace, spec, COUNT_OBJECT, output=str(out / "counts.gpkg"))
    files = [a.output for a in (search, classes, counts) if a is not None]
    png = render_surface_png(store, ranked.scores, ranked.hits, f"'{QUERY}' — {loaded.spec.name}",
                             out / "similarity.png")
    print(f"\ntext search '{QUERY}': top hits")
    print(f"  {'rank':>4} {'score':>7}  centre (x, y) in EPSG:26914")
    for r, i in enumerate(ranked.hits, start=1):
        ring = store.footprints[i]
        print(f"  {r:>4} {ranked.scores[i]:7.4f}  {ring[:, 0].mean():.0f}, {ring[:, 1].mean():.0f}")
    print("\nzero-shot classes: share of tiles")
    for cls, share in classes.summary["class_shares"].items():
        print(f"  {cls:<20} {share:6.1%}")
    if counts is not None:
        print(f"\ncount '{COUNT_OBJECT}': estimated total {counts.summary['total_expected']:.1f} over "
              f"{store.n_tiles} tiles")
    else:
        print(f"\ncounting left out: {loaded.spec.name} cannot count (its counts are no better than a constant "
              "guess; see its model card)")
    print("\nwrote: " + ", ".join(str(f) for f in files) + f", {png}")
    return 0


def main() -> int:
    try:
        return run_demo()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
