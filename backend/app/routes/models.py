"""``GET /models`` (the registry, whether each model's weights are here and their size in bytes where known) and
``POST /models/{name}/download`` (fetch them as a background job: progress in bytes, cancel like any job)."""

from __future__ import annotations

import os

from fastapi import APIRouter

from ...errors import http_line
from ..job_queue import Job
from ..schemas import JobStatus, ModelInfo
from .deps import JobsDep

router = APIRouter()


@router.get("/models")
def models() -> list[ModelInfo]:
    """Known models, whether their weights are present on this machine and whether they can be downloaded."""
    from ...models.registry import downloadable, list_models, weights_status

    out = []
    for spec in list_models():
        status = weights_status(spec)
        size = spec.size_bytes
        if status.present and status.path:
            try:
                size = os.path.getsize(status.path)
            except OSError:
                pass
        out.append(ModelInfo(name=spec.name, arch=spec.arch, source=spec.source, description=spec.description,
                             present=status.present, where=http_line(status.where), counts=spec.counts,
                             downloadable=downloadable(spec), size_bytes=size, licence=spec.licence,
                             tile_ground_m=spec.tile_ground_m))
    return out


@router.post("/models/{name}/download", status_code=202)
def download(name: str, jobs: JobsDep) -> JobStatus:
    """Start fetching ``name``'s weights (a job of kind "download": ``done``/``total`` in bytes); a second request
    while it runs returns the running job. Unknown model: 404; one that cannot be downloaded: 400, now."""
    from ...models.download import DownloadError, download_weights
    from ...models.registry import downloadable, get_model_spec

    spec = get_model_spec(name)
    if not downloadable(spec):
        why = ("its download is an archive: unzip it and choose the checkpoint" if spec.download_url
               else "it has no download address: choose its weights file")
        raise DownloadError(f"{spec.name} cannot be downloaded here: {why}")

    def work(job: Job) -> dict:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        path = download_weights(spec, progress=progress, cancelled=job.cancel.is_set)
        return {"model": spec.name, "path": str(path), "size_bytes": path.stat().st_size}

    job = jobs.submit("download", work, key=f"download:{spec.name}", lane="download")
    if job.total == 0 and spec.size_bytes:
        job.total = spec.size_bytes
    return job.status()
