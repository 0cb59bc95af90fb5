"""The project's small offline model: its training data, built from real data only.

    python -m train.small_model data -o DIR        # DIR/train.csv (+ aircraft crops), open_clip CSV
    python -m train.pretrain train/configs/remoteclip-qgis-small.json
    python -m train.export_model RUNS/remoteclip-qgis-small/checkpoints/epoch_N.pt \\
        -o resources/models/remoteclip-qgis-small.pt --drop-packaged-text --half
    python -m train.small_model evaluate --weights resources/models/remoteclip-qgis-small.pt -o card.json

RemoteCLIP's data-scaling idea at small scale: scene sets give class captions; box annotations
(aircraft, Box-to-Caption) and masks (Dubai, Mask-to-Box) give captions about counts and places.
Only training splits are used; the test splits stay for the model card's numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from backend.errors import UserError

from ..benchmarks.counting_set import build_counting_set
from ..command_line import atomic_output, run_cli
from ..conversion.b2c import B2CConfig, captions_for
from ..conversion.dataset_writers import Sample, image_source, scene_samples, write_csv
from ..conversion.m2b import M2BConfig, M2BStats, load_class_table, mask_annotations, mask_sources
from ..data.annotations import Box, ImageAnnotation
from ..data.readers import read_aircraft
from ..data.scene_sets import load_rsscn7, load_ucm
from ..data.shared_data import data_root

# Crops per airplane count (1..10) from the aircraft training split.
AIRCRAFT_PER_COUNT = 30
MODEL_NAME = "remoteclip-qgis-small"
CARD_TASKS = ("zero_shot", "linear_probe", "knn")
# Entries of a task's result that are its settings (the probe's chosen C, k of k-NN), not scores.
SETTINGS_NOT_SCORES = {"C", "k", "classifier", "vote"}


def one_caption_each(samples: Iterable[Sample]) -> list[Sample]:
    """Keep one caption per image, rotating through the candidates so every template is used.

    One row per image keeps an epoch as short as the image count (the CPU budget); the rotation
    still shows the model every phrasing.
    """
    return [Sample(s.image, (s.captions[i % len(s.captions)],)) for i, s in enumerate(samples)]


def crop_annotation(image: ImageAnnotation, name: str, x0: int, y0: int, size: int) -> ImageAnnotation:
    """The boxes lying wholly inside a square crop, in the crop's pixels."""
    inside = [
        Box(b.class_name, b.xmin - x0, b.ymin - y0, b.xmax - x0, b.ymax - y0)
        for b in image.boxes
        if b.xmin >= x0 and b.ymin >= y0 and b.xmax <= x0 + size and b.ymax <= y0 + size
    ]
    return ImageAnnotation(name, size, size, inside)


