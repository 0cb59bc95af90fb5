"""A local XYZ tile set cut from a real GeoTIFF: a web basemap the tests can open without a network.

``write_xyz_tiles`` reprojects the raster to Web Mercator (EPSG:3857) at one zoom level and writes
256 x 256 PNG tiles as ``{z}/{x}/{y}.png``; QGIS opens the folder as an XYZ layer through a
``file://`` URL, exactly as it opens a tile server.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject, transform_bounds

ORIGIN_M = 20037508.342789244  # half the Web Mercator world's width, metres
TILE_PX = 256


def tile_range(bounds_3857: tuple[float, float, float, float], zoom: int) -> tuple[range, range]:
    """Columns and rows of the tiles at ``zoom`` covering Web Mercator bounds (metres)."""
    size = 2 * ORIGIN_M / 2**zoom
    left, bottom, right, top = bounds_3857
    x0, x1 = math.floor((left + ORIGIN_M) / size), math.floor((right + ORIGIN_M) / size)
    y0, y1 = math.floor((ORIGIN_M - top) / size), math.floor((ORIGIN_M - bottom) / size)
    return range(x0, x1 + 1), range(y0, y1 + 1)


def write_xyz_tiles(raster: str | Path, folder: str | Path, zoom: int) -> int:
    """Write the RGB tiles covering ``raster`` at ``zoom`` under ``folder``; returns how many."""
    folder = Path(folder)
    size = 2 * ORIGIN_M / 2**zoom
    count = 0
    with rasterio.open(raster) as src:
        bounds = transform_bounds(src.crs, "EPSG:3857", *src.bounds)
        xs, ys = tile_range(bounds, zoom)
        bands = [1, 2, 3]
        for x in xs:
            for y in ys:
                transform = from_origin(-ORIGIN_M + x * size, ORIGIN_M - y * size, size / TILE_PX, size / TILE_PX)
                out = np.zeros((4, TILE_PX, TILE_PX), dtype=np.uint8)
                for i, band in enumerate(bands):
                    reproject(rasterio.band(src, band), out[i], dst_transform=transform, dst_crs="EPSG:3857",
                              resampling=Resampling.bilinear, dst_nodata=0)
                mask = np.zeros((TILE_PX, TILE_PX), dtype=np.uint8)
                reproject(np.ones((src.height, src.width), dtype=np.uint8) * 255, mask, src_transform=src.transform,
                          src_crs=src.crs, dst_transform=transform, dst_crs="EPSG:3857",
                          resampling=Resampling.nearest, dst_nodata=0)
                out[3] = mask
                path = folder / str(zoom) / str(x) / f"{y}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.moveaxis(out, 0, -1), "RGBA").save(path)
                count += 1
    return count


def xyz_uri(folder: str | Path, zoom: int) -> str:
    """The QGIS data source of an XYZ layer reading ``folder`` (zoom fixed to the level written)."""
    url = Path(folder).resolve().as_uri() + "/{z}/{x}/{y}.png"
    return f"type=xyz&url={url}&zmin={zoom}&zmax={zoom}"
