"""Pretraining through open_clip's trainer: real short runs on real RSSCN7 images, resume, export."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
import torch

from backend.errors import UserError
from backend.models.factory import load_model
from train.data.scene_sets import load_rsscn7
from train.pretraining.export_model import export_checkpoint
from train.pretraining.pretrain import config_to_argv, expand, load_config, main, parse_override

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def test_config_to_argv():
    argv = config_to_argv({"model": "RN50", "batch_size": 8, "lock_text": True, "grad_checkpointing": False,
                           "aug_cfg": {"scale": "(0.5, 1.0)"}, "notes": "ignored", "lr": 1e-4})
    assert argv == ["--model", "RN50", "--batch-size", "8", "--lock-text", "--aug-cfg", "scale=(0.5, 1.0)",
                    "--lr", "0.0001"]
    assert parse_override("epochs=2") == ("epochs", 2)
    assert parse_override("resume=latest") == ("resume", "latest")
    with pytest.raises(UserError):
        parse_override("epochs")


def test_placeholders_and_bad_configs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REMOTECLIP_CACHE", str(tmp_path / "c"))
    assert expand({"train_data": "{data}/x.csv"})["train_data"] == str(tmp_path / "c" / "data" / "x.csv")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_config(bad)
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"model": "RN50", "no_such_option": 1}))
    assert main([str(unknown)]) == 2


def test_shipped_configs_parse():
    from open_clip_train.params import parse_args

    for path in sorted((ROOT / "train" / "configs").glob("*.json")):
        args = parse_args(config_to_argv(expand(load_config(path))))
        assert args.model and args.batch_size > 0 and args.epochs > 0, path


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """A real open_clip CSV: 32 RSSCN7 training images with class captions."""
    tmp = tmp_path_factory.mktemp("pretrain")
    mp = pytest.MonkeyPatch()
    mp.setenv("REMOTECLIP_CACHE", str(tmp / "cache"))
    scenes = load_rsscn7()
    mp.undo()
    rows = scenes.split("train")[::70][:32]
    path = tmp / "train.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["filepath", "title"])
        for im in rows:
            w.writerow([str(im.path), f"a satellite photo of {scenes.prompts[im.label]}."])
    return tmp, path


def _run(tmp, cfg, *sets):
    cfg_path = tmp / f"{cfg['name']}.json"
    cfg_path.write_text(json.dumps(cfg))
    return subprocess.run([sys.executable, "-m", "train.pretrain", str(cfg_path), *sets], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_short_run_resume_and_export(small_csv, tiny_weights):
    tmp, data = small_csv
    cfg = {"model": "Tiny-ViT-Test", "name": "tiny", "dataset_type": "csv", "csv_img_key": "filepath",
           "csv_caption_key": "title", "csv_separator": "\t", "train_data": str(data), "batch_size": 8,
           "lr": 1e-3, "warmup": 2, "epochs": 1, "workers": 0, "precision": "fp32", "logs": str(tmp / "runs"),
           "report_to": "", "zeroshot_frequency": 0, "seed": 0}
    proc = _run(tmp, cfg)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpts = tmp / "runs" / "tiny" / "checkpoints"
    assert (ckpts / "epoch_1.pt").exists() and "Train Epoch: 0" in proc.stderr + proc.stdout
    proc = _run(tmp, cfg, "--set", "epochs=2", "--set", "resume=latest")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "resuming checkpoint" in proc.stderr + proc.stdout and (ckpts / "epoch_2.pt").exists()

    first = torch.load(ckpts / "epoch_1.pt", map_location="cpu", weights_only=True)["state_dict"]
    second = torch.load(ckpts / "epoch_2.pt", map_location="cpu", weights_only=True)["state_dict"]
    assert any(not torch.equal(first[k], second[k]) for k in first)  # the resumed epoch trained

    out = export_checkpoint(ckpts / "epoch_2.pt", tmp / "tiny.pt")
    model = load_model("tiny-local", weights=str(out), device="cpu")
    for key, value in model.model.state_dict().items():
        assert torch.allclose(value, second[key].float()), key


def test_small_recipe_trains_projections_only_and_exports(small_csv):
    """The shipped recipe: the init's image trunk (BatchNorm statistics included) and the packaged text
    tower come out of training unchanged; the projections train; the export loads as the registry model."""
    from backend.models.factory import build_model
    from backend.models.registry import get_model_spec

    tmp, data = small_csv
    cfg = json.loads((ROOT / "train" / "configs" / "remoteclip-qgis-small.json").read_text())
    # The real init needs the wheel (train.small_model init); a random trunk tests the same locking.
    torch.manual_seed(0)
    init = tmp / "init.pt"
    torch.save({"state_dict": build_model(get_model_spec("remoteclip-qgis-small"), pretrained_text=True).state_dict()},
               init)
    cfg.update({"name": "small", "train_data": str(data), "batch_size": 16, "epochs": 1, "warmup": 1,
                "workers": 0, "logs": str(tmp / "runs"), "pretrained": str(init)})
    proc = _run(tmp, cfg)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = tmp / "runs" / "small" / "checkpoints" / "epoch_1.pt"
    start = torch.load(init, map_location="cpu", weights_only=True)["state_dict"]
    trained = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    for key, value in start.items():
        if key.startswith(("visual.trunk.", "text.transformer.")):
            assert torch.equal(value, trained[key]), key
    assert not torch.equal(start["visual.head.proj.weight"], trained["visual.head.proj.weight"])
    assert not torch.equal(start["text.proj.weight"], trained["text.proj.weight"])
    out = export_checkpoint(ckpt, tmp / "small.pt", drop_packaged_text=True, half=True)
    assert out.stat().st_size < 50e6
    exported = torch.load(out, map_location="cpu", weights_only=True)
    assert not any(k.startswith("text.transformer.") for k in exported)
    model = load_model("remoteclip-qgis-small", weights=str(out), device="cpu")
    state = model.model.state_dict()
    key = next(k for k in trained if k.startswith("text.transformer."))
    assert torch.equal(state[key], trained[key])
    assert torch.allclose(state["visual.head.proj.weight"], trained["visual.head.proj.weight"].half().float())
    assert model.image_size == 224 and model.encode_texts(["a lake"]).shape == (1, 384)


def test_torchrun_two_processes_gloo(small_csv, tiny_weights):
    """Scale-out path: torchrun starts two ranks (gloo on the CPU), DDP wraps the model, one checkpoint."""
    tmp, data = small_csv
    cfg = {"model": "Tiny-ViT-Test", "name": "ddp", "dataset_type": "csv", "csv_img_key": "filepath",
           "csv_caption_key": "title", "csv_separator": "\t", "train_data": str(data), "batch_size": 8,
           "lr": 1e-3, "warmup": 2, "epochs": 1, "workers": 0, "precision": "fp32", "logs": str(tmp / "runs"),
           "report_to": "", "zeroshot_frequency": 0, "seed": 0, "dist_backend": "gloo"}
    cfg_path = tmp / "ddp.json"
    cfg_path.write_text(json.dumps(cfg))
    torchrun = __import__("pathlib").Path(sys.executable).with_name("torchrun")
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", "-m", "train.pretrain", str(cfg_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "Running in distributed mode with multiple processes" in log and "total 2" in log
    ckpt = tmp / "runs" / "ddp" / "checkpoints" / "epoch_1.pt"
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert all(k.startswith("module.") for k in state)  # saved from the DDP wrapper
    model = load_model("tiny-local", weights=str(export_checkpoint(ckpt, tmp / "ddp.pt")), device="cpu")
    assert model.encode_texts(["a harbour"]).shape == (1, 32)
