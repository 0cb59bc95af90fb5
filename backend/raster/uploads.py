"""Rasters sent to the backend over HTTP: a QGIS layer with no file the backend can read (a WMS or
XYZ basemap, a virtual raster, a layer on another machine) is rendered by the plugin to a GeoTIFF and
uploaded here.

An upload is stored once under its content's SHA-256 (``<cache>/uploads/<sha256>.tif``) and named
``upload:<sha256>`` in requests, so the same rendering is embedded once and a client can ask whether
the backend already has it before sending it again. Nothing half-received is ever visible: bytes go to
a temporary file that is checked with GDAL and renamed into place only when complete and readable.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from ..config import cache_root, env_number
from ..errors import NotFoundError, TooLargeError, UserError

PREFIX = "upload:"
SUFFIX = ".tif"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: a 16,000 x 16,000 RGBA rendering


class UploadTooLarge(TooLargeError):
    """An upload past ``$REMOTECLIP_MAX_UPLOAD_MB``."""


def max_upload_bytes() -> int:
    """The largest upload accepted: ``$REMOTECLIP_MAX_UPLOAD_MB`` megabytes, else 1 GiB."""
    megabytes = env_number("REMOTECLIP_MAX_UPLOAD_MB", None, "megabytes", 0.001)
    return DEFAULT_MAX_BYTES if megabytes is None else int(megabytes * 1_000_000)


def uploads_folder(root: Path | None = None) -> Path:
    """``<cache>/uploads``, readable by the user only (uploads may be private imagery)."""
    folder = (root or cache_root()) / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def check_digest(digest: str) -> str:
    """A lower-case SHA-256 hex digest, or a one-line error (it becomes a file name: no paths allowed)."""
    digest = digest.strip().lower()
    if not _SHA256.match(digest):
        raise UserError(f"'{digest[:80]}' is not an upload id: expected 64 hex digits (a SHA-256)")
    return digest


def upload_path(digest: str, root: Path | None = None) -> Path:
    return uploads_folder(root) / f"{check_digest(digest)}{SUFFIX}"


def is_upload(raster: str) -> bool:
    return raster.startswith(PREFIX)


def resolve_raster(raster: str, root: Path | None = None) -> str:
    """The file a request's ``raster`` names: an ``upload:<sha256>`` id becomes the stored upload's path;
    anything else is returned as given (a path on the backend's machine)."""
    if not is_upload(raster):
        return raster
    path = upload_path(raster[len(PREFIX):], root)
    if not path.exists():
        raise NotFoundError(f"no upload {raster}: send the rendered raster again (PUT /uploads/<sha256>)")
    return str(path)


def describe_upload(digest: str, root: Path | None = None) -> dict:
    """What the backend holds under ``digest``: its id, size and raster shape; NotFoundError when absent."""
    from .reader import describe, open_raster

    path = upload_path(digest, root)
    if not path.exists():
        raise NotFoundError(f"no upload with SHA-256 {digest}")
    with open_raster(path) as src:
        info = describe(src)
    return {"raster": PREFIX + check_digest(digest), "bytes": path.stat().st_size, "width": info.width,
            "height": info.height, "bands": info.count, "crs_wkt": info.crs_wkt}


class UploadWriter:
    """Receives one upload chunk by chunk into a temporary file beside the uploads; ``finish`` checks it
    and renames it into place, ``abort`` removes it. Memory stays at one chunk whatever the size."""

    def __init__(self, max_bytes: int | None = None, root: Path | None = None) -> None:
        self.limit = max_upload_bytes() if max_bytes is None else max_bytes
        self.root = root
        self.folder = uploads_folder(root)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=SUFFIX, dir=self.folder)
        self._fh = os.fdopen(fd, "wb")
        self.tmp = Path(tmp)
        self.received = 0
        self._sha = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.limit:
            raise UploadTooLarge(f"upload over {self.limit / 1e6:.0f} MB: render a smaller extent or a coarser "
                                 "resolution (or raise REMOTECLIP_MAX_UPLOAD_MB on the backend)")
        self._sha.update(chunk)
        self._fh.write(chunk)

    def finish(self, expected_digest: str | None = None) -> dict:
        from .reader import describe, open_raster

        self._fh.close()
        if self.received == 0:
            raise UserError("empty upload: send a GeoTIFF's bytes as the request body")
        digest = self._sha.hexdigest()
        if expected_digest is not None and check_digest(expected_digest) != digest:
            raise UserError(f"upload damaged in transit: its SHA-256 is {digest}, not {expected_digest}")
        with open_raster(self.tmp) as src:
            info = describe(src)
        if not info.crs_wkt:
            raise UserError("the uploaded raster has no coordinate reference system: render it with one")
        os.replace(self.tmp, self.folder / f"{digest}{SUFFIX}")
        return describe_upload(digest, self.root)

    def abort(self) -> None:
        self._fh.close()
        self.tmp.unlink(missing_ok=True)
