"""Which raster bands feed the model's three input channels.

Band numbers are 1-based, as in GDAL and rasterio.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class BandChoice:
    """Three 1-based band numbers for the model's R, G, B inputs, and why they were chosen."""

    bands: tuple[int, int, int]
    reason: str


def parse_bands(text: str | None) -> tuple[int, ...] | None:
    """Parse a band mapping such as ``"3,2,1"`` or ``"1"``; None or empty means choose automatically."""
    if text is None or not str(text).strip():
        return None
    try:
        bands = tuple(int(part) for part in str(text).replace(" ", "").split(","))
    except ValueError:
        raise UserError(f"--bands must be 1 or 3 band numbers such as '3,2,1', got {str(text)!r}") from None
    if len(bands) not in (1, 3):
        raise UserError(f"--bands must name 1 or 3 bands (R,G,B), got {len(bands)}: {str(text)!r}")
    return bands


def choose_bands(
    colorinterp: list[str], count: int, explicit: tuple[int, ...] | None = None
) -> BandChoice:
    """Choose R, G, B bands from an explicit mapping or from the bands' colour interpretation.

    ``colorinterp`` holds rasterio's ColorInterp names in band order (``"red"``, ``"gray"``,
    ``"alpha"``, ``"undefined"``...). Without red/green/blue tags the first three non-alpha bands
    are used (NAIP tags band 1 as gray and leaves R, G, B, NIR otherwise untagged); a raster with
    fewer than three data bands has its first band replicated.
    """
    if count < 1:
        raise UserError("the raster has no bands")
    if explicit is not None:
        bad = [b for b in explicit if not 1 <= b <= count]
        if bad:
            raise UserError(f"band {bad[0]} does not exist: the raster has bands 1 to {count}")
        if len(explicit) == 1:
            return BandChoice((explicit[0],) * 3, f"band {explicit[0]} replicated (--bands)")
        return BandChoice((explicit[0], explicit[1], explicit[2]), "--bands")
    names = [name.lower() for name in colorinterp]
    if all(colour in names for colour in ("red", "green", "blue")):
        rgb = tuple(names.index(colour) + 1 for colour in ("red", "green", "blue"))
        return BandChoice((rgb[0], rgb[1], rgb[2]), "colour interpretation red/green/blue")
    data_bands = [i + 1 for i, name in enumerate(names) if name != "alpha"] or [1]
    if len(data_bands) >= 3:
        first = tuple(data_bands[:3])
        return BandChoice((first[0], first[1], first[2]), "first three bands taken as R, G, B (no RGB tags)")
    return BandChoice((data_bands[0],) * 3, f"band {data_bands[0]} replicated (single data band)")
