"""The RemoteCLIP benchmark suite: every task of the paper on the data sets found, in one run.

``python -m train.benchmark --model M [--weights W] --root DATASETS_ROOT [--datasets ...] -o results/``

- Scene sets: zero-shot, linear probe, k-NN and few-shot. The paper's twelve zero-shot sets are read
  from ``ROOT/<name>/<class>/<image>`` (a set whose class folders hold sub-folders, like RSI-CB's
  category/class tree, uses the leaf folders as classes); they come without a split, so each is
  split 80/20 per class with seed 0 (``--test-fraction``); zero-shot is scored on the same test
  part as the probes. ``RSSCN7-shared`` and ``UCM-shared`` are the shared copies of RSSCN7 and UC
  Merced (``../shared/data``) with their fixed splits.
- Caption sets (RSITMD, RSICD, UCM-captions): retrieval on the test split, from
  ``ROOT/<name>/`` holding the images (in ``images/`` or the folder itself, searched recursively)
  and either a Karpathy-style JSON (``dataset_*.json``: ``images[].filename/split/sentences[].raw``)
  or AMFMN's ``test_caps.txt`` + ``test_filename.txt``; for RSITMD and RSICD the caption files of the
  shared data folder are used when the folder has none.
- ``counting``: the Airbus aircraft counting set (:mod:`train.counting_set`, valid split), built
  into ``OUT/counting_set`` unless ``--counting-dir`` names one.

A set that is not there is reported as "not found" and skipped. Writes ``OUT/results.json``,
``OUT/results.md`` (tables laid out like the paper's, with RemoteCLIP's published numbers for the
same backbone from ``train/benchmarks/paper_numbers.json`` where known), ``OUT/few_shot.png`` and the
features of every set under ``OUT/features/`` (score them again with :mod:`train.evaluate`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.errors import NotFoundError, UserError

from ..command_line import run_cli
from ..data.scene_sets import IMAGE_SUFFIXES, SceneImage, SceneSet, class_words, load_folder_per_class
from .evaluate import evaluate_features
from .features import (
    DEFAULT_BATCH,
    DEFAULT_TEST_FRACTION,
    CaptionSet,
    extract_caption_features,
    extract_scene_features,
    save_features,
    split_scene_set,
)
from .metrics.few_shot import DEFAULT_SEEDS, DEFAULT_SHOTS
from .metrics.knn import DEFAULT_K

PAPER_NUMBERS = Path(__file__).resolve().parent / "paper_numbers.json"

# The zero-shot sets of RemoteCLIP's zero-shot table, in its order, with folder names people use.
PAPER_SCENE_SETS: dict[str, tuple[str, ...]] = {
    "RSI-CB128": ("RSI-CB128", "RSI_CB128"),
    "RSI-CB256": ("RSI-CB256", "RSI_CB256"),
    "WHU-earth": ("WHU-earth", "WHU_earth", "WHU-RS-earth"),
    "EuroSAT": ("EuroSAT", "EuroSAT_RGB", "2750"),
    "MLRSNet": ("MLRSNet",),
    "PatternNet": ("PatternNet",),
    "RESISC45": ("RESISC45", "NWPU-RESISC45", "NWPU_RESISC45"),
    "AID": ("AID",),
    "RSSCN7": ("RSSCN7",),
    "OPTIMAL-31": ("OPTIMAL-31", "OPTIMAL31", "Optimal-31"),
    "RSC11": ("RSC11", "RS_C11"),
    "WHU-RS19": ("WHU-RS19", "WHU_RS19", "RSDataset"),
}
# The shared copies (fixed splits), named apart from the paper's RSSCN7 folder read from --root.
SHARED_SCENE_SETS = ("RSSCN7-shared", "UCM-shared")
CAPTION_SETS: dict[str, tuple[str, ...]] = {
    "RSITMD": ("RSITMD",),
    "RSICD": ("RSICD",),
    "UCM-captions": ("UCM-captions", "UCM_captions", "UCM-Captions", "UCM"),
}
# Shared caption text (../shared/data/captions/<x>_precomp) for sets whose folder has only images.
SHARED_CAPTIONS = {"RSITMD": "rsitmd_precomp", "RSICD": "rsicd_precomp"}
COUNTING = "counting"
ALL_DATASETS = (*PAPER_SCENE_SETS, *SHARED_SCENE_SETS, *CAPTION_SETS, COUNTING)
# Paper-table rows for the shared copies, whose split is ours but whose images are the same.
PAPER_ROW = {"RSSCN7-shared": "RSSCN7", "UCM-shared": "UCM"}


@dataclass
class Settings:
    """What a run does besides which sets: limits and the metric options."""

    batch_size: int = DEFAULT_BATCH
    limit: int | None = None
    test_fraction: float = DEFAULT_TEST_FRACTION
    k: int = DEFAULT_K
    vote: str = "majority"
    shots: tuple[int, ...] = DEFAULT_SHOTS
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    counting_dir: Path | None = None
    counting_object: str = "airplane"
    progress: bool = True


# --------------------------------------------------------------------------- finding data sets


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_folder(root: Path | None, aliases: Sequence[str]) -> Path | None:
    """The folder under ``root`` whose name matches one of ``aliases`` (case and punctuation ignored)."""
    if root is None or not root.is_dir():
        return None
    wanted = [_norm(a) for a in aliases]
    children = {_norm(p.name): p for p in sorted(root.iterdir()) if p.is_dir()}
    for w in wanted:
        if w in children:
            return children[w]
    return None


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file())


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_root(folder: Path) -> Path:
    """Step into single wrapper folders (``AID/AID/<class>``) until the class folders appear."""
    while not _has_images(folder) and len(_subdirs(folder)) == 1:
        folder = _subdirs(folder)[0]
    return folder


def load_scene_folder(folder: Path, name: str) -> SceneSet:
    """A folder-per-class set; with a category/class tree the leaf folders are the classes."""
    root = class_root(folder)
    tops = _subdirs(root)
    leaves = [leaf for top in tops for leaf in _subdirs(top)]
    if not (leaves and all(not _has_images(top) for top in tops)):
        return load_folder_per_class(root, name)
    images, names = [], []
    for leaf in leaves:
        files = sorted(p for p in leaf.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            images.extend(SceneImage(p, len(names), "all") for p in files)
            names.append(leaf.name)
    if len(names) < 2:
        raise UserError(f"{folder} should hold one folder per class")
    return SceneSet(name, names, [class_words(n) for n in names], images)


def _read_lines(path: Path) -> list[str]:
    """Lines of a text file with one item per line and a trailing newline (AMFMN's files)."""
    return path.read_text(encoding="utf-8").splitlines()


def _captions_from_json(path: Path) -> list[tuple[str, str]] | None:
    """(file name, caption) pairs of the test split of a Karpathy-style JSON, or None if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        return None
    pairs = []
    for image in data["images"]:
        if image.get("split") == "test":
            for sentence in image.get("sentences", []):
                pairs.append((image["filename"], str(sentence.get("raw", ""))))
    return pairs


def _captions_from_precomp(folder: Path) -> list[tuple[str, str]] | None:
    """(file name, caption) pairs from AMFMN's ``test_caps.txt``/``test_filename.txt``, or None."""
    caps, names = folder / "test_caps.txt", folder / "test_filename.txt"
    if not (caps.is_file() and names.is_file()):
        return None
    captions, files = _read_lines(caps), _read_lines(names)
    # AMFMN's rule: one file name per caption, or one per image of five captions.
    div = 1 if len(files) == len(captions) else 5
    return [(files[i // div], c) for i, c in enumerate(captions)]


def caption_pairs(folder: Path, name: str) -> list[tuple[str, str]]:
    """The test (file name, caption) pairs of a caption set folder (see the module docstring)."""
    for path in sorted(folder.glob("*.json")):
        pairs = _captions_from_json(path)
        if pairs:
            return pairs
    for candidate in (folder, folder / "precomp", folder / f"{name.lower()}_precomp"):
        pairs = _captions_from_precomp(candidate)
        if pairs:
            return pairs
    if name in SHARED_CAPTIONS:
        from ..data.shared_data import data_root

        try:
            pairs = _captions_from_precomp(data_root() / "captions" / SHARED_CAPTIONS[name])
        except NotFoundError:
            pairs = None
        if pairs:
            return pairs
    raise NotFoundError(f"no captions for {name} in {folder} (a dataset_*.json or test_caps.txt + test_filename.txt)")


def load_caption_set(folder: Path, name: str, limit: int | None = None) -> CaptionSet:
    """A retrieval set: test images with their captions grouped per image (empty captions skipped)."""
    pairs = [(f.strip(), c.strip()) for f, c in caption_pairs(folder, name) if c.strip()]
    index = {p.name: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES}
    order: dict[str, int] = {}
    captions, owner = [], []
    for file, caption in pairs:
        if file not in order:
            if limit is not None and len(order) >= limit:
                continue
            order[file] = len(order)
        captions.append(caption)
        owner.append(order[file])
    missing = [f for f in order if f not in index]
    if missing:
        raise NotFoundError(f"{len(missing)} of {len(order)} {name} test images are missing under {folder}, "
                            f"e.g. {missing[0]}")
    return CaptionSet(name, [index[f] for f in order], captions, owner)


# --------------------------------------------------------------------------- running


def _scene_loader(name: str, root: Path | None) -> Callable[[], SceneSet] | None:
    if name in SHARED_SCENE_SETS:
        from ..data.scene_sets import load_rsscn7, load_ucm

        return {"RSSCN7-shared": load_rsscn7, "UCM-shared": load_ucm}[name]
    folder = find_folder(root, PAPER_SCENE_SETS[name])
    return None if folder is None else (lambda: load_scene_folder(folder, name))


def run_scene(model, name: str, root: Path | None, settings: Settings, out: Path) -> dict:
    """Extract and score one scene set; ``{"status": "not found"}`` when it is missing."""
    loader = _scene_loader(name, root)
    if loader is None:
        return {"kind": "scene", "status": "not found"}
    try:
        scene_set = loader()
    except (NotFoundError, FileNotFoundError) as exc:  # no data folder, or no CSVs in it
        return {"kind": "scene", "status": "not found", "reason": str(exc)}
    split_note = "shared fixed split"
    if {im.split for im in scene_set.images} == {"all"}:
        scene_set = split_scene_set(scene_set, settings.test_fraction, seed=0)
        split_note = f"stratified seed-0 split, {settings.test_fraction:.0%} test"
    feats = extract_scene_features(model, scene_set, "test", None, settings.batch_size, "train",
                                   settings.limit, settings.progress)
    save_features(out / "features" / f"{name}.npz", feats)
    metrics = evaluate_features(feats, None, name, settings.k, settings.vote, settings.shots, settings.seeds)
    return {"kind": "scene", "status": "ok", "split": split_note, "classes": len(scene_set.class_names),
            "test_images": int(len(feats["labels"])), "train_images": int(len(feats["train_labels"])),
            "metrics": metrics}


def run_captions(model, name: str, root: Path | None, settings: Settings, out: Path) -> dict:
    folder = find_folder(root, CAPTION_SETS[name])
    if folder is None:
        return {"kind": "captions", "status": "not found"}
    try:
        caption_set = load_caption_set(folder, name, settings.limit)
    except NotFoundError as exc:
        return {"kind": "captions", "status": "not found", "reason": str(exc)}
    feats = extract_caption_features(model, caption_set, settings.batch_size, settings.progress)
    save_features(out / "features" / f"{name}.npz", feats)
    metrics = evaluate_features(feats, None, name)
    return {"kind": "captions", "status": "ok", "test_images": len(caption_set.image_paths),
            "captions": len(caption_set.captions), "metrics": metrics}


def run_counting(model, settings: Settings, out: Path) -> dict:
    from .counting_set import build_counting_set, extract_counting_features

    crops_dir = settings.counting_dir
    if crops_dir is None:
        crops_dir = out / "counting_set"
        try:
            build_counting_set(crops_dir, "valid")
        except NotFoundError as exc:
            return {"kind": "counting", "status": "not found", "reason": str(exc)}
    try:
        feats = extract_counting_features(model, crops_dir, settings.counting_object, settings.batch_size,
                                          settings.progress)
    except NotFoundError as exc:
        return {"kind": "counting", "status": "not found", "reason": str(exc)}
    save_features(out / "features" / f"{COUNTING}.npz", feats)
    return {"kind": "counting", "status": "ok", "crops_dir": str(crops_dir), "test_images": int(len(feats["labels"])),
            "object": settings.counting_object, "metrics": evaluate_features(feats, None, COUNTING)}


def resolve_datasets(names: Sequence[str] | None) -> list[str]:
    """Canonical names for ``--datasets`` (case and punctuation ignored); all when None."""
    if not names:
        return list(ALL_DATASETS)
    lookup = {_norm(n): n for n in ALL_DATASETS}
    out = []
    for name in names:
        if _norm(name) not in lookup:
            raise UserError(f"unknown data set '{name}' (known: {', '.join(ALL_DATASETS)})")
        out.append(lookup[_norm(name)])
    return list(dict.fromkeys(out))


def run_benchmark(
    model, root: Path | None, datasets: Sequence[str], out: Path, settings: Settings,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> dict:
    """Every requested set, in order; returns the ``results.json`` content (also written)."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "model": model.spec.name, "arch": model.spec.arch, "weights": str(model.weights_path),
        "root": str(root) if root else None,
        "settings": {"limit_per_class": settings.limit, "test_fraction": settings.test_fraction, "k": settings.k,
                     "vote": settings.vote, "shots": list(settings.shots), "seeds": list(settings.seeds),
                     "templates": list(model.spec.prompt_templates)},
        "datasets": {},
    }
    for name in datasets:
        start = time.monotonic()
        try:
            if name == COUNTING:
                entry = run_counting(model, settings, out)
            elif name in CAPTION_SETS:
                entry = run_captions(model, name, root, settings, out)
            else:
                entry = run_scene(model, name, root, settings, out)
        except UserError as exc:  # one broken set (unreadable image, odd layout) must not stop the rest
            entry = {"status": "error", "reason": str(exc)}
        entry["seconds"] = round(time.monotonic() - start, 1)
        results["datasets"][name] = entry
        log(f"{name}: {entry['status']}" + (f" ({entry['reason']})" if entry.get("reason") else ""))
    paper = paper_numbers(model.spec.arch)
    (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown_report(results, paper), encoding="utf-8")
    plot = plot_few_shot(results, out / "few_shot.png")
    if plot:
        log(f"wrote {plot}")
    log(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    return results


# --------------------------------------------------------------------------- reporting


def paper_numbers(arch: str, path: Path = PAPER_NUMBERS) -> dict:
    """RemoteCLIP's published numbers for backbone ``arch`` (empty when unknown)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("backbones", {}).get(arch, {})


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _paper_cell(paper: dict, table: str, name: str, metric: str | None = None) -> str:
    value = paper.get(table, {}).get(PAPER_ROW.get(name, name))
    if metric is not None:
        value = value.get(metric) if isinstance(value, dict) else None
    return _fmt(value) if isinstance(value, (int, float)) else ""


def markdown_report(results: dict, paper: dict) -> str:
    """Tables like the paper's: rows are data sets, columns are tasks and metrics."""
    sets = results["datasets"]
    ok = {n: e for n, e in sets.items() if e["status"] == "ok"}
    lines = [f"# RemoteCLIP benchmark: {results['model']} ({results['arch']})", "",
             "Percentages. \"paper\" columns: RemoteCLIP's published numbers for the same backbone "
             "(train/benchmarks/paper_numbers.json; empty where not recorded). Our splits and subsets may differ from "
             "the paper's protocol, see results.json.", ""]
    scenes = {n: e for n, e in ok.items() if e["kind"] == "scene"}
    if scenes:
        lines += ["## Scene classification", "",
                  "| Dataset | Test images | Zero-shot top-1 | paper | Zero-shot top-5 | Mean per-class recall "
                  "| Linear probe top-1 | paper | k-NN top-1 | paper |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, e in scenes.items():
            m = e["metrics"]
            zs, lp, kn = m.get("zero_shot", {}), m.get("linear_probe", {}), m.get("knn", {})
            lines.append(
                f"| {n} | {e['test_images']} | {_fmt(zs.get('top1'))} | {_paper_cell(paper, 'zero_shot_top1', n)} "
                f"| {_fmt(zs.get('top5'))} | {_fmt(zs.get('mean_per_class_recall'))} | {_fmt(lp.get('top1'))} "
                f"| {_paper_cell(paper, 'linear_probe_top1', n)} | {_fmt(kn.get('top1'))} "
                f"| {_paper_cell(paper, 'knn_top1', n)} |")
        shots = sorted({int(s) for e in scenes.values() for s in e["metrics"].get("few_shot", {})})
        if shots:
            lines += ["", "## Few-shot (linear probe, top-1, mean ± std over seeds)", "",
                      "| Dataset | " + " | ".join(f"{s}-shot" for s in shots) + " |",
                      "|---|" + "---:|" * len(shots)]
            for n, e in scenes.items():
                fs = e["metrics"].get("few_shot", {})
                cells = [f"{fs[str(s)]['mean']:.2f} ± {fs[str(s)]['std']:.2f}" if str(s) in fs else ""
                         for s in shots]
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
    caps = {n: e for n, e in ok.items() if e["kind"] == "captions"}
    if caps:
        keys = ["i2t_R@1", "i2t_R@5", "i2t_R@10", "t2i_R@1", "t2i_R@5", "t2i_R@10", "mean_recall"]
        lines += ["", "## Image-text retrieval", "",
                  "| Dataset | Images | I→T R@1 | I→T R@5 | I→T R@10 | T→I R@1 | T→I R@5 | T→I R@10 | Mean recall |",
                  "|---|---:|" + "---:|" * len(keys)]
        for n, e in caps.items():
            r = e["metrics"]["retrieval"]
            lines.append(f"| {n} | {e['test_images']} | " + " | ".join(_fmt(r[k]) for k in keys) + " |")
            if paper.get("retrieval", {}).get(n):
                lines.append(f"| {n} (paper) | | " + " | ".join(_paper_cell(paper, "retrieval", n, k)
                                                              for k in keys) + " |")
    if COUNTING in ok:
        c = ok[COUNTING]["metrics"]["counting"]
        lines += ["", "## Counting (airplanes, 1-10 per crop)", "",
                  "| Set | Crops | Top-1 | Within ±1 | Mean abs. error (objects) |", "|---|---:|---:|---:|---:|",
                  f"| Airbus aircraft (valid) | {ok[COUNTING]['test_images']} | {_fmt(c['top1'])} "
                  f"| {_fmt(c['within_one'])} | {c['mean_abs_error']:.2f} |"]
    missing = [n for n, e in sets.items() if e["status"] != "ok"]
    if missing:
        lines += ["", "## Not found", "", ", ".join(missing)]
    return "\n".join(lines) + "\n"


def plot_few_shot(results: dict, path: Path) -> Path | None:
    """Few-shot top-1 against shots per class, one panel per data set, as the paper draws it."""
    curves = {n: e["metrics"]["few_shot"] for n, e in results["datasets"].items()
              if e["status"] == "ok" and e["metrics"].get("few_shot")}
    if not curves:
        return None
    import warnings

    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    with warnings.catch_warnings():
        # Debian's matplotlib beside the venv's makes pyplot warn about Axes3D, which is not used here.
        warnings.simplefilter("ignore", UserWarning)
        import matplotlib.pyplot as plt

    cols = min(4, len(curves))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, (name, fs) in zip(axes.ravel(), curves.items()):
        shots = sorted(int(s) for s in fs)
        mean = np.array([fs[str(s)]["mean"] for s in shots])
        std = np.array([fs[str(s)]["std"] for s in shots])
        ax.plot(shots, mean, marker="o", label=results["model"])
        ax.fill_between(shots, mean - std, mean + std, alpha=0.25)
        ax.set_xscale("log", base=2)
        ax.set_xticks(shots, [str(s) for s in shots])
        ax.set_title(name)
        ax.set_xlabel("shots per class")
        ax.set_ylabel("top-1 (%)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(curves):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="registry model name, e.g. remoteclip-vit-b-32")
    p.add_argument("--weights", help="checkpoint file instead of the registry's")
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps (default: best available)")
    p.add_argument("--root", help="folder holding the data sets (ROOT/<name>/...)")
    p.add_argument("--datasets", nargs="+", help=f"subset of: {', '.join(ALL_DATASETS)} (default: all)")
    p.add_argument("-o", "--output", required=True, help="results folder")
    p.add_argument("--limit", type=int, help="at most N images per class and split (captions: N test images)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    p.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION,
                   help="test share of each class for sets without a split")
    p.add_argument("--k", type=int, default=DEFAULT_K, help="k-NN neighbours")
    p.add_argument("--vote", choices=("majority", "weighted"), default="majority", help="k-NN vote")
    p.add_argument("--shots", type=int, nargs="+", default=list(DEFAULT_SHOTS))
    p.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    p.add_argument("--counting-dir", help="existing counting set (counts.csv + crops); default: build one")
    p.add_argument("--counting-object", default="airplane", help="object named in the counting prompts")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    from backend.models.factory import load_model

    datasets = resolve_datasets(args.datasets)
    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise NotFoundError(f"--root {root} not found")
    settings = Settings(args.batch_size, args.limit, args.test_fraction, args.k, args.vote, tuple(args.shots),
                        tuple(args.seeds), Path(args.counting_dir) if args.counting_dir else None,
                        args.counting_object, not args.quiet)
    model = load_model(args.model, weights=args.weights, device=args.device)
    run_benchmark(model, root, datasets, Path(args.output), settings)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
