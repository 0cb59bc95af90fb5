"""Errors that reach a user as one line, never as a traceback.

Each error also subclasses the Python built-in it means (a missing raster is a ``FileNotFoundError``, a full
disk an ``OSError``), so code that knows nothing of this module still catches it by its kind. What each error
becomes over HTTP is decided in one table in the service (:data:`backend.app.service.HTTP_STATUS`), not here.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path


class UserError(Exception):
    """Bad input or a missing resource: the message says what was wrong and what to do.

    The CLI prints it as one line and exits non-zero; the service answers it with HTTP 4xx.
    """


class NotFoundError(UserError, FileNotFoundError):
    """A file, upload, model or job that does not exist."""


class ConflictError(UserError):
    """A request that cannot be served in the current state (e.g. a raster not embedded yet)."""


class TooLargeError(UserError, ValueError):
    """A request or upload larger than this backend accepts."""


class InsufficientStorageError(UserError, OSError):
    """Not enough disk (free space or the configured budget) for what was asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC


class NotEmbeddedError(ConflictError):
    """A query over a raster that has no store yet for this model and tiling."""

    def __init__(self, raster: str, model: str) -> None:
        super().__init__(f"{raster} is not embedded yet with {model} and this tiling: POST /embed first")
        self.raster, self.model = raster, model


class JobNotFoundError(NotFoundError):
    """A job id this backend never gave out (or gave out before it was restarted)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job '{job_id}'")
        self.job_id = job_id


class CannotCountError(UserError):
    """Counting asked of a model whose registry entry says ``"counts": false`` (and not forced)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"{model} cannot count: its counts are no better than a constant guess (see its model "
                         "card); --force (HTTP: \"force\": true) counts anyway")
        self.model = model


class SymlinkLoopError(UserError, OSError):
    """A raster path whose symbolic links lead back to themselves and never reach a file."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is a symbolic link loop: it never reaches a file (fix or remove the link)")
        self.errno = errno.ELOOP
        self.path = path


class SubdatasetsError(UserError, ValueError):
    """A container (netCDF, HDF5, GeoPackage) of several rasters opened as one: the user must name one."""

    def __init__(self, path: str, subdatasets: list[str], shown: int = 4) -> None:
        example = subdatasets[0]
        names = ", ".join(s.rsplit(":", 1)[-1].lstrip("/") for s in subdatasets[:shown])
        more = f" and {len(subdatasets) - shown} more" if len(subdatasets) > shown else ""
        super().__init__(f"{path} holds {len(subdatasets)} rasters and no bands of its own ({names}{more}): "
                         f"give one as the raster, in GDAL's form, e.g. '{example}'")
        self.path, self.subdatasets = path, subdatasets


class DamagedRasterError(UserError, OSError):
    """A raster GDAL opens but whose pixels (or a VRT's source files) it cannot read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} is damaged or incomplete: GDAL cannot read its pixels ({reason})")
        self.path, self.reason = path, reason


class NoValidPixelsError(UserError, ValueError):
    """A raster whose every pixel is nodata, masked or not a number: there is nothing to embed."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} has no valid pixels: every one is nodata, masked or not a number (NaN, ±inf); "
                         "check its nodata value and mask")
        self.path = path


class JobCancelled(Exception):
    """Raised inside a job when its cancel flag is set; nothing half-written is kept."""


def write_failed(path: Path, exc: OSError) -> UserError:
    """A write error (disk full, quota, file size limit, read-only cache) as one line saying what to do."""
    # numpy reports a short write without an errno ("86848 requested and 15968 written")
    reason = exc.strerror or f"the disk took only part of a write ({exc})"
    return UserError(f"cannot write embeddings to {path.parent}: {reason} "
                     "(free some disk space, or point REMOTECLIP_CACHE at a larger disk)")


# Command-line wording in a line, and what it means to someone using the HTTP service (the QGIS plugin): a user
# of the plugin never types flags. Most specific first; any other "--flag" becomes its words.
_CLI_WORDS: tuple[tuple[str, str], ...] = (
    ("--model and --weights", "a model and its weights file"),
    ("pass --weights PATH", "choose its weights file"),
    ("--weights PATH", "a weights file"),
    ("--force (HTTP: \"force\": true)", "\"force\": true"),
    ("use --device cpu or auto", "use the CPU device or auto"),
    ("use --device cpu", "use the CPU device"),
    ("(--fast)", "(fast)"),
    ("--gsd", "a model pixel size (gsd)"),
    ("--tile-size", "the tile size"),
    ("--overlap", "the overlap"),
    ("--bands", "the bands"),
)
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)(?: [A-Z]+\b)?")


def http_line(line: str) -> str:
    """``line`` (an error's one line, worded for the command line) without command-line flags, for HTTP answers:
    "pass --weights PATH" becomes "choose its weights file", any other ``--flag`` its words."""
    for cli, words in _CLI_WORDS:
        line = line.replace(cli, words)
    return _FLAG.sub(lambda m: m.group(1).replace("-", " "), line)
