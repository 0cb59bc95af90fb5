"""Box-to-Caption (B2C): five captions per image from its object boxes, after RemoteCLIP's Algorithm 1.

RemoteCLIP (Liu, Chen et al. 2023, Sec. 3.2) turns detection annotations into captions by rules: what the
objects are, where they are, and how many of each there are, with counts above ten said as "many". Here
each image with at least one box gets five different captions:

1. counts per class: "There are three airplanes and one storage tank in the image."
2. the most frequent class(es): "The image mainly contains airplanes."
3. positions in a 3 x 3 grid: "An airplane is at the top left and two ships are in the center."
4. presence without counts, in a template chosen by a seeded generator: "A satellite image showing ..."
5. the largest object and where it is: "The largest object is a harbor at the top."

Class names are normalised to words ("storagetank" -> "storage tank") and inflected with
``backend.query.prompts.plural``/``singular``. Output is a CSV ``image,caption_1..caption_5,width,height,n_boxes``.

CLI: ``python -m train.b2c --format {voc,dota,coco,aircraft} INPUT -o captions.csv``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import NotFoundError, UserError
from backend.query.prompts import NUMBER_WORDS, plural, singular

from ..command_line import atomic_output, progress, run_cli
from ..data.annotations import Box, ImageAnnotation, ReadStats
from ..data.class_names import normalise_class_name

N_CAPTIONS = 5
CAPTION_COLUMNS = [f"caption_{i}" for i in range(1, N_CAPTIONS + 1)]
CSV_COLUMNS = ["image", *CAPTION_COLUMNS, "width", "height", "n_boxes"]

# Cells of the 3 x 3 grid, row by row from the top left, as they are said in a caption.
GRID = 3
CELL_PHRASES = (
    "at the top left", "at the top", "at the top right",
    "on the left", "in the center", "on the right",
    "at the bottom left", "at the bottom", "at the bottom right",
)
PRESENCE_TEMPLATES = ("A satellite image showing {}.", "An aerial image showing {}.", "A remote sensing image of {}.")
# Land-cover classes (from segmentation masks) are not counted as "three waters": a component of one
# is "an area of water". Matched on the last word of the class name.
MASS_NOUNS = frozenset({"water", "vegetation", "land", "grass", "grassland", "sand", "snow", "ice", "farmland",
                        "cropland", "bareland", "soil", "clutter", "impervious"})
MASS_UNIT = "area"
SCATTERED_CELLS = 4  # a class in this many grid cells or more is "scattered across the image"


@dataclass(frozen=True)
class B2CConfig:
    """Caption rules. Counts above ``many_above`` are "many" (the paper's threshold is ten);
    ``max_classes`` and ``max_places`` bound how many classes the count and position captions name,
    which keeps captions inside CLIP's 77-token context. ``rename`` maps a source class name (raw or
    normalised) to other words before captioning, e.g. ``{"Truncated_airplane": "airplane"}``."""

    many_above: int = 10
    max_classes: int = 6
    max_places: int = 3
    seed: int = 0
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaptionRow:
    """One image's captions; ``width``/``height`` in pixels, ``n_boxes`` the boxes they were made from."""

    image: str
    width: int
    height: int
    n_boxes: int
    captions: tuple[str, ...]


# --- words -------------------------------------------------------------------------------------------


def class_words(raw: str, rename: Mapping[str, str] | None = None) -> str:
    """A source class name as a singular noun: ``"storagetank"`` -> ``"storage tank"``, ``"ships"`` -> ``"ship"``."""
    rename = rename or {}
    words = normalise_class_name(rename.get(raw, raw))
    words = normalise_class_name(rename.get(words, words))
    return words if is_mass(words) else singular(words)


def is_mass(noun: str) -> bool:
    """Whether ``noun`` is uncountable land cover ("water", "bare land")."""
    return noun.split()[-1].lower() in MASS_NOUNS if noun.strip() else False


def article(phrase: str) -> str:
    """``"a"`` or ``"an"`` before ``phrase``, by its first letter."""
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def count_word(n: int, many_above: int = 10) -> str:
    """``3`` -> ``"three"``; above ``many_above`` -> ``"many"``; numbers without a word stay digits."""
    if n > many_above:
        return "many"
    return NUMBER_WORDS[n - 1] if 1 <= n <= len(NUMBER_WORDS) else str(n)


