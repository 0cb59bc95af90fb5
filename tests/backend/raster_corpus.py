"""A corpus of odd and broken rasters, made here with GDAL and rasterio (nothing downloaded), for the tests that
run every command over each: data types from 1-bit to CFloat64, 1 to 5 bands, palette, alpha and masks, NaN and
infinite nodata, rotated and sheared geotransforms, GCP-only and RPC-only rasters, 1 x 1 px rasters, BigTIFF,
tiled and striped, every compression this GDAL writes with truncated and bit-flipped copies, VRTs with missing
sources, netCDF and HDF5 containers of several variables, GeoPackages of several rasters, and things that are
no raster at all (symbolic-link loops, folders, pipes).

:data:`CASES` is fixed at import (test ids); :func:`build` makes one case's file in a folder and returns the name
to give the backend, or None where this machine's GDAL cannot make it (the test skips).

``expect``: ``"ok"`` (exit 0 and a GeoPackage), ``"refused"`` (exit 2, one line), ``"either"`` (a bit-flipped
file: whichever GDAL makes of it, but one of the two, quietly).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.control import GroundControlPoint
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.rpc import RPC
from rasterio.transform import Affine

W, H = 40, 30  # pixels of most cases: 6 tiles of 16 px
UTM = "EPSG:32633"
GRID = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 6_000_000.0)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], str | None]
    expect: str  # "ok", "refused" or "either"
    message: str = ""  # part of the refusal's line
    args: tuple[str, ...] = ("--tile-size", "16")


def _pixels(dtype: str, count: int = 3, width: int = W, height: int = H, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("complex"):
        real = rng.integers(-500, 500, (count, height, width)).astype(np.float64)
        imag = rng.integers(-500, 500, (count, height, width)).astype(np.float64)
        return (real + 1j * imag).astype("complex64" if dtype == "complex_int16" else dtype)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:
        return rng.normal(100.0, 30.0, (count, height, width)).astype(dtype)
    lo, hi = max(info.min, -1000), min(info.max, 5000)
    return rng.integers(lo, hi, (count, height, width)).astype(dtype)


def write(path: Path, data: np.ndarray, *, crs: str | None = UTM, transform: Affine | None = GRID,
          colorinterp: list[str] | None = None, after: Callable | None = None, dtype: str | None = None,
          **options) -> str:
    """Write ``data`` (bands x H x W) with rasterio; ``after(dst)`` may add masks, colour maps, tags."""
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
               "dtype": dtype or data.dtype.name}
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    profile.update(options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            if colorinterp is not None:
                dst.colorinterp = [ColorInterp[c] for c in colorinterp]
            if after is not None:
                after(dst)
    return str(path)


# ---------------------------------------------------------------- makers


def dtype_case(dtype: str) -> Callable[[Path], str]:
    return lambda d: write(d / f"{dtype}.tif", _pixels(dtype))


def cint32(d: Path) -> str | None:
    """CInt32, which rasterio cannot write: made with GDAL's own bindings where present."""
    try:
        from osgeo import gdal
    except ImportError:
        return None
    path = d / "cint32.tif"
    ds = gdal.GetDriverByName("GTiff").Create(str(path), W, H, 1, gdal.GDT_CInt32)
    ds.SetGeoTransform((500_000.0, 10.0, 0.0, 6_000_000.0, 0.0, -10.0))
    ds.GetRasterBand(1).WriteArray(_pixels("complex64", 1)[0])
    ds = None
    return str(path)


def one_bit(d: Path) -> str:
    data = (np.random.default_rng(1).random((1, H, W)) > 0.5).astype("uint8")
    return write(d / "1bit.tif", data, nbits=1)


def bands(n: int) -> Callable[[Path], str]:
    return lambda d: write(d / f"bands{n}.tif", _pixels("uint8", n))


def palette(d: Path) -> str:
    data = (np.arange(W * H).reshape(1, H, W) % 4).astype("uint8")
    cmap = {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (0, 255, 0, 255), 3: (0, 0, 255, 255)}
    return write(d / "palette.tif", data, photometric="palette", after=lambda dst: dst.write_colormap(1, cmap))


