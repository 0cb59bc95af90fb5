"""rasterio's Window and affine's Affine against the hand-written window and 6-tuple maths they replaced.

The old code is kept here as the reference: random windows and geotransforms (rotated ones too), and
the NAIP sample's real transform, give the same intersections, footprints, inverse points and pixel sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.windows import Window, WindowError

from backend.raster.reader import footprints, pixel_of, pixel_size_metres
from tests.backend.conftest import SAMPLE

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class _OldWindow:
    col_off: int
    row_off: int
    width: int
    height: int

    def intersection(self, other: _OldWindow) -> _OldWindow | None:
        c0, r0 = max(self.col_off, other.col_off), max(self.row_off, other.row_off)
        c1 = min(self.col_off + self.width, other.col_off + other.width)
        r1 = min(self.row_off + self.height, other.row_off + other.height)
        if c1 <= c0 or r1 <= r0:
            return None
        return _OldWindow(c0, r0, c1 - c0, r1 - r0)


def _old_footprints(transform, windows):
    a, b, c, d, e, f = transform
    c0 = windows[:, 0].astype(np.float64)
    r0 = windows[:, 1].astype(np.float64)
    c1, r1 = c0 + windows[:, 2], r0 + windows[:, 3]
    cols = np.stack([c0, c1, c1, c0], axis=1)
    rows = np.stack([r0, r0, r1, r1], axis=1)
    return np.stack([a * cols + b * rows + c, d * cols + e * rows + f], axis=2)


def _old_pixel_of(transform, x, y):
    a, b, c, d, e, f = transform
    det = a * e - b * d
    return (e * (x - c) - b * (y - f)) / det, (-d * (x - c) + a * (y - f)) / det


windows = st.tuples(st.integers(-500, 2000), st.integers(-500, 2000), st.integers(1, 600), st.integers(1, 600))
finite = st.floats(-1e6, 1e6, allow_nan=False)
scale = st.floats(0.01, 100.0)
transforms = st.tuples(scale, st.floats(-5.0, 5.0), finite, st.floats(-5.0, 5.0), scale.map(lambda v: -v), finite)


@SETTINGS
@given(windows, st.integers(1, 1500), st.integers(1, 1500))
def test_window_intersection_matches(w, width, height):
    old = _OldWindow(*w).intersection(_OldWindow(0, 0, width, height))
    try:
        new = Window(*w).intersection(Window(0, 0, width, height))
    except WindowError:
        new = None
    if old is None:
        assert new is None
    else:
        assert (new.col_off, new.row_off, new.width, new.height) == (old.col_off, old.row_off, old.width, old.height)


@SETTINGS
@given(transforms, st.lists(windows, min_size=1, max_size=20), finite, finite)
def test_footprints_and_inverse_match(transform, ws, x, y):
    arr = np.array(ws, dtype=np.int64)
    np.testing.assert_allclose(footprints(transform, arr), _old_footprints(transform, arr), rtol=1e-12, atol=1e-6)
    a, b, _, d, e, _ = transform
    if abs(a * e - b * d) > 1e-3:
        np.testing.assert_allclose(pixel_of(transform, x, y), _old_pixel_of(transform, x, y), rtol=1e-9, atol=1e-6)


def test_sample_raster_maths_match():
    with rasterio.open(SAMPLE) as src:
        transform, crs_wkt, width, height = tuple(src.transform)[:6], src.crs.to_wkt(), src.width, src.height
        res = src.res
    arr = np.array([[0, 0, 64, 64], [100, 200, 64, 64], [width - 10, height - 10, 64, 64]])
    np.testing.assert_array_equal(footprints(transform, arr), _old_footprints(transform, arr))
    x, y = 487500.0, 5207000.0
    np.testing.assert_allclose(pixel_of(transform, x, y), _old_pixel_of(transform, x, y), rtol=0, atol=1e-9)
    dx, dy = pixel_size_metres(crs_wkt, transform, width, height)
    # UTM: ground metres are map units within the projection's scale factor (0.9996 at the meridian).
    assert math.isclose(dx, res[0], rel_tol=2e-3) and math.isclose(dy, res[1], rel_tol=2e-3)
