"""Does overlap sharpen the heatmap? Area under the ROC curve of text-search heatmaps against Dubai masks.

    python tests/perf/heatmap_auc.py [--tile-size 128] [--overlap 0.5] [--classes water,building] [--device cpu]

The 18 Dubai image/mask pairs (``../shared/data/dubai_segmentation/``: JPEGs without georeferencing, masks in
verified colours from its ``classes.csv``) are written to GeoTIFFs (1 m pixels, a made-up UTM origin) in a
temporary folder, embedded with the shipped default model (``remoteclip-qgis-small``) into a temporary cache,
and searched for each class's prompt. Every labelled pixel (the mask's "unlabeled" colour left out) gets a
score three ways:

- ``polygons_overlap0``: today's map, one polygon per tile at overlap 0, each pixel its tile's score;
- ``polygons_overlap<X>``: one polygon per tile core at ``--overlap`` X (cores split overlaps halfway: the
  polygons hide each other);
- ``raster_overlap<X>``: the heatmap GeoTIFF's grid at overlap X (cell = stride, the mean of the tiles
  covering it; ``backend.query.surface_raster``).

Prints one JSON object: per class and way, the AUC pooled over the pixels of all 18 images and the mean of
the per-image AUCs (images where the class is absent or covers everything are left out), plus tiles and
seconds. AUC is unitless (0.5: chance, 1: every class pixel scores above every other pixel).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "dubai_segmentation"
MODEL = "remoteclip-qgis-small"


def read_pairs(data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, image H x W x 3 uint8, mask H x W x 3 uint8 RGB) for every pair in ``pairs.csv``."""
    from PIL import Image

    with open(data / "pairs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    with tarfile.open(data / "dubai_tiles.tar") as tar:
        for row in rows:
            image = np.asarray(Image.open(io.BytesIO(tar.extractfile(row["image_path_in_tar"]).read())).convert("RGB"))
            mask = np.asarray(Image.open(io.BytesIO(tar.extractfile(row["mask_path_in_tar"]).read())).convert("RGB"))
            name = row["image_path_in_tar"].replace("/images/", "_").replace(" ", "").replace(".jpg", "")
            out.append((name, image, mask))
    return out


def class_colours(data: Path) -> dict[str, tuple[str, tuple[int, int, int]]]:
    """Class name -> (prompt, mask RGB), from ``classes.csv``."""
    with open(data / "classes.csv", newline="") as fh:
        return {r["class_name"]: (r["prompt_text"], (int(r["r"]), int(r["g"]), int(r["b"])))
                for r in csv.DictReader(fh)}


def write_geotiff(path: Path, image: np.ndarray) -> None:
    import rasterio
    from rasterio.transform import from_origin

    h, w, _ = image.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs="EPSG:32640",
                       transform=from_origin(300000, 2800000, 1.0, 1.0), photometric="RGB") as dst:
        dst.write(np.moveaxis(image, 2, 0))


def polygon_pixels(store, scores: np.ndarray, h: int, w: int) -> np.ndarray:
    """Each pixel the score of the tile core (the GeoPackage polygon) that holds it."""
    out = np.full((h, w), np.nan)
    for (c, r, cw, ch), s in zip(store.cores, scores):
        out[r:r + ch, c:c + cw] = s
    return out


def raster_pixels(store, scores: np.ndarray, h: int, w: int) -> np.ndarray:
    """Each pixel the value of the heatmap cell (a stride block) that holds it."""
    from backend.query.surface_raster import HEAT_NODATA, cell_grid, heatmap_array

    cells, _ = heatmap_array(store, scores)
    stride = cell_grid(store).stride_px
    full = np.repeat(np.repeat(cells.astype(np.float64), stride, axis=0), stride, axis=1)[:h, :w]
    return np.where(full == HEAT_NODATA, np.nan, full)


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    keep = np.isfinite(scores)
    labels, scores = labels[keep], scores[keep]
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-size", type=int, default=128, help="tile side in pixels (default: the model's input)")
    ap.add_argument("--overlap", type=float, default=0.5, help="overlap of the sharpened map (default: 0.5)")
    ap.add_argument("--classes", default="water,building", help="class names from classes.csv")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="heatmap_auc_") as tmp:
        os.environ["REMOTECLIP_CACHE"] = str(Path(tmp) / "cache")  # fresh stores; no rates recorded elsewhere
        from backend.app import orchestration
        from backend.raster.reader import TilingParams

        colours = class_colours(DATA)
        wanted = [c.strip() for c in args.classes.split(",")]
        unlabeled = colours["unlabeled"][1]
        workspace = orchestration.Workspace(args.device)
        ways = ("polygons_overlap0", f"polygons_overlap{args.overlap:g}", f"raster_overlap{args.overlap:g}")
        pooled = {c: {way: [] for way in ways} for c in wanted}
        labels: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
        per_image = {c: {way: [] for way in ways} for c in wanted}
        tiles, started = 0, time.perf_counter()
        for name, image, mask in read_pairs(DATA):
            path = Path(tmp) / f"{name}.tif"
            write_geotiff(path, image)
            h, w, _ = image.shape
            keep = ~(mask == unlabeled).all(axis=2)
            stores = {}
            for overlap in (0.0, args.overlap):
                spec = orchestration.RasterSpec(raster=str(path), model=MODEL,
                                                tiling=TilingParams(tile_px=args.tile_size, overlap=overlap))
                stores[overlap] = (spec, orchestration.embed(workspace, orchestration.admit_embedding(workspace, spec)))
                tiles += stores[overlap][1].store.n_tiles
            for c in wanted:
                prompt, rgb = colours[c]
                truth = (mask == rgb).all(axis=2)[keep]
                maps = {}
                for overlap, (spec, _) in stores.items():
                    answer = orchestration.search(workspace, spec, [prompt], k=1)
                    scores = answer.result.scores
                    maps[f"polygons_overlap{overlap:g}"] = polygon_pixels(answer.store, scores, h, w)
                    if overlap:
                        maps[f"raster_overlap{overlap:g}"] = raster_pixels(answer.store, scores, h, w)
                labels[c].append(truth)
                for way in ways:
                    values = maps[way][keep]
                    pooled[c][way].append(values)
                    per_image[c][way].append(auc(truth, values))
        result = {"model": MODEL, "tile_px": args.tile_size, "overlap": args.overlap,
                  "images": len(labels[wanted[0]]), "tiles": tiles,
                  "seconds": round(time.perf_counter() - started, 1), "auc": {}}
        for c in wanted:
            truth = np.concatenate(labels[c])
            result["auc"][c] = {
                way: {"pooled": round(auc(truth, np.concatenate(pooled[c][way])), 4),
                      "per_image_mean": round(float(np.mean([a for a in per_image[c][way] if a is not None])), 4),
                      "images": sum(a is not None for a in per_image[c][way])}
                for way in ways}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
