"""Mask-to-Box: synthetic masks with known components, and the real Dubai masks (colour and palette PNGs)."""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from train.conversion.b2c import read_caption_csv
from train.conversion.m2b import (
    ClassTable,
    M2BConfig,
    M2BStats,
    MaskClass,
    load_class_table,
    main,
    mask_annotation,
    mask_annotations,
    mask_sources,
)
from train.data.annotations import Box

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
DUBAI = DATA / "dubai_segmentation"
needs_data = pytest.mark.skipif(not DUBAI.is_dir(), reason="shared data folder not found")

TABLE = ClassTable((
    MaskClass(0, "background", "background"),
    MaskClass(1, "storagetank", "storagetank"),
    MaskClass(2, "ship", "ship"),
))


def index_mask() -> np.ndarray:
    """20 x 30 px: class 1 has a 4 x 5 block and a 6-pixel diagonal (one object only with 8-connectivity);
    class 2 a 5 x 4 block and a lone pixel; one pixel of index 7, which the table does not know."""
    mask = np.zeros((20, 30), dtype=np.uint8)
    mask[2:6, 3:8] = 1
    for k in range(6):
        mask[10 + k, 10 + k] = 1
    mask[15:20, 0:4] = 2
    mask[18, 25] = 2
    mask[0, 29] = 7
    return mask


def test_index_mask_components_to_boxes():
    stats = M2BStats()
    config = M2BConfig(min_area=5)
    annotation = mask_annotation("a.jpg", Image.fromarray(index_mask()), TABLE, config, stats)
    assert (annotation.width, annotation.height) == (30, 20)
    assert sorted(annotation.boxes, key=lambda b: (b.class_name, b.xmin)) == [
        Box("ship", 0, 15, 4, 20),
        Box("storagetank", 3, 2, 8, 6),
        Box("storagetank", 10, 10, 16, 16),
    ]
    assert stats.reads.dropped_boxes == Counter({"component smaller than the minimum area": 1})  # the lone pixel
    assert stats.unknown_pixels == Counter({"index 7": 1})


def test_four_connectivity_splits_the_diagonal():
    config = M2BConfig(min_area=1, connectivity=4)
    annotation = mask_annotation("a.jpg", Image.fromarray(index_mask()), TABLE, config, M2BStats())
    counts = Counter(b.class_name for b in annotation.boxes)
    assert counts == {"storagetank": 1 + 6, "ship": 2}


def test_instance_mask_gives_one_box_per_value():
    mask = np.zeros((10, 10), dtype=np.uint16)
    mask[1:3, 1:4] = 5
    mask[6:9, 6:8] = 300
    mask[8, 1] = 5  # a second part of instance 5 still belongs to it
    config = M2BConfig(min_area=1, mode="instance", instance_class="building")
    annotation = mask_annotation("b.jpg", Image.fromarray(mask), None, config, M2BStats())
    assert sorted(annotation.boxes, key=lambda b: b.xmin) == [Box("building", 1, 1, 4, 9), Box("building", 6, 6, 8, 9)]


@needs_data
def test_dubai_class_table():
    table = load_class_table(DUBAI / "classes.csv")
    by_name = {c.name: c for c in table.classes}
    assert by_name["water"].color == (226, 169, 41)  # #E2A929, not the wrong classes.json's #50E3C2
    assert by_name["building"].color == (60, 16, 152)
    assert by_name["land"].words == "bare land"
    assert by_name["unlabeled"].words == "unlabeled"  # no prompt: its name


def dubai_member(name: str) -> bytes:
    with tarfile.open(DUBAI / "dubai_tiles.tar") as tar:
        return tar.extractfile(name).read()