def counted(noun: str, n: int, many_above: int = 10, with_article: bool = False) -> str:
    """``noun`` with its count: ``"three ships"``, ``"many ships"``, ``"one ship"`` (``"a ship"`` with
    ``with_article``); mass nouns count areas: ``"two areas of water"``."""
    head, tail = (MASS_UNIT, f" of {noun}") if is_mass(noun) else (noun, "")
    if n == 1:
        return f"{article(head) if with_article else 'one'} {head}{tail}"
    return f"{count_word(n, many_above)} {plural(head)}{tail}"


def mentioned(noun: str, n: int) -> str:
    """``noun`` without a count: ``"a harbor"`` for one, ``"ships"`` for several, ``"water"`` for a mass noun."""
    if is_mass(noun):
        return noun
    return f"{article(noun)} {noun}" if n == 1 else plural(noun)


def join_words(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(text: str) -> str:
    """First letter upper-case, ending in a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# --- geometry ----------------------------------------------------------------------------------------


def grid_cell(box: Box, width: float, height: float) -> int:
    """Index 0..8 (row by row from the top left) of the 3 x 3 cell holding the box centre; sizes in pixels."""
    cx, cy = box.center
    col = min(max(int(cx * GRID // max(width, 1)), 0), GRID - 1)
    row = min(max(int(cy * GRID // max(height, 1)), 0), GRID - 1)
    return row * GRID + col


# --- the five captions -------------------------------------------------------------------------------


def class_counts(boxes: Iterable[Box], rename: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """``[(noun, count)]``, most frequent first, ties by name: the order every caption lists classes in."""
    counts = Counter(class_words(b.class_name, rename) for b in boxes)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def counts_caption(counts: Sequence[tuple[str, int]], config: B2CConfig) -> str:
    """(1) "There are three airplanes and one storage tank in the image."."""
    shown = counts[: config.max_classes]
    verb = "is" if shown[0][1] == 1 else "are"
    return sentence(f"there {verb} {join_words([counted(n, c, config.many_above) for n, c in shown])} in the image")


def main_class_caption(counts: Sequence[tuple[str, int]], config: B2CConfig) -> str:
    """(2) "The image mainly contains ships." (every class tied for the highest count, at most three)."""
    top = [(noun, n) for noun, n in counts if n == counts[0][1]][:3]
    return sentence(f"the image mainly contains {join_words([mentioned(noun, n) for noun, n in top])}")


def class_places(noun: str, cells: Counter, config: B2CConfig) -> str:
    """One clause of the position caption for one class, from ``{cell: count}``.

    One cell: "two ships are in the center" (with the count). Two or three: "ships are at the top and in
    the center" (in reading order). Four or more: "ships are scattered across the image".
    """
    if len(cells) == 1:
        (cell, n), = cells.items()
        verb = "is" if n == 1 else "are"
        return f"{counted(noun, n, config.many_above, with_article=True)} {verb} {CELL_PHRASES[cell]}"
    many = noun if is_mass(noun) else plural(noun)
    verb = "is" if is_mass(noun) else "are"
    if len(cells) >= SCATTERED_CELLS:
        return f"{many} {verb} scattered across the image"
    return f"{many} {verb} {join_words([CELL_PHRASES[cell] for cell in sorted(cells)])}"


def position_caption(annotation: ImageAnnotation, config: B2CConfig) -> str:
    """(3) "An airplane is at the top left and two ships are in the center.".

    Box centres are placed in a 3 x 3 grid; the ``max_places`` most frequent classes are described.
    """
    cells: dict[str, Counter] = {}
    for box in annotation.boxes:
        noun = class_words(box.class_name, config.rename)
        cells.setdefault(noun, Counter())[grid_cell(box, annotation.width, annotation.height)] += 1
    ranked = class_counts(annotation.boxes, config.rename)[: config.max_places]
    clauses = [class_places(noun, cells[noun], config) for noun, _ in ranked]
    if len(clauses) > 1 and any(" and " in c for c in clauses):
        # A clause that lists cells already has an "and": the serial comma keeps the clauses apart.
        return sentence(", ".join(clauses[:-1]) + ", and " + clauses[-1])
    return sentence(join_words(clauses))


def presence_caption(image: str, counts: Sequence[tuple[str, int]], config: B2CConfig) -> str:
    """(4) "A satellite image showing airplanes and a storage tank." in a template picked per image."""
    # Seeded by the image name, so a caption does not change with the order images are read in.
    template = random.Random(f"{config.seed}:{image}").choice(PRESENCE_TEMPLATES)
    return template.format(join_words([mentioned(noun, n) for noun, n in counts[: config.max_classes]]))


def largest_caption(annotation: ImageAnnotation, config: B2CConfig) -> str:
    """(5) "The largest object is a harbor at the top." (by box area in pixels; the first box wins ties)."""
    box = max(annotation.boxes, key=lambda b: b.area)
    noun = class_words(box.class_name, config.rename)
    kind = "region" if is_mass(noun) else "object"
    where = CELL_PHRASES[grid_cell(box, annotation.width, annotation.height)]
    return sentence(f"the largest {kind} is {counted(noun, 1, with_article=True)} {where}")


def captions_for(annotation: ImageAnnotation, config: B2CConfig | None = None) -> list[str]:
    """The five captions of an image, or ``[]`` when it has no boxes."""
    config = config or B2CConfig()
    if not annotation.boxes:
        return []
    counts = class_counts(annotation.boxes, config.rename)
    return [
        counts_caption(counts, config),
        main_class_caption(counts, config),
        position_caption(annotation, config),
        presence_caption(annotation.image, counts, config),
        largest_caption(annotation, config),
    ]


def caption_rows(
    annotations: Iterable[ImageAnnotation], config: B2CConfig | None = None, stats: ReadStats | None = None
) -> Iterator[CaptionRow]:
    """A :class:`CaptionRow` per image that has boxes; the others are moved to ``stats.skipped`` ("no boxes")."""
    config = config or B2CConfig()
    for annotation in annotations:
        captions = captions_for(annotation, config)
        if not captions:
            if stats is not None:
                stats.reject("no boxes")
            continue
        yield CaptionRow(annotation.image, annotation.width, annotation.height, len(annotation.boxes), tuple(captions))


# --- files -------------------------------------------------------------------------------------------


def write_caption_csv(rows: Iterable[CaptionRow], path: str | Path) -> int:
    """Write rows to a CSV (``image,caption_1..caption_5,width,height,n_boxes``) atomically; returns the count.

    Writes nothing and raises a UserError when no row came, since an empty caption file is never wanted.
    """
    n = 0
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            for row in rows:
                writer.writerow([row.image, *row.captions, row.width, row.height, row.n_boxes])
                n += 1
        if n == 0:
            raise UserError("no image had a usable box: nothing to caption, no file written")
    return n


def read_caption_csv(path: str | Path) -> list[CaptionRow]:
    """Rows of a caption CSV written by :func:`write_caption_csv` (B2C or M2B)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path} not found: give a caption CSV made by train.b2c or train.m2b")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if "image" not in (reader.fieldnames or []) or "caption_1" not in (reader.fieldnames or []):
                raise UserError(f"{path} is not a caption CSV: it needs the columns image, caption_1 ...")
            caption_columns = [c for c in reader.fieldnames or [] if c.startswith("caption_")]
            return [_caption_row(row, caption_columns) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc


def _caption_row(row: dict, caption_columns: list[str]) -> CaptionRow:
    captions = tuple(c for c in (row.get(col) or "" for col in caption_columns) if c.strip())
    return CaptionRow(
        row["image"], int(row.get("width") or 0), int(row.get("height") or 0), int(row.get("n_boxes") or 0), captions
    )


# --- CLI ---------------------------------------------------------------------------------------------


def parse_renames(items: Sequence[str]) -> dict[str, str]:
    """``["Truncated_airplane=airplane"]`` -> ``{"Truncated_airplane": "airplane"}``."""
    renames = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UserError(f"--rename takes OLD=NEW, got '{item}'")
        renames[old.strip()] = new.strip()
    return renames


def add_caption_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the B2C and M2B CLIs."""
    parser.add_argument("-o", "--output", required=True, help="caption CSV to write")
    parser.add_argument("--seed", type=int, default=0, help="seed for the template choice (default 0)")
    parser.add_argument("--many-above", type=int, default=10, help="counts above this are 'many' (default 10)")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="say class OLD as NEW, e.g. Truncated_airplane=airplane (repeatable)")


def config_from(args: argparse.Namespace) -> B2CConfig:
    return B2CConfig(many_above=args.many_above, seed=args.seed, rename=parse_renames(args.rename))


def build_parser() -> argparse.ArgumentParser:
    from ..data.readers import READERS

    parser = argparse.ArgumentParser(prog="python -m train.b2c", description="Box-to-Caption: captions from boxes.")
    parser.add_argument("--format", required=True, choices=sorted(READERS), help="annotation format")
    parser.add_argument("input", help="annotation file, folder, or (VOC) tar such as DIOR's .tar.xz")
    add_caption_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def action() -> int:
        from ..data.readers import read_annotations

        stats = ReadStats()
        annotations = read_annotations(args.format, args.input, stats)
        n = write_caption_csv(caption_rows(progress(annotations, "B2C"), config_from(args), stats), args.output)
        print(f"{stats.summary()}; wrote captions of {n} images to {args.output}")
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
