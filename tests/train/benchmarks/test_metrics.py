"""Metric functions on small hand-made and random features, and agreement with clip_benchmark.

No model here: the metrics are pure functions of arrays.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from clip_benchmark.metrics import zeroshot_classification as cb_zs
from clip_benchmark.metrics import zeroshot_retrieval as cb_ret
from sklearn.metrics import balanced_accuracy_score

from train.benchmarks.metrics.accuracy import mean_per_class_recall, top_k_accuracy
from train.benchmarks.metrics.counting import counting_metrics
from train.benchmarks.metrics.few_shot import few_shot_metrics, sample_shots
from train.benchmarks.metrics.knn import knn_metrics, knn_predict
from train.benchmarks.metrics.linear_probe import linear_probe, search_c, stratified_holdout
from train.benchmarks.metrics.retrieval import retrieval_metrics
from train.benchmarks.metrics.zero_shot import class_embeddings, zero_shot_logits, zero_shot_metrics


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clusters(n_classes: int, per_class: int, dim: int = 16, spread: float = 0.05, seed: int = 0):
    """Unit features around one random centre per class: easy to classify."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_classes, dim)))
    labels = np.repeat(np.arange(n_classes), per_class)
    feats = unit(centres[labels] + spread * rng.normal(size=(len(labels), dim)))
    return feats, labels, centres


# --------------------------------------------------------------------------- zero-shot


def test_zero_shot_on_hand_made_features() -> None:
    text = np.eye(3, dtype=np.float32)  # class c is axis c
    images = unit(np.array([[1, 0.1, 0], [0.2, 1, 0], [0, 0.9, 1], [1, 0, 0.5]], dtype=np.float32))
    labels = np.array([0, 1, 2, 2])
    m = zero_shot_metrics(images, labels, text)
    assert m["top1"] == pytest.approx(75.0)
    assert m["top5"] is None  # fewer than 5 classes, like clip_benchmark's NaN
    assert m["mean_per_class_recall"] == pytest.approx(100 * (1 + 1 + 0.5) / 3)


def test_templates_are_averaged_then_renormalised() -> None:
    rng = np.random.default_rng(1)
    per_template = unit(rng.normal(size=(4, 5, 8)))
    expected = unit(per_template.mean(axis=0))
    np.testing.assert_allclose(class_embeddings(per_template), expected, atol=1e-6)
    # A C x D input is only renormalised.
    np.testing.assert_allclose(class_embeddings(2 * expected), expected, atol=1e-6)


def test_top_k_and_recall_edge_cases() -> None:
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.3]])
    assert top_k_accuracy(scores, np.array([0, 0]), 1) == pytest.approx(50.0)
    assert top_k_accuracy(scores, np.array([0, 0]), 2) == pytest.approx(100.0)
    # A class only predicted, never true, has no recall: left out as in sklearn.
    pred, true = np.array([0, 2, 1, 1]), np.array([0, 0, 1, 1])
    with pytest.warns(UserWarning, match="not in y_true"):
        expected = balanced_accuracy_score(true, pred)
    assert mean_per_class_recall(pred, true) == pytest.approx(100 * expected)


class _TableTokenizer:
    """Stands in for a tokenizer: each text becomes its row index in a fixed table."""

    def __init__(self, texts: list[str]) -> None:
        self.index = {t: i for i, t in enumerate(texts)}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        return torch.tensor([self.index[t] for t in texts])