def aircraft_samples(out_dir: Path, per_count: int, seed: int) -> list[Sample]:
    """Box-to-Caption captions of aircraft crops (1..10 whole airplanes) from the training split.

    Every other crop gets the counting caption ("There are three airplanes in the image."), the
    rest the other four B2C captions in turn, so counting is learned without drowning the others.
    """
    crops_dir = out_dir / "aircraft_crops"
    crops = build_counting_set(crops_dir, split="train", per_count=per_count, seed=seed)
    by_image = {Path(a.image).name: a for a in read_aircraft(data_root() / "airbus_aircraft")}
    samples = []
    for i, crop in enumerate(crops):
        boxes = crop_annotation(by_image[Path(crop.source_image).name], crop.file, crop.x0, crop.y0, crop.size)
        captions = captions_for(boxes, B2CConfig(seed=seed + i))
        if not captions:
            continue
        pick = captions[0] if i % 2 == 0 else captions[1 + (i // 2) % 4]
        samples.append(Sample(str((crops_dir / crop.file).resolve()), (pick,)))
    return samples


def dubai_samples(seed: int) -> list[Sample]:
    """Mask-to-Box captions of the Dubai tiles (all five per image: there are only 18 images)."""
    folder = data_root() / "dubai_segmentation"
    stats = M2BStats()
    table = load_class_table(folder / "classes.csv")
    sources = mask_sources(folder / "dubai_tiles.tar", folder / "pairs.csv", stats)
    return [Sample(a.image, tuple(captions_for(a, B2CConfig(seed=seed))))
            for a in mask_annotations(sources, table, M2BConfig(), stats) if a.boxes]


def merge_csvs(parts: list[Path], out: Path) -> int:
    """Concatenate open_clip CSVs (one header); returns the number of rows."""
    rows = 0
    with atomic_output(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["filepath", "title"])
        for part in parts:
            with open(part, newline="", encoding="utf-8") as src:
                reader = csv.reader(src, delimiter="\t")
                next(reader)
                for row in reader:
                    writer.writerow(row)
                    rows += 1
    return rows


def build_training_data(out_dir: str | Path, per_count: int = AIRCRAFT_PER_COUNT, seed: int = 0,
                        include: tuple[str, ...] = ("rsscn7", "ucm", "aircraft", "dubai")) -> dict[str, int]:
    """Write ``out_dir/train.csv`` from the chosen sources; returns rows per source."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, tuple[list[Sample], object]] = {}
    if "rsscn7" in include:
        groups["rsscn7"] = (one_caption_each(scene_samples(load_rsscn7(), split="train")), image_source(None))
    if "ucm" in include:
        groups["ucm"] = (one_caption_each(scene_samples(load_ucm(), split="train")), image_source(None))
    if "aircraft" in include:
        groups["aircraft"] = (aircraft_samples(out, per_count, seed), image_source(None))
    if "dubai" in include:
        groups["dubai"] = (dubai_samples(seed), image_source(data_root() / "dubai_segmentation" / "dubai_tiles.tar"))
    if not groups:
        raise UserError("no data source chosen: include some of rsscn7, ucm, aircraft, dubai")
    parts, counts = [], {}
    for name, (samples, images) in groups.items():
        part = out / f"{name}.csv"
        counts[name] = write_csv(samples, images, part).rows
        parts.append(part)
    counts["total"] = merge_csvs(parts, out / "train.csv")
    return counts


def random_weights(path: Path, seed: int = 0) -> Path:
    """The same architecture untrained: random image tower and projections, the packaged text tower.

    Saved like the trained file (text transformer left out), so both load the same way.
    """
    import torch

    from backend.models.factory import PACKAGED_TEXT_PREFIX, build_model
    from backend.models.registry import get_model_spec

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(get_model_spec(MODEL_NAME), pretrained_text=True)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(PACKAGED_TEXT_PREFIX)}
    torch.save(state, path)
    return path


def evaluate_model(weights: str | Path, work_dir: Path, batch_size: int = 64) -> dict[str, dict]:
    """The model card's numbers for one weights file, on held-out data only.

    RSSCN7 and UC Merced test splits (zero-shot, linear probe and k-NN fitted on their train splits)
    and counting on aircraft crops from the validation split (images never used in training).
    """
    from backend.models.factory import load_model

    from ..benchmarks.counting_set import build_counting_set, extract_counting_features
    from ..benchmarks.evaluate import evaluate_features
    from ..benchmarks.features import extract_scene_features

    model = load_model(MODEL_NAME, weights=str(weights), device="cpu")
    results: dict[str, dict] = {}
    for scenes in (load_rsscn7(), load_ucm()):
        data = extract_scene_features(model, scenes, split="test", train_split="train", batch_size=batch_size,
                                      progress=False)
        results[scenes.name] = evaluate_features(data, CARD_TASKS, name=scenes.name)
    crops = work_dir / "counting_valid"
    if not (crops / "counts.csv").is_file():
        build_counting_set(crops, split="valid")
    results["aircraft_counting"] = evaluate_features(extract_counting_features(model, crops, "airplane"),
                                                     ["counting"], name="counting")
    return results


def card_table(trained: dict[str, dict], random: dict[str, dict]) -> str:
    """A Markdown table: each metric for the trained model beside the untrained one."""
    lines = ["| data (held-out split) | metric | trained | random weights |", "|---|---|---:|---:|"]
    for dataset, tasks in trained.items():
        for task, metrics in tasks.items():
            for metric, value in metrics.items():
                if metric in SETTINGS_NOT_SCORES or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                base = random.get(dataset, {}).get(task, {}).get(metric)
                shown = f"{base:.1f}" if isinstance(base, (int, float)) else ""
                lines.append(f"| {dataset} | {task} {metric} | {value:.1f} | {shown} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.small_model", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data", help="build the training CSV")
    d.add_argument("-o", "--output", required=True, help="folder for train.csv and the aircraft crops")
    d.add_argument("--per-count", type=int, default=AIRCRAFT_PER_COUNT)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--include", default="rsscn7,ucm,aircraft,dubai", help="comma-separated sources")
    e = sub.add_parser("evaluate", help="held-out numbers for the model card, beside random weights")
    e.add_argument("--weights", required=True, help="the exported weights file")
    e.add_argument("-o", "--output", required=True, help="JSON file for the numbers (a Markdown table is printed)")
    args = p.parse_args(argv)

    def action() -> int:
        if args.command == "data":
            counts = build_training_data(args.output, args.per_count, args.seed,
                                         tuple(s.strip() for s in args.include.split(",") if s.strip()))
            print(" ".join(f"{k}={v}" for k, v in counts.items()))
            return 0
        out = Path(args.output)
        work = out.parent
        trained = evaluate_model(args.weights, work)
        random = evaluate_model(random_weights(work / "random-weights.pt"), work)
        out.write_text(json.dumps({"trained": trained, "random_weights": random}, indent=1))
        print(card_table(trained, random))
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
