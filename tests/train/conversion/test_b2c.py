"""Box-to-Caption: exact captions for hand-made boxes, words, real DOTA/Airbus captions, and the CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from train.conversion.b2c import (
    CSV_COLUMNS,
    B2CConfig,
    caption_rows,
    captions_for,
    class_words,
    count_word,
    counted,
    grid_cell,
    mentioned,
    read_caption_csv,
    write_caption_csv,
)
from train.data.annotations import Box, ImageAnnotation, ReadStats
from train.data.readers import read_dota

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not found")

# 300 x 300 px: an airplane in the top-left cell, two ships in the centre, a storage tank bottom right.
SCENE = ImageAnnotation("x.jpg", 300, 300, [
    Box("airplane", 10, 10, 50, 50),
    Box("ship", 120, 120, 140, 160),
    Box("ship", 150, 130, 180, 170),
    Box("storagetank", 250, 250, 290, 290),
])


def test_five_captions_for_a_hand_made_annotation():
    assert captions_for(SCENE) == [
        "There are two ships, one airplane and one storage tank in the image.",
        "The image mainly contains ships.",
        "Two ships are in the center, an airplane is at the top left and a storage tank is at the bottom right.",
        "A remote sensing image of ships, an airplane and a storage tank.",
        # The airplane and the storage tank are both 40 x 40 px: the first box wins the tie.
        "The largest object is an airplane at the top left.",
    ]


def test_captions_are_deterministic_and_the_seed_only_picks_a_template():
    assert captions_for(SCENE) == captions_for(SCENE)
    other = captions_for(SCENE, B2CConfig(seed=2))
    assert other[3] == "A satellite image showing ships, an airplane and a storage tank."
    assert other[:3] + other[4:] == captions_for(SCENE)[:3] + captions_for(SCENE)[4:]


def test_class_names_are_normalised_and_counts_above_ten_are_many():
    boxes = [Box("Expressway-Service-area", 0, 0, 400, 300)]
    boxes += [Box("storagetank", 500 + 10 * i, 600, 505 + 10 * i, 610) for i in range(12)]
    boxes += [Box("bus", 10, 700, 20, 710), Box("bus", 30, 700, 40, 710)]
    captions = captions_for(ImageAnnotation("y.jpg", 800, 800, boxes))
    assert captions[0] == "There are many storage tanks, two buses and one expressway service area in the image."
    assert captions[2] == (
        "Storage tanks are at the bottom and at the bottom right, two buses are at the bottom left, "
        "and an expressway service area is at the top left."
    )
    assert captions[4] == "The largest object is an expressway service area at the top left."
    # A higher threshold: twelve has no word in the list, so it stays digits.
    higher = captions_for(ImageAnnotation("y.jpg", 800, 800, boxes), B2CConfig(many_above=20))
    assert higher[0] == "There are 12 storage tanks, two buses and one expressway service area in the image."
    lower = captions_for(ImageAnnotation("y.jpg", 800, 800, boxes), B2CConfig(many_above=1))
    assert lower[0] == "There are many storage tanks, many buses and one expressway service area in the image."


@pytest.mark.parametrize(("noun", "n", "text"), [
    ("ship", 1, "one ship"), ("ship", 3, "three ships"), ("ship", 10, "ten ships"), ("ship", 11, "many ships"),
    ("bus", 2, "two buses"), ("aircraft", 4, "four aircraft"), ("person", 2, "two people"),
    ("storage tank", 5, "five storage tanks"), ("chimney", 2, "two chimneys"), ("overpass", 2, "two overpasses"),
    ("water", 2, "two areas of water"), ("bare land", 1, "one area of bare land"),
])
def test_counted_plurals(noun, n, text):
    assert counted(noun, n) == text


def test_singular_forms_and_articles():
    assert class_words("people") == "person"
    assert class_words("storage-tanks") == "storage tank"
    assert class_words("buses") == "bus"
    assert class_words("Truncated_airplane", {"Truncated_airplane": "airplane"}) == "airplane"
    assert counted("airport", 1, with_article=True) == "an airport"
    assert counted("harbor", 1, with_article=True) == "a harbor"
    assert mentioned("airport", 1) == "an airport" and mentioned("ship", 2) == "ships"
    assert mentioned("water", 3) == "water"
    assert [count_word(n) for n in (1, 7, 10, 11)] == ["one", "seven", "ten", "many"]
    assert captions_for(ImageAnnotation("p.jpg", 90, 90, [Box("people", 0, 0, 9, 9)]))[0] == (
        "There is one person in the image."
    )


def test_grid_cells_in_pixels():
    assert grid_cell(Box("a", 0, 0, 10, 10), 300, 300) == 0
    assert grid_cell(Box("a", 140, 140, 160, 160), 300, 300) == 4
    assert grid_cell(Box("a", 290, 150, 300, 160), 300, 300) == 5
    assert grid_cell(Box("a", 295, 295, 300, 300), 300, 300) == 8  # centre on the far edge stays inside


def test_images_without_boxes_are_skipped_and_counted():
    stats = ReadStats(read=2)
    rows = list(caption_rows([SCENE, ImageAnnotation("empty.jpg", 10, 10, [])], stats=stats))
    assert [r.image for r in rows] == ["x.jpg"]
    assert rows[0].n_boxes == 4 and (rows[0].width, rows[0].height) == (300, 300)
    assert (stats.read, stats.skipped, stats.reasons["no boxes"]) == (1, 1, 1)


@needs_data
def test_real_dota_captions_are_five_distinct_sentences(tmp_path):
    rows = list(caption_rows(read_dota(DATA / "dota_sample")))
    assert len(rows) == 7
    for row in rows:
        assert len(set(row.captions)) == 5
        assert all(c[0].isupper() and c.endswith(".") for c in row.captions)
    by_name = {r.image: r for r in rows}
    assert by_name["P0706.png"].captions[0] == "There are many ships and five harbors in the image."
    assert by_name["P1888.png"].captions[0] == "There are many large vehicles and many small vehicles in the image."
    out = tmp_path / "captions.csv"
    assert write_caption_csv(rows, out) == 7
    assert read_caption_csv(out) == rows
    with open(out, newline="") as fh:
        assert csv.DictReader(fh).fieldnames == CSV_COLUMNS


def run_b2c(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "train.b2c", *args], cwd=cwd, env=env, capture_output=True, text=True)


@needs_data
def test_cli_writes_captions_for_the_aircraft_csv(tmp_path):
    out = tmp_path / "captions.csv"
    done = run_b2c("--format", "aircraft", str(DATA / "airbus_aircraft" / "annotations.csv"), "-o", str(out),
                   "--rename", "Truncated_airplane=airplane", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "read 103, skipped 0" in done.stdout
    rows = read_caption_csv(out)
    assert len(rows) == 103 and sum(r.n_boxes for r in rows) == 3425
    assert not any("truncated" in c for r in rows for c in r.captions)
    fewest = {r.image: r for r in rows}["train/791377f0-a01c-4fc3-b6e9-151b6cb80fdf.jpg"]  # the README's fewest
    assert fewest.n_boxes == 5
    assert fewest.captions[0] == "There are five airplanes in the image."


def test_cli_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys):
    from train.conversion.b2c import main

    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [{"id": 1,')
    out = tmp_path / "captions.csv"
    assert main(["--format", "coco", str(broken), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not valid JSON" in err and err.count("\n") == 1
    assert main(["--format", "voc", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--format", "coco", str(broken), "-o", str(tmp_path / "no" / "such" / "dir.csv")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json"]  # no output, no temporary left


def test_cli_nothing_to_caption_writes_nothing(tmp_path, capsys):
    from train.conversion.b2c import main

    (tmp_path / "a.xml").write_text(
        "<annotation><size><width>10</width><height>10</height></size>"
        "<object><name>ship</name><bndbox><xmin>3</xmin><ymin>3</ymin><xmax>3</xmax><ymax>5</ymax></bndbox></object>"
        "</annotation>"
    )
    out = tmp_path / "out.csv"
    assert main(["--format", "voc", str(tmp_path / "a.xml"), "-o", str(out)]) == 2
    assert "no image had a usable box" in capsys.readouterr().err
    assert not out.exists()
