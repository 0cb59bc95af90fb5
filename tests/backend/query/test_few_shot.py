"""More like these: few-shot classes and ranking by example on a real mosaic (UC Merced test images, one per
256 px tile) with the shipped model; marks as points, polygons, files in another CRS; the refusals."""

from __future__ import annotations

import json
import time

import fiona
import numpy as np
import pytest
from fiona.crs import CRS

from backend.app.cli import main
from backend.app.orchestration import RasterSpec, Workspace, embed, fewshot
from backend.errors import UserError
from backend.models.factory import load_model
from backend.query.few_shot import is_phrase
from backend.raster.reader import TilingParams
from tests.perf.fewshot_mosaic import TILE, cell_centre, marks, tile_labels, write_mosaic

PER_CLASS = 5  # 21 classes x 5 images: 105 tiles


@pytest.fixture(scope="module")
def mosaic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mosaic")
    return write_mosaic(folder / "ucm_mosaic.tif", "ucm", PER_CLASS)


@pytest.fixture(scope="module")
def small_model():
    return load_model("remoteclip-qgis-small", device="cpu")


@pytest.fixture(scope="module")
def mosaic_cache(tmp_path_factory):
    """One cache for the module: the mosaic is embedded once, not once per test."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("cache")
        mp.setenv("REMOTECLIP_CACHE", str(path))
        yield path


@pytest.fixture
def workspace(mosaic_cache, small_model) -> Workspace:
    ws = Workspace("cpu", load_model=lambda *a, **k: small_model)
    ws.when_missing = lambda prepared: embed(ws, prepared).store
    return ws


def spec(raster) -> RasterSpec:
    return RasterSpec(str(raster), "remoteclip-qgis-small", tiling=TilingParams(tile_px=TILE))


def accuracy(answer, truth, phrases) -> float:
    result = answer.result
    marked = np.zeros(len(truth), dtype=bool)
    for rows in result.example_rows.values():
        marked[rows] = True
    predicted = np.array([phrases.index(result.labels[i]) for i in result.classes])
    return 100.0 * float((predicted[~marked] == truth[~marked]).mean())


def test_marks_alone_teach_the_classes(mosaic, workspace):
    """Labels that are not phrases ("c0", "c1", ...): no text prior, the marked tiles are all it has."""
    raster, phrases, labels = mosaic
    features = marks(labels, phrases, 2, np.random.default_rng(0))
    coded = [f"c{phrases.index(f['properties']['label'])}" for f in features["features"]]
    for feature, code in zip(features["features"], coded):
        feature["properties"]["label"] = code
    answer = fewshot(workspace, spec(raster), features=features)
    assert answer.summary["method"] == "prototypes" and answer.summary["mode"] == "classify"
    truth = tile_labels(answer.store, labels)
    top1 = accuracy(answer, truth, [f"c{i}" for i in range(len(phrases))])
    assert top1 > 60.0, top1  # 2 marks per class, 21 classes: chance is 4.8 %
    probabilities = answer.result.probabilities
    assert probabilities.shape == (105, 21) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_phrases_add_the_text_prior_and_five_marks_fit_a_regression(mosaic, workspace):
    raster, phrases, labels = mosaic
    answer = fewshot(workspace, spec(raster), features=marks(labels, phrases, 2, np.random.default_rng(1)))
    assert answer.summary["method"] == "prototypes with a text prior for 21 of 21 labels"
    truth = tile_labels(answer.store, labels)
    with_prior = accuracy(answer, truth, phrases)
    without = accuracy(fewshot(workspace, spec(raster), features=marks(labels, phrases, 2, np.random.default_rng(1)),
                               text_prior=False), truth, phrases)
    assert with_prior > without, (with_prior, without)  # 3 unmarked images per class scored: 63 tiles
    answer = fewshot(workspace, spec(raster), features=marks(labels, phrases, 5, np.random.default_rng(2)),
                     text_prior=False)
    assert answer.summary["method"] == "logistic regression"
    assert answer.summary["examples"] == {p: 5 for p in phrases}


def test_one_label_ranks_by_example_and_negatives_refine_it(mosaic, workspace):
    raster, phrases, labels = mosaic
    plane = phrases.index("airplane")
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(cell_centre(plane, 0))},
             "properties": {"label": "airplane"}}
    answer = fewshot(workspace, spec(raster), features={"type": "FeatureCollection", "features": [point]}, k=4)
    truth = tile_labels(answer.store, labels)
    hits = answer.result.hits
    assert answer.summary["mode"] == "rank" and len(hits) == 4
    assert (truth[hits] == plane).sum() >= 3  # the other airplane images first (the marked one is excluded)
    runway = phrases.index("runway")
    worst_runway = max((i for i in range(len(truth)) if truth[i] == runway), key=lambda i: answer.result.scores[i])
    negative = {"type": "Feature", "properties": {"label": "negative"},
                "geometry": {"type": "Point", "coordinates": list(answer.store.core_footprints[worst_runway].mean(0))}}
    refined = fewshot(workspace, spec(raster), k=4,
                      features={"type": "FeatureCollection", "features": [point, negative]})
    assert refined.summary["method"].startswith("prototype with negatives")
    runways = truth == runway
    assert refined.result.scores[runways].mean() < answer.result.scores[runways].mean()


def test_a_polygon_in_another_crs_marks_the_tiles_under_it(mosaic, workspace, tmp_path):
    """A GeoPackage in EPSG:4326 whose one polygon covers 2 x 2 cells of a class column: four tiles marked."""
    from rasterio.warp import transform_geom

    raster, phrases, labels = mosaic
    (x0, y0), (x1, y1) = cell_centre(3, 1), cell_centre(4, 2)
    square = {"type": "Polygon", "coordinates": [[(x0 - 10, y0 + 10), (x1 + 10, y0 + 10), (x1 + 10, y1 - 10),
                                                  (x0 - 10, y1 - 10), (x0 - 10, y0 + 10)]]}
    path = tmp_path / "marks.gpkg"
    schema = {"geometry": "Polygon", "properties": {"kind": "str"}}
    with fiona.open(path, "w", driver="GPKG", crs=CRS.from_epsg(4326), schema=schema) as dst:
        dst.write({"geometry": transform_geom("EPSG:32614", "EPSG:4326", square), "properties": {"kind": "woods"}})
        x, y = cell_centre(10, 0)
        dst.write({"geometry": transform_geom("EPSG:32614", "EPSG:4326", {
            "type": "Polygon", "coordinates": [[(x - 5, y - 5), (x + 5, y - 5), (x + 5, y + 5), (x - 5, y - 5)]]}),
            "properties": {"kind": "water"}})  # smaller than a tile: the tile under it
    answer = fewshot(workspace, spec(raster), examples_file=str(path), label_field="kind")
    assert answer.summary["examples"] == {"woods": 4, "water": 1}
    marked = answer.result.example_rows["woods"]
    cells = sorted((int(r) // TILE, int(c) // TILE) for c, r in answer.store.windows[marked, :2])
    assert cells == [(1, 3), (1, 4), (2, 3), (2, 4)]


@pytest.mark.parametrize("label", ["water", "bare soil", "golf course", "forest-edge"])
def test_words_are_phrases(label):
    assert is_phrase(label)


@pytest.mark.parametrize("label", ["c3", "1", "x", "class_2", "A12"])
def test_codes_are_not_phrases(label):
    assert not is_phrase(label)


# ------------------------------------------------------------------ bad input: one line, before the model


def no_model(*args, **kwargs):
    raise AssertionError("the model was loaded for examples the file alone refuses")


def write_points(path, rows, crs_epsg=32614, field="label"):
    schema = {"geometry": "Point", "properties": {field: "str"}}
    with fiona.open(path, "w", driver="GPKG", crs=CRS.from_epsg(crs_epsg), schema=schema) as dst:
        for (x, y), label in rows:
            dst.write({"geometry": {"type": "Point", "coordinates": (x, y)}, "properties": {field: label}})
    return path


@pytest.mark.parametrize("case, expected", [
    ("no_field", "has no field 'label' (fields: kind)"),
    ("missing", "examples file not found"),
    ("not_vector", "is not a vector file fiona can read"),
])
def test_examples_refused_before_the_model(mosaic, tmp_path, mosaic_cache, monkeypatch, capsys, case, expected):
    raster, _, _ = mosaic
    path = tmp_path / "ex.gpkg"
    if case == "no_field":
        write_points(path, [(cell_centre(0, 0), "water")], field="kind")
    elif case == "not_vector":
        path.write_text("not a geopackage")
    monkeypatch.setattr("backend.models.factory.load_model", no_model)
    started = time.perf_counter()
    code = main(["fewshot", str(raster), "--examples", str(path), "--tile-size", str(TILE), "-o",
                 str(tmp_path / "out.gpkg")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0], err
    assert time.perf_counter() - started < 5.0 and not (tmp_path / "out.gpkg").exists()


@pytest.mark.parametrize("case, expected", [
    ("outside", "lie outside the raster"),
    ("one_label_classify", "classes need examples of at least two labels"),
    ("two_labels_rank", "ranking by example takes one label"),
])
def test_examples_that_do_not_fit_the_request(mosaic, workspace, tmp_path, case, expected):
    raster, phrases, labels = mosaic
    rows = [(cell_centre(0, 0), "water"), (cell_centre(1, 0), "field")]
    mode = "auto"
    if case == "outside":
        rows.append(((0.0, 0.0), "water"))
    elif case == "one_label_classify":
        rows, mode = rows[:1], "classify"
    else:
        mode = "rank"
    features = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(xy)}, "properties": {"label": la}}
        for xy, la in rows]}
    with pytest.raises(UserError) as err:
        fewshot(workspace, spec(raster), features=features, mode=mode, output=str(tmp_path / "o.gpkg"))
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "o.gpkg").exists()


def test_cli_and_http(mosaic, tmp_path, mosaic_cache, small_model, capsys):
    from fastapi.testclient import TestClient

    from backend.app import service

    raster, phrases, labels = mosaic
    path = write_points(tmp_path / "ex.gpkg", [(cell_centre(c, 0), phrases[c]) for c in range(len(phrases))])
    assert main(["fewshot", str(raster), "--examples", str(path), "--tile-size", str(TILE), "--device", "cpu",
                 "-o", str(tmp_path / "fs.gpkg"), "--class-raster", str(tmp_path / "fs.tif")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("classify by prototypes with a text prior for 21 of 21 labels; marked tiles: ")
    assert fiona.listlayers(tmp_path / "fs.gpkg") == ["fewshot_classes"] and (tmp_path / "fs.tif").is_file()
    body = {"raster": str(raster), "model": "remoteclip-qgis-small", "tile_size": TILE, "examples_file": str(path)}
    headers = {"Authorization": "Bearer t"}
    with TestClient(service.create_app("t", device="cpu"), base_url="http://127.0.0.1") as client:
        r = client.post("/fewshot", json=body, headers=headers)
        assert r.status_code == 200, r.text
        layer = r.json()["layers"]["fewshot_classes"]
        assert len(layer["features"]) == 105 and {"class", "prob", "example"} <= set(layer["features"][0]["properties"])
        to_file = {**body, "output": str(tmp_path / "http.gpkg"), "include_surface": False}
        written = client.post("/fewshot", json=to_file, headers=headers)
        assert written.status_code == 200 and "fewshot_classes" not in written.json()["layers"]  # in the file only
        assert fiona.listlayers(tmp_path / "http.gpkg") == ["fewshot_classes"]
        both = client.post("/fewshot", json={**body, "examples": {"type": "FeatureCollection", "features": []}},
                           headers=headers)
        assert both.status_code == 400 and "not both" in both.json()["error"]
        empty = {"type": "FeatureCollection", "features": []}
        none = client.post("/fewshot", json={**body, "examples_file": None, "examples": empty}, headers=headers)
        assert none.status_code == 400 and "hold no features" in none.json()["error"], json.dumps(none.json())
