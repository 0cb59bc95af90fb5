"""Many rasters from one name: a folder, a GDAL tile index, a STAC item or item collection on disk.

:func:`raster_paths` turns what a user gives ``catalog add`` into raster file paths, in a stable order:

- a raster file: itself;
- a folder: every file under it with a raster suffix (:data:`RASTER_SUFFIXES`), sorted;
- a GDAL tile index (a vector file, e.g. from ``gdaltindex``): the ``location`` field of each feature, relative
  paths taken from the index's folder;
- a STAC Item or ItemCollection (``.json``): per item, its ``data`` asset (or the first GeoTIFF/COG asset), hrefs
  relative to the JSON file (``file://`` too; remote hrefs are refused: nothing is downloaded).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import NotFoundError, UserError

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img", ".png", ".jpg", ".jpeg")
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".fgb")
TILE_INDEX_FIELD = "location"
TIFF_TYPES = ("image/tiff", "image/vnd.stac.geotiff")


def _local(href: str, base: Path, where: str) -> str:
    parsed = urlparse(href)
    if parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path) if parsed.scheme == "file" else href)
        return str(path if path.is_absolute() else (base / path).resolve())
    raise UserError(f"{where} names a remote asset ({href}): catalogues hold files on this machine; download it first")


def stac_assets(document: dict, base: Path, where: str) -> list[str]:
    """The data file of each item of a STAC Item or ItemCollection (``base``: the folder of the JSON file)."""
    kind = document.get("type")
    items = document.get("features") if kind == "FeatureCollection" else [document] if kind == "Feature" else None
    if not isinstance(items, list):
        raise UserError(f"{where} is neither a STAC Item nor an ItemCollection (type '{kind}')")
    paths = []
    for item in items:
        assets = item.get("assets") if isinstance(item, dict) else None
        if not isinstance(assets, dict) or not assets:
            raise UserError(f"{where}: item '{(item or {}).get('id', '?')}' has no assets")
        chosen = next((a for a in assets.values() if isinstance(a, dict) and "data" in (a.get("roles") or [])), None)
        chosen = chosen or next((a for a in assets.values() if isinstance(a, dict)
                                 and str(a.get("type", "")).split(";")[0] in TIFF_TYPES), None)
        if chosen is None or not chosen.get("href"):
            raise UserError(f"{where}: item '{item.get('id', '?')}' has no data or GeoTIFF asset")
        paths.append(_local(str(chosen["href"]), base, where))
    return paths


def tile_index_locations(path: Path) -> list[str]:
    """The ``location`` of each feature of a GDAL tile index (relative to the index's folder)."""
    import fiona
    from fiona.errors import DriverError, FionaError

    try:
        with fiona.open(path) as src:
            fields = list(src.schema.get("properties", {}))
            if TILE_INDEX_FIELD not in fields:
                raise UserError(f"{path} is not a tile index: no '{TILE_INDEX_FIELD}' field (fields: "
                                f"{', '.join(fields) or 'none'})")
            return [_local(str(f.properties[TILE_INDEX_FIELD]), path.parent, str(path)) for f in src
                    if f.properties.get(TILE_INDEX_FIELD)]
    except (DriverError, FionaError) as exc:
        raise UserError(f"{path} is not a vector file fiona can read ({str(exc).splitlines()[0]})") from None


def raster_paths(source: str | Path) -> list[str]:
    """Raster file paths named by ``source`` (see the module docstring); one line when it names none."""
    p = Path(source)
    if not p.exists():
        raise NotFoundError(f"not found: {p} (give raster files, a folder, a tile index or a STAC JSON)")
    if p.is_dir():
        found = sorted(str(f.resolve()) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in RASTER_SUFFIXES)
        if not found:
            raise UserError(f"no rasters ({', '.join(RASTER_SUFFIXES)}) under {p}")
        return found
    if p.suffix.lower() == ".json":
        try:
            document = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise UserError(f"{p} is not a JSON file ({exc})") from None
        return stac_assets(document, p.parent, str(p))
    if p.suffix.lower() in VECTOR_SUFFIXES:
        found = tile_index_locations(p)
        if not found:
            raise UserError(f"the tile index {p} lists no rasters")
        return found
    return [str(p.resolve())]
