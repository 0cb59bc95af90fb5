"""Reading a sample of what a raster will read, before a model loads: a damaged file is refused in a second,
not after the model and half the tiles.

Opening a raster reads its header only; a cut, bit-flipped or badly compressed file, or a VRT whose source is
gone, fails only when its pixels are read. :func:`check_pixels` reads a raster small enough whole (every block,
every band) and a larger one's blocks at :data:`SAMPLE_BLOCKS` places spread over it (the first and the last
included); a VRT's source files are checked to exist first. Sizes are in pixels, budgets in bytes.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import DamagedRasterError, NoValidPixelsError
from .gdal_messages import quiet_gdal
from .sources import source_file

# Rasters whose pixels decode to at most this many bytes are read whole (64 MiB: a 4,096 x 4,096 RGBA byte raster).
WHOLE_READ_BYTES = 64 << 20
# Blocks read from a larger raster, spread evenly over it in block order.
SAMPLE_BLOCKS = 32


def sample_blocks(width: int, height: int, block_w: int, block_h: int, n: int = SAMPLE_BLOCKS) -> list[Window]:
    """``n`` block windows (pixels) spread evenly over a ``width x height`` raster's ``block_w x block_h``
    blocks in row-major order, the first and the last block included (every block when there are at most
    ``n``); windows are clipped to the raster."""
    block_w, block_h = max(1, min(block_w, width)), max(1, min(block_h, height))
    cols, rows = -(-width // block_w), -(-height // block_h)
    total = cols * rows
    picks = range(total) if total <= n else sorted({round(i * (total - 1) / (n - 1)) for i in range(n)})
    windows = []
    for index in picks:
        r, c = divmod(index, cols)
        col, row = c * block_w, r * block_h
        windows.append(Window(col, row, min(block_w, width - col), min(block_h, height - row)))
    return windows


def vrt_sources(path: str) -> list[str]:
    """The source files a VRT file names (``SourceFilename``, relative ones resolved against the VRT's folder);
    empty for anything that is not a VRT file on disk or cannot be parsed."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    folder = os.path.dirname(os.path.abspath(path))
    names = []
    for element in root.iter("SourceFilename"):
        name = (element.text or "").strip()
        if not name:
            continue
        if element.get("relativeToVRT") == "1" or element.get("relativetoVRT") == "1":
            name = os.path.join(folder, name)
        names.append(name)
    return names


def _missing_source(path: str) -> str | None:
    for name in vrt_sources(path):
        if name.startswith("/vsi"):
            continue  # in-memory, archive or network files: their read is the check
        if not os.path.exists(source_file(name)):
            return name
    return None


def check_pixels(src: rasterio.DatasetReader, path: str, whole_bytes: int = WHOLE_READ_BYTES,
                 blocks: int = SAMPLE_BLOCKS) -> None:
    """Read what :func:`sample_blocks` picks (or all of a raster of at most ``whole_bytes`` decoded bytes) of
    every band of the open ``src``; DamagedRasterError with GDAL's first line when a read fails or a VRT's source
    is missing, and NoValidPixelsError when a raster read whole has no pixel valid in any band (all nodata,
    masked, NaN or ±inf). ``path``: the raster's name as the user gave it (a file or a subdataset name)."""
    with quiet_gdal():
        if src.driver == "VRT":
            missing = _missing_source(source_file(path))
            if missing is not None:
                raise DamagedRasterError(path, f"its source file {missing} does not exist")
        itemsize = max(4 if dt == "complex_int16" else np.dtype(dt).itemsize for dt in src.dtypes)
        decoded = src.width * src.height * src.count * itemsize
        block_h, block_w = src.block_shapes[0] if src.block_shapes else (src.height, src.width)
        if decoded <= whole_bytes:
            rows = max(block_h, (whole_bytes // 8) // max(1, src.width * src.count * itemsize))
            windows = [Window(0, r, src.width, min(rows, src.height - r)) for r in range(0, src.height, rows)]
        else:
            windows = sample_blocks(src.width, src.height, block_w, block_h, blocks)
        any_valid = False
        for window in windows:
            try:
                data = src.read(window=window)
                if not any_valid:
                    valid = src.dataset_mask(window=window) > 0
                    if data.dtype.kind in "fc":
                        valid &= np.any(np.isfinite(data), axis=0)
                    any_valid = bool(valid.any())
            except RasterioIOError as exc:
                raise DamagedRasterError(path, reason(exc)) from None
        if decoded <= whole_bytes and not any_valid:
            raise NoValidPixelsError(path)


def reason(exc: BaseException) -> str:
    """First line of a rasterio error, or of the GDAL error behind it ("Read failed. See previous...")."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    text = str(cause).strip() or str(exc).strip()
    return text.splitlines()[0] if text else "unknown error"
