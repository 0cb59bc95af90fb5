"""GDAL's own messages (``Warning 1: ...``, libtiff's ``ERROR 1: TIFFReadEncodedStrip() failed``): never on the
console, always in a debug log.

GDAL prints through its default error handler to the process's stderr whenever a call runs outside an error
handler of its own, and rasterio installs one only inside a :class:`rasterio.Env` (per thread: GDAL's handler
stack is thread-local, so a reader thread needs its own). Every reader function of this room runs its GDAL
calls inside :func:`quiet_gdal`; rasterio then hands each message to Python logging (logger ``rasterio._env``
and ``rasterio._err``), which this module sends to the ``backend.raster.gdal`` logger at DEBUG level, out of
the root logger's way. A failure still reaches the user: rasterio raises it, and the reader turns its first line
into the product's one line.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import rasterio
from rasterio.errors import NodataShadowWarning

# Python warnings the product silences on purpose. rasterio's NodataShadowWarning (a raster with both a nodata value
# and an alpha band): GDAL masks it by the nodata value, which is what the product reads; the line named backend
# source paths and nothing a user could act on.
SILENCED_WARNINGS: tuple[type[Warning], ...] = (NodataShadowWarning,)


def silence_expected_warnings() -> None:
    """Install the filters for :data:`SILENCED_WARNINGS` (done at import; tests that reset filters call it again)."""
    for category in SILENCED_WARNINGS:
        warnings.filterwarnings("ignore", category=category)


silence_expected_warnings()

DEBUG_LOG = logging.getLogger("backend.raster.gdal")
_ROUTED = threading.Lock()
_state = {"routed": False}


class _ToDebugLog(logging.Handler):
    """Re-logs rasterio's records of GDAL messages at DEBUG on :data:`DEBUG_LOG`."""

    def emit(self, record: logging.LogRecord) -> None:
        DEBUG_LOG.debug("%s: %s", record.name, record.getMessage())


def route_gdal_messages() -> None:
    """Send rasterio's loggers (where its error handler puts GDAL's messages) to :data:`DEBUG_LOG` only.

    Idempotent. Without this, a root logger configured by any library (uvicorn, a test runner) would print
    GDAL's warnings as ``CPLE_AppDefined in ...`` lines.
    """
    with _ROUTED:
        if _state["routed"]:
            return
        logger = logging.getLogger("rasterio")
        logger.addHandler(_ToDebugLog(level=logging.DEBUG))
        logger.propagate = False
        _state["routed"] = True


@contextmanager
def quiet_gdal() -> Iterator[None]:
    """Run GDAL calls with rasterio's error handler on this thread: messages go to the debug log, failures
    are raised as rasterio exceptions. Cheap (about 20 µs), so it wraps every tile read."""
    route_gdal_messages()
    with rasterio.Env():
        yield
