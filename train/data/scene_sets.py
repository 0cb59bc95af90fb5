"""Scene classification sets: images with one class each, and a fixed train/test split.

Loaders for the shared copies of RSSCN7 and UC Merced (a tar plus ``labels.csv``, ``splits.csv`` and
``classes.csv``) and for any folder-per-class layout (``ROOT/<class>/<image>``, the usual layout of
the paper's zero-shot sets).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import NotFoundError, UserError

from .shared_data import data_root, extracted

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}


@dataclass(frozen=True)
class SceneImage:
    path: Path
    label: int
    split: str  # "train", "test" or "all"


@dataclass
class SceneSet:
    """A labelled image set. ``class_names`` are identifiers; ``prompts`` are the words used in text."""

    name: str
    class_names: list[str]
    prompts: list[str]
    images: list[SceneImage] = field(default_factory=list)

    def split(self, which: str) -> list[SceneImage]:
        return [im for im in self.images if im.split == which]


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_shared_scene_set(name: str, tar_name: str) -> SceneSet:
    """RSSCN7 or UCM from ``../shared/data/<name>``: tar unpacked once, labels and split from the CSVs."""
    folder = data_root() / name
    classes = sorted(_read_csv(folder / "classes.csv"), key=lambda r: int(r["class_index"]))
    by_folder = {row["class_folder"]: int(row["class_index"]) for row in classes}
    splits = {row["path_in_tar"]: row["split"] for row in _read_csv(folder / "splits.csv")}
    root = extracted(folder / tar_name, name)
    images = []
    for row in _read_csv(folder / "labels.csv"):
        rel = row["path_in_tar"]
        images.append(SceneImage(root / rel, by_folder[row["class_folder"]], splits.get(rel, "train")))
    return SceneSet(name, [r["class_name"] for r in classes], [r["prompt_text"] for r in classes], images)


def load_rsscn7() -> SceneSet:
    return load_shared_scene_set("rsscn7", "rsscn7_256.tar")


def load_ucm() -> SceneSet:
    return load_shared_scene_set("ucm", "ucm.tar")


def class_words(folder_name: str) -> str:
    """A folder name as words for a prompt: "denseresidential" stays, "storage_tanks" -> "storage tanks"."""
    from .class_names import normalise_class_name

    return normalise_class_name(folder_name)


def load_folder_per_class(root: str | Path, name: str | None = None) -> SceneSet:
    """A set laid out as ``ROOT/<class>/<image>`` (all images in split "all")."""
    root = Path(root)
    if not root.is_dir():
        raise NotFoundError(f"data set folder {root} not found")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(folders) < 2:
        raise UserError(f"{root} should hold one folder per class (found {len(folders)})")
    images = []
    for label, folder in enumerate(folders):
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(SceneImage(path, label, "all"))
    if not images:
        raise UserError(f"no images under {root}")
    names = [f.name for f in folders]
    return SceneSet(name or root.name, names, [class_words(n) for n in names], images)
