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
        properties = dict(feature.get("properties") or {})
        if label_field not in properties:
            have = ", ".join(sorted(properties)) or "none"
            raise UserError(f"{where} have no field '{label_field}' (fields: {have}): give --label-field")
        geometry = feature.get("geometry")
        if not geometry:
            raise UserError(f"example {n} in {where} has no geometry")
        geometry = dict(geometry)
        if source_crs and raster_crs and source_crs != raster_crs:
            from fiona.transform import transform_geom

            geometry = dict(transform_geom(source_crs, raster_crs, geometry))
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
