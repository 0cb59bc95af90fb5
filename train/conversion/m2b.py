"""Mask-to-Box (M2B): segmentation masks -> object boxes -> Box-to-Caption captions.

RemoteCLIP (Sec. 3.2) turns segmentation sets into boxes so that B2C can caption them: each class's
pixels are split into connected components (8-connectivity: pixels touching at a corner join), and each
component large enough becomes one box. Three kinds of mask:

- class-index masks: one channel, pixel value = class index (a class table names the indices);
- colour masks: RGB, each class one flat colour from a table such as the Dubai set's ``classes.csv``
  (its colours are the verified ones; the source's ``classes.json`` is wrong). Palette ("P") PNGs are
  converted to RGB first, because their raw values are palette indices, not colours;
- instance masks: every distinct non-zero value (or colour) is one object of one given class.

Classes that are background rather than objects ("land", 62% of the Dubai pixels, and "unlabeled") are
skipped by default. Colours or indices missing from the table are counted, never guessed.

CLI: ``python -m train.m2b MASKS -o captions.csv [--colors classes.csv] [--min-area 50]``, where MASKS is
a mask file, a folder of masks, or a tar of masks (the Dubai ``dubai_tiles.tar`` with ``pairs.csv``).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tarfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from backend.errors import NotFoundError, UserError

from ..data.annotations import Box, ImageAnnotation, ReadStats, cleaned_annotation

MASK_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".gif")
DEFAULT_SKIP = frozenset({"background", "unlabeled", "unlabelled", "land", "ignore", "void"})
MODES = ("auto", "index", "color", "instance")
# Neighbourhoods for scipy.ndimage.label: 8 joins pixels that touch at a corner, 4 only along an edge.
STRUCTURES = {8: np.ones((3, 3), dtype=bool), 4: ndimage.generate_binary_structure(2, 1)}
UNKNOWN = -1  # label of a pixel whose colour or index is not in the class table
SMALL = "component smaller than the minimum area"


@dataclass(frozen=True)
class MaskClass:
    """One class of a mask: its pixel ``index``, identifier ``name``, caption ``words`` and RGB ``color``."""

    index: int
    name: str
    words: str
    color: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class ClassTable:
    """The classes of a mask set, from a CSV such as the Dubai ``classes.csv``."""

    classes: tuple[MaskClass, ...]

    @property
    def has_colors(self) -> bool:
        return any(c.color is not None for c in self.classes)

    def by_index(self) -> dict[int, MaskClass]:
        return {c.index: c for c in self.classes}


@dataclass(frozen=True)
class M2BConfig:
    """``min_area``: smallest component kept, in pixels. ``skip``: class names (or words) never made into
    boxes. ``mode``: mask kind (``auto`` picks colour for RGB and palette masks when the table has colours,
    else index). ``instance_class``: the class of every object in an instance mask. ``connectivity``:
    8 (default; a diagonal line of pixels is one object) or 4."""

    min_area: int = 50
    skip: frozenset[str] = DEFAULT_SKIP
    mode: str = "auto"
    instance_class: str = "object"
    connectivity: int = 8


@dataclass
class M2BStats:
    """``reads``: masks read / skipped and components dropped. ``unknown_pixels``: pixels whose colour
    (``"#000000"``) or index (``"index 7"``) is not in the class table."""

    reads: ReadStats = field(default_factory=ReadStats)
    unknown_pixels: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        text = self.reads.summary()
        if self.unknown_pixels:
            shown = ", ".join(f"{k}: {n}" for k, n in self.unknown_pixels.most_common(5))
            text += f"; pixels of colours/indices not in the class table: {sum(self.unknown_pixels.values())} ({shown})"
        return text


# --- class tables ------------------------------------------------------------------------------------


def parse_color(row: dict) -> tuple[int, int, int] | None:
    """``r,g,b`` columns or a ``mask_hex``/``color`` ``"#RRGGBB"`` column -> ``(r, g, b)``, or None."""
    if all((row.get(k) or "").strip() for k in ("r", "g", "b")):
        return tuple(int(row[k]) for k in ("r", "g", "b"))  # type: ignore[return-value]
    text = (row.get("mask_hex") or row.get("color") or row.get("hex") or "").strip().lstrip("#")
    if not text:
        return None
    if len(text) != 6:
        raise ValueError(f"colour '{text}' is not #RRGGBB")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def load_class_table(path: str | Path) -> ClassTable:
    """A class table CSV: ``class_index,class_name`` and optionally ``r,g,b`` (or ``mask_hex``) and
    ``prompt_text`` (the words used in captions; the name when empty)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"class table {path} not found")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        classes = []
        for row in rows:
            name = (row.get("class_name") or "").strip()
            words = (row.get("prompt_text") or "").strip() or name.replace("_", " ")
            classes.append(MaskClass(int(row["class_index"]), name, words, parse_color(row)))
    except (KeyError, ValueError, TypeError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} is not a class table (class_index,class_name[,r,g,b][,prompt_text]): {exc}") from exc
    if not classes:
        raise UserError(f"class table {path} is empty")
    colors = [c.color for c in classes if c.color is not None]
    if len(set(colors)) != len(colors):
        raise UserError(f"class table {path} gives one colour to two classes")
    return ClassTable(tuple(classes))


