"""Image-caption training sets for open_clip: a tab-separated CSV or webdataset shards.

Sources, each a list of :class:`Sample` (an image name and its captions):

- a B2C / M2B caption CSV (``train.b2c``, ``train.m2b``) with the folder or tar its images live in;
- caption sets: RSICD / RSITMD ``*_caps.txt`` + ``*_filename.txt`` splits, or Karpathy-style JSON
  (``{"images": [{"filename", "split", "sentences": [{"raw"}]}]}``), with the images in a folder;
- scene classification sets (RSSCN7, UCM, a folder per class): class words put into templates.

Outputs:

- CSV for open_clip's ``CsvDataset``: columns ``filepath`` (absolute path) and ``title``, tab-separated,
  one row per (image, caption);
- webdataset shards ``shard-000000.tar`` ...: per sample ``KEY.jpg`` (JPEG bytes, re-encoded only when
  the source is not a JPEG), ``KEY.txt`` (one caption) and ``KEY.json`` (all captions, source image).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from PIL import Image, UnidentifiedImageError

from backend.errors import NotFoundError, UserError

from ..command_line import atomic_output, permissions
from ..data.scene_sets import IMAGE_SUFFIXES, SceneSet
from .b2c import read_caption_csv

SCENE_TEMPLATES = (
    "a satellite photo of {}.",
    "an aerial image of {}.",
    "a remote sensing image of {}.",
    "a satellite image showing {}.",
    "an aerial photograph of {}.",
)
SHARD_PATTERN = "shard-%06d.tar"
JPEG_QUALITY = 95  # only for sources that are not JPEG already (PNG, TIFF)
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class Sample:
    """One image and its captions. ``image`` is a path relative to the image source (or absolute)."""

    image: str
    captions: tuple[str, ...]


@dataclass
class WriteStats:
    """What a writer wrote: ``images`` and ``rows`` (image-caption pairs, or samples for shards), the
    ``shards`` files, ``seen`` samples offered, and ``skipped`` reasons (missing or unreadable images,
    no caption)."""

    seen: int = 0
    images: int = 0
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    missing_examples: list[str] = field(default_factory=list)

    def missing(self, image: str) -> None:
        self.skipped["image not found"] += 1
        if len(self.missing_examples) < 3:
            self.missing_examples.append(image)

    def summary(self) -> str:
        text = f"wrote {self.images} images, {self.rows} rows"
        if self.shards:
            text += f" in {len(self.shards)} shards"
        if self.skipped:
            text += " (skipped: " + ", ".join(f"{k}: {n}" for k, n in sorted(self.skipped.items())) + ")"
        return text


# --- captions ----------------------------------------------------------------------------------------


def clean_caption(text: str) -> str:
    """One line of text: tabs and newlines would break the CSV and the shard's ``.txt``."""
    return " ".join(str(text).split())


def clean_captions(captions: Iterable[str]) -> tuple[str, ...]:
    """Non-empty cleaned captions, in order (RSITMD train has 20 empty caption lines)."""
    return tuple(c for c in (clean_caption(t) for t in captions) if c)


# --- image sources -----------------------------------------------------------------------------------


