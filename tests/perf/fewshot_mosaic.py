"""Few-shot from marked tiles vs zero-shot, on a scene set laid out as one georeferenced mosaic.

    python tests/perf/fewshot_mosaic.py [--dataset ucm|rsscn7] [--shots 1,3,5] [--seeds 5] [--per-class 20]

The test split of a shared scene set (``../shared/data/ucm`` or ``rsscn7``) is written as one GeoTIFF (each
image resized to 256 px, one class per column, 0.3 m pixels at a made-up UTM origin), embedded with the shipped
model (``remoteclip-qgis-small``) at 256 px tiles, so every tile is one image. Through the product's own path
(``backend.app.orchestration.classify`` and ``fewshot``), it scores the tiles' classes:

- ``zero_shot``: the class names as phrases;
- ``fewshot_<n>``: ``n`` marked tiles (points at tile centres) per class, label = the class phrase, with the text
  prior (the default) and without (``fewshot_<n>_no_text``); the marked tiles are left out of the score.

Prints one JSON object: top-1 accuracy (percent) per way, mean and spread over ``--seeds`` draws of the marks,
and the seconds of one few-shot answer.
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

TILE = 256
PIXEL_M = 0.3


def write_mosaic(path: Path, dataset: str = "ucm", per_class: int = 20) -> tuple[Path, list[str], np.ndarray]:
    """The mosaic GeoTIFF, the class phrases and the class of each (row, col) cell (``rows x classes``)."""
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin

    from train.data.scene_sets import load_rsscn7, load_ucm

    scenes = (load_ucm if dataset == "ucm" else load_rsscn7)()
    by_class: dict[int, list] = {}
    for image in scenes.split("test"):
        by_class.setdefault(image.label, []).append(image)
    n_classes = len(scenes.class_names)
    rows = min(per_class, min(len(v) for v in by_class.values()))
    data = np.zeros((3, rows * TILE, n_classes * TILE), dtype=np.uint8)
    labels = np.zeros((rows, n_classes), dtype=np.int64)
    for c in range(n_classes):
        for r, image in enumerate(by_class[c][:rows]):
            pixels = np.asarray(Image.open(image.path).convert("RGB").resize((TILE, TILE), Image.BICUBIC))
            data[:, r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = pixels.transpose(2, 0, 1)
            labels[r, c] = c
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": 3, "dtype": "uint8",
               "crs": "EPSG:32614", "transform": from_origin(500000.0, 5200000.0, PIXEL_M, PIXEL_M),
               "tiled": True, "compress": "deflate", "photometric": "RGB"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path, list(scenes.prompts), labels


def cell_centre(col: int, row: int) -> tuple[float, float]:
    return 500000.0 + (col + 0.5) * TILE * PIXEL_M, 5200000.0 - (row + 0.5) * TILE * PIXEL_M


def tile_labels(store, labels: np.ndarray) -> np.ndarray:
    """The true class of each store row (its window's cell)."""
    return np.array([labels[int(r) // TILE, int(c) // TILE] for c, r in store.windows[:, :2]])


def marks(labels: np.ndarray, phrases: list[str], shots: int, rng: np.random.Generator) -> dict:
    """``shots`` marked cells per class as a GeoJSON FeatureCollection (points at the cells' centres)."""
    features = []
    for c in range(labels.shape[1]):
        for r in rng.choice(labels.shape[0], size=shots, replace=False):
            x, y = cell_centre(c, int(r))
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                             "properties": {"label": phrases[c]}})
    return {"type": "FeatureCollection", "features": features}


def evaluate(dataset: str = "ucm", shots: tuple[int, ...] = (1, 3, 5), seeds: int = 5, per_class: int = 20,
             work: Path | None = None) -> dict:
    from backend.app.orchestration import RasterSpec, Workspace, classify, embed, fewshot
    from backend.raster.reader import TilingParams

    work = Path(work or tempfile.mkdtemp(prefix="fewshot-"))
    raster, phrases, labels = write_mosaic(work / f"{dataset}_mosaic.tif", dataset, per_class)
    ws = Workspace("cpu")
    ws.when_missing = lambda prepared: embed(ws, prepared).store
    spec = RasterSpec(str(raster), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE))
    zs = classify(ws, spec, phrases)
    truth = tile_labels(zs.store, labels)
    out: dict = {"dataset": dataset, "tiles": int(zs.store.n_tiles), "classes": len(phrases),
                 "zero_shot": round(100.0 * float((zs.result.probabilities.argmax(1) == truth).mean()), 2)}
    for n in shots:
        for text_prior in (True, False):
            scores, seconds = [], []
            for seed in range(seeds):
                started = time.perf_counter()
                answer = fewshot(ws, spec, features=marks(labels, phrases, n, np.random.default_rng(seed)),
                                 text_prior=text_prior)
                seconds.append(time.perf_counter() - started)
                result = answer.result
                marked = np.zeros(len(truth), dtype=bool)
                for rows in result.example_rows.values():
                    marked[rows] = True
                predicted = np.array([phrases.index(result.labels[i]) for i in result.classes])
                scores.append(100.0 * float((predicted[~marked] == truth[~marked]).mean()))
            key = f"fewshot_{n}" + ("" if text_prior else "_no_text")
            out[key] = {"top1_mean": round(float(np.mean(scores)), 2), "top1_std": round(float(np.std(scores)), 2),
                        "method": result.method, "seconds_median": round(float(np.median(seconds)), 3)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("ucm", "rsscn7"), default="ucm")
    p.add_argument("--shots", default="1,3,5")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--per-class", type=int, default=20)
    args = p.parse_args()
    shots = tuple(int(s) for s in args.shots.split(","))
    print(json.dumps(evaluate(args.dataset, shots, args.seeds, args.per_class), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
