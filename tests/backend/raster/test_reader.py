"""Raster reading on real GeoTIFFs: opening, description, ground sizes, grids, stretch, tiles, footprints."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.transform import Affine
from rasterio.windows import Window

from backend.errors import NotFoundError, SubdatasetsError, UserError
from backend.raster.reader import (
    MIN_TILE_PX,
    TilingParams,
    describe,
    footprints,
    open_raster,
    pixel_of,
    pixel_size_metres,
    read_tile,
    resolve_grid,
    select_bands,
    stretch_limits,
)

from .. import raster_factory as rf

DATA = Path("/work/shared/data/rasters")
NAIP = DATA / "m_4709963_se_14_1_20190904.tif"
RGB_BYTE = DATA / "RGB.byte.tif"
OILS = DATA / "oils.tif"
U8 = np.array([[0.0, 255.0]] * 3)


def info_of(path: Path):
    with open_raster(path) as src:
        return describe(src)


def one_line_user_error(exc: BaseException) -> str:
    assert isinstance(exc, UserError)
    message = str(exc)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return message


# --- the real files ---------------------------------------------------------------------------


def test_describe_naip() -> None:
    info = info_of(NAIP)
    assert (info.width, info.height, info.count, info.dtype) == (934, 723, 4, "uint8")
    assert CRS.from_wkt(info.crs_wkt).to_epsg() == 26914
    assert info.transform == (5.0, 0.0, 485899.0, 0.0, -5.0, 5209246.0)
    assert info.colorinterp == ("gray", "undefined", "undefined", "undefined")
    assert info.pixel_size_m == pytest.approx((5.0, 5.0), rel=1e-3)
    assert info.path == os.path.realpath(NAIP)
    assert info.file_size == os.stat(NAIP).st_size == 2_526_050
    assert info.identity == {"path": info.path, "size": info.file_size, "mtime_ns": os.stat(NAIP).st_mtime_ns}
    assert info.to_dict()["width"] == 934
    assert select_bands(info, None).bands == (1, 2, 3)


def test_describe_rgb_byte() -> None:
    info = info_of(RGB_BYTE)
    assert (info.width, info.height, info.count) == (791, 718, 3)
    assert CRS.from_wkt(info.crs_wkt).to_epsg() == 32618
    assert info.colorinterp == ("red", "green", "blue")
    assert info.pixel_size_m == pytest.approx((300.04, 300.04), rel=2e-3)
    assert select_bands(info, None).bands == (1, 2, 3)


def test_describe_oils_rgba() -> None:
    info = info_of(OILS)
    assert (info.width, info.height, info.count) == (856, 409, 4)
    assert CRS.from_wkt(info.crs_wkt).to_epsg() == 3857
    assert info.colorinterp == ("red", "green", "blue", "alpha")
    assert select_bands(info, None).bands == (1, 2, 3)


def test_oils_pixel_size_is_ground_metres_not_web_mercator_units() -> None:
    # EPSG:3857 map units are metres only at the equator: at 54.36 N a 2.0-unit pixel is
    # 2.0 * cos(54.36 deg) = 1.17 m on the ground. Tile sizes in metres and --gsd are ground sizes.
    info = info_of(OILS)
    assert info.transform[0] == pytest.approx(1.99943, abs=1e-4)
    assert info.pixel_size_m == pytest.approx((1.17, 1.17), abs=0.01)


def test_naip_stretch_and_tile() -> None:
    with open_raster(NAIP) as src:
        limits = stretch_limits(src, (1, 2, 3))
        assert limits.tolist() == U8.tolist()
        tile, valid = read_tile(src, Window(224, 224, 224, 224), (1, 2, 3), 224, limits)
        expected = src.read((1, 2, 3), window=((224, 448), (224, 448))).astype(np.float32) / 255
    assert tile.shape == (3, 224, 224) and tile.dtype == np.float32
    assert valid == 1.0
    np.testing.assert_allclose(tile, expected, atol=1e-6)


def test_rgb_byte_collar_tile_is_invalid() -> None:
    with open_raster(RGB_BYTE) as src:
        tile, valid = read_tile(src, Window(0, 0, 64, 64), (1, 2, 3), 64, U8)
        assert valid == 0.0
        assert not tile.any()
        inside, inside_valid = read_tile(src, Window(200, 200, 64, 64), (1, 2, 3), 64, U8)
        assert inside_valid == 1.0
        assert inside.max() > 0
        # a tile with a few zero (nodata) pixels: valid share equals the rasterio masks' share
        masks = src.read_masks((1, 2, 3), window=((300, 364), (300, 364)))
        part, part_valid = read_tile(src, Window(300, 300, 64, 64), (1, 2, 3), 64, U8)
        expected = float(np.all(masks > 0, axis=0).mean())
        assert 0.0 < expected < 1.0
        assert part_valid == pytest.approx(expected)
        assert not part[:, ~np.all(masks > 0, axis=0)].any()


def test_oils_alpha_everywhere_opaque() -> None:
    with open_raster(OILS) as src:
        tile, valid = read_tile(src, Window(0, 0, 224, 224), (1, 2, 3), 224, U8)
        assert valid == 1.0
        assert 0.0 <= tile.min() and tile.max() <= 1.0


# --- pixel sizes ------------------------------------------------------------------------------


def test_geographic_pixel_size_on_the_ellipsoid(tmp_path: Path) -> None:
    info = info_of(rf.geographic(tmp_path, pixel_deg=0.0001, lat=50.0))
    # 0.0001 deg of latitude is about 11.12 m; of longitude at 50 N about 7.17 m.
    assert info.pixel_size_m[1] == pytest.approx(11.12, abs=0.02)
    assert info.pixel_size_m[0] == pytest.approx(7.17, abs=0.02)


def test_geographic_pixel_size_at_equator() -> None:
    wkt = CRS.from_epsg(4326).to_wkt()
    size = pixel_size_metres(wkt, (0.0001, 0.0, 10.0, 0.0, -0.0001, 0.005), 100, 100)
    assert size == pytest.approx((11.13, 11.06), abs=0.02)


def test_projected_feet_are_converted() -> None:
    # NAD83 / New York Long Island (ftUS), a 1-foot grid near Manhattan.
    wkt = CRS.from_epsg(2263).to_wkt()
    size = pixel_size_metres(wkt, (1.0, 0.0, 985000.0, 0.0, -1.0, 200000.0), 100, 100)
    assert size == pytest.approx((0.3048, 0.3048), rel=1e-3)


def test_rotated_pixel_size(tmp_path: Path) -> None:
    info = info_of(rf.rotated(tmp_path, angle_deg=30.0))
    assert info.transform[1] != 0.0 and info.transform[3] != 0.0
    assert info.pixel_size_m == pytest.approx((10.0, 10.0), rel=1e-3)


def test_no_crs_has_no_pixel_size(tmp_path: Path) -> None:
    info = info_of(rf.no_crs(tmp_path))
    assert info.crs_wkt is None
    assert info.pixel_size_m is None
    assert pixel_size_metres(None, (1, 0, 0, 0, 1, 0), 10, 10) is None


# --- grids ------------------------------------------------------------------------------------


def test_resolve_grid_pixels(tmp_path: Path) -> None:
    info = info_of(rf.rgb_uint8(tmp_path, 100, 60))
    spec, read_px = resolve_grid(info, TilingParams(tile_px=32, overlap=0.5), 224)
    assert (spec.tile_px, spec.stride_px, read_px) == (32, 16, 32)
    assert (spec.raster_width, spec.raster_height) == (100, 60)
    spec, read_px = resolve_grid(info, TilingParams(), 224)
    assert (spec.tile_px, read_px) == (224, 224)
    spec, read_px = resolve_grid(info, TilingParams(tile_px=500), 224)
    assert (spec.tile_px, read_px) == (500, 224)  # larger tiles are read decimated


def test_resolve_grid_metres_and_gsd(tmp_path: Path) -> None:
    info = info_of(rf.rgb_uint8(tmp_path, 100, 60))  # 10 m pixels
    spec, read_px = resolve_grid(info, TilingParams(ground_m=300.0), 224)
    assert (spec.tile_px, read_px) == (30, 30)
    spec, read_px = resolve_grid(info, TilingParams(gsd=2.0), 224)  # 448 m tiles
    assert (spec.tile_px, read_px) == (45, 45)
    spec, read_px = resolve_grid(info, TilingParams(gsd=20.0, overlap=0.5), 224)  # 4480 m = 448 px
    assert (spec.tile_px, spec.stride_px, read_px) == (448, 224, 224)


def test_resolve_grid_naip_metres() -> None:
    spec, read_px = resolve_grid(info_of(NAIP), TilingParams(ground_m=1120.0), 224)
    assert (spec.tile_px, read_px) == (224, 224)
    assert (spec.n_cols, spec.n_rows) == (5, 4)


def test_resolve_grid_defaults_to_the_models_ground_size(tmp_path: Path) -> None:
    """No size asked: tiles of the model's training ground size where pixels have a known size, else pixels."""
    info = info_of(rf.rgb_uint8(tmp_path, 100, 60))  # 10 m pixels
    spec, read_px = resolve_grid(info, TilingParams(overlap=0.5), 224, default_ground_m=146.2)
    assert (spec.tile_px, spec.stride_px, read_px) == (15, 8, 15)  # 146.2 m / 10 m, rounded
    spec, _ = resolve_grid(info, TilingParams(tile_px=32), 224, default_ground_m=146.2)
    assert spec.tile_px == 32  # an asked size wins
    spec, _ = resolve_grid(info, TilingParams(ground_m=300.0), 224, default_ground_m=146.2)
    assert spec.tile_px == 30
    spec, _ = resolve_grid(info, TilingParams(), 224, default_ground_m=20.0)  # 2 px: the smallest tile instead
    assert spec.tile_px == MIN_TILE_PX
    spec, _ = resolve_grid(info_of(NAIP), TilingParams(), 224, default_ground_m=146.2)
    assert spec.tile_px == 29  # 5 m NAIP pixels
    spec, read_px = resolve_grid(info_of(rf.no_crs(tmp_path)), TilingParams(), 224, default_ground_m=146.2)
    assert (spec.tile_px, read_px) == (224, 224)  # no CRS: the model input size in pixels


