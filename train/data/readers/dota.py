"""DOTA ``labelTxt`` annotations: oriented quadrilaterals turned into horizontal boxes.

Each line is ``x1 y1 x2 y2 x3 y3 x4 y4 category difficult`` in pixels of the original PNG, after
optional ``imagesource:`` / ``gsd:`` header lines (CRLF line endings in the devkit's files).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from backend.errors import NotFoundError

from ..annotations import Box, ImageAnnotation, ReadStats, annotation_files, cleaned_annotation

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
HEADER = re.compile(r"^[A-Za-z_]+\s*:")  # "imagesource:GoogleEarth", "gsd:0.266", "gsd:null"
SHORT_LINE = "short DOTA line"
BAD_POLYGON = "bad polygon"


def parse_dota_line(line: str) -> Box:
    """One object line -> the polygon's bounding box (pixels). Raises ``ValueError(reason)`` when malformed."""
    tokens = line.split()
    if len(tokens) < 9:
        raise ValueError(SHORT_LINE)
    try:
        coords = [float(t) for t in tokens[:8]]
    except ValueError:
        raise ValueError(BAD_POLYGON) from None
    if not all(math.isfinite(c) for c in coords):
        raise ValueError(BAD_POLYGON)
    xs, ys = coords[0::2], coords[1::2]
    difficult = len(tokens) > 9 and tokens[9] == "1"
    return Box(tokens[8], min(xs), min(ys), max(xs), max(ys), difficult=difficult)


def parse_dota(text: str) -> tuple[list[Box], Counter]:
    """All objects of one ``labelTxt`` file: ``(boxes, dropped)``, ``dropped`` counting malformed lines."""
    boxes: list[Box] = []
    dropped: Counter = Counter()
    for line in text.splitlines():
        line = line.strip()
        if not line or HEADER.match(line):
            continue
        try:
            boxes.append(parse_dota_line(line))
        except ValueError as exc:
            dropped[str(exc)] += 1
    return boxes, dropped


def find_image(label_file: Path) -> Path | None:
    """The image a label file describes: ``<root>/images/<stem>.png`` beside ``<root>/labelTxt/``, or beside it."""
    folders = [label_file.parent.parent / "images", label_file.parent]
    for folder in folders:
        for suffix in IMAGE_SUFFIXES:
            candidate = folder / (label_file.stem + suffix)
            if candidate.is_file():
                return candidate
    return None


def image_size(label_file: Path, boxes: list[Box]) -> tuple[str, int, int]:
    """``(image name, width, height)`` in pixels: from the image file when present (header only), else
    the largest coordinate, rounded up, so that no box is clipped for lack of a size."""
    image = find_image(label_file)
    if image is not None:
        try:
            with Image.open(image) as im:
                return image.name, im.width, im.height
        except (OSError, UnidentifiedImageError):
            pass  # an unreadable image: fall back to the coordinates, as when it is missing
    width = math.ceil(max((b.xmax for b in boxes), default=0))
    height = math.ceil(max((b.ymax for b in boxes), default=0))
    return label_file.stem + ".png", max(width, 1), max(height, 1)


def _label_files(path: Path) -> list[Path]:
    if path.is_dir() and (path / "labelTxt").is_dir():
        path = path / "labelTxt"
    return annotation_files(path, (".txt",), "DOTA labelTxt")


def read_dota(path: str | Path, stats: ReadStats | None = None) -> Iterator[ImageAnnotation]:
    """Annotations from DOTA label files at ``path``: a ``.txt``, a folder of them, or a DOTA root with
    ``labelTxt/`` (and ``images/``). Malformed lines are dropped and counted; boxes are clipped to the image."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} not found: give a DOTA labelTxt file or folder")
    files = _label_files(path)  # raises now, not at the first next()
    return _iter_dota(files, stats if stats is not None else ReadStats())


def _iter_dota(files: list[Path], stats: ReadStats) -> Iterator[ImageAnnotation]:
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            stats.skip("unreadable label file")
            continue
        boxes, dropped = parse_dota(text)
        stats.dropped_boxes.update(dropped)
        name, width, height = image_size(file, boxes)
        yield cleaned_annotation(name, width, height, boxes, stats)