class _TableModel:
    """Stands in for a CLIP model whose text embedding is a row of a fixed table."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = torch.from_numpy(table)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table[tokens]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zero_shot_agrees_with_clip_benchmark(seed: int) -> None:
    """Same random image/text features: clip_benchmark's classifier, accuracy and balanced accuracy."""
    rng = np.random.default_rng(seed)
    n, n_classes, n_templates, dim = 300, 12, 3, 24
    classes = [f"class{i}" for i in range(n_classes)]
    templates = ["a photo of {c}.", "an aerial image of {c}.", "satellite view of {c}."]
    texts = [t.format(c=c) for c in classes for t in templates]
    table = rng.normal(size=(len(texts), dim)).astype(np.float32)  # not unit: both sides normalise
    images = unit(rng.normal(size=(n, dim)))
    labels = rng.integers(0, n_classes, size=n)

    classifier = cb_zs.zero_shot_classifier(_TableModel(table), _TableTokenizer(texts), classes, templates,
                                            "cpu", amp=False)  # D x C
    logits = 100.0 * torch.from_numpy(images) @ classifier
    target = torch.from_numpy(labels)
    with warnings.catch_warnings():  # clip_benchmark's float(array) is deprecated in numpy 1.25
        warnings.simplefilter("ignore", DeprecationWarning)
        cb_top1, cb_top5 = cb_zs.accuracy(logits, target, topk=(1, 5))
    cb_mpcr = balanced_accuracy_score(target, logits.argmax(axis=1))

    # Ours: T x C x D per-template features, as train.features stores them.
    ours_text = table.reshape(n_classes, n_templates, dim).transpose(1, 0, 2)
    ours_text = unit(ours_text)
    np.testing.assert_allclose(class_embeddings(ours_text), classifier.numpy().T, atol=1e-5)
    np.testing.assert_allclose(zero_shot_logits(images, ours_text), logits.numpy(), atol=1e-3)
    m = zero_shot_metrics(images, labels, ours_text)
    assert m["top1"] == pytest.approx(100 * cb_top1)
    assert m["top5"] == pytest.approx(100 * cb_top5)
    assert m["mean_per_class_recall"] == pytest.approx(100 * cb_mpcr)


# --------------------------------------------------------------------------- retrieval


def test_retrieval_counts_any_caption_of_an_image() -> None:
    images = np.eye(3, dtype=np.float32)
    # Image 0 has two captions: caption 0 is nearer image 1, caption 1 is its own.
    # Caption 2 is image 1's; caption 3 is image 2's but nearer image 1.
    texts = unit(np.array([[0.3, 1, 0], [1, 0, 0], [0.1, 1, 0], [0, 0.9, 0.5]], dtype=np.float32))
    owner = np.array([0, 0, 1, 2])
    m = retrieval_metrics(images, texts, owner, ks=(1, 2))
    # image -> text @1: every image's best caption is one of its own (image 0: caption 1).
    assert m["i2t_R@1"] == pytest.approx(100.0)
    # text -> image @1: captions 1 and 2 hit; captions 0 and 3 rank image 1 first.
    assert m["t2i_R@1"] == pytest.approx(50.0)
    assert m["t2i_R@2"] == pytest.approx(100.0)
    assert m["mean_recall"] == pytest.approx(np.mean([m[k] for k in m if k != "mean_recall"]))


@pytest.mark.parametrize("seed", [0, 1])
def test_retrieval_agrees_with_clip_benchmark(seed: int) -> None:
    """clip_benchmark's recall_at_k (> 0) on the same score matrix and caption->image index."""
    rng = np.random.default_rng(seed)
    n_images, dim = 60, 16
    per_image = rng.integers(1, 6, size=n_images)  # 1 to 5 captions each, like RSITMD with blanks
    owner = np.repeat(np.arange(n_images), per_image)
    images = unit(rng.normal(size=(n_images, dim)))
    texts = unit(images[owner] + 0.9 * rng.normal(size=(len(owner), dim)))
    ours = retrieval_metrics(images, texts, owner)

    scores = torch.from_numpy(texts) @ torch.from_numpy(images).T
    positive = torch.zeros_like(scores, dtype=torch.bool)
    positive[torch.arange(len(scores)), torch.from_numpy(owner)] = True
    for k in (1, 5, 10):
        t2i = (cb_ret.batchify(cb_ret.recall_at_k, scores, positive, 16, "cpu", k=k) > 0).float().mean().item()
        i2t = (cb_ret.batchify(cb_ret.recall_at_k, scores.T, positive.T, 16, "cpu", k=k) > 0).float().mean().item()
        assert ours[f"t2i_R@{k}"] == pytest.approx(100 * t2i)
        assert ours[f"i2t_R@{k}"] == pytest.approx(100 * i2t)
    assert 0 < ours["i2t_R@1"] < 100  # the noise makes it a real test, not all hits or misses


