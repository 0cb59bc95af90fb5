"""Request and response bodies of the HTTP service (pydantic), validated here, once, at the door.

Numbers and list lengths carry their bounds (:mod:`backend.app.bounds`) as ``Field`` constraints; phrases,
class lists and example points are checked by the same functions the CLI calls. A check that fails becomes a
validation error of type :data:`USER_ERROR` whose message is the one line the CLI prints; the service answers
it (and a failed bound) with HTTP 400, anything else that does not match the schema with 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from ..errors import UserError
from ..query.prompts import clean_phrases, count_prompts, parse_class_list
from ..query.similar_tiles import example_point
from ..raster.reader import TilingParams
from . import bounds
from .orchestration import RasterSpec

USER_ERROR = "user_error"  # the pydantic error type of a failed check; its message is the user's one line


def user_checked(check: Callable[[], Any]) -> Any:
    """``check()``, its :class:`UserError` raised again as a validation error carrying the same line."""
    try:
        return check()
    except UserError as exc:
        raise PydanticCustomError(USER_ERROR, "{line}", {"line": str(exc)}) from None


def checked_by(check: Callable[[Any], Any]) -> AfterValidator:
    """A field validator that runs ``check`` (raising :class:`UserError`) and keeps the value it returns."""
    return AfterValidator(lambda value: user_checked(lambda: check(value)))


class EmbeddingOptions(BaseModel):
    """How to embed a raster: model, weights, tiling and precision (a RasterRequest without its raster)."""

    model: str | None = Field(None, description="model name from GET /models (default: the best one present)")
    weights: str | None = Field(None, description="checkpoint file instead of the registry's")
    tile_size: int | None = bounds.TILE_PX.field(None, description="tile side in raster pixels (default: the "
                                                  "model's training ground size where pixel sizes are known, else its "
                                                  "input size)")
    ground_size_m: float | None = bounds.GROUND_M.field(None, description="tile side on the ground in metres")
    gsd: float | None = bounds.GSD.field(None, description="metres per model-input pixel")
    overlap: float = bounds.OVERLAP.field(0.0, description="fraction of a tile shared with its neighbour, 0 to 0.9")
    bands: Annotated[list[int] | None, checked_by(bounds.BANDS.check)] = bounds.BANDS.field(
        None, description="1 or 3 band numbers used as R, G, B (null or []: chosen from the colour interpretation)")
    min_valid: float = bounds.MIN_VALID.field(0.01, description="skip tiles with a smaller valid fraction")
    batch_size: int = bounds.BATCH.field(32, description="tiles per forward pass")
    precision: Literal["exact", "int8", "openvino", "openvino-bf16"] = Field(
        "exact", description="int8: the CPU fast path (torch dynamic int8 of Linear layers); openvino / "
                             "openvino-bf16: the image tower in OpenVINO on the CPU (float32 / bfloat16); see "
                             "docs/PERFORMANCE.md for each one's speed and accuracy. Their stores are separate from "
                             "exact ones")

    @model_validator(mode="after")
    def _one_tile_size(self) -> EmbeddingOptions:
        user_checked(self.tiling)  # only one of tile_size, ground_size_m and gsd
        return self

    def tiling(self) -> TilingParams:
        return TilingParams(tile_px=self.tile_size, ground_m=self.ground_size_m, gsd=self.gsd, overlap=self.overlap,
                            bands=tuple(self.bands) if self.bands else None, min_valid=self.min_valid)

    def spec_for(self, raster: str) -> RasterSpec:
        return RasterSpec(raster=raster, model=self.model, weights=self.weights, precision=self.precision,
                          tiling=self.tiling())


class RasterRequest(EmbeddingOptions):
    """A raster and how to embed it; the same fields address the same cached store."""

    raster: str = Field(..., description="path of a raster file on the backend's machine, or upload:<sha256>")

    def spec(self) -> RasterSpec:
        """What the orchestration needs to find or make this request's store."""
        return self.spec_for(self.raster)


HEATMAP_HELP = ("GeoTIFF on the backend's machine to write the similarity to (float32, cell = tile stride, each "
                "cell the mean of the tiles covering it)")

Phrases = Annotated[list[str], checked_by(clean_phrases)]


class SearchRequest(RasterRequest):
    queries: Phrases = bounds.QUERIES.field(description="one or more phrases; their embeddings are averaged")
    k: int = bounds.K.field(10, description="number of distinct hits")
    output: str | None = Field(None, description="GeoPackage to write the layers to")
    include_surface: bool = Field(True, description="return the per-tile similarity surface")
    heatmap: str | None = Field(None, description=HEATMAP_HELP)


