"""Vector results as a value type, written to GeoPackage or turned into GeoJSON.

Geometries are tile polygons in the raster's CRS (pixel coordinates when it has none).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError

FIELD_TYPES = {int: "int", float: "float", str: "str"}


@dataclass
class VectorLayer:
    """A polygon layer: ``fields`` maps name to int/float/str; ``rings`` is ``N x 4 x 2`` corners."""

    name: str
    fields: dict[str, type]
    rings: np.ndarray
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.rings):
            raise ValueError(f"layer {self.name}: {len(self.rows)} rows for {len(self.rings)} geometries")

    def __len__(self) -> int:
        return len(self.rows)

    def geojson(self, crs_wkt: str | None = None) -> dict:
        """The layer as a GeoJSON FeatureCollection (coordinates in the raster's CRS, named in ``crs_wkt``)."""
        features = []
        for ring, row in zip(self.rings, self.rows):
            coords = [[float(x), float(y)] for x, y in ring] + [[float(ring[0][0]), float(ring[0][1])]]
            features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]},
                             "properties": row})
        return {"type": "FeatureCollection", "name": self.name, "crs_wkt": crs_wkt, "features": features}


def field_name(text: str, taken: set[str]) -> str:
    """A GeoPackage-safe, unique attribute name from free text ("storage tank" -> "storage_tank")."""
    base = re.sub(r"[^0-9a-zA-Z_]+", "_", text.strip().lower()).strip("_") or "field"
    if base[0].isdigit():
        base = "f_" + base
    name, n = base[:60], 2
    while name in taken:
        name = f"{base[:56]}_{n}"
        n += 1
    taken.add(name)
    return name


def check_output_folder(out: Path, other: str) -> Path:
    """Refuse an output whose folder does not exist or cannot be written (``other``: what to choose instead,
    e.g. "-o path"); returns ``out``."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"output folder {folder} does not exist: create it or choose another {other}")
    if not os.access(folder, os.W_OK):
        raise UserError(f"output folder {folder} is not writable")
    return out


def check_output_path(path: str | os.PathLike) -> Path:
    """Validate an output path before any work is done: a .gpkg in an existing, writable folder."""
    out = Path(path)
    if out.suffix.lower() != ".gpkg":
        raise UserError(f"output must be a GeoPackage file ending in .gpkg, got '{out}'")
    return check_output_folder(out, "-o path")


def write_gpkg(path: str | os.PathLike, layers: Sequence[VectorLayer], crs_wkt: str | None) -> Path:
    """Write layers into one GeoPackage atomically: a temporary file renamed over ``path``."""
    import fiona  # imported here: the service starts faster and only writers pay for GDAL's OGR

    out = check_output_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".gpkg", dir=out.parent or ".")
    os.close(fd)
    os.unlink(tmp_name)  # OGR creates the file itself
    try:
        for layer in layers:
            schema = {"geometry": "Polygon",
                      "properties": {name: FIELD_TYPES[t] for name, t in layer.fields.items()}}
            # Mode "w" with a new layer name adds a layer to an existing GeoPackage ("a" appends rows).
            with fiona.open(tmp_name, "w", driver="GPKG", layer=layer.name, schema=schema,
                            crs_wkt=crs_wkt) as sink:
                sink.writerecords(
                    {
                        "geometry": {"type": "Polygon",
                                     "coordinates": [[(float(x), float(y)) for x, y in ring] + [
                                         (float(ring[0][0]), float(ring[0][1]))]]},
                        "properties": row,
                    }
                    for ring, row in zip(layer.rings, layer.rows)
                )
        os.replace(tmp_name, out)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return out