def test_resolve_grid_tile_too_small_in_metres(tmp_path: Path) -> None:
    info = info_of(rf.rgb_uint8(tmp_path))
    with pytest.raises(UserError) as exc:
        resolve_grid(info, TilingParams(ground_m=50.0), 224)  # 5 pixels
    assert f"at least {MIN_TILE_PX * 10.0:.3g} m" in one_line_user_error(exc.value)


@pytest.mark.parametrize("params", [TilingParams(ground_m=300.0), TilingParams(gsd=1.0)])
def test_resolve_grid_no_crs_with_metres(tmp_path: Path, params: TilingParams) -> None:
    info = info_of(rf.no_crs(tmp_path))
    with pytest.raises(UserError) as exc:
        resolve_grid(info, params, 224)
    assert "no CRS" in one_line_user_error(exc.value)
    spec, _ = resolve_grid(info, TilingParams(tile_px=16), 224)  # pixels still work
    assert spec.tile_px == 16


@pytest.mark.parametrize(
    "kwargs",
    [dict(tile_px=64, ground_m=100.0), dict(ground_m=100.0, gsd=1.0), dict(tile_px=4), dict(ground_m=-1.0),
     dict(ground_m=math.nan), dict(gsd=math.inf), dict(gsd=0.0), dict(overlap=0.95), dict(overlap=-0.1),
     dict(min_valid=1.5)],
)
def test_tiling_params_validation(kwargs: dict) -> None:
    with pytest.raises(UserError) as exc:
        TilingParams(**kwargs)
    one_line_user_error(exc.value)


