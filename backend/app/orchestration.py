"""Every job once, for both doors: estimate, embed, search, classify, count, similar, change, fewshot and the
catalogue (add, search).

The CLI (:mod:`backend.app.cli`) and the HTTP routes (:mod:`backend.app.routes`) validate their input (argparse
and :mod:`backend.app.bounds`; pydantic) and call these functions with a :class:`RasterSpec`. Here a request's
raster is opened and planned once (and not at all when a :class:`Workspace` has seen that version of the file
before), its model loaded or taken from the workspace, its store looked up once (kept open by the workspace),
and the answer computed by :mod:`backend.query`. What only the data can tell (a band the raster lacks, a point
outside it, a store that does not exist yet) is found here and raised as one-line errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..embedding.cost_model import Estimate, check_disk_budget, record_job
from ..embedding.cost_model import estimate as estimate_cost
from ..embedding.store import EmbeddingStore
from ..errors import CannotCountError, InsufficientStorageError, NotEmbeddedError, NotFoundError, UserError
from ..models.registry import get_model_spec, require_model_name
from ..query import catalog as catalogs
from ..query import change as change_detection
from ..query import counting, similar_tiles, text_search, zero_shot  # modules: a test injects a fault into one
from ..query import few_shot as few_shot_learning
from ..query.marked_examples import examples_from_features, read_examples
from ..query.surface_raster import (
    SurfaceRaster,
    check_raster_path,
    surface_raster_min_tiles,
    surface_raster_of,
    write_class_raster,
    write_heatmap,
)
from ..query.vector_layer import VectorLayer, check_output_path, write_gpkg
from ..raster.alignment import aligned_path, check_same_bands, overlap_bounds
from ..raster.collections import raster_paths
from ..raster.reader import RasterInfo, TilingParams
from ..raster.uploads import resolve_raster
from .caches import DEFAULT_OPEN_STORES, OpenStores, RasterInfos

if TYPE_CHECKING:  # torch and open_clip are imported when a model is first needed: the service starts in 0.6 s, not 2
    from ..embedding.distributed import Ranks
    from ..embedding.pipeline import Cancelled, EmbeddingPlan, Progress
    from ..models.factory import LoadedModel


@dataclass(frozen=True)
class RasterSpec:
    """A raster (a path, or ``upload:<sha256>``), the model to embed it with and the tiling."""

    raster: str
    model: str | None = None
    weights: str | None = None
    precision: str | None = None
    tiling: TilingParams = field(default_factory=TilingParams)


@dataclass(frozen=True)
class Prepared:
    """A request's model and plan: everything decided before a store is looked up or a tile read."""

    model: LoadedModel
    plan: EmbeddingPlan


@dataclass(frozen=True)
class Embedded:
    """An embedding job's outcome; ``store`` is None on torchrun ranks that cannot see rank 0's cache."""

    store: EmbeddingStore | None
    seconds: float
    fresh: bool  # False: the store existed and nothing was embedded


@dataclass(frozen=True)
class Estimated:
    prepared: Prepared
    cost: Estimate
    embedded: bool  # a store for this raster, model and tiling exists already
    disk_problem: str | None  # why embedding would be refused for disk, or None


@dataclass(frozen=True)
class Answer:
    """A query's result: its layers, a summary for clients, the GeoPackage written (if asked) and the
    query room's own result (RankedTiles, ZeroShotResult or CountResult) for the CLI's tables."""

    model: LoadedModel
    store: EmbeddingStore
    layers: list[VectorLayer]
    summary: dict
    output: Path | None
    result: Any
    raster: Path | None = None  # the heatmap or class GeoTIFF written (if asked)
    # The similarity surface as a raster (a large store asked for a raster answer: its polygons were not built).
    surface: SurfaceRaster | None = None


def plan_for(info: RasterInfo, model: LoadedModel, params: TilingParams) -> EmbeddingPlan:
    """The plan of a raster already opened and described (:func:`~backend.embedding.pipeline.plan_for_raster`):
    the same bands, grid and store key as ``plan_embedding``, without opening the file again (tested to agree)."""
    from ..embedding.pipeline import plan_for_raster

    return plan_for_raster(info, model.identity, model.spec.name, model.image_size, params, model.spec.tile_ground_m)


