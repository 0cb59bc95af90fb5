"""The headless CLI: every job on the shipped raster, and one clear line for each bad input.

Most cases call ``cli.main`` in-process (the same code path, seconds instead of a Python start each);
one run goes through ``python -m backend`` in a real subprocess.
"""

from __future__ import annotations

import subprocess

import fiona
import numpy as np
import pytest
import rasterio

from backend.app.cli import main, parse_tile_size
from backend.errors import UserError

from ..conftest import PYTHON, ROOT, backend_env


@pytest.fixture
def tiny_args(tiny_weights):
    return ["--model", "tiny-local", "--weights", str(tiny_weights), "--device", "cpu", "--tile-size", "64"]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    return errors[0]


def test_parse_tile_size():
    assert parse_tile_size("224") == (224, None)
    assert parse_tile_size("224px") == (224, None)
    assert parse_tile_size("300m") == (None, 300.0)
    for bad in ("big", "12.5", "-3", "3km"):
        with pytest.raises(UserError):
            parse_tile_size(bad)


def test_every_job_writes_its_geopackage(cache_dir, sample_raster, tiny_args, tmp_path, capsys):
    r = str(sample_raster)
    assert main(["search", r, "lake", *tiny_args, "-k", "5", "-o", str(tmp_path / "hits.gpkg")]) == 0
    out = capsys.readouterr()
    assert "rank" in out.out and "embedding" in out.err  # table on stdout, tqdm on stderr
    # the estimate the plugin shows, before embedding: 15 x 12 tiles of 64 px
    assert "estimate: 180 tiles, about " in out.err and " of disk (" in out.err
    assert main(["classify", r, "--classes", "farmland,lake,road", *tiny_args,
                 "-o", str(tmp_path / "classes.gpkg")]) == 0
    assert main(["count", r, "storage tank", *tiny_args, "-o", str(tmp_path / "counts.gpkg")]) == 0
    with rasterio.open(r) as src:
        x, y = src.xy(300, 400)
    assert main(["similar", r, "--x", str(x), "--y", str(y), "-k", "4", *tiny_args,
                 "-o", str(tmp_path / "similar.gpkg")]) == 0
    capsys.readouterr()
    expected = {"hits.gpkg": {"hits", "similarity"}, "classes.gpkg": {"classes"}, "counts.gpkg": {"counts"},
                "similar.gpkg": {"similar", "similarity"}}
    for name, layers in expected.items():
        assert set(fiona.listlayers(tmp_path / name)) == layers
    with fiona.open(tmp_path / "hits.gpkg", layer="hits") as src:
        assert len(src) == 5 and src.crs.to_epsg() == 26914
    with fiona.open(tmp_path / "similar.gpkg", layer="similar") as src:
        assert len(src) == 4
    with fiona.open(tmp_path / "counts.gpkg", layer="counts") as src:
        counts = [f["properties"]["count"] for f in src]
        assert all(1 <= c <= 10 for c in counts)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "{missing}", "lake"], "raster not found"),
        (["search", "{text}", "lake"], "not a raster"),
        (["search", "{raster}", "   "], "query is empty"),
        (["search", "{raster}", "lake", "-k", "0"], "k must be at least 1"),
        (["search", "{raster}", "lake", "-k", "-3"], "k must be at least 1"),
        (["classify", "{raster}", "--classes", " , "], "class list is empty"),
        (["classify", "{raster}", "--classes", "lake,Lake"], "listed twice"),
        (["search", "{raster}", "lake", "-o", "{tmp}/out.shp"], "GeoPackage"),
        (["search", "{raster}", "lake", "-o", "{tmp}/nope/out.gpkg"], "does not exist"),
        (["search", "{raster}", "lake", "--bands", "1,2"], "1 or 3"),
        (["search", "{raster}", "lake", "--bands", "7"], "band 7 does not exist"),
        (["search", "{raster}", "lake", "--tile-size", "3km"], "--tile-size"),
        (["similar", "{raster}", "--x", "1"], "give both x and y"),
        (["search", "{raster}", "lake", "--heatmap", "{tmp}/nope/heat.tif"], "does not exist"),
        (["search", "{raster}", "lake", "--heatmap", "{tmp}/heat.png"], "GeoTIFF"),
        (["classify", "{raster}", "--classes", "a,b", "--class-raster", "{tmp}/nope/c.tif"], "does not exist"),
        (["similar", "{raster}", "--tile", "0", "--heatmap", "{tmp}/nope/heat.tif"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cache_dir, sample_raster, tiny_args, tmp_path, capsys,
                                                   argv, message):
    text = tmp_path / "notes.tif"
    text.write_text("this is not a GeoTIFF")
    subst = {"{missing}": str(tmp_path / "missing.tif"), "{text}": str(text), "{raster}": str(sample_raster),
             "{tmp}": str(tmp_path)}
    argv = [subst.get(a, a) for a in argv]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = set(tmp_path.rglob("*"))
    assert main([argv[0], *tiny_args, *argv[1:]]) == 2  # the bad option comes last and wins
    assert message in _one_line_error(capsys)
    assert set(tmp_path.rglob("*")) - before <= {cache_dir, *cache_dir.rglob("*")}
    assert not (tmp_path / "out.shp").exists()


def test_a_missing_raster_folder_is_refused_before_embedding(cache_dir, sample_raster, tiny_args, tmp_path,
                                                              capsys):
    argv = ["search", str(sample_raster), "lake", *tiny_args, "--heatmap", str(tmp_path / "nope" / "heat.tif")]
    assert main(argv) == 2
    line = _one_line_error(capsys)
    assert line == f"error: output folder {tmp_path / 'nope'} does not exist: create it or choose another raster path"
    assert not (cache_dir / "stores").exists() and not (tmp_path / "nope").exists()


def test_heatmap_and_class_raster_lie_on_the_tile_grid(cache_dir, sample_raster, tiny_args, tmp_path, capsys):
    r = str(sample_raster)
    args = tiny_args
    assert main(["search", r, "lake", *args, "--overlap", "0.5", "-o", str(tmp_path / "hits.gpkg"),
                 "--heatmap", str(tmp_path / "heat.tif")]) == 0
    assert f"wrote {tmp_path / 'heat.tif'}" in capsys.readouterr().err
    with rasterio.open(r) as src, rasterio.open(tmp_path / "heat.tif") as heat:
        assert heat.crs == src.crs and heat.transform == src.transform @ rasterio.Affine.scale(32)
        assert (heat.width, heat.height) == (-(-src.width // 32), -(-src.height // 32))
        values = heat.read(1, masked=True)
        assert values.count() == values.size and -1 <= values.min() <= values.max() <= 1
    with fiona.open(tmp_path / "hits.gpkg", layer="similarity") as src:
        tile_scores = [f["properties"]["score"] for f in src]
    assert min(tile_scores) - 1e-6 <= values.min() and values.max() <= max(tile_scores) + 1e-6
    assert main(["classify", r, "--classes", "farmland,lake,road", *args, "--overlap", "0.5",
                 "--class-raster", str(tmp_path / "classes.tif")]) == 0
    with rasterio.open(tmp_path / "classes.tif") as cls:
        assert cls.dtypes == ("uint8",) and cls.tags()["CLASSES"] == '["farmland", "lake", "road"]'
        assert set(np.unique(cls.read(1))) <= {0, 1, 2} and len(cls.colormap(1)) >= 3


def test_unknown_model_and_corrupt_checkpoint(cache_dir, sample_raster, tmp_path, capsys):
    assert main(["search", str(sample_raster), "lake", "--model", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in _one_line_error(capsys)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 100)
    assert main(["search", str(sample_raster), "lake", "--model", "tiny-local", "--weights", str(bad)]) == 2
    assert "bad.pt" in _one_line_error(capsys)


def test_no_crs_warns_and_uses_pixel_coordinates(cache_dir, tmp_path, tiny_args, capsys):
    path = tmp_path / "nocrs.tif"
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", driver="GTiff", width=150, height=100, count=3, dtype="uint8") as dst:
        dst.write(rng.integers(1, 255, (3, 100, 150), dtype=np.uint8))
    out = tmp_path / "hits.gpkg"
    assert main(["search", str(path), "field", "-k", "2", *tiny_args, "-o", str(out)]) == 0
    assert "has no CRS" in capsys.readouterr().err
    with fiona.open(out, layer="hits") as src:
        assert not src.crs
        xs = [x for f in src for x, _ in f["geometry"]["coordinates"][0]]
        assert 0 <= min(xs) and max(xs) <= 150
    assert main(["search", str(path), "field", *tiny_args[:-2], "--tile-size", "50m"]) == 2
    assert "no CRS" in _one_line_error(capsys)


def test_models_lists_registry_offline(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("remoteclip-rn50", "remoteclip-vit-b-32", "remoteclip-vit-l-14", "openai-vit-b-32",
                 "georsclip-vit-b-32", "skyclip-vit-l-14", "remoteclip-qgis-small"):
        assert name in out
    assert "missing" in out


def test_subprocess_offline_without_weights_and_real_run(cache_dir, sample_raster, tiny_weights, tmp_path):
    env = backend_env(cache_dir, HF_HUB_CACHE=str(tmp_path / "empty-hub"))
    proc = subprocess.run([PYTHON, "-m", "backend", "search", str(sample_raster), "lake",
                           "--model", "remoteclip-vit-b-32"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "RemoteCLIP-ViT-B-32.pt" in proc.stderr and "--weights" in proc.stderr
    out = tmp_path / "c.gpkg"
    proc = subprocess.run([PYTHON, "-m", "backend", "count", str(sample_raster), "ship", "--model", "tiny-local",
                           "--weights", str(tiny_weights), "--tile-size", "128", "-o", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "estimated total" in proc.stdout and out.exists()


def test_default_model_is_the_best_present(cache_dir, sample_raster, tiny_weights, tmp_path, monkeypatch, capsys):
    import backend.config as config
    import backend.models.registry as registry

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("REMOTECLIP_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setattr(config, "RESOURCES_DIR", tmp_path / "resources")
    monkeypatch.delenv("REMOTECLIP_MODEL", raising=False)
    assert registry.default_model_name() is None
    assert main(["search", str(sample_raster), "lake"]) == 2
    assert "no model weights are present" in _one_line_error(capsys)
    # a file where the project's small model ships makes it the default (RemoteCLIP weights being absent)
    (tmp_path / "resources" / "models").mkdir(parents=True)
    (tmp_path / "resources" / "models" / "remoteclip-qgis-small.pt").write_bytes(b"placeholder")
    assert registry.default_model_name() == "remoteclip-qgis-small"
    monkeypatch.setenv("REMOTECLIP_MODEL", "tiny-local")
    assert registry.default_model_name() == "tiny-local"
