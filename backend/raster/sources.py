"""What a raster name points at, checked before GDAL is asked to open it.

A name is a path, or a GDAL subdataset name that carries a path inside it (``NETCDF:"file.nc":var``,
``HDF5:"file.h5"://group/var``, ``GPKG:file.gpkg:table``), as GDAL lists them for a container of several
rasters. Checks here are on the file system only (no GDAL), so a missing file, a folder, a pipe or a
symbolic-link loop is named for what it is, and GDAL never blocks on a pipe with no writer.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from ..errors import NotFoundError, SymlinkLoopError, UserError

# DRIVER:rest, with a driver name of two or more characters (``C:\...`` is a Windows drive, not a driver).
_SUBDATASET = re.compile(r'^(?P<driver>[A-Za-z][A-Za-z0-9_]+):(?P<rest>.+)$', re.DOTALL)


def subdataset_file(name: str) -> str | None:
    """The file inside a GDAL subdataset name, or None when ``name`` is not one.

    ``NETCDF:"a b.nc":var`` -> ``a b.nc`` (a quoted path wins); ``GPKG:/d/x.gpkg:table`` -> ``/d/x.gpkg``
    (the longest prefix before a colon that exists, else the part before the last colon). A name that
    exists on disk as it is (a file called ``A:b``) is a path, never a subdataset name.
    """
    if os.path.lexists(name):
        return None
    match = _SUBDATASET.match(name)
    if match is None:
        return None
    rest = match.group("rest")
    quoted = re.search(r'"([^"]+)"', rest)
    if quoted:
        return quoted.group(1)
    parts = rest.split(":")
    for end in range(len(parts) - 1, 0, -1):
        candidate = ":".join(parts[:end])
        if os.path.lexists(candidate):
            return candidate
    return ":".join(parts[:-1]) if len(parts) > 1 else rest


def source_file(name: str) -> str:
    """The file whose bytes ``name`` reads: the path itself, or the file inside a subdataset name."""
    inner = subdataset_file(str(name))
    return inner if inner is not None else str(name)


def real_name(name: str) -> str:
    """``name`` with its file made absolute and free of symbolic links (in place, inside a subdataset name)."""
    name = str(name)
    inner = subdataset_file(name)
    if inner is None:
        return os.path.realpath(name)
    return name.replace(inner, os.path.realpath(inner), 1)


def check_source(name: str | os.PathLike) -> Path:
    """The file ``name`` reads, checked to be a readable regular file; one line for each thing it is not.

    Raises NotFoundError (missing, or a symbolic link to nothing), SymlinkLoopError, or UserError (a folder,
    a pipe, socket or device, or a file without read permission).
    """
    name = str(name)
    inner = subdataset_file(name)
    p = Path(inner if inner is not None else name)
    within = f" (named in the subdataset {name})" if inner is not None else ""
    try:
        st = os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkLoopError(p) from None
        if p.is_symlink():
            raise NotFoundError(f"raster not found: {p} is a symbolic link to {os.readlink(p)}, which does not "
                                f"exist{within}") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFoundError(f"raster not found: {p}{within}") from None
        raise UserError(f"cannot read raster {p}: {exc.strerror}{within}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{p} is a folder, not a raster file: give one raster file in it")
    if not stat.S_ISREG(st.st_mode):  # GDAL would block forever reading a pipe with no writer, or a terminal
        raise UserError(f"{p} is not a regular file (a pipe, socket or device): give a raster file")
    if not os.access(p, os.R_OK):
        raise UserError(f"raster {p} is not readable (check its permissions)")
    return p
