"""Annotation readers on the shared real data: DIOR (VOC XML in a .tar.xz), DOTA, Airbus aircraft, COCO."""

from __future__ import annotations

import csv
import json
import math
import tarfile
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from backend.errors import UserError
from train.data.annotations import Box, ReadStats, clean_boxes
from train.data.readers import read_aircraft, read_annotations, read_coco, read_dota, read_voc

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
DIOR_TAR = DATA / "dior" / "dior_annotations.tar.xz"
DOTA = DATA / "dota_sample"
AIRCRAFT = DATA / "airbus_aircraft"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not found")

# DIOR XMLs picked for their content: 00001 and 00002 are the first in the tar; 04137 holds the
# zero-width ship (162,329,162,330); 05195 the ship reaching x = 802 in an 800-px image.
DIOR_PICKS = ("00001", "00002", "04137", "05195")


@pytest.fixture(scope="module")
def dior_xmls(tmp_path_factory) -> Path:
    """The picked DIOR XMLs copied out of the tar (one pass over the stream, stopping after the last)."""
    folder = tmp_path_factory.mktemp("dior")
    wanted = {f"DIOR/annotations/horizontal/{i}.xml" for i in DIOR_PICKS}
    with tarfile.open(DIOR_TAR, "r|xz") as tar:
        for member in tar:
            if member.name in wanted:
                (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())
                wanted.discard(member.name)
                if not wanted:
                    break
    return folder


def test_dior_tar_streams_the_first_records():
    stats = ReadStats()
    first = list(islice(read_voc(DIOR_TAR, stats), 2))
    assert [a.image for a in first] == ["00001.jpg", "00002.jpg"]
    assert (first[0].width, first[0].height) == (800, 800)
    assert first[0].boxes == [Box("golffield", 133, 237, 684, 672)]
    assert first[1].boxes[0] == Box("Expressway-toll-station", 231, 221, 303, 304)
    assert Counter(b.class_name for b in first[1].boxes)["vehicle"] >= 3
    assert stats.read == 2 and stats.skipped == 0


def test_dior_quirks_zero_size_dropped_and_out_of_bounds_clipped(dior_xmls):
    stats = ReadStats()
    by_name = {a.image: a for a in read_voc(dior_xmls, stats)}
    assert sorted(by_name) == [f"{i}.jpg" for i in DIOR_PICKS]
    # 04137 has 59 objects; the ship (162,329,162,330) has zero width.
    assert len(by_name["04137.jpg"].boxes) == 58
    assert Box("ship", 162, 329, 162, 330) not in by_name["04137.jpg"].boxes
    # 05195: ship (786,502,802,528) is cut at the image edge, x = 800; all 125 objects kept.
    assert len(by_name["05195.jpg"].boxes) == 125
    assert Box("ship", 786, 502, 800, 528) in by_name["05195.jpg"].boxes
    assert stats.read == 4 and stats.skipped == 0
    assert stats.dropped_boxes == Counter({"zero or negative size": 1})
    assert stats.clipped_boxes == 1


def test_malformed_xml_is_skipped_and_counted(dior_xmls, tmp_path):
    (tmp_path / "good.xml").write_bytes((dior_xmls / "00001.xml").read_bytes())
    (tmp_path / "bad.xml").write_text("<annotation><size><width>800</width></annotation")
    stats = ReadStats()
    annotations = list(read_voc(tmp_path, stats))
    assert [a.image for a in annotations] == ["00001.jpg"]
    assert (stats.read, stats.skipped) == (1, 1)
    assert stats.reasons == Counter({"bad XML": 1})


