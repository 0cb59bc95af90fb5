"""``make demo``'s job: refuses random weights by default, and writes every output when given a model."""

from __future__ import annotations

import fiona
from PIL import Image

from backend.app.demo import EXIT_NO_WEIGHTS, run_demo


def test_demo_without_trained_weights_says_so_and_fails(cache_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("REMOTECLIP_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setattr("backend.config.RESOURCES_DIR", tmp_path / "no-resources")
    monkeypatch.delenv("REMOTECLIP_MODEL", raising=False)
    assert run_demo(output_dir=str(tmp_path / "out")) == EXIT_NO_WEIGHTS
    err = capsys.readouterr().err
    assert "no trained weights are present" in err and "RemoteCLIP-ViT-B-32.pt" in err
    assert not (tmp_path / "out").exists()


def test_demo_with_a_model_writes_layers_and_map(cache_dir, tmp_path, tiny_weights, capsys):
    out = tmp_path / "out"
    assert run_demo(model="tiny-local", weights=str(tiny_weights), output_dir=str(out)) == 0
    text = capsys.readouterr().out
    assert "model:   tiny-local" in text and f"weights: {tiny_weights}" in text
    assert "text search 'lake'" in text and "zero-shot classes" in text and "estimated total" in text
    assert fiona.listlayers(out / "search.gpkg") == ["hits", "similarity"]
    with fiona.open(out / "classes.gpkg", layer="classes") as src:
        assert src.crs.to_epsg() == 26914 and len(src) > 100
    with fiona.open(out / "counts.gpkg", layer="counts") as src:
        assert "expected_count" in src.schema["properties"]
    with Image.open(out / "similarity.png") as png:
        assert png.width >= 800 and png.height >= 500


def test_demo_leaves_counting_out_for_a_model_that_cannot_count(cache_dir, tmp_path, tiny_weights, capsys):
    out = tmp_path / "out"
    assert run_demo(model="tiny-nocount", weights=str(tiny_weights), output_dir=str(out)) == 0
    text = capsys.readouterr().out
    assert "zero-shot classes" in text and "estimated total" not in text
    assert [line for line in text.splitlines() if "counting left out" in line] == [
        "counting left out: tiny-nocount cannot count (its counts are no better than a constant guess; "
        "see its model card)"]
    assert (out / "classes.gpkg").exists() and not (out / "counts.gpkg").exists()
