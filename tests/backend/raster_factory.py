"""Real GeoTIFFs for the backend tests, written with rasterio into a given folder.

Every maker returns the path of the file it wrote. Arrays are ``bands x height x width``. The
default georeferencing is a 10 m grid in UTM 33N whose top-left corner sits on the zone's central
meridian (so the projection's scale factor is 0.9996 and ground sizes equal map sizes to 0.04 %).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

UTM_CRS = "EPSG:32633"
UTM_ORIGIN = (500_000.0, 6_000_000.0)
UTM_TRANSFORM = Affine(10.0, 0.0, UTM_ORIGIN[0], 0.0, -10.0, UTM_ORIGIN[1])

_DEFAULT = object()


def write_raster(
    path: str | Path,
    array: np.ndarray,
    crs: str | None = _DEFAULT,  # type: ignore[assignment]
    transform: Affine | None = None,
    nodata: float | None = None,
    colorinterp: Sequence[str] | None = None,
    dtype: str | None = None,
    **creation_options,
) -> Path:
    """Write ``array`` (bands x H x W, or H x W for one band) as a GeoTIFF and return its path.

    ``crs`` defaults to UTM 33N; pass None for a raster without a CRS (and, unless ``transform`` is
    given, without a geotransform). ``colorinterp`` names rasterio ColorInterp members per band
    ("red", "gray", "alpha", "undefined"...).
    """
    path = Path(path)
    data = np.asarray(array)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"array must be bands x H x W, got shape {data.shape}")
    dtype = dtype or data.dtype.name
    if crs is _DEFAULT:
        crs = UTM_CRS
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": dtype,
    }
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    elif crs is not None:
        profile["transform"] = UTM_TRANSFORM
    if nodata is not None:
        profile["nodata"] = nodata
    profile.update(creation_options)
    if colorinterp is not None and len(colorinterp) != data.shape[0]:
        raise ValueError(f"{len(colorinterp)} colour interpretations for {data.shape[0]} bands")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data.astype(dtype, copy=False))
            if colorinterp is not None:
                dst.colorinterp = [ColorInterp[name] for name in colorinterp]
    return path


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def rgb_uint8(folder: str | Path, width: int = 100, height: int = 60, name: str = "rgb.tif",
              seed: int = 0) -> Path:
    """3-band uint8 RGB (tagged red/green/blue) in UTM 33N, 10 m pixels, every pixel valid (1..255)."""
    data = _rng(seed).integers(1, 256, (3, height, width), dtype=np.uint8)
    return write_raster(Path(folder) / name, data, colorinterp=("red", "green", "blue"))


def naip_like(folder: str | Path, width: int = 80, height: int = 70, name: str = "naip.tif") -> Path:
    """4-band uint8 like NAIP: band 1 tagged gray, bands 2-4 (G, B, NIR) undefined, nodata 0."""
    data = _rng(1).integers(1, 256, (4, height, width), dtype=np.uint8)
    return write_raster(Path(folder) / name, data, nodata=0,
                        colorinterp=("gray", "undefined", "undefined", "undefined"), photometric="MINISBLACK")


def uint16_raster(folder: str | Path, width: int = 64, height: int = 48, nodata: int | None = 0,
                  name: str = "u16.tif") -> tuple[Path, np.ndarray]:
    """3-band uint16 with a wide value range; the first 5 rows are ``nodata`` when it is set.

    Returns the path and the array written.
    """
    rng = _rng(2)
    data = rng.integers(100, 4000, (3, height, width)).astype(np.uint16)
    data[:, 0, :3] = 60_000  # a few bright outliers the 98th percentile must ignore
    if nodata is not None:
        data[:, :5, :] = nodata
    path = write_raster(Path(folder) / name, data, nodata=nodata, colorinterp=("red", "green", "blue"))
    return path, data


def float32_nan(folder: str | Path, width: int = 50, height: int = 40,
                name: str = "f32.tif") -> tuple[Path, np.ndarray]:
    """3-band float32 reflectance-like values with NaN as nodata over the left 10 columns.

    Returns the path and the array written.
    """
    data = _rng(3).uniform(0.0, 0.5, (3, height, width)).astype(np.float32)
    data[:, :, :10] = np.nan
    path = write_raster(Path(folder) / name, data, nodata=float("nan"))
    return path, data


def geographic(folder: str | Path, width: int = 40, height: int = 30, pixel_deg: float = 0.0001,
               lon: float = 10.0, lat: float = 50.0, name: str = "wgs84.tif") -> Path:
    """3-band uint8 in EPSG:4326 whose top-left corner is at (lon, lat), square pixels of ``pixel_deg``."""
    data = _rng(4).integers(0, 256, (3, height, width), dtype=np.uint8)
    return write_raster(Path(folder) / name, data, crs="EPSG:4326",
                        transform=Affine(pixel_deg, 0.0, lon, 0.0, -pixel_deg, lat))


def no_crs(folder: str | Path, width: int = 40, height: int = 30, name: str = "nocrs.tif") -> Path:
    """3-band uint8 with neither CRS nor geotransform (pixel coordinates only)."""
    data = _rng(5).integers(0, 256, (3, height, width), dtype=np.uint8)
    return write_raster(Path(folder) / name, data, crs=None)


def rgba_half_masked(folder: str | Path, width: int = 64, height: int = 64, name: str = "rgba.tif") -> Path:
    """4-band uint8 R, G, B, alpha; alpha is 0 over the left half of the columns and 255 elsewhere."""
    data = _rng(6).integers(1, 256, (4, height, width), dtype=np.uint8)
    data[3] = 255
    data[3, :, : width // 2] = 0
    return write_raster(Path(folder) / name, data, colorinterp=("red", "green", "blue", "alpha"),
                        photometric="RGB", alpha="YES")


def rotated_transform(angle_deg: float = 30.0, pixel: float = 10.0,
                      origin: tuple[float, float] = UTM_ORIGIN) -> Affine:
    """A north-up grid of ``pixel`` metres rotated by ``angle_deg`` about its top-left corner."""
    return Affine.translation(*origin) @ Affine.rotation(angle_deg) @ Affine.scale(pixel, -pixel)


def rotated(folder: str | Path, width: int = 40, height: int = 30, angle_deg: float = 30.0,
            name: str = "rotated.tif") -> Path:
    """3-band uint8 in UTM 33N with a rotated geotransform (10 m pixels)."""
    data = _rng(7).integers(0, 256, (3, height, width), dtype=np.uint8)
    return write_raster(Path(folder) / name, data, transform=rotated_transform(angle_deg))


def single_band(folder: str | Path, width: int = 40, height: int = 30, dtype: str = "uint8",
                name: str = "single.tif") -> Path:
    """One gray band in UTM 33N."""
    data = _rng(8).integers(0, 256, (1, height, width)).astype(dtype)
    return write_raster(Path(folder) / name, data, colorinterp=("gray",))
