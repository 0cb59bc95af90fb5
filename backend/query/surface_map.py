"""A PNG map of a similarity surface over the image it was computed on (for people, not GIS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.enums import Resampling

from ..embedding.store import EmbeddingStore
from ..raster.gdal_messages import quiet_gdal
from ..raster.reader import amplitude, open_raster

# Longest side of the rendered image in pixels.
MAP_PX = 1000


def render_surface_png(store: EmbeddingStore, scores: np.ndarray, hits: np.ndarray, title: str,
                       out: str | Path, units: str = "cosine similarity") -> Path:
    """Draw the raster (its chosen bands, decimated), the per-tile scores as a translucent heatmap
    over tile cores, and the hit boxes with their ranks. Axes are raster pixels."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        # Debian's matplotlib beside the venv's makes pyplot warn about Axes3D, which is not used here.
        warnings.simplefilter("ignore", UserWarning)
        import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    raster = store.meta["raster"]
    width, height = raster["width"], raster["height"]
    scale = min(1.0, MAP_PX / max(width, height))
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    bands = store.meta["tiling"]["bands"]
    limits = np.asarray(store.meta["stretch_limits"])
    with open_raster(raster["path"], probe=False) as src, quiet_gdal():
        unique = sorted(set(bands))
        data = amplitude(src.read(unique, out_shape=(len(unique), *shape), resampling=Resampling.average))
    data = data.astype(np.float32)
    rgb = np.stack([(data[unique.index(b)] - lo) / (hi - lo) for b, (lo, hi) in zip(bands, limits)], axis=-1)
    surface = np.full((height, width), np.nan, dtype=np.float32)
    for (c, r, w, h), s in zip(store.cores, scores):
        surface[r:r + h, c:c + w] = s
    fig, ax = plt.subplots(figsize=(10, 10 * height / width + 0.6), dpi=100)
    ax.imshow(np.clip(rgb, 0, 1), extent=(0, width, height, 0), interpolation="bilinear")
    im = ax.imshow(surface, extent=(0, width, height, 0), cmap="magma", alpha=0.55, interpolation="nearest")
    for rank, i in enumerate(hits, start=1):
        c, r, w, h = store.windows[i]
        ax.add_patch(Rectangle((c, r), w, h, fill=False, edgecolor="cyan", linewidth=2))
        ax.text(c + 3, r + 3, str(rank), color="cyan", fontsize=11, fontweight="bold", va="top")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_xlabel("column (pixels)")
    ax.set_ylabel("row (pixels)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label=units)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out)
    plt.close(fig)
    return out
