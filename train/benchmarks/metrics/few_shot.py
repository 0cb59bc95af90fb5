"""Few-shot classification: k labelled training images per class, repeated over seeds.

RemoteCLIP (Liu, Chen et al. 2023, section on few-shot classification) reports few-shot results by
**linear probing** on 1, 4, 8, 16 and 32 shots per class, drawn as accuracy-vs-shots curves; that is
the default here. A k-shot support set is too small to validate a regularisation strength on
(1-shot has nothing to hold out), so ``C`` comes from CLIP's search on the full training set (the
same search and split :func:`~train.benchmarks.metrics.linear_probe.linear_probe` uses), unless given.
``classifier="prototype"`` is the alternative: the nearest class mean by cosine similarity.

Each shot count is run for every seed (a seed picks which images are the shots); the mean and the
(population) standard deviation over seeds are reported. A shot count that exceeds the training
images of some class is skipped, since it would not be k-shot for every class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import as_features, as_labels, normalise
from .accuracy import accuracy
from .linear_probe import VALIDATION_FRACTION, fit_logistic, search_c, stratified_holdout

DEFAULT_SHOTS = (1, 4, 8, 16, 32)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)


def sample_shots(labels: np.ndarray, shots: int, seed: int) -> np.ndarray | None:
    """Indices of ``shots`` examples per class (sorted), or None if some class has fewer."""
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < shots:
            return None
        picked.extend(rng.choice(idx, size=shots, replace=False))
    return np.sort(np.array(picked, dtype=np.int64))


def prototype_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """Nearest class prototype (mean of unit features, renormalised) by cosine similarity."""
    classes = np.unique(train_y)
    protos = normalise(np.stack([normalise(train_x[train_y == c]).mean(axis=0) for c in classes]))
    return classes[(normalise(test_x) @ protos.T).argmax(axis=1)]


def regularisation_for(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0) -> float:
    """CLIP's ``C`` search on a stratified validation split of the full training set."""
    keep, held = stratified_holdout(train_y, VALIDATION_FRACTION, seed)
    if len(held) == 0 or len(np.unique(train_y[keep])) < 2:
        return 1.0
    return search_c(train_x[keep], train_y[keep], train_x[held], train_y[held])


def few_shot_metrics(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
    shots: Sequence[int] = DEFAULT_SHOTS, seeds: Sequence[int] = DEFAULT_SEEDS,
    classifier: str = "linear_probe", c: float | None = None,
) -> dict[str, dict]:
    """``{"1": {"mean", "std", "runs", "classifier"}, ...}``: top-1 percent per shot count.

    Shot counts some class cannot fill are left out of the result (see the module docstring).
    """
    if classifier not in ("linear_probe", "prototype"):
        raise ValueError(f"classifier must be 'linear_probe' or 'prototype', got {classifier!r}")
    train_x, test_x = as_features(train_x, "train features"), as_features(test_x, "test features")
    train_y, test_y = as_labels(train_y, len(train_x), "train labels"), as_labels(test_y, len(test_x), "test labels")
    if classifier == "linear_probe" and c is None:
        c = regularisation_for(train_x, train_y)
    out: dict[str, dict] = {}
    for k in shots:
        runs = []
        for seed in seeds:
            idx = sample_shots(train_y, int(k), int(seed))
            if idx is None:
                break
            if classifier == "prototype":
                predictions = prototype_predict(train_x[idx], train_y[idx], test_x)
            else:
                predictions = fit_logistic(train_x[idx], train_y[idx], float(c)).predict(test_x)
            runs.append(accuracy(predictions, test_y))
        if runs:
            out[str(int(k))] = {
                "mean": float(np.mean(runs)), "std": float(np.std(runs)), "runs": len(runs),
                "classifier": classifier, **({"C": float(c)} if classifier == "linear_probe" else {}),
            }
    return out
