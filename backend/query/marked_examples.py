"""Marked examples from a vector file (GeoPackage, GeoJSON, Shapefile: what fiona reads) or a GeoJSON body.

Each feature is one example: its label from ``label_field`` (text; numbers are read as text) and its geometry,
reprojected to the raster's CRS when the file names another CRS. Features without a geometry or a label are
refused with one line, like a missing field or layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import NotFoundError, UserError
from .few_shot import Example

GEOMETRY_TYPES = ("Point", "MultiPoint", "Polygon", "MultiPolygon")


def checked_geometry(geometry, n: int) -> dict:
    """A GeoJSON geometry of a kind that marks tiles, with finite numeric coordinates; else one line."""
    import numpy as np

    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise UserError(f"example {n} is a {kind}: mark points or polygons ({', '.join(GEOMETRY_TYPES)})")
    coords = geometry.get("coordinates")
    try:
        if geometry["type"] == "Point":
            flat = [np.asarray(coords, dtype=np.float64)]
        elif geometry["type"] == "MultiPoint":
            flat = [np.asarray(c, dtype=np.float64) for c in coords]
        elif geometry["type"] == "Polygon":
            flat = [np.asarray(coords[0], dtype=np.float64)]
        else:
            flat = [np.asarray(poly[0], dtype=np.float64) for poly in coords]
        ok = bool(flat) and all(a.size >= 2 and a.shape[-1] >= 2 and np.isfinite(a).all() for a in flat)
    except (TypeError, ValueError, IndexError, KeyError):
        ok = False
    if not ok:
        raise UserError(f"example {n} has coordinates that are not finite numbers of a {geometry['type']}")
    return geometry


def _label(value, field: str, n: int) -> str:
    if value is None or str(value).strip() == "":
        raise UserError(f"example {n} has no '{field}': give every example a label")
    return str(value).strip()


def examples_from_features(features: Iterable[dict], label_field: str, source_crs: str | None,
                           raster_crs: str | None, where: str = "the examples") -> list[Example]:
    """Examples from GeoJSON-like features (``{"geometry": ..., "properties": {...}}``), reprojected from
    ``source_crs`` (WKT or "EPSG:n"; None: already in the raster's CRS) to ``raster_crs``."""
    out: list[Example] = []
    for n, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            raise UserError(f"example {n} in {where} is not a GeoJSON feature")
        properties = feature.get("properties")
        properties = dict(properties) if isinstance(properties, dict) else {}
        if label_field not in properties:
            have = ", ".join(sorted(map(str, properties))) or "none"
            raise UserError(f"{where} have no field '{label_field}' (fields: {have}): give --label-field")
        geometry = feature.get("geometry")
        if not geometry:
            raise UserError(f"example {n} in {where} has no geometry")
        geometry = checked_geometry(geometry, n)
        if source_crs and raster_crs and source_crs != raster_crs:
            from fiona.errors import FionaError
            from fiona.transform import transform_geom

            try:
                geometry = dict(transform_geom(source_crs, raster_crs, geometry))
            except (FionaError, ValueError, TypeError) as exc:
                raise UserError(f"cannot reproject the examples in {where} from their CRS to the raster's: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        out.append(Example(_label(properties[label_field], label_field, n), geometry))
    if not out:
        raise UserError(f"{where} hold no features: mark at least one tile")
    return out


def read_examples(path: str | Path, label_field: str, raster_crs: str | None, layer: str | None = None
                  ) -> list[Example]:
    """The examples in a vector file (its first layer, or ``layer``), in the raster's CRS."""
    import fiona
    from fiona.errors import DriverError, FionaError

    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"examples file not found: {p}")
    try:
        with fiona.open(p, layer=layer) as src:
            crs = src.crs_wkt or None
            features = [{"geometry": f.geometry and dict(f.geometry.__geo_interface__),
                         "properties": dict(f.properties or {})} for f in src]
            fields = list(src.schema.get("properties", {}))
    except (DriverError, FionaError, ValueError) as exc:
        raise UserError(f"{p} is not a vector file fiona can read ({str(exc).splitlines()[0]})") from None
    if label_field not in fields:
        raise UserError(f"{p} has no field '{label_field}' (fields: {', '.join(fields) or 'none'}): give --label-field")
    return examples_from_features(features, label_field, crs, raster_crs, where=str(p))