def default_class(index: int) -> MaskClass:
    """A class-index mask without a table: 0 is background, others "class N"."""
    return MaskClass(index, "background" if index == 0 else f"class {index}", f"class {index}")


# --- masks to labels ---------------------------------------------------------------------------------


def rgb_keys(rgb: np.ndarray) -> np.ndarray:
    """``H x W x 3`` uint8 -> ``H x W`` int32 ``r << 16 | g << 8 | b``, one number per colour."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def color_labels(rgb: np.ndarray, table: ClassTable) -> tuple[np.ndarray, Counter]:
    """Class index per pixel of an RGB mask (``UNKNOWN`` where the colour is not in the table), and the
    unknown colours as ``{"#RRGGBB": pixels}``."""
    keys, inverse = np.unique(rgb_keys(rgb), return_inverse=True)
    lookup = {(c.color[0] << 16) | (c.color[1] << 8) | c.color[2]: c.index for c in table.classes if c.color}
    mapped = np.array([lookup.get(int(k), UNKNOWN) for k in keys], dtype=np.int32)
    labels = mapped[inverse.reshape(rgb.shape[:2])]
    counts = np.bincount(inverse.ravel(), minlength=len(keys))
    unknown = Counter({f"#{int(k):06X}": int(n) for k, n, m in zip(keys, counts, mapped) if m == UNKNOWN})
    return labels, unknown


def index_labels(values: np.ndarray, table: ClassTable | None) -> tuple[np.ndarray, Counter]:
    """Class index per pixel of a one-channel mask; indices missing from ``table`` become ``UNKNOWN``."""
    labels = values.astype(np.int64)
    if table is None:
        return labels, Counter()
    known = np.isin(labels, [c.index for c in table.classes])
    unknown_values, counts = np.unique(labels[~known], return_counts=True)
    labels = np.where(known, labels, UNKNOWN)
    return labels, Counter({f"index {int(v)}": int(n) for v, n in zip(unknown_values, counts)})


def component_boxes(labels: np.ndarray, classes: dict[int, MaskClass], config: M2BConfig) -> tuple[list[Box], int]:
    """Boxes of the connected components (``config.connectivity``) of every class in ``labels``, in
    pixel-edge coordinates (a one-pixel component at column 3 spans x 3..4). Returns the boxes and how
    many components were smaller than ``config.min_area`` pixels; skipped classes and unknown pixels
    give no box."""
    boxes: list[Box] = []
    small = 0
    skip = {s.lower() for s in config.skip}
    for index in np.unique(labels):
        if index == UNKNOWN:
            continue
        cls = classes.get(int(index)) or default_class(int(index))
        if cls.name.lower() in skip or cls.words.lower() in skip:
            continue
        components, _ = ndimage.label(labels == index, structure=STRUCTURES[config.connectivity])
        found, n_small = labelled_boxes(components, cls.words, config.min_area)
        boxes += found
        small += n_small
    return boxes, small


def labelled_boxes(ids: np.ndarray, class_name: str, min_area: int) -> tuple[list[Box], int]:
    """One box per label 1..K of ``ids`` (0 is background) with at least ``min_area`` pixels; also how
    many labels were too small."""
    areas = np.bincount(ids.ravel())
    boxes, small = [], 0
    for i, found in enumerate(ndimage.find_objects(ids), start=1):
        if found is None:
            continue
        if areas[i] < min_area:
            small += 1
            continue
        rows, cols = found
        boxes.append(Box(class_name, float(cols.start), float(rows.start), float(cols.stop), float(rows.stop)))
    return boxes, small


def instance_boxes(mask: Image.Image, config: M2BConfig) -> tuple[list[Box], int]:
    """One box per distinct non-zero value (or non-black colour) of an instance mask, all of class
    ``config.instance_class``; an instance split in parts (occlusion) still gives one box."""
    values = np.asarray(mask)
    keys = rgb_keys(values[..., :3]) if values.ndim == 3 else values.astype(np.int64)
    uniques, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(keys.shape)
    ids = np.where(uniques[inverse] == 0, 0, inverse + 1)  # 0 = background; instances 1..K
    return labelled_boxes(ids, config.instance_class, config.min_area)


def mask_kind(mask: Image.Image, table: ClassTable | None, mode: str) -> str:
    """``index``, ``color`` or ``instance`` for this mask under ``mode`` (see :class:`M2BConfig`)."""
    if mode != "auto":
        return mode
    if mask.mode in ("RGB", "RGBA"):
        return "color"
    if mask.mode == "P" and table is not None and table.has_colors:
        return "color"
    return "index"


def mask_boxes(mask: Image.Image, table: ClassTable | None, config: M2BConfig) -> tuple[list[Box], int, Counter]:
    """Boxes of one mask: ``(boxes, components too small, unknown pixels by colour or index)``."""
    kind = mask_kind(mask, table, config.mode)
    if kind == "instance":
        return (*instance_boxes(mask, config), Counter())
    if kind == "color":
        if table is None or not table.has_colors:
            raise UserError("a colour mask needs a class table with colours: give --colors classes.csv")
        labels, unknown = color_labels(np.asarray(mask.convert("RGB")), table)
    else:
        values = np.asarray(mask)
        if values.ndim != 2:
            raise UserError(f"a class-index mask has one channel, this one is {mask.mode}: use --mode color")
        labels, unknown = index_labels(values, table)
    classes = table.by_index() if table is not None else {}
    return (*component_boxes(labels, classes, config), unknown)


def mask_annotation(
    image: str, mask: Image.Image, table: ClassTable | None, config: M2BConfig, stats: M2BStats
) -> ImageAnnotation:
    """The :class:`ImageAnnotation` of one mask (same size as its image), counted in ``stats``."""
    boxes, small, unknown = mask_boxes(mask, table, config)
    stats.reads.drop_box(SMALL, small)
    stats.unknown_pixels.update(unknown)
    return cleaned_annotation(image, mask.width, mask.height, boxes, stats.reads)


# --- sources -----------------------------------------------------------------------------------------


def _open_mask(data: bytes | Path) -> Image.Image:
    mask = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    mask.load()
    return mask


def folder_masks(path: Path) -> Iterator[tuple[str, bytes | Path]]:
    """``(name, file)`` of a mask file or of every mask in a folder; names relative to the folder."""
    if path.is_file():
        yield path.name, path
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MASK_SUFFIXES):
        yield file.relative_to(path).as_posix(), file


def read_pairs(pairs_csv: Path) -> list[tuple[str, str]]:
    """``[(image path, mask path)]`` from a ``pairs.csv`` (``image_path_in_tar,mask_path_in_tar,...``)."""
    try:
        with open(pairs_csv, newline="", encoding="utf-8") as fh:
            return [(row["image_path_in_tar"], row["mask_path_in_tar"]) for row in csv.DictReader(fh)]
    except (KeyError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{pairs_csv} is not a pairs file (image_path_in_tar,mask_path_in_tar): {exc}") from exc


def tar_masks(path: Path, pairs: list[tuple[str, str]] | None, stats: M2BStats) -> Iterator[tuple[str, bytes]]:
    """``(image name, mask bytes)`` from a tar: the pairs' masks named by their images, or without pairs
    every mask member named by itself."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            wanted = pairs if pairs is not None else [
                (name, name) for name in sorted(members) if name.lower().endswith(MASK_SUFFIXES)
            ]
            for image, mask in wanted:
                handle = tar.extractfile(members[mask]) if mask in members else None
                if handle is None:
                    stats.reads.skip("mask missing from the tar")
                    continue
                yield image, handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"cannot read the tar {path}: {exc}") from exc