# --- opening ----------------------------------------------------------------------------------


def test_open_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as exc:
        open_raster(tmp_path / "nope.tif")
    assert "not found" in one_line_user_error(exc.value)


def test_open_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as exc:
        open_raster(tmp_path)
    assert not isinstance(exc.value, NotFoundError)
    assert "folder" in one_line_user_error(exc.value)


@pytest.mark.parametrize("content", [b"this is not a raster\nsecond line\n", b""])
def test_open_text_file_named_tif(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.tif"
    path.write_bytes(content)
    with pytest.raises(UserError) as exc:
        open_raster(path)
    assert str(path) in one_line_user_error(exc.value)


@pytest.mark.parametrize("compress", [None, "deflate"])
def test_open_truncated_geotiff(tmp_path: Path, compress: str | None) -> None:
    options = {"compress": compress} if compress else {}
    data = np.random.default_rng(0).integers(0, 256, (3, 200, 200), dtype=np.uint8)
    path = rf.write_raster(tmp_path / "cut.tif", data, **options)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserError) as exc:
        open_raster(path)
    assert str(path) in one_line_user_error(exc.value)


def test_read_failure_after_open_is_one_line_user_error(tmp_path: Path) -> None:
    # The file is cut while a job holds it open (e.g. re-exported from QGIS during embedding).
    data = np.random.default_rng(0).integers(0, 256, (3, 200, 200), dtype=np.uint8)
    path = rf.write_raster(tmp_path / "shrinks.tif", data)
    whole = path.read_bytes()
    with pytest.raises(UserError) as exc:
        with open_raster(path, probe=False) as src:  # as a job's reader threads open it (probed when planned)
            os.truncate(path, len(whole) // 2)
            for row in range(0, 200, 50):
                read_tile(src, Window(0, row, 200, 50), (1, 2, 3), 200, U8)
    one_line_user_error(exc.value)


def test_open_good_file_returns_dataset(tmp_path: Path) -> None:
    path = rf.rgb_uint8(tmp_path)
    with open_raster(path) as src:
        assert (src.width, src.height, src.count) == (100, 60, 3)
    assert src.closed


# --- stretch ----------------------------------------------------------------------------------


def test_stretch_uint8_is_identity(tmp_path: Path) -> None:
    with open_raster(rf.rgb_uint8(tmp_path)) as src:
        limits = stretch_limits(src, (3, 2, 1))
    assert limits.shape == (3, 2) and limits.dtype == np.float64
    assert limits.tolist() == [[0.0, 255.0]] * 3


def test_stretch_uint16_percentiles_of_valid_pixels(tmp_path: Path) -> None:
    path, data = rf.uint16_raster(tmp_path, nodata=0)
    with open_raster(path) as src:
        limits = stretch_limits(src, (3, 1, 1))
    for channel, band in enumerate((3, 1, 1)):
        values = data[band - 1][5:].astype(np.float64)  # rows 0-4 are nodata
        assert limits[channel].tolist() == pytest.approx(np.percentile(values, [2, 98]).tolist())
    assert limits[:, 1].max() < 4000  # the 60000 outliers are above the 98th percentile
    assert limits[:, 0].min() > 0  # nodata zeros are not counted


def test_stretch_float_ignores_nan_nodata(tmp_path: Path) -> None:
    path, data = rf.float32_nan(tmp_path)
    with open_raster(path) as src:
        limits = stretch_limits(src, (1, 2, 3))
    assert np.all(np.isfinite(limits))
    for band in range(3):
        values = data[band][:, 10:].astype(np.float64)
        assert limits[band].tolist() == pytest.approx(np.percentile(values, [2, 98]).tolist(), rel=1e-6)


def test_stretch_float_nan_without_nodata(tmp_path: Path) -> None:
    data = np.random.default_rng(9).uniform(10, 20, (1, 30, 30)).astype(np.float32)
    data[0, :3] = np.nan
    data[0, 3, :5] = np.inf
    with open_raster(rf.write_raster(tmp_path / "nan.tif", data)) as src:
        limits = stretch_limits(src, (1, 1, 1))
    finite = data[np.isfinite(data)].astype(np.float64)
    assert limits[0].tolist() == pytest.approx(np.percentile(finite, [2, 98]).tolist(), rel=1e-6)


def test_stretch_constant_and_empty_bands(tmp_path: Path) -> None:
    data = np.full((2, 20, 20), 7, dtype=np.uint16)
    data[1] = 0  # all nodata
    with open_raster(rf.write_raster(tmp_path / "const.tif", data, nodata=0)) as src:
        limits = stretch_limits(src, (1, 2, 2))
    assert limits.tolist() == [[7.0, 8.0], [0.0, 1.0], [0.0, 1.0]]


# --- tiles ------------------------------------------------------------------------------------


def test_edge_tile_mirror_padded_with_in_raster_share(tmp_path: Path) -> None:
    path = rf.rgb_uint8(tmp_path, 100, 60)
    with rasterio.open(path) as src:
        data = src.read().astype(np.float32) / 255
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(64, 32, 64, 64), (1, 2, 3), 64, U8)
    assert tile.shape == (3, 64, 64)
    assert valid == pytest.approx(36 * 28 / (64 * 60))  # of the raster's own 60 rows: it is shorter than a tile
    np.testing.assert_allclose(tile[:, :28, :36], data[:, 32:60, 64:100], atol=1e-6)
    # outside the raster the tile mirrors its inside: no black band for the model to see
    np.testing.assert_allclose(tile[:, 28:56, :36], data[:, 32:60, 64:100][:, ::-1, :], atol=1e-6)
    np.testing.assert_allclose(tile[:, :28, 36:64], data[:, 32:60, 64:100][:, :, ::-1][:, :, :28], atol=1e-6)


