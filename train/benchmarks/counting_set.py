"""A RemoteCount-style counting set built from real aircraft annotations.

RemoteCLIP's RemoteCount (images with 1 to 10 objects and a caption naming the count) is not
published, so this builds one the same way from the Airbus Aircraft sample in the shared data folder
(``airbus_aircraft/``: 2560 px Pléiades scenes at ~50 cm, axis-aligned boxes in ``annotations.csv``).

A crop is a square window holding exactly n = 1..10 **whole** airplanes:

- every ``Airplane`` box that overlaps the crop (positive area) lies fully inside it;
- no ``Truncated_airplane`` box overlaps it, and neither does an ``Airplane`` box that reaches the
  image border (such a plane may be cut by the border, so its count is ambiguous).

Candidates are laid on a grid (``stride``) for each crop size; for each count the candidates are
shuffled with ``seed`` and taken round-robin over the source images, skipping a crop that overlaps
an already chosen crop of the same image by more than ``max_overlap`` of the smaller one. Rare
counts choose first, so the set is as balanced over n as the images allow (``per_count`` each).

Output: ``DIR/<file>.jpg`` crops and ``DIR/counts.csv`` (``file,count,source_image,x0,y0,size``).
Source images are read straight from the tar. The data are CC BY-NC-SA 4.0: keep the crops out of
anything used commercially.

``python -m train.counting_set --split valid -o DIR``
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tarfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.errors import NotFoundError, UserError

from ..command_line import atomic_folder
from ..data.readers import read_aircraft
from ..data.shared_data import data_root

IMAGE_SIZE = 2560  # every scene of the sample is 2560 x 2560
MAX_COUNT = 10
DEFAULT_SIZES = (384, 512, 768, 1024)  # 1024 px makes room for 8-10 planes
DEFAULT_PER_COUNT = 20
DEFAULT_STRIDE = 64
DEFAULT_MAX_OVERLAP = 0.5
JPEG_QUALITY = 95
COUNTS_FILE = "counts.csv"
COUNTS_FIELDS = ("file", "count", "source_image", "x0", "y0", "size")


@dataclass(frozen=True)
class Box:
    """An annotation box in pixels, clipped to the image; ``countable`` False for truncated planes."""

    x0: float
    y0: float
    x1: float
    y1: float
    countable: bool


@dataclass(frozen=True)
class Crop:
    """A square window ``[x0, x0 + size) x [y0, y0 + size)`` of a source image holding ``count`` planes."""

    source_image: str
    member: str
    x0: int
    y0: int
    size: int
    count: int

    @property
    def file(self) -> str:
        return f"n{self.count:02d}_{Path(self.source_image).stem[:8]}_{self.x0}_{self.y0}_{self.size}.jpg"


# --------------------------------------------------------------------------- annotations


def airbus_folder() -> Path:
    return data_root() / "airbus_aircraft"


def read_annotations(folder: Path, image_size: int = IMAGE_SIZE) -> dict[str, list[Box]]:
    """Boxes per image id (``<uuid>.jpg``), read by the aircraft reader (boxes clipped to the image).

    ``Truncated_airplane`` boxes, and ``Airplane`` boxes touching the image border, are not
    countable: a crop must not overlap them at all.
    """
    boxes: dict[str, list[Box]] = {}
    for image in read_aircraft(folder, image_size=image_size):
        boxes[Path(image.image).name] = [
            Box(b.xmin, b.ymin, b.xmax, b.ymax,
                countable=b.class_name == "Airplane"
                and not (b.xmin <= 0 or b.ymin <= 0 or b.xmax >= image_size or b.ymax >= image_size))
            for b in image.boxes
        ]
    return boxes


def read_split_members(folder: Path, split: str) -> dict[str, str]:
    """``{image_id: path_in_tar}`` of one split from ``splits.csv``."""
    with open(folder / "splits.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == split]
    if not rows:
        raise UserError(f"no images in split '{split}' of {folder / 'splits.csv'} (splits: train, valid)")
    return {Path(r["path_in_tar"]).name: r["path_in_tar"] for r in rows}


# --------------------------------------------------------------------------- crops


def crop_counts(boxes: Sequence[Box], x0: np.ndarray, y0: np.ndarray, size: int) -> np.ndarray:
    """For candidate windows at ``(x0, y0)``: the number of planes inside, or -1 if a box is cut.

    -1 also when a non-countable box overlaps the window at all.
    """
    if not boxes:
        return np.zeros(len(x0), dtype=np.int64)
    b = np.array([[bx.x0, bx.y0, bx.x1, bx.y1] for bx in boxes])
    countable = np.array([bx.countable for bx in boxes])
    cx0, cy0 = x0[:, None].astype(float), y0[:, None].astype(float)
    cx1, cy1 = cx0 + size, cy0 + size
    overlap = (np.minimum(b[None, :, 2], cx1) > np.maximum(b[None, :, 0], cx0)) & \
              (np.minimum(b[None, :, 3], cy1) > np.maximum(b[None, :, 1], cy0))
    inside = (b[None, :, 0] >= cx0) & (b[None, :, 2] <= cx1) & (b[None, :, 1] >= cy0) & (b[None, :, 3] <= cy1)
    bad = (overlap & ~inside) | (overlap & ~countable[None, :])
    counts = (inside & countable[None, :]).sum(axis=1)
    return np.where(bad.any(axis=1), -1, counts)


def candidate_crops(
    image_id: str, member: str, boxes: Sequence[Box], sizes: Sequence[int], stride: int,
    image_size: int = IMAGE_SIZE,
) -> list[Crop]:
    """Every grid window (each size, step ``stride``) holding 1..10 whole planes and nothing cut."""
    out = []
    for size in sizes:
        if size > image_size:
            continue
        starts = np.arange(0, image_size - size + 1, stride)
        if starts[-1] != image_size - size:
            starts = np.append(starts, image_size - size)  # reach the far edge too
        gx, gy = np.meshgrid(starts, starts, indexing="xy")
        gx, gy = gx.ravel(), gy.ravel()
        counts = crop_counts(boxes, gx, gy, size)
        for x, y, n in zip(gx, gy, counts):
            if 1 <= n <= MAX_COUNT:
                out.append(Crop(image_id, member, int(x), int(y), int(size), int(n)))
    return out


def _overlap_share(a: Crop, b: Crop) -> float:
    """Intersection area over the smaller window's area."""
    w = min(a.x0 + a.size, b.x0 + b.size) - max(a.x0, b.x0)
    h = min(a.y0 + a.size, b.y0 + b.size) - max(a.y0, b.y0)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / float(min(a.size, b.size) ** 2)


