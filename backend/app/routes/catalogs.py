"""``POST /catalogs/{name}/rasters`` (add rasters to a catalogue: a background job that embeds the missing ones
and extends its index), ``POST /catalogs/{name}/remove`` (take rasters out) and ``DELETE /catalogs/{name}``.

``GET /catalogs`` and ``POST /catalog/search`` are with the other queries (:mod:`.queries`)."""

from __future__ import annotations

from fastapi import APIRouter

from ...query import catalog as catalogs
from .. import orchestration
from ..job_queue import Job
from ..schemas import CatalogAddRequest, CatalogInfo, CatalogRemoveRequest, JobStatus
from .deps import JobsDep, WorkspaceDep

router = APIRouter()


def info_of(catalog: catalogs.Catalog) -> CatalogInfo:
    return CatalogInfo(name=catalog.name, model=catalog.model, rasters=len(catalog.entries),
                       embedded=sum(1 for e in catalog.entries if e.store))


@router.post("/catalogs/{name}/rasters", status_code=202)
def add_rasters(name: str, req: CatalogAddRequest, workspace: WorkspaceDep, jobs: JobsDep) -> JobStatus:
    """Add rasters to catalogue ``name`` (made now, with this request's model and tiling, when it is new): a job
    that embeds the ones without a store (``done`` of ``total`` tiles) and extends the index; a raster that
    changed on disk is embedded again. A raster that is missing or has no CRS is refused now, before the queue."""
    catalogs.check_name(name)
    orchestration.catalog_rasters(workspace, req.rasters)  # one line now, not from the job
    spec = req.spec_for("")

    def work(job: Job) -> dict:
        done_before = [0]  # tiles of the rasters embedded so far in this job

        def before(missing: list[orchestration.Prepared]) -> None:
            job.total = max(1, sum(p.plan.grid.n_tiles for p in missing))

        def embed_store(prepared: orchestration.Prepared):
            def progress(done: int, total: int) -> None:
                job.done = done_before[0] + done

            store = orchestration.embed(workspace, prepared, batch_size=req.batch_size, progress=progress,
                                        cancelled=job.cancel.is_set).store
            done_before[0] += prepared.plan.grid.n_tiles
            job.done = done_before[0]
            return store

        catalog = orchestration.catalog_add(workspace, name, req.rasters, spec, embed_store=embed_store,
                                            before_embedding=before)
        job.done = job.total
        return info_of(catalog).model_dump() | {"added": len(req.rasters)}

    job = jobs.submit("catalog", work, key=f"catalog:{name}:{sorted(req.rasters)}")
    return job.status()


@router.post("/catalogs/{name}/remove")
def remove_rasters(name: str, req: CatalogRemoveRequest) -> CatalogInfo:
    """Take rasters out of catalogue ``name``; their stores are kept (a raster added again is not re-embedded)."""
    catalogs.check_name(name)
    return info_of(orchestration.catalog_remove(name, req.rasters))


@router.delete("/catalogs/{name}")
def remove_catalog(name: str) -> dict:
    """Remove catalogue ``name`` (its index; the rasters' stores are kept)."""
    catalogs.check_name(name)
    orchestration.catalog_remove(name, None)
    return {"removed": name}
