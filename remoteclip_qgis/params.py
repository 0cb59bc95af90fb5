"""Job parameters as plain dataclasses, apart from any UI: the toolbar, the Processing algorithms and
the tests all build these, and ``request()`` turns one into the backend's JSON body."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class EmbedParams:
    """A raster and how to tile and embed it: the same values address the same cached store."""

    raster: str
    model: str | None = None
    weights: str | None = None
    tile_size: int | None = None        # pixels
    ground_size_m: float | None = None  # tile side on the ground, metres
    gsd: float | None = None
    overlap: float = 0.0
    bands: list[int] | None = None
    batch_size: int = 32

    endpoint = "embed"

    def embed_request(self) -> dict:
        body = {k: v for k, v in self.request().items() if k in EMBED_FIELDS}
        body["raster"] = self.raster
        return body

    def request(self) -> dict:
        """The body for this job's endpoint (None and empty values left to the backend's defaults)."""
        return {k: v for k, v in asdict(self).items() if not _unset(v)}

    def title(self) -> str:
        return ""


def _unset(value) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0)


EMBED_FIELDS = {"raster", "model", "weights", "tile_size", "ground_size_m", "gsd", "overlap", "bands", "batch_size"}


@dataclass
class SearchParams(EmbedParams):
    queries: list[str] = field(default_factory=list)
    k: int = 10
    output: str | None = None
    include_surface: bool = False  # the surface is in the GeoPackage; no need to send it as JSON too

    endpoint = "search"

    def title(self) -> str:
        return " + ".join(self.queries)


@dataclass
class ClassifyParams(EmbedParams):
    classes: list[str] = field(default_factory=list)
    output: str | None = None

    endpoint = "classify"

    def title(self) -> str:
        return ", ".join(self.classes)


@dataclass
class CountParams(EmbedParams):
    object: str = ""
    output: str | None = None

    endpoint = "count"

    def title(self) -> str:
        return self.object


@dataclass
class SimilarParams(EmbedParams):
    x: float | None = None   # in the raster's CRS
    y: float | None = None
    tile_id: int | None = None
    k: int = 10
    output: str | None = None
    include_surface: bool = False

    endpoint = "similar"

    def title(self) -> str:
        if self.tile_id is not None:
            return f"tile {self.tile_id}"
        return f"{self.x:.1f}, {self.y:.1f}" if self.x is not None and self.y is not None else ""


# Layers each query writes into its GeoPackage.
OUTPUT_LAYERS = {
    "search": ("hits", "similarity"),
    "classify": ("classes",),
    "count": ("counts",),
    "similar": ("similar", "similarity"),
}


def split_phrases(text: str) -> list[str]:
    """"lake; pond" or one phrase a line -> ["lake", "pond"] (commas stay: they occur in phrases)."""
    parts = [p.strip() for chunk in text.splitlines() for p in chunk.split(";")]
    return [p for p in parts if p]


def split_classes(text: str) -> list[str]:
    """Class names separated by commas, semicolons or new lines."""
    parts = [p.strip() for chunk in text.replace(";", ",").splitlines() for p in chunk.split(",")]
    return [p for p in parts if p]