def test_band_order_follows_the_mapping(tmp_path: Path) -> None:
    path = rf.rgb_uint8(tmp_path, 40, 40)
    with rasterio.open(path) as src:
        data = src.read().astype(np.float32) / 255
    with open_raster(path) as src:
        tile, _ = read_tile(src, Window(0, 0, 32, 32), (3, 1, 1), 32, U8)
    np.testing.assert_allclose(tile[0], data[2, :32, :32], atol=1e-6)
    np.testing.assert_allclose(tile[1], data[0, :32, :32], atol=1e-6)
    np.testing.assert_allclose(tile[2], data[0, :32, :32], atol=1e-6)


def test_alpha_masked_half_is_invalid(tmp_path: Path) -> None:
    path = rf.rgba_half_masked(tmp_path, 64, 64)
    info = info_of(path)
    bands = select_bands(info, None).bands
    assert bands == (1, 2, 3)
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(0, 0, 64, 64), bands, 64, U8)
    assert valid == pytest.approx(0.5)
    assert not tile[:, :, :32].any()
    assert tile[:, :, 32:].min() > 0  # values are 1..255


def test_nodata_pixels_are_invalid(tmp_path: Path) -> None:
    path, _ = rf.uint16_raster(tmp_path, 64, 48, nodata=0)
    with open_raster(path) as src:
        limits = stretch_limits(src, (1, 2, 3))
        tile, valid = read_tile(src, Window(0, 0, 32, 32), (1, 2, 3), 32, limits)
    assert valid == pytest.approx(27 / 32)  # rows 0-4 are nodata
    assert not tile[:, :5].any()
    assert 0.0 <= tile.min() and tile.max() <= 1.0


