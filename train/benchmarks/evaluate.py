"""Scoring a features ``.npz`` (from :mod:`train.features`): prints JSON with percentages.

``python -m train.evaluate FEATURES.npz [--tasks zero_shot linear_probe ...] [--train TRAIN.npz]``

Which tasks a file supports follows from its ``kind`` key (inferred from the keys when absent):

- ``scene``: ``zero_shot`` (``image_features``, ``labels``, ``text_features``) and, when training
  features are there, ``linear_probe``, ``knn`` and ``few_shot``; ``zero_shot_transductive`` (the same keys:
  all test images classified together, :mod:`.metrics.zero_shot_transductive`) only when asked for by name.
  Training features are the ``train_image_features``/``train_labels`` keys of the same file, or
  ``image_features``/``labels`` of another file given with ``--train`` (e.g. the same set extracted with
  ``--split train``).
- ``captions``: ``retrieval`` (``image_features``, ``text_features``, ``caption_image``).
- ``counting``: ``counting`` (``image_features``, ``labels`` = counts 1..10, ``text_features`` = 10 prompts).

Without ``--tasks`` every supported task is run but the opt-in ones (``zero_shot_transductive``: it is
another setting, using the test set as a whole, and default outputs stay as they were); a task asked for by
name whose keys are missing is an error. ``--templates 0 2`` scores a scene file's zero-shot with only those
of its prompt templates (``text_features`` is ``T x C x D``, one slice per template; default all, averaged), so
each template and any ensemble are compared from one extraction. Errors are one line (``error: ...``) with
exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from backend.errors import UserError

from ..command_line import run_cli
from .features import load_features
from .metrics.counting import counting_metrics
from .metrics.few_shot import DEFAULT_SEEDS, DEFAULT_SHOTS, few_shot_metrics
from .metrics.knn import DEFAULT_K, knn_metrics
from .metrics.linear_probe import linear_probe
from .metrics.retrieval import retrieval_metrics
from .metrics.zero_shot import zero_shot_metrics
from .metrics.zero_shot_transductive import zero_shot_transductive_metrics

TASKS = ("zero_shot", "linear_probe", "knn", "few_shot", "retrieval", "counting", "zero_shot_transductive")
PROBE_KEYS = ("image_features", "labels", "train_image_features", "train_labels")
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "zero_shot": ("image_features", "labels", "text_features"),
    "zero_shot_transductive": ("image_features", "labels", "text_features"),
    "linear_probe": PROBE_KEYS,
    "knn": PROBE_KEYS,
    "few_shot": PROBE_KEYS,
    "retrieval": ("image_features", "text_features", "caption_image"),
    "counting": ("image_features", "labels", "text_features"),
}
TASKS_OF_KIND = {
    "scene": ("zero_shot", "linear_probe", "knn", "few_shot", "zero_shot_transductive"),
    "captions": ("retrieval",),
    "counting": ("counting",),
}
# Tasks a kind always runs; the others only when their keys are there.
CORE_TASK = {"scene": "zero_shot", "captions": "retrieval", "counting": "counting"}
# Tasks run only when asked for by name.
OPT_IN_TASKS = frozenset({"zero_shot_transductive"})


def kind_of(data: Mapping[str, np.ndarray]) -> str:
    """``scene``, ``captions`` or ``counting``: the ``kind`` key, else guessed from the keys."""
    if "kind" in data:
        kind = str(np.asarray(data["kind"]))
        if kind not in TASKS_OF_KIND:
            raise UserError(f"unknown features kind '{kind}' (expected one of {', '.join(TASKS_OF_KIND)})")
        return kind
    return "captions" if "caption_image" in data else "scene"


def with_train(data: Mapping[str, np.ndarray], train: Mapping[str, np.ndarray], train_name: str) -> dict:
    """``data`` with ``train``'s ``image_features``/``labels`` as its ``train_*`` keys."""
    for key in ("image_features", "labels"):
        if key not in train:
            raise UserError(f"{train_name} has no '{key}' (needed as training features)")
    merged = dict(data)
    merged["train_image_features"], merged["train_labels"] = train["image_features"], train["labels"]
    return merged


def select_tasks(data: Mapping[str, np.ndarray], requested: Sequence[str] | None, name: str) -> list[str]:
    """The tasks to run; a one-line error naming the first missing key of a needed task."""
    kind = kind_of(data)
    if requested:
        tasks = list(dict.fromkeys(requested))
        for task in tasks:
            if task == "retrieval" and kind != "captions":
                raise UserError(f"{name} has no 'caption_image' (needed for retrieval): it holds {kind} features")
            if task not in TASKS_OF_KIND[kind]:
                supported = ", ".join(TASKS_OF_KIND[kind])
                raise UserError(f"{name} holds {kind} features, which support {supported}, not {task}")
    else:
        core = CORE_TASK[kind]
        tasks = [t for t in TASKS_OF_KIND[kind]
                 if t == core or (t not in OPT_IN_TASKS and all(k in data for k in REQUIRED_KEYS[t]))]
    for task in tasks:
        for key in REQUIRED_KEYS[task]:
            if key not in data:
                extra = " (extract with --train-split train, or pass --train)" if key.startswith("train_") else ""
                raise UserError(f"{name} has no '{key}' (needed for {task}){extra}")
    return tasks