class ClassifyRequest(RasterRequest):
    classes: Annotated[list[str], checked_by(parse_class_list)] = bounds.CLASSES.field(
        description="two or more class names, each listed once")
    output: str | None = None
    transductive: bool = Field(False, description="classify all tiles together (TransCLIP); with fewer tiles than "
                                                  "classes plain zero-shot is used and summary.note says so")
    class_raster: str | None = Field(None, description="GeoTIFF on the backend's machine to write the class of "
                                                       "each tile-stride cell to (uint8, colour table, names in "
                                                       "the CLASSES tag)")


def _checked_object(obj: str) -> str:
    count_prompts(obj)
    return " ".join(obj.split())


class ChangeRequest(RasterRequest):
    """``raster`` is BEFORE; ``after`` is tiled on its grid (warped there when its CRS or grid differ)."""

    after: str = Field(..., description="the later raster of the same place: a path on the backend's machine, or "
                                        "upload:<sha256>")
    queries: Phrases | None = Field(None, description="rank tiles by how much closer AFTER moved to these phrases "
                                                      "(averaged) instead of by change")
    k: int = bounds.K.field(10, description="number of distinct changed tiles")
    output: str | None = Field(None, description="GeoPackage to write the layers to")
    include_surface: bool = Field(True, description="return the per-tile change surface")
    heatmap: str | None = Field(None, description="GeoTIFF on the backend's machine to write the change (or the "
                                                  "gain toward the queries) to, cell = tile stride")


def _one_example_source(examples_file: str | None, examples: dict | None) -> None:
    if (examples_file is None) == (examples is None):
        raise UserError("give the examples: examples_file or examples (GeoJSON), not both")


class FewShotRequest(RasterRequest):
    """Marked examples (a vector file on the backend's machine, or GeoJSON features) over ``raster``."""

    examples_file: str | None = Field(None, description="vector file of labelled points or polygons")
    examples: dict | None = Field(None, description="a GeoJSON FeatureCollection of labelled points or polygons; "
                                                    "its optional crs_wkt member names their CRS (default: the "
                                                    "raster's)")
    label_field: str = Field("label", min_length=1, description="the label property ('negative' marks "
                                                               "counter-examples of a ranking)")
    layer: str | None = Field(None, description="layer of examples_file (default: its first)")
    mode: Literal["auto", "classify", "rank"] = Field("auto", description="classify (two or more labels), rank "
                                                                         "by example (one label), or auto")
    k: int = bounds.K.field(10, description="hits of a ranking")
    text_prior: bool = Field(True, description="a label that is a phrase adds its text embedding as an example")
    output: str | None = None
    include_surface: bool = Field(True, description="return the per-tile layers (classes, or a ranking's scores); "
                                                    "false with an output: they are in the GeoPackage only")
    class_raster: str | None = Field(None, description="GeoTIFF on the backend's machine for the classes (or the "
                                                       "ranking score) on the tile-stride grid")

    @model_validator(mode="after")
    def _one_source(self) -> FewShotRequest:
        user_checked(lambda: _one_example_source(self.examples_file, self.examples))
        return self


class CountRequest(RasterRequest):
    object: Annotated[str, checked_by(_checked_object)] = Field(..., description="the object to count, e.g. "
                                                                                 "'storage tank'")
    output: str | None = None
    force: bool = Field(False, description="count even with a model whose registry says it cannot (else 422)")


class SimilarRequest(RasterRequest):
    x: float | None = Field(None, description="example point X in the raster's CRS")
    y: float | None = Field(None, description="example point Y in the raster's CRS")
    tile_id: int | None = bounds.TILE_ID.field(None, description="example tile id instead of a point")
    k: int = bounds.K.field(10, description="number of distinct hits")
    output: str | None = None
    include_surface: bool = True
    heatmap: str | None = Field(None, description=HEATMAP_HELP)

    def point(self) -> tuple[float, float] | None:
        return example_point(self.x, self.y)

    @model_validator(mode="after")
    def _one_example(self) -> SimilarRequest:
        def check() -> None:
            if (self.point() is None) == (self.tile_id is None):
                raise UserError("give an example: a point (x and y in the raster's CRS) or a tile id, not both")

        user_checked(check)
        return self


class ErrorBody(BaseModel):
    """Every refusal: one line saying what was wrong and what to do."""

    error: str
    raster: str | None = Field(None, description="409 only: the raster to POST /embed (a change request has two)")


