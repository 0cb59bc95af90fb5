"""Probing a raster's pixels before a model loads: blocks spread over it, VRT sources, no valid pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.windows

from backend.errors import DamagedRasterError, NoValidPixelsError
from backend.raster.probe import check_pixels, sample_blocks, vrt_sources

from .. import raster_corpus as rc
from .. import raster_factory as rf


def _check(path, **options) -> None:
    with rasterio.open(path) as src:
        check_pixels(src, str(path), **options)


def test_sample_blocks_spreads_over_the_raster_first_and_last_included() -> None:
    windows = sample_blocks(1000, 900, 100, 100, n=8)  # 10 x 9 = 90 blocks
    assert len(windows) == 8
    offsets = [(w.col_off, w.row_off) for w in windows]
    assert offsets[0] == (0, 0) and offsets[-1] == (900, 800)
    rows = {row for _, row in offsets}
    assert len(rows) >= 6  # spread down the raster, not bunched at one end


def test_sample_blocks_takes_every_block_of_a_small_grid_clipped_to_the_raster() -> None:
    windows = sample_blocks(250, 120, 100, 100, n=32)
    assert len(windows) == 6
    assert {(w.width, w.height) for w in windows} == {(100, 100), (50, 100), (100, 20), (50, 20)}


def _damage_block(path: Path, x: int, y: int) -> None:
    """Overwrite one tile's bytes (block column ``x``, row ``y``) with garbage: only that block fails to decode."""
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=1) or 0)
        size = int(src.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=1) or 0)
    assert offset and size
    data = bytearray(path.read_bytes())
    data[offset:offset + size] = bytes([0xFF]) * size
    path.write_bytes(bytes(data))


def test_a_damaged_block_in_the_middle_is_found_not_only_the_last(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 255, (1, 64, 512), dtype=np.uint8)
    path = rf.write_raster(tmp_path / "strip.tif", data, compress="deflate", tiled=True, blockxsize=16,
                           blockysize=16)  # 32 x 4 blocks
    _check(path, whole_bytes=0, blocks=16)
    # 16 samples of 128 blocks pick block 68 (column 4, row 2), far from either end
    assert any((w.col_off, w.row_off) == (64, 32) for w in sample_blocks(512, 64, 16, 16, 16))
    _damage_block(path, 4, 2)
    with rasterio.open(path) as src:
        src.read(window=rasterio.windows.Window(511, 63, 1, 1))  # the last block still reads
    with pytest.raises(DamagedRasterError, match="damaged or incomplete"):
        _check(path, whole_bytes=0, blocks=16)


def test_a_vrt_with_a_missing_source_is_refused_before_reading(tmp_path: Path) -> None:
    path = rc.vrt(tmp_path, missing=True, mosaic=True)
    assert [Path(s).name for s in vrt_sources(path)] == ["vrt_left_missing_mosaic.tif", "vrt_right_missing_mosaic.tif"]
    with pytest.raises(DamagedRasterError, match="vrt_right_missing_mosaic.tif does not exist"):
        _check(path)


def test_a_raster_without_a_valid_pixel_is_refused(tmp_path: Path) -> None:
    nan = rf.write_raster(tmp_path / "nan.tif", np.full((2, 5, 5), np.nan, "float32"))
    with pytest.raises(NoValidPixelsError, match="no valid pixels"):
        _check(nan)
    half = np.full((2, 5, 5), np.nan, "float32")
    half[0, 0, 0] = 1.0
    _check(rf.write_raster(tmp_path / "one.tif", half))  # one valid pixel is enough