def test_retrieval_rejects_bad_index() -> None:
    with pytest.raises(ValueError, match="outside"):
        retrieval_metrics(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), np.array([0, 5]))


# --------------------------------------------------------------------------- probes


def test_stratified_holdout_keeps_every_class() -> None:
    labels = np.array([0] * 10 + [1] * 5 + [2])
    keep, held = stratified_holdout(labels, 0.2, seed=0)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(len(labels)))
    assert set(labels[keep]) == {0, 1, 2}  # the single example of class 2 stays in training
    assert (labels[held] == 0).sum() == 2 and (labels[held] == 1).sum() == 1
    np.testing.assert_array_equal(held, stratified_holdout(labels, 0.2, seed=0)[1])  # deterministic


def test_linear_probe_separable_and_c_search() -> None:
    x, y, _ = clusters(4, 30, seed=3)
    x, y, tx, ty = x[::2], y[::2], x[1::2], y[1::2]  # train and test around the same centres
    result = linear_probe(x, y, tx, ty)
    assert result.top1 == pytest.approx(100.0)
    assert 1e-6 <= result.c <= 1e6
    c = search_c(x[::2], y[::2], x[1::2], y[1::2])
    assert 1e-6 <= c <= 1e6
    assert linear_probe(x, y, tx, ty, c=10.0).c == 10.0
    with pytest.raises(ValueError, match="two classes"):
        linear_probe(x[:5], np.zeros(5, dtype=int), tx, ty)


def test_knn_majority_weighted_and_ties() -> None:
    x, y, centres = clusters(3, 15, seed=4)
    m = knn_metrics(x, y, centres, np.arange(3), k=5)
    assert m["top1"] == pytest.approx(100.0) and m["k"] == 5 and m["vote"] == "majority"
    assert knn_metrics(x, y, centres, np.arange(3), k=5, vote="weighted")["top1"] == pytest.approx(100.0)
    # k larger than the training set is capped.
    assert knn_metrics(x[:4], y[:4], x[:4], y[:4], k=50)["k"] == 4
    # A 1-1 tie goes to the class of the more similar neighbour.
    train = unit(np.array([[1.0, 0.0], [0.0, 1.0]]))
    query = unit(np.array([[1.0, 0.2]]))
    assert knn_predict(train, np.array([7, 9]), query, k=2).tolist() == [7]
    with pytest.raises(ValueError, match="vote"):
        knn_predict(train, np.array([7, 9]), query, vote="nope")


def test_few_shot_shots_seeds_and_skips() -> None:
    x, y, _ = clusters(3, 10, seed=5)
    tx, ty, _ = clusters(3, 5, seed=6)
    idx = sample_shots(y, 4, seed=0)
    assert np.bincount(y[idx]).tolist() == [4, 4, 4]
    assert sample_shots(y, 11, seed=0) is None
    np.testing.assert_array_equal(idx, sample_shots(y, 4, seed=0))
    out = few_shot_metrics(x, y, tx, ty, shots=(1, 4, 16), seeds=(0, 1, 2), c=10.0)
    assert set(out) == {"1", "4"}  # 16 shots exceed the 10 images per class: skipped
    assert out["4"]["runs"] == 3 and out["4"]["classifier"] == "linear_probe" and out["4"]["C"] == 10.0
    assert 0 <= out["1"]["mean"] <= 100 and out["1"]["std"] >= 0
    proto = few_shot_metrics(x, y, tx, ty, shots=(1,), seeds=(0,), classifier="prototype")
    assert proto["1"]["classifier"] == "prototype" and "C" not in proto["1"]


# --------------------------------------------------------------------------- counting


def test_counting_top1_and_within_one() -> None:
    text = np.eye(10, dtype=np.float32)  # prompt i is the count i + 1
    predicted = np.array([0, 2, 4, 9])  # counts 1, 3, 5, 10
    images = text[predicted]
    counts = np.array([1, 4, 7, 10])
    m = counting_metrics(images, counts, text)
    assert m["top1"] == pytest.approx(50.0)
    assert m["within_one"] == pytest.approx(75.0)
    assert m["mean_abs_error"] == pytest.approx((0 + 1 + 2 + 0) / 4)