def test_nan_pixels_are_invalid(tmp_path: Path) -> None:
    path, _ = rf.float32_nan(tmp_path, 50, 40)
    with open_raster(path) as src:
        limits = stretch_limits(src, (1, 2, 3))
        tile, valid = read_tile(src, Window(0, 0, 40, 40), (1, 2, 3), 40, limits)
    assert np.all(np.isfinite(tile))
    assert valid == pytest.approx(30 / 40)
    assert not tile[:, :, :10].any()
    assert 0.0 <= tile.min() and tile.max() <= 1.0


def test_single_band_replicated_tile(tmp_path: Path) -> None:
    path = rf.single_band(tmp_path, 40, 30)
    choice = select_bands(info_of(path), None)
    assert choice.bands == (1, 1, 1)
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(0, 0, 30, 30), choice.bands, 30, U8[:1].repeat(3, 0))
    assert valid == 1.0
    np.testing.assert_array_equal(tile[0], tile[1])
    np.testing.assert_array_equal(tile[0], tile[2])


def test_big_tile_read_decimated(tmp_path: Path) -> None:
    # 4 x 4 blocks of constant value: a 4x decimated average read gives exactly the block values.
    blocks = np.random.default_rng(11).integers(0, 256, (3, 50, 50), dtype=np.uint8)
    data = blocks.repeat(4, axis=1).repeat(4, axis=2)
    path = rf.write_raster(tmp_path / "blocks.tif", data)
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(0, 0, 200, 200), (1, 2, 3), 50, U8)
    assert tile.shape == (3, 50, 50)
    assert valid == 1.0
    assert 0.0 <= tile.min() and tile.max() <= 1.0
    np.testing.assert_allclose(tile, blocks.astype(np.float32) / 255, atol=1e-6)


