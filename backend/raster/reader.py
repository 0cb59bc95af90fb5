"""Reading a raster as model-ready tiles: opening, band choice, stretch, windows and footprints.

Pixel windows are in raster pixels; footprints are in the raster's CRS units (pixel coordinates
when the raster has no CRS); ground sizes are in metres.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import rasterio
from affine import Affine, TransformNotInvertibleError
from pyproj import CRS, Transformer
from pyproj.exceptions import GeodError, ProjError
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window, WindowError

from ..errors import SubdatasetsError, UserError
from .bands import BandChoice, choose_bands
from .gdal_messages import DEBUG_LOG, quiet_gdal
from .probe import check_pixels
from .probe import reason as _reason
from .sources import check_source, real_name, source_file
from .tile_grid import GridSpec, grid_spec

# Robust stretch limits for non-8-bit rasters: percentiles of valid pixels, per band.
STRETCH_PERCENTILES = (2.0, 98.0)
# Longest side of the decimated read the stretch limits are computed from (pixels).
STRETCH_SAMPLE_PX = 1024
# Smallest tile side the model may see from a raster (pixels); smaller means a wrong size or GSD.
MIN_TILE_PX = 8


@dataclass(frozen=True)
class TilingParams:
    """How a user asked a raster to be tiled. At most one of the three sizes is set.

    ``tile_px``: tile side in raster pixels. ``ground_m``: tile side on the ground in metres.
    ``gsd``: metres per model-input pixel, so a tile covers ``gsd * image_size`` metres.
    ``overlap``: fraction of a tile side shared with its neighbour. ``min_valid``: tiles with a
    smaller fraction of valid (not nodata, not alpha-masked, not padding) pixels are skipped.
    """

    tile_px: int | None = None
    ground_m: float | None = None
    gsd: float | None = None
    overlap: float = 0.0
    bands: tuple[int, ...] | None = None
    min_valid: float = 0.01

    def __post_init__(self) -> None:
        if sum(v is not None for v in (self.tile_px, self.ground_m, self.gsd)) > 1:
            raise UserError("give only one of --tile-size, a tile size in metres, or --gsd")
        if self.tile_px is not None and self.tile_px < MIN_TILE_PX:
            raise UserError(f"--tile-size must be at least {MIN_TILE_PX} pixels, got {self.tile_px}")
        for name, value in (("tile size in metres", self.ground_m), ("--gsd", self.gsd)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise UserError(f"{name} must be a positive number of metres, got {value}")
        if not 0.0 <= self.overlap <= 0.9:
            raise UserError(f"--overlap must be a fraction from 0 to 0.9, got {self.overlap}")
        if not 0.0 <= self.min_valid <= 1.0:
            raise UserError(f"minimum valid fraction must be from 0 to 1, got {self.min_valid}")


@dataclass(frozen=True)
class RasterInfo:
    """What the backend needs to know of a raster, read once when it is opened."""

    path: str
    width: int
    height: int
    count: int
    dtype: str
    crs_wkt: str | None
    transform: tuple[float, float, float, float, float, float]  # a, b, c, d, e, f (rasterio Affine)
    colorinterp: tuple[str, ...]
    pixel_size_m: tuple[float, float] | None  # ground size of one pixel (x, y) in metres
    file_size: int
    mtime_ns: int
    notes: tuple[str, ...] = ()  # how it is read, for the user: a GCP warp, pixel coordinates, complex amplitude

    @property
    def identity(self) -> dict:
        """What makes two reads of this raster interchangeable: path, size, modification time."""
        return {"path": self.path, "size": self.file_size, "mtime_ns": self.mtime_ns}

    def to_dict(self) -> dict:
        return asdict(self)


class _GcpWarped(WarpedVRT):
    """A GCP-georeferenced raster seen through its ground control points; closing it closes the file too."""

    def close(self) -> None:
        source = self.src_dataset
        super().close()
        source.close()


def _only_gcps(src: rasterio.DatasetReader) -> bool:
    return src.crs is None and src.transform == Affine.identity() and bool(src.gcps[0])


def open_raster(path: str | os.PathLike, *, probe: bool = True) -> rasterio.DatasetReader:
    """Open a raster for reading, turning every failure into one clear line.

    ``path`` is a file or a GDAL subdataset name (``NETCDF:"file.nc":var``). A raster whose only
    georeferencing is ground control points with a CRS is returned warped through them (a
    :class:`~rasterio.vrt.WarpedVRT`), so its tiles and outputs are georeferenced. ``probe``: read a sample
    of the pixels (:func:`~backend.raster.probe.check_pixels`) so a damaged file is refused now, before a
    model loads; reader threads of a raster already probed skip it.
    """
    name = str(path)
    check_source(name)
    with quiet_gdal():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                src = rasterio.open(name)
        except RasterioIOError as exc:
            raise UserError(f"{name} is not a raster GDAL can read ({_reason(exc)})") from None
        width, height, count = src.width, src.height, src.count
        if count <= 0 and src.subdatasets:
            subdatasets = list(src.subdatasets)
            src.close()
            raise SubdatasetsError(name, subdatasets)
        if width <= 0 or height <= 0 or count <= 0:
            src.close()
            raise UserError(f"raster {name} has no pixels ({width} x {height}, {count} bands)")
        if probe:
            try:
                check_pixels(src, name)
            except UserError:
                src.close()
                raise
        if _only_gcps(src) and src.gcps[1] is not None:
            try:
                src = _GcpWarped(src, src_crs=src.gcps[1], resampling=Resampling.nearest)
            except Exception as exc:  # noqa: BLE001  too few or collinear points (GDAL's CPLE_* errors, whose
                # base class rasterio keeps private): keep pixel coordinates, and raster_notes says why
                DEBUG_LOG.debug("cannot warp %s through its GCPs: %s", name, exc)
    return src


def source_name(src: rasterio.DatasetReader) -> str:
    """The name a dataset was opened by (the file, not the WarpedVRT, for a GCP-warped raster)."""
    return src.src_dataset.name if isinstance(src, WarpedVRT) else src.name


def raster_notes(src: rasterio.DatasetReader) -> tuple[str, ...]:
    """What a user should know of how this raster is read: a GCP warp, pixel coordinates despite GCPs or RPCs,
    complex pixels taken as their amplitude."""
    notes = []
    if isinstance(src, WarpedVRT):
        n = len(src.src_dataset.gcps[0])
        notes.append(f"georeferenced through its {n} ground control points (warped to {src.width} x {src.height} px)")
    elif _only_gcps(src) and src.gcps[1] is None:
        notes.append(f"its {len(src.gcps[0])} ground control points have no CRS: outputs use pixel coordinates")
    elif _only_gcps(src):
        notes.append(f"its {len(src.gcps[0])} ground control points could not be warped through (too few, or in a "
                     "line): outputs use pixel coordinates")
    elif src.crs is None and src.transform == Affine.identity() and src.rpcs is not None:
        notes.append("it has only RPCs (no geotransform), which are not used: outputs use pixel coordinates")
    if any(dt.startswith("complex") for dt in src.dtypes):
        notes.append(f"its pixels are complex ({src.dtypes[0]}): the amplitude |z| of each is used")
    return tuple(notes)


def _read_failed(src: rasterio.DatasetReader, exc: BaseException) -> UserError:
    return UserError(f"cannot read the pixels of {source_name(src)}: {_reason(exc)} (was the file changed or "
                     "damaged?)")


def pixel_size_metres(crs_wkt: str | None, transform: tuple, width: int, height: int) -> tuple[float, float] | None:
    """Ground size of one pixel (x, y) in metres at the raster's centre; None without a CRS.

    Measured on the CRS's ellipsoid with pyproj.Geod between the centre pixel's corners, so degrees,
    feet and the projection's scale (Web Mercator: map units are 1 / cos(latitude) ground metres)
    are all accounted for. Rotated geotransforms are handled. CRSs without an ellipsoid fall back
    to map units times the axis unit.
    """
    if not crs_wkt:
        return None
    t = Affine(*transform[:6])
    crs = CRS.from_wkt(crs_wkt)
    # The centre pixel's top-left corner and its two neighbouring corners along the pixel axes.
    points = [t @ (width / 2, height / 2), t @ (width / 2 + 1, height / 2), t @ (width / 2, height / 2 + 1)]
    geod = crs.get_geod()
    try:
        if geod is not None and crs.is_geographic:
            lonlat = points
        elif geod is not None and crs.geodetic_crs is not None:
            to_lonlat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
            lonlat = [to_lonlat.transform(x, y, errcheck=True) for x, y in points]
        else:
            lonlat = None
        if lonlat is not None:
            (lon0, lat0), (lon1, lat1), (lon2, lat2) = lonlat
            dx = abs(geod.inv(lon0, lat0, lon1, lat1)[2])
            dy = abs(geod.inv(lon0, lat0, lon2, lat2)[2])
            if math.isfinite(dx) and math.isfinite(dy) and dx > 0 and dy > 0:
                return (dx, dy)
    except (ProjError, GeodError):
        pass  # outside the projection's domain: fall back to map units
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return (math.hypot(t.a, t.d) * factor, math.hypot(t.b, t.e) * factor)


def describe(src: rasterio.DatasetReader) -> RasterInfo:
    """RasterInfo of an open dataset."""
    path = real_name(source_name(src))
    stat = os.stat(source_file(path))
    with quiet_gdal():
        crs_wkt = src.crs.to_wkt() if src.crs else None
        transform = tuple(src.transform)[:6]  # a, b, c, d, e, f: JSON-friendly in the store's metadata
        colorinterp = tuple(ci.name for ci in src.colorinterp)
        notes = raster_notes(src)
    return RasterInfo(
        path=path,
        width=src.width,
        height=src.height,
        count=src.count,
        dtype=src.dtypes[0],
        crs_wkt=crs_wkt,
        transform=transform,
        colorinterp=colorinterp,
        pixel_size_m=pixel_size_metres(crs_wkt, transform, src.width, src.height),
        file_size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        notes=notes,
    )


def select_bands(info: RasterInfo, explicit: tuple[int, ...] | None) -> BandChoice:
    """The band choice for this raster (see bands.choose_bands)."""
    return choose_bands(list(info.colorinterp), info.count, explicit)


def amplitude(data: np.ndarray) -> np.ndarray:
    """``data`` unchanged, or the amplitude ``|z|`` (float) of complex pixels (a masked array stays masked):
    the model sees a radar image's brightness, never a silently dropped imaginary part."""
    if not np.iscomplexobj(data):
        return data
    if np.ma.isMaskedArray(data):
        return np.ma.masked_array(np.abs(data.data), mask=np.ma.getmaskarray(data))
    return np.abs(data)


