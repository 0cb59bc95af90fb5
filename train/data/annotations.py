"""Object annotations as values: boxes in pixels, one annotated image, and what a reader skipped.

Every reader (``train.readers``) turns its format into :class:`ImageAnnotation` and fills a
:class:`ReadStats`; Box-to-Caption and the dataset writers only ever see these types.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from backend.errors import NotFoundError, UserError


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels of the full image: origin at the top-left corner, x right, y down.

    Coordinates are pixel edges, so a box covering pixel columns 3..5 has ``xmin=3, xmax=6``.
    ``class_name`` is the name as the source spells it ("storagetank"); captions normalise it.
    """

    class_name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: bool = False  # DOTA's flag; kept so a caller may drop such boxes

    @property
    def width(self) -> float:
        """Width in pixels."""
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        """Height in pixels."""
        return self.ymax - self.ymin

    @property
    def area(self) -> float:
        """Area in square pixels (0 for a degenerate box)."""
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        """Centre ``(x, y)`` in pixels."""
        return (self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2


@dataclass(frozen=True)
class ImageAnnotation:
    """The boxes of one image. ``image`` names the image relative to its data set (e.g. ``00001.jpg``,
    ``train/<uuid>.jpg``); ``width`` and ``height`` are the image size in pixels."""

    image: str
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)


@dataclass
class ReadStats:
    """What a reader made of its input.

    ``read`` counts records (images) that came out, ``skipped`` those that did not, ``reasons`` says
    why records were skipped. A record read and then rejected downstream (an image whose boxes were
    all dropped, so Box-to-Caption has nothing to say) moves from ``read`` to ``skipped`` through
    :meth:`reject`, so ``read + skipped`` is always the number of records seen. Boxes dropped inside
    a record that was kept are counted in ``dropped_boxes``; boxes cut at the image edge in ``clipped_boxes``.
    """

    read: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    dropped_boxes: Counter = field(default_factory=Counter)
    clipped_boxes: int = 0

    def skip(self, reason: str) -> None:
        """Count one record that could not be used."""
        self.skipped += 1
        self.reasons[reason] += 1

    def reject(self, reason: str) -> None:
        """Move one record that was read from ``read`` to ``skipped``."""
        self.read -= 1
        self.skip(reason)

    def drop_box(self, reason: str, n: int = 1) -> None:
        """Count boxes dropped from a record that was kept."""
        if n:
            self.dropped_boxes[reason] += n

    def merge(self, other: ReadStats) -> None:
        """Add another reader's counts to these."""
        self.read += other.read
        self.skipped += other.skipped
        self.reasons.update(other.reasons)
        self.dropped_boxes.update(other.dropped_boxes)
        self.clipped_boxes += other.clipped_boxes

    def summary(self) -> str:
        """One line for a CLI: ``read 2, skipped 1 (bad XML: 1); boxes dropped: 3 (zero size: 3)``."""
        text = f"read {self.read}, skipped {self.skipped}{_reasons(self.reasons)}"
        dropped = sum(self.dropped_boxes.values())
        if dropped:
            text += f"; boxes dropped: {dropped}{_reasons(self.dropped_boxes)}"
        if self.clipped_boxes:
            text += f"; boxes clipped to the image: {self.clipped_boxes}"
        return text


def _reasons(counts: Counter) -> str:
    if not counts:
        return ""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (" + ", ".join(f"{reason}: {n}" for reason, n in ordered) + ")"


class MalformedRecord(ValueError):
    """One record (an XML file, a CSV row) that cannot be parsed; readers skip and count it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Reasons a box is dropped, as counted in ReadStats.dropped_boxes.
ZERO_SIZE = "zero or negative size"
OUTSIDE = "outside the image"
NOT_FINITE = "coordinates not finite"


@dataclass(frozen=True)
class CleanedBoxes:
    """The result of :func:`clean_boxes`: kept boxes, why others were dropped, how many were clipped."""

    boxes: list[Box]
    dropped: Counter
    clipped: int


def clean_boxes(boxes: Iterable[Box], width: float, height: float) -> CleanedBoxes:
    """Clip boxes to the image ``[0, width] x [0, height]`` (pixels) and drop the degenerate ones.

    A box given with zero or negative width or height is dropped as "zero or negative size" (DIOR has
    seven, e.g. ship (162,329,162,330)); one of positive size that clipping leaves empty lies wholly
    "outside the image". Boxes reaching past the edge (DIOR 05195 to x=802, Airbus to x=2569) are clipped.
    """
    kept: list[Box] = []
    dropped: Counter = Counter()
    clipped = 0
    for box in boxes:
        coords = (box.xmin, box.ymin, box.xmax, box.ymax)
        if not all(math.isfinite(c) for c in coords):
            dropped[NOT_FINITE] += 1
            continue
        if box.xmax <= box.xmin or box.ymax <= box.ymin:
            dropped[ZERO_SIZE] += 1
            continue
        xmin, xmax = min(max(box.xmin, 0.0), width), min(max(box.xmax, 0.0), width)
        ymin, ymax = min(max(box.ymin, 0.0), height), min(max(box.ymax, 0.0), height)
        if xmax <= xmin or ymax <= ymin:
            dropped[OUTSIDE] += 1
            continue
        if (xmin, ymin, xmax, ymax) != coords:
            clipped += 1
            box = replace(box, xmin=float(xmin), ymin=float(ymin), xmax=float(xmax), ymax=float(ymax))
        kept.append(box)
    return CleanedBoxes(kept, dropped, clipped)


def cleaned_annotation(image: str, width: int, height: int, boxes: Iterable[Box], stats: ReadStats) -> ImageAnnotation:
    """An :class:`ImageAnnotation` with its boxes cleaned, counted in ``stats`` as one record read."""
    result = clean_boxes(boxes, width, height)
    stats.read += 1
    stats.dropped_boxes.update(result.dropped)
    stats.clipped_boxes += result.clipped
    return ImageAnnotation(image, int(width), int(height), result.boxes)


def annotation_files(path: str | Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The annotation files at ``path``: the file itself, or those in a folder (recursively, sorted).

    ``what`` names the format in errors ("Pascal-VOC XML"). A missing path or a folder without such
    files is a :class:`~backend.errors.UserError`: the whole input is unreadable.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NotFoundError(f"{path} not found: give a {what} file or a folder of them")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
    if not files:
        raise UserError(f"no {what} files ({', '.join(suffixes)}) under {path}")
    return files