def alpha(d: Path) -> str:
    data = _pixels("uint8", 4)
    data[3] = 255
    data[3, :, : W // 2] = 0  # left half transparent
    return write(d / "rgba.tif", data, colorinterp=["red", "green", "blue", "alpha"])


def alpha_and_nodata(d: Path) -> str:
    """An alpha band and a nodata value (rasterio's NodataShadowWarning case): GDAL masks by the nodata."""
    data = _pixels("uint8", 4)
    data[3] = 255
    return write(d / "rgba_nodata.tif", data, colorinterp=["red", "green", "blue", "alpha"], nodata=0)


def dataset_mask(d: Path) -> str:
    mask = np.zeros((H, W), dtype="uint8")
    mask[:, W // 4:] = 255
    return write(d / "masked.tif", _pixels("uint8"), after=lambda dst: dst.write_mask(mask))


def float_nodata(value: float, label: str) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        data = _pixels("float32")
        data[:, :10, :] = value
        return write(d / f"nodata_{label}.tif", data, nodata=value)
    return make


def all_nodata(d: Path) -> str:
    return write(d / "all_nodata.tif", np.zeros((3, H, W), "uint16"), nodata=0)


def transform_case(name: str, transform: Affine, crs: str | None = UTM) -> Callable[[Path], str]:
    return lambda d: write(d / f"{name}.tif", _pixels("uint8"), transform=transform, crs=crs)


GCPS = [GroundControlPoint(0, 0, 10.0, 50.0), GroundControlPoint(0, W, 10.004, 50.0),
        GroundControlPoint(H, 0, 10.0, 49.997), GroundControlPoint(H, W, 10.004, 49.997)]


def gcp_only(with_crs: bool) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        if with_crs:
            return write(d / "gcps.tif", _pixels("uint8"), crs="EPSG:4326", transform=None, gcps=GCPS)
        # rasterio writes no GCPs without a CRS: a VRT carries them (GCPList without a Projection)
        source = write(d / "plain.tif", _pixels("uint8"), crs=None, transform=None)
        points = "".join(f'<GCP Id="{i}" Pixel="{g.col}" Line="{g.row}" X="{g.x}" Y="{g.y}"/>'
                         for i, g in enumerate(GCPS))
        bands = "".join(
            f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">'
            f'{Path(source).name}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>'
            for b in (1, 2, 3))
        path = d / "gcps_no_crs.vrt"
        path.write_text(f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}"><GCPList>{points}</GCPList>{bands}'
                        "</VRTDataset>")
        return str(path)
    return make


def rpc_only(d: Path) -> str:
    rpc = RPC(height_off=0, height_scale=500, lat_off=50.0, lat_scale=0.01, line_den_coeff=[1] + [0] * 19,
              line_num_coeff=[0, 0, -1] + [0] * 17, line_off=H / 2, line_scale=H / 2, long_off=10.0,
              long_scale=0.01, samp_den_coeff=[1] + [0] * 19, samp_num_coeff=[0, 1] + [0] * 18, samp_off=W / 2,
              samp_scale=W / 2)
    return write(d / "rpc.tif", _pixels("uint8"), crs=None, transform=None, rpcs=rpc)


def sized(width: int, height: int) -> Callable[[Path], str]:
    return lambda d: write(d / f"size_{width}x{height}.tif", _pixels("uint8", 3, width, height))


def layout(name: str, **options) -> Callable[[Path], str]:
    return lambda d: write(d / f"{name}.tif", _pixels("uint8"), **options)


# Compressions this project's GDAL writes, with data they take (JPEG and WEBP: bytes; CCITT: one bit).
COMPRESSIONS = {
    "none": ("uint8", 3, {}), "lzw": ("uint16", 3, {}), "packbits": ("uint8", 3, {}),
    "deflate": ("float32", 3, {"predictor": 3}), "lzma": ("int16", 3, {}), "zstd": ("uint8", 3, {}),
    "jpeg": ("uint8", 3, {}), "webp": ("uint8", 3, {}), "lerc": ("float32", 1, {}),
    "lerc_deflate": ("uint16", 1, {}), "lerc_zstd": ("uint8", 3, {}), "ccittfax4": ("uint8", 1, {"nbits": 1}),
}


def compressed(method: str, size: tuple[int, int] = (W, H)) -> Callable[[Path], str | None]:
    dtype, count, extra = COMPRESSIONS[method]

    def make(d: Path) -> str | None:
        data = _pixels(dtype, count, *size)
        if "nbits" in extra:
            data = (data % 2).astype("uint8")
        try:
            return write(d / f"c_{method}_{size[0]}.tif", data, compress=method, **extra)
        except (RasterioIOError, rasterio.errors.RasterioError):
            return None  # not built into this GDAL
    return make


def truncated(make: Callable[[Path], str | None], fraction: float = 0.5) -> Callable[[Path], str | None]:
    def cut(d: Path) -> str | None:
        source = make(d)
        if source is None:
            return None
        whole = Path(source).read_bytes()
        path = Path(source).with_name("cut_" + Path(source).name)
        path.write_bytes(whole[: int(len(whole) * fraction)])
        return str(path)
    return cut


def bit_flipped(make: Callable[[Path], str | None], seed: int = 0, flips: int = 24,
                region: tuple[int, int] | None = None) -> Callable[[Path], str | None]:
    """A copy of ``make``'s file with ``flips`` bytes changed at random (``region``: in those byte offsets, such
    as the first IFD's, where libtiff warns about the tags it reads)."""
    def flip(d: Path) -> str | None:
        source = make(d)
        if source is None:
            return None
        data = bytearray(Path(source).read_bytes())
        rng = np.random.default_rng(seed)
        lo, hi = region or (16, len(data))
        for i in rng.integers(lo, min(hi, len(data)), flips):
            data[i] ^= int(rng.integers(1, 256))
        path = Path(source).with_name(f"flip{seed}_" + Path(source).name)
        path.write_bytes(bytes(data))
        return str(path)
    return flip


def other_format(driver: str, suffix: str, dtype: str = "uint8", count: int = 3) -> Callable[[Path], str | None]:
    def make(d: Path) -> str | None:
        source = write(d / f"src_{driver}.tif", _pixels(dtype, count))
        path = d / f"fmt.{suffix}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rasterio.shutil.copy(source, path, driver=driver)
        except (RasterioIOError, rasterio.errors.RasterioError):
            return None
        return str(path)
    return make


def gpkg_tables(d: Path) -> str:
    source = write(d / "for_gpkg.tif", _pixels("uint8"), crs="EPSG:3857",
                   transform=Affine(10, 0, 0, 0, -10, 0))
    path = d / "two_rasters.gpkg"
    rasterio.shutil.copy(source, path, driver="GPKG", RASTER_TABLE="first")
    rasterio.shutil.copy(source, path, driver="GPKG", RASTER_TABLE="second", APPEND_SUBDATASET="YES")
    return str(path)


def gpkg_table_name(d: Path) -> str:
    return f"GPKG:{gpkg_tables(d)}:SECOND"  # GDAL keeps table names upper-case


def _multidim(path: Path, options: list[str]) -> bool:
    """Three float variables on a lat/lon grid with GDAL's multidimensional API (rasterio writes one band set)."""
    try:
        from osgeo import gdal
    except ImportError:
        return False
    gdal.UseExceptions()
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(str(path), [], options)
    root = ds.GetRootGroup()
    dy, dx = root.CreateDimension("lat", None, None, H), root.CreateDimension("lon", None, None, W)
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    root.CreateMDArray("lat", [dy], f64).Write(np.linspace(50.0, 49.71, H))
    root.CreateMDArray("lon", [dx], f64).Write(np.linspace(10.0, 10.39, W))
    for i, name in enumerate(("t2m", "rain", "wind")):
        array = root.CreateMDArray(name, [dy, dx], gdal.ExtendedDataType.Create(gdal.GDT_Float32))
        array.Write(np.random.default_rng(i).random((H, W)).astype("float32"))
    del array, root, ds
    return True


def netcdf(d: Path) -> str | None:
    path = d / "weather.nc"
    return str(path) if _multidim(path, ["FORMAT=NC"]) else None


def netcdf_variable(d: Path) -> str | None:
    path = netcdf(d)
    return None if path is None else f'NETCDF:"{path}":rain'


def hdf5(d: Path) -> str | None:
    path = d / "weather.h5"  # netCDF-4 is HDF5: GDAL's HDF5 driver lists its variables
    return str(path) if _multidim(path, ["FORMAT=NC4"]) else None


def hdf5_variable(d: Path) -> str | None:
    path = hdf5(d)
    return None if path is None else f'HDF5:"{path}"://wind'


def vrt(d: Path, missing: bool = False, mosaic: bool = False) -> str:
    tag = ("missing" if missing else "ok") + ("_mosaic" if mosaic else "")
    left = write(d / f"vrt_left_{tag}.tif", _pixels("uint8", 1, W // 2, H))
    right = write(d / f"vrt_right_{tag}.tif", _pixels("uint8", 1, W // 2, H),
                  transform=GRID @ Affine.translation(W // 2, 0))
    sources = [left, right] if mosaic else [left]
    width = W if mosaic else W // 2
    body = "".join(
        f'<SimpleSource><SourceFilename relativeToVRT="1">{Path(s).name}</SourceFilename><SourceBand>1</SourceBand>'
        f'<SrcRect xOff="0" yOff="0" xSize="{W // 2}" ySize="{H}"/>'
        f'<DstRect xOff="{i * W // 2}" yOff="0" xSize="{W // 2}" ySize="{H}"/></SimpleSource>'
        for i, s in enumerate(sources))
    path = d / f"{tag}.vrt"
    path.write_text(f'<VRTDataset rasterXSize="{width}" rasterYSize="{H}"><SRS>{UTM}</SRS>'
                    f'<GeoTransform>{", ".join(str(v) for v in GRID.to_gdal())}</GeoTransform>'
                    f'<VRTRasterBand dataType="Byte" band="1">{body}</VRTRasterBand></VRTDataset>')
    if missing:
        os.remove(sources[-1])
    return str(path)


def symlink_loop(d: Path) -> str:
    a, b = d / "loop_a.tif", d / "loop_b.tif"
    a.symlink_to(b)
    b.symlink_to(a)
    return str(a)


def dangling(d: Path) -> str:
    link = d / "dangling.tif"
    link.symlink_to(d / "gone.tif")
    return str(link)


def folder(d: Path) -> str:
    (d / "a_folder.tif").mkdir()
    return str(d / "a_folder.tif")


def fifo(d: Path) -> str:
    path = d / "pipe.tif"
    os.mkfifo(path)
    return str(path)


def text_file(d: Path) -> str:
    path = d / "notes.tif"
    path.write_text("not a raster\n")
    return str(path)


def empty_file(d: Path) -> str:
    path = d / "empty.tif"
    path.write_bytes(b"")
    return str(path)


def header_only(d: Path) -> str:
    source = Path(write(d / "for_header.tif", _pixels("uint8")))
    path = d / "header_only.tif"
    path.write_bytes(source.read_bytes()[:8])
    return str(path)


def _cases() -> list[Case]:
    cases = [Case(f"dtype_{t}", dtype_case(t), "ok") for t in (
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "int64", "uint64", "float32", "float64",
        "complex_int16", "complex64", "complex128")]
    cases += [Case("dtype_cint32", cint32, "ok"), Case("one_bit", one_bit, "ok")]
    cases += [Case(f"bands_{n}", bands(n), "ok") for n in (1, 2, 4, 5)]
    cases += [Case("palette", palette, "ok"), Case("alpha", alpha, "ok"),
              Case("alpha_and_nodata", alpha_and_nodata, "ok"), Case("dataset_mask", dataset_mask, "ok"),
              Case("nodata_nan", float_nodata(float("nan"), "nan"), "ok"),
              Case("nodata_posinf", float_nodata(float("inf"), "posinf"), "ok"),
              Case("nodata_neginf", float_nodata(float("-inf"), "neginf"), "ok"),
              Case("all_nodata", all_nodata, "refused", "no valid pixels")]
    cases += [Case("rotated", transform_case("rotated", GRID @ Affine.rotation(30)), "ok"),
              Case("sheared", transform_case("sheared", GRID @ Affine.shear(20, 10)), "ok"),
              Case("geographic", transform_case("geographic", Affine(0.001, 0, 10, 0, -0.001, 50), "EPSG:4326"), "ok"),
              Case("no_crs", transform_case("no_crs", Affine.identity(), None), "ok"),
              Case("gcps_with_crs", gcp_only(True), "ok"), Case("gcps_without_crs", gcp_only(False), "ok"),
              Case("rpcs_only", rpc_only, "ok")]
    cases += [Case(f"size_{w}x{h}", sized(w, h), "ok") for w, h in ((1, 1), (3, 2), (14, 11), (1, 60), (90, 1))]
    cases += [Case("size_3x2_default_tiles", sized(3, 2), "ok", args=()),
              Case("size_14x11_default_tiles", sized(14, 11), "ok", args=())]
    cases += [Case("bigtiff", layout("bigtiff", BIGTIFF="YES"), "ok"),
              Case("tiled", layout("tiled", tiled=True, blockxsize=16, blockysize=16), "ok"),
              Case("striped", layout("striped", blockysize=1), "ok"),
              Case("band_interleaved", layout("band_interleaved", interleave="band"), "ok")]
    for method in COMPRESSIONS:
        cases += [Case(f"compress_{method}", compressed(method), "ok"),
                  Case(f"truncated_{method}", truncated(compressed(method, (120, 100))), "refused", "damaged"),
                  Case(f"flipped_{method}", bit_flipped(compressed(method, (120, 100))), "either")]
    cases += [Case("truncated_tiled_bigtiff", truncated(layout("tb", tiled=True, BIGTIFF="YES", blockxsize=16,
                                                               blockysize=16, compress="deflate"), 0.8),
                   "refused", "damaged"),
              Case("flipped_header", bit_flipped(layout("fh"), seed=3, flips=6), "either"),
              *(Case(f"flipped_ifd_{seed}", bit_flipped(compressed("packbits", (120, 100)), seed, 4, (8, 300)),
                     "either") for seed in range(8)),  # seeds 1, 4 and 7 make libtiff warn ("Warning 1: ...")
              Case("header_only", header_only, "refused", "not a raster")]
    cases += [Case("png", other_format("PNG", "png"), "ok"), Case("jpeg", other_format("JPEG", "jpg"), "ok"),
              Case("jp2", other_format("JP2OpenJPEG", "jp2"), "ok"), Case("cog", other_format("COG", "cog.tif"), "ok"),
              Case("envi", other_format("ENVI", "img", "int16", 4), "ok"),
              Case("gpkg_one", other_format("GPKG", "gpkg"), "ok"),
              Case("gpkg_two", gpkg_tables, "refused", "GPKG:"),
              Case("gpkg_table_named", gpkg_table_name, "ok"),
              Case("netcdf_container", netcdf, "refused", "netcdf:"),
              Case("netcdf_variable", netcdf_variable, "ok"),
              Case("hdf5_container", hdf5, "refused", "HDF5:"),
              Case("hdf5_variable", hdf5_variable, "ok"),
              Case("vrt_ok", lambda d: vrt(d, mosaic=True), "ok"),
              Case("vrt_missing_source", lambda d: vrt(d, missing=True), "refused", "does not exist"),
              Case("vrt_mosaic_missing_source", lambda d: vrt(d, missing=True, mosaic=True), "refused",
                   "does not exist")]
    cases += [Case("symlink_loop", symlink_loop, "refused", "symbolic link loop"),
              Case("dangling_symlink", dangling, "refused", "does not exist"),
              Case("folder", folder, "refused", "is a folder"),
              Case("fifo", fifo, "refused", "not a regular file"),
              Case("text_file", text_file, "refused", "not a raster"),
              Case("empty_file", empty_file, "refused", "not a raster"),
              Case("missing_file", lambda d: str(d / "nope.tif"), "refused", "raster not found"),
              Case("missing_subdataset_file", lambda d: f'NETCDF:"{d / "nope.nc"}":t2m', "refused",
                   "raster not found")]
    return cases


CASES = _cases()


def build(case: Case, folder: Path) -> str | None:
    """Make ``case``'s raster in a folder of its own under ``folder``; the name to give the backend."""
    own = folder / case.name
    own.mkdir(parents=True, exist_ok=True)
    return case.make(own)
