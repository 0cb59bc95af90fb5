"""The project's small offline model: its training data builder and the shipped weights."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from train.pretraining.small_model import build_training_data, card_table, crop_annotation, one_caption_each

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "resources" / "models" / "remoteclip-qgis-small.pt"


def test_one_caption_each_rotates_templates():
    from train.conversion.dataset_writers import Sample

    samples = [Sample(f"{i}.jpg", ("a", "b", "c")) for i in range(4)]
    assert [s.captions for s in one_caption_each(samples)] == [("a",), ("b",), ("c",), ("a",)]


def test_crop_annotation_keeps_whole_boxes_in_crop_pixels():
    from train.data.annotations import Box, ImageAnnotation

    image = ImageAnnotation("x.jpg", 100, 100, [Box("Airplane", 10, 10, 20, 20), Box("Airplane", 45, 45, 60, 60)])
    crop = crop_annotation(image, "c.jpg", 0, 0, 50)
    assert [(b.xmin, b.ymin, b.xmax, b.ymax) for b in crop.boxes] == [(10, 10, 20, 20)]
    crop = crop_annotation(image, "c.jpg", 40, 40, 30)
    assert [(b.xmin, b.ymin, b.xmax, b.ymax) for b in crop.boxes] == [(5, 5, 20, 20)]


def test_training_data_from_real_boxes_and_masks(tmp_path, monkeypatch):
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))
    counts = build_training_data(tmp_path / "data", per_count=1, include=("aircraft", "dubai"))
    assert counts["dubai"] == 18 * 5 and 1 <= counts["aircraft"] <= 10
    with open(tmp_path / "data" / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == counts["total"] == counts["aircraft"] + counts["dubai"]
    assert all(Path(r["filepath"]).is_file() for r in rows)
    captions = [r["title"] for r in rows]
    assert any("airplane" in c for c in captions) and any("building" in c for c in captions)


def test_card_table_puts_random_beside_trained():
    table = card_table({"rsscn7": {"zero_shot": {"top1": 61.25, "top5": None}}},
                       {"rsscn7": {"zero_shot": {"top1": 14.0}}})
    assert "| rsscn7 | zero_shot top1 | 61.2 | 14.0 |" in table and "top5" not in table


def test_shipped_model_is_small_loads_and_beats_chance(tmp_path, monkeypatch):
    """The weights in resources/ are trained: zero-shot on held-out RSSCN7 images is far above chance."""
    from backend.models.factory import load_model
    from backend.models.registry import default_model_name, get_model_spec, weights_status
    from train.benchmarks.evaluate import evaluate_features
    from train.benchmarks.features import extract_scene_features
    from train.data.scene_sets import load_rsscn7

    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 50e6
    assert weights_status(get_model_spec("remoteclip-qgis-small")).path == str(SHIPPED)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.delenv("REMOTECLIP_MODEL", raising=False)
    assert default_model_name() == "remoteclip-qgis-small"  # RemoteCLIP weights absent
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))
    model = load_model("remoteclip-qgis-small", device="cpu")
    data = extract_scene_features(model, load_rsscn7(), split="test", limit=15, progress=False)
    top1 = evaluate_features(data, ["zero_shot"])["zero_shot"]["top1"]
    assert top1 > 40.0, f"zero-shot top-1 {top1:.1f}% on RSSCN7 test: chance is 14.3%"


@pytest.mark.parametrize("argv", [["data"], ["evaluate", "-o", "x.json"]])
def test_cli_requires_its_options(argv, capsys):
    from train.pretraining.small_model import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
