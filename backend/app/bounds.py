"""The ranges request values must lie in, and the one line a value outside gets, for both doors.

The HTTP request models declare them as pydantic ``Field`` bounds (so the OpenAPI schema states them and
pydantic checks them); the service's validation handler turns a bound that failed into the bound's line
(HTTP 400). The CLI checks the same bounds after argparse, with the same lines (exit status 2). Numbers are in
the units the CLI's help names: pixels, metres, fractions; list bounds count items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from ..errors import UserError
from ..query.hit_selection import MAX_K
from ..query.prompts import MAX_PHRASES
from ..raster.reader import MIN_TILE_PX

# Tiles per forward pass a request may ask for: ViT-L-14 at 4,096 tiles needs ~100 GB of activations.
MAX_BATCH = 4096


@dataclass(frozen=True)
class Bound:
    """``low <= value <= high`` (``value > 0`` when ``positive``; finite unless ``finite`` is False; one of
    ``only`` when given); for a list, the same on its length. ``too_low`` / ``too_high`` are the lines for a
    value outside, formatted with ``{value}`` (a list's length)."""

    too_low: str
    too_high: str | None = None
    low: float | None = None
    high: float | None = None
    positive: bool = False
    finite: bool = True
    is_list: bool = False
    only: tuple[int, ...] | None = None  # the values (list lengths) allowed within low..high
    whole: bool = False  # an int field: infinity there is the wrong type (HTTP 422), not a value out of range

    def message(self, value: Any) -> str:
        """The one line for ``value`` (a number, or a list) that failed this bound."""
        measured = len(value) if self.is_list and isinstance(value, (list, tuple)) else value
        high = self.too_high if self.too_high is not None else self.too_low
        above = isinstance(measured, (int, float)) and self.high is not None and measured > self.high
        shown = f"{measured:g}" if isinstance(measured, float) else measured  # 2 and 2.0 read the same
        return (high if above else self.too_low).format(value=shown)

    def holds(self, value: Any) -> bool:
        if value is None:
            return True
        measured = len(value) if self.is_list else value
        if not self.is_list and self.finite and not math.isfinite(measured):
            return False
        if self.only is not None and measured not in self.only:
            return False
        return not ((self.low is not None and not measured >= self.low)
                    or (self.high is not None and not measured <= self.high)
                    or (self.positive and not measured > 0))

    def check(self, value: Any) -> Any:
        """``value`` unchanged when it holds (None always does), else a one-line :class:`UserError`."""
        if not self.holds(value):
            raise UserError(self.message(value))
        return value

    def field(self, default: Any = ..., **kwargs: Any) -> Any:
        """A pydantic ``Field`` that enforces this bound (and declares it in the JSON schema)."""
        if self.is_list:
            return Field(default, min_length=self.low, max_length=self.high, **kwargs)
        return Field(default, ge=self.low, le=self.high, gt=0 if self.positive else None,
                     allow_inf_nan=not self.finite, **kwargs)


K = Bound("k must be at least 1, got {value}", f"k = {{value}} is too large: ask for at most {MAX_K} hits",
          low=1, high=MAX_K, whole=True)
OVERLAP = Bound("overlap must be a fraction from 0 to 0.9, got {value}", low=0.0, high=0.9)
MIN_VALID = Bound("minimum valid fraction must be from 0 to 1, got {value}", low=0.0, high=1.0)
TILE_PX = Bound(f"tile size must be at least {MIN_TILE_PX} pixels, got {{value}}", low=MIN_TILE_PX, whole=True)
GROUND_M = Bound("tile size in metres must be a positive number of metres, got {value}", positive=True)
GSD = Bound("gsd must be a positive number of metres, got {value}", positive=True)
BATCH = Bound(f"batch size must be from 1 to {MAX_BATCH} tiles, got {{value}}", low=1, high=MAX_BATCH, whole=True)
WORKERS = Bound("reader threads must be at least 1, got {value}", low=1, whole=True)
TILE_ID = Bound("tile {value} does not exist: tile ids start at 0", low=0, whole=True)
# no bands (an empty list, as null) leaves the choice to the raster's colour interpretation, as it always did
BANDS = Bound("bands must name 1 or 3 bands, got {value}", low=0, high=3, is_list=True, only=(0, 1, 3))
QUERIES = Bound("the query is empty: type what to look for, e.g. 'storage tanks'",
                f"the query has {{value}} phrases: give at most {MAX_PHRASES}", low=1, high=MAX_PHRASES, is_list=True)
CLASSES = Bound("zero-shot classification needs at least two class names, e.g. 'forest,river'",
                f"the class list has {{value}} phrases: give at most {MAX_PHRASES}", low=2, high=MAX_PHRASES,
                is_list=True)

# Request field -> its bound: what the service's validation handler looks a failed field up in.
REQUEST_BOUNDS: dict[str, Bound] = {
    "k": K, "overlap": OVERLAP, "min_valid": MIN_VALID, "tile_size": TILE_PX, "ground_size_m": GROUND_M,
    "gsd": GSD, "batch_size": BATCH, "tile_id": TILE_ID, "bands": BANDS, "queries": QUERIES, "classes": CLASSES,
}