def cached_model(name: str, **options: Any) -> LoadedModel:
    """:func:`~backend.models.factory.get_model` (the process's model cache), imported at the first request."""
    from ..models.factory import get_model

    return get_model(name, **options)


def refuse_missing(prepared: Prepared) -> EmbeddingStore:
    """The service's answer to a query over a raster with no store: 409, embed first."""
    raise NotEmbeddedError(prepared.plan.info.path, prepared.model.spec.name)


class Workspace:
    """Models, described rasters and open stores shared by the requests of one process.

    ``load_model``: :func:`cached_model` (the service; the default) or :func:`~backend.models.factory.load_model`
    (the CLI, one request). ``when_missing(prepared)``: the store of a query whose raster is not embedded yet
    (the CLI embeds it now; the service refuses). ``on_prepared(prepared)``: told each request's model and plan
    (the CLI prints them). ``rasters``: rasters described already (the CLI checks its raster before importing
    torch).
    """

    def __init__(self, device: str | None = None, *, load_model: Callable[..., LoadedModel] = cached_model,
                 when_missing: Callable[[Prepared], EmbeddingStore] = refuse_missing,
                 on_prepared: Callable[[Prepared], None] | None = None, open_stores: int | None = None,
                 rasters: RasterInfos | None = None) -> None:
        self.device = device
        self.load_model = load_model
        self.when_missing = when_missing
        self.on_prepared = on_prepared
        self.stores = OpenStores(open_stores or DEFAULT_OPEN_STORES)
        self._phrases: dict[tuple, np.ndarray] = {}
        self.rasters = rasters if rasters is not None else RasterInfos()

    def phrase_embeddings(self, model: LoadedModel, phrases: list[str]) -> dict[str, np.ndarray]:
        """Unit text embeddings of ``phrases`` (the model's templates ensembled), kept for the process: marking
        one more tile and asking again encodes nothing (21 phrases cost about a second on a 2-core CPU)."""
        templates = tuple(model.spec.prompt_templates)
        missing = [p for p in phrases if (model.identity, templates, p) not in self._phrases]
        if missing:
            from ..query.prompts import class_embeddings

            if len(self._phrases) > 4096:
                self._phrases.clear()
            for phrase, vector in zip(missing, class_embeddings(model, missing, templates)):
                self._phrases[(model.identity, templates, phrase)] = vector
        return {p: self._phrases[(model.identity, templates, p)] for p in phrases}

    def prepare(self, spec: RasterSpec) -> Prepared:
        """The model and plan for ``spec``; the raster is opened first, so a bad one is reported before
        seconds of loading a model."""
        info = self.rasters.describe(resolve_raster(spec.raster))
        model = self.load_model(require_model_name(spec.model), weights=spec.weights, device=self.device,
                                precision=spec.precision)
        prepared = Prepared(model, plan_for(info, model, spec.tiling))
        if self.on_prepared is not None:
            self.on_prepared(prepared)
        return prepared

    def open(self, spec: RasterSpec) -> tuple[Prepared, EmbeddingStore]:
        """The model, plan and store of a query (``when_missing`` decides what happens without a store)."""
        prepared = self.prepare(spec)
        store = self.stores.get(prepared.plan.key)
        return prepared, store if store is not None else self.when_missing(prepared)


# ---------------------------------------------------------------- embedding


def check_room(prepared: Prepared) -> None:
    """Refuse (InsufficientStorageError) a store that would not fit the disk or the disk budget."""
    check_disk_budget(prepared.plan.grid.n_tiles, prepared.model.embed_dim, prepared.plan.info.path)


def admit_embedding(workspace: Workspace, spec: RasterSpec) -> Prepared:
    """The model and plan of an embedding about to be queued; one that cannot fit is refused now, not after
    the queue (a store is written at the end of a job: running out of disk there loses the whole job)."""
    prepared = workspace.prepare(spec)
    if workspace.stores.get(prepared.plan.key) is None:
        check_room(prepared)
    return prepared


