"""Many rasters from one name: folders, GDAL tile indexes, STAC items and item collections on disk."""

from __future__ import annotations

import json
from pathlib import Path

import fiona
import pytest
from fiona.crs import CRS

from backend.errors import NotFoundError, UserError
from backend.raster.collections import raster_paths

from .. import raster_factory as rf


def test_a_folder_gives_its_rasters_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    b = rf.rgb_uint8(tmp_path / "sub", name="b.tif")
    a = rf.rgb_uint8(tmp_path, name="a.tif")
    (tmp_path / "notes.txt").write_text("not a raster")
    assert raster_paths(tmp_path) == sorted([str(a.resolve()), str(b.resolve())])
    assert raster_paths(a) == [str(a.resolve())]


def test_a_tile_index_gives_its_locations_relative_to_itself(tmp_path):
    a = rf.rgb_uint8(tmp_path, name="a.tif")
    index = tmp_path / "index.gpkg"
    schema = {"geometry": "Polygon", "properties": {"location": "str"}}
    with fiona.open(index, "w", driver="GPKG", crs=CRS.from_epsg(32614), schema=schema) as dst:
        ring = [(0, 0), (1, 0), (1, 1), (0, 0)]
        dst.write({"geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"location": "a.tif"}})
    assert raster_paths(index) == [str(a.resolve())]
    wrong = tmp_path / "wrong.gpkg"
    with fiona.open(wrong, "w", driver="GPKG", crs=CRS.from_epsg(32614),
                    schema={"geometry": "Point", "properties": {"path": "str"}}) as dst:
        dst.write({"geometry": {"type": "Point", "coordinates": (0, 0)}, "properties": {"path": "a.tif"}})
    with pytest.raises(UserError, match="not a tile index: no 'location' field"):
        raster_paths(wrong)


def test_a_stac_item_collection_gives_each_items_data_asset(tmp_path):
    a, b = rf.rgb_uint8(tmp_path, name="a.tif"), rf.rgb_uint8(tmp_path, name="b.tif")
    items = [
        {"type": "Feature", "id": "a", "assets": {"thumb": {"href": "a.png", "type": "image/png"},
                                                  "visual": {"href": "a.tif", "roles": ["data"]}}},
        {"type": "Feature", "id": "b", "assets": {"image": {"href": b.resolve().as_uri(),
                                                            "type": "image/tiff; application=geotiff"}}},
    ]
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    assert raster_paths(path) == [str(a.resolve()), str(b.resolve())]
    one = tmp_path / "item.json"
    one.write_text(json.dumps(items[0]))
    assert raster_paths(one) == [str(a.resolve())]


@pytest.mark.parametrize("document, expected", [
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x", "assets": {
        "data": {"href": "https://example.com/x.tif", "roles": ["data"]}}}]}, "names a remote asset"),
    ({"type": "Catalog"}, "neither a STAC Item nor an ItemCollection"),
    ({"type": "Feature", "id": "y", "assets": {}}, "has no assets"),
])
def test_stac_that_cannot_be_read_is_one_line(tmp_path, document, expected):
    path = tmp_path / "stac.json"
    path.write_text(json.dumps(document))
    with pytest.raises(UserError, match=expected):
        raster_paths(path)


def test_nothing_there_is_one_line(tmp_path):
    with pytest.raises(NotFoundError):
        raster_paths(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no rasters"):
        raster_paths(tmp_path / "empty")
    assert Path(tmp_path / "empty").is_dir()
