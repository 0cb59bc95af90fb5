"""Pascal-VOC XML annotations (DIOR's ``annotations/horizontal/*.xml``): a folder, one file, or a tar.

DIOR ships as ``dior_annotations.tar.xz`` (23,463 XMLs, 59 MB unpacked). The tar is streamed member by
member, never unpacked, so taking the first few records costs only what precedes them in the tar.
"""

from __future__ import annotations

import lzma
import tarfile
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from backend.errors import NotFoundError, UserError

from ..annotations import Box, ImageAnnotation, MalformedRecord, ReadStats, annotation_files, cleaned_annotation

TAR_SUFFIXES = (".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2")
# VOC writes images as JPEGImages/<id>.jpg; used when an XML has no <filename>.
DEFAULT_IMAGE_SUFFIX = ".jpg"


def parse_voc(data: bytes, source: str) -> tuple[str, int, int, list[Box], Counter]:
    """One VOC XML: ``(image name, width, height, boxes, dropped)``; sizes and coordinates in pixels.

    ``source`` is the XML's own name, used for the image name when ``<filename>`` is missing.
    ``dropped`` counts objects that had to be left out (no name, a bndbox that is not four numbers).
    Raises :class:`MalformedRecord` for XML that does not parse or has no usable ``<size>``.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise MalformedRecord("bad XML") from exc
    name = (root.findtext("filename") or "").strip() or PurePosixPath(source).stem + DEFAULT_IMAGE_SUFFIX
    try:
        width = int(float(root.findtext("size/width") or "0"))
        height = int(float(root.findtext("size/height") or "0"))
    except ValueError as exc:
        raise MalformedRecord("bad <size>") from exc
    if width <= 0 or height <= 0:
        # Without the size nothing can be clipped or placed in the image grid.
        raise MalformedRecord("missing or zero <size>")
    boxes: list[Box] = []
    dropped: Counter = Counter()
    for obj in root.iter("object"):
        class_name = (obj.findtext("name") or "").strip()
        if not class_name:
            dropped["object without <name>"] += 1
            continue
        try:
            coords = [float(obj.findtext(f"bndbox/{tag}") or "") for tag in ("xmin", "ymin", "xmax", "ymax")]
        except ValueError:
            dropped["bad <bndbox>"] += 1
            continue
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        boxes.append(Box(class_name, *coords, difficult=difficult))
    return name, width, height, boxes, dropped


def _xml_sources(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of every XML at ``path``: a tar streamed in order, or files on disk."""
    if path.is_file() and path.name.lower().endswith(TAR_SUFFIXES):
        yield from _tar_members(path)
        return
    for file in annotation_files(path, (".xml",), "Pascal-VOC XML"):
        yield file.name, file.read_bytes()


def _tar_members(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        # "r|*": a stream, so an .xz tar is decompressed once from the front, with no seeking back.
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                if member.isfile() and member.name.lower().endswith(".xml"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()
    except (tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError) as exc:
        raise UserError(f"cannot read the tar {path}: {exc}") from exc


def read_voc(path: str | Path, stats: ReadStats | None = None) -> Iterator[ImageAnnotation]:
    """Annotations from Pascal-VOC XML at ``path`` (a folder, an ``.xml``, or a tar such as DIOR's ``.tar.xz``).

    Boxes are clipped to ``<size>`` and degenerate ones dropped (counted in ``stats``); an XML that does
    not parse is skipped and counted. A missing path raises :class:`~backend.errors.UserError` at once.
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} not found: give a Pascal-VOC XML file, a folder of them, or a tar")
    return _iter_voc(path, stats if stats is not None else ReadStats())


def _iter_voc(path: Path, stats: ReadStats) -> Iterator[ImageAnnotation]:
    for source, data in _xml_sources(path):
        try:
            name, width, height, boxes, dropped = parse_voc(data, source)
        except MalformedRecord as exc:
            stats.skip(exc.reason)
            continue
        stats.dropped_boxes.update(dropped)
        yield cleaned_annotation(name, width, height, boxes, stats)