def _cost(prepared: Prepared, batch_size: int | None) -> Estimate:
    """The estimate of embedding ``prepared``: this device's rate for its model and read size, probed on the
    raster's own tiles when no job has measured it yet."""
    from ..embedding.pipeline import probe_rate, valid_share

    plan, model = prepared.plan, prepared.model
    return estimate_cost(plan.grid.n_tiles, model, batch_size or 32, read_px=plan.read_px,
                         probe=lambda: probe_rate(plan, model, batch_size), valid_share=valid_share(plan))


def estimate(workspace: Workspace, spec: RasterSpec, batch_size: int = 32) -> Estimated:
    """Tiles, seconds and disk that embedding ``spec`` will cost on this device, and whether it is needed."""
    prepared = workspace.prepare(spec)
    cost = _cost(prepared, batch_size)
    embedded = workspace.stores.get(prepared.plan.key) is not None
    disk_problem = None
    if not embedded:  # said here too, so a client can tell the user before asking to embed
        try:
            check_room(prepared)
        except InsufficientStorageError as exc:
            disk_problem = str(exc)
    return Estimated(prepared, cost, embedded, disk_problem)


def embed(workspace: Workspace, prepared: Prepared, *, batch_size: int | None = None, workers: int | None = None,
          progress: Progress | None = None, cancelled: Cancelled | None = None, ranks: Ranks | None = None,
          before: Callable[[Estimate], None] | None = None) -> Embedded:
    """The store of ``prepared``, embedded now unless it exists.

    A store that cannot fit is refused before any tile is read; ``before(cost)`` hears the estimate first (a
    single process: what the CLI prints). The job's end-to-end rate becomes what later estimates on this device
    use. Under torchrun every rank takes part (``ranks``; default: a single process) and rank 0 writes the store.
    """
    from ..embedding.distributed import SINGLE
    from ..embedding.pipeline import embed_raster

    ranks = ranks or SINGLE
    plan, model = prepared.plan, prepared.model
    existing = workspace.stores.get(plan.key)
    if existing is not None and not ranks.distributed:  # every rank takes part in embed_raster's broadcast
        if progress is not None:
            progress(plan.grid.n_tiles, plan.grid.n_tiles)
        return Embedded(existing, 0.0, fresh=False)
    fresh = existing is None
    if fresh:
        check_room(prepared)
        if before is not None and not ranks.distributed:
            before(_cost(prepared, batch_size))
    started = time.perf_counter()
    store = embed_raster(plan, model, batch_size=batch_size, progress=progress, cancelled=cancelled,
                         workers=workers, ranks=ranks)
    seconds = time.perf_counter() - started
    if fresh and store is not None and not ranks.distributed:
        record_job(model, store.n_tiles, seconds, read_px=plan.read_px)  # tiles embedded, nodata skipped
    if store is not None:
        if fresh:
            prepare_search(store)
        workspace.stores.put(store)
    return Embedded(store, seconds, fresh)


def prepare_search(store: EmbeddingStore) -> None:
    """Build beside a large new store what its first raster-answered search would otherwise build: from
    :func:`~backend.query.vector_index.ann_min_tiles` tiles the approximate index (about 18 s per million 384-d
    tiles on the 2-core bench machine, against hours of embedding) and the surface level its answers carry."""
    from ..query.surface_levels import answer_level, surface_level
    from ..query.vector_index import ann_min_tiles, store_ann

    if store.n_tiles < ann_min_tiles():
        return
    store_ann(store)
    f = answer_level(store)
    if f > 1:
        surface_level(store, f)


# ---------------------------------------------------------------- queries


def _answer(model: LoadedModel, store: EmbeddingStore, layers: list[VectorLayer], output: str | None,
            summary: dict, result: Any) -> Answer:
    written = write_gpkg(output, layers, store.crs_wkt) if output else None
    return Answer(model, store, layers, summary, written, result)


def _check_output(output: str | None) -> None:
    if output:  # a bad output path is refused before a store is looked up or embedded
        check_output_path(output)


def _check_raster(path: str | None) -> None:
    if path:  # refused before a store is looked up or embedded, like a bad GeoPackage path
        check_raster_path(path)


def _with_heatmap(answer: Answer, heatmap: str | None, label: str) -> Answer:
    if not heatmap:
        return answer
    return replace(answer, raster=write_heatmap(heatmap, answer.store, answer.result.scores, label))


