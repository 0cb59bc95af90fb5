"""``POST /estimate``, ``POST /embed`` and the jobs it starts (``GET /jobs``, ``GET /jobs/{id}``,
``POST /jobs/{id}/cancel``)."""

from __future__ import annotations

from fastapi import APIRouter

from .. import orchestration
from ..job_queue import Job
from ..schemas import EstimateAnswer, JobStatus, RasterRequest
from .deps import JobsDep, WorkspaceDep

router = APIRouter()


@router.post("/estimate")
def estimate(req: RasterRequest, workspace: WorkspaceDep) -> EstimateAnswer:
    """Tiles, time and disk that embedding this raster will cost, before starting it."""
    est = orchestration.estimate(workspace, req.spec(), req.batch_size)
    plan = est.prepared.plan
    return EstimateAnswer(raster=req.raster, model=est.prepared.model.spec.name, embedded=est.embedded,
                          summary=est.cost.line(), disk_problem=est.disk_problem, tile_px=plan.grid.tile_px,
                          read_px=plan.read_px, store=plan.key, **est.cost.to_dict())


@router.post("/embed", status_code=202)
def embed(req: RasterRequest, workspace: WorkspaceDep, jobs: JobsDep) -> JobStatus:
    """Start embedding a raster (a background job); returns at once with the job's id."""
    prepared = orchestration.admit_embedding(workspace, req.spec())  # 507 now, not after the queue
    plan = prepared.plan

    def work(job: Job) -> dict:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        store = orchestration.embed(workspace, prepared, batch_size=req.batch_size, progress=progress,
                                    cancelled=job.cancel.is_set).store
        return {"store": store.key, "n_tiles": store.n_tiles, "raster": plan.info.path,
                "tile_px": plan.grid.tile_px, "bands": list(plan.bands.bands)}

    job = jobs.submit("embed", work, key=plan.key)
    if job.total == 0:
        job.total = plan.grid.n_tiles
    return job.status()


@router.get("/jobs")
def list_jobs(jobs: JobsDep) -> list[JobStatus]:
    return [job.status() for job in jobs.all()]


@router.get("/jobs/{job_id}")
def job_status(job_id: str, jobs: JobsDep) -> JobStatus:
    return jobs.get(job_id).status()


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, jobs: JobsDep) -> JobStatus:
    job = jobs.get(job_id)
    job.cancel.set()
    return job.status()
