"""Vector output: GeoPackage writing (atomic, several layers), field names, paths, GeoJSON."""

from __future__ import annotations

import os
from pathlib import Path

import fiona
import numpy as np
import pytest
from pyproj import CRS

from backend.errors import UserError
from backend.query.vector_layer import VectorLayer, check_output_path, field_name, write_gpkg
from backend.raster.reader import footprints

UTM_WKT = CRS.from_epsg(32633).to_wkt()


def rings(n: int, offset: float = 0.0) -> np.ndarray:
    windows = np.stack([np.arange(n) * 32, np.zeros(n, int), np.full(n, 32), np.full(n, 32)], axis=1)
    return footprints((10.0, 0.0, 500000.0 + offset, 0.0, -10.0, 6000000.0), windows)


def hits_layer(n: int = 3) -> VectorLayer:
    rows = [{"rank": i + 1, "score": 0.9 - 0.1 * i, "query": "storage tanks"} for i in range(n)]
    return VectorLayer("hits", {"rank": int, "score": float, "query": str}, rings(n), rows)


def surface_layer(n: int = 5) -> VectorLayer:
    rows = [{"tile": i, "similarity": float(i) / n} for i in range(n)]
    return VectorLayer("surface", {"tile": int, "similarity": float}, rings(n, 1000.0), rows)


def folder_entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_write_one_layer(tmp_path: Path) -> None:
    out = write_gpkg(tmp_path / "one.gpkg", [hits_layer(3)], UTM_WKT)
    assert out == tmp_path / "one.gpkg"
    assert fiona.listlayers(out) == ["hits"]
    with fiona.open(out, layer="hits") as src:
        assert len(src) == 3
        assert CRS.from_user_input(src.crs_wkt).to_epsg() == 32633
        assert src.schema["geometry"] == "Polygon"
        assert src.schema["properties"] == {"rank": "int", "score": "float", "query": "str"}
        features = list(src)
    assert [f["properties"]["rank"] for f in features] == [1, 2, 3]
    assert [f["properties"]["score"] for f in features] == pytest.approx([0.9, 0.8, 0.7])
    ring = features[0]["geometry"]["coordinates"][0]
    assert [tuple(p) for p in ring] == [(500000.0, 6000000.0), (500320.0, 6000000.0), (500320.0, 5999680.0),
                                        (500000.0, 5999680.0), (500000.0, 6000000.0)]
    assert folder_entries(tmp_path) == ["one.gpkg"]


def test_write_two_layers(tmp_path: Path) -> None:
    # A text search writes its hits and its similarity surface into one GeoPackage.
    out = write_gpkg(tmp_path / "two.gpkg", [hits_layer(3), surface_layer(5)], UTM_WKT)
    assert sorted(fiona.listlayers(out)) == ["hits", "surface"]
    with fiona.open(out, layer="hits") as src:
        assert len(src) == 3
        assert CRS.from_user_input(src.crs_wkt).to_epsg() == 32633
        assert src.schema["properties"] == {"rank": "int", "score": "float", "query": "str"}
    with fiona.open(out, layer="surface") as src:
        assert len(src) == 5
        assert CRS.from_user_input(src.crs_wkt).to_epsg() == 32633
        assert src.schema["properties"] == {"tile": "int", "similarity": "float"}
        assert [f["properties"]["tile"] for f in src] == [0, 1, 2, 3, 4]
    assert folder_entries(tmp_path) == ["two.gpkg"]


def test_overwrite_existing_output(tmp_path: Path) -> None:
    path = tmp_path / "out.gpkg"
    write_gpkg(path, [hits_layer(3)], UTM_WKT)
    write_gpkg(path, [hits_layer(1)], UTM_WKT)
    with fiona.open(path, layer="hits") as src:
        assert len(src) == 1
    assert folder_entries(tmp_path) == ["out.gpkg"]


def test_write_without_crs(tmp_path: Path) -> None:
    out = write_gpkg(tmp_path / "pixels.gpkg", [hits_layer(2)], None)
    with fiona.open(out) as src:
        assert len(src) == 2
        assert not src.crs_wkt


def test_write_empty_layer(tmp_path: Path) -> None:
    layer = VectorLayer("hits", {"rank": int}, np.zeros((0, 4, 2)), [])
    out = write_gpkg(tmp_path / "empty.gpkg", [layer], UTM_WKT)
    with fiona.open(out, layer="hits") as src:
        assert len(src) == 0


def test_failure_in_second_layer_leaves_nothing(tmp_path: Path) -> None:
    bad = VectorLayer("surface", {"tile": int}, rings(2), [{"tile": 1}, {"not_a_field": 2}])
    with pytest.raises(Exception):  # noqa: B017 - whatever fiona raises, nothing may be left
        write_gpkg(tmp_path / "bad.gpkg", [hits_layer(3), bad], UTM_WKT)
    assert folder_entries(tmp_path) == []


def test_failure_keeps_previous_output(tmp_path: Path) -> None:
    path = tmp_path / "out.gpkg"
    write_gpkg(path, [hits_layer(3)], UTM_WKT)
    before = path.read_bytes()
    bad = VectorLayer("hits", {"rank": int}, rings(1), [{"rank": 1, "extra": "x"}])
    with pytest.raises(Exception):  # noqa: B017
        write_gpkg(path, [bad], UTM_WKT)
    assert path.read_bytes() == before
    assert folder_entries(tmp_path) == ["out.gpkg"]