def mask_sources(path: Path, pairs_csv: Path | None, stats: M2BStats) -> Iterator[tuple[str, bytes | Path]]:
    """Masks at ``path`` (file, folder or tar), each with the name of the image it belongs to."""
    if not path.exists():
        raise NotFoundError(f"{path} not found: give a mask file, a folder of masks, or a tar")
    if path.is_file() and tarfile.is_tarfile(path):
        pairs_csv = pairs_csv or (path.parent / "pairs.csv" if (path.parent / "pairs.csv").is_file() else None)
        return tar_masks(path, read_pairs(pairs_csv) if pairs_csv else None, stats)
    masks = list(folder_masks(path))
    if not masks:
        raise UserError(f"no masks ({', '.join(MASK_SUFFIXES)}) under {path}")
    return iter(masks)


def mask_annotations(
    sources: Iterable[tuple[str, bytes | Path]], table: ClassTable | None, config: M2BConfig, stats: M2BStats
) -> Iterator[ImageAnnotation]:
    """One annotation per readable mask; an undecodable mask is skipped and counted."""
    for image, data in sources:
        try:
            mask = _open_mask(data)
        except (OSError, UnidentifiedImageError, ValueError):
            stats.reads.skip("unreadable mask")
            continue
        yield mask_annotation(image, mask, table, config, stats)


