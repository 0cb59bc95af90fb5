"""Job parameters as plain dataclasses, apart from any UI, and the one place a request is built.

The toolbar, the dock, the Processing algorithms and the tests all describe what the user chose as
``JobOptions`` and turn it into a job's parameters with ``build_params`` (the plugin's settings fill
what was left unset); ``EmbedParams.request()`` is that job's JSON body for the backend. The field
names of these dataclasses are the backend's request fields (tests/plugin/test_request_drift.py
compares them with the backend's /openapi.json). Units: pixels for tile sizes, metres for ground
sizes, fractions (0 to 1) for overlap and ``min_valid``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .i18n import tr

LISTED_CLASSES = 4  # a classification's title lists up to this many classes, else says how many
# int8: the backend's torch fast path; openvino(-bf16): its OpenVINO engine; their stores are separate from exact ones
PRECISIONS = ("exact", "int8", "openvino", "openvino-bf16")


@dataclass
class EmbedParams:
    """A raster and how to tile and embed it: the same values address the same cached store."""

    raster: str
    model: str | None = None
    weights: str | None = None
    tile_size: int | None = None        # pixels
    ground_size_m: float | None = None  # tile side on the ground, metres
    gsd: float | None = None            # metres per model-input pixel
    overlap: float = 0.0                # fraction of a tile shared with its neighbour (the backend's default)
    bands: list[int] | None = None      # 1 or 3 band numbers (from 1) used as R, G, B
    min_valid: float | None = None      # skip tiles with a smaller valid fraction (None: the backend's 0.01)
    batch_size: int = 32
    precision: str = "exact"            # one of PRECISIONS

    endpoint = "embed"

    def embed_request(self) -> dict:
        """The body of POST /embed and POST /estimate for this job's raster (its query fields left out)."""
        return {k: v for k, v in self.request().items() if k in EMBED_FIELDS}

    def request(self) -> dict:
        """The body for this job's endpoint (None and empty values left to the backend's defaults)."""
        return {k: v for k, v in asdict(self).items() if not _unset(v)}

    def title(self) -> str:
        return ""


def _unset(value) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0)


EMBED_FIELDS = frozenset(f.name for f in fields(EmbedParams))


@dataclass
class SearchParams(EmbedParams):
    queries: list[str] = field(default_factory=list)
    k: int = 10
    output: str | None = None
    include_surface: bool = False  # the surface is in the GeoPackage; no need to send it as JSON too
    heatmap: str | None = None     # GeoTIFF of the similarity on the stride grid (a local backend writes it)

    endpoint = "search"

    def title(self) -> str:
        return " + ".join(self.queries)


@dataclass
class ClassifyParams(EmbedParams):
    classes: list[str] = field(default_factory=list)
    output: str | None = None
    transductive: bool = False  # all tiles classified together (TransCLIP); off: each tile alone
    class_raster: str | None = None  # GeoTIFF of the class of each stride cell (a local backend writes it)

    endpoint = "classify"

    def title(self) -> str:
        """"classes: farmland, lake, road"; past :data:`LISTED_CLASSES` classes only their number ("classes: 7
        classes"): a group name repeating a long class list is cut off in the layer tree anyway."""
        if len(self.classes) > LISTED_CLASSES:
            return tr("classes: {0} classes").format(len(self.classes))
        return tr("classes: {0}").format(", ".join(self.classes))


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
    heatmap: str | None = None

    endpoint = "similar"

    def title(self) -> str:
        """"similar to the tile at 487500, 5207000" (the group adds the CRS: result_layers.crs_title)."""
        if self.tile_id is not None:
            return tr("similar to tile {0}").format(self.tile_id)
        if self.x is None or self.y is None:
            return ""
        return tr("similar to the tile at {0}, {1}").format(coordinate_text(self.x), coordinate_text(self.y))