def _as_raster(store: EmbeddingStore, surface_raster: bool, output: str | None) -> bool:
    """Whether the similarity surface comes back as a raster instead of polygons: asked for, no GeoPackage (a
    file gets its polygons), and a store of at least :func:`surface_raster_min_tiles` tiles."""
    return surface_raster and not output and store.n_tiles >= surface_raster_min_tiles()


def _with_surface(answer: Answer, as_raster: bool, label: str) -> Answer:
    if not as_raster:
        return answer
    result = answer.result
    return replace(answer, surface=surface_raster_of(answer.store, result.scores, label,
                                                     query=getattr(result, "query", None)))


def search(workspace: Workspace, spec: RasterSpec, queries: list[str], k: int = 10,
           output: str | None = None, *, heatmap: str | None = None, surface_raster: bool = False) -> Answer:
    """Tiles matching the phrases (their embeddings averaged): layers ``hits`` and ``similarity``; with
    ``heatmap``, the similarity as a GeoTIFF on the stride grid too. ``surface_raster``: on a large store the
    similarity comes back as ``Answer.surface`` (a GeoTIFF in memory) instead of the ``similarity`` polygons."""
    _check_output(output)
    _check_raster(heatmap)
    prepared, store = workspace.open(spec)
    model = prepared.model
    as_raster = _as_raster(store, surface_raster, output)
    # A raster answer's surface comes from the pooled levels: the hits alone need scoring, unless a heatmap file
    # (every tile) is written too.
    ranked, layers = text_search.text_search(store, model, queries, k=k, templates=model.spec.prompt_templates,
                                             surface=not as_raster, every_score=not as_raster or bool(heatmap))
    answer = _answer(model, store, layers, output, {"best_score": float(ranked.scores.max())}, ranked)
    label = " | ".join(queries)
    return _with_surface(_with_heatmap(answer, heatmap, label), as_raster, label)


def classify(workspace: Workspace, spec: RasterSpec, classes: list[str], output: str | None = None, *,
             transductive: bool = False, class_raster: str | None = None) -> Answer:
    """Zero-shot classes of every tile (``transductive``: all tiles together, TransCLIP): layer ``classes``; with
    ``class_raster``, the class of each stride cell (from the probabilities of the tiles covering it) as a paletted
    GeoTIFF too. The summary's ``note`` says why transduction fell back to plain zero-shot, when it did."""
    _check_output(output)
    _check_raster(class_raster)
    prepared, store = workspace.open(spec)
    model = prepared.model
    result, layers = zero_shot.zero_shot(store, model, classes, templates=model.spec.prompt_templates,
                                         transductive=transductive)
    summary: dict[str, Any] = {"class_shares": result.class_shares()}
    if result.note:
        summary["note"] = result.note
    answer = _answer(model, store, layers, output, summary, result)
    if class_raster:
        answer = replace(answer, raster=write_class_raster(class_raster, store, result.probabilities,
                                                           result.classes))
    return answer


def check_counts(spec: RasterSpec, force: bool = False) -> None:
    """Refuse counting with a model whose registry entry says it cannot count (``counts: false``), unless
    ``force``; from the registry alone, before a raster is read or a model loaded."""
    name = require_model_name(spec.model)
    if not force and not get_model_spec(name).counts:
        raise CannotCountError(name)


def count(workspace: Workspace, spec: RasterSpec, obj: str, output: str | None = None, force: bool = False) -> Answer:
    """Per-tile counts (1 to 10) and the expected total of an object: layer ``counts``."""
    check_counts(spec, force)
    _check_output(output)
    prepared, store = workspace.open(spec)
    result, layers = counting.count_objects(store, prepared.model, obj, templates=prepared.model.spec.prompt_templates)
    return _answer(prepared.model, store, layers, output, {"total_expected": result.total_expected}, result)