def select_balanced(
    candidates: Sequence[Crop], per_count: int, seed: int, max_overlap: float = DEFAULT_MAX_OVERLAP,
) -> list[Crop]:
    """Up to ``per_count`` crops per count, spread over images, with limited overlap (deterministic)."""
    rng = np.random.default_rng(seed)
    by_count: dict[int, dict[str, list[Crop]]] = defaultdict(lambda: defaultdict(list))
    for c in candidates:
        by_count[c.count][c.source_image].append(c)
    chosen: dict[str, list[Crop]] = defaultdict(list)
    picked: list[Crop] = []
    # Rare counts first: they have the fewest places to go.
    order = sorted(by_count, key=lambda n: (sum(len(v) for v in by_count[n].values()), n))
    for n in order:
        queues = []
        for image_id in sorted(by_count[n]):
            crops = by_count[n][image_id]
            queues.append([crops[i] for i in rng.permutation(len(crops))])
        queues = [queues[i] for i in rng.permutation(len(queues))]
        taken = 0
        while taken < per_count and any(queues):
            for queue in queues:  # one crop per image per round: spread over sources
                while queue:
                    crop = queue.pop()
                    if all(_overlap_share(crop, other) <= max_overlap for other in chosen[crop.source_image]):
                        chosen[crop.source_image].append(crop)
                        picked.append(crop)
                        taken += 1
                        break
                if taken >= per_count:
                    break
    return sorted(picked, key=lambda c: (c.count, c.source_image, c.y0, c.x0, c.size))


def write_crops(crops: Sequence[Crop], tar_path: Path, out_dir: Path, quality: int = JPEG_QUALITY) -> None:
    """Cut ``crops`` out of the tar's images (each source read once) and save them as JPEGs."""
    from PIL import Image

    by_member: dict[str, list[Crop]] = defaultdict(list)
    for c in crops:
        by_member[c.member].append(c)
    with tarfile.open(tar_path) as tar:
        for member in sorted(by_member):
            fh = tar.extractfile(member)
            if fh is None:
                raise UserError(f"{tar_path} has no file {member}")
            with Image.open(io.BytesIO(fh.read())) as im:
                rgb = im.convert("RGB")
            for c in by_member[member]:
                rgb.crop((c.x0, c.y0, c.x0 + c.size, c.y0 + c.size)).save(out_dir / c.file, quality=quality)


def write_counts(crops: Sequence[Crop], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COUNTS_FIELDS)
        for c in crops:
            writer.writerow([c.file, c.count, c.source_image, c.x0, c.y0, c.size])