def test_voc_without_size_and_bad_bndbox(tmp_path):
    (tmp_path / "nosize.xml").write_text("<annotation><filename>a.jpg</filename></annotation>")
    (tmp_path / "badbox.xml").write_text(
        "<annotation><size><width>100</width><height>50</height></size>"
        "<object><name>ship</name><bndbox><xmin>x</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
        "<object><name>ship</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>60</ymax></bndbox></object>"
        "</annotation>"
    )
    stats = ReadStats()
    (annotation,) = read_voc(tmp_path, stats)
    assert annotation.image == "badbox.jpg"  # no <filename>: the XML's stem
    assert annotation.boxes == [Box("ship", 1, 1, 5, 50)]
    assert stats.reasons == Counter({"missing or zero <size>": 1})
    assert stats.dropped_boxes == Counter({"bad <bndbox>": 1})


def test_missing_input_is_a_user_error(tmp_path):
    for reader in (read_voc, read_dota, read_coco, read_aircraft):
        with pytest.raises(UserError, match="not found"):
            reader(tmp_path / "nothing-here")
    with pytest.raises(UserError, match="unknown annotation format"):
        read_annotations("yolo", tmp_path)


def test_dota_sample():
    stats = ReadStats()
    by_name = {a.image: a for a in read_dota(DOTA, stats)}
    assert len(by_name) == 7 and stats.read == 7
    p0706 = by_name["P0706.png"]
    assert (p0706.width, p0706.height) == (1111, 1182)  # from the PNG's header
    assert Counter(b.class_name for b in p0706.boxes) == {"ship": 531, "harbor": 5}
    assert sum(b.difficult for b in p0706.boxes) == 6
    # The first object reaches x = 1112, one pixel past the 1111-px-wide image: clipped.
    assert p0706.boxes[0] == Box("ship", 1054, 1011, 1111, 1062, difficult=True)
    assert stats.clipped_boxes == 1
    p1888 = by_name["P1888.png"]
    assert (p1888.width, p1888.height) == (712, 557)
    assert Counter(b.class_name for b in p1888.boxes) == {"large-vehicle": 50, "small-vehicle": 14}
    assert p1888.boxes[0] == Box("small-vehicle", 674, 375, 684, 395)
    # P1234's PNG is missing: the size is the largest coordinate, rounded up.
    p1234 = by_name["P1234.png"]
    assert len(p1234.boxes) == 144
    assert p1234.width == math.ceil(max(b.xmax for b in p1234.boxes))
    assert p1234.height == math.ceil(max(b.ymax for b in p1234.boxes))


def test_dota_malformed_lines_are_dropped(tmp_path):
    (tmp_path / "x.txt").write_text(
        "imagesource:GoogleEarth\r\ngsd:0.5\r\n"
        "10 10 20 10 20 30 10 30 plane 0\r\n"
        "10 10 20 10 plane 0\r\n"  # short
        "10 10 20 a 20 30 10 30 plane 0\r\n"  # not a number
        "5 5 8 5 8 9 5 9 storage-tank 1\r\n"
    )
    stats = ReadStats()
    (annotation,) = read_dota(tmp_path / "x.txt", stats)
    assert annotation.boxes == [Box("plane", 10, 10, 20, 30), Box("storage-tank", 5, 5, 8, 9, difficult=True)]
    assert (annotation.width, annotation.height) == (20, 30)
    assert stats.dropped_boxes == Counter({"short DOTA line": 1, "bad polygon": 1})


def test_aircraft_counts_match_counts_csv():
    stats = ReadStats()
    annotations = list(read_aircraft(AIRCRAFT / "annotations.csv", stats))
    with open(AIRCRAFT / "counts.csv", newline="") as fh:
        expected = {r["image_id"]: (int(r["n_airplane"]), int(r["n_truncated_airplane"])) for r in csv.DictReader(fh)}
    got = {}
    for a in annotations:
        counts = Counter(b.class_name for b in a.boxes)
        got[Path(a.image).name] = (counts["Airplane"], counts["Truncated_airplane"])
        assert (a.width, a.height) == (2560, 2560)
        assert all(0 <= b.xmin < b.xmax <= 2560 and 0 <= b.ymin < b.ymax <= 2560 for b in a.boxes)
    assert got == expected
    assert stats.read == 103 and sum(len(a.boxes) for a in annotations) == 3425
    assert stats.clipped_boxes == 12  # the README's 12 boxes past 2560
    # Names are the tar paths, from splits.csv.
    assert annotations[0].image == "train/4f833867-273e-4d73-8bc3-cb2d9ceb54ef.jpg"
    assert sum(a.image.startswith("valid/") for a in annotations) == 8


