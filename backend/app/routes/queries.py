"""``POST /search``, ``/classify``, ``/count``, ``/similar``, ``/change`` and ``/fewshot``: synchronous answers over
embedded rasters (409 until a raster is embedded with the same model and tiling; the body's ``raster`` names which)."""

from __future__ import annotations

import base64

from fastapi import APIRouter

from .. import orchestration
from ..schemas import (
    CatalogAnswer,
    CatalogInfo,
    CatalogSearchRequest,
    ChangeRequest,
    ClassifyRequest,
    CountRequest,
    FewShotRequest,
    QueryAnswer,
    RasterAnswer,
    SearchRequest,
    SimilarRequest,
)
from .deps import WorkspaceDep

router = APIRouter()


def _geojson(answer: orchestration.Answer, include: set[str]) -> QueryAnswer:
    store = answer.store
    return QueryAnswer(
        model=answer.model.spec.name, weights=str(answer.model.weights_path), store=store.key,
        n_tiles=store.n_tiles, crs_wkt=store.crs_wkt, output=str(answer.output) if answer.output else None,
        raster=str(answer.raster) if answer.raster else None, summary=answer.summary,
        layers={layer.name: layer.geojson(store.crs_wkt) for layer in answer.layers if layer.name in include},
        rasters={} if answer.surface is None or answer.surface.name not in include else {
            answer.surface.name: RasterAnswer(width=answer.surface.width, height=answer.surface.height,
                                              data=base64.b64encode(answer.surface.tiff).decode("ascii"))},
    )


@router.post("/search")
def search(req: SearchRequest, workspace: WorkspaceDep) -> QueryAnswer:
    answer = orchestration.search(workspace, req.spec(), req.queries, req.k, req.output, heatmap=req.heatmap,
                                  surface_raster=req.include_surface)
    return _geojson(answer, {"hits", "similarity"} if req.include_surface else {"hits"})


@router.post("/classify")
def classify(req: ClassifyRequest, workspace: WorkspaceDep) -> QueryAnswer:
    answer = orchestration.classify(workspace, req.spec(), req.classes, req.output,
                                    transductive=req.transductive, class_raster=req.class_raster)
    return _geojson(answer, {"classes"})


@router.post("/count")
def count(req: CountRequest, workspace: WorkspaceDep) -> QueryAnswer:
    return _geojson(orchestration.count(workspace, req.spec(), req.object, req.output, force=req.force), {"counts"})


@router.post("/similar")
def similar(req: SimilarRequest, workspace: WorkspaceDep) -> QueryAnswer:
    answer = orchestration.similar(workspace, req.spec(), req.k, req.tile_id, req.point(), req.output,
                                    heatmap=req.heatmap, surface_raster=req.include_surface)
    return _geojson(answer, {"similar", "similarity"} if req.include_surface else {"similar"})


@router.post("/change")
def change(req: ChangeRequest, workspace: WorkspaceDep) -> QueryAnswer:
    answer = orchestration.change(workspace, req.spec(), req.after, req.k, req.output, queries=req.queries,
                                  heatmap=req.heatmap)
    return _geojson(answer, {"changed", "change"} if req.include_surface else {"changed"})


@router.post("/fewshot")
def fewshot(req: FewShotRequest, workspace: WorkspaceDep) -> QueryAnswer:
    answer = orchestration.fewshot(workspace, req.spec(), examples_file=req.examples_file, features=req.examples,
                                   label_field=req.label_field, layer=req.layer, mode=req.mode, k=req.k,
                                   output=req.output, text_prior=req.text_prior, class_raster=req.class_raster)
    # The per-tile layers (classes, or a ranking's scores) are the surface: with a GeoPackage written and no
    # surface asked, the body carries the hits only (100,000 tiles of classes are about 90 MB of GeoJSON).
    surface = req.include_surface or not req.output
    names = {"fewshot_hits"} | ({"fewshot_classes", "fewshot_scores"} if surface else set())
    return _geojson(answer, names)


@router.get("/catalogs")
def list_catalogs() -> list[CatalogInfo]:
    """The catalogues in the backend's cache (made with ``python -m backend catalog add``)."""
    from ...query import catalog as catalogs

    out = []
    for name in catalogs.list_catalogs():
        cat = catalogs.load_catalog(name)
        out.append(CatalogInfo(name=name, model=cat.model, rasters=len(cat.entries),
                               embedded=sum(1 for e in cat.entries if e.store)))
    return out


@router.post("/catalog/search")
def catalog_search(req: CatalogSearchRequest, workspace: WorkspaceDep) -> CatalogAnswer:
    """Search every raster of a catalogue; 409 naming a raster that changed and needs embedding again."""
    from rasterio.crs import CRS

    from ...query.catalog import LONLAT, check_name

    check_name(req.catalog)
    answer = orchestration.catalog_search(workspace, req.catalog, req.queries, req.k, req.output, req.precision)
    wkt = CRS.from_string(LONLAT).to_wkt()
    return CatalogAnswer(model=answer.model.spec.name, catalog=req.catalog, crs_wkt=wkt,
                         output=str(answer.output) if answer.output else None, summary=answer.summary,
                         layers={layer.name: layer.geojson(wkt) for layer in answer.layers})
