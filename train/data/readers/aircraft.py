"""Airbus Aircraft Detection sample: ``annotations.csv`` with ``id,image_id,geometry,class``.

``geometry`` is a Python literal (not JSON) of ``(x, y)`` pixel tuples forming a closed ring; classes are
``Airplane`` and ``Truncated_airplane``. All images are 2560 x 2560 pixels, and 12 boxes reach past the
edge (up to x = 2569), so boxes are clipped. ``splits.csv`` beside the CSV, when present, gives each
image's path in the tar (``train/<uuid>.jpg``), which becomes :attr:`ImageAnnotation.image`.
"""

from __future__ import annotations

import ast
import csv
import math
from collections.abc import Iterator
from numbers import Real
from pathlib import Path

from backend.errors import NotFoundError, UserError

from ..annotations import Box, ImageAnnotation, MalformedRecord, ReadStats, cleaned_annotation

IMAGE_SIZE = 2560  # pixels, width and height of every image in the set
REQUIRED_COLUMNS = ("image_id", "geometry", "class")


def parse_polygon(text: str) -> tuple[float, float, float, float]:
    """``"[(135, 522), (245, 522), ...]"`` -> ``(xmin, ymin, xmax, ymax)`` in pixels.

    Raises :class:`MalformedRecord` unless it is a sequence of at least three finite ``(x, y)`` pairs.
    """
    try:
        points = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise MalformedRecord("bad polygon") from None
    if not isinstance(points, (list, tuple)) or len(points) < 3:
        raise MalformedRecord("bad polygon")
    xs, ys = [], []
    for point in points:
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in point)
        ):
            raise MalformedRecord("bad polygon")
        xs.append(float(point[0]))
        ys.append(float(point[1]))
    return min(xs), min(ys), max(xs), max(ys)


def tar_paths(splits_csv: Path) -> dict[str, str]:
    """``{"<uuid>.jpg": "train/<uuid>.jpg"}`` from ``splits.csv`` (``path_in_tar,split``)."""
    with open(splits_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {Path(row["path_in_tar"]).name: row["path_in_tar"] for row in rows if row.get("path_in_tar")}


def _csv_path(path: Path) -> Path:
    if path.is_dir():
        path = path / "annotations.csv"
    if not path.is_file():
        raise NotFoundError(f"{path} not found: give the Airbus aircraft annotations.csv or its folder")
    return path


def read_aircraft(
    path: str | Path, stats: ReadStats | None = None, image_size: int = IMAGE_SIZE
) -> Iterator[ImageAnnotation]:
    """Annotations from the Airbus aircraft CSV (or its folder), one per image in order of first appearance.

    ``image_size`` is the side of the square images in pixels. Rows with a bad polygon or no class are
    dropped and counted in ``stats.dropped_boxes``; a missing file or missing columns raise a UserError.
    """
    csv_path = _csv_path(Path(path))
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{csv_path} has no column {', '.join(missing)}: expected id,image_id,geometry,class")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"cannot read {csv_path}: {exc}") from exc
    splits = csv_path.parent / "splits.csv"
    names = tar_paths(splits) if splits.is_file() else {}
    return _iter_aircraft(rows, names, image_size, stats if stats is not None else ReadStats())


def _iter_aircraft(rows: list[dict], names: dict[str, str], size: int, stats: ReadStats) -> Iterator[ImageAnnotation]:
    per_image: dict[str, list[Box]] = {}  # insertion-ordered: images come out in CSV order
    for row in rows:
        image = (row.get("image_id") or "").strip()
        class_name = (row.get("class") or "").strip()
        if not image:
            stats.drop_box("row without image_id")
            continue
        boxes = per_image.setdefault(image, [])
        if not class_name:
            stats.drop_box("row without class")
            continue
        try:
            boxes.append(Box(class_name, *parse_polygon(row.get("geometry") or "")))
        except MalformedRecord as exc:
            stats.drop_box(exc.reason)
    for image, boxes in per_image.items():
        yield cleaned_annotation(names.get(image, image), size, size, boxes, stats)