# --- CLI ---------------------------------------------------------------------------------------------


def default_table(path: Path, colors: str | None) -> ClassTable | None:
    """``--colors`` when given, else a ``classes.csv`` beside a tar (as for the Dubai set), else None."""
    if colors:
        return load_class_table(colors)
    beside = path.parent / "classes.csv"
    if path.is_file() and tarfile.is_tarfile(path) and beside.is_file():
        return load_class_table(beside)
    return None


def build_parser() -> argparse.ArgumentParser:
    from .b2c import add_caption_options

    parser = argparse.ArgumentParser(prog="python -m train.m2b", description="Mask-to-Box: captions from masks.")
    parser.add_argument("masks", help="mask file, folder of masks, or tar (with pairs.csv beside it)")
    parser.add_argument("--colors", help="class table CSV: class_index,class_name[,r,g,b][,prompt_text]")
    parser.add_argument("--pairs", help="pairs CSV for a tar (default: pairs.csv beside it)")
    parser.add_argument("--min-area", type=int, default=50, help="smallest component kept, in pixels (default 50)")
    parser.add_argument("--skip", default=",".join(sorted(DEFAULT_SKIP)),
                        help="classes never made into boxes, comma-separated (default: %(default)s)")
    parser.add_argument("--mode", choices=MODES, default="auto", help="mask kind (default auto)")
    parser.add_argument("--connectivity", type=int, choices=(4, 8), default=8,
                        help="8: pixels touching at a corner are one object (default); 4: only along an edge")
    parser.add_argument("--instance-class", default="object", help="class of every object in instance masks")
    add_caption_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..command_line import progress, run_cli
    from .b2c import caption_rows, config_from, write_caption_csv

    args = build_parser().parse_args(argv)

    def action() -> int:
        if args.min_area < 1:
            raise UserError(f"--min-area is in pixels and at least 1, got {args.min_area}")
        path = Path(args.masks)
        stats = M2BStats()
        table = default_table(path, args.colors)
        skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
        config = M2BConfig(args.min_area, skip, args.mode, args.instance_class, args.connectivity)
        sources = mask_sources(path, Path(args.pairs) if args.pairs else None, stats)
        annotations = mask_annotations(progress(sources, "M2B", "mask"), table, config, stats)
        n = write_caption_csv(caption_rows(annotations, config_from(args), stats.reads), args.output)
        print(f"{stats.summary()}; wrote captions of {n} images to {args.output}")
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