@needs_data
@pytest.mark.parametrize("mask_name", ["Tile 1/masks/image_part_001.png", "Tile 2/masks/image_part_001.png"])
def test_real_dubai_mask(mask_name):
    mask = Image.open(io.BytesIO(dubai_member(mask_name)))
    assert mask.mode == ("RGB" if "Tile 1" in mask_name else "P")
    table = load_class_table(DUBAI / "classes.csv")
    config = M2BConfig(min_area=50)
    # As read (palette indices for Tile 2) and as RGB colours: the same boxes, no unknown colour.
    stats = M2BStats()
    annotation = mask_annotation("img.jpg", mask, table, config, stats)
    assert annotation == mask_annotation("img.jpg", mask.convert("RGB"), table, config, M2BStats())
    assert not stats.unknown_pixels
    rgb = np.array(mask.convert("RGB"))
    rgb[:5, :5] = 0  # 25 black pixels: a colour the table does not have
    stats = M2BStats()
    annotation = mask_annotation("img.jpg", Image.fromarray(rgb), table, config, stats)
    assert stats.unknown_pixels == Counter({"#000000": 25})
    assert (annotation.width, annotation.height) == mask.size
    assert annotation.boxes
    assert {b.class_name for b in annotation.boxes} <= {"building", "road", "vegetation", "water"}  # no land
    for box in annotation.boxes:
        assert 0 <= box.xmin < box.xmax <= mask.width and 0 <= box.ymin < box.ymax <= mask.height
        # The box is tight around pixels of its class colour.
        color = next(c.color for c in table.classes if c.words == box.class_name)
        inside = np.all(rgb[int(box.ymin):int(box.ymax), int(box.xmin):int(box.xmax)] == color, axis=-1)
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        assert inside.sum() >= 50


@needs_data
def test_dubai_components_match_the_readme_counts():
    # The README counts 4-connected components with no minimum area over all 18 masks.
    stats = M2BStats()
    table = load_class_table(DUBAI / "classes.csv")
    config = M2BConfig(min_area=1, skip=frozenset(), connectivity=4)
    sources = mask_sources(DUBAI / "dubai_tiles.tar", None, stats)
    counts = Counter(b.class_name for a in mask_annotations(sources, table, config, stats) for b in a.boxes)
    assert (counts["building"], counts["vegetation"], counts["water"]) == (363, 272, 62)
    assert stats.reads.read == 18 and not stats.unknown_pixels


@needs_data
def test_cli_on_the_dubai_tar(tmp_path, capsys):
    out = tmp_path / "captions.csv"
    assert main([str(DUBAI / "dubai_tiles.tar"), "-o", str(out), "--min-area", "50"]) == 0
    assert "read 18, skipped 0" in capsys.readouterr().out
    rows = read_caption_csv(out)
    with open(DUBAI / "pairs.csv", newline="") as fh:
        pairs = list(csv.DictReader(fh))
    assert [r.image for r in rows] == [p["image_path_in_tar"] for p in pairs]
    assert [(r.width, r.height) for r in rows] == [(int(p["width"]), int(p["height"])) for p in pairs]
    assert all(len(set(r.captions)) == 5 for r in rows)
    assert not any("land" in c or "unlabeled" in c for r in rows for c in r.captions)


def test_cli_errors(tmp_path, capsys):
    out = tmp_path / "captions.csv"
    assert main([str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(masks / "m.png")
    assert main([str(masks), "-o", str(out)]) == 2  # an RGB mask needs a colour table
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--colors" in err and err.count("\n") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["masks"]


def test_cli_index_masks_with_a_table(tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(index_mask()).save(masks / "a.png")
    (tmp_path / "classes.csv").write_text("class_index,class_name\n0,background\n1,storagetank\n2,ship\n")
    out = tmp_path / "captions.csv"
    assert main([str(masks), "-o", str(out), "--colors", str(tmp_path / "classes.csv"), "--min-area", "5"]) == 0
    (row,) = read_caption_csv(out)
    assert row.image == "a.png" and row.n_boxes == 3
    assert row.captions[0] == "There are two storage tanks and one ship in the image."
