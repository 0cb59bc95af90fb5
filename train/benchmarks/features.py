"""Extracting benchmark features once, to a ``.npz`` that :mod:`train.evaluate` scores.

Images are read with PIL, converted to RGB and preprocessed as OpenAI CLIP does: centre-cropped to a
square (the shorter side), then resized bicubically to the model's size and normalised with
:func:`backend.embedding.preprocess.to_model_input`. Cropping before resizing equals CLIP's "resize the shorter
side, then centre crop" up to sub-pixel rounding, and keeps batches of mixed image sizes cheap.

Key conventions of the ``.npz`` (strings are stored as numpy unicode arrays, so files load with
``allow_pickle=False``):

=========================  =====================================================================
key                        meaning
=========================  =====================================================================
``kind``                   ``"scene"``, ``"captions"`` or ``"counting"`` (which tasks apply)
``dataset``, ``split``     names, for reports
``model``, ``arch``        registry name and open_clip architecture of the model used
``image_features``         ``N x D`` float32, L2-normalised
``image_paths``            ``N`` source files
``labels``                 ``N`` int (scene: class index; counting: the count 1..10)
``class_names``            ``C`` class identifiers (counting: ``"1"`` .. ``"10"``)
``prompts``                ``C`` words/sentences put into the templates (counting: full prompts)
``templates``              ``T`` prompt templates (``"{}"`` is replaced by the prompt)
``text_features``          scene: ``T x C x D`` (one set per template; metrics average them);
                           counting: ``10 x D``; captions: ``M x D`` (one row per caption)
``train_image_features``   scene only, optional: ``N_train x D`` for linear probe, k-NN, few-shot
``train_labels``           scene only, optional: ``N_train``
``captions``               captions only: ``M`` caption texts
``caption_image``          captions only: ``M`` int, the image row each caption describes
=========================  =====================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from backend.errors import UserError

from ..command_line import run_cli
from ..data.scene_sets import SceneImage, SceneSet

DEFAULT_BATCH = 32
DEFAULT_TEST_FRACTION = 0.2


# --------------------------------------------------------------------------- images


def load_square(path: str | Path):
    """An image file as a ``3 x S x S`` float tensor in [0, 1]: RGB, centre-cropped to its shorter side."""
    import torch
    from PIL import Image

    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read image {path}: {exc}") from None
    h, w = rgb.shape[:2]
    side = min(h, w)
    # torchvision's CenterCrop offsets: round((size - side) / 2).
    top, left = int(round((h - side) / 2.0)), int(round((w - side) / 2.0))
    square = np.array(rgb[top:top + side, left:left + side])  # a writable copy for torch
    return torch.from_numpy(square).permute(2, 0, 1).float().div_(255.0)


def preprocess_batch(paths: Sequence[str | Path], model, pool: ThreadPoolExecutor | None = None):
    """``N x 3 x S x S`` normalised model input for image files (CLIP preprocessing)."""
    import torch

    from backend.embedding.preprocess import to_model_input

    squares = list(pool.map(load_square, paths)) if pool else [load_square(p) for p in paths]
    # Images of different sizes cannot be stacked before resizing: resize each, then stack.
    return torch.cat([to_model_input(sq[None], model.image_size, model.mean, model.std) for sq in squares])


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


def encode_image_files(
    model, paths: Sequence[str | Path], batch_size: int = DEFAULT_BATCH, progress: bool = True, desc: str = "images",
) -> np.ndarray:
    """``N x D`` L2-normalised float32 image features for ``paths``, in order."""
    out = []
    # PIL decodes outside the GIL, so threads overlap file reading with the model.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool, _progress(len(paths), desc, progress) as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            out.append(model.encode_images(preprocess_batch(chunk, model, pool)).numpy())
            bar.update(len(chunk))
    if not out:
        return np.zeros((0, model.embed_dim), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)


# --------------------------------------------------------------------------- texts


def class_text_features(model, prompts: Sequence[str], templates: Sequence[str]) -> np.ndarray:
    """``T x C x D`` unit text features: each class prompt put in each template (not averaged)."""
    if not templates:
        raise UserError("no prompt templates given")
    texts = [t.format(p) for t in templates for p in prompts]
    feats = model.encode_texts(texts).numpy().astype(np.float32)
    return feats.reshape(len(templates), len(prompts), -1)


# --------------------------------------------------------------------------- scene sets


def limit_per_class(images: Sequence[SceneImage], limit: int | None) -> list[SceneImage]:
    """The first ``limit`` images of each class (in the given order); all when ``limit`` is None."""
    if limit is None:
        return list(images)
    seen: dict[int, int] = {}
    kept = []
    for im in images:
        if seen.get(im.label, 0) < limit:
            kept.append(im)
            seen[im.label] = seen.get(im.label, 0) + 1
    return kept


def split_scene_set(scene_set: SceneSet, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> SceneSet:
    """A copy whose "all" images are split into "train"/"test", stratified and seeded.

    For folder-per-class sets, which come without a split. Every class keeps at least one
    training image; about ``test_fraction`` of each class (at least one if it has two) is test.
    """
    rng = np.random.default_rng(seed)
    images: list[SceneImage] = [im for im in scene_set.images if im.split != "all"]
    for label in sorted({im.label for im in scene_set.images if im.split == "all"}):
        members = sorted((im for im in scene_set.images if im.split == "all" and im.label == label),
                         key=lambda im: str(im.path))
        order = rng.permutation(len(members))
        n_test = min(max(int(round(test_fraction * len(members))), 1), len(members) - 1) if len(members) > 1 else 0
        test = set(order[:n_test].tolist())
        images.extend(replace(im, split="test" if i in test else "train") for i, im in enumerate(members))
    images.sort(key=lambda im: (im.label, str(im.path)))
    return replace(scene_set, images=images)


def extract_scene_features(
    model, scene_set: SceneSet, split: str = "test", templates: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH, train_split: str | None = None, limit: int | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Features of one split of a scene set, for zero-shot (and probes with ``train_split``).

    ``templates`` default to the model's registry templates; ``limit`` keeps the first N images
    per class of each split (quick runs). See the module docstring for the keys.
    """
    templates = list(templates or model.spec.prompt_templates)
    images = limit_per_class(scene_set.split(split), limit)
    if not images:
        have = sorted({im.split for im in scene_set.images})
        raise UserError(f"{scene_set.name} has no '{split}' images (splits: {', '.join(have) or 'none'})")
    out: dict[str, np.ndarray] = {
        "kind": np.array("scene"),
        "dataset": np.array(scene_set.name),
        "split": np.array(split),
        "model": np.array(model.spec.name),
        "arch": np.array(model.spec.arch),
        "image_features": encode_image_files(model, [im.path for im in images], batch_size, progress,
                                             f"{scene_set.name} {split}"),
        "image_paths": np.array([str(im.path) for im in images]),
        "labels": np.array([im.label for im in images], dtype=np.int64),
        "class_names": np.array(scene_set.class_names),
        "prompts": np.array(scene_set.prompts),
        "templates": np.array(templates),
        "text_features": class_text_features(model, scene_set.prompts, templates),
    }
    if train_split:
        train = limit_per_class(scene_set.split(train_split), limit)
        if not train:
            raise UserError(f"{scene_set.name} has no '{train_split}' images for the probes")
        out["train_image_features"] = encode_image_files(
            model, [im.path for im in train], batch_size, progress, f"{scene_set.name} {train_split}")
        out["train_labels"] = np.array([im.label for im in train], dtype=np.int64)
    return out


