"""Annotation readers: each turns one format into :class:`~train.data.annotations.ImageAnnotation` values.

Every reader takes ``(path, stats=None)`` and returns an iterator; a missing or wholly unreadable
input raises :class:`~backend.errors.UserError` when the reader is called, while malformed records
inside a readable input are skipped and counted in the :class:`~train.data.annotations.ReadStats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from backend.errors import UserError

from ..annotations import ImageAnnotation, ReadStats
from .aircraft import read_aircraft
from .coco import read_coco
from .dota import read_dota
from .voc import read_voc

Reader = Callable[..., Iterator[ImageAnnotation]]

READERS: dict[str, Reader] = {"voc": read_voc, "dota": read_dota, "coco": read_coco, "aircraft": read_aircraft}


def read_annotations(fmt: str, path: str | Path, stats: ReadStats | None = None) -> Iterator[ImageAnnotation]:
    """The reader for ``fmt`` (``voc``, ``dota``, ``coco`` or ``aircraft``) applied to ``path``."""
    try:
        reader = READERS[fmt]
    except KeyError:
        raise UserError(f"unknown annotation format '{fmt}': use one of {', '.join(READERS)}") from None
    return reader(path, stats)


__all__ = ["READERS", "read_aircraft", "read_annotations", "read_coco", "read_dota", "read_voc"]
