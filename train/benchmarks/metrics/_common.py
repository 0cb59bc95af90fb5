"""Small helpers shared by the metric modules (array checks and percentages)."""

from __future__ import annotations

import numpy as np


def as_features(x: np.ndarray, name: str = "features") -> np.ndarray:
    """``x`` as a 2-D float32 array; a clear error for anything else."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} should be N x D, got shape {x.shape}")
    return x


def as_labels(y: np.ndarray, n: int | None = None, name: str = "labels") -> np.ndarray:
    """``y`` as a 1-D int64 array (of length ``n`` when given)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} should be a 1-D array, got shape {y.shape}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} entries for {n} feature rows")
    return y.astype(np.int64)


def percent(fraction: float) -> float:
    """A fraction as a plain float percentage."""
    return float(100.0 * fraction)


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