def stretch_limits(src: rasterio.DatasetReader, bands: tuple[int, ...]) -> np.ndarray:
    """Per-band (low, high) values mapped to 0 and 1, as a ``len(bands) x 2`` float64 array.

    8-bit rasters map 0..255 unchanged. Other types (16-bit, float) use robust percentiles of the
    valid pixels of a decimated read, computed once per raster so all tiles share one stretch.
    """
    if src.dtypes[0] == "uint8":
        return np.tile(np.array([0.0, 255.0]), (len(bands), 1))
    scale = min(1.0, STRETCH_SAMPLE_PX / max(src.width, src.height))
    shape = (max(1, round(src.height * scale)), max(1, round(src.width * scale)))
    unique = sorted(set(bands))
    try:
        with quiet_gdal():
            data = src.read(unique, out_shape=(len(unique), *shape), resampling=Resampling.nearest, masked=True)
    except RasterioIOError as exc:
        raise _read_failed(src, exc) from None
    data = amplitude(data)
    limits = []
    for b in bands:
        band = data[unique.index(b)]
        values = band.compressed().astype(np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            limits.append((0.0, 1.0))
            continue
        lo, hi = np.percentile(values, STRETCH_PERCENTILES)
        if not hi > lo:
            hi = lo + 1.0
        limits.append((float(lo), float(hi)))
    return np.array(limits, dtype=np.float64)


def resolve_grid(info: RasterInfo, params: TilingParams, image_size: int,
                 default_ground_m: float | None = None) -> tuple[GridSpec, int]:
    """The grid in raster pixels and the side (pixels) each tile is read at.

    With no size in ``params``, tiles are ``default_ground_m`` metres on the ground (the model's training
    scale, from its registry entry) where the raster's pixel size is known, never under ``MIN_TILE_PX``
    pixels; else ``image_size`` pixels. Tiles larger than the model input are read decimated to
    ``image_size`` (GDAL uses overviews); smaller ones are read at full resolution and resized later.
    """
    if params.ground_m is not None or params.gsd is not None:
        if info.pixel_size_m is None:
            raise UserError(
                f"{info.path} has no CRS, so tile sizes in metres or --gsd cannot be used: give --tile-size in pixels"
            )
        ground = params.ground_m if params.ground_m is not None else params.gsd * image_size
        pixel_m = (info.pixel_size_m[0] + info.pixel_size_m[1]) / 2
        tile_px = round(ground / pixel_m)
        if tile_px < MIN_TILE_PX:
            raise UserError(
                f"a tile of {ground:g} m is only {tile_px} pixels at this raster's {pixel_m:.3g} m pixels: "
                f"use a tile of at least {MIN_TILE_PX * pixel_m:.3g} m"
            )
    elif params.tile_px is None and default_ground_m is not None and info.pixel_size_m is not None:
        tile_px = max(MIN_TILE_PX, round(default_ground_m / ((info.pixel_size_m[0] + info.pixel_size_m[1]) / 2)))
    else:
        tile_px = params.tile_px or image_size
    spec = grid_spec(info.width, info.height, tile_px, params.overlap)
    return spec, min(tile_px, image_size)


def read_tile(
    src: rasterio.DatasetReader,
    window: Window,
    bands: tuple[int, int, int],
    read_px: int,
    limits: np.ndarray,
) -> tuple[np.ndarray, float]:
    """One tile as a ``3 x read_px x read_px`` float32 array in [0, 1] and its valid fraction.

    The part of ``window`` outside the raster is padded by mirroring the part inside (black padding
    looks like water or shadow to a model and pulled edge tiles to the top of searches); padding does
    not count as valid. Nodata, alpha-masked and non-finite pixels are zero and not valid either.

    The fraction is of the tile's area, or of the raster's own where the raster is narrower or shorter than one
    tile (its side on that axis replaces the tile's): a 3 x 2 raster wholly valid is 100 % valid, not 0.01 %,
    while an edge tile of a large raster still counts its padding against it.
    """
    out = np.zeros((3, read_px, read_px), dtype=np.float32)
    try:
        clipped = window.intersection(Window(0, 0, src.width, src.height))
    except WindowError:  # wholly outside the raster (touching edges included)
        return out, 0.0
    scale = read_px / window.width
    out_h = min(read_px, max(1, round(clipped.height * scale)))
    out_w = min(read_px, max(1, round(clipped.width * scale)))
    row0 = min(read_px - out_h, round((clipped.row_off - window.row_off) * scale))
    col0 = min(read_px - out_w, round((clipped.col_off - window.col_off) * scale))
    unique = sorted(set(bands))
    resampling = Resampling.average if scale < 1 else Resampling.nearest
    try:
        with quiet_gdal():
            data = src.read(unique, window=clipped, out_shape=(len(unique), out_h, out_w), resampling=resampling)
            masks = src.read_masks(unique, window=clipped, out_shape=(len(unique), out_h, out_w),
                                   resampling=Resampling.nearest)
    except RasterioIOError as exc:
        raise _read_failed(src, exc) from None
    valid = np.all(masks > 0, axis=0)
    data = amplitude(data).astype(np.float32, copy=False)
    valid &= np.all(np.isfinite(data), axis=0)
    for channel, band in enumerate(bands):
        lo, hi = limits[channel]
        plane = (data[unique.index(band)] - np.float32(lo)) / np.float32(hi - lo)
        np.clip(plane, 0.0, 1.0, out=plane)
        plane[~valid] = 0.0
        out[channel, row0:row0 + out_h, col0:col0 + out_w] = plane
    if (out_h, out_w) != (read_px, read_px):
        block = out[:, row0:row0 + out_h, col0:col0 + out_w]
        pad = ((0, 0), (row0, read_px - row0 - out_h), (col0, read_px - col0 - out_w))
        out = np.pad(block, pad, mode="symmetric")
    area = min(read_px, max(1, round(src.width * scale))) * min(read_px, max(1, round(src.height * scale)))
    return out, min(1.0, float(valid.sum()) / float(area))


def footprints(transform: tuple, windows: np.ndarray) -> np.ndarray:
    """Corner coordinates of pixel windows (``N x 4``: col, row, width, height) in the raster's CRS.

    Returns ``N x 4 x 2`` (top-left, top-right, bottom-right, bottom-left; x, y), exact for rotated
    geotransforms too. ``transform`` is the 6-tuple (a, b, c, d, e, f) of a rasterio ``Affine``.
    """
    c0 = windows[:, 0].astype(np.float64)
    r0 = windows[:, 1].astype(np.float64)
    c1 = c0 + windows[:, 2]
    r1 = r0 + windows[:, 3]
    cols = np.stack([c0, c1, c1, c0], axis=1)
    rows = np.stack([r0, r0, r1, r1], axis=1)
    return np.stack(Affine(*transform[:6]) @ (cols, rows), axis=2)


def pixel_of(transform: tuple, x: float, y: float) -> tuple[float, float]:
    """Pixel position (col, row) of a point given in the raster's CRS (``transform`` as in :func:`footprints`)."""
    try:
        inverse = ~Affine(*transform[:6])
    except TransformNotInvertibleError:
        raise UserError("the raster's geotransform cannot be inverted") from None
    col, row = inverse @ (x, y)
    return col, row
