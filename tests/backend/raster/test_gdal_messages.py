"""GDAL's and libtiff's own lines never reach the console: they go to the debug log."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from backend.raster.gdal_messages import DEBUG_LOG, quiet_gdal

from .. import raster_corpus as rc


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_libtiff_warnings_go_to_the_debug_log_not_stderr(tmp_path: Path, capfd) -> None:
    # bytes of the first IFD flipped so that libtiff warns ("Incompatible type for GeoTiePoints") on every read
    path = rc.bit_flipped(rc.compressed("packbits", (120, 100)), seed=1, flips=4, region=(8, 300))(tmp_path)
    # outside any handler GDAL's default one prints (a fresh process: a test before may have left a handler)
    leak = subprocess.run([sys.executable, "-W", "ignore", "-c",
                           f"import rasterio; rasterio.open({str(path)!r}).read()"], capture_output=True, text=True)
    assert "Warning 1:" in leak.stderr, leak.stderr
    capfd.readouterr()
    root, debug = _Records(), _Records()
    logging.getLogger().addHandler(root)
    DEBUG_LOG.addHandler(debug)
    DEBUG_LOG.setLevel(logging.DEBUG)
    try:
        with quiet_gdal(), warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # its GeoTIFF tags are among the flipped
            with rasterio.open(path) as again:
                again.read()
    finally:
        logging.getLogger().removeHandler(root)
        DEBUG_LOG.removeHandler(debug)
        DEBUG_LOG.setLevel(logging.NOTSET)
    assert capfd.readouterr().err == ""
    assert not [r for r in root.records if r.name.startswith("rasterio")], "a root logger would print them"
    assert any("GeoTiePoints" in r.getMessage() for r in debug.records)