class ImageSource(Protocol):
    """Where a sample's image lives: ``find`` resolves a name, ``read`` gives bytes, ``local_path`` a file."""

    def find(self, name: str) -> str | None: ...

    def read(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path: ...


class NameIndex:
    """Finds an image by name among known paths: exact, then the same path with another image suffix
    (a mask ``x.png`` for an image ``x.jpg``), then a unique file name, then a unique stem."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self.by_name: dict[str, list[str]] = {}
        self.by_stem: dict[str, list[str]] = {}
        for p in sorted(self.paths):
            pure = PurePosixPath(p)
            self.by_name.setdefault(pure.name, []).append(p)
            self.by_stem.setdefault(pure.stem, []).append(p)

    def find(self, name: str) -> str | None:
        if name in self.paths:
            return name
        pure = PurePosixPath(name)
        for suffix in sorted(IMAGE_SUFFIXES):
            if str(pure.with_suffix(suffix)) in self.paths:
                return str(pure.with_suffix(suffix))
        for candidates in (self.by_name.get(pure.name, []), self.by_stem.get(pure.stem, [])):
            if len(candidates) == 1:
                return candidates[0]
        return None  # missing, or ambiguous: a guess would pair a caption with the wrong image


class FolderImages:
    """Images under a folder; absolute sample paths are taken as they are."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root).resolve() if root is not None else None
        if self.root is not None and not self.root.is_dir():
            raise NotFoundError(f"image folder {self.root} not found")
        self._index: NameIndex | None = None

    def find(self, name: str) -> str | None:
        direct = Path(name) if self.root is None else self.root / name
        if direct.is_file():
            return str(direct)
        if self.root is None:
            return None
        if self._index is None:  # built once, only when some name is not where it says
            files = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
            self._index = NameIndex(f for f in files if PurePosixPath(f).suffix.lower() in IMAGE_SUFFIXES)
        found = self._index.find(PurePosixPath(name).as_posix())
        return str(self.root / found) if found else None

    def read(self, key: str) -> bytes:
        return Path(key).read_bytes()

    def local_path(self, key: str) -> Path:
        return Path(key)


class TarImages:
    """Images inside an uncompressed tar (the shared sets' layout); read member by member. For a CSV,
    which needs files, the tar is unpacked once into the cache (``train.data.shared_data.extracted``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        try:
            self.tar = tarfile.open(self.path)
            self.members = {m.name: m for m in self.tar.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError) as exc:
            raise UserError(f"cannot read the image tar {self.path}: {exc}") from exc
        self.index = NameIndex(self.members)

    def find(self, name: str) -> str | None:
        return self.index.find(PurePosixPath(name).as_posix())

    def read(self, key: str) -> bytes:
        handle = self.tar.extractfile(self.members[key])
        if handle is None:
            raise OSError(f"{key} is not a file in {self.path}")
        return handle.read()

    def local_path(self, key: str) -> Path:
        from ..data.shared_data import extracted

        digest = hashlib.sha1(str(self.path).encode()).hexdigest()[:8]
        return extracted(self.path, f"images-{self.path.stem}-{digest}") / key

    def close(self) -> None:
        self.tar.close()


def image_source(path: str | Path | None) -> FolderImages | TarImages:
    """A folder or a tar of images; None when the samples carry absolute paths (scene sets)."""
    if path is None:
        return FolderImages(None)
    path = Path(path)
    if path.is_file():
        return TarImages(path)
    return FolderImages(path)


# --- sources of samples ------------------------------------------------------------------------------


def caption_csv_samples(path: str | Path) -> list[Sample]:
    """Samples from a B2C / M2B caption CSV."""
    return [Sample(row.image, clean_captions(row.captions)) for row in read_caption_csv(path)]


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise NotFoundError(f"{path} not found")
    # One item per line with a trailing newline; rstrip keeps empty captions as empty items.
    return [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n")[:-1]]


def precomp_samples(folder: str | Path, split: str) -> list[Sample]:
    """RSICD / RSITMD ``{split}_caps.txt`` + ``{split}_filename.txt`` (AMFMN's rule: one filename per
    caption, or one per five captions). ``split`` is ``train``, ``test`` or ``all``."""
    folder = Path(folder)
    if split == "all":
        return precomp_samples(folder, "train") + precomp_samples(folder, "test")
    caps, names = _lines(folder / f"{split}_caps.txt"), _lines(folder / f"{split}_filename.txt")
    if not names or len(caps) not in (len(names), 5 * len(names)):
        raise UserError(f"{folder}: {len(caps)} captions do not match {len(names)} file names (1 or 5 per image)")
    per = 1 if len(caps) == len(names) else 5
    grouped: dict[str, list[str]] = {}
    for i, caption in enumerate(caps):
        grouped.setdefault(names[i // per].strip(), []).append(caption)
    return [Sample(name, clean_captions(captions)) for name, captions in grouped.items()]


def karpathy_samples(path: str | Path, split: str = "all") -> list[Sample]:
    """Samples from a Karpathy-style caption JSON (RSICD, UCM-captions, Sydney-captions):
    ``{"images": [{"filename", "split", "sentences": [{"raw"}]}]}``; ``split`` filters (``all``: every image)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise UserError(f"{path} is not a caption JSON: it has no 'images' list")
    samples = []
    for entry in data["images"]:
        if not isinstance(entry, dict) or not entry.get("filename"):
            continue
        if split != "all" and entry.get("split") != split:
            continue
        name = str(PurePosixPath(str(entry.get("filepath") or "")) / str(entry["filename"]))
        sentences = [s.get("raw", "") if isinstance(s, dict) else str(s) for s in entry.get("sentences") or []]
        samples.append(Sample(name, clean_captions(sentences)))
    return samples


def caption_set_samples(source: str | Path, split: str) -> list[Sample]:
    """A precomp folder (``train_caps.txt`` ...) or a Karpathy-style JSON file."""
    source = Path(source)
    if source.is_dir():
        return precomp_samples(source, split)
    return karpathy_samples(source, split)


def scene_samples(scenes: SceneSet, templates: Sequence[str] = SCENE_TEMPLATES, split: str = "all") -> list[Sample]:
    """One sample per scene image, its captions the class words (``SceneSet.prompts``) in each template."""
    chosen = scenes.images if split == "all" else scenes.split(split)
    return [
        Sample(str(im.path), clean_captions(t.format(scenes.prompts[im.label]) for t in templates)) for im in chosen
    ]


# --- writers -----------------------------------------------------------------------------------------


def resolved(samples: Iterable[Sample], images: ImageSource, stats: WriteStats) -> Iterator[tuple[Sample, str]]:
    """Samples with captions (cleaned to one line each) whose image was found, with the source's key; the
    rest counted in ``stats``."""
    for sample in samples:
        stats.seen += 1
        sample = Sample(sample.image, clean_captions(sample.captions))
        if not sample.captions:
            stats.skipped["no caption"] += 1
            continue
        key = images.find(sample.image)
        if key is None:
            stats.missing(sample.image)
            continue
        yield sample, key


def _nothing_written(stats: WriteStats) -> UserError:
    examples = ", ".join(repr(m) for m in stats.missing_examples)
    hint = f"; e.g. {examples} not found: check --images" if examples else ""
    return UserError(f"none of the {stats.seen} images could be written{hint}")


def write_csv(samples: Iterable[Sample], images: ImageSource, out: str | Path) -> WriteStats:
    """open_clip's CSV: ``filepath<TAB>title`` with absolute paths, one row per (image, caption), written
    atomically. Raises a UserError, writing nothing, when no image was found."""
    stats = WriteStats()
    with atomic_output(out) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(["filepath", "title"])
            for sample, key in resolved(samples, images, stats):
                path = str(images.local_path(key).resolve())
                writer.writerows([path, caption] for caption in sample.captions)
                stats.images += 1
                stats.rows += len(sample.captions)
        if stats.images == 0:
            raise _nothing_written(stats)
    return stats


def jpeg_bytes(data: bytes) -> bytes:
    """The image as JPEG bytes: a JPEG is kept byte for byte, anything else decoded and re-encoded (RGB)."""
    if data.startswith(JPEG_MAGIC):
        return data
    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def sample_key(index: int, image: str) -> str:
    """A webdataset key: no dots (the first dot starts the extension), unique by its running number."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", PurePosixPath(image).stem)[:64]
    return f"{index:07d}_{stem}"


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # mtime 0: the same input gives the same shards
    tar.addfile(info, io.BytesIO(data))


@dataclass(frozen=True)
class ShardOptions:
    """``shard_size``: samples (images) per shard. ``per_caption``: one sample per caption (the image
    repeated) instead of one per image whose ``.txt`` is one caption picked with ``seed``."""

    shard_size: int = 1000
    per_caption: bool = False
    seed: int = 0


def shard_entries(sample: Sample, seed: int, per_caption: bool) -> list[tuple[str, str]]:
    """``[(key suffix, caption for .txt)]``: every caption, or one picked per image with ``seed``."""
    if per_caption:
        return [(f"_c{i}", c) for i, c in enumerate(sample.captions)]
    # Seeded by the image, so which caption lands in .txt does not depend on the order of the images.
    return [("", random.Random(f"{seed}:{sample.image}").choice(sample.captions))]


def write_shards(samples: Iterable[Sample], images: ImageSource, out_dir: str | Path,
                 options: ShardOptions = ShardOptions()) -> WriteStats:
    """Webdataset shards ``shard-%06d.tar`` in ``out_dir`` (made; it must not hold files yet), written in
    a temporary folder first so a failure leaves nothing behind."""
    if options.shard_size < 1:
        raise UserError(f"--shard-size is samples per shard, at least 1, got {options.shard_size}")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"{out_dir} already exists and is not an empty folder: choose a new output folder")
    if not out_dir.parent.is_dir():
        raise NotFoundError(f"folder {out_dir.parent} does not exist: create it or write elsewhere")
    stats = WriteStats()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _fill_shards(samples, images, tmp, options, stats)
        if stats.images == 0:
            raise _nothing_written(stats)
        os.chmod(tmp, permissions(0o777))  # mkdtemp makes it private
        for shard in tmp.iterdir():
            os.chmod(shard, permissions(0o666))
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats.shards = [str(out_dir / name) for name in stats.shards]
    return stats


def _fill_shards(samples: Iterable[Sample], images: ImageSource, folder: Path, options: ShardOptions,
                 stats: WriteStats) -> None:
    tar: tarfile.TarFile | None = None
    in_shard = 0
    try:
        for sample, key in resolved(samples, images, stats):
            try:
                jpeg = jpeg_bytes(images.read(key))
            except (OSError, UnidentifiedImageError, ValueError):
                stats.skipped["unreadable image"] += 1
                continue
            meta = json.dumps({"image": sample.image, "captions": list(sample.captions)}).encode()
            for suffix, caption in shard_entries(sample, options.seed, options.per_caption):
                if tar is None or in_shard == options.shard_size:
                    if tar is not None:
                        tar.close()
                    name = SHARD_PATTERN % len(stats.shards)
                    tar, in_shard = tarfile.open(folder / name, "w", format=tarfile.USTAR_FORMAT), 0
                    stats.shards.append(name)
                base = sample_key(stats.images, sample.image) + suffix
                _add_member(tar, f"{base}.jpg", jpeg)
                _add_member(tar, f"{base}.json", meta)
                _add_member(tar, f"{base}.txt", caption.encode())
                in_shard += 1
                stats.rows += 1
            stats.images += 1
    finally:
        if tar is not None:
            tar.close()