def test_big_edge_tile_read_decimated(tmp_path: Path) -> None:
    path = rf.rgb_uint8(tmp_path, 150, 150)
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(100, 100, 200, 200), (1, 2, 3), 50, U8)
    assert tile.shape == (3, 50, 50)
    # of the raster's own area (150 px read at the tile's 1/4 scale: 38 px), as it is smaller than one tile
    area = round(150 / 4) ** 2
    share = (50 / 4) ** 2 / area
    assert abs(valid - share) <= 2 * 13 / area  # within one output row and one column
    assert tile[:, 14:, :].any() and tile[:, :, 14:].any()  # mirrored, not black
    n = round(50 * 50 / 200)  # rows and columns read from inside the raster
    np.testing.assert_allclose(tile[:, n:2 * n, :n], tile[:, :n, :n][:, ::-1, :], atol=1e-6)


def test_tile_fully_outside_is_empty(tmp_path: Path) -> None:
    with open_raster(rf.rgb_uint8(tmp_path, 40, 40)) as src:
        tile, valid = read_tile(src, Window(40, 0, 16, 16), (1, 2, 3), 16, U8)
    assert valid == 0.0 and not tile.any()


# --- footprints -------------------------------------------------------------------------------


def test_footprints_axis_aligned() -> None:
    transform = (10.0, 0.0, 500000.0, 0.0, -10.0, 6000000.0)
    rings = footprints(transform, np.array([[2, 3, 4, 5], [0, 0, 1, 1]]))
    assert rings.shape == (2, 4, 2)
    assert rings[0].tolist() == [[500020.0, 5999970.0], [500060.0, 5999970.0],
                                 [500060.0, 5999920.0], [500020.0, 5999920.0]]
    assert rings[1].tolist() == [[500000.0, 6000000.0], [500010.0, 6000000.0],
                                 [500010.0, 5999990.0], [500000.0, 5999990.0]]


@pytest.mark.parametrize("angle", [30.0, -45.0, 90.0, 172.5])
def test_footprints_rotated_match_affine(angle: float) -> None:
    affine = rf.rotated_transform(angle)
    transform = tuple(affine)[:6]
    windows = np.array([[0, 0, 10, 10], [7, 3, 4, 9], [40, 25, 32, 32]])
    rings = footprints(transform, windows)
    for ring, (c, r, w, h) in zip(rings, windows, strict=True):
        expected = [affine @ (c, r), affine @ (c + w, r), affine @ (c + w, r + h), affine @ (c, r + h)]
        np.testing.assert_allclose(ring, expected, rtol=0, atol=1e-6)
    # rotation keeps side lengths: 10 m pixels
    side = np.hypot(*(rings[1][1] - rings[1][0]))
    assert side == pytest.approx(40.0)


def test_footprints_of_a_real_raster_corners() -> None:
    info = info_of(NAIP)
    ring = footprints(info.transform, np.array([[0, 0, info.width, info.height]]))[0]
    with rasterio.open(NAIP) as src:
        b = src.bounds
    assert ring.tolist() == [[b.left, b.top], [b.right, b.top], [b.right, b.bottom], [b.left, b.bottom]]


@pytest.mark.parametrize(
    "affine",
    [Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 6000000.0), rf.rotated_transform(30.0), rf.rotated_transform(-120.0, 0.5),
     Affine(0.0001, 0.0, 10.0, 0.0, -0.0001, 50.0), Affine(2.0, 0.3, 100.0, -0.2, -1.5, 900.0)],
)
def test_pixel_of_inverts_transform(affine: Affine) -> None:
    transform = tuple(affine)[:6]
    rng = np.random.default_rng(12)
    for col, row in rng.uniform(-50, 500, (20, 2)):
        x, y = affine @ (col, row)
        assert pixel_of(transform, x, y) == pytest.approx((col, row), abs=1e-6)
    # and agrees with rasterio's inverse
    x, y = affine @ (12.25, 3.5)
    assert pixel_of(transform, x, y) == pytest.approx(~affine @ (x, y), abs=1e-6)


def test_pixel_of_degenerate_transform() -> None:
    with pytest.raises(UserError):
        pixel_of((1.0, 2.0, 0.0, 2.0, 4.0, 0.0), 1.0, 1.0)


