"""Dataset writers: open_clip CSV read back by open_clip's CsvDataset, shards read back by webdataset,
the caption-set and scene-set sources, and the make_dataset CLI."""

from __future__ import annotations

import csv
import io
import json
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.errors import UserError
from train.conversion.dataset_writers import (
    SCENE_TEMPLATES,
    Sample,
    ShardOptions,
    TarImages,
    caption_csv_samples,
    image_source,
    karpathy_samples,
    precomp_samples,
    scene_samples,
    write_csv,
    write_shards,
)
from train.conversion.make_dataset import main
from train.data.scene_sets import SceneImage, SceneSet, load_folder_per_class

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data folder not found")
DUBAI_TAR = DATA / "dubai_segmentation" / "dubai_tiles.tar"
DUBAI_IMAGES = [
    "Tile 1/images/image_part_001.jpg", "Tile 1/images/image_part_002.jpg", "Tile 2/images/image_part_003.jpg"
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Tars that a CSV needs unpacked go to a per-test cache, never the user's."""
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))


def caption_csv(path: Path, images: list[str]) -> Path:
    """A caption CSV as train.b2c writes it, five numbered captions per image."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", *(f"caption_{i}" for i in range(1, 6)), "width", "height", "n_boxes"])
        for image in images:
            writer.writerow([image, *(f"{Path(image).stem} caption {i}." for i in range(1, 6)), 10, 10, 1])
    return path


def fake_pandas() -> types.ModuleType:
    """Just enough of pandas for ``CsvDataset``: ``read_csv(path, sep)`` -> columns with ``tolist()``.

    The venv has no pandas (open_clip_train imports it for this one call). The stub parses with the csv
    module's defaults, which are pandas' defaults too (``"`` quoting, doubled quotes inside)."""

    class Frame:
        def __init__(self, rows: list[list[str]]) -> None:
            self.header, self.rows = rows[0], rows[1:]

        def __getitem__(self, column: str):
            values = [row[self.header.index(column)] for row in self.rows]
            return types.SimpleNamespace(tolist=lambda: values)

    def read_csv(path, sep=","):
        with open(path, newline="", encoding="utf-8") as fh:
            return Frame(list(csv.reader(fh, delimiter=sep)))

    module = types.ModuleType("pandas")
    module.read_csv = read_csv
    return module


@pytest.fixture
def csv_dataset_class(monkeypatch):
    """open_clip_train's CsvDataset, imported with the fake pandas when the real one is missing."""
    try:
        import pandas  # noqa: F401

        stubbed = False
    except ImportError:
        monkeypatch.setitem(sys.modules, "pandas", fake_pandas())
        monkeypatch.delitem(sys.modules, "open_clip_train.data", raising=False)
        stubbed = True
    from open_clip_train.data import CsvDataset

    yield CsvDataset
    if stubbed:
        sys.modules.pop("open_clip_train.data", None)  # bound to the stub: not for other tests


@needs_data
def test_csv_is_read_by_open_clip_csv_dataset(tmp_path, csv_dataset_class):
    import open_clip
    from torchvision import transforms

    captions = caption_csv(tmp_path / "captions.csv", ["P1888.png", "P0770.png", "P0706.png"])
    samples = caption_csv_samples(captions)
    # One caption with a tab and a quote: cleaned to one line, quoted as pandas expects.
    samples[0] = Sample(samples[0].image, ('cars "parked"\tin rows.', *samples[0].captions[1:]))
    out = tmp_path / "train.csv"
    stats = write_csv(samples, image_source(DATA / "dota_sample" / "images"), out)
    assert (stats.images, stats.rows, stats.skipped["image not found"]) == (2, 10, 1)  # P0770's PNG is missing
    transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    tokenizer = open_clip.get_tokenizer("RN50")
    dataset = csv_dataset_class(str(out), transform, img_key="filepath", caption_key="title", sep="\t",
                                tokenizer=tokenizer)
    assert len(dataset) == 10
    assert dataset.images[0] == str((DATA / "dota_sample" / "images" / "P1888.png").resolve())
    assert Path(dataset.images[0]).is_absolute()
    assert dataset.captions[:2] == ['cars "parked" in rows.', "P1888 caption 2."]
    assert dataset.captions[5] == "P0706 caption 1."
    image, tokens = dataset[0]
    assert tuple(image.shape) == (3, 32, 32)
    assert tokens.shape == (77,) and int(tokens[0]) == tokenizer.sot_token_id


@needs_data
def test_shards_are_read_by_webdataset(tmp_path):
    import webdataset as wds

    captions = caption_csv(tmp_path / "captions.csv", [*DUBAI_IMAGES, "Tile 9/images/none.jpg"])
    out = tmp_path / "shards"
    stats = write_shards(caption_csv_samples(captions), image_source(DUBAI_TAR), out, ShardOptions(shard_size=2))
    assert (stats.images, stats.rows, stats.skipped["image not found"]) == (3, 3, 1)
    assert sorted(p.name for p in out.iterdir()) == ["shard-000000.tar", "shard-000001.tar"]
    urls = [str(p) for p in sorted(out.iterdir())]
    dataset = wds.WebDataset(urls, shardshuffle=False).to_tuple("__key__", "jpg", "txt", "json")
    read = list(dataset)
    assert [key for key, *_ in read] == ["0000000_image_part_001", "0000001_image_part_002", "0000002_image_part_003"]
    with tarfile.open(DUBAI_TAR) as tar:
        for (_, jpg, txt, meta), name in zip(read, DUBAI_IMAGES):
            info = json.loads(meta)
            assert info["image"] == name
            assert info["captions"] == [f"{Path(name).stem} caption {i}." for i in range(1, 6)]
            assert txt.decode() in info["captions"]
            assert jpg == tar.extractfile(name).read()  # a JPEG is copied byte for byte
    # The same again: the caption picked for .txt depends on the seed and the image, not on the run.
    again = write_shards(caption_csv_samples(captions), image_source(DUBAI_TAR), tmp_path / "again",
                         ShardOptions(shard_size=2))
    assert [Path(s).read_bytes() for s in again.shards] == [Path(s).read_bytes() for s in stats.shards]


@needs_data
def test_per_caption_shards_and_png_to_jpeg(tmp_path):
    import webdataset as wds

    samples = [Sample("P1888.png", ("cars.", "a parking lot.")), Sample("P0706.png", ("ships.",))]
    out = tmp_path / "shards"
    stats = write_shards(samples, image_source(DATA / "dota_sample" / "images"), out,
                         ShardOptions(shard_size=2, per_caption=True))
    assert (stats.images, stats.rows, len(stats.shards)) == (2, 3, 2)
    read = list(wds.WebDataset([str(p) for p in sorted(out.iterdir())], shardshuffle=False)
                .decode("pil").to_tuple("__key__", "jpg", "txt"))
    assert [(key, txt) for key, _, txt in read] == [
        ("0000000_P1888_c0", "cars."), ("0000000_P1888_c1", "a parking lot."), ("0000001_P0706_c0", "ships."),
    ]
    assert read[0][1].size == (712, 557) and read[2][1].size == (1111, 1182)


@needs_data
def test_precomp_caption_splits():
    rsicd_test = precomp_samples(DATA / "captions" / "rsicd_precomp", "test")
    assert len(rsicd_test) == 1093 and all(len(s.captions) == 5 for s in rsicd_test)
    rsitmd_train = precomp_samples(DATA / "captions" / "rsitmd_precomp", "train")
    assert len(rsitmd_train) == 4291
    # The README's 4 images whose 5 captions are all blank.
    blank = sorted(s.image for s in rsitmd_train if not s.captions)
    assert blank == ["mountain_2378.tif", "railwaystation_3254.tif", "storagetanks_4367.tif", "viaduct_4635.tif"]
    assert sum(len(s.captions) for s in rsitmd_train) == 21455 - 20
    first = rsicd_test[0]
    with open(DATA / "captions" / "rsicd_precomp" / "test_caps.txt") as fh:
        assert list(first.captions) == [next(fh).strip() for _ in range(5)]


@needs_data
def test_captions_cli_with_an_image_folder(tmp_path, capsys):
    names = [s.image for s in precomp_samples(DATA / "captions" / "rsicd_precomp", "test")[:2]]
    images = tmp_path / "RSICD_images"
    images.mkdir()
    for name in names:
        Image.fromarray(np.full((8, 8, 3), 100, dtype=np.uint8)).save(images / name)
    out = tmp_path / "rsicd.csv"
    code = main(["captions", str(DATA / "captions" / "rsicd_precomp"), "--split", "test", "--images", str(images),
                 "-o", str(out)])
    assert code == 0
    assert "wrote 2 images, 10 rows (skipped: image not found: 1091)" in capsys.readouterr().out
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 10 and rows[0]["filepath"] == str(images / names[0])


def test_karpathy_json(tmp_path):
    path = tmp_path / "dataset_rsicd.json"
    path.write_text(json.dumps({"images": [
        {"filename": "airport_1.jpg", "split": "train", "sentences": [{"raw": " many planes .\n"}, {"raw": ""}]},
        {"filename": "beach_2.jpg", "split": "test", "sentences": [{"raw": "a beach ."}]},
    ]}))
    assert karpathy_samples(path, "train") == [Sample("airport_1.jpg", ("many planes .",))]
    assert [s.image for s in karpathy_samples(path)] == ["airport_1.jpg", "beach_2.jpg"]
    path.write_text('{"images": [')
    with pytest.raises(UserError, match="not valid JSON"):
        karpathy_samples(path)


@needs_data
def test_scene_set_captions_from_templates(tmp_path):
    root = tmp_path / "scenes"
    with tarfile.open(DATA / "rsscn7" / "rsscn7_256.tar") as tar:
        for member, folder in (("aGrass/a001.jpg", "grassland"), ("cIndustry/c001.jpg", "storagetank")):
            (root / folder).mkdir(parents=True)
            (root / folder / Path(member).name).write_bytes(tar.extractfile(member).read())
    scenes = load_folder_per_class(root)
    samples = scene_samples(scenes)
    assert samples[0].captions == tuple(t.format("grassland") for t in SCENE_TEMPLATES)
    assert samples[1].captions[0] == "a satellite photo of storage tank."  # folder name made into words
    # The shared sets' prompt words ("industrial area"), split by split.
    rsscn7_like = SceneSet("rsscn7", ["grassland", "industry"], ["grassland", "industrial area"], [
        SceneImage(root / "grassland" / "a001.jpg", 0, "train"),
        SceneImage(root / "storagetank" / "c001.jpg", 1, "test"),
    ])
    (test_sample,) = scene_samples(rsscn7_like, ("an aerial image of {}.",), split="test")
    assert test_sample.captions == ("an aerial image of industrial area.",)

    out = tmp_path / "scenes_wds"
    assert main(["scenes", str(root), "--format", "wds", "--shard-size", "1", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["shard-000000.tar", "shard-000001.tar"]
    with tarfile.open(out / "shard-000000.tar") as tar:
        assert tar.getnames() == ["0000000_a001.jpg", "0000000_a001.json", "0000000_a001.txt"]
        assert tar.extractfile("0000000_a001.txt").read().decode() in samples[0].captions
        assert Image.open(io.BytesIO(tar.extractfile("0000000_a001.jpg").read())).size == (256, 256)


def test_tar_images_find_by_path_stem_and_name(tmp_path):
    path = tmp_path / "images.tar"
    with tarfile.open(path, "w") as tar:
        for name in ("a/images/x.jpg", "a/images/y.jpg", "b/images/y.jpg"):
            data = io.BytesIO()
            Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(data, format="JPEG")
            info = tarfile.TarInfo(name)
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))
    images = TarImages(path)
    assert images.find("a/images/x.jpg") == "a/images/x.jpg"
    assert images.find("a/images/x.png") == "a/images/x.jpg"  # mask name, image suffix
    assert images.find("x.jpg") == "a/images/x.jpg"
    assert images.find("y.jpg") is None  # two of them: never guess
    images.close()


def test_cli_bad_inputs_are_one_line_errors_and_leave_nothing(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["b2c", str(tmp_path / "missing.csv"), "--images", str(tmp_path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not found" in err and err.count("\n") == 1
    broken = tmp_path / "captions.json"
    broken.write_text("{not json")
    assert main(["captions", str(broken), "--images", str(tmp_path), "-o", str(out)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    good = caption_csv(tmp_path / "captions.csv", ["a.jpg"])
    assert main(["b2c", str(good), "--images", str(tmp_path), "-o", str(out)]) == 2  # a.jpg does not exist
    assert "none of the 1 images could be written; e.g. 'a.jpg' not found" in capsys.readouterr().err
    assert main(["b2c", str(good), "--images", str(tmp_path), "--format", "wds", "-o", str(tmp_path / "w")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.csv", "captions.json"]


def test_cli_refuses_a_non_empty_shard_folder(tmp_path, capsys):
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    good = caption_csv(tmp_path / "captions.csv", ["a.jpg"])
    out = tmp_path / "shards"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["b2c", str(good), "--images", str(tmp_path), "--format", "wds", "-o", str(out)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@needs_data
def test_csv_from_a_tar_points_into_the_unpacked_cache(tmp_path):
    captions = caption_csv(tmp_path / "captions.csv", DUBAI_IMAGES[:1])
    stats = write_csv(caption_csv_samples(captions), image_source(DUBAI_TAR), tmp_path / "train.csv")
    assert (stats.images, stats.rows) == (1, 5)
    with open(tmp_path / "train.csv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    path = Path(rows[0]["filepath"])
    assert path.is_relative_to(tmp_path / "cache") and path.as_posix().endswith(DUBAI_IMAGES[0])
    with tarfile.open(DUBAI_TAR) as tar:
        assert path.read_bytes() == tar.extractfile(DUBAI_IMAGES[0]).read()
