"""The airplane counting set built from two real Airbus scenes, checked against the raw annotations.

The annotations are re-read here independently of train.counting_set. Needs the shared data folder.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from train.benchmarks import counting_set as cs
from train.benchmarks.evaluate import evaluate_features
from train.data.shared_data import data_root

# Two valid-split scenes that also hold truncated aircraft (1 and 3), so that rule is exercised.
IMAGES = ("fc8f9dc5-b6a2-49f3-9bde-1f8ff382ca5f.jpg", "f34f05c6-84ce-47d7-ba5c-394d85c86a46.jpg")


def _airbus() -> Path:
    folder = data_root() / "airbus_aircraft"
    assert (folder / "airbus_aircraft.tar").is_file(), f"the shared data set is missing: {folder}"
    return folder


def raw_boxes(folder: Path, image_id: str) -> list[tuple[str, float, float, float, float]]:
    """(class, x0, y0, x1, y1) straight from annotations.csv, clipped to the 2560 px image."""
    out = []
    with open(folder / "annotations.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["image_id"] == image_id:
                pts = ast.literal_eval(row["geometry"])
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                out.append((row["class"], max(min(xs), 0), max(min(ys), 0), min(max(xs), 2560), min(max(ys), 2560)))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[dict]]:
    folder = _airbus()
    out = tmp_path_factory.mktemp("counting") / "set"
    cs.build_counting_set(out, "valid", sizes=(384, 768), per_count=4, seed=0, image_ids=IMAGES, folder=folder)
    return out, cs.read_counts(out)


def test_every_crop_holds_exactly_its_count_of_whole_airplanes(built) -> None:
    folder = _airbus()
    out, rows = built
    assert rows and {r["source_image"] for r in rows} <= set(IMAGES)
    boxes = {i: raw_boxes(folder, i) for i in IMAGES}
    for r in rows:
        x0, y0, size = r["x0"], r["y0"], r["size"]
        x1, y1 = x0 + size, y0 + size
        inside = overlapping = 0
        for cls, bx0, by0, bx1, by1 in boxes[r["source_image"]]:
            overlaps = min(bx1, x1) > max(bx0, x0) and min(by1, y1) > max(by0, y0)
            whole = bx0 >= x0 and bx1 <= x1 and by0 >= y0 and by1 <= y1
            if overlaps:
                overlapping += 1
                assert whole, f"{r['file']}: a {cls} box is cut by the crop edge"
                assert cls == "Airplane", f"{r['file']}: a truncated airplane lies in the crop"
                inside += 1
        assert inside == overlapping == r["count"], r["file"]
        assert 1 <= r["count"] <= 10
        with Image.open(out / r["file"]) as im:
            assert im.size == (size, size) and im.mode == "RGB"


def test_balanced_and_deterministic(built, tmp_path: Path) -> None:
    out, rows = built
    per_count = np.bincount([r["count"] for r in rows], minlength=11)
    assert per_count.max() <= 4 and (per_count[1:5] == 4).all()  # small counts are easy to fill
    again = tmp_path / "again"
    cs.build_counting_set(again, "valid", sizes=(384, 768), per_count=4, seed=0, image_ids=IMAGES, folder=_airbus())
    assert (again / cs.COUNTS_FILE).read_text() == (out / cs.COUNTS_FILE).read_text()
    assert list(csv.reader(open(out / cs.COUNTS_FILE)))[0] == list(cs.COUNTS_FIELDS)


def test_crop_counts_rules() -> None:
    boxes = [cs.Box(10, 10, 20, 20, True), cs.Box(50, 50, 60, 60, True), cs.Box(90, 0, 99, 5, False)]
    x0 = np.array([0, 0, 45, 15, 100])
    y0 = np.array([0, 30, 45, 15, 100])
    # whole plane -> 1; empty -> 0; whole second plane -> 1; first plane cut -> -1; touching edge only -> 0
    assert cs.crop_counts(boxes, x0, y0, 30).tolist() == [1, 0, 1, -1, 0]
    # a truncated box overlapping at all disqualifies, even when whole
    assert cs.crop_counts(boxes, np.array([80]), np.array([0]), 30).tolist() == [-1]


def test_annotations_are_clipped_and_border_planes_not_countable() -> None:
    import csv

    boxes = cs.read_annotations(cs.airbus_folder())
    with open(cs.airbus_folder() / "counts.csv", newline="") as fh:
        expected = {r["image_id"]: int(r["n_airplane"]) + int(r["n_truncated_airplane"]) for r in csv.DictReader(fh)}
    assert {k: len(v) for k, v in boxes.items()} == expected
    flat = [b for v in boxes.values() for b in v]
    assert all(0 <= b.x0 < b.x1 <= cs.IMAGE_SIZE and 0 <= b.y0 < b.y1 <= cs.IMAGE_SIZE for b in flat)
    on_edge = [b for b in flat if b.x1 == cs.IMAGE_SIZE or b.y1 == cs.IMAGE_SIZE or b.x0 == 0 or b.y0 == 0]
    assert on_edge and not any(b.countable for b in on_edge)


def test_counting_features_feed_the_counting_task(built, tiny_weights) -> None:
    from backend.models.factory import load_model

    out, rows = built
    model = load_model("tiny-local", weights=str(tiny_weights), device="cpu")
    feats = cs.extract_counting_features(model, out, "airplane", progress=False)
    assert feats["labels"].tolist() == [r["count"] for r in rows]
    assert feats["text_features"].shape == (10, model.embed_dim)
    assert feats["prompts"][2] == "a satellite photo of three airplanes."
    result = evaluate_features(feats)
    assert set(result) == {"counting"} and set(result["counting"]) == {"top1", "within_one", "mean_abs_error"}


def test_cli_errors(tmp_path: Path, capsys) -> None:
    _airbus()
    assert cs.main(["--split", "test", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no images in split 'test'") and err.count("\n") == 1
    assert cs.main(["--split", "valid", "--images", "nope.jpg", "-o", str(tmp_path / "x")]) == 2
    assert "not in split 'valid'" in capsys.readouterr().err
