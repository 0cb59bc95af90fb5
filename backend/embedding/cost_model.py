"""What embedding a raster will cost, said before it starts: tiles, seconds and bytes of disk.

Tiles come from the planned grid (an upper bound: tiles with too few valid pixels are skipped).
Seconds are the tiles that will be embedded (the grid times ``valid_share``, sampled from the raster)
over this device's rate in embedded tiles per second for this model and the side tiles are read at
(``read_px``: reading and resizing a 1,000 px tile costs more than a 64 px one). Rates are kept in
``<cache>/rates.json`` under (model identity, device, read_px): the end-to-end rate of the last
finished embedding job, else a timed probe of the raster's own tiles through the real pipeline
(``probe``), else a short calibration on random tensors. Disk is the store's layout: float32
embeddings plus each tile's record (indices, windows, footprints), for the whole grid.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import cache_root

# One tile's record in tiles.npz: grid index (int64), window and core (4 x int64 each), footprint and
# core footprint (4 corners x 2 float64 each), valid fraction (float32).
TILE_RECORD_BYTES = 8 + 32 + 32 + 64 + 64 + 4
STORE_FIXED_BYTES = 6_000  # npy/npz headers and meta.json
CALIBRATION_TILES = 8
MIN_MEASURED_TILES = 64  # a job of fewer tiles says more about start-up than about the rate
# Reading, padding and resizing tiles costs a share on top of the forward pass when the rate comes
# from calibration on ready tensors (measured end to end it is already included).
READ_OVERHEAD = 1.15
_lock = threading.Lock()


@dataclass(frozen=True)
class Estimate:
    """The cost of embedding one raster with one model and tiling, on this backend's device."""

    tiles: int              # tiles in the grid (an upper bound: empty tiles are skipped)
    seconds: float          # expected wall time, seconds
    disk_bytes: int         # size of the store on disk, bytes
    rate_tiles_per_s: float  # tiles embedded per second
    rate_source: str        # "measured" (a finished job), "probed" (real tiles), "calibrated" (random tensors)
    device: str
    valid_share: float = 1.0  # share of the grid's tiles that will be embedded (the rest is nodata), 0 to 1

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for people: "12,345 tiles, about 4 min, 25 MB of disk"."""
        return f"{self.tiles:,} tiles, about {format_duration(self.seconds)}, {format_bytes(self.disk_bytes)} of disk"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def store_bytes(n_tiles: int, embed_dim: int) -> int:
    """Disk bytes of a store of ``n_tiles`` embeddings of ``embed_dim`` floats (float32)."""
    return n_tiles * (embed_dim * 4 + TILE_RECORD_BYTES) + STORE_FIXED_BYTES


def rates_file(root: Path | None = None) -> Path:
    return (root or cache_root()) / "rates.json"


def rate_key(model_identity: str, device: str, read_px: int) -> str:
    """Where a rate is kept: one per model, device and the side (pixels) tiles are read at."""
    return f"{model_identity}|{device}|{read_px}"


def read_rates(root: Path | None = None) -> dict:
    try:
        data = json.loads(rates_file(root).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_rate(key: str, tiles_per_s: float, source: str, root: Path | None = None) -> None:
    """Remember a rate (atomically: concurrent backends never see half a file)."""
    if not tiles_per_s > 0:
        return
    path = rates_file(root)
    with _lock:
        rates = read_rates(root)
        rates[key] = {"tiles_per_s": float(tiles_per_s), "source": source, "when": time.time()}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rates.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(rates, fh, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def calibrate(model, batch_size: int = CALIBRATION_TILES) -> float:
    """Tiles per second of ``model``'s image tower on random input: one warm-up batch, one timed batch."""
    import torch

    n = max(1, min(batch_size, CALIBRATION_TILES))
    pixels = torch.randn(n, 3, model.image_size, model.image_size)
    model.encode_images(pixels)  # warm-up: first calls allocate and pick kernels
    start = time.perf_counter()
    model.encode_images(pixels)
    elapsed = time.perf_counter() - start
    return n / max(elapsed, 1e-6) / READ_OVERHEAD


Probe = Callable[[], "float | None"]  # embedded tiles per second of real tiles through the real pipeline