# --------------------------------------------------------------------------- caption sets


@dataclass
class CaptionSet:
    """Images and their captions: caption ``j`` describes ``image_paths[caption_image[j]]``."""

    name: str
    image_paths: list[Path]
    captions: list[str]
    caption_image: list[int]


def extract_caption_features(
    model, caption_set: CaptionSet, batch_size: int = DEFAULT_BATCH, progress: bool = True,
) -> dict[str, np.ndarray]:
    """Image and caption features of a retrieval set (see the module docstring for the keys)."""
    if not caption_set.image_paths or not caption_set.captions:
        raise UserError(f"{caption_set.name} has no images or no captions")
    return {
        "kind": np.array("captions"),
        "dataset": np.array(caption_set.name),
        "split": np.array("test"),
        "model": np.array(model.spec.name),
        "arch": np.array(model.spec.arch),
        "image_features": encode_image_files(model, caption_set.image_paths, batch_size, progress, caption_set.name),
        "image_paths": np.array([str(p) for p in caption_set.image_paths]),
        "text_features": model.encode_texts(caption_set.captions).numpy().astype(np.float32),
        "captions": np.array(caption_set.captions),
        "caption_image": np.array(caption_set.caption_image, dtype=np.int64),
    }


# --------------------------------------------------------------------------- files


def save_features(path: str | Path, features: Mapping[str, np.ndarray]) -> Path:
    """Write ``features`` to ``path`` (``.npz``), atomically: a crash leaves no half file."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # np.savez would append it anyway
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in features.items()})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_features(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of a features ``.npz``; a one-line :class:`UserError` for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an archive of named arrays")
        with data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path} is not a features .npz file ({first})") from None


# --------------------------------------------------------------------------- CLI


def load_named_scene_set(dataset: str) -> SceneSet:
    """``rsscn7``/``ucm`` (the shared copies with their fixed split) or a folder-per-class path."""
    from ..data.scene_sets import load_folder_per_class, load_rsscn7, load_ucm

    loaders: dict[str, Callable[[], SceneSet]] = {"rsscn7": load_rsscn7, "ucm": load_ucm}
    if dataset.lower() in loaders:
        return loaders[dataset.lower()]()
    return load_folder_per_class(dataset)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.features", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="registry model name, e.g. remoteclip-vit-b-32")
    p.add_argument("--weights", help="checkpoint file instead of the registry's")
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps (default: best available)")
    p.add_argument("--dataset", required=True, help="rsscn7, ucm, or a folder ROOT/<class>/<image>")
    p.add_argument("--split", default="test", help="split to embed (default test)")
    p.add_argument("--train-split", help="also embed this split as train_* (for linear probe, k-NN, few-shot)")
    p.add_argument("--template", action="append", dest="templates",
                   help="prompt template with {} (repeatable; default: the model's)")
    p.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION,
                   help="for sets without a split: share of each class used as test (seeded)")
    p.add_argument("--limit", type=int, help="at most N images per class and split")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    p.add_argument("-o", "--output", required=True, help="output .npz")
    return p


def run(args: argparse.Namespace) -> int:
    from backend.models.factory import load_model

    scene_set = load_named_scene_set(args.dataset)
    splits = {im.split for im in scene_set.images}
    wanted = {args.split} | ({args.train_split} if args.train_split else set())
    if splits == {"all"} and wanted & {"train", "test"}:
        scene_set = split_scene_set(scene_set, args.test_fraction)
        print(f"note: {scene_set.name} has no split; using a stratified seed-0 split with "
              f"{args.test_fraction:.0%} test", file=sys.stderr)
    model = load_model(args.model, weights=args.weights, device=args.device)
    feats = extract_scene_features(model, scene_set, args.split, args.templates, args.batch_size,
                                   args.train_split, args.limit)
    path = save_features(args.output, feats)
    print(f"wrote {path} ({len(feats['labels'])} images, {len(scene_set.class_names)} classes)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