def similar(workspace: Workspace, spec: RasterSpec, k: int = 10, tile_id: int | None = None,
            point: tuple[float, float] | None = None, output: str | None = None, *,
            heatmap: str | None = None, surface_raster: bool = False) -> Answer:
    """Tiles like an example (a tile id, or the tile under a point in the raster's CRS): layers ``similar``
    and ``similarity``; with ``heatmap``, the similarity as a GeoTIFF too."""
    _check_output(output)
    _check_raster(heatmap)
    prepared, store = workspace.open(spec)
    as_raster = _as_raster(store, surface_raster, output)
    example, ranked, layers = similar_tiles.similar_tiles(store, k=k, tile_id=tile_id, point=point,
                                                          surface=not as_raster,
                                                          every_score=not as_raster or bool(heatmap))
    answer = _answer(prepared.model, store, layers, output, {"example_tile": example}, ranked)
    label = f"like tile {example}"
    return _with_surface(_with_heatmap(answer, heatmap, label), as_raster, label)


def change(workspace: Workspace, spec: RasterSpec, after: str, k: int = 10, output: str | None = None, *,
           queries: list[str] | None = None, heatmap: str | None = None) -> Answer:
    """Change from ``spec``'s raster (BEFORE) to ``after``, tile by tile on BEFORE's grid over the area both
    cover: layers ``changed`` (the ``k`` most changed distinct tiles, or with ``queries`` those that moved most
    toward the phrases) and ``change``; with ``heatmap``, the ranking score as a GeoTIFF too.

    AFTER is read on BEFORE's grid (itself, or a warped VRT in the cache) and embedded like any raster, so each
    date is embedded once. Both rasters are described (and refused: no overlap, different bands) before a model
    loads. Without AFTER's store the service's 409 names the raster to embed (the VRT, when one was made).
    """
    _check_output(output)
    _check_raster(heatmap)
    before_info = workspace.rasters.describe(resolve_raster(spec.raster))
    after_info = workspace.rasters.describe(resolve_raster(after))
    check_same_bands(before_info, after_info, spec.tiling.bands)
    overlap_bounds(before_info, after_info)
    aligned = aligned_path(before_info, after_info)
    prepared, before_store = workspace.open(spec)
    _, after_store = workspace.open(replace(spec, raster=aligned))
    model = prepared.model
    result, layers = change_detection.change_search(before_store, after_store, model, k, queries,
                                                    templates=model.spec.prompt_templates)
    compared = result.change[np.isfinite(result.change)]
    summary = {"tiles_compared": int(compared.size), "mean_change": float(compared.mean()),
               "after_raster": aligned, "after_store": after_store.key}
    if result.query:
        summary["query"] = result.query
    answer = _answer(model, before_store, layers, output, summary, result)
    if not heatmap:
        return answer
    units = "gain in cosine similarity toward the query" if result.query else "1 - cosine similarity"
    return replace(answer, raster=write_heatmap(heatmap, before_store, result.scores,
                                                result.query or "change", units=units))


