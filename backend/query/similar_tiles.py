"""Similar tiles: rank the raster's tiles by similarity to an example tile or a map point."""

from __future__ import annotations

import numpy as np

from ..embedding.store import EmbeddingStore
from ..errors import UserError
from ..raster.reader import pixel_of
from ..raster.tile_grid import core_containing
from .hit_selection import overlap_fraction
from .text_search import RankedTiles, hit_layers, rank_tiles
from .vector_layer import VectorLayer


def example_point(x: float | None, y: float | None) -> tuple[float, float] | None:
    """An example point from optional X and Y (raster CRS units); both or neither must be given."""
    if x is None and y is None:
        return None
    if x is None or y is None:
        raise UserError("give both x and y of the example point (in the raster's CRS)")
    return (x, y)


def tile_at(store: EmbeddingStore, x: float, y: float) -> int:
    """Row of the stored tile whose core holds the point (x, y) in the raster's CRS."""
    col, row = pixel_of(store.transform, x, y)
    raster = store.meta["raster"]
    if not (0 <= col < raster["width"] and 0 <= row < raster["height"]):
        raise UserError(f"point ({x:g}, {y:g}) lies outside the raster (pixel {col:.0f}, {row:.0f})")
    found = core_containing(store.cores, col, row)
    if found is None:
        raise UserError(f"point ({x:g}, {y:g}) falls on a tile that was skipped as nodata: pick a point on imagery")
    return found


def similar_tiles(store: EmbeddingStore, k: int = 10, tile_id: int | None = None,
                  point: tuple[float, float] | None = None, surface: bool = True, every_score: bool = True
                  ) -> tuple[int, RankedTiles, list[VectorLayer]]:
    """Tiles most like an example (a stored tile id, or the tile under a point); the example is excluded. The
    similarity polygons only with ``surface`` (which needs ``every_score``, see :func:`.text_search.rank_tiles`)."""
    if (tile_id is None) == (point is None):
        raise UserError("give an example: a point (x and y in the raster's CRS) or a tile id, not both")
    if point is not None:
        tile_id = tile_at(store, *point)
    if not 0 <= int(tile_id) < store.n_tiles:
        raise UserError(f"tile {tile_id} does not exist: the store has tiles 0 to {store.n_tiles - 1}")
    tile_id = int(tile_id)
    exclude = overlap_fraction(store.windows[tile_id], store.windows) > 0
    ranked = rank_tiles(store, np.asarray(store.embeddings[tile_id]), k, exclude=exclude,
                        every_score=every_score or surface)
    return tile_id, ranked, hit_layers(store, ranked, f"like tile {tile_id}", hits_name="similar", surface=surface)