def build_counting_set(
    out_dir: str | Path, split: str = "valid", sizes: Sequence[int] = DEFAULT_SIZES,
    per_count: int = DEFAULT_PER_COUNT, seed: int = 0, stride: int = DEFAULT_STRIDE,
    max_overlap: float = DEFAULT_MAX_OVERLAP, image_ids: Sequence[str] | None = None,
    folder: Path | None = None,
) -> list[Crop]:
    """Build the crops of ``split`` (or of the given ``image_ids`` in it) into ``out_dir``.

    The folder is written whole or not at all (built beside it, then renamed); an existing
    ``out_dir`` is replaced.
    """
    folder = folder or airbus_folder()
    tar_path = folder / "airbus_aircraft.tar"
    if not tar_path.is_file():
        raise NotFoundError(f"{tar_path} not found")
    members = read_split_members(folder, split)
    if image_ids is not None:
        missing = [i for i in image_ids if i not in members]
        if missing:
            raise UserError(f"image {missing[0]} is not in split '{split}'")
        members = {i: members[i] for i in image_ids}
    annotations = read_annotations(folder)
    candidates = [c for image_id, member in sorted(members.items())
                  for c in candidate_crops(image_id, member, annotations.get(image_id, []), sizes, stride)]
    crops = select_balanced(candidates, per_count, seed, max_overlap)
    if not crops:
        raise UserError(f"no crop of sizes {list(sizes)} holds 1-{MAX_COUNT} whole airplanes in split '{split}'")
    with atomic_folder(out_dir) as tmp:
        write_crops(crops, tar_path, tmp)
        write_counts(crops, tmp / COUNTS_FILE)
    return crops


def read_counts(crops_dir: str | Path) -> list[dict]:
    """Rows of ``counts.csv`` with ``count``/``x0``/``y0``/``size`` as ints."""
    path = Path(crops_dir) / COUNTS_FILE
    if not path.is_file():
        raise NotFoundError(f"{path} not found: build the set with python -m train.counting_set")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for key in ("count", "x0", "y0", "size"):
            r[key] = int(r[key])
    return rows


# --------------------------------------------------------------------------- features


def extract_counting_features(
    model, crops_dir: str | Path, object_name: str = "airplane", batch_size: int = 32, progress: bool = True,
) -> dict[str, np.ndarray]:
    """Features for the ``counting`` task of :mod:`train.evaluate` (keys as in :mod:`train.features`).

    ``labels`` are the counts 1..10; ``text_features`` row i is ``count_prompts(object_name)[i]``,
    the prompt for i + 1 objects.
    """
    from backend.query.prompts import count_prompts

    from .features import encode_image_files

    crops_dir = Path(crops_dir)
    rows = read_counts(crops_dir)
    if not rows:
        raise UserError(f"{crops_dir / COUNTS_FILE} lists no crops")
    prompts = count_prompts(object_name)
    paths = [crops_dir / r["file"] for r in rows]
    return {
        "kind": np.array("counting"),
        "dataset": np.array(crops_dir.name),
        "split": np.array("test"),
        "model": np.array(model.spec.name),
        "arch": np.array(model.spec.arch),
        "image_features": encode_image_files(model, paths, batch_size, progress, "counting"),
        "image_paths": np.array([str(p) for p in paths]),
        "labels": np.array([r["count"] for r in rows], dtype=np.int64),
        "class_names": np.array([str(n) for n in range(1, MAX_COUNT + 1)]),
        "prompts": np.array(prompts),
        "text_features": model.encode_texts(prompts).numpy().astype(np.float32),
    }


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.counting_set", description=__doc__.split("\n")[0])
    p.add_argument("--split", default="valid", help="valid (evaluation) or train (training captions)")
    p.add_argument("-o", "--output", required=True, help="output folder (replaced if it exists)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="crop sides in pixels")
    p.add_argument("--per-count", type=int, default=DEFAULT_PER_COUNT, help="crops wanted per count 1..10")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stride", type=int, default=DEFAULT_STRIDE, help="grid step of candidate windows (px)")
    p.add_argument("--max-overlap", type=float, default=DEFAULT_MAX_OVERLAP,
                   help="largest overlap between two crops of one image, as a share of the smaller")
    p.add_argument("--images", nargs="+", help="only these image ids (file names) of the split")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        crops = build_counting_set(args.output, args.split, args.sizes, args.per_count, args.seed, args.stride,
                                   args.max_overlap, args.images)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    per = defaultdict(int)
    for c in crops:
        per[c.count] += 1
    summary = ", ".join(f"{n}: {per[n]}" for n in range(1, MAX_COUNT + 1))
    print(f"wrote {len(crops)} crops to {args.output} (per count {summary})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
