"""Property tests (hypothesis) of the tiling math: for random raster sizes, tile sizes and overlaps the
cores partition the raster, each core lies in its own tile, windows stay in the padded grid, and tile
footprints lie inside the raster's bounds under projected, geographic, rotated and sheared transforms.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.raster.reader import footprints, pixel_of
from backend.raster.tile_grid import clip_windows, core_containing, grid_spec, tile_windows

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

sizes = st.integers(min_value=1, max_value=400)
tiles = st.integers(min_value=1, max_value=300)
overlaps = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1 / 3]), st.floats(min_value=0.0, max_value=0.9))


@SETTINGS
@given(width=sizes, height=sizes, tile=tiles, overlap=overlaps)
def test_cores_cover_every_pixel_exactly_once(width, height, tile, overlap):
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    assert len(windows) == len(cores) == spec.n_tiles == spec.n_cols * spec.n_rows
    hits = np.zeros((height, width), dtype=np.int32)
    for c, r, w, h in cores:
        assert w >= 1 and h >= 1  # no empty core: every tile owns some pixels
        hits[r:r + h, c:c + w] += 1
    assert (hits == 1).all()


@SETTINGS
@given(width=sizes, height=sizes, tile=tiles, overlap=overlaps)
def test_each_core_lies_in_its_tile_and_windows_stay_in_the_padded_grid(width, height, tile, overlap):
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    wc0, wr0, ww, wh = windows.T
    cc0, cr0, cw, ch = cores.T
    # a tile's core is part of what the model saw for that tile
    assert ((wc0 <= cc0) & (cc0 + cw <= wc0 + ww) & (wr0 <= cr0) & (cr0 + ch <= wr0 + wh)).all()
    assert (ww == tile).all() and (wh == tile).all()
    # windows start inside the raster and end inside the padded grid, which reaches the raster's end
    padded_w = (spec.n_cols - 1) * spec.stride_px + tile
    padded_h = (spec.n_rows - 1) * spec.stride_px + tile
    assert padded_w >= width and padded_h >= height
    assert (wc0 >= 0).all() and (wc0 < width).all() and (wr0 >= 0).all() and (wr0 < height).all()
    assert (wc0 + ww <= padded_w).all() and (wr0 + wh <= padded_h).all()
    # and the grid is no larger than needed: one tile fewer per axis would not reach the end
    if spec.n_cols > 1:
        assert (spec.n_cols - 2) * spec.stride_px + tile < width
    if spec.n_rows > 1:
        assert (spec.n_rows - 2) * spec.stride_px + tile < height
    clipped = clip_windows(windows, width, height)
    assert (clipped[:, 2] >= 1).all() and (clipped[:, 3] >= 1).all()  # every tile holds raster pixels
    assert (clipped[:, 0] + clipped[:, 2] <= width).all() and (clipped[:, 1] + clipped[:, 3] <= height).all()


@SETTINGS
@given(width=sizes, height=sizes, tile=tiles, overlap=overlaps,
       point=st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True)))
def test_core_lookup_finds_the_one_core_holding_a_point(width, height, tile, overlap, point):
    _, cores = tile_windows(grid_spec(width, height, tile, overlap))
    col, row = point[0] * width, point[1] * height
    i = core_containing(cores, col, row)
    assert i is not None
    c, r, w, h = cores[i]
    assert c <= col < c + w and r <= row < r + h
    assert core_containing(cores, width + 0.5, row) is None and core_containing(cores, col, -0.5) is None


# ---------------------------------------------------------------- footprints under real transforms


@st.composite
def transforms(draw) -> tuple[float, ...]:
    """Affine coefficients (a, b, c, d, e, f) as rasterio gives them: x = a*col + b*row + c, y = d*col + e*row + f."""
    kind = draw(st.sampled_from(["projected", "geographic", "rotated", "sheared"]))
    if kind == "geographic":  # EPSG:4326-like: degrees, tiny pixels, anywhere on the globe
        px = draw(st.floats(1e-6, 0.01))
        return (px, 0.0, draw(st.floats(-180, 170)), 0.0, -px, draw(st.floats(-80, 90)))
    px = draw(st.floats(0.05, 1000))
    py = draw(st.floats(0.05, 1000))
    x0, y0 = draw(st.floats(-1e6, 1e6)), draw(st.floats(-1e7, 1e7))
    if kind == "projected":
        return (px, 0.0, x0, 0.0, -py, y0)
    angle = draw(st.floats(-180, 180))
    shear = draw(st.floats(-30, 30)) if kind == "sheared" else 0.0
    # a north-up pixel grid, sheared, rotated about its top-left corner, then placed
    t = Affine.translation(x0, y0) @ Affine.rotation(angle) @ Affine.shear(shear, 0) @ Affine.scale(px, -py)
    return tuple(t)[:6]


@SETTINGS
@given(width=sizes, height=sizes, tile=tiles, overlap=overlaps, transform=transforms())
def test_footprints_lie_inside_the_raster_bounds(width, height, tile, overlap, transform):
    a, b, _, d, e, _ = transform
    det = a * e - b * d
    spec = grid_spec(width, height, tile, overlap)
    windows, cores = tile_windows(spec)
    clipped = clip_windows(windows, width, height)
    for boxes in (clipped, cores):
        quads = footprints(transform, boxes)
        assert quads.shape == (len(boxes), 4, 2) and np.isfinite(quads).all()
        # back in pixel space every corner is inside the raster (within float error)
        for quad in quads[:: max(1, len(quads) // 20)]:
            for x, y in quad:
                col, row = pixel_of(transform, x, y)
                assert -1e-6 * width <= col <= width * (1 + 1e-6) + 1e-6
                assert -1e-6 * height <= row <= height * (1 + 1e-6) + 1e-6
        # each quad is the window's parallelogram: its area is the pixel area times the window's
        # shoelace on corners relative to the first one: absolute degrees or metres would cancel digits
        x = quads[..., 0] - quads[:, :1, 0]
        y = quads[..., 1] - quads[:, :1, 1]
        area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))
        expected = abs(det) * boxes[:, 2] * boxes[:, 3]
        np.testing.assert_allclose(area, expected, rtol=1e-6, atol=abs(det) * 1e-3)
    # core footprints add up to the raster's own footprint: nothing lost, nothing counted twice
    total = abs(det) * width * height
    core_area = abs(det) * float((cores[:, 2] * cores[:, 3]).sum())
    assert math.isclose(core_area, total, rel_tol=1e-9)


@SETTINGS
@given(width=sizes, tile=tiles, overlap=overlaps)
def test_a_pixel_belongs_to_the_tile_whose_centre_is_nearest(width, tile, overlap):
    """Along an axis, the core owning a pixel is that of a tile whose centre is nearest to it (to within
    the half pixel an integer split of an odd overlap costs)."""
    windows, cores = tile_windows(grid_spec(width, 1, tile, overlap))
    centres = windows[:, 0] + windows[:, 2] / 2.0
    for i, (c, _, w, _) in enumerate(cores):
        for pixel in {int(c), int(c + w - 1)}:  # a core's first and last pixel are the contested ones
            d = np.abs(centres - (pixel + 0.5))
            assert d[i] <= d.min() + 0.5, (pixel, i, d)
