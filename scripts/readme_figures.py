"""The README's pictures of change, few-shot and catalogue search, made through the product's own orchestration.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/readme_figures.py [--out docs] [--cache /tmp/figures-cache]

Uses the shipped model (``remoteclip-qgis-small``) and the shared rasters (``../shared/data/rasters``):

- ``change_naip.png``: the NAIP pair 2019 -> 2020, change per tile (64 px tiles, overlap 0.5) and the top 5;
- ``fewshot_naip.png``: NAIP 2019 ranked by the two blocks of lowest near-infrared (open water) marked as
  examples and the highest (a green field) as a negative;
- ``catalog_search.png``: "storage tanks" over a catalogue of the NAIP scene and the oil-tank scene, the top 8
  tiles cut from their rasters with their scores and raster names.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RASTERS = ROOT.parent / "shared" / "data" / "rasters"
NAIP_2019 = RASTERS / "m_4709963_se_14_1_20190904.tif"
NAIP_2020 = RASTERS / "m_4709963_se_14_1_20200831.tif"
OILS = RASTERS / "oils.tif"


def workspace():
    from backend.app.orchestration import Workspace, embed

    ws = Workspace("cpu")
    ws.when_missing = lambda prepared: embed(ws, prepared).store
    return ws


def change_figure(out: Path) -> Path:
    from backend.app.orchestration import RasterSpec, change
    from backend.query.surface_map import render_surface_png
    from backend.raster.reader import TilingParams

    spec = RasterSpec(str(NAIP_2019), "remoteclip-qgis-small", tiling=TilingParams(tile_px=64, overlap=0.5))
    answer = change(workspace(), spec, str(NAIP_2020), k=5)
    return render_surface_png(answer.store, answer.result.change, answer.result.hits,
                              "NAIP 2019 -> 2020: change per tile, remoteclip-qgis-small, 64 px tiles, overlap 0.5",
                              out / "change_naip.png", units="change (1 - cosine)")


def fewshot_figure(out: Path) -> Path:
    import rasterio

    from backend.app.orchestration import RasterSpec, fewshot
    from backend.query.surface_map import render_surface_png
    from backend.raster.reader import TilingParams

    ws = workspace()
    spec = RasterSpec(str(NAIP_2019), "remoteclip-qgis-small", tiling=TilingParams(tile_px=64, overlap=0.5))
    # The marks: the two 64 px blocks with the lowest near-infrared (band 4: open water) and the one with the
    # highest (green fields) as the negative, found from the pixels, not picked by eye.
    with rasterio.open(NAIP_2019) as src:
        nir = src.read(4).astype(np.float32)
        t = src.transform
    blocks = nir[:nir.shape[0] // 64 * 64, :nir.shape[1] // 64 * 64]
    means = blocks.reshape(blocks.shape[0] // 64, 64, blocks.shape[1] // 64, 64).mean(axis=(1, 3))
    order = np.argsort(means, axis=None)

    def point(flat: int, label: str) -> dict:
        r, c = np.unravel_index(flat, means.shape)
        x, y = t * ((c + 0.5) * 64, (r + 0.5) * 64)
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": {"label": label}}

    marks = {"type": "FeatureCollection", "features": [
        point(order[0], "open water"), point(order[1], "open water"), point(order[-1], "negative")]}
    answer = fewshot(ws, spec, features=marks, k=8)
    return render_surface_png(answer.store, answer.result.scores, answer.result.hits,
                              "NAIP 2019 ranked by 2 marked open-water tiles and 1 negative field tile (few-shot)",
                              out / "fewshot_naip.png", units="cosine to the marks - cosine to the negative")


def catalog_figure(out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio
    from rasterio.windows import Window

    from backend.app.orchestration import RasterSpec, catalog_add, catalog_search
    from backend.raster.reader import TilingParams

    ws = workspace()
    spec = RasterSpec("", "remoteclip-qgis-small", tiling=TilingParams(tile_px=64))
    catalog_add(ws, "readme", [str(NAIP_2019), str(OILS)], spec)
    answer = catalog_search(ws, "readme", ["storage tanks"], k=8)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.4), dpi=100)
    for ax, (rank, hit) in zip(axes.ravel(), enumerate(answer.result, start=1)):
        path = answer.catalog.entries[hit.entry].path
        store = ws.stores.get(answer.catalog.entries[hit.entry].store)
        col, row, w, h = (int(v) for v in store.windows[hit.row])
        with rasterio.open(path) as src:
            data = src.read((1, 2, 3), window=Window(col, row, w, h), boundless=True).astype(np.float32)
        lo, hi = np.percentile(data, (2, 98))
        ax.imshow(np.clip((data.transpose(1, 2, 0) - lo) / max(hi - lo, 1), 0, 1))
        ax.set_title(f"{rank}. {hit.score:.3f}  {Path(path).name[:22]}", fontsize=9)
        ax.axis("off")
    fig.suptitle("'storage tanks' over a catalogue of 2 rasters (NAIP 5 m, oil-tank scene ~2 m): top 8 tiles")
    fig.tight_layout()
    fig.savefig(out / "catalog_search.png")
    plt.close(fig)
    return out / "catalog_search.png"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs"))
    p.add_argument("--cache", default="/tmp/readme-figures-cache")
    args = p.parse_args()
    os.environ["REMOTECLIP_CACHE"] = args.cache
    out = Path(args.out)
    for make in (change_figure, fewshot_figure, catalog_figure):
        print(f"wrote {make(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
