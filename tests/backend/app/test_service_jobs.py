"""The service's job queue: one job at a time, and a second request for the same store joins the first."""

from __future__ import annotations

import threading
import time

from backend.app.job_queue import Jobs


def _wait(job, timeout=10.0):
    deadline = time.monotonic() + timeout
    while job.state in ("queued", "running"):
        assert time.monotonic() < deadline, job.state
        time.sleep(0.01)


def test_same_key_joins_the_running_job_other_keys_queue():
    jobs = Jobs()
    release = threading.Event()
    runs = []

    def work(job):
        runs.append(job.id)
        release.wait(5)
        return {"ok": True}

    try:
        first = jobs.submit("embed", work, key="store-a")
        second = jobs.submit("embed", work, key="store-a")   # a query while the first one embeds
        other = jobs.submit("embed", work, key="store-b")
        assert second is first and other is not first
        assert other.state == "queued"                        # one at a time: the device is busy
        release.set()
        _wait(first)
        _wait(other)
        assert first.state == other.state == "done" and runs == [first.id, other.id]
        again = jobs.submit("embed", work, key="store-a")     # finished jobs are not joined
        assert again is not first
        _wait(again)
        cancelled = jobs.submit("embed", lambda job: release.wait(5), key="store-c")
        cancelled.cancel.set()
        assert jobs.submit("embed", work, key="store-c") is not cancelled  # nor cancelled ones
    finally:
        release.set()
        jobs.shutdown()
