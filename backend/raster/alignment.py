"""Two dates of one place on one grid: the overlap of two rasters and a view of the second on the first's grid.

Change detection compares the tiles of BEFORE and AFTER one by one, so both are tiled on BEFORE's pixel grid.
When AFTER already has BEFORE's CRS, transform and size it is used as it is; otherwise it is read through a
warped view: a GDAL warped VRT (``VRTWarpedDataset``, bilinear) with BEFORE's CRS, transform and size, written
once into the cache (``<cache>/aligned/<hash>.vrt``, the hash of AFTER's identity and BEFORE's grid) so the
embedding pipeline opens it like any raster file and its store is cached like any other. Pixels of the view
outside AFTER's footprint are nodata, so tiles outside the overlap are skipped when AFTER is embedded: AFTER's
own nodata value, or (AFTER has none) NaN for floating-point data and 0 for integers. (An alpha band would be
the cleaner mask, but GDAL's VRT copy of a warped view drops its mask semantics: every pixel read back valid.)

Units: bounds in BEFORE's CRS units; transforms are rasterio/affine 6-tuples (a, b, c, d, e, f).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..config import cache_root
from ..errors import UserError
from .reader import RasterInfo

ALIGNED_DIR = "aligned"


def _bounds(info: RasterInfo) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a raster in its own CRS units (rotated transforms: the corners' box)."""
    from affine import Affine

    t = Affine(*info.transform)
    xs, ys = zip(*(t @ (c, r) for c in (0, info.width) for r in (0, info.height)))
    return min(xs), min(ys), max(xs), max(ys)


def overlap_bounds(before: RasterInfo, after: RasterInfo) -> tuple[float, float, float, float]:
    """The box both rasters cover, in BEFORE's CRS units; one line when they do not overlap or cannot be compared.

    Without a CRS on both, the rasters are compared in pixels only if their grids are the same (the same
    transform and size), since nothing else says where one lies on the other.
    """
    if (before.crs_wkt is None) != (after.crs_wkt is None) or (before.crs_wkt is None and not same_grid(before, after)):
        raise UserError(f"{after.path} and {before.path} cannot be compared: one has no CRS (or neither has and "
                        "their grids differ); georeference both")
    box = _bounds(before)
    other = _bounds(after)
    if after.crs_wkt is not None and before.crs_wkt is not None and not _same_crs(before.crs_wkt, after.crs_wkt):
        from rasterio.warp import transform_bounds

        other = transform_bounds(after.crs_wkt, before.crs_wkt, *other, densify_pts=21)
    left, bottom = max(box[0], other[0]), max(box[1], other[1])
    right, top = min(box[2], other[2]), min(box[3], other[3])
    if not (right > left and top > bottom):
        raise UserError(f"{before.path} and {after.path} do not overlap: give two rasters of the same place")
    return left, bottom, right, top


def check_same_bands(before: RasterInfo, after: RasterInfo, bands: tuple[int, ...] | None) -> None:
    """Refuse two dates with different band counts unless the bands to use are given (they then apply to both)."""
    if before.count != after.count and not bands:
        raise UserError(f"{before.path} has {before.count} bands and {after.path} {after.count}: compare rasters "
                        "with the same bands, or give --bands (used for both)")
    if bands and max(bands) > min(before.count, after.count):
        raise UserError(f"band {max(bands)} does not exist in both rasters ({before.count} and {after.count} bands)")


def _same_crs(a: str, b: str) -> bool:
    if a == b:
        return True
    from rasterio.crs import CRS

    return CRS.from_wkt(a) == CRS.from_wkt(b)


def same_grid(before: RasterInfo, after: RasterInfo, tolerance: float = 1e-9) -> bool:
    """True when AFTER's pixels are BEFORE's: the same size, transform (to ``tolerance`` of a pixel) and CRS."""
    if (before.width, before.height) != (after.width, after.height):
        return False
    if (before.crs_wkt is None) != (after.crs_wkt is None):
        return False
    if before.crs_wkt is not None and not _same_crs(before.crs_wkt, after.crs_wkt):
        return False
    pixel = max(abs(before.transform[0]), abs(before.transform[4]), 1e-12)
    return all(abs(p - q) <= tolerance * pixel * max(1.0, abs(p) / pixel) for p, q in
               zip(before.transform, after.transform))


def aligned_path(before: RasterInfo, after: RasterInfo, root: Path | None = None) -> str:
    """AFTER as a raster on BEFORE's grid: AFTER's own path when the grids agree, else a warped VRT in the cache.

    The VRT's name hashes AFTER's identity (path, size, modification time) and BEFORE's grid, so a changed AFTER
    gets a new view (and a new store); it is written atomically and reused while it exists.
    """
    if same_grid(before, after):
        return after.path
    overlap_bounds(before, after)  # refuses rasters that do not overlap before anything is written
    grid = {"crs": before.crs_wkt, "transform": list(before.transform), "width": before.width,
            "height": before.height}
    digest = hashlib.sha256(json.dumps({"after": after.identity, "grid": grid}, sort_keys=True).encode()).hexdigest()
    folder = (root or cache_root()) / ALIGNED_DIR
    out = folder / f"{digest[:32]}.vrt"
    if out.is_file():
        return str(out)
    import rasterio
    import rasterio.shutil
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".aligned.", suffix=".vrt", dir=folder)
    os.close(fd)
    try:
        with rasterio.open(os.path.abspath(after.path)) as src:  # the VRT names its source by this path
            nodata = src.nodata
            if nodata is None:
                nodata = float("nan") if src.dtypes[0].startswith("float") else 0
            view = WarpedVRT(src, crs=before.crs_wkt, transform=Affine(*before.transform), width=before.width,
                             height=before.height, resampling=Resampling.bilinear, nodata=nodata)
            with view:
                rasterio.shutil.copy(view, tmp, driver="VRT")
        os.replace(tmp, out)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, (OSError, rasterio.errors.RasterioError)):
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"cannot put {after.path} on the grid of {before.path}: {reason}") from None
        raise
    return str(out)
