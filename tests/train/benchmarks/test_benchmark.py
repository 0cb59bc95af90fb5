"""``python -m train.benchmark`` end to end with the tiny random model.

On a subsample of the shared RSSCN7 split (10 images per class and split), and on small fake data
set folders in the layouts the loaders accept. Random weights test plumbing only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from train.benchmarks import benchmark as B
from train.benchmarks.evaluate import evaluate_features
from train.benchmarks.features import load_features


@pytest.fixture(scope="module")
def tiny_model(tiny_weights):
    from backend.models.factory import load_model

    return load_model("tiny-local", weights=str(tiny_weights), device="cpu")


def save_image(path: Path, value: int, size: int = 24) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


def test_rsscn7_end_to_end(tmp_path: Path, monkeypatch, tiny_weights, capsys) -> None:
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    rc = B.main(["--model", "tiny-local", "--weights", str(tiny_weights), "--device", "cpu",
                 "--datasets", "rsscn7-shared", "--limit", "10", "--seeds", "0", "1", "--quiet", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "tiny-local" and results["arch"] == "Tiny-ViT-Test"
    entry = results["datasets"]["RSSCN7-shared"]
    assert entry["status"] == "ok" and entry["test_images"] == 70 and entry["train_images"] == 70
    metrics = entry["metrics"]
    assert set(metrics) == {"zero_shot", "linear_probe", "knn", "few_shot"}
    assert set(metrics["zero_shot"]) == {"top1", "top5", "mean_per_class_recall"}
    assert set(metrics["few_shot"]) == {"1", "4", "8"}  # 16 and 32 exceed the 10 training images per class
    assert metrics["few_shot"]["1"]["runs"] == 2

    with Image.open(out / "few_shot.png") as im:
        im.load()
        assert im.format == "PNG" and im.size[0] > 100
    md = (out / "results.md").read_text()
    assert "| Dataset | Test images | Zero-shot top-1 | paper |" in md and "| RSSCN7-shared | 70 |" in md
    assert "1-shot" in md
    feats = load_features(out / "features" / "RSSCN7-shared.npz")  # scored again by train.evaluate
    assert evaluate_features(feats, tasks=["zero_shot"])["zero_shot"] == metrics["zero_shot"]


def make_root(root: Path) -> Path:
    """AID (flat classes, wrapped in AID/AID), RSI-CB256 (category/class tree), RSITMD and UCM-captions."""
    for c, name in enumerate(("airport", "beach", "forest")):
        for i in range(5):
            save_image(root / "AID" / "AID" / name / f"{name}_{i}.jpg", 10 * c + i)
    for c, (top, leaf) in enumerate((("transport", "airport_runway"), ("transport", "parking_lot"),
                                      ("water", "river"))):
        for i in range(4):
            save_image(root / "RSI-CB256" / top / leaf / f"{i}.tif", 100 + 10 * c + i)
    # RSITMD: AMFMN precomp files (one file name per caption) and images in images/.
    names = ["boat_0.tif", "boat_1.tif", "park_2.tif"]
    for i, n in enumerate(names):
        save_image(root / "RSITMD" / "images" / n, 200 + i)
    caps = ["Two boats.", "A boat at sea.", "", "A red boat.", "Green park.", "A park."]
    owners = ["boat_0.tif", "boat_0.tif", "boat_0.tif", "boat_1.tif", "park_2.tif", "park_2.tif"]
    (root / "RSITMD" / "test_caps.txt").write_text("\n".join(caps) + "\n")
    (root / "RSITMD" / "test_filename.txt").write_text("\n".join(owners) + "\n")
    # UCM-captions: a Karpathy-style JSON; the train image must be ignored.
    images = []
    for i in range(3):
        save_image(root / "UCM_captions" / "imgs" / f"{i}.tif", 300 + i)
        images.append({"filename": f"{i}.tif", "split": "test" if i < 2 else "train",
                       "sentences": [{"raw": f"scene {i} caption {j}"} for j in range(5)]})
    (root / "UCM_captions" / "dataset.json").write_text(json.dumps({"images": images}))
    return root


def test_folder_layouts_and_missing_sets(tmp_path: Path, tiny_model) -> None:
    root = make_root(tmp_path / "root")
    out = tmp_path / "results"
    settings = B.Settings(batch_size=8, shots=(1, 2), seeds=(0,), progress=False)
    datasets = B.resolve_datasets(["aid", "rsi-cb256", "EuroSAT", "rsitmd", "UCM-captions", "RSICD", "RSSCN7"])
    results = B.run_benchmark(tiny_model, root, datasets, out, settings, log=lambda s: None)
    sets = results["datasets"]
    assert sets["AID"]["status"] == "ok" and sets["AID"]["classes"] == 3
    assert sets["AID"]["test_images"] == 3 and sets["AID"]["train_images"] == 12  # 20% of 5 per class
    assert sets["RSI-CB256"]["classes"] == 3  # leaf folders, not the two categories
    assert sets["EuroSAT"]["status"] == "not found" and sets["RSICD"]["status"] == "not found"
    assert sets["RSSCN7"]["status"] == "not found"  # the paper's folder, not the shared copy
    rsitmd = sets["RSITMD"]
    assert rsitmd["status"] == "ok" and rsitmd["test_images"] == 3 and rsitmd["captions"] == 5  # blank skipped
    assert set(rsitmd["metrics"]["retrieval"]) >= {"i2t_R@1", "t2i_R@10", "mean_recall"}
    ucm = sets["UCM-captions"]
    assert ucm["test_images"] == 2 and ucm["captions"] == 10
    feats = load_features(out / "features" / "RSITMD.npz")
    assert feats["caption_image"].tolist() == [0, 0, 1, 2, 2]

    md = (out / "results.md").read_text()
    assert "## Image-text retrieval" in md and "| RSITMD | 3 |" in md
    assert "## Not found" in md and "EuroSAT" in md
    assert (out / "few_shot.png").is_file()


def test_unknown_dataset_and_paper_numbers(tmp_path: Path, tiny_weights, capsys) -> None:
    rc = B.main(["--model", "tiny-local", "--weights", str(tiny_weights), "--datasets", "imagenet",
                 "-o", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: unknown data set 'imagenet'") and err.count("\n") == 1
    assert B.resolve_datasets(["rsscn7", "RSSCN7_shared", "resisc45"]) == [
        "RSSCN7", "RSSCN7-shared", "RESISC45"]
    assert len(B.resolve_datasets(None)) == 12 + 2 + 3 + 1
    # The paper file is valid JSON with the backbones of the paper; unknown cells are empty, not invented.
    paper = json.loads(B.PAPER_NUMBERS.read_text())
    assert set(paper["backbones"]) == {"RN50", "ViT-B-32", "ViT-L-14"}
    assert set(paper["backbones"]["ViT-B-32"]["zero_shot_top1"]) == set(B.PAPER_SCENE_SETS)
    assert B.paper_numbers("Tiny-ViT-Test") == {}