def fewshot(workspace: Workspace, spec: RasterSpec, *, examples_file: str | None = None,
            features: dict | None = None, label_field: str = "label", layer: str | None = None, mode: str = "auto",
            k: int = 10, output: str | None = None, text_prior: bool = True,
            class_raster: str | None = None) -> Answer:
    """More like these: classes (layer ``fewshot_classes``) or, with one label, a ranking by example (layers
    ``fewshot_hits`` and ``fewshot_scores``) learned from marked examples over the raster's embeddings.

    The examples come from ``examples_file`` (a vector file) or ``features`` (a GeoJSON FeatureCollection, with an
    optional ``crs_wkt`` member; default: the raster's CRS). They are read and checked (a missing field, no
    features) before a model loads; labels that are phrases get their text embedding as a prior (``text_prior``).
    ``class_raster`` writes the classes on the stride grid as for ``classify``.
    """
    _check_output(output)
    _check_raster(class_raster)
    if (examples_file is None) == (features is None):
        raise UserError("give the examples: a vector file or GeoJSON features, not both")
    info = workspace.rasters.describe(resolve_raster(spec.raster))
    if examples_file is not None:
        examples = read_examples(examples_file, label_field, info.crs_wkt, layer)
    else:
        listed, crs = features.get("features") or [], features.get("crs_wkt")
        if not isinstance(listed, list) or not (crs is None or isinstance(crs, str)):
            raise UserError("examples must be a GeoJSON FeatureCollection: a 'features' list and an optional "
                            "'crs_wkt' string")
        examples = examples_from_features(listed, label_field, crs, info.crs_wkt)
    prepared, store = workspace.open(spec)
    model = prepared.model
    labels = sorted({e.label for e in examples if e.label != few_shot_learning.NEGATIVE_LABEL})
    phrases = [label for label in labels if text_prior and few_shot_learning.is_phrase(label)]
    text = workspace.phrase_embeddings(model, phrases)
    result = few_shot_learning.few_shot(store, examples, text, mode=mode, k=k)
    layers = few_shot_learning.few_shot_layers(store, result)
    summary: dict[str, Any] = {"mode": result.mode, "labels": result.labels, "method": result.method,
                               "examples": {label: len(rows) for label, rows in result.example_rows.items()}}
    if result.mode == "classify":
        shares = np.bincount(result.classes, minlength=len(result.labels)) / max(1, store.n_tiles)
        summary["class_shares"] = {label: float(v) for label, v in zip(result.labels, shares)}
    answer = _answer(model, store, layers, output, summary, result)
    if class_raster and result.mode == "classify":
        answer = replace(answer, raster=write_class_raster(class_raster, store, result.probabilities, result.labels))
    elif class_raster:
        answer = replace(answer, raster=write_heatmap(class_raster, store, result.scores, result.labels[0],
                                                      units="cosine to the positives minus cosine to the negatives"))
    return answer


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class CatalogAnswer:
    """A catalogue search: its hits (across rasters), the layer, a summary and the GeoPackage written (if asked)."""

    model: LoadedModel
    catalog: catalogs.Catalog
    layers: list[VectorLayer]
    summary: dict
    output: Path | None
    result: list


def _tiling_of(catalog: catalogs.Catalog) -> TilingParams:
    t = dict(catalog.tiling)
    t["bands"] = tuple(t["bands"]) if t.get("bands") else None
    return TilingParams(**t)


def _entry_spec(catalog: catalogs.Catalog, path: str, precision: str | None = None) -> RasterSpec:
    return RasterSpec(path, catalog.model, catalog.weights, precision, _tiling_of(catalog))


def catalog_add(workspace: Workspace, name: str, sources: list[str], spec: RasterSpec, *,
                embed_store: Callable[[Prepared], EmbeddingStore] | None = None, ranks: Ranks | None = None,
                before_embedding: Callable[[list[Prepared]], None] | None = None) -> catalogs.Catalog:
    """Add rasters (files, folders, tile indexes, STAC JSON) to catalogue ``name`` (made with ``spec``'s model
    and tiling), embed the ones without a store and extend its index.

    Every raster is described first: one without a CRS, or one missing, is refused before any is embedded.
    ``embed_store(prepared)`` makes a missing store (default: ``workspace.when_missing``), after
    ``before_embedding(missing)`` heard all of them (the service's job sums their tiles). Under torchrun the
    rasters are shared out by rank (entry i on rank i mod world size), each embedded by one process; after a
    barrier rank 0 writes the index and the catalogue, and the other ranks return None.
    """
    from dataclasses import asdict

    from ..embedding.distributed import SINGLE

    ranks = ranks or SINGLE
    catalogs.check_name(name)
    paths, infos = catalog_rasters(workspace, sources)
    catalog = catalogs.load_catalog(name, must_exist=False)
    if catalog is None:
        catalog = catalogs.Catalog(name, require_model_name(spec.model), asdict(spec.tiling), weights=spec.weights)
    elif spec.model and spec.model != catalog.model:
        raise UserError(f"catalogue '{name}' uses {catalog.model}, not {spec.model}: one model per catalogue")
    for info in infos:
        entry = catalog.entry(info.path)
        if entry is None:
            catalog.entries.append(catalogs.CatalogEntry(info.path, info.identity))
        elif entry.identity != info.identity:  # changed on disk: its old store no longer stands for it
            entry.identity, entry.store = info.identity, None
    make = embed_store or workspace.when_missing
    missing = []
    for i, entry in enumerate(catalog.entries):
        if i % ranks.world_size == ranks.rank and entry.path in paths:
            prepared = workspace.prepare(_entry_spec(catalog, entry.path, spec.precision))
            if workspace.stores.get(prepared.plan.key) is None:
                missing.append(prepared)
    if before_embedding is not None:
        before_embedding(missing)
    for prepared in missing:
        make(prepared)
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()
        if not ranks.is_main:
            return None
    stores = _catalog_stores(workspace, catalog, spec.precision)
    catalogs.update_index(catalog, stores)
    catalogs.save_catalog(catalog)
    return catalog


