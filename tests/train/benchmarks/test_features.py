"""Feature extraction with the tiny random model: CLIP preprocessing, npz keys, the CLI.

Random weights test plumbing only: no assertion here is about accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from train.benchmarks import features as F
from train.benchmarks.evaluate import evaluate_features
from train.data.scene_sets import load_folder_per_class

CLASSES = ("forest", "harbor", "storage_tank")


@pytest.fixture(scope="module")
def tiny_model(tiny_weights):
    from backend.models.factory import load_model

    return load_model("tiny-local", weights=str(tiny_weights), device="cpu")


def make_folder_set(root: Path, per_class: int = 5, sizes=((40, 30), (32, 32))) -> Path:
    """ROOT/<class>/<image>.png with flat colours per class and mixed (non-square) sizes."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            colour = np.array([80 * c, 200 - 60 * c, 40 + 20 * i]) + rng.integers(0, 10, 3)
            Image.fromarray(np.full((h, w, 3), colour, dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_load_square_centre_crops_non_square(tmp_path: Path) -> None:
    # 40 wide x 20 high: left 10 columns red, middle 20 green, right 10 blue -> the crop is all green.
    img = np.zeros((20, 40, 3), dtype=np.uint8)
    img[:, :10, 0] = 255
    img[:, 10:30, 1] = 255
    img[:, 30:, 2] = 255
    Image.fromarray(img).save(tmp_path / "wide.png")
    Image.fromarray(img[:, :, 0]).convert("L").save(tmp_path / "grey.png")  # converted to RGB
    square = F.load_square(tmp_path / "wide.png")
    assert tuple(square.shape) == (3, 20, 20)
    assert float(square[1].min()) == 1.0 and float(square[0].max()) == 0.0 and float(square[2].max()) == 0.0
    assert tuple(F.load_square(tmp_path / "grey.png").shape) == (3, 20, 20)


def test_preprocess_batch_mixes_sizes(tmp_path: Path, tiny_model) -> None:
    root = make_folder_set(tmp_path / "set", per_class=2)
    paths = sorted(root.rglob("*.png"))
    batch = F.preprocess_batch(paths, tiny_model)
    assert tuple(batch.shape) == (len(paths), 3, tiny_model.image_size, tiny_model.image_size)


def test_unreadable_image_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(F.UserError, match="cannot read image"):
        F.load_square(bad)


def test_split_and_limit_per_class(tmp_path: Path) -> None:
    scene_set = load_folder_per_class(make_folder_set(tmp_path / "set", per_class=5))
    split = F.split_scene_set(scene_set, test_fraction=0.2, seed=0)
    for label in range(len(CLASSES)):
        assert sum(im.split == "test" and im.label == label for im in split.images) == 1
        assert sum(im.split == "train" and im.label == label for im in split.images) == 4
    assert split.images == F.split_scene_set(scene_set, 0.2, seed=0).images  # deterministic
    limited = F.limit_per_class(split.split("train"), 2)
    assert [im.label for im in limited] == [0, 0, 1, 1, 2, 2]


def test_extract_scene_features_keys_and_round_trip(tmp_path: Path, tiny_model) -> None:
    scene_set = F.split_scene_set(load_folder_per_class(make_folder_set(tmp_path / "set")), 0.4)
    templates = ["a satellite photo of {}.", "an aerial image of {}."]
    feats = F.extract_scene_features(tiny_model, scene_set, "test", templates, batch_size=4,
                                     train_split="train", progress=False)
    n, d = feats["image_features"].shape
    assert n == len(feats["labels"]) == 6 and d == tiny_model.embed_dim
    assert feats["image_features"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats["image_features"], axis=1), 1.0, atol=1e-5)
    assert feats["text_features"].shape == (2, len(CLASSES), d)  # T x C x D
    assert feats["train_image_features"].shape == (9, d) and len(feats["train_labels"]) == 9
    assert feats["prompts"].tolist() == ["forest", "harbor", "storage tank"]
    assert str(feats["kind"]) == "scene"

    path = F.save_features(tmp_path / "out" / "f", feats)
    assert path.suffix == ".npz" and not list(path.parent.glob(".*tmp*"))
    loaded = F.load_features(path)  # allow_pickle=False: strings are plain unicode arrays
    assert set(loaded) == set(feats)
    np.testing.assert_array_equal(loaded["image_features"], feats["image_features"])
    assert loaded["class_names"].tolist() == list(CLASSES)
    assert set(evaluate_features(loaded, seeds=(0,), shots=(1, 2))) == {"zero_shot", "linear_probe", "knn", "few_shot"}

    with pytest.raises(F.UserError, match="no 'validation' images"):
        F.extract_scene_features(tiny_model, scene_set, "validation", progress=False)


def test_extract_caption_features(tmp_path: Path, tiny_model) -> None:
    root = make_folder_set(tmp_path / "set", per_class=1)
    paths = sorted(root.rglob("*.png"))
    captions = F.CaptionSet("caps", paths, ["a forest.", "green trees.", "a harbour.", "tanks."], [0, 0, 1, 2])
    feats = F.extract_caption_features(tiny_model, captions, progress=False)
    assert feats["image_features"].shape[0] == 3 and feats["text_features"].shape[0] == 4
    assert feats["caption_image"].tolist() == [0, 0, 1, 2] and str(feats["kind"]) == "captions"
    assert set(evaluate_features(feats)) == {"retrieval"}


def test_load_features_rejects_other_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(F.UserError, match="not a features .npz"):
        F.load_features(text)
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(F.UserError, match="not a features .npz"):
        F.load_features(single)
    with pytest.raises(F.UserError, match="not found"):
        F.load_features(tmp_path / "missing.npz")


def test_cli_on_a_folder_set(tmp_path: Path, tiny_weights, capsys) -> None:
    root = make_folder_set(tmp_path / "set")
    out = tmp_path / "f.npz"
    rc = F.main(["--model", "tiny-local", "--weights", str(tiny_weights), "--device", "cpu", "--dataset", str(root),
                 "--split", "test", "--train-split", "train", "--template", "a photo of {}.", "-o", str(out)])
    assert rc == 0
    data = F.load_features(out)
    assert data["templates"].tolist() == ["a photo of {}."]
    assert len(data["labels"]) == 3 and len(data["train_labels"]) == 12  # 20% of 5 per class is test
    assert "stratified seed-0 split" in capsys.readouterr().err

    rc = F.main(["--model", "tiny-local", "--weights", str(tiny_weights), "--device", "cpu",
                 "--dataset", str(tmp_path / "nowhere"), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and "\n" not in err
