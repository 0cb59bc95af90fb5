"""``python -m train.make_dataset {b2c,captions,scenes} ... -o OUT``: training sets for open_clip.

    b2c CAPTIONS.csv --images DIR_OR_TAR     captions from train.b2c / train.m2b
    captions SOURCE --images DIR [--split S]  RSICD/RSITMD precomp folder, or Karpathy-style JSON
    scenes SET [--split S] [--template T]     rsscn7, ucm, or a folder with one folder per class

``--format csv`` (default) writes open_clip's tab-separated ``filepath``/``title`` CSV to OUT;
``--format wds`` writes webdataset shards ``shard-%06d.tar`` into the new folder OUT.
A bad input prints ``error: ...`` on one line, exits 2 and leaves no output behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backend.errors import UserError

from ..command_line import progress, run_cli
from ..data.scene_sets import SceneSet, load_folder_per_class, load_rsscn7, load_ucm
from .dataset_writers import (
    SCENE_TEMPLATES,
    Sample,
    ShardOptions,
    caption_csv_samples,
    caption_set_samples,
    image_source,
    scene_samples,
    write_csv,
    write_shards,
)

SHARED_SCENE_SETS = {"rsscn7": load_rsscn7, "ucm": load_ucm}


def load_scenes(name: str) -> SceneSet:
    """A shared scene set by name (``rsscn7``, ``ucm``) or a folder laid out ``ROOT/<class>/<image>``."""
    loader = SHARED_SCENE_SETS.get(name.lower())
    return loader() if loader else load_folder_per_class(name)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", required=True, help="CSV file (csv) or new folder of shards (wds)")
    common.add_argument("--format", choices=("csv", "wds"), default="csv", help="output format (default csv)")
    common.add_argument("--shard-size", type=int, default=1000, help="samples per shard (wds; default 1000)")
    common.add_argument("--per-caption", action="store_true",
                        help="wds: one sample per caption (image repeated) instead of one per image")
    common.add_argument("--seed", type=int, default=0, help="seed picking each image's .txt caption (wds)")

    parser = argparse.ArgumentParser(prog="python -m train.make_dataset", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="source", required=True)
    b2c = sub.add_parser("b2c", parents=[common], help="a caption CSV from train.b2c or train.m2b")
    b2c.add_argument("captions", help="caption CSV")
    b2c.add_argument("--images", required=True, help="folder or tar holding the images the CSV names")
    caps = sub.add_parser("captions", parents=[common], help="RSICD/RSITMD precomp folder or Karpathy JSON")
    caps.add_argument("captions", help="precomp folder (train_caps.txt ...) or caption JSON")
    caps.add_argument("--images", required=True, help="folder holding the images (not in shared data)")
    caps.add_argument("--split", default="train", help="train, test, val (JSON) or all (default train)")
    scenes = sub.add_parser("scenes", parents=[common], help="a scene set: class words in caption templates")
    scenes.add_argument("scenes", help="rsscn7, ucm, or a folder with one folder per class")
    scenes.add_argument("--split", default="all", help="train, test or all (default all)")
    scenes.add_argument("--template", action="append", default=None, metavar="T",
                        help="caption template with {} for the class words (repeatable; default: five templates)")
    return parser


def samples_and_images(args: argparse.Namespace) -> tuple[list[Sample], str | None]:
    """The samples the sub-command names, and where their images are (None: absolute paths)."""
    if args.source == "b2c":
        return caption_csv_samples(args.captions), args.images
    if args.source == "captions":
        return caption_set_samples(args.captions, args.split), args.images
    templates = args.template or list(SCENE_TEMPLATES)
    if any("{}" not in t for t in templates):
        raise UserError("each --template needs {} where the class words go, e.g. 'a satellite photo of {}.'")
    return scene_samples(load_scenes(args.scenes), templates, args.split), None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def action() -> int:
        samples, images_at = samples_and_images(args)
        if not samples:
            split = f" for split '{args.split}'" if hasattr(args, "split") else ""
            raise UserError(f"the input has no images with captions{split}")
        images = image_source(images_at)
        samples = progress(samples, "images")
        if args.format == "csv":
            stats = write_csv(samples, images, args.output)
        else:
            options = ShardOptions(args.shard_size, args.per_caption, args.seed)
            stats = write_shards(samples, images, args.output, options)
        print(f"{stats.summary()} to {args.output}")
        return 0

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