def coordinate_text(value: float) -> str:
    """A map coordinate rounded for a name: whole units from 1000 on (metres or feet of a projected CRS: a
    tile is tens of them wide), else 5 decimals (degrees: 5 decimals are about 1 m)."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.5f}".rstrip("0").rstrip(".")


@dataclass
class ChangeParams(EmbedParams):
    """Change between two dates: ``raster`` is BEFORE, ``after`` the later raster of the same place (tiled on
    BEFORE's grid by the backend); with ``queries`` tiles rank by how much closer they moved to the phrases."""

    after: str = ""
    queries: list[str] = field(default_factory=list)
    k: int = 10
    output: str | None = None
    include_surface: bool = False
    heatmap: str | None = None  # GeoTIFF of the change (or the gain toward the queries) on the stride grid

    endpoint = "change"
    dates = ""          # not a request field: "2019 → 2020", the two layers' names, for titles
    after_render = None  # not a request field: AFTER's raster_source.RenderSpec when QGIS renders it

    def title(self) -> str:
        """"change: 2019 → 2020", "change toward new buildings: 2019 → 2020"."""
        base = tr("change toward {0}").format(" + ".join(self.queries)) if self.queries else tr("change")
        return f"{base}: {self.dates}" if self.dates else base


NEGATIVE_LABEL = "negative"  # the backend's label of counter-examples of a ranking (backend/query/few_shot.py)
FEWSHOT_MODES = ("auto", "classify", "rank")


@dataclass
class FewShotParams(EmbedParams):
    """More like these: marked examples (GeoJSON ``examples``, or a vector file on the backend's machine) over
    ``raster``; two or more labels give classes, one label (and "negative" marks) a ranking."""

    examples_file: str | None = None
    examples: dict | None = None  # a GeoJSON FeatureCollection, with an optional "crs_wkt" member
    label_field: str = "label"
    layer: str | None = None
    mode: str = "auto"            # one of FEWSHOT_MODES
    k: int = 10
    text_prior: bool = True       # a label that is a phrase adds its text embedding as an example
    output: str | None = None
    include_surface: bool = False
    class_raster: str | None = None  # GeoTIFF of the classes (or the ranking score) on the stride grid

    endpoint = "fewshot"

    def labels(self) -> list[str]:
        """The labels of the GeoJSON examples, as the backend orders them ("negative" left out)."""
        features = (self.examples or {}).get("features") or []
        found = {str(value).strip() for f in features
                 if (value := (f.get("properties") or {}).get(self.label_field)) is not None}
        return sorted(v for v in found if v and v != NEGATIVE_LABEL)

    def title(self) -> str:
        labels = self.labels()
        if not labels:
            return tr("more like these")
        if len(labels) > LISTED_CLASSES:
            return tr("more like these: {0} labels").format(len(labels))
        return tr("more like these: {0}").format(", ".join(labels))


# Each job's parameters, by endpoint; POST /estimate takes the body of POST /embed.
PARAMS = {cls.endpoint: cls for cls in (EmbedParams, SearchParams, ClassifyParams, CountParams, SimilarParams,
                                        ChangeParams, FewShotParams)}
ROUTES = {f"/{endpoint}": cls for endpoint, cls in PARAMS.items()} | {"/estimate": EmbedParams}


def request_fields(route: str) -> frozenset[str]:
    """The JSON fields the plugin may send to ``route`` (e.g. "/search")."""
    return frozenset(f.name for f in fields(ROUTES[route]))


@dataclass
class CatalogSearchParams:
    """A search over every raster of a catalogue (its model and tiling are the catalogue's own)."""

    catalog: str
    queries: list[str] = field(default_factory=list)
    k: int = 10
    output: str | None = None
    precision: str = "exact"

    endpoint = "catalog/search"

    def request(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not _unset(v)}

    def title(self) -> str:
        """"'storage tanks' in catalogue city" (the result layer's name)."""
        return tr("'{0}' in catalogue {1}").format(" + ".join(self.queries), self.catalog)


@dataclass
class CatalogAddParams:
    """Rasters to add to a catalogue; model and tiling count only when the catalogue is new."""

    rasters: list[str]
    model: str | None = None
    weights: str | None = None
    tile_size: int | None = None
    ground_size_m: float | None = None
    gsd: float | None = None
    overlap: float = 0.0
    bands: list[int] | None = None
    min_valid: float | None = None
    batch_size: int = 32
    precision: str = "exact"

    @classmethod
    def from_embed(cls, params: EmbedParams, rasters: list[str]) -> CatalogAddParams:
        """The model, tiling and precision of ``params`` (from build_params) for ``rasters``."""
        return cls(rasters=list(rasters), **{k: v for k, v in asdict(params).items() if k in CATALOG_ADD_FIELDS})

    def request(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not _unset(v)}


CATALOG_ADD_FIELDS = EMBED_FIELDS - {"raster"}


@dataclass
class CatalogRemoveParams:
    rasters: list[str]


# The catalogue's routes: their bodies are these (the drift test compares them with the backend's).
CATALOG_ROUTES = {"/catalog/search": CatalogSearchParams, "/catalogs/{name}/rasters": CatalogAddParams,
                  "/catalogs/{name}/remove": CatalogRemoveParams}
ROUTES.update(CATALOG_ROUTES)


DEFAULT_OVERLAP = 0.25  # the plugin's default overlap (settings, dock, Processing); the backend's is 0


@dataclass
class JobOptions:
    """What the user chose for the raster and its tiling, before the plugin's settings fill the rest.

    Zero, empty and None mean "not chosen": the settings' value (the dock's Tiling panel, which writes
    them), else the backend's default. A tile size in pixels or on the ground, chosen, replaces both of
    the settings' (the two never mix). Overlap None: the settings' overlap; 0.0 is a choice.
    """

    model: str = ""
    weights: str = ""
    tile_size: int = 0              # pixels
    ground_size_m: float = 0.0      # metres on the ground; when set, it replaces the tile size in pixels
    overlap: float | None = None    # fraction, 0 to 0.9; None: the settings' overlap
    bands: list[int] | None = None  # see parse_bands; None: the settings' bands
    precision: str = ""             # one of PRECISIONS; empty: the settings' precision


def tiling_options(settings) -> JobOptions:
    """The one tiling state (the dock's Tiling panel, kept in the plugin's ``settings``) as JobOptions:
    what the toolbar, the locator and the map tool use, and what the dock sends."""
    return JobOptions(tile_size=int(getattr(settings, "tile_size", 0) or 0),
                      ground_size_m=float(getattr(settings, "ground_size_m", 0.0) or 0.0),
                      overlap=float(getattr(settings, "overlap", DEFAULT_OVERLAP)),
                      bands=parse_bands(getattr(settings, "bands", "") or ""),
                      precision=getattr(settings, "precision", "") or "")


def build_params(endpoint: str, raster: str, options: JobOptions, settings, **query) -> EmbedParams:
    """The parameters of one job (``endpoint``: a key of PARAMS) on ``raster`` (a path, or a label the
    task replaces with the backend's ``upload:`` name), from ``options`` and the plugin's ``settings``
    (a PluginSettings): model, weights, tiling (tile size or ground size, overlap, bands) and precision
    default to the settings', so that the toolbar, the locator, the map tool, the dock and Processing
    address the same stores for the same choices. ``query``: the endpoint's own fields."""
    model = options.model or settings.default_model or None
    weights = options.weights or (settings.weights if settings.weights and model == (settings.default_model or None)
                                  else "")
    state = tiling_options(settings)
    if options.ground_size_m or options.tile_size:  # a size chosen here replaces the settings' size
        ground, tile = options.ground_size_m or None, None if options.ground_size_m else options.tile_size
    else:
        ground, tile = state.ground_size_m or None, None if state.ground_size_m else (state.tile_size or None)
    overlap = state.overlap if options.overlap is None else float(options.overlap)
    bands = options.bands if options.bands else state.bands
    precision = options.precision or state.precision or "exact"
    if precision not in PRECISIONS:
        raise ValueError(tr("Precision must be one of: {0}").format(", ".join(PRECISIONS)))
    if not 0.0 <= overlap <= 0.9:
        raise ValueError(tr("Overlap must be a fraction from 0 to 0.9"))
    return PARAMS[endpoint](raster=raster, model=model, weights=weights or None, tile_size=tile,
                            ground_size_m=ground, overlap=overlap, bands=check_bands(bands), precision=precision,
                            **query)


def check_bands(bands: list[int] | None) -> list[int] | None:
    """Band numbers as the backend takes them: one or three, from 1; [] or None -> None (automatic).
    ValueError, with a message for the user, otherwise."""
    if not bands:
        return None
    bands = [int(b) for b in bands]
    if len(bands) not in (1, 3) or min(bands) < 1:
        raise ValueError(tr("Bands: give one band or three (numbers from 1), e.g. 3,2,1"))
    return bands


def parse_bands(text: str) -> list[int] | None:
    """"3,2,1", "3 2 1" or "1" -> band numbers; "" -> None (the backend's choice). ValueError when malformed."""
    parts = [p for p in (text or "").replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        bands = [int(p) for p in parts]
    except ValueError:
        raise ValueError(tr("Bands must be band numbers, e.g. 3,2,1")) from None
    return check_bands(bands)


# Layers each query writes into its GeoPackage.
OUTPUT_LAYERS = {
    "search": ("hits", "similarity"),
    "classify": ("classes",),
    "count": ("counts",),
    "similar": ("similar", "similarity"),
    "change": ("changed", "change"),
    "fewshot": ("fewshot_classes", "fewshot_hits", "fewshot_scores"),
}


# The request field naming each query's raster output, and the GeoPackage layer that raster replaces on the map.
RASTER_OUTPUTS = {
    "search": ("heatmap", "similarity"),
    "classify": ("class_raster", "classes"),
    "similar": ("heatmap", "similarity"),
    "change": ("heatmap", "change"),
    "fewshot": ("class_raster", "fewshot_classes"),  # a ranking's score raster replaces fewshot_scores instead
}


def split_phrases(text: str) -> list[str]:
    """"lake; pond" or one phrase a line -> ["lake", "pond"] (commas stay: they occur in phrases)."""
    parts = [p.strip() for chunk in text.splitlines() for p in chunk.split(";")]
    return [p for p in parts if p]


def split_classes(text: str) -> list[str]:
    """Class names separated by commas, semicolons or new lines."""
    parts = [p.strip() for chunk in text.replace(";", ",").splitlines() for p in chunk.split(",")]
    return [p for p in parts if p]
