"""Large test rasters that cost no disk: a GDAL VRT repeating the real NAIP sample tile."""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

import rasterio

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "resources" / "sample" / "naip_m_4709963_se_14_1_20190904.tif"


def mosaic_vrt(path: Path, width: int, height: int, source: Path = SAMPLE) -> Path:
    """Write a ``width`` x ``height`` pixel VRT tiling ``source`` edge to edge (same CRS and pixel size)."""
    with rasterio.open(source) as src:
        sw, sh, count, dtype = src.width, src.height, src.count, src.dtypes[0]
        t = src.transform
        crs = src.crs.to_wkt() if src.crs else ""
        colorinterp = [ci.name.capitalize() for ci in src.colorinterp]
    gdal_type = {"uint8": "Byte", "uint16": "UInt16", "int16": "Int16", "float32": "Float32"}[dtype]
    nx, ny = math.ceil(width / sw), math.ceil(height / sh)
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
             f"  <SRS>{escape(crs)}</SRS>",
             f"  <GeoTransform>{t.c!r}, {t.a!r}, {t.b!r}, {t.f!r}, {t.d!r}, {t.e!r}</GeoTransform>"]
    src_name = escape(str(Path(source).resolve()))
    for band in range(1, count + 1):
        lines.append(f'  <VRTRasterBand dataType="{gdal_type}" band="{band}">')
        lines.append(f"    <ColorInterp>{colorinterp[band - 1]}</ColorInterp>")
        for j in range(ny):
            for i in range(nx):
                lines.append(
                    f'    <SimpleSource><SourceFilename relativeToVRT="0">{src_name}</SourceFilename>'
                    f"<SourceBand>{band}</SourceBand>"
                    f'<SrcRect xOff="0" yOff="0" xSize="{sw}" ySize="{sh}"/>'
                    f'<DstRect xOff="{i * sw}" yOff="{j * sh}" xSize="{sw}" ySize="{sh}"/></SimpleSource>')
        lines.append("  </VRTRasterBand>")
    lines.append("</VRTDataset>")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