class RasterAnswer(BaseModel):
    """A result raster carried in the answer: a GeoTIFF (float32 cosine similarity on the tile-stride grid, the
    raster's CRS), base64-encoded."""

    format: Literal["GTiff"] = "GTiff"
    width: int
    height: int
    data: str = Field(..., description="the GeoTIFF file, base64")


class QueryAnswer(BaseModel):
    """The answer of /search, /classify, /count, /similar and /change: result layers as GeoJSON in the raster's
    CRS."""

    model: str
    weights: str
    store: str = Field(..., description="key of the embedding store that was queried")
    n_tiles: int
    crs_wkt: str | None = Field(..., description="the raster's CRS (null: pixel coordinates)")
    output: str | None = Field(..., description="GeoPackage written, if one was asked for")
    raster: str | None = Field(None, description="heatmap or class GeoTIFF written, if one was asked for")
    summary: dict
    layers: dict[str, dict] = Field(..., description="layer name -> GeoJSON FeatureCollection")
    rasters: dict[str, RasterAnswer] = Field(
        default_factory=dict, description="layer name -> GeoTIFF: a store of at least "
        "$REMOTECLIP_SURFACE_RASTER_MIN_TILES tiles (50,000) answers its surface ('similarity') here, not as polygons")


class CatalogSearchRequest(BaseModel):
    catalog: str = Field(..., min_length=1, max_length=64, description="a catalogue from GET /catalogs")
    queries: Phrases = bounds.QUERIES.field(description="one or more phrases; their embeddings are averaged")
    k: int = bounds.K.field(10, description="number of distinct hits over all the catalogue's rasters")
    output: str | None = Field(None, description="GeoPackage to write the hits to (EPSG:4326)")
    precision: Literal["exact", "int8"] = Field("exact", description="as for one raster")


RasterNames = Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]],
                        Field(min_length=1, max_length=10000)]


class CatalogAddRequest(EmbeddingOptions):
    """Rasters to add to a catalogue; the model and tiling fields count only when the catalogue is new (its
    first add fixes them), precision always (int8 stores are apart from exact ones)."""

    rasters: RasterNames = Field(..., description="raster files, folders, tile indexes or STAC JSON on the "
                                                  "backend's machine, or upload:<sha256>")


class CatalogRemoveRequest(BaseModel):
    rasters: RasterNames = Field(..., description="rasters to take out of the catalogue (their stores are kept)")


class CatalogInfo(BaseModel):
    name: str
    model: str
    rasters: int
    embedded: int = Field(..., description="rasters whose store exists")


class CatalogAnswer(BaseModel):
    """The hits of a catalogue search as GeoJSON in EPSG:4326, each naming its raster."""

    model: str
    catalog: str
    crs_wkt: str
    output: str | None
    summary: dict
    layers: dict[str, dict]


class ModelInfo(BaseModel):
    name: str
    arch: str
    source: str
    description: str
    present: bool
    where: str
    counts: bool = Field(True, description="false: counting is refused unless forced (the model cannot count)")
    tile_ground_m: float | None = Field(None, description="the default tile side on the ground, metres (the model's "
                                                          "training scale), where the raster's pixel size is known")
    downloadable: bool = Field(False, description="POST /models/{name}/download can fetch its weights")
    size_bytes: int | None = Field(None, description="the weights file's size in bytes, where known")
    licence: str = ""


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class JobStatus(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    done: int
    total: int
    error: str | None = None
    result: dict | None = None
    created: float
    finished: float | None = None


class EstimateAnswer(BaseModel):
    raster: str
    model: str
    embedded: bool = Field(..., description="a store for this raster, model and tiling exists: no embedding needed")
    tiles: int = Field(..., description="tiles in the grid (an upper bound: empty tiles are skipped)")
    seconds: float = Field(..., description="expected embedding time on this backend's device, seconds")
    disk_bytes: int = Field(..., description="size of the store on disk, bytes")
    rate_tiles_per_s: float = Field(..., description="tiles embedded per second on this device (model, read size)")
    rate_source: str = Field(..., description="measured (a finished job), probed (real tiles) or calibrated")
    device: str
    valid_share: float = Field(1.0, description="share of the grid's tiles that hold data and will be embedded "
                                                "(sampled; the rest are skipped)")
    summary: str = Field(..., description="the estimate as one line for people")
    tile_px: int = Field(..., description="tile side in raster pixels, as planned (ground sizes converted)")
    read_px: int = Field(..., description="side in pixels each tile is read at (at most the model's input)")
    store: str = Field(..., description="the store key: equal keys, the same cached embeddings")
    disk_problem: str | None = Field(None, description="why POST /embed would be refused for disk (HTTP 507), "
                                                       "or null when the store fits")
