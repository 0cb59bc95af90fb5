"""Zero-shot probabilities: scipy's softmax gives what the hand-written one gave."""

from __future__ import annotations

import numpy as np

from backend.query.zero_shot import classify_embeddings


def _old_softmax(logits: np.ndarray) -> np.ndarray:
    """The hand-written softmax zero_shot used before scipy.special.softmax."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_probabilities_match_the_hand_written_softmax() -> None:
    rng = np.random.default_rng(0)
    image, text = _unit(rng.normal(size=(500, 32))), _unit(rng.normal(size=(7, 32)))
    for scale in (1.0, 14.3, 100.0, 1e4):  # 1e4: logits far past exp's float32 range, still finite
        new = classify_embeddings(image, text, scale)
        old = _old_softmax(scale * (image @ text.T))
        assert new.dtype == np.float32 and new.shape == (500, 7)
        np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(new.sum(axis=1), 1.0, rtol=1e-5)
