"""Linear probe: L2-regularised logistic regression on frozen image features.

Regularisation is chosen the way CLIP did (Radford et al. 2021, appendix A.3): a validation split is
carved from the training set, the inverse strength ``C`` is searched on a log scale starting from
``10^-6, 10^-4, ..., 10^6`` and the interval around the best value is halved until it reaches
1/8 decade (a "parametric binary search" instead of all 96 steps), then the classifier is refit
on train + validation with the chosen ``C``. The solver is sklearn's L-BFGS multinomial
``LogisticRegression``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from ._common import as_features, as_labels
from .accuracy import accuracy, mean_per_class_recall

INITIAL_LOG10_C = (-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0)
FINEST_STEP = 0.125  # 8 steps per decade, CLIP's resolution
VALIDATION_FRACTION = 0.2
MAX_ITER = 1000


@dataclass(frozen=True)
class ProbeResult:
    """Test scores of a fitted probe, and the ``C`` it used."""

    top1: float | None
    mean_per_class_recall: float | None
    c: float

    def as_dict(self) -> dict[str, float | None]:
        return {"top1": self.top1, "mean_per_class_recall": self.mean_per_class_recall, "C": self.c}


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float, max_iter: int = MAX_ITER) -> LogisticRegression:
    """A multinomial logistic regression with inverse regularisation ``c``."""
    clf = LogisticRegression(C=c, max_iter=max_iter)
    # One BLAS thread: L-BFGS steps on a few thousand x D features are tiny, and threaded BLAS
    # spent ~20x longer synchronising than computing in measurements here (2 busy cores).
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        # Tiny C or tiny data converge slowly; the search just scores such fits lower.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # 1-shot sets have as many classes as samples, which sklearn suspects is regression.
        warnings.filterwarnings("ignore", "The number of unique classes is greater than 50%", UserWarning)
        clf.fit(x, y)
    return clf


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): about ``fraction`` of each class held out, at least one kept.

    Classes with a single example stay wholly in ``keep``, so every class can still be learned.
    """
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_held = int(round(fraction * len(idx))) if len(idx) > 1 else 0
        n_held = min(max(n_held, 1 if len(idx) > 1 else 0), len(idx) - 1)
        held.extend(idx[:n_held])
        keep.extend(idx[n_held:])
    return np.sort(np.array(keep, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def search_c(
    train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
    initial: tuple[float, ...] = INITIAL_LOG10_C, finest_step: float = FINEST_STEP, max_iter: int = MAX_ITER,
) -> float:
    """The ``C`` with the best validation accuracy, by CLIP's coarse-to-fine search on log10(C)."""
    scores: dict[float, float] = {}

    def score(log_c: float) -> float:
        if log_c not in scores:
            clf = fit_logistic(train_x, train_y, 10.0 ** log_c, max_iter)
            scores[log_c] = float((clf.predict(val_x) == val_y).mean())
        return scores[log_c]

    best = max(initial, key=lambda v: (score(v), -abs(v)))  # ties: the value nearer C = 1
    step = (initial[1] - initial[0]) / 2 if len(initial) > 1 else 1.0
    while step >= finest_step:
        best = max((best - step, best, best + step), key=lambda v: (score(v), -abs(v - best)))
        step /= 2
    return float(10.0 ** best)


def linear_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
    c: float | None = None, seed: int = 0, max_iter: int = MAX_ITER,
) -> ProbeResult:
    """Fit on the training features and score the test features (percent).

    ``c`` fixes the regularisation; otherwise it is searched on a stratified validation split of
    the training set (``VALIDATION_FRACTION``) and the final fit uses all training features.
    """
    train_x, test_x = as_features(train_x, "train features"), as_features(test_x, "test features")
    train_y, test_y = as_labels(train_y, len(train_x), "train labels"), as_labels(test_y, len(test_x), "test labels")
    if len(np.unique(train_y)) < 2:
        raise ValueError("a linear probe needs training examples of at least two classes")
    if c is None:
        keep, held = stratified_holdout(train_y, VALIDATION_FRACTION, seed)
        if len(held) == 0 or len(np.unique(train_y[keep])) < 2:
            c = 1.0  # too little data to validate anything: sklearn's default
        else:
            c = search_c(train_x[keep], train_y[keep], train_x[held], train_y[held], max_iter=max_iter)
    clf = fit_logistic(train_x, train_y, c, max_iter)
    predictions = clf.predict(test_x)
    return ProbeResult(accuracy(predictions, test_y), mean_per_class_recall(predictions, test_y), float(c))
