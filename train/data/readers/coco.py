"""COCO detection JSON: ``images`` (id, file_name, width, height), ``annotations`` (image_id,
category_id, ``bbox = [x, y, w, h]`` in pixels) and ``categories`` (id, name)."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from backend.errors import NotFoundError, UserError

from ..annotations import Box, ImageAnnotation, MalformedRecord, ReadStats, annotation_files, cleaned_annotation


def load_coco(path: Path) -> dict:
    """The parsed JSON; one-line :class:`UserError` when it does not parse or is not COCO-shaped."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise UserError(f"{path} is not COCO JSON: it has no 'images' list")
    return data


def coco_box(ann: dict, categories: dict[int, str]) -> Box:
    """One annotation as a :class:`Box` (pixels). Raises :class:`MalformedRecord` naming why it is unusable."""
    if ann.get("iscrowd"):
        # A crowd region covers many objects in one box: counting it as one object would mislead captions.
        raise MalformedRecord("crowd annotation")
    name = categories.get(ann.get("category_id"))
    if name is None:
        raise MalformedRecord("unknown category")
    bbox = ann.get("bbox")
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise MalformedRecord("bad bbox") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise MalformedRecord("bad bbox")
    return Box(name, x, y, x + w, y + h)


def coco_annotations(data: dict, stats: ReadStats) -> Iterator[ImageAnnotation]:
    """Images of one parsed COCO JSON, in file order, with their boxes cleaned and counted in ``stats``."""
    named = (c for c in data.get("categories") or [] if isinstance(c, dict))
    categories = {c.get("id"): str(c.get("name") or "").strip() for c in named}
    categories = {k: v for k, v in categories.items() if v}
    per_image: dict[object, list[Box]] = defaultdict(list)
    dropped: Counter = Counter()
    image_ids = {im.get("id") for im in data["images"] if isinstance(im, dict)}
    for ann in data.get("annotations") or []:
        if not isinstance(ann, dict) or ann.get("image_id") not in image_ids:
            dropped["annotation of an unknown image"] += 1
            continue
        try:
            per_image[ann["image_id"]].append(coco_box(ann, categories))
        except MalformedRecord as exc:
            dropped[exc.reason] += 1
    stats.dropped_boxes.update(dropped)
    for image in data["images"]:
        if not isinstance(image, dict) or not str(image.get("file_name") or "").strip():
            stats.skip("image without file_name")
            continue
        try:
            width, height = int(image["width"]), int(image["height"])
        except (KeyError, TypeError, ValueError):
            width = height = 0
        if width <= 0 or height <= 0:
            stats.skip("image without width/height")
            continue
        boxes = per_image.get(image.get("id"), [])
        yield cleaned_annotation(str(image["file_name"]).strip(), width, height, boxes, stats)


def read_coco(path: str | Path, stats: ReadStats | None = None) -> Iterator[ImageAnnotation]:
    """Annotations from a COCO JSON file (or every ``.json`` in a folder). JSON that does not parse, or a
    missing path, raises :class:`~backend.errors.UserError` at once; bad annotations are dropped and counted."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} not found: give a COCO JSON file")
    documents = [load_coco(file) for file in annotation_files(path, (".json",), "COCO JSON")]
    return _iter_coco(documents, stats if stats is not None else ReadStats())


def _iter_coco(documents: list[dict], stats: ReadStats) -> Iterator[ImageAnnotation]:
    for data in documents:
        yield from coco_annotations(data, stats)
