"""The service's background jobs (embedding, model downloads): queued, run one at a time per lane, polled for
progress (``done`` of ``total``: tiles for an embedding, bytes for a download), cancelled.

One at a time because an embedding saturates the device anyway; downloads have a lane of their own, so a model
download does not wait behind an embedding. A second request for the store (or the model) a queued or running job
writes joins that job (two searches of one raster started together embed it once).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import JobCancelled, JobNotFoundError, UserError, http_line
from .schemas import JobStatus


@dataclass
class Job:
    id: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict | None = None
    created: float = field(default_factory=time.time)  # seconds since the epoch
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    key: str | None = None  # the store an embed job writes: a second request for it joins this job

    def status(self) -> JobStatus:
        return JobStatus(id=self.id, kind=self.kind, state=self.state, done=self.done, total=self.total,
                         error=self.error, result=self.result, created=self.created, finished=self.finished)


class Jobs:
    """Background jobs, run one at a time."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}  # lane -> one worker thread
        self._lock = threading.Lock()

    def submit(self, kind: str, work: Callable[[Job], dict], key: str | None = None, lane: str = "embed") -> Job:
        """Queue ``work`` in ``lane`` (jobs of one lane run one at a time); when a queued or running job already has
        ``key``, return that job instead."""
        with self._lock:
            if key is not None:
                for other in self._jobs.values():
                    if other.key == key and other.state in ("queued", "running") and not other.cancel.is_set():
                        return other
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, key=key)
            self._jobs[job.id] = job
            pool = self._pools.get(lane)
            if pool is None:
                pool = self._pools[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=lane)
        pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], dict]) -> None:
        if job.cancel.is_set():
            job.state, job.finished = "cancelled", time.time()
            return
        job.state = "running"
        try:
            job.result = work(job)
            job.state = "done"
        except JobCancelled:
            job.state = "cancelled"
        except UserError as exc:
            job.state, job.error = "failed", http_line(str(exc))  # read over HTTP only: no CLI flags
        except Exception as exc:  # a bug or a device failure: report its kind, never a traceback
            job.state, job.error = "failed", f"internal error ({type(exc).__name__}): {exc}".splitlines()[0]
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        for job in self.all():
            job.cancel.set()
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