def test_fiona_error_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = fiona.open
    calls = []

    def failing_after_first_write(path, mode="r", *args, **kwargs):
        calls.append(mode)
        sink = real_open(path, mode, *args, **kwargs)
        if mode != "r":
            original = sink.writerecords

            def boom(records):
                original(list(records)[:1])  # something reaches the file first
                raise fiona.errors.FionaError("simulated write error")

            sink.writerecords = boom
        return sink

    monkeypatch.setattr(fiona, "open", failing_after_first_write)
    with pytest.raises(fiona.errors.FionaError, match="simulated"):
        write_gpkg(tmp_path / "x.gpkg", [hits_layer(3)], UTM_WKT)
    assert calls
    assert folder_entries(tmp_path) == []


def test_keyboard_interrupt_leaves_nothing(tmp_path: Path) -> None:
    class InterruptedRing:
        """A ring whose coordinates cannot be read: Ctrl+C arrives while the second layer is written."""

        def __iter__(self):
            raise KeyboardInterrupt

    good = rings(1)[0]
    layer = VectorLayer("surface", {"tile": int}, [good, InterruptedRing()], [{"tile": 0}, {"tile": 1}])
    with pytest.raises(KeyboardInterrupt):
        write_gpkg(tmp_path / "x.gpkg", [hits_layer(2), layer], UTM_WKT)
    assert folder_entries(tmp_path) == []


# --- field names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("storage tank", "storage_tank"),
        ("Storage  Tank!", "storage_tank"),
        ("  p_forest ", "p_forest"),
        ("3 ships", "f_3_ships"),
        ("河流", "field"),
        ("---", "field"),
        ("a-b.c/d", "a_b_c_d"),
    ],
)
def test_field_name_sanitises(text: str, expected: str) -> None:
    assert field_name(text, set()) == expected


def test_field_name_deduplicates() -> None:
    taken: set[str] = set()
    names = [field_name(t, taken) for t in ["storage tank", "Storage Tank", "storage-tank", "河流", "森林"]]
    assert names == ["storage_tank", "storage_tank_2", "storage_tank_3", "field", "field_2"]
    assert taken == set(names)


def test_field_name_long_text_unique_and_bounded() -> None:
    taken: set[str] = set()
    text = "a very long class name " * 10
    names = [field_name(text, taken) for _ in range(12)]
    assert len(set(names)) == 12
    assert all(len(n) <= 64 for n in names)
    assert all(n.replace("_", "").isalnum() and n.isascii() for n in names)


def test_field_names_are_writable(tmp_path: Path) -> None:
    taken: set[str] = set()
    classes = ["forest", "Forest ", "3 rivers", "河流", "storage tank"]
    fields = {field_name("p_" + c, taken): float for c in classes}
    assert len(fields) == len(classes)
    row = {name: 0.2 for name in fields}
    out = write_gpkg(tmp_path / "classes.gpkg", [VectorLayer("classes", fields, rings(1), [row])], UTM_WKT)
    with fiona.open(out) as src:
        assert list(src.schema["properties"]) == list(fields)


# --- output paths -----------------------------------------------------------------------------


def test_check_output_path_accepts_gpkg(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "out.gpkg") == tmp_path / "out.gpkg"
    assert check_output_path(str(tmp_path / "OUT.GPKG")) == tmp_path / "OUT.GPKG"


def test_check_output_path_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_output_path("out.gpkg") == Path("out.gpkg")
    out = write_gpkg("rel.gpkg", [hits_layer(1)], UTM_WKT)
    assert (tmp_path / "rel.gpkg").is_file() and out == Path("rel.gpkg")


@pytest.mark.parametrize("name", ["out.shp", "out.geojson", "out", "out.gpkg.tmp"])
def test_check_output_path_rejects_other_formats(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError) as exc:
        check_output_path(tmp_path / name)
    assert ".gpkg" in str(exc.value) and "\n" not in str(exc.value)


def test_check_output_path_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as exc:
        check_output_path(tmp_path / "missing" / "out.gpkg")
    assert "does not exist" in str(exc.value) and "\n" not in str(exc.value)


def test_check_output_path_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError):
        check_output_path(tmp_path / "afile" / "out.gpkg")


def test_write_gpkg_checks_path_first(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        write_gpkg(tmp_path / "out.shp", [hits_layer(1)], UTM_WKT)
    assert folder_entries(tmp_path) == []


# --- the value type and GeoJSON ---------------------------------------------------------------


def test_rows_must_match_rings() -> None:
    with pytest.raises(ValueError):
        VectorLayer("hits", {"rank": int}, rings(2), [{"rank": 1}])


def test_geojson_closes_rings() -> None:
    layer = hits_layer(3)
    fc = layer.geojson(UTM_WKT)
    assert fc["type"] == "FeatureCollection" and fc["name"] == "hits" and fc["crs_wkt"] == UTM_WKT
    assert len(fc["features"]) == len(layer) == 3
    for feature, ring, row in zip(fc["features"], layer.rings, layer.rows, strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        coords = feature["geometry"]["coordinates"][0]
        assert len(coords) == 5
        assert coords[0] == coords[-1]
        assert coords[:4] == ring.tolist()
        assert all(type(v) is float for point in coords for v in point)
        assert feature["properties"] == row


def test_geojson_without_crs_and_empty() -> None:
    fc = VectorLayer("empty", {}, np.zeros((0, 4, 2)), []).geojson()
    assert fc["features"] == [] and fc["crs_wkt"] is None