def catalog_rasters(workspace: Workspace, sources: list[str]) -> tuple[list[str], list[RasterInfo]]:
    """The raster files ``sources`` name (files, ``upload:<sha256>``, folders, tile indexes, STAC JSON), each
    described; one missing or without a CRS is refused (one line) before anything is embedded."""
    paths = list(dict.fromkeys(p for source in sources for p in raster_paths(resolve_raster(source))))
    infos = [workspace.rasters.describe(p) for p in paths]
    for info in infos:
        if info.crs_wkt is None:
            raise UserError(f"{info.path} has no CRS: a catalogue answers in longitude/latitude, so its rasters "
                            "must be georeferenced")
    return paths, infos


def catalog_remove(name: str, rasters: list[str] | None = None) -> catalogs.Catalog | None:
    """Take ``rasters`` (paths, or ``upload:<sha256>``) out of catalogue ``name`` (their stores are kept; the
    index is rebuilt at the next search), or with none the whole catalogue (None is returned)."""
    if not rasters:
        catalogs.remove_catalog(name)
        return None
    catalog = catalogs.load_catalog(name)
    wanted = {str(Path(resolve_raster(r)).resolve()) for r in rasters}
    unknown = sorted(wanted - {e.path for e in catalog.entries})
    if unknown:
        raise NotFoundError(f"catalogue '{name}' has no raster {unknown[0]}")
    catalog.entries = [e for e in catalog.entries if e.path not in wanted]
    catalogs.save_catalog(catalog)  # the index is rebuilt at the next search: its store keys no longer match
    return catalog


def _catalog_stores(workspace: Workspace, catalog: catalogs.Catalog, precision: str | None = None
                    ) -> list[EmbeddingStore]:
    """Each entry's current store; a raster that vanished is one line, a changed one gets a new store (the CLI
    embeds it, the service answers 409 naming it): never the old embeddings."""
    stores = []
    for entry in catalog.entries:
        if not Path(entry.path).exists():
            raise NotFoundError(f"catalogue '{catalog.name}': {entry.path} is gone: restore it, or remove it with "
                                f"'catalog remove {catalog.name} {entry.path}'")
        prepared, store = workspace.open(_entry_spec(catalog, entry.path, precision))
        entry.identity, entry.store = prepared.plan.info.identity, store.key
        stores.append(store)
    return stores


def catalog_search(workspace: Workspace, name: str, queries: list[str], k: int = 10, output: str | None = None,
                   precision: str | None = None) -> CatalogAnswer:
    """The ``k`` best distinct tiles for the phrases across every raster of catalogue ``name``: layer
    ``catalog_hits`` in EPSG:4326, each hit naming its raster."""
    from ..query.prompts import phrase_embedding

    _check_output(output)
    catalog = catalogs.load_catalog(name)
    if not catalog.entries:
        raise UserError(f"catalogue '{name}' has no rasters: add some with 'catalog add {name} RASTER...'")
    stores = _catalog_stores(workspace, catalog, precision)
    model = workspace.load_model(catalog.model, weights=catalog.weights, device=workspace.device, precision=precision)
    built = catalogs.update_index(catalog, stores)
    catalogs.save_catalog(catalog)
    query = phrase_embedding(model, queries, model.spec.prompt_templates)
    hits = catalogs.search_index(built, stores, query, k)
    layer = catalogs.hit_layer(catalog, stores, hits, " | ".join(queries))
    written = None
    if output:
        from rasterio.crs import CRS

        written = write_gpkg(output, [layer], CRS.from_string(catalogs.LONLAT).to_wkt())
    summary = {"catalog": name, "rasters": len(catalog.entries), "tiles": int(built.index.ntotal),
               "best_score": hits[0].score if hits else None}
    return CatalogAnswer(model, catalog, [layer], summary, written, hits)