def device_rate(model, batch_size: int = 32, root: Path | None = None, read_px: int | None = None,
                probe: Probe | None = None) -> tuple[float, str]:
    """(tiles/s, source) for ``model`` on its device with tiles read at ``read_px`` pixels (default: the
    model's input size): a finished job's rate, else ``probe()`` (timed real tiles), else a calibration
    on random tensors; a probe or calibration is kept until a job measures the rate."""
    key = rate_key(model.identity, str(model.device), int(read_px or model.image_size))
    known = read_rates(root).get(key)
    if isinstance(known, dict) and known.get("tiles_per_s", 0) > 0:
        return float(known["tiles_per_s"]), str(known.get("source", "measured"))
    rate = probe() if probe is not None else None
    source = "probed"
    if not rate:  # no probe, or no tile in its sample to embed
        rate, source = calibrate(model, batch_size), "calibrated"
    record_rate(key, rate, source, root)
    return rate, source


def estimate(n_tiles: int, model, batch_size: int = 32, root: Path | None = None, read_px: int | None = None,
             probe: Probe | None = None, valid_share: float = 1.0) -> Estimate:
    """The cost of embedding a grid of ``n_tiles`` tiles read at ``read_px`` pixels, of which ``valid_share``
    (0 to 1) hold data, with ``model`` (a LoadedModel) on its device (``probe``: see :func:`device_rate`)."""
    rate, source = device_rate(model, batch_size, root, read_px, probe)
    share = min(1.0, max(0.0, float(valid_share)))
    return Estimate(tiles=int(n_tiles), seconds=n_tiles * share / rate,
                    disk_bytes=store_bytes(n_tiles, model.embed_dim),  # an upper bound, as the disk check
                    rate_tiles_per_s=round(rate, 2), rate_source=source, device=str(model.device),
                    valid_share=round(share, 3))


def record_job(model, n_tiles: int, seconds: float, root: Path | None = None, read_px: int | None = None) -> None:
    """After an embedding job that embedded ``n_tiles`` tiles (those kept, nodata skipped) read at ``read_px``
    pixels: its end-to-end rate becomes the rate later estimates use (small jobs are dominated by start-up
    costs and are not recorded)."""
    if n_tiles >= MIN_MEASURED_TILES and seconds > 0:
        record_rate(rate_key(model.identity, str(model.device), int(read_px or model.image_size)), n_tiles / seconds,
                    "measured", root)


# A store is written to a temporary folder beside its final place and renamed, and the file system
# rounds files up to blocks: ask for a tenth more than the store's size, plus a little for meta files.
DISK_MARGIN_FRACTION = 0.10
DISK_MARGIN_BYTES = 1_000_000
DISK_BUDGET_ENV = "REMOTECLIP_DISK_BUDGET_MB"


def disk_budget_bytes() -> int | None:
    """The optional cap on one store's size, ``$REMOTECLIP_DISK_BUDGET_MB`` (megabytes), or None."""
    from ..config import env_number

    megabytes = env_number(DISK_BUDGET_ENV, None, "megabytes", 0.001)
    return None if megabytes is None else int(megabytes * 1e6)


def _free_bytes(folder: Path) -> int:
    """Free bytes on the file system that holds ``folder`` (or its nearest existing parent)."""
    import shutil

    path = folder.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def check_disk_budget(n_tiles: int, embed_dim: int, what: str, folder: Path | None = None) -> int:
    """Refuse, before any tile is read, an embedding whose store would not fit: more than the free
    space of the cache folder or more than ``$REMOTECLIP_DISK_BUDGET_MB``. Returns the bytes needed.

    Checked up front because a store is written at the end of the job: running out of disk there
    would throw away the whole job's work.
    """
    from ..errors import InsufficientStorageError

    store = store_bytes(n_tiles, embed_dim)
    needed = int(store * (1 + DISK_MARGIN_FRACTION)) + DISK_MARGIN_BYTES
    folder = folder or cache_root()
    budget = disk_budget_bytes()
    if budget is not None and needed > budget:
        raise InsufficientStorageError(
            f"embedding {what} would need about {format_bytes(needed)} of disk ({n_tiles:,} tiles, estimate), "
            f"over the budget of {format_bytes(budget)} set by {DISK_BUDGET_ENV}: use a larger tile size, "
            f"a smaller area, or raise {DISK_BUDGET_ENV}"
        )
    free = _free_bytes(folder)
    if needed > free:
        raise InsufficientStorageError(
            f"embedding {what} would need about {format_bytes(needed)} of disk ({n_tiles:,} tiles, estimate) "
            f"but only {format_bytes(free)} is free in {folder}: free some space, use a larger tile size "
            f"or a smaller area, or point REMOTECLIP_CACHE at a bigger disk"
        )
    return needed