# --- rasters GDAL opens oddly (issue 15) ------------------------------------------------------


def test_a_raster_smaller_than_a_tile_counts_its_own_area(tmp_path: Path) -> None:
    path = rf.write_raster(tmp_path / "tiny.tif", np.full((3, 2, 3), 100, "uint8"))  # 3 x 2 px, all valid
    with open_raster(path) as src:
        tile, valid = read_tile(src, Window(0, 0, 224, 224), (1, 2, 3), 224, U8)
    assert valid == 1.0  # not 6 / 224**2: the padding is not the raster's fault
    assert tile.shape == (3, 224, 224) and np.allclose(tile, 100 / 255)
    strip = rf.write_raster(tmp_path / "strip.tif", np.full((1, 300, 1), 7, "uint8"))  # 1 px wide, 300 high
    with open_raster(strip) as src:
        _, valid = read_tile(src, Window(0, 0, 64, 64), (1, 1, 1), 64, U8)
    assert valid == 1.0


def test_complex_pixels_are_read_as_their_amplitude(tmp_path: Path) -> None:
    data = np.full((1, 8, 8), 3 + 4j, dtype="complex64")
    path = rf.write_raster(tmp_path / "c.tif", data)
    with open_raster(path) as src:
        assert describe(src).notes == ("its pixels are complex (complex64): the amplitude |z| of each is used",)
        limits = stretch_limits(src, (1, 1, 1))
        assert limits[0, 0] == pytest.approx(5.0)  # |3 + 4i|
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's ComplexWarning would be an error here
            tile, valid = read_tile(src, Window(0, 0, 8, 8), (1, 1, 1), 8, np.array([[0.0, 10.0]] * 3))
    assert valid == 1.0 and np.allclose(tile, 0.5)


def test_a_gcp_only_raster_is_warped_through_its_gcps(tmp_path: Path) -> None:
    from .. import raster_corpus as rc

    path = rc.gcp_only(True)(tmp_path)
    with open_raster(path) as src:
        info = describe(src)
    assert src.closed and src.src_dataset.closed  # closing the warp closes the file
    assert CRS.from_wkt(info.crs_wkt).to_epsg() == 4326
    assert info.path == os.path.realpath(path) and info.pixel_size_m is not None
    assert "ground control points" in info.notes[0]
    west, north = Affine(*info.transform) @ (0, 0)
    assert west == pytest.approx(10.0, abs=1e-3) and north == pytest.approx(50.0, abs=1e-3)


def test_gcps_without_a_crs_and_rpcs_say_why_outputs_are_in_pixels(tmp_path: Path) -> None:
    from .. import raster_corpus as rc

    for make, words in ((rc.gcp_only(False), "ground control points have no CRS"), (rc.rpc_only, "only RPCs")):
        with open_raster(make(tmp_path)) as src:
            info = describe(src)
        assert info.crs_wkt is None and words in info.notes[0] and "pixel coordinates" in info.notes[0]


def test_a_container_of_subdatasets_names_them(tmp_path: Path) -> None:
    from .. import raster_corpus as rc

    path = rc.gpkg_tables(tmp_path)
    with pytest.raises(SubdatasetsError) as exc:
        open_raster(path)
    message = one_line_user_error(exc.value)
    assert "holds 2 rasters" in message and "(FIRST, SECOND)" in message and f"'GPKG:{path}:FIRST'" in message
    name = exc.value.subdatasets[1]
    with open_raster(name) as src:  # the name it gives opens
        info = describe(src)
    assert info.path == name and info.count == 3 and info.file_size == os.path.getsize(path)


def test_gcps_that_cannot_be_warped_through_leave_pixel_coordinates_and_say_so(tmp_path: Path) -> None:
    from rasterio.control import GroundControlPoint

    from .. import raster_corpus as rc

    line = [GroundControlPoint(0, 0, 10.0, 50.0), GroundControlPoint(0, 10, 10.001, 50.0)]  # two points: no warp
    path = rc.write(tmp_path / "two_gcps.tif", np.full((1, 8, 12), 9, "uint8"), crs="EPSG:4326", transform=None,
                    gcps=line)
    with open_raster(path) as src:
        info = describe(src)
    assert info.crs_wkt is None and "could not be warped" in info.notes[0]
