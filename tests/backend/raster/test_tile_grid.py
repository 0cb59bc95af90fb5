"""The tile grid: counts, full coverage, cores that partition the raster, clipping and lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.raster.tile_grid import GridSpec, clip_windows, core_containing, grid_spec, tile_windows

# (width, height, tile_px, overlap), including rasters smaller than a tile, exact multiples,
# one pixel past a multiple, overlap 0.5 and the maximum overlap.
COMBOS = [
    (1, 1, 8, 0.0),
    (5, 3, 224, 0.0),
    (224, 224, 224, 0.0),
    (225, 224, 224, 0.0),
    (100, 60, 32, 0.0),
    (100, 60, 32, 0.5),
    (97, 131, 16, 0.5),
    (300, 17, 64, 0.25),
    (64, 200, 50, 0.5),
    (33, 29, 10, 0.9),
    (250, 250, 224, 0.5),
    (10, 1000, 7, 1 / 3),
]


@pytest.mark.parametrize(
    ("extent", "tile", "overlap", "expected"),
    [
        (224, 224, 0.0, 1),  # exactly one tile
        (100, 224, 0.0, 1),  # smaller than one tile
        (225, 224, 0.0, 2),  # one pixel more needs a second tile
        (448, 224, 0.0, 2),
        (1000, 224, 0.0, 5),  # 1 + ceil(776 / 224)
        (1000, 224, 0.5, 8),  # stride 112: 1 + ceil(776 / 112)
        (934, 224, 0.0, 5),  # NAIP width
        (723, 224, 0.0, 4),  # NAIP height
        (20, 10, 0.9, 11),  # stride 1
    ],
)
def test_grid_counts(extent: int, tile: int, overlap: float, expected: int) -> None:
    spec = grid_spec(extent, 50, tile, overlap)
    assert spec.n_cols == expected
    spec_t = grid_spec(50, extent, tile, overlap)
    assert spec_t.n_rows == expected
    assert grid_spec(extent, extent, tile, overlap).n_tiles == expected * expected


@pytest.mark.parametrize(("tile", "overlap", "stride"), [(224, 0.0, 224), (224, 0.5, 112), (10, 0.9, 1),
                                                          (8, 0.9, 1), (100, 0.25, 75), (3, 0.5, 2)])
def test_stride(tile: int, overlap: float, stride: int) -> None:
    assert grid_spec(500, 500, tile, overlap).stride_px == stride


@pytest.mark.parametrize(("width", "height", "tile", "overlap"), COMBOS)
def test_every_pixel_in_exactly_one_core(width: int, height: int, tile: int, overlap: float) -> None:
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    assert windows.shape == cores.shape == (spec.n_tiles, 4)
    count = np.zeros((height, width), dtype=np.int64)
    for c, r, w, h in cores:
        assert w >= 0 and h >= 0
        assert 0 <= c and c + w <= width and 0 <= r and r + h <= height, "core outside the raster"
        count[r:r + h, c:c + w] += 1
    assert count.min() == 1 and count.max() == 1
    assert int((cores[:, 2] * cores[:, 3]).sum()) == width * height


@pytest.mark.parametrize(("width", "height", "tile", "overlap"), COMBOS)
def test_windows_start_inside_and_cover_raster(width: int, height: int, tile: int, overlap: float) -> None:
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    assert np.all(windows[:, 2] == tile) and np.all(windows[:, 3] == tile)
    assert np.all((0 <= windows[:, 0]) & (windows[:, 0] < width))
    assert np.all((0 <= windows[:, 1]) & (windows[:, 1] < height))
    covered = np.zeros((height, width), dtype=bool)
    for c, r, w, h in windows:
        covered[r:r + h, c:c + w] = True
    assert covered.all()
    # Each core lies inside its own tile window.
    assert np.all(cores[:, 0] >= windows[:, 0]) and np.all(cores[:, 1] >= windows[:, 1])
    assert np.all(cores[:, 0] + cores[:, 2] <= windows[:, 0] + windows[:, 2])
    assert np.all(cores[:, 1] + cores[:, 3] <= windows[:, 1] + windows[:, 3])


def test_windows_are_row_major_with_stride() -> None:
    spec = grid_spec(100, 60, 32, 0.5)
    windows, _ = tile_windows(spec)
    assert (spec.n_cols, spec.n_rows) == (6, 3)
    assert windows[:, 0].reshape(spec.n_rows, spec.n_cols).tolist() == [[0, 16, 32, 48, 64, 80]] * 3
    assert windows[:, 1].reshape(spec.n_rows, spec.n_cols)[:, 0].tolist() == [0, 16, 32]


def test_raster_smaller_than_tile_is_one_tile_with_whole_core() -> None:
    spec = grid_spec(5, 3, 224, 0.5)
    windows, cores = tile_windows(spec)
    assert windows.tolist() == [[0, 0, 224, 224]]
    assert cores.tolist() == [[0, 0, 5, 3]]


def test_cores_split_overlap_halfway() -> None:
    # Two 10-pixel tiles with stride 5 over 15 pixels: the overlap 5..10 is split at 7.
    spec = grid_spec(15, 10, 10, 0.5)
    _, cores = tile_windows(spec)
    assert cores.tolist() == [[0, 0, 7, 10], [7, 0, 8, 10]]


def test_clip_windows() -> None:
    windows = np.array([
        [0, 0, 32, 32],  # inside
        [80, 40, 32, 32],  # runs past both edges
        [120, 0, 32, 32],  # fully right of the raster
        [0, 70, 32, 32],  # fully below
        [-10, -5, 32, 32],  # starts before the raster
    ])
    clipped = clip_windows(windows, 100, 60)
    assert clipped.tolist() == [
        [0, 0, 32, 32],
        [80, 40, 20, 20],
        [100, 0, 0, 32],
        [0, 60, 32, 0],
        [0, 0, 22, 27],
    ]
    assert np.all(clipped[:, 2] * clipped[:, 3] >= 0)


@pytest.mark.parametrize(("width", "height", "tile", "overlap"), [(100, 60, 32, 0.5), (97, 131, 16, 0.0),
                                                                   (5, 3, 224, 0.0)])
def test_core_containing_matches_cores(width: int, height: int, tile: int, overlap: float) -> None:
    _, cores = tile_windows(grid_spec(width, height, tile, overlap))
    owner = np.full((height, width), -1)
    for i, (c, r, w, h) in enumerate(cores):
        owner[r:r + h, c:c + w] = i
    for row in range(height):
        for col in range(width):
            assert core_containing(cores, col + 0.5, row + 0.5) == owner[row, col]
            assert core_containing(cores, col, row) == owner[row, col]


@pytest.mark.parametrize(("col", "row"), [(-0.5, 10), (10, -0.01), (100, 10), (10, 60), (1e9, 1e9), (-1, -1)])
def test_core_containing_outside_is_none(col: float, row: float) -> None:
    _, cores = tile_windows(grid_spec(100, 60, 32, 0.5))
    assert core_containing(cores, col, row) is None


@pytest.mark.parametrize(
    ("width", "height", "tile", "overlap"),
    [(0, 10, 8, 0.0), (10, 0, 8, 0.0), (-5, 10, 8, 0.0), (10, 10, 0, 0.0), (10, 10, -3, 0.0),
     (10, 10, 8, -0.1), (10, 10, 8, 0.95), (10, 10, 8, 1.0), (10, 10, 8, math.nan)],
)
def test_bad_inputs_raise_value_error(width: int, height: int, tile: int, overlap: float) -> None:
    with pytest.raises(ValueError):
        grid_spec(width, height, tile, overlap)


def test_grid_spec_is_a_value() -> None:
    assert grid_spec(100, 60, 32, 0.5) == GridSpec(100, 60, 32, 16)