def _check_rows(data: Mapping[str, np.ndarray], name: str) -> None:
    """Matching row counts and feature widths, so a broken file fails with a clear line."""
    pairs = [("image_features", "labels"), ("train_image_features", "train_labels"),
             ("text_features", "caption_image")]
    for feats, labels in pairs:
        if feats in data and labels in data and len(data[feats]) != len(data[labels]):
            raise UserError(f"{name}: '{feats}' has {len(data[feats])} rows but '{labels}' has {len(data[labels])}")
    dims = {k: np.asarray(data[k]).shape[-1] for k in ("image_features", "train_image_features", "text_features")
            if k in data and np.asarray(data[k]).ndim >= 2}
    if len(set(dims.values())) > 1:
        raise UserError(f"{name}: feature widths differ ({', '.join(f'{k} {v}' for k, v in dims.items())})")


def select_templates(data: Mapping[str, np.ndarray], indices: Sequence[int], name: str) -> dict[str, np.ndarray]:
    """``data`` with ``text_features`` (``T x C x D``) and ``templates`` cut to the templates at ``indices``."""
    text = np.asarray(data.get("text_features"))
    if text.ndim != 3:
        raise UserError(f"{name} has no per-template text features (T x C x D) to choose from")
    bad = [str(i) for i in indices if not 0 <= i < len(text)]
    if bad:
        raise UserError(f"{name} has {len(text)} templates (0 to {len(text) - 1}): no template {', '.join(bad)}")
    out = dict(data)
    out["text_features"] = text[list(indices)]
    if "templates" in data:
        out["templates"] = np.asarray(data["templates"])[list(indices)]
    return out


def evaluate_features(
    data: Mapping[str, np.ndarray], tasks: Sequence[str] | None = None, name: str = "features",
    k: int = DEFAULT_K, vote: str = "majority", shots: Sequence[int] = DEFAULT_SHOTS,
    seeds: Sequence[int] = DEFAULT_SEEDS, few_shot_classifier: str = "linear_probe",
) -> dict[str, dict]:
    """``{task: {metric: percent}}`` for the selected (or all supported) tasks of ``data``."""
    chosen = select_tasks(data, tasks, name)
    _check_rows(data, name)
    out: dict[str, dict] = {}
    for task in chosen:
        try:
            out[task] = _run_task(task, data, out, k, vote, shots, seeds, few_shot_classifier)
        except ValueError as exc:  # the metrics' checks on array shapes and contents
            raise UserError(f"{name}: {task}: {exc}") from None
    return out


def _run_task(
    task: str, data: Mapping[str, np.ndarray], done: Mapping[str, dict], k: int, vote: str,
    shots: Sequence[int], seeds: Sequence[int], few_shot_classifier: str,
) -> dict:
    if task == "zero_shot":
        return zero_shot_metrics(data["image_features"], data["labels"], data["text_features"])
    if task == "zero_shot_transductive":
        return zero_shot_transductive_metrics(data["image_features"], data["labels"], data["text_features"])
    if task == "linear_probe":
        return linear_probe(data["train_image_features"], data["train_labels"],
                            data["image_features"], data["labels"]).as_dict()
    if task == "knn":
        return knn_metrics(data["train_image_features"], data["train_labels"],
                           data["image_features"], data["labels"], k=k, vote=vote)
    if task == "few_shot":
        # The linear probe's C comes from the same search few_shot would run: reuse it.
        probe_c = done.get("linear_probe", {}).get("C")
        return few_shot_metrics(data["train_image_features"], data["train_labels"],
                                data["image_features"], data["labels"], shots, seeds, few_shot_classifier, c=probe_c)
    if task == "retrieval":
        return retrieval_metrics(data["image_features"], data["text_features"], data["caption_image"])
    if task == "counting":
        return counting_metrics(data["image_features"], data["labels"], data["text_features"])
    raise ValueError(f"unknown task {task}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("features", help="features .npz from train.features / train.counting_set / train.benchmark")
    p.add_argument("--tasks", nargs="+", choices=TASKS, help="tasks to run (default: all the file supports)")
    p.add_argument("--train", help="features .npz whose image_features/labels are the training features")
    p.add_argument("--k", type=int, default=DEFAULT_K, help=f"k-NN neighbours (default {DEFAULT_K})")
    p.add_argument("--vote", choices=("majority", "weighted"), default="majority", help="k-NN vote")
    p.add_argument("--shots", type=int, nargs="+", default=list(DEFAULT_SHOTS), help="few-shot shots per class")
    p.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="few-shot seeds")
    p.add_argument("--few-shot-classifier", choices=("linear_probe", "prototype"), default="linear_probe")
    p.add_argument("--templates", type=int, nargs="+",
                   help="score zero-shot with only these prompt templates (0-based; default all, averaged)")
    return p


def run(args: argparse.Namespace) -> int:
    data = load_features(args.features)
    name = Path(args.features).name
    if args.train:
        data = with_train(data, load_features(args.train), Path(args.train).name)
    if args.templates is not None:
        data = select_templates(data, args.templates, name)
    result = evaluate_features(data, args.tasks, name, args.k, args.vote, args.shots, args.seeds,
                               args.few_shot_classifier)
    print(json.dumps(result, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
