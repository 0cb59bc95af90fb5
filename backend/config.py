"""Settings at the bottom of the backend: where its files live and the numbers it reads from the environment.

Paths: the cache (``$REMOTECLIP_CACHE``, default ``~/.cache/remoteclip-qgis``: stores, uploads, rates), the
project's data folder (``$REMOTECLIP_HOME``, default ``~/.local/share/remoteclip-qgis``: downloaded weights)
and the resources folder beside the package (the shipped model and the sample raster).

Numbers, with one rule for all of them: unset or empty gives the default; anything else must be a finite
number (whole where asked) of at least ``minimum``, or the user gets one line naming the variable, the unit
and the value given."""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import UserError

CACHE_ENV = "REMOTECLIP_CACHE"
HOME_ENV = "REMOTECLIP_HOME"
DEFAULT_HOME = "~/.local/share/remoteclip-qgis"
# The repository's (or the plugin ZIP's) resources folder, where the project's own model ships.
RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"


def cache_root() -> Path:
    """Where stores, uploads and measured rates live: ``$REMOTECLIP_CACHE`` or ``~/.cache/remoteclip-qgis``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "remoteclip-qgis"


def remoteclip_home() -> Path:
    """The project's data folder (``REMOTECLIP_HOME``, default ``~/.local/share/remoteclip-qgis``)."""
    return Path(os.path.expanduser(os.environ.get(HOME_ENV) or DEFAULT_HOME))


def resources_dir() -> Path:
    """The resources folder (read at call time, so tests can point it elsewhere)."""
    return RESOURCES_DIR


def env_number(name: str, default: float | None, unit: str, minimum: float, whole: bool = False) -> float | None:
    """``$name`` as a number of ``unit`` (an int when ``whole``), else ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value: float | None = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise UserError(f"{name} must be {kind} of {unit} (at least {minimum:g}), got '{text}'")
    return value