def test_aircraft_bad_polygon_is_dropped(tmp_path):
    (tmp_path / "annotations.csv").write_text(
        "id,image_id,geometry,class\n"
        '1,a.jpg,"[(135, 522), (245, 522), (245, 600), (135, 600), (135, 522)]",Airplane\n'
        '2,a.jpg,"[(135, 522), (245"),Airplane\n'
        '3,a.jpg,"__import__(\'os\')",Airplane\n'
        '4,b.jpg,"[(1, 2), (3, 4)]",Truncated_airplane\n'
    )
    stats = ReadStats()
    annotations = list(read_aircraft(tmp_path, stats))
    assert [a.image for a in annotations] == ["a.jpg", "b.jpg"]
    assert annotations[0].boxes == [Box("Airplane", 135, 522, 245, 600)]
    assert annotations[1].boxes == []
    assert stats.dropped_boxes == Counter({"bad polygon": 3})


def test_coco_small_json(tmp_path):
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.jpg", "width": 50, "height": 50},
            {"id": 3, "file_name": "c.jpg"},
        ],
        "categories": [{"id": 7, "name": "storagetank"}, {"id": 9, "name": "ship"}],
        "annotations": [
            {"image_id": 1, "category_id": 7, "bbox": [10, 20, 30, 40]},
            {"image_id": 1, "category_id": 9, "bbox": [90, 70, 20, 20]},  # past the edge: clipped
            {"image_id": 1, "category_id": 9, "bbox": [5, 5, 0, 10]},  # zero width
            {"image_id": 1, "category_id": 3, "bbox": [5, 5, 5, 5]},  # unknown category
            {"image_id": 2, "category_id": 9, "bbox": [1, 1, 5, 5], "iscrowd": 1},
            {"image_id": 2, "category_id": 9, "bbox": "oops"},
            {"image_id": 42, "category_id": 9, "bbox": [1, 1, 5, 5]},
        ],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    stats = ReadStats()
    annotations = list(read_coco(path, stats))
    assert [a.image for a in annotations] == ["a.jpg", "b.jpg"]
    assert annotations[0].boxes == [Box("storagetank", 10, 20, 40, 60), Box("ship", 90, 70, 100, 80)]
    assert annotations[1].boxes == []
    assert (stats.read, stats.skipped) == (2, 1)
    assert stats.reasons == Counter({"image without width/height": 1})
    assert stats.dropped_boxes == Counter({
        "zero or negative size": 1, "unknown category": 1, "crowd annotation": 1, "bad bbox": 1,
        "annotation of an unknown image": 1,
    })
    assert stats.clipped_boxes == 1


def test_coco_malformed_json_is_one_user_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [')
    with pytest.raises(UserError) as err:
        read_coco(path)
    assert "not valid JSON" in str(err.value) and "\n" not in str(err.value)
    path.write_text("[1, 2]")
    with pytest.raises(UserError, match="not COCO JSON"):
        read_coco(path)


def test_clean_boxes_counts_why():
    result = clean_boxes(
        [Box("a", 0, 0, 10, 10), Box("b", 5, 5, 5, 9), Box("c", 120, 5, 130, 9), Box("d", -5, -5, 4, 4),
         Box("e", 0, 0, float("nan"), 3)],
        width=100, height=100,
    )
    assert result.boxes == [Box("a", 0, 0, 10, 10), Box("d", 0, 0, 4, 4)]
    assert result.dropped == Counter({"zero or negative size": 1, "outside the image": 1, "coordinates not finite": 1})
    assert result.clipped == 1
